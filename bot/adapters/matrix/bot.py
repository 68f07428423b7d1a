"""The Matrix bot: logs in, syncs, joins rooms it is invited to, answers questions addressed to it.

One ``MatrixBot`` per process, with the ``CaseBot`` passed in. The sync loop is our own (not
``sync_forever``) because the bot needs three guarantees nio does not give:

* nothing from before the start is answered: the first sync after a start (``full_state``, resumed
  from the stored token when there is one) only learns rooms, invites and state;
* nothing is lost in a burst: when a sync returns a ``limited`` timeline, the gap is fetched with
  ``/messages`` back to the previous sync token;
* nothing is answered twice: the sync token is stored after each sync, and event ids are remembered.

Answers are computed off the event loop (``CaseBot.ask_async``), at most ``ANSWER_CONCURRENCY`` at
a time; every question gets its own task so one slow answer never stalls the sync loop.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from aiohttp import ClientConnectionError
from nio import (
    AsyncClient,
    AsyncClientConfig,
    ErrorResponse,
    InviteMemberEvent,
    JoinError,
    LocalProtocolError,
    LoginError,
    MegolmEvent,
    MessageDirection,
    OlmTrustError,
    ProfileGetDisplayNameResponse,
    RoomMessagesError,
    RoomSendError,
    SyncResponse,
    WhoamiError,
)
from nio.crypto import ENCRYPTION_ENABLED

from bot.adapters.matrix.messages import Request, is_question_candidate, parse_request, reply_relation
from bot.adapters.matrix.policy import is_admin, may_invite
from bot.adapters.matrix.session import Session, SessionStore
from bot.ratelimit import RateLimiter
from bot.render.matrix import Rendered, render_answer, render_help, render_sources, render_text
from bot.settings import Settings
from index.errors import CasebotError

if TYPE_CHECKING:
    from nio import MatrixRoom

    from bot.service import CaseBot

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


logging.getLogger("nio.responses").addFilter(_RedactSecrets())

SYNC_TIMEOUT_MS = 30_000
TIMELINE_LIMIT = 50
GAP_PAGE_SIZE = 100
GAP_MAX_PAGES = 20
ANSWER_CONCURRENCY = 2
TYPING_AFTER = 0.5  # seconds an answer may take before the bot shows "typing…"
RATE_LIMITED_REACTION = "⏳"  # on questions over the limit after its notice: seen, not answered yet
SEEN_EVENTS = 5_000
TRANSIENT = (ClientConnectionError, asyncio.TimeoutError, TimeoutError, OSError)

ENCRYPTED_NOTICE = (
    "This room is end-to-end encrypted, and I cannot read encrypted messages, so I will not see "
    "questions asked here. Ask me in an unencrypted room, or in a direct chat created without "
    "encryption."
)
UNDECRYPTABLE = (
    "I could not decrypt this message: your client did not share its key with my device. If it was "
    "a question, please send it again."
)
GREETING = (
    "Hello! I answer questions about the Telegram case (Iran and Russia's FSB, 2017) with verbatim, "
    "attributed quotes from my documents. Mention me or write !ask followed by a question; "
    "!help tells more."
)



async def exchange_keys(client: AsyncClient) -> None:
    """Publish our keys, learn other devices' keys and send pending room keys: what nio's
    ``sync_forever`` does after each sync. A client without encryption does nothing."""
    if client.olm is None:
        return
    if client.should_upload_keys:
        await client.keys_upload()
    if client.should_query_keys:
        await client.keys_query()
    if client.should_claim_keys:
        await client.keys_claim(client.get_users_for_key_claiming())
    await client.send_to_device_messages()

class LoginFailed(Exception):
    """The homeserver refused the bot's credentials, or they are missing: retrying won't help."""


class Stopped(Exception):
    """``stop()`` was called while the bot was waiting."""


class MatrixBot:
    """Serves one Matrix account until ``stop()``."""

    def __init__(self, settings: Settings, casebot: CaseBot, *, timeline_limit: int = TIMELINE_LIMIT,
                 backoff_start: float = 1.0, backoff_cap: float = 60.0) -> None:
        self.settings = settings
        self.casebot = casebot
        self.timeline_limit = timeline_limit
        self.backoff_start = backoff_start
        self.backoff_cap = backoff_cap
        self.homeserver = settings.matrix_homeserver.rstrip("/")
        self.user_id = settings.matrix_user_id
        self.display_name: str | None = None
        self.store = SessionStore(settings.matrix_store_dir)
        self.limiter = RateLimiter(settings.rate_limit_per_minute, 60.0)
        self.client: AsyncClient | None = None
        self.ready = asyncio.Event()  # set once the first sync is done: the bot is listening
        self._stop_requested = False
        self._main: asyncio.Task[int] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._joined: set[str] = set()
        self._invites_handled: set[str] = set()
        self._greet: set[str] = set()
        self._typing_rooms: dict[str, int] = {}
        self._undecryptable_told: dict[str, float] = {}
        self._warned_until: dict[str, float] = {}
        self._slots = asyncio.Semaphore(ANSWER_CONCURRENCY)
        self._reindexing = False

    # -- lifecycle -------------------------------------------------------------------------
    async def run(self) -> int:
        """Log in and serve until ``stop()``. Returns a process exit code."""
        self._main = asyncio.current_task()  # type: ignore[assignment]
        if self._stop_requested:
            return 0
        try:
            self.casebot.start_background()  # follow INDEX_DIR (and the corpus, with CORPUS_WATCH)
            await self._login()
            await self._first_sync()
            self.ready.set()
            log.info("Matrix bot %s (device %s) is listening on %s", self.user_id,
                     self.store.session.device_id, self.homeserver)
            return await self._sync_loop()
        except LoginFailed as error:
            log.error("%s", error)
            return 2
        except (Stopped, asyncio.CancelledError):
            if not self._stop_requested:
                raise
            if self._main is not None and self._main.cancelling():
                self._main.uncancel()
            log.info("Matrix bot stopped")
            return 0
        finally:
            await self._shutdown()

    def stop(self) -> None:
        """Stop serving (safe to call from a signal handler or another task)."""
        self._stop_requested = True
        if self._main is not None and not self._main.done():
            self._main.cancel()

    async def _shutdown(self) -> None:
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=10)
            for task in self._tasks:
                task.cancel()
        if self.client is not None:
            await self.client.close()

    async def _pause(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
        if self._stop_requested:
            raise Stopped()

    def _backoff(self, delay: float) -> float:
        return min(delay * 2, self.backoff_cap)

    # -- login -----------------------------------------------------------------------------
    async def _login(self) -> None:
        settings = self.settings
        if not self.homeserver.startswith(("https://", "http://")):
            raise LoginFailed(f"MATRIX_HOMESERVER must be a URL such as https://matrix.example.org, "
                              f"not {settings.matrix_homeserver!r}.")
        if not settings.matrix_access_token and not (settings.matrix_user_id and settings.matrix_password):
            raise LoginFailed("Set MATRIX_USER_ID and MATRIX_PASSWORD (or MATRIX_ACCESS_TOKEN) to run the Matrix bot.")
        encryption = settings.matrix_encryption and ENCRYPTION_ENABLED
        if settings.matrix_encryption and not ENCRYPTION_ENABLED:
            log.warning("matrix-nio's encryption support is not installed: encrypted rooms will get a notice")
        config = AsyncClientConfig(encryption_enabled=encryption, store_sync_tokens=False,
                                   max_timeouts=0, request_timeout=30)
        settings.matrix_store_dir.mkdir(parents=True, exist_ok=True)
        self.client = AsyncClient(self.homeserver, self.user_id, store_path=str(settings.matrix_store_dir),
                                  config=config)
        delay = self.backoff_start
        while True:
            try:
                await self._login_once()
                break
            except TRANSIENT as error:
                log.warning("Cannot reach the Matrix homeserver %s (%s); retrying in %g s.",
                            self.homeserver, _describe(error), delay)
            await self._pause(delay)
            delay = self._backoff(delay)
        self.display_name = await self._own_display_name()

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
            _raise_if_transient(response)
            raise LoginFailed(f"Matrix login for {self.user_id} on {self.homeserver} failed: {response.message} "
                              f"({response.status_code}). Check MATRIX_USER_ID and MATRIX_PASSWORD.")
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
            _raise_if_transient(response)
            if response.status_code in ("M_UNKNOWN_TOKEN", "M_MISSING_TOKEN", "M_FORBIDDEN"):
                client.access_token = ""
                return False
            raise LoginFailed(f"The homeserver {self.homeserver} did not accept the bot's token: {response}.")
        if self.user_id and response.user_id != self.user_id:
            raise LoginFailed(f"The access token belongs to {response.user_id}, not MATRIX_USER_ID={self.user_id}.")
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

    async def _own_display_name(self) -> str | None:
        assert self.client is not None
        try:
            response = await self.client.get_displayname(self.user_id)
        except TRANSIENT:
            return None
        if isinstance(response, ProfileGetDisplayNameResponse):
            return response.displayname
        return None

    # -- syncing ---------------------------------------------------------------------------
    @property
    def _filter(self) -> dict[str, Any]:
        return {
            "presence": {"not_types": ["*"]},
            "account_data": {"not_types": ["*"]},
            "room": {
                "timeline": {"limit": self.timeline_limit},
                "state": {"lazy_load_members": False},
                "ephemeral": {"not_types": ["*"]},
                "account_data": {"not_types": ["*"]},
            },
        }

    async def _sync(self, since: str | None, full_state: bool = False, timeout: int = SYNC_TIMEOUT_MS,
                    first: bool = False) -> SyncResponse:
        """One sync, retried with capped exponential backoff while the homeserver is unreachable."""
        assert self.client is not None
        delay = self.backoff_start
        while True:
            try:
                response = await self.client.sync(timeout=timeout, since=since, full_state=full_state,
                                                  sync_filter=self._filter)
            except TRANSIENT as error:
                log.warning("Lost the Matrix homeserver %s (%s); retrying in %g s.",
                            self.homeserver, _describe(error), delay)
            else:
                if isinstance(response, SyncResponse):
                    return response
                if response.status_code in ("M_UNKNOWN_TOKEN", "M_MISSING_TOKEN"):
                    self.store.update(access_token="")
                    raise LoginFailed(f"The homeserver {self.homeserver} no longer accepts the bot's access "
                                      f"token ({response.status_code}); restart it to log in again.")
                status = getattr(response.transport_response, "status", None)
                if first and since and status == 400:  # e.g. the server's database was reset
                    log.warning("The homeserver rejected the stored sync position; starting from now.")
                    since = None
                    continue
                log.warning("Sync with %s failed (%s); retrying in %g s.", self.homeserver, response, delay)
            await self._pause(delay)
            delay = self._backoff(delay)

    async def _first_sync(self) -> None:
        """Learn rooms and state; answer nothing: every message so far is from before the start."""
        since = self.store.session.next_batch or None
        response = await self._sync(since, full_state=True, timeout=0, first=True)
        for room_id, info in response.rooms.join.items():
            self._joined.add(room_id)
            for event in _sources(info.timeline.events):
                self._remember(event.get("event_id"))
        for room_id, info in response.rooms.join.items():
            await self._warn_if_encrypted(room_id, _sources(info.timeline.events))
        await self._handle_invites(response.rooms.invite)
        await self._crypto_housekeeping()
        self.store.update(next_batch=response.next_batch)

    async def _sync_loop(self) -> int:
        while True:
            previous = self.store.session.next_batch
            response = await self._sync(previous)
            try:
                await self._handle_sync(response, previous)
            except (asyncio.CancelledError, LoginFailed, Stopped):
                raise
            except Exception:  # a bug must not turn into a crash loop that re-reads the same sync
                log.exception("could not handle a sync response; skipping it")
            await self._crypto_housekeeping()
            self.store.update(next_batch=response.next_batch)

    @property
    def encrypting(self) -> bool:
        """True when the bot reads and writes end-to-end encrypted rooms."""
        return self.client is not None and self.client.olm is not None

    async def _crypto_housekeeping(self) -> None:
        """Publish our keys, learn other devices' keys and send pending room keys (what nio's
        ``sync_forever`` would do after each sync)."""
        client = self.client
        if client is None or client.olm is None:
            return
        try:
            await exchange_keys(client)
        except TRANSIENT as error:
            log.warning("encryption key exchange with %s failed (%s); retrying after the next sync",
                        self.homeserver, _describe(error))

    async def _handle_sync(self, response: SyncResponse, previous: str) -> None:
        await self._handle_invites(response.rooms.invite)
        for room_id in response.rooms.leave:  # left, kicked, or an invite withdrawn or declined
            self._joined.discard(room_id)
            self._invites_handled.discard(room_id)  # so a new invite is handled again
        for room_id, info in response.rooms.join.items():
            self._invites_handled.discard(room_id)
            events = _sources(info.timeline.events)
            if room_id not in self._joined:  # joined since the last sync: skip the history before our join
                self._joined.add(room_id)
                own_join = [i for i, e in enumerate(events) if self._is_own_join(e)]
                if own_join:
                    events = events[own_join[-1] + 1:]
                elif info.timeline.limited and info.timeline.prev_batch:
                    events = await self._fetch_gap(room_id, info.timeline.prev_batch, previous) + events
            elif info.timeline.limited and info.timeline.prev_batch:
                events = await self._fetch_gap(room_id, info.timeline.prev_batch, previous) + events
            await self._warn_if_encrypted(room_id, events)
            room = self.client.rooms.get(room_id) if self.client else None
            if room_id in self._greet:
                self._greet.discard(room_id)
                if room is not None and (not room.encrypted or self.encrypting):
                    await self._send(room_id, render_text(GREETING).content())
            for event in events:
                self._handle_event(room_id, room, event)

    async def _fetch_gap(self, room_id: str, start: str, until: str) -> list[dict[str, Any]]:
        """Events a limited sync left out: paginate back from ``start`` to the previous sync token,
        stopping at an event already seen or at the bot's own join."""
        assert self.client is not None
        collected: list[dict[str, Any]] = []
        token = start
        for _ in range(GAP_MAX_PAGES):
            try:
                response = await self.client.room_messages(room_id, start=token, end=until or None,
                                                           direction=MessageDirection.back, limit=GAP_PAGE_SIZE)
            except TRANSIENT as error:
                log.warning("Could not fetch missed messages in %s (%s).", room_id, _describe(error))
                break
            if isinstance(response, RoomMessagesError):
                log.warning("Could not fetch missed messages in %s (%s).", room_id, response)
                break
            reached_known = False
            for event in _sources(response.chunk):  # newest first
                if event.get("event_id") in self._seen or self._is_own_join(event):
                    reached_known = True
                    break
                collected.append(event)
            if reached_known or not response.chunk or not response.end or response.end == token:
                break
            token = response.end
        collected.reverse()
        log.info("fetched %d event(s) that a limited sync left out in %s", len(collected), room_id)
        return collected

    def _is_own_join(self, event: Mapping[str, Any]) -> bool:
        return (event.get("type") == "m.room.member" and event.get("state_key") == self.user_id
                and (event.get("content") or {}).get("membership") == "join")

    def _remember(self, event_id: str | None) -> bool:
        """Record ``event_id``; False when it was already handled."""
        if not event_id or event_id in self._seen:
            return False
        self._seen[event_id] = None
        while len(self._seen) > SEEN_EVENTS:
            self._seen.popitem(last=False)
        return True

    # -- invites and encryption ---------------------------------------------------------------
    async def _handle_invites(self, invites: Mapping[str, Any]) -> None:
        assert self.client is not None
        for room_id, info in invites.items():
            if room_id in self._invites_handled:
                continue
            self._invites_handled.add(room_id)
            # nio keeps type/sender/state_key in an invite event's source but moves content to attributes.
            inviter = next((e.sender for e in info.invite_state if isinstance(e, InviteMemberEvent)
                            and e.state_key == self.user_id and e.membership == "invite"), "")
            if not may_invite(inviter, self.user_id, self.settings.matrix_allowed_inviters):
                log.info("declining the invite to %s from %s (not an allowed inviter)", room_id, inviter or "?")
                await self._call(self.client.room_leave(room_id))
                continue
            response = await self._call(self.client.join(room_id))
            if response is None or isinstance(response, JoinError):
                log.warning("could not join %s (invited by %s): %s", room_id, inviter, response)
                continue
            log.info("joined %s (invited by %s)", room_id, inviter)
            self._greet.add(room_id)  # once the room's state is synced, unless it is encrypted

    async def _warn_if_encrypted(self, room_id: str, events: Iterable[Mapping[str, Any]]) -> None:
        """Say once per room that encrypted messages are unreadable to the bot."""
        assert self.client is not None
        if self.encrypting:
            return  # we can read them
        room = self.client.rooms.get(room_id)
        encrypted = (room is not None and room.encrypted) or any(
            e.get("type") == "m.room.encrypted" and e.get("sender") != self.user_id for e in events)
        if not encrypted or room_id in self.store.session.encryption_notice_rooms:
            return
        self.store.update(encryption_notice_rooms=(*self.store.session.encryption_notice_rooms, room_id))
        log.info("room %s is encrypted: posting the notice that the bot cannot read it", room_id)
        await self._send(room_id, render_text(ENCRYPTED_NOTICE).content())

    # -- messages --------------------------------------------------------------------------
    def _handle_event(self, room_id: str, room: MatrixRoom | None, event: Mapping[str, Any]) -> None:
        if not self._remember(event.get("event_id")):
            return
        direct = room is not None and len(room.users) == 2
        if event.get("type") == "m.room.encrypted" and self.encrypting and event.get("sender") != self.user_id:
            self._spawn(self._undecryptable(room_id, event, direct))
            return
        if not is_question_candidate(event, self.user_id):
            return
        member = room.users.get(self.user_id) if room is not None else None
        names = tuple(n for n in {self.display_name, getattr(member, "display_name", None)} if n)
        request = parse_request(event["content"], self.user_id, names, direct)
        if request is not None:
            self._spawn(self._respond(room_id, event, request))

    async def _undecryptable(self, room_id: str, event: Mapping[str, Any], direct: bool) -> None:
        """A message nio could not decrypt: ask the sender's devices for the key, and in a direct
        chat (where every message is for the bot) say so, at most once per sender per minute."""
        assert self.client is not None
        log.info("could not decrypt %s in %s from %s", event.get("event_id"), room_id, event.get("sender"))
        megolm = MegolmEvent.from_dict(dict(event))
        if isinstance(megolm, MegolmEvent):
            try:
                await self._call(self.client.request_room_key(megolm))
            except LocalProtocolError:
                pass  # already requested for this session
        sender = str(event.get("sender"))
        now = time.monotonic()
        if direct and self._undecryptable_told.get(sender, 0.0) <= now:
            self._undecryptable_told[sender] = now + 60
            await self._reply(room_id, event, render_text(UNDECRYPTABLE))

    def _spawn(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _respond(self, room_id: str, event: Mapping[str, Any], request: Request) -> None:
        try:
            if request.command == "ask":
                await self._answer(room_id, event, request.argument)
            elif request.command == "help":
                await self._reply(room_id, event, render_help(self.user_id, self.display_name))
            elif request.command == "sources":
                sources = await asyncio.to_thread(self.casebot.sources)
                await self._reply(room_id, event, render_sources(sources))
            elif request.command == "reindex":
                await self._reindex(room_id, event)
            else:
                name = request.command[:40]
                await self._reply(room_id, event, render_text(
                    f"I don't know !{name}. I understand !ask <question>, !sources, !help and !reindex."))
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("failed to handle %s in %s", event.get("event_id"), room_id)
            await self._reply(room_id, event, render_text(
                "Sorry, something went wrong on my side while handling that. The error was logged."))

    async def _answer(self, room_id: str, event: Mapping[str, Any], question: str) -> None:
        sender = event["sender"]
        if not self.limiter.allow(sender):
            now = time.monotonic()
            if self._warned_until.get(sender, 0.0) > now:
                # Told once already: every further question still gets an answer, a quiet one (a
                # reaction notifies nobody and adds no message to the room), so none looks lost.
                log.info("rate limit: marking a question from %s with %s", sender, RATE_LIMITED_REACTION)
                await self._react(room_id, event, RATE_LIMITED_REACTION)
                return
            wait = max(1, math.ceil(self.limiter.retry_after(sender)))
            self._warned_until[sender] = now + wait
            limit = self.settings.rate_limit_per_minute
            await self._reply(room_id, event, render_text(
                f"You have asked {limit} question{'s' if limit != 1 else ''} in the last minute, which is my "
                f"limit per person. Please ask again in about {wait} seconds."))
            return
        # Typing notifications cost the homeserver work; most answers take well under TYPING_AFTER.
        typing: list[bool] = []
        timer = asyncio.get_running_loop().call_later(
            TYPING_AFTER, lambda: (typing.append(True), self._typing(room_id, True)))
        try:
            async with self._slots:
                answer = await self.casebot.ask_async(question)
            rendered = render_answer(answer)
        except CasebotError as error:
            rendered = render_text(str(error))
        finally:
            timer.cancel()
        await self._reply(room_id, event, rendered)
        if typing:
            self._typing(room_id, False)

    async def _reindex(self, room_id: str, event: Mapping[str, Any]) -> None:
        if not is_admin(event["sender"], self.settings.matrix_admins):
            await self._reply(room_id, event, render_text(
                "Only the bot's admins (MATRIX_ADMINS) can rebuild the index."))
            return
        if self._reindexing or self.casebot.rebuilding:
            await self._reply(room_id, event, render_text("A rebuild is already running."))
            return
        self._reindexing = True
        try:
            await self._reply(room_id, event, render_text(
                "Rebuilding the index in the background; I keep answering from the current one meanwhile."))
            try:
                report = await self.casebot.rebuild_async()
            except CasebotError as error:
                await self._reply(room_id, event, render_text(f"The rebuild failed: {error}"))
                return
            log.info("index rebuilt on request of %s", event["sender"])
            await self._reply(room_id, event, render_text(f"Index rebuilt: {report.summary()}"))
        finally:
            self._reindexing = False

    # -- sending ---------------------------------------------------------------------------
    async def _reply(self, room_id: str, event: Mapping[str, Any], rendered: Rendered) -> str | None:
        content = rendered.content("m.notice")
        content["m.relates_to"] = reply_relation(event)
        return await self._send(room_id, content)

    async def _react(self, room_id: str, event: Mapping[str, Any], key: str) -> str | None:
        return await self._send(room_id, {"m.relates_to": {"rel_type": "m.annotation", "event_id": event["event_id"],
                                                           "key": key}}, event_type="m.reaction")

    async def _send(self, room_id: str, content: dict[str, Any], event_type: str = "m.room.message") -> str | None:
        """Send one notice (pinging nobody) or reaction, retrying briefly on network errors with a stable txn id."""
        assert self.client is not None
        if event_type == "m.room.message":
            content.setdefault("m.mentions", {})
        transaction = uuid.uuid4().hex
        delay = 0.5
        for attempt in range(4):
            try:
                # Answers quote a public corpus: share the room key with every device in the room,
                # verified or not, rather than refuse to answer.
                response = await self.client.room_send(room_id, event_type, content, tx_id=transaction,
                                                       ignore_unverified_devices=True)
            except (LocalProtocolError, OlmTrustError) as error:
                log.warning("could not encrypt a message for %s: %s", room_id, error)
                return None
            except TRANSIENT as error:
                if attempt == 3:
                    log.warning("could not send to %s: %s", room_id, _describe(error))
                    return None
                await asyncio.sleep(delay)
                delay *= 2
                continue
            if isinstance(response, RoomSendError):
                log.warning("could not send to %s: %s", room_id, response)
                return None
            return response.event_id
        return None

    async def _call(self, request: Awaitable[Any]) -> Any:
        try:
            return await request
        except TRANSIENT as error:
            log.warning("request to %s failed: %s", self.homeserver, _describe(error))
            return None

    def _typing(self, room_id: str, typing: bool) -> None:
        """Show "typing…" while at least one slow answer for the room is being prepared."""
        before = self._typing_rooms.get(room_id, 0)
        after = max(0, before + (1 if typing else -1))
        self._typing_rooms[room_id] = after
        if self.client is not None and (before == 0) != (after == 0):
            self._spawn(self._call(self.client.room_typing(room_id, typing_state=typing, timeout=30_000)))


def _sources(events: Iterable[Any]) -> list[dict[str, Any]]:
    """The raw JSON of nio events (parsed or not)."""
    return [e.source for e in events if isinstance(getattr(e, "source", None), dict)]


def _describe(error: BaseException) -> str:
    text = str(error) or type(error).__name__
    return text.splitlines()[0][:200]


def _raise_if_transient(response: ErrorResponse) -> None:
    """A 5xx or gateway error is the homeserver being unavailable, not bad credentials."""
    status = getattr(getattr(response, "transport_response", None), "status", None)
    if status is not None and status >= 500:
        raise ClientConnectionError(f"HTTP {status} from the homeserver")
