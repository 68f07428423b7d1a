"""Helpful / Not helpful buttons that keep working after a restart.

Each button is a :class:`discord.ui.DynamicItem`: its ``custom_id`` encodes the verdict and the
short id under which :class:`bot.feedback.FeedbackStore` kept the answer, and the bot registers
the class in ``setup_hook``, so a click on a message sent by an earlier process is still routed
here and still finds its answer.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import TYPE_CHECKING, Any

import discord

from bot.feedback import Verdict
from bot.render import wording

if TYPE_CHECKING:
    from bot.adapters.discord.host import Host

log = logging.getLogger(__name__)

LABELS: dict[str, tuple[str, discord.ButtonStyle]] = {
    "helpful": ("Helpful", discord.ButtonStyle.success),
    "not_helpful": ("Not helpful", discord.ButtonStyle.secondary),
}


class FeedbackButton(
    discord.ui.DynamicItem[discord.ui.Button],
    template=r"casebot:feedback:(?P<verdict>helpful|not_helpful):(?P<answer_id>[0-9a-f]{12})",
):
    """One verdict on one answer; ``custom_id`` = ``casebot:feedback:<verdict>:<answer id>``."""

    def __init__(self, answer_id: str, verdict: Verdict) -> None:
        label, style = LABELS[verdict]
        super().__init__(discord.ui.Button(
            label=label, style=style, custom_id=f"casebot:feedback:{verdict}:{answer_id}",
        ))
        self.answer_id = answer_id
        self.verdict: Verdict = verdict

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Button,
                             match: re.Match[str], /) -> "FeedbackButton":
        return cls(match["answer_id"], match["verdict"])  # type: ignore[arg-type]

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        client: Host = interaction.client
        record = await asyncio.to_thread(
            client.feedback.record_verdict, self.answer_id, self.verdict, user_id=interaction.user.id,
        )
        if record is None:
            log.warning("feedback on unknown answer %s (not in %s)", self.answer_id,
                        client.feedback.answers_path)
            text = wording.FEEDBACK_LOST
        else:
            log.info("feedback %s on answer %s", self.verdict, self.answer_id)
            text = wording.THANKS_HELPFUL if self.verdict == "helpful" else wording.THANKS_NOT_HELPFUL
        await interaction.response.send_message(text, ephemeral=True)


def feedback_view(answer_id: str) -> discord.ui.View:
    """The two buttons under an answer. No timeout: they are dispatched by ``custom_id``."""
    view = discord.ui.View(timeout=None)
    view.add_item(FeedbackButton(answer_id, "helpful"))
    view.add_item(FeedbackButton(answer_id, "not_helpful"))
    return view
