"""The aiohttp web app: storefront, the chat widget and its history, embed docs, and the
support console (``web.console``).

Imports allowed: aiohttp, jinja2, ``knowledge`` (store methods, operations, identity,
and ``knowledge.journeys.reply`` to read bot messages), ``shopbot`` (settings, network
helpers). Not here: ``actions``, ``rasa`` or ``rasa_sdk`` (Rasa is reached over HTTP), and
no SQL against the shop's tables: the store owns them (``tests/web/test_no_shop_sql.py``).
"""
