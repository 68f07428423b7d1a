"""One connection to Milvus: milvus-lite (a data file) or a server (a URL and a token), its errors
made one line, and a short retry when the server is away.

What was measured (docs/milvus.md): with the server down every call raises pymilvus's
MilvusException code 2 ("Fail connecting to server") at once, and the same client works again once the
server is back; a milvus-lite data file that another process holds raises ConnectionConfigException
("Open local milvus failed"). Both become ``StoreUnavailable``, a one-line error that says the
published index is unchanged.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from index.errors import CasebotError

log = logging.getLogger(__name__)

TRIES = 4  # calls tried while the server is away: 0.5 + 1 + 2 s of waiting between them
FIRST_WAIT = 0.5
LITE_NAME = re.compile(r"^[A-Za-z0-9.\-_]{1,36}$")  # what milvus-lite accepts as a data file's name
# Status codes of the server that mean "not reachable now" (not "your request is wrong").
UNREACHABLE = {2}


class StoreUnavailable(CasebotError):
    """Milvus cannot be reached (or its data file is held by another process); nothing was changed."""


@dataclass(frozen=True)
class MilvusTarget:
    """Where the index lives: ``uri`` is a data file (milvus-lite) or ``http(s)://host:port``."""

    uri: str
    token: str = ""

    @property
    def lite(self) -> bool:
        return not self.uri.startswith(("http://", "https://", "tcp://", "unix:"))

    def check(self) -> None:
        """Raise ValueError when the URI cannot work (said before any model loads)."""
        if not self.uri:
            raise ValueError("MILVUS_URI is empty: a data file such as var/milvus.db (milvus-lite) or a "
                             "server such as http://localhost:19530")
        if self.lite:
            name = Path(self.uri).name
            if not LITE_NAME.match(name) or not name.endswith(".db"):
                raise ValueError(f"MILVUS_URI {self.uri!r}: a milvus-lite data file's name must end in .db, "
                                 "be at most 36 characters and hold only letters, digits, '.', '-' and '_'")

    def __repr__(self) -> str:  # never the token
        return f"MilvusTarget(uri={self.uri!r}, token={'***' if self.token else ''!r})"


def quiet_client_logs() -> None:
    """pymilvus logs a traceback for every failed call, which the store reports in one line itself;
    milvus-lite 2.5.1 imports pkg_resources, which warns that it is deprecated."""
    logging.getLogger("pymilvus").setLevel(logging.CRITICAL)
    # grpc's core prints keepalive notices of milvus-lite's socket ("too_many_pings") on stderr;
    # read when grpc loads, so only where it is not loaded yet.
    os.environ.setdefault("GRPC_VERBOSITY", "NONE")
    warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)


def load_client() -> Any:  # -> the pymilvus module
    """pymilvus, imported with casebot's MILVUS_URI hidden from it: at import it reads MILVUS_URI from the
    environment and from ``.env`` itself and refuses any but an http one, so a milvus-lite file there
    would stop casebot before it connects (tests/index/test_milvus_store.py runs the command line)."""
    quiet_client_logs()
    if "pymilvus" in sys.modules:
        return sys.modules["pymilvus"]
    ours = os.environ.get("MILVUS_URI")
    os.environ["MILVUS_URI"] = ""  # python-dotenv's load_dotenv keeps a variable that is set
    try:
        import pymilvus
    finally:
        if ours is None:
            del os.environ["MILVUS_URI"]
        else:
            os.environ["MILVUS_URI"] = ours
    return pymilvus


def connect(target: MilvusTarget) -> Any:  # -> pymilvus.MilvusClient
    """A client of ``target``; milvus-lite's data folder is made when missing. Raises StoreUnavailable."""
    MilvusClient = load_client().MilvusClient  # noqa: N806 - the class

    if target.lite:
        Path(target.uri).parent.mkdir(parents=True, exist_ok=True)
    try:
        return retrying(target, lambda: MilvusClient(uri=target.uri, token=target.token))
    except RuntimeError as exc:  # milvus-lite refusing the file's name
        raise StoreUnavailable(f"Milvus at {target.uri} cannot be opened: {exc}") from None


QUERY_LIMIT = 16_384  # Milvus's largest limit of one query


def retrying(target: MilvusTarget, call: Callable[[], Any], what: str = "") -> Any:
    """``call()``, tried again while Milvus is unreachable; raises StoreUnavailable after ``TRIES``."""
    from pymilvus.exceptions import ConnectionConfigException, MilvusException

    wait = FIRST_WAIT
    for attempt in range(TRIES):
        try:
            return call()
        except ConnectionConfigException as exc:
            held = "held by another process" if target.lite else "not reachable"
            raise StoreUnavailable(
                f"Milvus at {target.uri} cannot be opened ({held}: {_message(exc)}); the published index "
                f"is unchanged. Run one process per milvus-lite file, or a Milvus server for several"
            ) from None
        except Exception as exc:  # MilvusException code 2, or grpc's own when a call is cut
            away = (isinstance(exc, MilvusException) and exc.code in UNREACHABLE) or _unavailable(exc)
            if not away:
                raise
            if attempt == TRIES - 1:
                during = f" ({what})" if what else ""
                raise StoreUnavailable(
                    f"Milvus at {target.uri} is not reachable{during}: {_message(exc)}; the published "
                    "index is unchanged, try again when it is up"
                ) from None
        log.info("Milvus at %s is not reachable; trying again in %.1f s", target.uri, wait)
        time.sleep(wait)
        wait *= 2
    raise AssertionError("unreachable")


def _unavailable(exc: BaseException) -> bool:
    text = str(exc)
    return "UNAVAILABLE" in text or "Fail connecting to server" in text or "failed to connect" in text


def _message(exc: BaseException) -> str:
    message = getattr(exc, "message", None) or str(exc)
    return " ".join(str(message).split())[:200]
