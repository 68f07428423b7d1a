"""The homeserver being away: which errors mean "try again", and waiting before trying again."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from aiohttp import ClientConnectionError
from nio import ErrorResponse

TRANSIENT = (ClientConnectionError, asyncio.TimeoutError, TimeoutError, OSError)


class LoginFailed(Exception):
    """The homeserver refused the bot's credentials, or they are missing: retrying won't help."""


class Stopped(Exception):
    """``stop()`` was called while the bot was waiting."""


class Backoff:
    """Capped exponential backoff whose waits end early, with ``Stopped``, once the bot stops."""

    def __init__(self, start: float, cap: float, stopping: Callable[[], bool]) -> None:
        self.start = start
        self.cap = cap
        self._stopping = stopping

    def next(self, delay: float) -> float:
        return min(delay * 2, self.cap)

    async def pause(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
        if self._stopping():
            raise Stopped()


def describe(error: BaseException) -> str:
    text = str(error) or type(error).__name__
    return text.splitlines()[0][:200]


def raise_if_transient(response: ErrorResponse) -> None:
    """A 5xx or gateway error is the homeserver being unavailable, not bad credentials."""
    status = getattr(getattr(response, "transport_response", None), "status", None)
    if status is not None and status >= 500:
        raise ClientConnectionError(f"HTTP {status} from the homeserver")


def first_contact_problem(homeserver: str, timeout: float = 10.0) -> str | None:
    """Why ``homeserver`` cannot be the bot's homeserver (its name does not resolve, nothing answers,
    or what answers does not speak Matrix), or None when it answers ``/_matrix/client/versions``.
    Asked once on a first start only: a bot that has served before retries through outages."""
    import json
    import socket
    import urllib.error
    import urllib.request

    url = homeserver.rstrip("/") + "/_matrix/client/versions"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - an http(s) URL
            body = response.read(65536)
    except urllib.error.HTTPError as error:
        return f"{homeserver} answers HTTP {error.code} to {url}: it does not speak Matrix there"
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        if not isinstance(reason, BaseException):
            reason = error
        if isinstance(reason, socket.gaierror):
            return f"the name in {homeserver} cannot be resolved ({reason.strerror or reason})"
        return f"{homeserver} cannot be reached ({describe(reason)})"
    try:
        versions = json.loads(body).get("versions")
    except (ValueError, AttributeError):
        versions = None
    if not isinstance(versions, list):
        return f"{homeserver} answers {url}, but not as a Matrix homeserver does (no list of versions)"
    return None
