"""What the Matrix bot keeps between runs, in ``MATRIX_STORE_DIR/session.json``.

The access token and device id (so a restart does not log in again and create a new device), the
sync token (so a restart resumes where it stopped and never re-answers), and the rooms already
told that the bot cannot read encrypted messages (so that notice is posted once). The file holds
a credential: it is written atomically with mode 0600.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from index.store.atomic import write_atomic

log = logging.getLogger(__name__)

FILENAME = "session.json"


@dataclass(frozen=True)
class Session:
    homeserver: str = ""
    user_id: str = ""
    device_id: str = ""
    access_token: str = field(default="", repr=False)
    next_batch: str = ""
    encryption_notice_rooms: tuple[str, ...] = ()

    def belongs_to(self, homeserver: str, user_id: str) -> bool:
        return self.homeserver.rstrip("/") == homeserver.rstrip("/") and self.user_id == user_id


class SessionStore:
    """Loads and saves one ``Session``; every save replaces the file atomically."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.path = self.directory / FILENAME
        self.session = Session()

    def load(self) -> Session:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            raw["encryption_notice_rooms"] = tuple(raw.get("encryption_notice_rooms", ()))
            known = {k: v for k, v in raw.items() if k in Session.__dataclass_fields__}
            self.session = Session(**known)
        except FileNotFoundError:
            self.session = Session()
        except (OSError, ValueError, TypeError) as error:
            log.warning(
                "ignoring unreadable Matrix session file %s (%s); logging in afresh", self.path, error
            )
            self.session = Session()
        return self.session

    def update(self, **changes: object) -> Session:
        self.session = replace(self.session, **changes)  # type: ignore[arg-type]
        self._write()
        return self.session

    def _write(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        data = asdict(self.session)
        data["encryption_notice_rooms"] = list(self.session.encryption_notice_rooms)
        write_atomic(self.path, json.dumps(data, indent=1), mode=0o600)
