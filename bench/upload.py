"""How soon a document added from the chat answers: issue 26's goal is a 20-page PDF answering within
30 s on two cores. The same path as `!add` / `/add` without the homeserver: bot.library reads the
upload with the corpus's readers, saves it, rebuilds the index incrementally, then the question is
asked (the Matrix and Discord tests check the rooms' side, tests/adapters/).

    python -m bench.upload [--pages 20] [--repeats 3]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from bot.library import Library, Upload
from bot.service import CaseBot
from tests.support import ARTICLE, settings_for
from tests.support.uploads import REPORT_FACT, REPORT_NAME, REPORT_QUESTION, report_pdf


async def one(pages: int) -> tuple[float, float, int]:
    """Seconds to add the document (read, save, rebuild), seconds until it answers, passages read."""
    with tempfile.TemporaryDirectory() as tmp:
        settings = settings_for(Path(tmp))
        settings.corpus_dir.mkdir(parents=True)
        shutil.copy(ARTICLE, settings.corpus_dir / ARTICLE.name)
        casebot = CaseBot(settings)
        casebot.open(build_if_missing=True)
        started = time.perf_counter()
        upload = Upload(REPORT_NAME, report_pdf(pages), "@bench", "!bench", "matrix")
        added = await Library(casebot).add(upload)
        added_after = time.perf_counter() - started
        answer = casebot.ask(REPORT_QUESTION, 3)
        answered_after = time.perf_counter() - started
        assert any(REPORT_FACT in p.text for p in answer.passages), "the added document did not answer"
        return added_after, answered_after, added.passages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    runs = [asyncio.run(one(args.pages)) for _ in range(args.repeats)]
    print(f"{args.pages}-page PDF, {runs[0][2]} passages, {args.repeats} runs (median):")
    print(f"  added (read, saved, index rebuilt): {statistics.median(r[0] for r in runs):.1f} s")
    print(f"  answered from it:                   {statistics.median(r[1] for r in runs):.1f} s (goal: 30 s)")


if __name__ == "__main__":
    main()
