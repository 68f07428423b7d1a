"""The Matrix bot end to end: a real Synapse, a real index, and people talking to the bot with
matrix-nio. Each test uses fresh users and rooms."""

from __future__ import annotations

import asyncio
import html
import logging
import re

import pytest

from bot.render.wording import ENCRYPTED_NOTICE, GREETING
from tests.support.matrix import direct_chat, in_reply_to

pytestmark = pytest.mark.slow

FSB_QUESTION = "What did the FSB demand from Telegram?"
OFF_TOPIC = "What is the best pizza recipe in Naples?"


def text_of(formatted_body: str) -> str:
    """The text a reader sees in an HTML body."""
    return html.unescape(re.sub(r"<[^>]+>", "", formatted_body.replace("<br>", "\n")))


def assert_is_answer(reply: dict, article_text: str) -> None:
    """A notice replying with verbatim quotes from the article, bold highlights and attribution."""
    content = reply["content"]
    assert content["msgtype"] == "m.notice"
    assert content["m.mentions"] == {}
    assert content["format"] == "org.matrix.custom.html"
    formatted = content["formatted_body"]
    quotes = re.findall(r'<blockquote dir="auto">(.*?)</blockquote>', formatted, flags=re.S)
    assert quotes, formatted
    for quote in quotes:
        assert "<strong>" in quote
        assert text_of(quote) in article_text  # verbatim
        for highlight in re.findall(r"<strong>(.*?)</strong>", quote, flags=re.S):
            assert text_of(highlight) in article_text
    assert "Iran Joins Russia’s FSB In Fight Against Internet Freedoms, 2017-09-28" in text_of(formatted)
    assert "¶ " in content["body"]


async def group_room(person, bot, bystander) -> str:
    """A room with the person, the bot and a third member (so it is not a direct chat)."""
    room_id = await person.create_room(invite=(bot.user_id, bystander.user_id))
    await bystander.join(room_id)
    await person.membership(room_id, bot.user_id, "join")
    return room_id


async def answer_to_invite(person, room_id: str, user_id: str, skip: tuple[str, ...] = (),
                           timeout: float = 30.0) -> dict:
    """The membership event (join or leave) by which ``user_id`` answered an invite to ``room_id``,
    as ``person`` saw it; events in ``skip`` are earlier answers. Fails with a clear message when
    no answer comes."""
    def answers(room: str, event: dict) -> bool:
        return (room == room_id and event.get("type") == "m.room.member" and event.get("state_key") == user_id
                and event["content"].get("membership") in ("join", "leave") and event["event_id"] not in skip)
    try:
        return await person.wait_for(answers, timeout)
    except TimeoutError:
        pass  # failed below, outside the handler, so the report is this one line
    pytest.fail(f"{user_id} neither joined nor declined {room_id} within {timeout:g} s of the invite")


# -- invites ---------------------------------------------------------------------------------------
async def test_joins_when_invited_by_a_user_of_its_server_and_greets(people, start_bot):
    alice = await people("alice")
    bot = await start_bot()
    room_id = await alice.create_room(invite=(bot.user_id,))
    assert ":" not in room_id  # room version 12: no server part, and that must not matter
    await alice.membership(room_id, bot.user_id, "join")
    greeting = await alice.wait_for(lambda r, e: r == room_id and e.get("sender") == bot.user_id
                                    and e.get("type") == "m.room.message")
    assert greeting["content"]["body"] == GREETING
    assert greeting["content"]["msgtype"] == "m.notice"


async def test_declines_invites_from_users_not_allowed(people, start_bot):
    alice = await people("alice")
    friend = await people("friend")
    bot = await start_bot(matrix_allowed_inviters=(friend.user_id,))
    refused = await alice.create_room(invite=(bot.user_id,))
    accepted = await friend.create_room(invite=(bot.user_id,))
    refusal = await answer_to_invite(alice, refused, bot.user_id)
    assert refusal["content"]["membership"] == "leave", "joined a room it was invited to by a stranger"
    assert refusal["sender"] == bot.user_id  # declined by the bot, not withdrawn by alice
    acceptance = await answer_to_invite(friend, accepted, bot.user_id)
    assert acceptance["content"]["membership"] == "join", "declined an allowed inviter"


async def test_joins_rooms_it_was_invited_to_while_offline(people, start_bot):
    alice = await people("alice")
    bot_first = await start_bot()
    await bot_first.stop()
    room_id = await alice.create_room(invite=(bot_first.user_id,))
    await start_bot()
    answer = await answer_to_invite(alice, room_id, bot_first.user_id)
    assert answer["content"]["membership"] == "join" and answer["sender"] == bot_first.user_id


# -- asking ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("form", ["user id", "display name", "pill"])
async def test_answers_when_mentioned(people, start_bot, bot_display_name, article_text, form):
    alice, carol = await people("alice"), await people("carol")
    bot = await start_bot()
    room_id = await group_room(alice, bot, carol)
    if form == "user id":
        question_id = await alice.send(room_id, f"{bot.user_id} {FSB_QUESTION}")
    elif form == "display name":
        question_id = await alice.send(room_id, f"{bot_display_name}: {FSB_QUESTION}")
    else:
        pill = f'<a href="https://matrix.to/#/{bot.user_id}">{bot_display_name}</a>'
        question_id = await alice.send(
            room_id,
            f"{bot_display_name}: {FSB_QUESTION}",
            format="org.matrix.custom.html",
            formatted_body=f"{pill}: {FSB_QUESTION}",
            **{"m.mentions": {"user_ids": [bot.user_id]}},
        )
    reply = await alice.reply_to(question_id)
    assert_is_answer(reply, article_text)
    assert reply["content"]["m.relates_to"] == {"m.in_reply_to": {"event_id": question_id}}


async def test_answers_bang_ask_and_ignores_chatter(people, start_bot, article_text):
    alice, carol = await people("alice"), await people("carol")
    bot = await start_bot()
    room_id = await group_room(alice, bot, carol)
    chatter_id = await alice.send(room_id, "Did anyone read about the FSB and Telegram today?")
    question_id = await alice.send(room_id, f"!ask {FSB_QUESTION}")
    assert_is_answer(await alice.reply_to(question_id), article_text)
    await asyncio.sleep(1.0)
    assert alice.replies_to(chatter_id) == []


async def test_answers_any_message_in_a_direct_chat(people, start_bot, article_text):
    alice = await people("alice")
    bot = await start_bot()
    room_id = await direct_chat(alice, bot)
    question_id = await alice.send(room_id, FSB_QUESTION)
    assert_is_answer(await alice.reply_to(question_id), article_text)


async def test_answers_inside_a_thread(people, start_bot, article_text):
    alice, carol = await people("alice"), await people("carol")
    bot = await start_bot()
    room_id = await group_room(alice, bot, carol)
    root_id = await alice.send(room_id, "Thread about the FSB letters")
    question_id = await alice.send(room_id, f"!ask {FSB_QUESTION}", **{"m.relates_to": {
        "rel_type": "m.thread", "event_id": root_id, "is_falling_back": True,
        "m.in_reply_to": {"event_id": root_id}}})
    reply = await alice.reply_to(question_id)
    assert_is_answer(reply, article_text)
    assert reply["content"]["m.relates_to"] == {"rel_type": "m.thread", "event_id": root_id,
                                                "is_falling_back": False,
                                                "m.in_reply_to": {"event_id": question_id}}


async def test_answers_a_question_in_russian_from_the_english_article(people, start_bot, article_text):
    alice = await people("alice")
    bot = await start_bot()
    room_id = await direct_chat(alice, bot)
    question_id = await alice.send(room_id, "!ask Какие данные Роскомнадзор потребовал от Дурова?")
    assert_is_answer(await alice.reply_to(question_id), article_text)  # quotes stay in English, verbatim


async def test_says_which_languages_it_reads_when_asked_in_another(people, start_bot):
    alice = await people("alice")
    bot = await start_bot()
    room_id = await direct_chat(alice, bot)
    question_id = await alice.send(room_id, "Wann wurde Telegram in Russland gesperrt?")
    reply = (await alice.reply_to(question_id))["content"]
    assert "I read questions in English, Russian and Persian; this one looks like German." in reply["body"]
    assert "<blockquote" not in reply["formatted_body"]


async def test_declines_a_question_naming_what_no_document_mentions(people, start_bot):
    alice = await people("alice")
    bot = await start_bot()
    room_id = await direct_chat(alice, bot)
    question_id = await alice.send(room_id, "What encryption protocol does Signal use?")
    reply = (await alice.reply_to(question_id))["content"]
    assert reply["msgtype"] == "m.notice"
    assert "The documents I have do not mention “Signal”, so I will not guess." in reply["body"]
    assert "<blockquote" not in reply["formatted_body"]


async def test_declines_off_topic_questions_and_says_what_it_covers(people, start_bot):
    alice = await people("alice")
    bot = await start_bot()
    room_id = await direct_chat(alice, bot)
    question_id = await alice.send(room_id, f"{OFF_TOPIC} <b>now</b>")
    reply = (await alice.reply_to(question_id))["content"]
    assert reply["msgtype"] == "m.notice"
    # no answer or no mention of "Naples": a decline either way
    assert "so I will not guess." in reply["body"]
    assert "<blockquote" not in reply["formatted_body"]
    assert "Iran Joins Russia’s FSB In Fight Against Internet Freedoms" in reply["body"]
    assert "&lt;b&gt;now&lt;/b&gt;" in reply["formatted_body"]  # the question is escaped
    assert "<b>" not in reply["formatted_body"]


async def test_rejected_questions_get_the_reason(people, start_bot):
    alice = await people("alice")
    bot = await start_bot()
    room_id = await direct_chat(alice, bot)
    question_id = await alice.send(room_id, "!ask")
    reply = await alice.reply_to(question_id)
    assert reply["content"]["body"] == "The question is empty: ask something about the case."


HOSTILE = """---
title: "<script>alert('title')</script> Leaked memo"
date: 2017-10-02
source: "Evil & Co <img src=x onerror=alert(1)>"
---

The courier pigeon protocol <img src=x onerror=alert(1)> was, per the memo, "<b>never</b>" used by the FSB & friends; pigeons carried the decryption keys on 3 October 2017 </blockquote><script>alert(2)</script>.
"""  # noqa: E501 (one paragraph: a line break would change the passage)


async def test_hostile_corpus_text_is_escaped(people, start_bot, make_casebot):
    core = make_casebot(extra_docs={"hostile.md": HOSTILE})
    alice = await people("alice")
    bot = await start_bot(core)
    room_id = await direct_chat(alice, bot)
    question_id = await alice.send(
        room_id, "Did pigeons carry the decryption keys for the courier pigeon protocol?"
    )
    content = (await alice.reply_to(question_id))["content"]
    formatted = content["formatted_body"]
    assert "&lt;script&gt;alert('title')&lt;/script&gt; Leaked memo" in formatted
    assert "<script" not in formatted and "<img" not in formatted and "<b>" not in formatted
    assert formatted.count('<blockquote dir="auto">') == formatted.count("</blockquote>")
    assert "pigeons carried the decryption keys" in text_of(formatted)
    # plain stays verbatim
    assert "The courier pigeon protocol <img src=x onerror=alert(1)> was" in content["body"]


async def test_sources_help_and_unknown_commands(people, start_bot):
    alice, carol = await people("alice"), await people("carol")
    bot = await start_bot()
    room_id = await group_room(alice, bot, carol)
    sources_id = await alice.send(room_id, "!sources")
    help_id = await alice.send(room_id, "!help")
    unknown_id = await alice.send(room_id, "!frobnicate <now>")
    sources = (await alice.reply_to(sources_id))["content"]
    assert re.search(r"Iran Joins Russia’s FSB In Fight Against Internet Freedoms \(2017-09-28 · English · "
                     r"iran-fsb-telegram-2017\.md · \d+ passages\)", sources["body"])
    assert sources["body"].endswith("Page 1 of 1.")
    assert "!ask" in (await alice.reply_to(help_id))["content"]["body"]
    hint = (await alice.reply_to(unknown_id))["content"]
    assert hint["body"].startswith("I don't know !frobnicate.")
    assert "!help" in hint["body"]


# -- what the bot never answers ---------------------------------------------------------------------
async def test_ignores_its_own_messages_and_other_bots_notices(synapse, people, start_bot, bot_account):
    from tests.support.matrix import Person

    alice, other_bot = await people("alice"), await people("otherbot")
    bot = await start_bot()
    room_id = await group_room(alice, bot, other_bot)
    # The bot's own account, from another device, writes an m.text command: still its own message.
    itself = await Person.login(synapse, bot_account.localpart)
    try:
        await itself.join(room_id)
        own_id = await itself.send(room_id, f"!ask {FSB_QUESTION}")
        notice_id = await other_bot.send(room_id, f"!ask {FSB_QUESTION}", msgtype="m.notice")
        probe_id = await alice.send(room_id, "!help")
        await alice.reply_to(probe_id)
        await asyncio.sleep(1.5)
        assert alice.replies_to(own_id) == [] and alice.replies_to(notice_id) == []
    finally:
        await itself.close()


async def test_restart_answers_nothing_old_and_keeps_its_device(people, start_bot, bot_account, article_text):
    alice = await people("alice")
    first = await start_bot()
    room_id = await direct_chat(alice, first)
    answered_id = await alice.send(room_id, FSB_QUESTION)
    assert_is_answer(await alice.reply_to(answered_id), article_text)
    device = first.bot.store.session.device_id
    devices_before = sorted(d.id for d in (await first.bot.client.devices()).devices)
    assert device in devices_before
    assert await first.stop() == 0
    offline_id = await alice.send(room_id, "Asked while the bot was offline: what did the FSB demand?")

    second = await start_bot()
    assert second.bot.store.session.device_id == device
    devices_after = sorted(d.id for d in (await second.bot.client.devices()).devices)
    assert devices_after == devices_before  # no new device per restart
    probe_id = await alice.send(room_id, "!help")
    await alice.reply_to(probe_id)
    await asyncio.sleep(1.5)
    assert len(alice.replies_to(answered_id)) == 1
    assert alice.replies_to(offline_id) == []


# -- load, limits and admin -------------------------------------------------------------------------
async def test_burst_of_questions_is_fully_answered_when_a_sync_is_limited(people, start_bot, caplog):
    caplog.set_level(logging.INFO, logger="bot.matrix")
    alice, carol = await people("alice"), await people("carol")
    bot = await start_bot(timeline_limit=1)  # every sync holding two events in a room is "limited"
    room_id = await group_room(alice, bot, carol)
    ids = await asyncio.gather(*(alice.send(room_id, "!help") for _ in range(12)))
    for event_id in ids:
        await alice.reply_to(event_id)
    assert "a limited sync left out" in caplog.text
    await asyncio.sleep(1.0)
    assert all(len(alice.replies_to(event_id)) == 1 for event_id in ids)


async def test_rate_limit_answers_politely_once(people, start_bot):
    alice = await people("alice")
    bot = await start_bot(rate_limit_per_minute=2)
    room_id = await direct_chat(alice, bot)
    ids = [await alice.send(room_id, FSB_QUESTION) for _ in range(4)]
    first, second, third = [await alice.reply_to(i) for i in ids[:3]]
    assert '<blockquote dir="auto">' in first["content"]["formatted_body"]
    assert '<blockquote dir="auto">' in second["content"]["formatted_body"]
    assert third["content"]["body"].startswith("You have asked 2 questions in the last minute")
    assert re.search(r"ask again in about \d+ seconds?\.", third["content"]["body"])
    # Told once, not a notice per message: the next question gets a reaction, a quiet "seen".
    reaction = await alice.wait_for(lambda _, e: e.get("type") == "m.reaction"
                                    and e["content"]["m.relates_to"]["event_id"] == ids[3])
    assert reaction["sender"] == bot.user_id and reaction["content"]["m.relates_to"]["key"] == "⏳"
    await asyncio.sleep(1.0)
    assert alice.replies_to(ids[3]) == []


NEW_DOCUMENT = """---
title: Pigeon Post Appendix
date: 2017-11-01
source: Casebot test fixture
---

""" + "\n\n".join(
    f"Appendix paragraph {n}: the carrier pigeons of the {n}th loft delivered sealed letters about "
    f"message encryption keys, and the keepers logged every flight in ledger volume {n}."
    for n in range(1, 241)
)


async def test_reindex_is_admin_only_and_questions_flow_meanwhile(
    people, start_bot, make_casebot, article_text
):
    core = make_casebot()
    alice, admin, carol = await people("alice"), await people("admin"), await people("carol")
    bot = await start_bot(core, matrix_admins=(admin.user_id,))
    room_id = await alice.create_room(invite=(bot.user_id, admin.user_id, carol.user_id))
    await admin.join(room_id)
    await carol.join(room_id)
    await alice.membership(room_id, bot.user_id, "join")

    refused_id = await alice.send(room_id, "!reindex")
    assert "Only the bot's admins" in (await alice.reply_to(refused_id))["content"]["body"]
    assert not core.rebuilding

    (core.settings.corpus_dir / "pigeons.md").write_text(NEW_DOCUMENT, encoding="utf-8")
    reindex_id = await admin.send(room_id, "!reindex")
    started = await alice.reply_to(reindex_id)
    assert started["content"]["body"].startswith("Rebuilding the index in the background")
    during_id = await alice.send(room_id, f"!ask {FSB_QUESTION}")
    during = await alice.reply_to(during_id)
    assert_is_answer(during, article_text)
    done = await alice.wait_for(lambda r, e: in_reply_to(e) == reindex_id
                                and e["content"]["body"].startswith("Index rebuilt"), timeout=300)
    # The question asked during the rebuild was answered before the rebuild finished.
    order = [e["event_id"] for _, e in alice.events]
    assert order.index(during["event_id"]) < order.index(done["event_id"])
    after_id = await alice.send(room_id, "!ask Which ledger volume did the keepers of the 7th loft use?")
    after = (await alice.reply_to(after_id))["content"]
    assert "Pigeon Post Appendix" in after["body"]


# -- encryption, limits, credentials ----------------------------------------------------------------
async def test_answers_in_encrypted_direct_chats_across_restarts(people, start_bot, article_text):
    alice = await people("alice", encrypted=True)
    first = await start_bot()
    room_id = await direct_chat(alice, first, encrypted=True)
    greeting = await alice.wait_for(lambda r, e: r == room_id and e.get("sender") == first.user_id
                                    and e.get("type") == "m.room.message")
    assert greeting["content"]["body"] == GREETING  # encrypted by the bot, decrypted by alice
    question_id = await alice.send(room_id, FSB_QUESTION)
    assert_is_answer(await alice.reply_to(question_id), article_text)
    assert await first.stop() == 0

    await start_bot()  # same device and key store: the room keys survive the restart
    again_id = await alice.send(room_id, f"Once more: {FSB_QUESTION}")
    assert_is_answer(await alice.reply_to(again_id), article_text)
    raw = [e for r, e in alice.events if r == room_id and e.get("type") == "m.room.encrypted"]
    assert raw == []  # everything alice saw there was decryptable


async def test_undecryptable_messages_in_direct_chats_are_explained(people, start_bot):
    alice = await people("alice")
    bot = await start_bot()
    room_id = await direct_chat(alice, bot, encrypted=True)
    garbage = {"algorithm": "m.megolm.v1.aes-sha2", "ciphertext": "AwgAEnAc", "device_id": "TESTDEVICE",
               "sender_key": "abc", "session_id": "def"}
    event_id = await alice.send(room_id, "", event_type="m.room.encrypted", **garbage)
    # encrypted for alice's (non-existent) devices; the relation is clear
    reply = await alice.reply_to(event_id)
    assert reply["type"] == "m.room.encrypted" and reply["sender"] == bot.user_id


async def test_without_encryption_support_encrypted_rooms_get_one_clear_notice(people, start_bot):
    alice = await people("alice")
    bot = await start_bot(matrix_encryption=False)
    room_id = await alice.create_room(invite=(bot.user_id,), encrypted=True)
    await alice.membership(room_id, bot.user_id, "join")
    notice = await alice.wait_for(lambda r, e: r == room_id and e.get("sender") == bot.user_id
                                  and e.get("type") == "m.room.message")
    assert notice["content"]["body"] == ENCRYPTED_NOTICE
    encrypted = {"algorithm": "m.megolm.v1.aes-sha2", "ciphertext": "AwgAEnAc", "device_id": "TESTDEVICE",
                 "sender_key": "abc", "session_id": "def"}
    for _ in range(2):
        await alice.send(room_id, "", event_type="m.room.encrypted", **encrypted)
    probe_id = await alice.send(room_id, "!help")  # plain messages in the room still work
    await alice.reply_to(probe_id)
    await asyncio.sleep(1.0)
    assert len(alice.messages_from(bot.user_id, room_id)) == 2  # the notice and the help


async def test_largest_answer_fits_the_server_event_limit(people):
    """A rendered answer at the size budget is accepted by Synapse (64 KiB event limit)."""
    from bot.answer import Answer
    from bot.render.matrix import CONTENT_BUDGET, render_answer
    from index.types import Passage

    alice = await people("alice")
    room_id = await alice.create_room()
    text = "<Ж & \"quoted\"> " * 6000  # escaping and non-ASCII make the HTML body grow fastest
    passage = Passage("d.md", "Big", "2017-01-01", "Src", None, 1, None, text, 0, len(text), 10, 5000, 1.0)
    rendered = render_answer(Answer("q", True, (passage, passage)))
    assert CONTENT_BUDGET - 2000 < rendered.size <= CONTENT_BUDGET
    content = rendered.content() | {
        "m.mentions": {},
        "m.relates_to": {"m.in_reply_to": {"event_id": "$" + "x" * 43}},
    }
    await alice.send(
        room_id, rendered.body, **{k: v for k, v in content.items() if k not in {"body", "msgtype"}}
    )
    with pytest.raises(AssertionError):  # and the budget is not needlessly small: 8 KB more is refused
        await alice.send(room_id, rendered.body + "x" * 8_000,
                         **{k: v for k, v in content.items() if k not in {"body", "msgtype"}})


async def test_bad_credentials_fail_with_one_clear_line(start_bot, caplog):
    caplog.set_level(logging.INFO, logger="bot.matrix")
    handle = await start_bot(wait=False, matrix_password="wrong password")
    assert await asyncio.wait_for(handle.task, 30) == 2
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and errors[0].exc_info is None
    assert "failed" in errors[0].getMessage() and "MATRIX_PASSWORD" in errors[0].getMessage()


async def test_unreachable_homeserver_is_retried_with_backoff(start_bot, caplog):
    from tests.support.synapse_server import free_port

    caplog.set_level(logging.INFO, logger="bot.matrix")
    handle = await start_bot(wait=False, matrix_homeserver=f"http://127.0.0.1:{free_port()}")
    await asyncio.sleep(2.0)
    assert not handle.task.done()
    assert await handle.stop() == 0
    lines = [r.getMessage() for r in caplog.records if "Cannot reach the Matrix homeserver" in r.getMessage()]
    assert 2 <= len(lines) <= 5  # 0.2 s, 0.4 s, 0.8 s, ...: backing off, not spinning
    assert all(r.exc_info is None for r in caplog.records)
    delays = [float(re.search(r"retrying in ([\d.]+) s", line).group(1)) for line in lines]
    assert delays == sorted(delays)


async def test_access_token_login_uses_the_tokens_device(
    synapse, people, start_bot, bot_account, article_text
):
    from nio import AsyncClient

    setup = AsyncClient(synapse.url, bot_account.user_id)
    login = await setup.login(bot_account.password, device_name="deployed elsewhere")
    await setup.close()  # no logout: the token stays valid
    alice = await people("alice")
    bot = await start_bot(matrix_password="", matrix_access_token=login.access_token)
    assert bot.bot.client.device_id == login.device_id
    assert bot.bot.store.session.access_token == ""  # a configured token is never copied to disk
    room_id = await direct_chat(alice, bot)
    assert_is_answer(await alice.reply_to(await alice.send(room_id, FSB_QUESTION)), article_text)


async def test_rejected_access_token_fails_with_one_clear_line(start_bot, caplog):
    caplog.set_level(logging.INFO, logger="bot.matrix")
    handle = await start_bot(wait=False, matrix_password="", matrix_access_token="syt_not_a_real_token")
    assert await asyncio.wait_for(handle.task, 30) == 2
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "rejected MATRIX_ACCESS_TOKEN" in errors[0].getMessage()


async def test_survives_losing_the_homeserver_and_answers_after_it_returns(start_bot, caplog, article_text):
    """A Synapse of its own, stopped and started again under the running bot."""
    from tests.support.matrix import Person
    from tests.support.synapse_server import Synapse

    caplog.set_level(logging.INFO, logger="bot.matrix")
    server = await asyncio.to_thread(Synapse.start)
    try:
        server.register("lonely", "pw")
        bob = await Person.login(server, "bob")
        bot = await start_bot(matrix_homeserver=server.url, matrix_user_id=server.user_id("lonely"),
                              matrix_password="pw")
        room_id = await direct_chat(bob, bot)
        await bob.close()

        await asyncio.to_thread(server.stop, True)
        await asyncio.sleep(3)
        assert not bot.task.done()
        await asyncio.to_thread(server.resume)
        bob = await Person.login(server, "bob")
        try:
            question_id = await bob.send(room_id, FSB_QUESTION)
            assert_is_answer(await bob.reply_to(question_id), article_text)
        finally:
            await bob.close()
        assert any("Lost the Matrix homeserver" in r.getMessage() for r in caplog.records)
        assert all(r.exc_info is None for r in caplog.records if r.name == "bot.matrix")
        await bot.stop()
    finally:
        await asyncio.to_thread(server.stop)


async def test_rejoins_when_invited_again_after_being_kicked(people, start_bot):
    alice = await people("alice")
    bot = await start_bot()
    room_id = await alice.create_room(invite=(bot.user_id,))
    first = await answer_to_invite(alice, room_id, bot.user_id)
    assert first["content"]["membership"] == "join"
    await alice.client.room_kick(room_id, bot.user_id, reason="testing")
    kick = await answer_to_invite(alice, room_id, bot.user_id, skip=(first["event_id"],))
    assert kick["content"]["membership"] == "leave" and kick["sender"] == alice.user_id
    await alice.client.room_invite(room_id, bot.user_id)
    again = await answer_to_invite(alice, room_id, bot.user_id, skip=(first["event_id"], kick["event_id"]))
    assert again["content"]["membership"] == "join", "did not join again when invited after a kick"


async def test_logged_out_session_logs_in_again_as_a_new_device(synapse, people, start_bot, article_text):
    from nio import AsyncClient

    alice = await people("alice")
    first = await start_bot()
    room_id = await direct_chat(alice, first)
    old = first.bot.store.session
    assert await first.stop() == 0
    other = AsyncClient(synapse.url, old.user_id)  # e.g. the owner ends the session in their client
    other.restore_login(old.user_id, old.device_id, old.access_token)
    await other.logout()
    await other.close()

    second = await start_bot()
    assert second.bot.store.session.device_id not in ("", old.device_id)
    assert_is_answer(await alice.reply_to(await alice.send(room_id, FSB_QUESTION)), article_text)
