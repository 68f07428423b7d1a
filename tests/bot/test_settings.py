"""Settings: .env is read, the environment wins, bad values are one clear error, secrets stay hidden."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import Settings, SettingsError


def test_env_file_is_read_and_the_environment_wins(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(
        "CORPUS_DIR=docs\nTOP_K=5\nDISCORD_THREAD_MODE=yes\nMATRIX_ADMINS=@a:x, @b:x\n", encoding="utf-8"
    )
    settings = Settings.load(env_file, environ={"TOP_K": "7"})
    assert settings.corpus_dir == Path("docs")
    assert settings.top_k == 7
    assert settings.discord_thread_mode is True
    assert settings.matrix_admins == ("@a:x", "@b:x")


def test_defaults_without_any_file(tmp_path: Path) -> None:
    settings = Settings.load(tmp_path / "missing.env", environ={})
    assert settings.corpus_dir == Path("corpus") and settings.index_dir == Path("var/index")
    assert settings.top_k == 3 and settings.embedder == "minilm"
    assert settings.keep_builds == 2 and settings.corpus_watch is False


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [("TOP_K", "three", "TOP_K"), ("TOP_K", "0", "TOP_K"), ("EMBEDDER", "gpt", "EMBEDDER"),
     ("DISCORD_THREAD_MODE", "maybe", "DISCORD_THREAD_MODE"), ("KEEP_BUILDS", "0", "KEEP_BUILDS"),
     ("CORPUS_WATCH", "sometimes", "CORPUS_WATCH")],
)
def test_bad_value_is_one_clear_error(key: str, value: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings.load(None, environ={key: value})


def test_secrets_never_appear_in_the_settings_repr() -> None:
    settings = Settings.load(
        None,
        environ={
            "DISCORD_TOKEN": "discord-secret-123",
            "MATRIX_PASSWORD": "matrix-pw-456",
            "MATRIX_ACCESS_TOKEN": "syt_789",
        },
    )
    text = repr(settings) + str(settings)
    for secret in ("discord-secret-123", "matrix-pw-456", "syt_789"):
        assert secret not in text


def test_env_file_and_built_index_are_ignored_by_git() -> None:
    import shutil
    import subprocess

    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    repo = Path(__file__).resolve().parents[2]
    for path in (".env", "var/index/current", ".venv", ".venv-synapse"):  # the venvs also when symlinks
        assert subprocess.run(["git", "check-ignore", "-q", path], cwd=repo).returncode == 0, path
    assert subprocess.run(["git", "check-ignore", "-q", ".env.example"], cwd=repo).returncode == 1


def test_every_setting_is_documented_in_env_example_with_its_default() -> None:
    import dataclasses

    from tests.support import REPO

    documented = dict(line.split("=", 1) for line in (REPO / ".env.example").read_text().splitlines()
                      if line and not line.startswith("#"))
    defaults = Settings.load(None, environ={})
    for field in dataclasses.fields(Settings):
        key = field.name.upper()
        assert key in documented, key
        assert Settings.load(None, environ={key: documented[key]}) == defaults or documented[key] == "", key
