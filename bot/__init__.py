"""The Rasa project (config, domain, data, conversation tests) and its input channels.

Only ``bot.channels`` is Python: Rasa's REST and Socket.IO channels locked to signed
conversation ids. Imports allowed there: ``rasa``, sanic, socketio, ``shopbot`` (settings,
network helpers), ``knowledge.identity``. Not here: ``actions``, ``web`` or the journeys.
"""
