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
