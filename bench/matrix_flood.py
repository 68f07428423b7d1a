"""A flood of questions into one Matrix room, through a real Synapse: what the bot answers, refuses and
marks, how long it takes, and what it does to memory.

    python -m bench.matrix_flood [--askers 4] [--per-asker 60] [--rate-limit 10] [--timeline-limit 10]

Starts a throw-away Synapse on 127.0.0.1 (tests/support/synapse_server.py), indexes corpus/ into a
temporary folder and runs the bot in this process with a per-person limit of ``--rate-limit``
questions a minute. ``--askers`` people (matrix-nio clients, ``Person`` of tests/support/matrix.py)
then each send ``--per-asker`` ``!ask`` questions at once, twice: a warm-up flood, and the measured
flood by other people. The flood, and the accounting read back from the room's history on the server,
are those of tests/support/matrix_flood.py. Per person the contract is ``--rate-limit`` answers,
one rate-limit notice, and a "⏳" reaction on every later question; "breaking the contract"
counts lost questions, double replies and replies in the wrong place.

Prints a Markdown table; RSS is that of this process (bot, model and the people's clients).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import os
import platform
import tempfile
from pathlib import Path

from bench._common import MODELS, ROOT, load_average, table

from bot.adapters.matrix import MatrixBot
from bot.service import CaseBot
from bot.settings import Settings
from tests.support.matrix import Person, unique
from tests.support.synapse_server import SYNAPSE_VERSION, Synapse
from tests.support.matrix_flood import (
    FloodRun,
    eval_questions,
    flood_room,
    gap_events,
    run_flood,
    settled_rss,
)


class Records(logging.Handler):
    """Keeps the bot's log records (gap fetches are counted from them)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


async def run(synapse: Synapse, casebot: CaseBot, store: Path,
              args: argparse.Namespace) -> list[list[object]]:
    records = Records()
    matrix_log = logging.getLogger("bot.matrix")
    matrix_log.setLevel(logging.INFO)
    matrix_log.addHandler(records)
    localpart = unique("casebot")
    password = "bench password"
    settings = dataclasses.replace(casebot.settings, matrix_homeserver=synapse.url,
                                   matrix_user_id=synapse.register(localpart, password),
                                   matrix_password=password, matrix_store_dir=store,
                                   rate_limit_per_minute=args.rate_limit)
    bot = MatrixBot(settings, casebot, timeline_limit=args.timeline_limit)
    serving = asyncio.create_task(bot.run())
    await asyncio.wait_for(bot.ready.wait(), 60)
    warmers = [await Person.login(synapse, unique(f"warmup{n}-")) for n in range(args.askers)]
    askers = [await Person.login(synapse, unique(f"flood{n}-")) for n in range(args.askers)]
    everyone = [*warmers, *askers]
    try:
        room_id = await flood_room(warmers[0], bot.user_id, everyone[1:])
        questions = eval_questions()
        rss_start = settled_rss(everyone)
        rows = []
        for name, people, lines in (("warm-up", warmers, questions[::-1]), ("flood", askers, questions)):
            flood = await run_flood(people, room_id, bot.user_id, args.per_asker, lines)
            rows.append(row(name, flood, args.rate_limit, settled_rss(everyone)))
    finally:
        bot.stop()
        await serving
        for person in everyone:
            await person.close()
        matrix_log.removeHandler(records)
    fetches, gap_total = gap_events(records.records)
    print(f"RSS at the start {rss_start:.0f} MB; limited syncs whose gap was fetched: {fetches} "
          f"({gap_total} events)\n")
    return rows


def row(name: str, flood: FloodRun, limit: int, rss_after: float) -> list[object]:
    outcome = flood.outcome
    return [name, flood.sent, outcome.count("answer", limit), outcome.count("notice", limit),
            outcome.count("reaction", limit), outcome.unexpected(limit), f"{flood.send_seconds:.1f}",
            f"{flood.total_seconds:.1f}", f"{rss_after:.0f}"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--askers", type=int, default=4)
    parser.add_argument("--per-asker", type=int, default=60, help="questions each person sends at once")
    parser.add_argument("--rate-limit", type=int, default=10, help="questions per person per minute")
    parser.add_argument("--timeline-limit", type=int, default=10, help="the bot's sync timeline limit")
    args = parser.parse_args()
    from bot.runtime import tune_for_questions

    tune_for_questions()  # what a serving process runs under: `bot ask/chat/run` apply it (bot/cli.py)
    with tempfile.TemporaryDirectory(prefix="casebot-bench-") as folder:
        casebot = CaseBot(Settings(corpus_dir=ROOT / "corpus", index_dir=Path(folder) / "index",
                                   model_cache_dir=MODELS))
        casebot.open()
        synapse = Synapse.start()
        try:
            rows = asyncio.run(run(synapse, casebot, Path(folder) / "matrix-store", args))
        finally:
            synapse.stop()
    print(f"Matrix flood: {args.askers} people x {args.per_asker} questions at once, rate limit "
          f"{args.rate_limit}/min, timeline limit {args.timeline_limit}; Synapse {SYNAPSE_VERSION} (SQLite) "
          f"on 127.0.0.1, {os.cpu_count()} CPU, load average {load_average()}, "
          f"Python {platform.python_version()}")
    headers = ["", "questions", "answers", "rate-limit notices", "⏳ reactions", "breaking the contract",
               "sending s", "all handled s", "RSS after MB"]
    print(table(headers, rows))


if __name__ == "__main__":
    main()
