"""A flood of questions through a real Synapse: several people, each with its own matrix-nio client,
send hundreds of ``!ask`` questions within a few seconds into one room with the bot.

The bot's contract under a flood (``bot/adapters/matrix/bot.py``, ``bot/ratelimit.py``): per person
and per minute, the first ``RATE_LIMIT_PER_MINUTE`` questions are answered, the next one gets the
rate-limit notice, and every later one gets a "⏳" reaction (one notice per person, not one per
message: a notice per message would double the flood; a reaction adds no message and notifies no
one). So every question is answered exactly once, which is what the test checks against the room's
history on the server (replies matched to questions through ``m.in_reply_to``, reactions through
their ``m.annotation``). The order is exact: the bot consults the limit in the order it reads the
room's events, gaps of limited syncs included.

The flood and its accounting (tests/support/matrix_flood.py) are shared with ``bench/matrix_flood.py``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import pytest

from tests.support.matrix import Person, RunningBot
from tests.support.matrix_flood import (check_outcome, eval_questions, flood_room, gap_events, run_flood,
                                        settled_rss)

pytestmark = pytest.mark.slow

log = logging.getLogger(__name__)

ASKERS = 4
QUESTIONS_PER_ASKER = 60  # 240 questions in the flood
RATE_LIMIT = 10  # per person per minute: 40 answers, 4 notices, 196 reactions
# A timeline limit well below the flood's size, so the bot's syncs are "limited" and it must fetch
# the gaps with /messages (the production default, 50, is reached by a larger flood of the same kind).
TIMELINE_LIMIT = 10
# The bot runs in this process (a task of the test's event loop, the model in worker threads), so
# the RSS of this process is the bot's memory plus the people's clients. RSS follows the peak, not
# what is alive, so it is compared after a warm-up flood of the same size (model buffers, thread
# pools, allocator arenas and nio's caches are then in place), with the people's recorded events
# dropped. Measured here: the warm-up grows it by ~55 MB, the second flood by 9-14 MB. The bound is
# generous against allocator noise on a busy machine; what it catches is what a leak under a flood
# looks like at this size: a third of a MB or more kept per question (answers, tasks, events,
# an unbounded queue).
RSS_GROWTH_LIMIT_MB = 80.0


# -- the test ----------------------------------------------------------------------------------------
async def test_flood_every_question_answered_refused_or_marked_once_and_memory_stays_flat(
        people: Callable[..., Awaitable[Person]], start_bot: Callable[..., Awaitable[RunningBot]],
        caplog: pytest.LogCaptureFixture, record_property: Callable[[str, object], None]) -> None:
    """Four people send 240 questions within seconds: per person, exactly RATE_LIMIT answers and one
    rate-limit notice, in the room's order, each replying to its own question; every other question
    got the "⏳" reaction; none lost, none answered twice, no stray reply; the
    bot fetched the gaps of its limited syncs; and a second flood of the same size, after a first
    one that warmed everything up, did not grow the process's memory."""
    caplog.set_level(logging.INFO, logger="bot.matrix")
    caplog.set_level(logging.INFO, logger=__name__)
    questions = eval_questions()
    bot = await start_bot(rate_limit_per_minute=RATE_LIMIT, timeline_limit=TIMELINE_LIMIT)
    warmers = [await people(f"warmup{n}-") for n in range(ASKERS)]
    askers = [await people(f"flood{n}-") for n in range(ASKERS)]
    everyone = [*warmers, *askers]
    room_id = await flood_room(warmers[0], bot.user_id, everyone[1:])
    rss_start = settled_rss(everyone)

    # Warm-up: the same flood by other people, so the answer path, thread pools, caches and the
    # allocator's arenas have reached the size a flood needs.
    warm = await run_flood(warmers, room_id, bot.user_id, QUESTIONS_PER_ASKER, questions[::-1])
    check_outcome(warm.outcome, RATE_LIMIT)
    rss_warm = settled_rss(everyone)

    flood = await run_flood(askers, room_id, bot.user_id, QUESTIONS_PER_ASKER, questions)
    rss_after = settled_rss(everyone)
    fetches, gap_total = gap_events(caplog.records)
    outcome = flood.outcome
    numbers = {
        "flood_questions": flood.sent,
        "flood_answers": outcome.count("answer", RATE_LIMIT),
        "flood_rate_limit_notices": outcome.count("notice", RATE_LIMIT),
        "flood_reactions": outcome.count("reaction", RATE_LIMIT),
        "flood_send_seconds": round(flood.send_seconds, 2),
        "flood_seconds": round(flood.total_seconds, 2),
        "gap_fetches": fetches,
        "gap_events": gap_total,
        "rss_start_mb": round(rss_start, 1),
        "rss_after_warmup_mb": round(rss_warm, 1),
        "rss_after_flood_mb": round(rss_after, 1),
    }
    for name, value in numbers.items():
        record_property(name, value)
    log.info("flood: %s", numbers)

    assert flood.sent == ASKERS * QUESTIONS_PER_ASKER
    check_outcome(outcome, RATE_LIMIT)
    assert numbers["flood_answers"] == ASKERS * RATE_LIMIT and numbers["flood_rate_limit_notices"] == ASKERS
    assert fetches > 0, "no sync was limited: the flood did not test the gap fetch"
    assert rss_after - rss_warm < RSS_GROWTH_LIMIT_MB, numbers
