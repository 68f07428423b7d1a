"""Joining rooms: invites accepted or declined, the greeting once joined, and the one notice in an
encrypted room that the bot cannot read."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from nio import AsyncClient, InviteMemberEvent, JoinError

from bot.adapters.matrix.delivery import Delivery
from bot.adapters.matrix.policy import may_invite
from bot.adapters.matrix.session import SessionStore
from bot.render import wording
from bot.render.matrix import render_text

log = logging.getLogger("bot.matrix")


class Rooms:
    """Which invites were handled and which new rooms still owe their greeting."""

    def __init__(self, client: AsyncClient, store: SessionStore, delivery: Delivery,
                 allowed_inviters: tuple[str, ...]) -> None:
        self.client = client
        self.store = store
        self.delivery = delivery
        self.allowed_inviters = allowed_inviters
        self._invites_handled: set[str] = set()
        self._greet: set[str] = set()

    @property
    def encrypting(self) -> bool:
        """True when the bot reads and writes end-to-end encrypted rooms."""
        return self.client.olm is not None

    def forget_invite(self, room_id: str) -> None:
        """The room was joined or left: a later invite to it is a new one."""
        self._invites_handled.discard(room_id)

    async def handle_invites(self, invites: Mapping[str, Any]) -> None:
        user_id = self.client.user_id
        for room_id, info in invites.items():
            if room_id in self._invites_handled:
                continue
            self._invites_handled.add(room_id)
            # nio keeps type/sender/state_key in an invite event's source but moves content to attributes.
            inviter = next((e.sender for e in info.invite_state if isinstance(e, InviteMemberEvent)
                            and e.state_key == user_id and e.membership == "invite"), "")
            if not may_invite(inviter, user_id, self.allowed_inviters):
                log.info(
                    "declining the invite to %s from %s (not an allowed inviter)", room_id, inviter or "?"
                )
                await self.delivery.call(self.client.room_leave(room_id))
                continue
            response = await self.delivery.call(self.client.join(room_id))
            if response is None or isinstance(response, JoinError):
                log.warning("could not join %s (invited by %s): %s", room_id, inviter, response)
                continue
            log.info("joined %s (invited by %s)", room_id, inviter)
            self._greet.add(room_id)  # once the room's state is synced, unless it is encrypted

    async def greet_if_new(self, room_id: str) -> None:
        """Say hello in a room joined since the last sync, where the bot can be read."""
        if room_id not in self._greet:
            return
        self._greet.discard(room_id)
        room = self.client.rooms.get(room_id)
        if room is not None and (not room.encrypted or self.encrypting):
            await self.delivery.send(room_id, render_text(wording.GREETING).content())

    async def warn_if_encrypted(self, room_id: str, events: Iterable[Mapping[str, Any]]) -> None:
        """Say once per room that encrypted messages are unreadable to the bot."""
        if self.encrypting:
            return  # we can read them
        room = self.client.rooms.get(room_id)
        encrypted = (room is not None and room.encrypted) or any(
            e.get("type") == "m.room.encrypted" and e.get("sender") != self.client.user_id for e in events)
        if not encrypted or room_id in self.store.session.encryption_notice_rooms:
            return
        self.store.update(encryption_notice_rooms=(*self.store.session.encryption_notice_rooms, room_id))
        log.info("room %s is encrypted: posting the notice that the bot cannot read it", room_id)
        await self.delivery.send(room_id, render_text(wording.ENCRYPTED_NOTICE).content())
