"""The Matrix adapter: ``bot.py`` (sync loop, replies), ``messages.py`` (reading events),
``policy.py`` (who may invite / administer), ``session.py`` (what survives a restart)."""

from bot.adapters.matrix.bot import LoginFailed, MatrixBot

__all__ = ["LoginFailed", "MatrixBot"]
