"""What the bot does with a room event addressed to it: answer a question, list the sources, show
help, rebuild the index, add or remove a document (admins), or explain a message it could not
decrypt.

Asking, its limits and its errors are bot.conversation's, shared with Discord and ``chat``; this
module maps them onto Matrix (replies in the question's thread, "typing…", a reaction past the rate
limit). Every request gets its own task so one slow answer never stalls the sync loop.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from nio import AsyncClient, LocalProtocolError, MegolmEvent

from bot.adapters.matrix.delivery import Delivery
from bot.adapters.matrix.media import fetch
from bot.adapters.matrix.messages import (FileOffer, Request, conversation_place, file_offer,
                                          is_question_candidate, parse_request)
from bot.adapters.matrix.policy import is_admin
from bot.conversation import Conversation, Notice
from bot.library import Library, Upload
from bot.render import wording
from bot.render.matrix import Rendered, render_added, render_answer, render_help, render_sources, render_text
from bot.settings import Settings
from bot.sources import page_number, page_of

if TYPE_CHECKING:
    from nio import MatrixRoom

    from bot.service import CaseBot

log = logging.getLogger("bot.matrix")

TYPING_AFTER = 0.5  # seconds an answer may take before the bot shows "typing…"
RATE_LIMITED_REACTION = "⏳"  # on questions over the limit after its notice: seen, not answered yet
ADMINS = "your user id must be in MATRIX_ADMINS"


class Commands:
    """Turns the events of the sync loop into replies; ``spawn`` runs each request as its own task."""

    def __init__(
        self,
        client: AsyncClient,
        casebot: CaseBot,
        settings: Settings,
        delivery: Delivery,
        conversation: Conversation,
        library: Library,
        spawn: Callable[[Awaitable[Any]], None],
        display_name: str | None,
    ) -> None:
        self.client = client
        self.casebot = casebot
        self.settings = settings
        self.delivery = delivery
        self.conversation = conversation
        self.library = library
        self.spawn = spawn
        self.display_name = display_name
        self._undecryptable_told: dict[str, float] = {}
        self._reindexing = False

    @property
    def user_id(self) -> str:
        return self.client.user_id

    def on_event(self, room_id: str, room: MatrixRoom | None, event: Mapping[str, Any]) -> None:
        """A new event in a joined room: spawn the reply if it asks the bot anything."""
        direct = room is not None and len(room.users) == 2
        encrypting = self.client.olm is not None
        if event.get("type") == "m.room.encrypted" and encrypting and event.get("sender") != self.user_id:
            self.spawn(self._undecryptable(room_id, event, direct))
            return
        offer = file_offer(event, self.user_id, direct)
        if offer is not None:
            self.spawn(self._add(room_id, event, offer))
            return
        if not is_question_candidate(event, self.user_id):
            return
        member = room.users.get(self.user_id) if room is not None else None
        names = tuple(n for n in {self.display_name, getattr(member, "display_name", None)} if n)
        request = parse_request(event["content"], self.user_id, names, direct)
        if request is not None:
            self.spawn(self._respond(room_id, event, request, direct))

    async def _undecryptable(self, room_id: str, event: Mapping[str, Any], direct: bool) -> None:
        """A message nio could not decrypt: ask the sender's devices for the key, and in a direct
        chat (where every message is for the bot) say so, at most once per sender per minute."""
        log.info("could not decrypt %s in %s from %s", event.get("event_id"), room_id, event.get("sender"))
        megolm = MegolmEvent.from_dict(dict(event))
        if isinstance(megolm, MegolmEvent):
            try:
                await self.delivery.call(self.client.request_room_key(megolm))
            except LocalProtocolError:
                pass  # already requested for this session
        sender = str(event.get("sender"))
        now = time.monotonic()
        if direct and self._undecryptable_told.get(sender, 0.0) <= now:
            self._undecryptable_told[sender] = now + 60
            await self.delivery.reply(room_id, event, render_text(wording.UNDECRYPTABLE))

    async def _respond(self, room_id: str, event: Mapping[str, Any], request: Request,
                       direct: bool) -> None:
        reply = self.delivery.reply
        if request.command == "ask":
            await self._answer(room_id, event, request.argument, direct)
            return
        result = await self.conversation.guard(f"{request.command} in {room_id}",
                                               self._command(room_id, event, request))
        if isinstance(result, Notice):
            await reply(room_id, event, render_text(result.text))

    async def _command(self, room_id: str, event: Mapping[str, Any], request: Request) -> None:
        reply = self.delivery.reply
        if request.command == "help":
            await reply(room_id, event, render_help(self.user_id, self.display_name))
        elif request.command == "sources":
            sources = await asyncio.to_thread(self.casebot.sources)
            await reply(room_id, event, render_sources(page_of(sources, page_number(request.argument))))
        elif request.command == "reindex":
            await self._reindex(room_id, event)
        elif request.command in ("add", "remove") and not self._admin(event):
            await reply(room_id, event, render_text(wording.ADMINS_ONLY_ADD))
        elif request.command == "add":  # the command without a file: say how
            await reply(room_id, event, render_text(wording.ADD_HOW))
        elif request.command == "remove":
            await reply(room_id, event, render_text(await self.library.remove(request.argument)))
        else:
            await reply(room_id, event, render_text(wording.unknown_command(request.command[:40])))

    async def _answer(self, room_id: str, event: Mapping[str, Any], question: str, direct: bool) -> None:
        refused = self.conversation.admit(event["sender"], question)
        if refused is not None and refused.quiet:
            # Told once already: every further question still gets an answer, a quiet one (a
            # reaction notifies nobody and adds no message to the room), so none looks lost.
            log.info("rate limit: marking a question from %s with %s", event["sender"], RATE_LIMITED_REACTION)
            await self.delivery.react(room_id, event, RATE_LIMITED_REACTION)
            return
        if refused is not None:
            await self.delivery.reply(room_id, event, render_text(refused.text))
            return
        key = self.conversation.key(conversation_place(room_id, event, direct))
        # Typing notifications cost the homeserver work; most answers take well under TYPING_AFTER.
        typing: list[bool] = []
        timer = asyncio.get_running_loop().call_later(
            TYPING_AFTER, lambda: (typing.append(True), self.delivery.typing(room_id, True)))
        try:
            answer = await self.conversation.answer(question, key)
        finally:
            timer.cancel()
        rendered = render_text(answer.text) if isinstance(answer, Notice) else render_answer(answer)
        sent = await self.delivery.reply(room_id, event, rendered)
        self.conversation.link(key, room_id, (event.get("event_id"), sent))
        if typing:
            self.delivery.typing(room_id, False)

    def _admin(self, event: Mapping[str, Any]) -> bool:
        return is_admin(event["sender"], self.settings.matrix_admins)

    async def _add(self, room_id: str, event: Mapping[str, Any], offer: FileOffer) -> None:
        """An admin's file: fetched, checked by the corpus's readers, saved and indexed (bot.library);
        anyone else's gets one line."""
        sender = event["sender"]
        if not self._admin(event):
            await self.delivery.reply(room_id, event, render_text(wording.ADMINS_ONLY_ADD))
            return
        log.info("%s sent %r to add in %s", sender, offer.name, room_id)

        async def receive() -> Rendered:
            self.library.check_size(offer.name, offer.size)  # before downloading it
            data = await fetch(self.client, offer)
            added = await self.library.add(Upload(offer.name, data, sender, room_id, "matrix", offer.replace))
            log.info("added %s (%d passages) for %s in %.1f s", added.name, added.passages, sender,
                     added.seconds)
            return render_added(added)

        self.delivery.typing(room_id, True)
        try:
            result = await self.conversation.guard(f"adding {offer.name!r}", receive())
        finally:
            self.delivery.typing(room_id, False)
        rendered = render_text(result.text) if isinstance(result, Notice) else result
        await self.delivery.reply(room_id, event, rendered)

    async def _reindex(self, room_id: str, event: Mapping[str, Any]) -> None:
        reply = self.delivery.reply
        if not self._admin(event):
            await reply(room_id, event, render_text(wording.admins_only(ADMINS)))
            return
        if self._reindexing or self.casebot.rebuilding:
            await reply(room_id, event, render_text(wording.REBUILD_RUNNING))
            return
        self._reindexing = True
        try:
            await reply(room_id, event, render_text(wording.REBUILD_STARTED))
            log.info("rebuilding the index on request of %s", event["sender"])
            await reply(room_id, event, render_text(await self.conversation.rebuild()))
        finally:
            self._reindexing = False
