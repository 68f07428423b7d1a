"""The Matrix adapter, one job per module: ``client`` (``MatrixBot``: wires the parts, start and
stop), ``login`` (the account's session), ``sync`` (new events, each exactly once), ``rooms``
(invites, greeting, encryption notice), ``commands`` (what to answer), ``delivery`` (sending),
``messages`` (reading events), ``policy`` (who may invite / administer), ``session`` (what
survives a restart), ``network`` (retrying while the server is away), ``run`` (the CLI's entry).
"""

from bot.adapters.matrix.client import MatrixBot
from bot.adapters.matrix.network import LoginFailed

__all__ = ["LoginFailed", "MatrixBot"]
