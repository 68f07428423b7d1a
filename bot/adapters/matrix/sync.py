"""Our own sync loop (not nio's ``sync_forever``), for three guarantees nio does not give:

* nothing from before the start is answered: the first sync after a start (``full_state``, resumed
  from the stored token when there is one) only learns rooms, invites and state;
* nothing is lost in a burst: when a sync returns a ``limited`` timeline, the gap is fetched with
  ``/messages`` back to the previous sync token;
* nothing is answered twice: the sync token is stored after each sync, and event ids are remembered.

Each new room event goes to ``on_event``, which must not block (it spawns the work).
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from nio import AsyncClient, MessageDirection, RoomMessagesError, SyncResponse

from bot.adapters.matrix.network import TRANSIENT, Backoff, LoginFailed, Stopped, describe
from bot.adapters.matrix.rooms import Rooms
from bot.adapters.matrix.session import SessionStore

if TYPE_CHECKING:
    from nio import MatrixRoom

log = logging.getLogger("bot.matrix")

SYNC_TIMEOUT_MS = 30_000
TIMELINE_LIMIT = 50
GAP_PAGE_SIZE = 100
GAP_MAX_PAGES = 20
SEEN_EVENTS = 5_000

EventHandler = Callable[[str, "MatrixRoom | None", Mapping[str, Any]], None]


async def exchange_keys(client: AsyncClient) -> None:
    """Publish our keys, learn other devices' keys and send pending room keys: what nio's
    ``sync_forever`` does after each sync. A client without encryption does nothing."""
    if client.olm is None:
        return
    if client.should_upload_keys:
        await client.keys_upload()
    if client.should_query_keys:
        await client.keys_query()
    if client.should_claim_keys:
        await client.keys_claim(client.get_users_for_key_claiming())
    await client.send_to_device_messages()


class Sync:
    """Follows the account's rooms from one start to ``stop()``."""

    def __init__(self, client: AsyncClient, store: SessionStore, rooms: Rooms, backoff: Backoff,
                 on_event: EventHandler, timeline_limit: int = TIMELINE_LIMIT) -> None:
        self.client = client
        self.store = store
        self.rooms = rooms
        self.backoff = backoff
        self.on_event = on_event
        self.timeline_limit = timeline_limit
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._joined: set[str] = set()

    @property
    def _filter(self) -> dict[str, Any]:
        return {
            "presence": {"not_types": ["*"]},
            "account_data": {"not_types": ["*"]},
            "room": {
                "timeline": {"limit": self.timeline_limit},
                "state": {"lazy_load_members": False},
                "ephemeral": {"not_types": ["*"]},
                "account_data": {"not_types": ["*"]},
            },
        }

    async def _sync(self, since: str | None, full_state: bool = False, timeout: int = SYNC_TIMEOUT_MS,
                    first: bool = False) -> SyncResponse:
        """One sync, retried with capped exponential backoff while the homeserver is unreachable."""
        homeserver = self.client.homeserver
        delay = self.backoff.start
        while True:
            try:
                response = await self.client.sync(timeout=timeout, since=since, full_state=full_state,
                                                  sync_filter=self._filter)
            except TRANSIENT as error:
                log.warning("Lost the Matrix homeserver %s (%s); retrying in %g s.",
                            homeserver, describe(error), delay)
            else:
                if isinstance(response, SyncResponse):
                    return response
                if response.status_code in ("M_UNKNOWN_TOKEN", "M_MISSING_TOKEN"):
                    self.store.update(access_token="")
                    raise LoginFailed(f"The homeserver {homeserver} no longer accepts the bot's access "
                                      f"token ({response.status_code}); restart it to log in again.")
                status = getattr(response.transport_response, "status", None)
                if first and since and status == 400:  # e.g. the server's database was reset
                    log.warning("The homeserver rejected the stored sync position; starting from now.")
                    since = None
                    continue
                log.warning("Sync with %s failed (%s); retrying in %g s.", homeserver, response, delay)
            await self.backoff.pause(delay)
            delay = self.backoff.next(delay)

    async def first(self) -> None:
        """Learn rooms and state; answer nothing: every message so far is from before the start."""
        since = self.store.session.next_batch or None
        response = await self._sync(since, full_state=True, timeout=0, first=True)
        for room_id, info in response.rooms.join.items():
            self._joined.add(room_id)
            for event in _sources(info.timeline.events):
                self._remember(event.get("event_id"))
        for room_id, info in response.rooms.join.items():
            await self.rooms.warn_if_encrypted(room_id, _sources(info.timeline.events))
        await self.rooms.handle_invites(response.rooms.invite)
        await self._exchange_keys()
        self.store.update(next_batch=response.next_batch)

    async def forever(self) -> int:
        while True:
            previous = self.store.session.next_batch
            response = await self._sync(previous)
            try:
                await self._handle(response, previous)
            except (asyncio.CancelledError, LoginFailed, Stopped):
                raise
            except Exception:  # a bug must not turn into a crash loop that re-reads the same sync
                log.exception("could not handle a sync response; skipping it")
            await self._exchange_keys()
            self.store.update(next_batch=response.next_batch)

    async def _exchange_keys(self) -> None:
        if self.client.olm is None:
            return
        try:
            await exchange_keys(self.client)
        except TRANSIENT as error:
            log.warning("encryption key exchange with %s failed (%s); retrying after the next sync",
                        self.client.homeserver, describe(error))

    async def _handle(self, response: SyncResponse, previous: str) -> None:
        await self.rooms.handle_invites(response.rooms.invite)
        for room_id in response.rooms.leave:  # left, kicked, or an invite withdrawn or declined
            self._joined.discard(room_id)
            self.rooms.forget_invite(room_id)  # so a new invite is handled again
        for room_id, info in response.rooms.join.items():
            self.rooms.forget_invite(room_id)
            events = _sources(info.timeline.events)
            if room_id not in self._joined:  # joined since the last sync: skip the history before our join
                self._joined.add(room_id)
                own_join = [i for i, e in enumerate(events) if self._is_own_join(e)]
                if own_join:
                    events = events[own_join[-1] + 1:]
                elif info.timeline.limited and info.timeline.prev_batch:
                    events = await self._fetch_gap(room_id, info.timeline.prev_batch, previous) + events
            elif info.timeline.limited and info.timeline.prev_batch:
                events = await self._fetch_gap(room_id, info.timeline.prev_batch, previous) + events
            await self.rooms.warn_if_encrypted(room_id, events)
            await self.rooms.greet_if_new(room_id)
            room = self.client.rooms.get(room_id)
            for event in events:
                if self._remember(event.get("event_id")):
                    self.on_event(room_id, room, event)

    async def _fetch_gap(self, room_id: str, start: str, until: str) -> list[dict[str, Any]]:
        """Events a limited sync left out: paginate back from ``start`` to the previous sync token,
        stopping at an event already seen or at the bot's own join."""
        collected: list[dict[str, Any]] = []
        token = start
        for _ in range(GAP_MAX_PAGES):
            try:
                response = await self.client.room_messages(
                    room_id,
                    start=token,
                    end=until or None,
                    direction=MessageDirection.back,
                    limit=GAP_PAGE_SIZE,
                )
            except TRANSIENT as error:
                log.warning("Could not fetch missed messages in %s (%s).", room_id, describe(error))
                break
            if isinstance(response, RoomMessagesError):
                log.warning("Could not fetch missed messages in %s (%s).", room_id, response)
                break
            reached_known = False
            for event in _sources(response.chunk):  # newest first
                if event.get("event_id") in self._seen or self._is_own_join(event):
                    reached_known = True
                    break
                collected.append(event)
            if reached_known or not response.chunk or not response.end or response.end == token:
                break
            token = response.end
        collected.reverse()
        log.info("fetched %d event(s) that a limited sync left out in %s", len(collected), room_id)
        return collected

    def _is_own_join(self, event: Mapping[str, Any]) -> bool:
        return (event.get("type") == "m.room.member" and event.get("state_key") == self.client.user_id
                and (event.get("content") or {}).get("membership") == "join")

    def _remember(self, event_id: str | None) -> bool:
        """Record ``event_id``; False when it was already handled."""
        if not event_id or event_id in self._seen:
            return False
        self._seen[event_id] = None
        while len(self._seen) > SEEN_EVENTS:
            self._seen.popitem(last=False)
        return True


def _sources(events: Iterable[Any]) -> list[dict[str, Any]]:
    """The raw JSON of nio events (parsed or not)."""
    return [e.source for e in events if isinstance(getattr(e, "source", None), dict)]
