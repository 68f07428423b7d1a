"""``python -m bot run matrix``: serve the corpus in Matrix rooms until interrupted."""

from __future__ import annotations

import asyncio
import logging
import signal

from bot.adapters.matrix.client import MatrixBot
from bot.adapters.matrix.network import first_contact_problem
from bot.adapters.matrix.session import SessionStore
from bot.settings import Settings
from index.errors import CasebotError

log = logging.getLogger("bot.matrix")


def main(settings: Settings) -> int:
    """Run the Matrix bot; returns the process exit code (2: bad credentials or configuration)."""
    if not logging.getLogger().handlers:
        logging.basicConfig(
            level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
    if logging.getLogger().getEffectiveLevel() > logging.DEBUG:
        logging.getLogger("nio").setLevel(logging.ERROR)  # its schema warnings would blur our one-line errors
    problem = _first_start_problem(settings)
    if problem is not None:
        log.error("Cannot start the Matrix bot: %s. Check MATRIX_HOMESERVER (the client-API URL).", problem)
        return 2
    from bot.service import CaseBot  # imported here: loading the core pulls in the model libraries

    try:
        casebot = CaseBot(settings)
        casebot.open()
    except CasebotError as error:
        log.error("%s", error)
        return 1
    return asyncio.run(_serve(MatrixBot(settings, casebot)))


def _first_start_problem(settings: Settings) -> str | None:
    """On a first start (no sync position stored for this homeserver) a homeserver that cannot be
    resolved, reached or spoken to is a mistake in the settings: said at once, before the models load.
    A bot that has synced there before retries through outages instead (bot.adapters.matrix.login)."""
    stored = SessionStore(settings.matrix_store_dir).load()
    if stored.next_batch and stored.homeserver.rstrip("/") == settings.matrix_homeserver.rstrip("/"):
        return None
    return first_contact_problem(settings.matrix_homeserver)


async def _serve(bot: MatrixBot) -> int:
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, bot.stop)
    return await bot.run()
