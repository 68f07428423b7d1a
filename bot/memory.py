"""What a conversation remembers: the last few questions of each thread, room or direct chat.

Bounded three ways (questions per conversation, conversations, idle time) so a busy bot's memory
stays small and an old exchange does not colour a question asked much later. Keys are chosen by the
adapters and always start with the room or channel they belong to, so a conversation never crosses
rooms or people's direct chats.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field

TURNS = 3
IDLE_SECONDS = 15 * 60
CONVERSATIONS = 5_000
LINKS = 20_000  # messages (questions, answers, threads) that lead back to a conversation


@dataclass
class _Conversation:
    questions: deque[str] = field(default_factory=lambda: deque(maxlen=TURNS))
    last: float = 0.0


class ConversationMemory:
    """Thread-unsafe by design: the adapters call it from their one event loop."""

    def __init__(self, turns: int = TURNS, idle_seconds: float = IDLE_SECONDS,
                 conversations: int = CONVERSATIONS, clock: Callable[[], float] = time.monotonic) -> None:
        if turns < 1:
            raise ValueError("turns must be at least 1")
        if idle_seconds <= 0:
            raise ValueError("idle_seconds must be positive")
        self.turns = turns
        self.idle_seconds = idle_seconds
        self.conversations = conversations
        self._clock = clock
        self._by_key: OrderedDict[Hashable, _Conversation] = OrderedDict()
        self._links: OrderedDict[Hashable, Hashable] = OrderedDict()

    def previous(self, key: Hashable) -> str | None:
        """The last question of conversation ``key`` as it was read, unless forgotten."""
        conversation = self._by_key.get(key)
        if conversation is None or not conversation.questions:
            return None
        if self._clock() - conversation.last > self.idle_seconds:
            del self._by_key[key]
            return None
        return conversation.questions[-1]

    def remember(self, key: Hashable, question: str) -> None:
        conversation = self._by_key.pop(key, None) or _Conversation(deque(maxlen=self.turns))
        conversation.questions.append(question)
        conversation.last = self._clock()
        self._by_key[key] = conversation  # most recent last: the oldest is dropped first
        while len(self._by_key) > self.conversations:
            self._by_key.popitem(last=False)

    def link(self, message: Hashable, key: Hashable) -> None:
        """``message`` (a question, an answer, a thread) continues conversation ``key``."""
        self._links.pop(message, None)
        self._links[message] = key
        while len(self._links) > LINKS:
            self._links.popitem(last=False)

    def conversation_of(self, message: Hashable) -> Hashable | None:
        return self._links.get(message)
