"""Fixtures for the Matrix tests: a real Synapse per session, people who talk to the bot through it
(matrix-nio clients), and a running ``MatrixBot`` over a real ``CaseBot``."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from nio import (AsyncClient, AsyncClientConfig, JoinResponse, LoginResponse, RoomCreateResponse,
                 RoomSendResponse)

from bot.adapters.matrix import MatrixBot
from bot.service import CaseBot
from tests.support.synapse_server import Synapse

PASSWORD = "correct horse battery staple"
# People must see every event, even in a burst: a timeline limit above anything a test produces.
SYNC_FILTER = {"room": {"timeline": {"limit": 1000}}}
_names = itertools.count(1)


@pytest.fixture(scope="session")
def synapse() -> Iterator[Synapse]:
    """A real Synapse on 127.0.0.1 (installed into .venv-synapse on first use), for the session."""
    server = Synapse.start()
    try:
        yield server
    finally:
        server.stop()


def unique(prefix: str) -> str:
    return f"{prefix}{next(_names)}t{int(time.time() * 1000) % 100000}"


class Person:
    """A human (or another bot) on the homeserver: a matrix-nio client with a background sync that
    records every room event it sees."""

    def __init__(self, client: AsyncClient) -> None:
        self.client = client
        self.user_id = client.user_id
        self.events: list[tuple[str, dict[str, Any]]] = []  # (room_id, event source)
        self.invites: list[str] = []
        self._changed = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None

    @classmethod
    async def login(cls, synapse: Synapse, localpart: str, display_name: str | None = None,
                    encrypted: bool = False) -> Person:
        """Log in; ``encrypted`` people have a key store and can read and write encrypted rooms."""
        synapse.register(localpart, PASSWORD)
        store = tempfile.mkdtemp(prefix="person-store-") if encrypted else ""
        client = AsyncClient(synapse.url, synapse.user_id(localpart), store_path=store,
                             config=AsyncClientConfig(encryption_enabled=encrypted, max_timeouts=3))
        response = await client.login(PASSWORD, device_name="test")
        assert isinstance(response, LoginResponse), response
        if display_name:
            await client.set_displayname(display_name)
        person = cls(client)
        await person._sync_once(timeout=0)
        person._task = asyncio.create_task(person._sync_forever())
        return person

    async def _sync_once(self, timeout: int) -> None:
        response = await self.client.sync(timeout=timeout, full_state=self.client.next_batch is None,
                                          sync_filter=SYNC_FILTER)
        if not hasattr(response, "rooms"):
            await asyncio.sleep(0.2)
            return
        if self.client.olm is not None:  # what sync_forever does: publish and fetch keys
            if self.client.should_upload_keys:
                await self.client.keys_upload()
            if self.client.should_query_keys:
                await self.client.keys_query()
            if self.client.should_claim_keys:
                await self.client.keys_claim(self.client.get_users_for_key_claiming())
            await self.client.send_to_device_messages()
        async with self._changed:
            for room_id, info in response.rooms.join.items():
                self.events.extend((room_id, e.source) for e in info.timeline.events)
            self.invites.extend(response.rooms.invite)
            self._changed.notify_all()

    async def _sync_forever(self) -> None:
        while True:
            await self._sync_once(timeout=10_000)

    async def close(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.client.close()

    # -- acting ----------------------------------------------------------------------------
    async def create_room(self, invite: tuple[str, ...] = (), direct: bool = False, encrypted: bool = False,
                          name: str = "Casebot test room") -> str:
        state = [{"type": "m.room.encryption", "state_key": "",
                  "content": {"algorithm": "m.megolm.v1.aes-sha2"}}] if encrypted else []
        response = await self.client.room_create(name=name, invite=list(invite), is_direct=direct,
                                                 initial_state=state)
        assert isinstance(response, RoomCreateResponse), response
        await self.wait_for(lambda r, e: r == response.room_id)  # our own join is in our sync
        return response.room_id

    async def join(self, room_id: str) -> None:
        response = await self.client.join(room_id)
        assert isinstance(response, JoinResponse), response

    async def send(self, room_id: str, body: str, msgtype: str = "m.text", event_type: str = "m.room.message",
                   **extra: Any) -> str:
        content = {"msgtype": msgtype, "body": body, **extra} if event_type == "m.room.message" else extra
        response = await self.client.room_send(room_id, event_type, content, ignore_unverified_devices=True)
        assert isinstance(response, RoomSendResponse), response
        return response.event_id

    # -- waiting ---------------------------------------------------------------------------
    async def wait_for(
        self, predicate: Callable[[str, dict[str, Any]], bool], timeout: float = 60.0
    ) -> dict[str, Any]:
        """The first recorded event (room_id, source) matching ``predicate``."""
        async def find() -> dict[str, Any]:
            async with self._changed:
                while True:
                    for room_id, event in self.events:
                        if predicate(room_id, event):
                            return event
                    await self._changed.wait()
        return await asyncio.wait_for(find(), timeout)

    async def reply_to(self, event_id: str, timeout: float = 90.0) -> dict[str, Any]:
        """The first message replying to ``event_id``."""
        return await self.wait_for(lambda r, e: in_reply_to(e) == event_id, timeout)

    def replies_to(self, event_id: str) -> list[dict[str, Any]]:
        return [e for _, e in self.events if in_reply_to(e) == event_id]

    def messages_from(self, sender: str, room_id: str) -> list[dict[str, Any]]:
        return [e for r, e in self.events
                if r == room_id and e.get("sender") == sender and e.get("type") == "m.room.message"]

    async def membership(
        self, room_id: str, user_id: str, membership: str, timeout: float = 60.0
    ) -> dict[str, Any]:
        return await self.wait_for(
            lambda r, e: r == room_id and e.get("type") == "m.room.member" and e.get("state_key") == user_id
            and e.get("content", {}).get("membership") == membership, timeout)


def in_reply_to(event: dict[str, Any]) -> str | None:
    relation = (event.get("content") or {}).get("m.relates_to") or {}
    return (relation.get("m.in_reply_to") or {}).get("event_id")


@pytest.fixture
async def people(synapse: Synapse) -> AsyncIterator[Callable[..., Awaitable[Person]]]:
    """Factory: ``await people("alice")`` logs in a fresh user (unique id per call)."""
    made: list[Person] = []

    async def make(prefix: str = "alice", display_name: str | None = None, encrypted: bool = False) -> Person:
        person = await Person.login(synapse, unique(prefix), display_name, encrypted)
        made.append(person)
        return person

    yield make
    for person in made:
        await person.close()


class RunningBot:
    """A MatrixBot served in a background task of the test's event loop."""

    def __init__(self, bot: MatrixBot) -> None:
        self.bot = bot
        self.task = asyncio.create_task(bot.run())

    @property
    def user_id(self) -> str:
        return self.bot.user_id

    async def ready(self, timeout: float = 60.0) -> RunningBot:
        waiter = asyncio.create_task(self.bot.ready.wait())
        done, _ = await asyncio.wait(
            {waiter, self.task}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
        )
        if self.task in done:
            waiter.cancel()
            raise AssertionError(f"the bot stopped before it was ready (exit code {self.task.result()})")
        assert waiter in done, "the bot was not ready in time"
        return self

    async def stop(self) -> int:
        self.bot.stop()
        return await asyncio.wait_for(self.task, 30)


@dataclasses.dataclass
class BotAccount:
    user_id: str
    localpart: str
    password: str
    store_dir: Path


@pytest.fixture
def bot_account(synapse: Synapse, tmp_path: Path) -> BotAccount:
    """A fresh bot user (display name "Casebot") and an empty session store folder."""
    localpart = unique("casebot")
    synapse.register(localpart, PASSWORD)
    return BotAccount(synapse.user_id(localpart), localpart, PASSWORD, tmp_path / "matrix-store")


@pytest.fixture
async def start_bot(synapse: Synapse, casebot: CaseBot,
                    bot_account: BotAccount) -> AsyncIterator[Callable[..., Awaitable[RunningBot]]]:
    """Factory: ``await start_bot(casebot=None, **matrix_settings)`` starts a bot on the test server
    as ``bot_account`` and waits until it listens. Every bot is stopped at the end of the test."""
    running: list[RunningBot] = []

    async def start(core: CaseBot | None = None, wait: bool = True, timeline_limit: int = 50,
                    **overrides: Any) -> RunningBot:
        core = core or casebot
        values: dict[str, Any] = {
            "matrix_homeserver": synapse.url,
            "matrix_user_id": bot_account.user_id,
            "matrix_password": bot_account.password,
            "matrix_store_dir": bot_account.store_dir,
        }
        values.update(overrides)
        settings = dataclasses.replace(core.settings, **values)
        handle = RunningBot(MatrixBot(settings, core, timeline_limit=timeline_limit, backoff_start=0.2))
        running.append(handle)
        return await handle.ready() if wait else handle

    yield start
    for handle in running:
        if not handle.task.done():
            await handle.stop()


@pytest.fixture
async def bot_display_name(synapse: Synapse, bot_account: BotAccount) -> str:
    """Give the bot account a display name, as a real deployment would."""
    client = AsyncClient(synapse.url, bot_account.user_id)
    await client.login(bot_account.password, device_name="setup")
    await client.set_displayname("Casebot")
    await client.logout()
    await client.close()
    return "Casebot"


async def direct_chat(person, bot, encrypted: bool = False) -> str:
    """A direct chat between the person and the bot, once the bot has joined."""
    room_id = await person.create_room(invite=(bot.user_id,), direct=True, encrypted=encrypted)
    await person.membership(room_id, bot.user_id, "join")
    return room_id
