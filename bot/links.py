"""Links to the quoted place itself, for every renderer and the JSON answer.

* a Telegram post (``https://t.me/<channel>/<id>``): the post's own link;
* a PDF page: the document's address with ``#page=N`` (PDF viewers open that page);
* any other web page: a text fragment (``#:~:text=…``, https://wicg.github.io/scroll-to-text-fragment/)
  of the highlight, so browsers that support it scroll to the quote and mark it; others open the page.

A long highlight is named by its first and last words (``text=start,end``) to keep the link short; every
part is percent-encoded, ``-``, ``,`` and ``&`` included, since they are the directive's own syntax.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit

from index.types import Passage

FRAGMENT_WORDS = 8  # a highlight of more words is named by its first and last EDGE_WORDS
EDGE_WORDS = 4
_TELEGRAM_POST = re.compile(r"^/(?:s/)?[A-Za-z0-9_]{3,}/\d+/?$")


def web_address(url: str | None) -> str | None:
    """``url`` when it is an http(s) address with a host, else None."""
    if not url or any(ch.isspace() for ch in url):
        return None
    parts = urlsplit(url)
    return url if parts.scheme.lower() in ("http", "https") and parts.netloc else None


def is_telegram_post(url: str) -> bool:
    parts = urlsplit(url)
    return parts.netloc.lower() in ("t.me", "telegram.me") and bool(_TELEGRAM_POST.match(parts.path))


def _encode(text: str) -> str:
    return quote(text, safe="").replace("-", "%2D")


def text_directive(highlight: str) -> str | None:
    """``text=…`` naming ``highlight`` (its words as written), or None when it has none."""
    words = highlight.split()
    if not words:
        return None
    if len(words) <= FRAGMENT_WORDS:
        return "text=" + _encode(" ".join(words))
    start, end = " ".join(words[:EDGE_WORDS]), " ".join(words[-EDGE_WORDS:])
    return f"text={_encode(start)},{_encode(end)}"


def quote_link(passage: Passage) -> str | None:
    """The address of the quoted place, or None when the document has no web address."""
    url = web_address(passage.url)
    if url is None:
        return None
    if is_telegram_post(url):
        return url
    base, _, fragment = url.partition("#")
    if passage.page is not None:
        return f"{base}#page={passage.page}"
    directive = text_directive(passage.highlight or passage.text)
    if directive is None:
        return url
    return f"{base}#{fragment.split(':~:', 1)[0]}:~:{directive}"
