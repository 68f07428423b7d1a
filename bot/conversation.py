"""The conversation policy every chat front end shares: Matrix, Discord (slash commands and
mentions) and ``chat`` are thin adapters over it.

Asking goes: ``admit`` (the per-person rate limit, then the question's validity, before any work so
Discord can still answer privately within its 3 seconds) → ``answer`` (read with the previous
question of its conversation when it depends on it, bot.followup; at most ``concurrency`` answers at
once; the model off the event loop) → the adapter renders and sends. Every other command runs
through ``guard``. One error policy for all: a ``CasebotError`` is a message the person can act on
and is shown as it is; anything else is logged and apologised for.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import math
import time
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from bot import followup
from bot.answer import Answer
from bot.memory import ConversationMemory
from bot.questions import clean_question
from bot.ratelimit import RateLimiter
from bot.render import wording
from index.errors import CasebotError

if TYPE_CHECKING:
    from bot.service import CaseBot
    from bot.settings import Settings

log = logging.getLogger(__name__)

ANSWER_CONCURRENCY = 2
T = TypeVar("T")


@dataclass(frozen=True)
class Notice:
    """Something to tell the person instead of an answer. ``quiet``: they were told already (over
    the rate limit again) and a mark such as a reaction is enough; ``failed``: an internal error,
    logged, and ``text`` is the apology."""

    text: str
    quiet: bool = False
    failed: bool = False


@dataclass(frozen=True)
class Place:
    """Where a question was asked, for its conversation: ``room`` is never crossed; ``continues``
    are the messages it continues (a thread's root, the message it replies to), nearest first;
    ``own`` names the conversation it starts when none of them is known (the direct chat or thread
    itself, or the message, so that a later reply to it continues it)."""

    room: str
    own: str
    continues: tuple[str, ...] = ()


class Conversation:
    """One per bot process; used from one event loop (``chat`` runs each line on its own loop)."""

    def __init__(self, casebot: CaseBot, settings: Settings, *, limiter: RateLimiter | None = None,
                 memory: ConversationMemory | None = None, concurrency: int = ANSWER_CONCURRENCY,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.casebot = casebot
        self.settings = settings
        self.limiter = limiter if limiter is not None else RateLimiter(settings.rate_limit_per_minute, 60.0)
        self.memory = memory if memory is not None else ConversationMemory()
        self.concurrency = concurrency
        self._clock = clock
        self._slots: asyncio.Semaphore | None = None
        self._warned_until: dict[str, float] = {}

    # -- asking ------------------------------------------------------------------------------------
    def admit(self, person: str, question: str) -> Notice | None:
        """None when ``person`` may ask ``question`` now; else what to tell them."""
        if not self.limiter.allow(person):
            now = self._clock()
            if self._warned_until.get(person, 0.0) > now:
                return Notice(wording.rate_limited(self.limiter.limit, self.limiter.retry_after(person)),
                              quiet=True)
            retry_after = self.limiter.retry_after(person)
            self._warned_until[person] = now + max(1, math.ceil(retry_after))
            return Notice(wording.rate_limited(self.limiter.limit, retry_after))
        try:
            clean_question(question, self.settings.max_question_chars)
        except CasebotError as error:
            return Notice(str(error))
        return None

    def key(self, place: Place) -> Hashable:
        """The conversation a question asked at ``place`` belongs to."""
        for message in place.continues:
            known = self.memory.conversation_of((place.room, message))
            if known is not None:
                return known
        return (place.room, place.own)

    def link(self, key: Hashable, room: str, messages: Sequence[str | None]) -> None:
        """Replies to ``messages`` (a question, the bot's answer) and threads started from them
        continue conversation ``key``."""
        for message in messages:
            if message:
                self.memory.link((room, message), key)

    def knows(self, room: str, message: str) -> bool:
        """``message`` is part of a conversation (a question asked or an answer given here)."""
        return self.memory.conversation_of((room, message)) is not None

    async def answer(self, question: str, key: Hashable | None = None, what: str = "a question",
                     detail: str = "") -> Answer | Notice:
        """The answer to ``question``, read with the previous question of conversation ``key`` when
        it depends on it (the answer then says what it was read as); ``what`` names the request in
        the log should it fail, ``detail`` who asked where."""
        previous = self.memory.previous(key) if key is not None else None
        reading = followup.read(question.strip(), previous)
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.concurrency)
        result = await self.guard(what, self._ask(question.strip(), reading), detail)
        if isinstance(result, Answer) and key is not None:
            self.memory.remember(key, reading.question)
        return result

    async def _ask(self, question: str, reading: followup.Reading) -> Answer:
        assert self._slots is not None
        async with self._slots:
            answer = await self.casebot.ask_async(reading.question)
        if reading.joined:  # shown as asked, with what it was read as
            return dataclasses.replace(answer, question=question, read_as=reading.read_as)
        return answer

    async def rebuild(self, full: bool = False) -> str:
        """Rebuild the index (questions keep being answered meanwhile) and say how it went."""
        result = await self.guard("a rebuild", self.casebot.rebuild_async(full))
        if isinstance(result, Notice):
            return wording.rebuild_failed(wording.INTERNAL_ERROR if result.failed else result.text)
        return wording.rebuilt(result.summary())

    # -- every command -----------------------------------------------------------------------------
    async def guard(self, what: str, work: Awaitable[T], detail: str = "") -> T | Notice:
        """``work``'s result, or the Notice the person gets when it fails (logged as "``what`` failed
        ``detail``" when it is not a CasebotError)."""
        try:
            return await work
        except asyncio.CancelledError:
            raise
        except CasebotError as error:
            return Notice(str(error))
        except Exception:
            log.exception("%s failed%s", what, f" {detail}" if detail else "")
            return Notice(wording.APOLOGY, failed=True)
