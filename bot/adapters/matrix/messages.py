"""Reading Matrix message events: is the bot addressed, and with what request?

Pure functions over the raw event JSON (``event.source`` in matrix-nio), so they are easy to test
and independent of the client library. Room ids are never parsed: in room version 12 they have
no ``:server`` part.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from bot.conversation import Place

COMMANDS = ("ask", "sources", "help", "reindex", "add", "remove")


@dataclass(frozen=True)
class Request:
    """What a message asks of the bot: ``command`` is one of COMMANDS or an unknown name."""

    command: str
    argument: str = ""

    @property
    def known(self) -> bool:
        return self.command in COMMANDS


@dataclass(frozen=True)
class FileOffer:
    """A file sent to be added to the documents: ``url`` (mxc) in a plain room, ``encrypted`` (the
    content's ``file``: url, key, iv, hashes) in an encrypted one."""

    name: str
    url: str | None
    encrypted: Mapping[str, Any] | None
    size: int | None
    replace: bool


def file_offer(event: Mapping[str, Any], bot_user_id: str, direct: bool) -> FileOffer | None:
    """A file whose caption is ``!add`` (``!add replace``), or any file in a direct chat; else None.

    A media caption is the ``body`` when it differs from ``filename`` (the file's name then)."""
    if event.get("type") != "m.room.message" or event.get("sender") == bot_user_id:
        return None
    content = event.get("content") or {}
    if content.get("msgtype") != "m.file" or not isinstance(content.get("body"), str):
        return None
    body = content["body"].strip()
    filename = content.get("filename") if isinstance(content.get("filename"), str) else None
    caption = body if filename and body != filename else ""
    words = caption.casefold().split()
    if words[:1] != ["!add"] and not direct:
        return None
    encrypted = content.get("file") if isinstance(content.get("file"), Mapping) else None
    url = content.get("url") if isinstance(content.get("url"), str) else None
    info = content.get("info") if isinstance(content.get("info"), Mapping) else {}
    size = info.get("size") if isinstance(info.get("size"), int) else None
    return FileOffer(filename or body, url, encrypted, size, words[:2] == ["!add", "replace"])


def is_question_candidate(event: Mapping[str, Any], bot_user_id: str) -> bool:
    """A plain text message from someone else that is not an edit: everything else is ignored.

    Notices are never answered (bots, including this one, send notices), nor emotes, media, edits
    or redactions.
    """
    if event.get("type") != "m.room.message" or event.get("sender") == bot_user_id:
        return False
    content = event.get("content") or {}
    if content.get("msgtype") != "m.text" or not isinstance(content.get("body"), str):
        return False
    relation = content.get("m.relates_to") or {}
    return "m.new_content" not in content and relation.get("rel_type") != "m.replace"


def strip_reply_fallback(body: str) -> str:
    """Drop the ``> <@user> quoted text`` lines that older clients put before a reply."""
    lines = body.split("\n")
    if not lines or not lines[0].startswith("> "):
        return body
    index = 0
    while index < len(lines) and lines[index].startswith(">"):
        index += 1
    return "\n".join(lines[index:]).strip()


def _names(bot_user_id: str, display_names: tuple[str, ...]) -> list[str]:
    localpart = bot_user_id[1:].split(":", 1)[0]  # user ids always have a server part
    names = [bot_user_id, *display_names, localpart]
    unique: list[str] = []
    for name in names:
        if name and name.casefold() not in {u.casefold() for u in unique}:
            unique.append(name)
    return sorted(unique, key=len, reverse=True)  # longest first, so "@bot:server" beats "bot"


def _pill_targets(formatted_body: str) -> set[str]:
    """User ids linked with matrix.to or matrix: URIs (pills) in an HTML body."""
    targets = set()
    for href in re.findall(r"""href\s*=\s*["']([^"']+)["']""", formatted_body, flags=re.IGNORECASE):
        href = unquote(href)
        match = (re.match(r"https://matrix\.to/#/(@[^/?#\s]+)", href)
                 or re.match(r"matrix:u/([^/?#\s]+)", href))
        if match:
            target = match.group(1)
            targets.add(target if target.startswith("@") else "@" + target)
    return targets


def mentions_bot(content: Mapping[str, Any], bot_user_id: str, display_names: tuple[str, ...]) -> bool:
    """True for an intentional mention, a pill, or the bot's id or name in the text."""
    mentions = content.get("m.mentions")
    if isinstance(mentions, Mapping) and bot_user_id in (mentions.get("user_ids") or []):
        return True
    formatted = content.get("formatted_body")
    if isinstance(formatted, str) and bot_user_id in _pill_targets(formatted):
        return True
    body = strip_reply_fallback(str(content.get("body", "")))
    if bot_user_id.casefold() in body.casefold():
        return True
    names = _names(bot_user_id, display_names)
    if _leading_name(body, names) is not None:
        return True  # "casebot: question" addresses the bot even when m.mentions says otherwise
    if isinstance(mentions, Mapping):
        return False  # the sender's client says who is mentioned: trust it (MSC3952)
    return any(_word(name).search(body) for name in names if name != bot_user_id)


def _word(name: str) -> re.Pattern[str]:
    return re.compile(r"(?<![\w@])" + re.escape(name) + r"(?![\w])", re.IGNORECASE)


def _leading_name(body: str, names: list[str]) -> str | None:
    """The name that opens ``body`` as an address (``name:``, ``name,``), if any."""
    for name in names:
        # "casebot: hi" but not "@casebot:example.org" (a user id, maybe someone else's)
        match = re.match(r"\s*@?" + re.escape(name.lstrip("@")) + r"\s*[:,](?=\s|$)\s*", body, re.IGNORECASE)
        if match:
            return body[match.end():]
    return None


def question_text(body: str, bot_user_id: str, display_names: tuple[str, ...]) -> str:
    """The message with the reply fallback and the address to the bot removed."""
    text = strip_reply_fallback(body).strip()
    names = _names(bot_user_id, display_names)
    rest = _leading_name(text, names)
    if rest is None:  # "@casebot what did..."
        alternatives = "|".join(re.escape(name.lstrip("@")) for name in names)
        match = re.match(r"@(?:" + alternatives + r")(?![\w])\s*", text, re.IGNORECASE)
        rest = text[match.end():] if match else None
    if rest is not None:
        text = rest
    text = re.sub(re.escape(bot_user_id), "", text, flags=re.IGNORECASE)
    return text.strip()


def parse_request(content: Mapping[str, Any], bot_user_id: str, display_names: tuple[str, ...],
                  direct: bool) -> Request | None:
    """The request in a message, or None when the message is not for the bot.

    ``!command`` works anywhere; other text is a question when the bot is mentioned or the room is
    a direct chat with it.
    """
    body = str(content.get("body", ""))
    addressed = direct or mentions_bot(content, bot_user_id, display_names)
    text = (
        question_text(body, bot_user_id, display_names) if addressed else strip_reply_fallback(body).strip()
    )
    if text.startswith("!") and len(text) > 1 and not text[1].isspace():
        name, _, argument = text[1:].partition(" ")
        name, _, more = name.partition("\n")
        argument = (more + " " + argument).strip() if more else argument.strip()
        return Request(name.casefold(), argument)
    if addressed:
        return Request("ask", text)
    return None


def conversation_place(room_id: str, event: Mapping[str, Any], direct: bool) -> Place:
    """Where a question belongs in its conversation: a direct chat is one conversation; elsewhere a
    question continues the thread it is in or the message it replies to, or else starts its own."""
    relation = (event.get("content") or {}).get("m.relates_to") or {}
    replied = (relation.get("m.in_reply_to") or {}).get("event_id")
    thread = relation.get("event_id") if relation.get("rel_type") == "m.thread" else None
    continues = tuple(str(e) for e in (replied, thread) if isinstance(e, str) and e)
    own = "direct" if direct else f"thread:{thread}" if thread else str(event.get("event_id"))
    return Place(room_id, own, continues)


def reply_relation(event: Mapping[str, Any]) -> dict[str, Any]:
    """``m.relates_to`` for a reply to ``event``: in its thread when it is in one."""
    reply = {"m.in_reply_to": {"event_id": event["event_id"]}}
    relation = (event.get("content") or {}).get("m.relates_to") or {}
    if relation.get("rel_type") == "m.thread" and relation.get("event_id"):
        return {"rel_type": "m.thread", "event_id": relation["event_id"], "is_falling_back": False, **reply}
    return reply
