"""Question -> answer latency of the Matrix bot through a real Synapse.

    python -m bench.matrix_latency [--questions 50] [--questions-file tests/eval/questions.jsonl]
                                   [--encrypted]

Starts a throw-away Synapse on 127.0.0.1 (tests/support/synapse_server.py: installs the pinned
version into .venv-synapse on first use), indexes corpus/ into a temporary folder, runs the bot and
an asking user (matrix-nio) in one process, and measures, for each question, the time from sending
it to the asker's client receiving the reply (``--encrypted``: in an end-to-end encrypted direct
chat, both sides encrypting and decrypting). Three rows:

* core only: ``CaseBot.ask`` called directly (what the Matrix layer adds is the difference);
* one at a time: the next question is sent when the previous answer has arrived;
* burst: all questions sent at once (latency then includes queueing behind the others).

Prints a Markdown table of median, p95 and max in milliseconds (pasted into docs/matrix.md).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

from bench._common import MODELS, ROOT, percentile, table
from nio import AsyncClient, AsyncClientConfig, LoginResponse, RoomSendResponse

from bot.adapters.matrix import MatrixBot
from bot.adapters.matrix.sync import exchange_keys
from bot.service import CaseBot
from bot.settings import Settings
from tests.support.synapse_server import SYNAPSE_VERSION, Synapse

PASSWORD = "bench password"
# The asker must see every reply even in a burst: a timeline limit above what a burst produces.
FILTER = {"room": {"timeline": {"limit": 1000}}}


class Asker:
    """A user whose background sync resolves a future per awaited reply."""

    def __init__(self, client: AsyncClient) -> None:
        self.client = client
        self.waiting: dict[str, asyncio.Future[float]] = {}
        self.early: dict[str, float] = {}
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.client.sync(timeout=0, full_state=True)
        await self._keys()
        self.task = asyncio.create_task(self._loop())

    async def _keys(self) -> None:
        """Encryption housekeeping, as nio's sync_forever does it."""
        await exchange_keys(self.client)

    async def _loop(self) -> None:
        while True:
            response = await self.client.sync(timeout=10_000, sync_filter=FILTER)
            now = time.perf_counter()
            await self._keys()
            for info in getattr(getattr(response, "rooms", None), "join", {}).values():
                for event in info.timeline.events:
                    relation = event.source.get("content", {}).get("m.relates_to", {})
                    event_id = relation.get("m.in_reply_to", {}).get("event_id")
                    if not event_id:
                        continue
                    future = self.waiting.pop(event_id, None)
                    if future is not None and not future.done():
                        future.set_result(now)
                    else:
                        self.early[event_id] = now

    async def ask(self, room_id: str, question: str) -> float:
        """Send ``question`` and return seconds until its reply arrives."""
        sent = time.perf_counter()
        response = await self.client.room_send(
            room_id, "m.room.message", {"msgtype": "m.text", "body": question}, ignore_unverified_devices=True
        )
        assert isinstance(response, RoomSendResponse), response
        if response.event_id in self.early:
            return self.early.pop(response.event_id) - sent
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self.waiting[response.event_id] = future
        return await asyncio.wait_for(future, 300) - sent


async def run(synapse: Synapse, casebot: CaseBot, questions: list[str], store: Path,
              encrypted: bool) -> dict[str, list[float]]:
    bot_id = synapse.register("casebot", PASSWORD)
    asker_id = synapse.register("asker", PASSWORD)
    settings = Settings(corpus_dir=casebot.settings.corpus_dir, index_dir=casebot.settings.index_dir,
                        model_cache_dir=casebot.settings.model_cache_dir,
                        matrix_homeserver=synapse.url, matrix_user_id=bot_id, matrix_password=PASSWORD,
                        matrix_store_dir=store, rate_limit_per_minute=100_000)
    bot = MatrixBot(settings, casebot)
    serving = asyncio.create_task(bot.run())
    await asyncio.wait_for(bot.ready.wait(), 60)

    asker_store = store.parent / "asker-store"
    asker_store.mkdir(parents=True, exist_ok=True)
    client = AsyncClient(synapse.url, asker_id, store_path=str(asker_store),
                         config=AsyncClientConfig(encryption_enabled=encrypted))
    assert isinstance(await client.login(PASSWORD), LoginResponse)
    asker = Asker(client)
    await asker.start()
    state = [{"type": "m.room.encryption", "state_key": "", "content": {"algorithm": "m.megolm.v1.aes-sha2"}}]
    created = await client.room_create(
        invite=[bot_id], is_direct=True, initial_state=state if encrypted else []
    )
    room_id = created.room_id
    for _ in range(600):  # wait until the bot has joined and answers
        if bot_id in (client.rooms.get(room_id).users if client.rooms.get(room_id) else {}):
            break
        await asyncio.sleep(0.1)
    await asker.ask(room_id, "!help")  # warm-up: the first answer loads lazy state

    results: dict[str, list[float]] = {"one at a time": [], "burst": []}
    for question in questions:
        results["one at a time"].append(await asker.ask(room_id, question))
    results["burst"] = list(await asyncio.gather(*(asker.ask(room_id, q) for q in questions)))

    bot.stop()
    await serving
    if asker.task:
        asker.task.cancel()
    await client.close()
    return results


def load_questions(path: Path, count: int) -> list[str]:
    lines = [json.loads(line)["q"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [lines[i % len(lines)] for i in range(count)]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--questions", type=int, default=50)
    parser.add_argument("--questions-file", type=Path, default=ROOT / "tests" / "eval" / "questions.jsonl")
    parser.add_argument("--encrypted", action="store_true", help="ask in an end-to-end encrypted direct chat")
    args = parser.parse_args()
    from bot.runtime import tune_for_questions

    tune_for_questions()  # what a serving process runs under: `bot ask/chat/run` apply it (bot/cli.py)
    questions = load_questions(args.questions_file, args.questions)

    with tempfile.TemporaryDirectory(prefix="casebot-bench-") as folder:
        casebot = CaseBot(Settings(corpus_dir=ROOT / "corpus", index_dir=Path(folder) / "index",
                                   model_cache_dir=MODELS))
        casebot.open()
        casebot.ask(questions[0])  # warm the model up
        core = []
        for question in questions:
            started = time.perf_counter()
            casebot.ask(question)
            core.append(time.perf_counter() - started)
        synapse = Synapse.start()
        try:
            results = asyncio.run(
                run(synapse, casebot, questions, Path(folder) / "matrix-store", args.encrypted)
            )
        finally:
            synapse.stop()

    rows = {"core only (CaseBot.ask)": core, **{f"through Synapse, {k}": v for k, v in results.items()}}
    room = "encrypted" if args.encrypted else "unencrypted"
    print(
        f"Matrix question -> answer latency ({room} direct chat): {len(questions)} questions, "
        f"Synapse {SYNAPSE_VERSION} "
        f"(SQLite) on 127.0.0.1, {os.cpu_count()} CPU, Python {platform.python_version()}"
    )
    print(table(["", "n", "median ms", "p95 ms", "max ms"], [
        [name, len(values), f"{statistics.median(values) * 1000:.0f}", f"{percentile(values, 95) * 1000:.0f}",
         f"{max(values) * 1000:.0f}"] for name, values in rows.items()]))


if __name__ == "__main__":
    main()
