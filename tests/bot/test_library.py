"""Documents added from the chat (bot.library) on the stand-in models: names, types, the corpus's
readers, the sidecar, replace and remove."""

from __future__ import annotations

import pytest
import yaml

from bot.library import Library, Upload, UploadRefused
from bot.service import CaseBot

NOTE = (b"---\ntitle: Harbour notes\ndate: 2019-05-02\n---\n\n"
        b"The harbour master keeps a logbook in green ink.\n")


def upload(name: str, data: bytes = NOTE, replace: bool = False) -> Upload:
    return Upload(name, data, "@admin:example.org", "!room", "matrix", replace)


async def test_an_upload_is_saved_with_its_record_and_answered_from(fast_casebot: CaseBot) -> None:
    added = await Library(fast_casebot).add(upload("notes.md"))
    assert (added.name, added.title, added.date, added.language, added.passages) == \
        ("notes.md", "Harbour notes", "2019-05-02", "en", 1)
    corpus = fast_casebot.settings.corpus_dir
    assert (corpus / "notes.md").read_bytes() == NOTE
    record = yaml.safe_load((corpus / "notes.md.yml").read_text())
    assert record["added_by"] == "@admin:example.org" and record["added_in"] == "!room"
    answer = fast_casebot.ask("Who keeps a logbook in green ink?")
    assert answer.passages[0].doc_id == "notes.md"


@pytest.mark.parametrize("name", [".hidden.md", "a\x00b.md", "x" * 130 + ".md", "  "])
async def test_names_that_are_not_plain_file_names_are_refused(fast_casebot: CaseBot, name: str) -> None:
    corpus = fast_casebot.settings.corpus_dir
    before = sorted(p.name for p in corpus.iterdir())
    with pytest.raises(UploadRefused, match="plain name"):
        await Library(fast_casebot).add(upload(name))
    assert sorted(p.name for p in corpus.iterdir()) == before


@pytest.mark.parametrize("name, saved", [("../escape.md", "escape.md"), ("/etc/passwd.md", "passwd.md"),
                                         ("dir\\notes.md", "notes.md")])
async def test_a_folder_in_the_name_is_dropped_so_the_file_stays_in_the_corpus(
        fast_casebot: CaseBot, name: str, saved: str) -> None:
    added = await Library(fast_casebot).add(upload(name))
    corpus = fast_casebot.settings.corpus_dir
    assert added.name == saved and (corpus / saved).is_file()
    assert not (corpus.parent / "escape.md").exists()


@pytest.mark.parametrize("name, reason", [("tool.exe", "I do not read .exe files"),
                                          ("notes.md.yml", "I do not read .yml files"),
                                          ("binary.txt", "it looks binary")])
async def test_what_the_corpus_would_skip_is_refused_and_not_saved(fast_casebot: CaseBot, name: str,
                                                                   reason: str) -> None:
    with pytest.raises(UploadRefused, match=reason):
        await Library(fast_casebot).add(upload(name, b"\x00\x01binary"))
    assert not (fast_casebot.settings.corpus_dir / name).exists()


async def test_the_same_name_needs_replace_and_remove_takes_it_out(fast_casebot: CaseBot) -> None:
    library = Library(fast_casebot)
    await library.add(upload("notes.md"))
    with pytest.raises(UploadRefused, match="already in the corpus"):
        await library.add(upload("notes.md"))
    changed = NOTE.replace(b"green", b"purple")
    replaced = await library.add(upload("notes.md", changed, replace=True))
    assert replaced.replaced and (fast_casebot.settings.corpus_dir / "notes.md").read_bytes() == changed
    assert (await library.remove("notes.md")).startswith("Removed notes.md")
    assert not list(fast_casebot.settings.corpus_dir.glob("notes.md*"))
    assert "notes.md" not in {s.doc_id for s in fast_casebot.sources()}
    with pytest.raises(UploadRefused, match="no document named notes.md"):
        await library.remove("notes.md")
