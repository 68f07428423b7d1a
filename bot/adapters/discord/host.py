"""What the cogs, views and delivery need from the running bot, as a protocol.

They are typed against this rather than the Bot subclass in ``client`` so that ``client`` can
import them without any import leading back to it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import discord

    from bot.conversation import Conversation
    from bot.feedback import FeedbackStore
    from bot.library import Library
    from bot.ratelimit import RateLimiter
    from bot.service import CaseBot
    from bot.settings import Settings


class Host(Protocol):
    """The bot as its parts see it: the service, the settings, the feedback store, the limiter and the
    conversation policy (bot.conversation)."""

    casebot: CaseBot
    settings: Settings
    feedback: FeedbackStore
    limiter: RateLimiter
    conversation: Conversation
    library: Library

    @property
    def user(self) -> discord.ClientUser | None: ...
