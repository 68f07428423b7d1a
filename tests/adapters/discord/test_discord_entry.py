"""The CLI entry points: a missing or wrong token is one clear line and a non-zero exit."""

from __future__ import annotations

import dataclasses

import discord
import pytest

from bot.adapters.discord.client import create_bot
from bot.adapters.discord.run import BAD_TOKEN, NO_TOKEN, main, sync_commands
from bot.service import CaseBot
from bot.settings import Settings, SettingsError


def test_missing_token_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(Settings(discord_token="  ")) == 2
    assert sync_commands(Settings(), None) == 2
    assert capsys.readouterr().err == (NO_TOKEN + "\n") * 2


@pytest.mark.slow
def test_wrong_token_is_one_line_and_exit_1(
        casebot: CaseBot, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    async def rejected(self: discord.Client, token: str) -> None:  # what discord.py raises on HTTP 401
        raise discord.LoginFailure("Improper token has been passed.")

    monkeypatch.setattr(discord.Client, "login", rejected)
    settings = dataclasses.replace(casebot.settings, discord_token="not-a-token")
    assert main(settings, casebot=casebot) == 1
    assert sync_commands(settings, 123) == 1
    assert capsys.readouterr().err == (BAD_TOKEN + "\n") * 2


def test_unreachable_discord_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    async def offline(self: discord.Client, token: str) -> None:
        raise OSError("Network is unreachable")

    monkeypatch.setattr(discord.Client, "login", offline)
    assert sync_commands(Settings(discord_token="x"), None) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("Cannot reach Discord (OSError: Network is unreachable)")


def test_shard_count_below_minus_one_is_refused() -> None:
    with pytest.raises(SettingsError, match="DISCORD_SHARD_COUNT"):
        create_bot(None, Settings(discord_shard_count=-2))  # type: ignore[arg-type]
