"""Telegram Desktop's "Export chat history" in JSON (``result.json``): one short document per post.

Recognised by content (a JSON object with a "messages" list), not by file name. A post's doc_id is
``<file>#<message id>``, its title "<channel> — post <id>", its date the day it was posted, its author
the sender. Its link is ``https://t.me/<username>/<id>`` when the channel's address is known: from a
"username" key in the export or from the ``url`` of the export's sidecar (``https://t.me/durov``).
Service messages (joins, pins) and posts without text (a photo without caption) are not documents.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass

from index.errors import UnreadableDocument
from index.types import Document


@dataclass(frozen=True)
class Posts:
    documents: tuple[Document, ...]
    left_out: int = 0  # messages after the first ``max_messages``, not read


def read_telegram_export(
    raw: bytes, doc_id: str, salt: bytes = b"", channel_url: str | None = None, max_messages: int = 10_000
) -> Posts:
    """The export's posts with text, from its first ``max_messages`` messages."""
    try:
        export = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UnreadableDocument(f"it is not valid JSON ({exc})".splitlines()[0]) from None
    if not isinstance(export, dict) or not isinstance(export.get("messages"), list):
        raise UnreadableDocument('it is JSON, but not a Telegram chat export (no "messages" list)')
    name = str(export.get("name") or doc_id)
    username = str(export.get("username") or "").lstrip("@")
    base = channel_url.rstrip("/") if channel_url else (f"https://t.me/{username}" if username else None)
    documents = []
    messages = export["messages"]
    for message in messages[:max_messages]:
        if not isinstance(message, dict) or message.get("type") != "message" or "id" not in message:
            continue
        text = _message_text(message.get("text"))
        if not any(ch.isalnum() for ch in text):
            continue
        identity = json.dumps([name, message], sort_keys=True, ensure_ascii=False).encode("utf-8")
        date = str(message.get("date") or "")
        documents.append(Document(
            doc_id=f"{doc_id}#{message['id']}",
            title=f"{name} — post {message['id']}",
            text=text + "\n",
            content_hash=hashlib.sha256(salt + identity).hexdigest(),
            date=date[:10] if re.match(r"\d{4}-\d{2}-\d{2}", date) else None,
            source=f"Telegram: {name}",
            author=str(message.get("from") or name),
            url=f"{base}/{message['id']}" if base else None,
        ))
    if not documents:
        raise UnreadableDocument("it is a Telegram export without any post that has text")
    return Posts(tuple(documents), max(0, len(messages) - max_messages))


def _message_text(value: object) -> str:
    """A message's text: a string, or a list of strings and entities ({"type": "bold", "text": ...})."""
    if isinstance(value, str):
        text = value
    elif isinstance(value, list):
        text = "".join(
            part if isinstance(part, str) else str(part.get("text", "")) if isinstance(part, dict) else ""
            for part in value
        )
    else:
        return ""
    return text.replace("\r\n", "\n").replace("\r", "\n").strip()
