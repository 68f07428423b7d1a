"""CORPUS_WATCH: a document copied in slowly is indexed once, complete; hidden and editor files never."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest

from bot.service import CaseBot
from index.models.models import Models
from index.ingest.watch import QUIET_SECONDS
from tests.support import make_corpus, settings_for

PIECES = [f"Paragraph {n} of the pigeon appendix: loft {n} carried {n * 11} sealed letters to the court.\n\n"
          for n in range(1, 7)]


def test_a_file_copied_in_slowly_is_indexed_exactly_once_and_complete(
        tmp_path: Path, fast_models: Models, fast_reranker, caplog: pytest.LogCaptureFixture) -> None:  # noqa: ANN001
    settings = settings_for(tmp_path, corpus_watch=True)
    corpus = make_corpus(settings.corpus_dir)
    bot = CaseBot(settings, fast_models.replace(reranker=fast_reranker))
    bot.open()
    bot.start_background()
    try:
        with caplog.at_level(logging.INFO):
            time.sleep(0.5)  # the watcher is listening
            (corpus / ".notes.md").write_text(
                "---\ntitle: Hidden\n---\nNot for the index.\n", encoding="utf-8"
            )
            (corpus / ".pigeons.md.swp").write_bytes(b"\x00vim swap")
            (corpus / "pigeons.md~").write_text("an editor's backup", encoding="utf-8")
            target = corpus / "pigeons.md"
            target.write_text("---\ntitle: Pigeon appendix\n---\n", encoding="utf-8")
            for piece in PIECES:  # 3 s of writing, 0.5 s apart: shorter gaps than the quiet time
                time.sleep(0.5)
                with open(target, "a", encoding="utf-8") as fh:
                    fh.write(piece)
            written = time.monotonic()
            deadline = written + QUIET_SECONDS + 30
            while "pigeons.md" not in {s.doc_id for s in bot.sources()}:
                assert time.monotonic() < deadline, "the watcher did not index the file"
                time.sleep(0.1)
            indexed_after = time.monotonic() - written
            time.sleep(QUIET_SECONDS + 1.5)  # a second build, if any, would have started by now
        builds = [r for r in caplog.records if r.getMessage().startswith("the corpus changed")]
        assert len(builds) == 1, [r.getMessage() for r in builds]
        assert indexed_after >= QUIET_SECONDS - 0.1  # not before the writing had stopped for the quiet time
        [document] = [d for d in bot.searcher.documents if d.doc_id == "pigeons.md"]
        assert document.text.strip() == "".join(PIECES).strip()  # complete: every piece
        assert {s.doc_id for s in bot.sources()} == {"iran-fsb-telegram-2017.md", "pigeons.md"}
    finally:
        bot.close()
