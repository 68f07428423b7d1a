"""Reading Matrix events, invite policy and the session file, without a server."""

from __future__ import annotations

import json
import stat

import pytest

from bot.adapters.matrix.messages import (Request, is_question_candidate, mentions_bot, parse_request,
                                          question_text, reply_relation, strip_reply_fallback)
from bot.adapters.matrix.policy import is_admin, may_invite
from bot.adapters.matrix.session import SessionStore

BOT = "@casebot:example.org"
NAMES = ("Casebot",)


def text(body: str, **extra: object) -> dict:
    return {"msgtype": "m.text", "body": body, **extra}


@pytest.mark.parametrize(
    "content",
    [
        text("@casebot:example.org what did the FSB demand?"),
        text("Casebot: what did the FSB demand?"),
        text("casebot, what did the FSB demand?"),
        text("what did the FSB demand? casebot"),  # no m.mentions: the name anywhere counts (old clients)
        text("Casebot: what did the FSB demand?", **{"m.mentions": {}}),  # addressed by name
        text("what did the FSB demand?", **{"m.mentions": {"user_ids": [BOT]}}),
        text(
            "hey what did the FSB demand?",
            format="org.matrix.custom.html",
            formatted_body=('<a href="https://matrix.to/#/%40casebot%3Aexample.org">Casebot</a> '
                            "what did the FSB demand?"),
        ),
    ],
)
def test_mentions_are_recognised(content):
    assert mentions_bot(content, BOT, NAMES)


@pytest.mark.parametrize("content", [
    text("what did the FSB demand?"),
    text("the casebotanist said hi"),
    text("@casebot:elsewhere.org: a namesake on another server"),
    text("I like casebot", **{"m.mentions": {"user_ids": ["@someone:example.org"]}}),  # client says: not us
    text("ask @other:example.org", format="org.matrix.custom.html",
         formatted_body='<a href="https://matrix.to/#/@other:example.org">other</a>'),
])
def test_other_messages_are_not_mentions(content):
    assert not mentions_bot(content, BOT, NAMES)


@pytest.mark.parametrize("body, question", [
    ("@casebot:example.org what did the FSB demand?", "what did the FSB demand?"),
    ("Casebot: what did the FSB demand?", "what did the FSB demand?"),
    ("@casebot what did the FSB demand?", "what did the FSB demand?"),
    ("> <@alice:example.org> earlier\n> text\n\nCasebot: and then?", "and then?"),
    ("what did the FSB demand, @casebot:example.org?", "what did the FSB demand, ?"),
])
def test_question_text_drops_the_address(body, question):
    assert question_text(body, BOT, NAMES) == question


def test_commands_work_anywhere_questions_need_an_address_or_a_direct_chat():
    assert parse_request(text("!ask What did the FSB demand?"), BOT, NAMES, False) == Request(
        "ask", "What did the FSB demand?"
    )
    assert parse_request(text("!SOURCES"), BOT, NAMES, False) == Request("sources")
    assert parse_request(text("Casebot: !help"), BOT, NAMES, False) == Request("help")
    assert parse_request(text("!frobnicate now"), BOT, NAMES, False) == Request("frobnicate", "now")
    assert not Request("frobnicate").known
    assert parse_request(text("What did the FSB demand?"), BOT, NAMES, False) is None
    assert parse_request(text("What did the FSB demand?"), BOT, NAMES, True) == Request(
        "ask", "What did the FSB demand?"
    )
    assert parse_request(text("! not a command"), BOT, NAMES, False) is None
    assert parse_request(text("!ask\nWhat did\nthe FSB demand?"), BOT, NAMES, False) == Request(
        "ask", "What did\nthe FSB demand?"
    )


def test_only_plain_text_from_others_is_considered():
    def event(**overrides: object) -> dict:
        base = {"type": "m.room.message", "sender": "@alice:example.org", "event_id": "$1",
                "content": text("!help")}
        base.update(overrides)
        return base

    assert is_question_candidate(event(), BOT)
    assert not is_question_candidate(event(sender=BOT), BOT)
    assert not is_question_candidate(event(content={"msgtype": "m.notice", "body": "!help"}), BOT)
    assert not is_question_candidate(event(content={"msgtype": "m.image", "body": "x.png"}), BOT)
    assert not is_question_candidate(event(type="m.room.encrypted"), BOT)
    edit = text(
        "* !help",
        **{"m.new_content": text("!help"), "m.relates_to": {"rel_type": "m.replace", "event_id": "$0"}},
    )
    assert not is_question_candidate(event(content=edit), BOT)


def test_replies_go_to_the_question_and_stay_in_its_thread():
    plain = {"event_id": "$q", "content": text("hi")}
    assert reply_relation(plain) == {"m.in_reply_to": {"event_id": "$q"}}
    threaded = {
        "event_id": "$q",
        "content": text("hi", **{"m.relates_to": {"rel_type": "m.thread", "event_id": "$root"}}),
    }
    assert reply_relation(threaded) == {"rel_type": "m.thread", "event_id": "$root", "is_falling_back": False,
                                        "m.in_reply_to": {"event_id": "$q"}}


def test_reply_fallback_is_stripped():
    assert strip_reply_fallback("> <@a:b> quoted\n\nanswer") == "answer"
    assert strip_reply_fallback("no fallback") == "no fallback"


def test_invites_default_to_the_bots_own_server():
    assert may_invite("@alice:example.org", BOT, ())
    assert not may_invite("@mallory:evil.example", BOT, ())
    assert not may_invite("", BOT, ())
    assert may_invite("@mallory:evil.example", BOT, ("@mallory:evil.example",))
    assert may_invite("@bob:partner.org", BOT, ("partner.org",))
    assert may_invite("@bob:partner.org", BOT, (":partner.org",))
    assert not may_invite("@alice:example.org", BOT, ("partner.org",))
    assert may_invite("@anyone:any.where", BOT, ("*",))


def test_admins_are_the_configured_list_only():
    assert is_admin("@admin:example.org", ("@admin:example.org",))
    assert not is_admin("@moderator:example.org", ("@admin:example.org",))
    assert not is_admin("@admin:example.org", ())


def test_session_survives_a_restart_and_is_private(tmp_path):
    store = SessionStore(tmp_path / "store")
    assert store.load().access_token == ""
    store.update(
        homeserver="https://hs", user_id=BOT, device_id="DEV", access_token="secret", next_batch="s1"
    )
    store.update(encryption_notice_rooms=("!room",))
    again = SessionStore(tmp_path / "store").load()
    assert (again.device_id, again.access_token, again.next_batch) == ("DEV", "secret", "s1")
    assert again.encryption_notice_rooms == ("!room",)
    assert again.belongs_to("https://hs/", BOT) and not again.belongs_to("https://other", BOT)
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert "secret" not in repr(again)


def test_unreadable_session_file_means_a_fresh_login(tmp_path):
    (tmp_path / "session.json").write_text("{not json")
    assert SessionStore(tmp_path).load().access_token == ""
    (tmp_path / "session.json").write_text(json.dumps({"access_token": "t", "unknown_key": 1}))
    assert SessionStore(tmp_path).load().access_token == "t"
