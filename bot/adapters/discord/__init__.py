"""The Discord adapter: a discord.py bot in front of :class:`bot.service.CaseBot`.

One idea per module: ``client`` (the Bot subclass and its setup), ``commands`` (the slash
commands), ``mentions`` (answering a mention), ``delivery`` (sending a rendered answer), ``views``
(the persistent feedback buttons). ``bot.adapters.discord_bot`` is the entry point the CLI calls.
"""
