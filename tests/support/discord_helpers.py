"""Assertions shared by the Discord tests."""

from __future__ import annotations

import string

import discord

from bot.render.discord import (
    CONTENT_LIMIT,
    DESCRIPTION_LIMIT,
    EMBED_TOTAL_LIMIT,
    EMBEDS_PER_MESSAGE,
    FOOTER_LIMIT,
    TITLE_LIMIT,
    discord_len,
)


def parse_description(description: str) -> tuple[str, list[str]]:
    """Read a description the way Discord would: (the visible text, the bold runs)."""
    visible: list[str] = []
    bold: list[str] = []
    current: list[str] | None = None
    i = 0
    while i < len(description):
        if description[i] == "\\" and i + 1 < len(description) and description[i + 1] in string.punctuation:
            ch, i = description[i + 1], i + 2
        elif description.startswith("**", i):
            if current is None:
                current = []
            else:
                bold.append("".join(current))
                current = None
            i += 2
            continue
        else:
            ch, i = description[i], i + 1
        visible.append(ch)
        if current is not None:
            current.append(ch)
    assert current is None, "unbalanced bold markers"
    return "".join(visible), bold


def assert_within_discord_limits(content: str, embeds: list[discord.Embed]) -> None:
    assert discord_len(content or "") <= CONTENT_LIMIT
    assert len(embeds) <= EMBEDS_PER_MESSAGE
    total = 0
    for embed in embeds:
        title, description, footer = embed.title or "", embed.description or "", embed.footer.text or ""
        assert discord_len(title) <= TITLE_LIMIT
        assert discord_len(description) <= DESCRIPTION_LIMIT
        assert discord_len(footer) <= FOOTER_LIMIT
        total += discord_len(title) + discord_len(description) + discord_len(footer)
    assert total <= EMBED_TOTAL_LIMIT


def custom_ids(components: list) -> list[str]:
    """Every custom_id in a message's components (raw payloads or discord.py objects)."""
    found: list[str] = []
    for component in components:
        if not isinstance(component, dict):
            component = component.to_dict()
        if "custom_id" in component:
            found.append(component["custom_id"])
        found.extend(custom_ids(component.get("components", [])))
    return found
