"""Follow-up questions through a real Synapse: in a thread, as a reply to an answer, in a direct chat;
never across rooms."""

from __future__ import annotations


import pytest

from tests.support.matrix import direct_chat

pytestmark = pytest.mark.slow

FIRST = "Why did Iran open a criminal case against Pavel Durov?"
FOLLOW_UP = "And who ordered it?"
READ_AS = f"Read as: {FIRST} {FOLLOW_UP}"


async def group_room(person, bot, bystander) -> str:
    room_id = await person.create_room(invite=(bot.user_id, bystander.user_id))
    await bystander.join(room_id)
    await person.membership(room_id, bot.user_id, "join")
    return room_id


def in_thread(root_id: str, latest_id: str) -> dict:
    return {"m.relates_to": {"rel_type": "m.thread", "event_id": root_id, "is_falling_back": True,
                             "m.in_reply_to": {"event_id": latest_id}}}


async def test_a_follow_up_in_a_thread_is_read_with_the_threads_question(people, start_bot):
    alice, carol = await people("alice"), await people("carol")
    bot = await start_bot()
    room_id = await group_room(alice, bot, carol)
    root_id = await alice.send(room_id, f"!ask {FIRST}")
    first = await alice.reply_to(root_id)
    assert "Read as:" not in first["content"]["body"]
    follow_id = await alice.send(room_id, f"!ask {FOLLOW_UP}", **in_thread(root_id, first["event_id"]))
    followed = await alice.reply_to(follow_id)
    assert followed["content"]["body"].startswith(READ_AS)
    assert "<em>Read as:</em>" in followed["content"]["formatted_body"]
    assert followed["content"]["m.relates_to"]["rel_type"] == "m.thread"
    # A new question in the same thread is asked alone.
    new_id = await alice.send(room_id, "!ask What does Yarovaya's law require from network operators?",
                              **in_thread(root_id, followed["event_id"]))
    assert "Read as:" not in (await alice.reply_to(new_id))["content"]["body"]


async def test_a_reply_to_an_answer_is_a_follow_up_and_other_rooms_do_not_share_it(people, start_bot):
    alice, carol = await people("alice"), await people("carol")
    bot = await start_bot()
    room_id = await group_room(alice, bot, carol)
    other_id = await group_room(carol, bot, alice)
    question_id = await alice.send(room_id, f"!ask {FIRST}")
    answer = await alice.reply_to(question_id)
    reply_id = await alice.send(room_id, FOLLOW_UP, **{
        "m.relates_to": {"m.in_reply_to": {"event_id": answer["event_id"]}},
        "m.mentions": {"user_ids": [bot.user_id]}})  # what clients send with a reply
    assert (await alice.reply_to(reply_id))["content"]["body"].startswith(READ_AS)
    # The same words elsewhere, and in the room without a reply, stand alone.
    elsewhere_id = await carol.send(other_id, f"!ask {FOLLOW_UP}")
    plain_id = await alice.send(room_id, f"!ask {FOLLOW_UP}")
    for event_id, person in ((elsewhere_id, carol), (plain_id, alice)):
        assert "Read as:" not in (await person.reply_to(event_id))["content"]["body"]


async def test_in_a_direct_chat_the_next_message_continues_encrypted_too(people, start_bot):
    alice = await people("alice", encrypted=True)
    bot = await start_bot()
    room_id = await direct_chat(alice, bot, encrypted=True)
    first_id = await alice.send(room_id, FIRST)
    await alice.reply_to(first_id)
    follow_id = await alice.send(room_id, FOLLOW_UP)
    assert (await alice.reply_to(follow_id))["content"]["body"].startswith(READ_AS)
