"""Documents added from the chat through a real Synapse: an admin's file with the caption !add (in a
thread), the same name again and !add replace, !remove, someone else's file, a file in an encrypted
direct chat, and a zip bomb named .docx refused while the bot keeps answering."""

from __future__ import annotations

import io

import pytest
import yaml

from bot.render.wording import ADMINS_ONLY_ADD
from tests.support.matrix import direct_chat
from tests.support.uploads import (BOMB_NAME, REPORT_FACT, REPORT_NAME, REPORT_QUESTION, REPORT_TITLE,
                                   report_pdf, zip_bomb_docx)

pytestmark = pytest.mark.slow

FSB_QUESTION = "What did the FSB demand from Telegram?"


async def send_file(person, room_id: str, name: str, data: bytes, caption: str | None = None,
                    encrypted: bool = False, **extra) -> str:
    """Upload ``data`` and send it as an m.file; ``caption`` becomes the body (a media caption)."""
    response, keys = await person.client.upload(io.BytesIO(data), content_type="application/octet-stream",
                                                filename=name, encrypt=encrypted, filesize=len(data))
    content = {"filename": name, "info": {"size": len(data)}, **extra}
    if encrypted:
        content["file"] = {"url": response.content_uri, **keys}
    else:
        content["url"] = response.content_uri
    return await person.send(room_id, caption or name, msgtype="m.file", **content)


async def group_room(person, bot, *others) -> str:
    room_id = await person.create_room(invite=(bot.user_id, *(o.user_id for o in others)))
    for other in others:
        await other.join(room_id)
    await person.membership(room_id, bot.user_id, "join")
    return room_id


def body(event: dict) -> str:
    return event["content"]["body"]


async def test_an_admins_file_is_added_answers_and_can_be_replaced_and_removed(
        people, start_bot, make_casebot):
    admin, carol = await people("admin"), await people("carol")
    core = make_casebot()
    bot = await start_bot(core, matrix_admins=(admin.user_id,))
    room_id = await group_room(admin, bot, carol)
    root_id = await admin.send(room_id, "Thread for new documents")
    thread = {"m.relates_to": {"rel_type": "m.thread", "event_id": root_id, "is_falling_back": True,
                               "m.in_reply_to": {"event_id": root_id}}}
    pdf = report_pdf()

    refused_id = await send_file(carol, room_id, REPORT_NAME, pdf, caption="!add")
    assert body(await carol.reply_to(refused_id)) == ADMINS_ONLY_ADD
    assert not (core.settings.corpus_dir / REPORT_NAME).exists()

    upload_id = await send_file(admin, room_id, REPORT_NAME, pdf, caption="!add", **thread)
    added = await admin.reply_to(upload_id, timeout=120)
    assert body(added).startswith(f"Added {REPORT_NAME}: “{REPORT_TITLE}” (undated, English);")
    assert "passages read" in body(added)
    assert added["content"]["m.relates_to"]["rel_type"] == "m.thread"  # replied in the thread
    question_id = await admin.send(room_id, f"!ask {REPORT_QUESTION}")
    # How soon it answers is bench/upload.py's (a speed goal, not a pass or fail on a shared machine).
    answer = await admin.reply_to(question_id, timeout=120)
    assert REPORT_FACT in body(answer).replace("\n> ", " ")
    record = yaml.safe_load((core.settings.corpus_dir / f"{REPORT_NAME}.yml").read_text())
    assert record["added_by"] == admin.user_id and record["added_in"] == room_id
    assert record["added_from"] == "matrix" and record["added_at"].startswith("20")

    again_id = await send_file(admin, room_id, REPORT_NAME, pdf, caption="!add")
    assert "already in the corpus" in body(await admin.reply_to(again_id))
    replace_id = await send_file(admin, room_id, REPORT_NAME, pdf, caption="!add replace")
    assert body(await admin.reply_to(replace_id, timeout=120)).startswith(f"Replaced {REPORT_NAME}")

    not_yours = await carol.send(room_id, f"!remove {REPORT_NAME}")
    assert body(await carol.reply_to(not_yours)) == ADMINS_ONLY_ADD
    remove_id = await admin.send(room_id, f"!remove {REPORT_NAME}")
    assert body(await admin.reply_to(remove_id, timeout=120)).startswith(f"Removed {REPORT_NAME}")
    assert not (core.settings.corpus_dir / REPORT_NAME).exists()
    assert REPORT_NAME not in {s.doc_id for s in core.sources()}


async def test_a_file_sent_in_an_encrypted_direct_chat_is_added(people, start_bot, make_casebot):
    admin = await people("admin", encrypted=True)
    core = make_casebot()
    bot = await start_bot(core, matrix_admins=(admin.user_id,))
    room_id = await direct_chat(admin, bot, encrypted=True)
    note = ("---\ntitle: Harbour notes\ndate: 2019-05-02\n---\n\nThe harbour master of Vologda keeps a "
            "logbook of every ferry crossing, written in green ink since 1998.\n")
    upload_id = await send_file(admin, room_id, "harbour-notes.md", note.encode(), encrypted=True)
    added = await admin.reply_to(upload_id, timeout=120)
    assert body(added).startswith("Added harbour-notes.md: “Harbour notes” (2019-05-02, English); "
                                  "1 passage read.")
    question_id = await admin.send(room_id, "What colour of ink does the Vologda harbour master use?")
    assert "green ink" in body(await admin.reply_to(question_id, timeout=60))


async def test_a_zip_bomb_named_docx_is_refused_while_the_bot_keeps_answering(people, start_bot,
                                                                              make_casebot):
    admin = await people("admin")
    core = make_casebot()
    bot = await start_bot(core, matrix_admins=(admin.user_id,))
    room_id = await direct_chat(admin, bot)
    bomb_id = await send_file(admin, room_id, BOMB_NAME, zip_bomb_docx())
    question_id = await admin.send(room_id, FSB_QUESTION)
    refused = body(await admin.reply_to(bomb_id, timeout=120))
    assert refused.startswith(f"I did not add {BOMB_NAME}:") and "MAX_UNZIPPED_MIB" in refused
    assert "¶" in body(await admin.reply_to(question_id, timeout=60))
    assert not (core.settings.corpus_dir / BOMB_NAME).exists()
