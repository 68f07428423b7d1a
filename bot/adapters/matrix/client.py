"""``MatrixBot``: one Matrix account served until ``stop()``, with the ``CaseBot`` passed in.

It only wires the parts together and owns their lifetime: ``login`` (the account), ``sync`` (new
events, exactly once), ``rooms`` (invites, greeting, encryption notice), ``commands`` (what to
answer) and ``delivery`` (sending).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any

from nio import AsyncClient

from bot.adapters.matrix.commands import Commands
from bot.adapters.matrix.delivery import Delivery
from bot.adapters.matrix.login import Login, redact_secrets_in_nio_logs
from bot.adapters.matrix.network import Backoff, LoginFailed, Stopped
from bot.adapters.matrix.rooms import Rooms
from bot.adapters.matrix.session import SessionStore
from bot.adapters.matrix.sync import TIMELINE_LIMIT, Sync
from bot.conversation import Conversation
from bot.library import Library
from bot.ratelimit import RateLimiter
from bot.settings import Settings

if TYPE_CHECKING:
    from bot.service import CaseBot

log = logging.getLogger("bot.matrix")


class MatrixBot:
    """Serves one Matrix account until ``stop()``."""

    def __init__(self, settings: Settings, casebot: CaseBot, *, timeline_limit: int = TIMELINE_LIMIT,
                 backoff_start: float = 1.0, backoff_cap: float = 60.0) -> None:
        self.settings = settings
        self.casebot = casebot
        self.timeline_limit = timeline_limit
        self.homeserver = settings.matrix_homeserver.rstrip("/")
        self.user_id = settings.matrix_user_id
        self.display_name: str | None = None
        self.store = SessionStore(settings.matrix_store_dir)
        self.limiter = RateLimiter(settings.rate_limit_per_minute, 60.0)
        self.conversation = Conversation(casebot, settings, limiter=self.limiter)
        self.library = Library(casebot)
        self.backoff = Backoff(backoff_start, backoff_cap, lambda: self._stop_requested)
        self.client: AsyncClient | None = None
        self.ready = asyncio.Event()  # set once the first sync is done: the bot is listening
        self._login = Login(settings, self.store, self.backoff)
        self._stop_requested = False
        self._main: asyncio.Task[int] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    async def run(self) -> int:
        """Log in and serve until ``stop()``. Returns a process exit code."""
        self._main = asyncio.current_task()  # type: ignore[assignment]
        if self._stop_requested:
            return 0
        try:
            self.casebot.start_background()  # follow INDEX_DIR (and the corpus, with CORPUS_WATCH)
            redact_secrets_in_nio_logs()
            self.client = client = await self._login.log_in()
            self.user_id = self._login.user_id
            self.display_name = await self._login.display_name()
            delivery = Delivery(client, self._spawn)
            rooms = Rooms(client, self.store, delivery, self.settings.matrix_allowed_inviters)
            commands = Commands(client, self.casebot, self.settings, delivery, self.conversation,
                                self.library, self._spawn, self.display_name)
            sync = Sync(client, self.store, rooms, self.backoff, commands.on_event, self.timeline_limit)
            await sync.first()
            self.ready.set()
            log.info("Matrix bot %s (device %s) is listening on %s", self.user_id,
                     self.store.session.device_id, self.homeserver)
            return await sync.forever()
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
        client = self.client or self._login.client  # made even when the login then failed
        if client is not None:
            await client.close()

    def _spawn(self, work: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
