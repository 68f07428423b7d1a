"""Logging the bot's account in: a configured token, the stored session, or the password.

A restart reuses the stored device (so it keeps its encryption keys and adds no device per
start); a session logged out elsewhere is replaced by a new device.
"""

from __future__ import annotations

import logging
from typing import Any

from nio import AsyncClient, AsyncClientConfig, LoginError, ProfileGetDisplayNameResponse, WhoamiError
from nio.crypto import ENCRYPTION_ENABLED

from bot.adapters.matrix.network import TRANSIENT, Backoff, LoginFailed, describe, raise_if_transient
from bot.adapters.matrix.session import Session, SessionStore
from bot.settings import Settings, SettingsError

log = logging.getLogger("bot.matrix")

SECRET_FIELDS = frozenset({"access_token", "refresh_token", "password"})


class _RedactSecrets(logging.Filter):
    """nio logs every response body at DEBUG ("Validating response schema ..."), the login response's
    access token included: mask secret fields before any handler sees the record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(_redacted(arg) for arg in record.args)
        return True


def _redacted(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: "<redacted>" if k in SECRET_FIELDS and isinstance(v, str) and v else _redacted(v)
                for k, v in value.items()}
    if isinstance(value, list):
        return [_redacted(item) for item in value]
    return value


def redact_secrets_in_nio_logs() -> None:
    """Install the filter once per process; called before logging in, not on import."""
    responses = logging.getLogger("nio.responses")
    if not any(isinstance(f, _RedactSecrets) for f in responses.filters):
        responses.addFilter(_RedactSecrets())


class Login:
    """Makes the nio client for ``settings`` and logs it in, retrying while the server is away."""

    def __init__(self, settings: Settings, store: SessionStore, backoff: Backoff) -> None:
        self.settings = settings
        self.store = store
        self.backoff = backoff
        self.homeserver = settings.matrix_homeserver.rstrip("/")
        self.user_id = settings.matrix_user_id  # the token's owner, once a token is used
        self.client: AsyncClient | None = None

    async def log_in(self) -> AsyncClient:
        settings = self.settings
        try:
            settings.require_platform("matrix")  # `casebot run matrix` checked it before the models loaded
        except SettingsError as error:
            raise LoginFailed(str(error)) from None
        encryption = settings.matrix_encryption and ENCRYPTION_ENABLED
        if settings.matrix_encryption and not ENCRYPTION_ENABLED:
            log.warning("matrix-nio's encryption support is not installed: encrypted rooms will get a notice")
        config = AsyncClientConfig(encryption_enabled=encryption, store_sync_tokens=False,
                                   max_timeouts=0, request_timeout=30)
        settings.matrix_store_dir.mkdir(parents=True, exist_ok=True)
        self.client = AsyncClient(self.homeserver, self.user_id, store_path=str(settings.matrix_store_dir),
                                  config=config)
        delay = self.backoff.start
        while True:
            try:
                await self._login_once()
                break
            except TRANSIENT as error:
                log.warning("Cannot reach the Matrix homeserver %s (%s); retrying in %g s.",
                            self.homeserver, describe(error), delay)
            await self.backoff.pause(delay)
            delay = self.backoff.next(delay)
        return self.client

    async def _login_once(self) -> None:
        assert self.client is not None
        settings, client = self.settings, self.client
        stored = self.store.load()
        if not stored.belongs_to(self.homeserver, self.user_id) and self.user_id:
            stored = self.store.session = Session(homeserver=self.homeserver, user_id=self.user_id)
        if settings.matrix_access_token:
            device = settings.matrix_device_id or stored.device_id
            if not await self._use_token(settings.matrix_access_token, device):
                raise LoginFailed(f"The homeserver {self.homeserver} rejected MATRIX_ACCESS_TOKEN "
                                  f"(M_UNKNOWN_TOKEN): set a valid token or use MATRIX_PASSWORD.")
            self._remember_login("")  # the token lives in the settings, not in the store
            return
        if stored.access_token:
            if await self._use_token(stored.access_token, stored.device_id):
                return
            # The session was logged out (which deletes its device and keys on the server): start a new one.
            log.warning("The stored Matrix session was logged out; logging in again as a new device.")
            stored = self.store.update(device_id="", access_token="", next_batch=stored.next_batch)
        client.device_id = settings.matrix_device_id or stored.device_id or ""  # reuse the device
        client.user = self.user_id
        response = await client.login(settings.matrix_password, device_name="casebot")
        if isinstance(response, LoginError):
            raise_if_transient(response)
            raise LoginFailed(
                f"Matrix login for {self.user_id} on {self.homeserver} failed: {response.message} "
                f"({response.status_code}). Check MATRIX_USER_ID and MATRIX_PASSWORD."
            )
        log.info("logged in to %s as %s, device %s", self.homeserver, response.user_id, response.device_id)
        self._remember_login(response.access_token)

    async def _use_token(self, token: str, device_id: str) -> bool:
        """Adopt ``token`` if the homeserver accepts it; False when it is unknown or expired."""
        assert self.client is not None
        client = self.client
        client.access_token, client.device_id = token, device_id
        if self.user_id:
            client.user_id = self.user_id
        response = await client.whoami()
        if isinstance(response, WhoamiError):
            raise_if_transient(response)
            if response.status_code in ("M_UNKNOWN_TOKEN", "M_MISSING_TOKEN", "M_FORBIDDEN"):
                client.access_token = ""
                return False
            raise LoginFailed(f"The homeserver {self.homeserver} did not accept the bot's token: {response}.")
        if self.user_id and response.user_id != self.user_id:
            raise LoginFailed(
                f"The access token belongs to {response.user_id}, not MATRIX_USER_ID={self.user_id}."
            )
        client.user_id = self.user_id = response.user_id
        client.device_id = response.device_id or device_id
        if client.config.encryption_enabled:
            if client.device_id:
                client.restore_login(client.user_id, client.device_id, token)  # opens the key store
            else:
                log.warning("the token has no device id: set MATRIX_DEVICE_ID to read encrypted rooms")
        return True

    def _remember_login(self, token: str) -> None:
        assert self.client is not None
        self.user_id = self.client.user_id
        self.store.update(homeserver=self.homeserver, user_id=self.user_id,
                          device_id=self.client.device_id or "", access_token=token)

    async def display_name(self) -> str | None:
        """The account's display name, which people may address the bot by."""
        assert self.client is not None
        try:
            response = await self.client.get_displayname(self.user_id)
        except TRANSIENT:
            return None
        if isinstance(response, ProfileGetDisplayNameResponse):
            return response.displayname
        return None
