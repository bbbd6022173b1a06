"""T5 reply generator: task registry, pair building, tokenizer, training, fact guard,
HTTP service and client. Heavy libraries (torch, transformers) are imported lazily.

Imports allowed: torch, transformers, ctranslate2, aiohttp (service and client),
``shopbot.config``. ``models.generator.tasks`` (task registry, templates, money format)
imports nothing heavy: the journeys and the action adapter use it. Not here: ``rasa``,
``rasa_sdk``, ``actions``, ``web`` or ``knowledge.journeys``.
"""
