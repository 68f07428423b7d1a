"""A Telegram Desktop channel export (result.json): each post with text is its own short document."""

from __future__ import annotations

import shutil
from pathlib import Path

from index.ingest.documents import scan_corpus
from tests.support.documents import DOCUMENTS, assert_chunks_are_exact_slices

EXPORT = DOCUMENTS / "telegram" / "result.json"


def test_each_post_with_text_is_a_document_with_date_author_and_title(tmp_path: Path) -> None:
    shutil.copy(EXPORT, tmp_path / "result.json")
    scan = scan_corpus(tmp_path)
    assert scan.warnings == ()
    posts = {d.doc_id: d for d in scan.documents}
    # The service message (channel created) and the photo without a caption are not documents.
    assert list(posts) == ["result.json#83", "result.json#85", "result.json#86"]
    post = posts["result.json#83"]
    assert post.title == "Telegram Case Notes — post 83"
    assert (post.date, post.author, post.url) == ("2018-04-13", "Telegram Case Notes", None)
    # Formatted text (a list of strings and entities) is read as the plain text it shows.
    assert post.text == (
        "A Moscow court ruled today that Telegram must be blocked in Russia. The block starts at once "
        "and lasts until the company gives the FSB its encryption keys.\n"
    )
    assert posts["result.json#85"].text.count("\n\n") == 1  # two paragraphs, as posted
    for document in posts.values():
        assert_chunks_are_exact_slices(document)


def test_post_links_use_the_channel_address_from_the_sidecar(tmp_path: Path) -> None:
    shutil.copy(EXPORT, tmp_path / "result.json")
    (tmp_path / "result.json.yml").write_text(
        "url: https://t.me/casenotes\nsource: Telegram\n", encoding="utf-8"
    )
    posts = {d.doc_id: d for d in scan_corpus(tmp_path).documents}
    assert posts["result.json#85"].url == "https://t.me/casenotes/85"
    assert posts["result.json#85"].source == "Telegram"


def test_export_with_a_username_links_each_post(tmp_path: Path) -> None:
    text = EXPORT.read_text(encoding="utf-8").replace(
        '"type": "public_channel",', '"type": "public_channel", "username": "casenotes",'
    )
    (tmp_path / "export.json").write_text(text, encoding="utf-8")
    posts = {d.doc_id: d for d in scan_corpus(tmp_path).documents}
    assert posts["export.json#86"].url == "https://t.me/casenotes/86"


def test_json_that_is_not_an_export_is_named_in_a_warning(tmp_path: Path) -> None:
    (tmp_path / "settings.json").write_text('{"theme": "dark"}', encoding="utf-8")
    (tmp_path / "good.md").write_text("A good document about Telegram.\n", encoding="utf-8")
    scan = scan_corpus(tmp_path)
    assert [d.doc_id for d in scan.documents] == ["good.md"]
    (warning,) = scan.warnings
    assert warning.path == "settings.json" and "not a Telegram chat export" in warning.reason
