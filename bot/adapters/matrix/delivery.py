"""Sending to rooms: notices that reply to a question, reactions, and "typing…".

Every notice pings nobody (an empty ``m.mentions``) and is retried briefly on network errors
under one transaction id, so a retry never posts it twice.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from nio import AsyncClient, LocalProtocolError, OlmTrustError, RoomSendError

from bot.adapters.matrix.messages import reply_relation
from bot.adapters.matrix.network import TRANSIENT, describe
from bot.render.matrix import Rendered

log = logging.getLogger("bot.matrix")


class Delivery:
    """Sends for one logged-in client; ``spawn`` runs fire-and-forget work (typing updates)."""

    def __init__(self, client: AsyncClient, spawn: Callable[[Awaitable[Any]], None]) -> None:
        self.client = client
        self._spawn = spawn
        self._typing_rooms: dict[str, int] = {}

    async def reply(self, room_id: str, event: Mapping[str, Any], rendered: Rendered) -> str | None:
        content = rendered.content("m.notice")
        content["m.relates_to"] = reply_relation(event)
        return await self.send(room_id, content)

    async def react(self, room_id: str, event: Mapping[str, Any], key: str) -> str | None:
        return await self.send(
            room_id,
            {"m.relates_to": {"rel_type": "m.annotation", "event_id": event["event_id"], "key": key}},
            event_type="m.reaction",
        )

    async def send(
        self, room_id: str, content: dict[str, Any], event_type: str = "m.room.message"
    ) -> str | None:
        """Send one notice (pinging nobody) or reaction; network errors are retried briefly with a stable
        transaction id."""
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
                    log.warning("could not send to %s: %s", room_id, describe(error))
                    return None
                await asyncio.sleep(delay)
                delay *= 2
                continue
            if isinstance(response, RoomSendError):
                log.warning("could not send to %s: %s", room_id, response)
                return None
            return response.event_id
        return None

    async def call(self, request: Awaitable[Any]) -> Any:
        """Await a request to the homeserver; None (and a log line) when it cannot be reached."""
        try:
            return await request
        except TRANSIENT as error:
            log.warning("request to %s failed: %s", self.client.homeserver, describe(error))
            return None

    def typing(self, room_id: str, typing: bool) -> None:
        """Show "typing…" while at least one slow answer for the room is being prepared."""
        before = self._typing_rooms.get(room_id, 0)
        after = max(0, before + (1 if typing else -1))
        self._typing_rooms[room_id] = after
        if (before == 0) != (after == 0):
            self._spawn(self.call(self.client.room_typing(room_id, typing_state=typing, timeout=30_000)))
