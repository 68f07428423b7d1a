"""The Discord adapter: a discord.py bot in front of :class:`bot.service.CaseBot`.

One job per module: ``client`` (the Bot subclass and its setup), ``commands`` (the slash
commands), ``mentions`` (answering a mention), ``delivery`` (sending a rendered answer), ``views``
(the persistent feedback buttons), ``host`` (what those parts need from the bot, so none of them
imports ``client``), ``run`` (the entry points the CLI calls).
"""
