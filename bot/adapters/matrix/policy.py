"""Who may invite the bot and who may run admin commands."""

from __future__ import annotations


def server_of(user_id: str) -> str:
    """The server part of a user id (user ids always have one; room ids may not)."""
    return user_id.split(":", 1)[1] if ":" in user_id else ""


def may_invite(inviter: str, bot_user_id: str, allowed: tuple[str, ...]) -> bool:
    """``allowed`` holds user ids (``@alice:example.org``), servers (``example.org`` or
    ``:example.org``) or ``*``; empty means users of the bot's own homeserver."""
    if not inviter:
        return False
    if not allowed:
        return server_of(inviter) == server_of(bot_user_id)
    for entry in allowed:
        if entry == "*" or entry == inviter:
            return True
        if not entry.startswith("@") and server_of(inviter) == entry.lstrip(":"):
            return True
    return False


def is_admin(user_id: str, admins: tuple[str, ...]) -> bool:
    """Admins are the configured list only, never room power levels: anyone can create a room
    where they hold power level 100, and a rebuild costs the whole bot CPU time."""
    return user_id in admins
