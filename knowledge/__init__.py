"""The shop's knowledge and rules as plain Python: the SQLite store, migrations, business
rules, operations (each one audited transaction), identity checks, importers, the demo
shop, search (``knowledge.search``) and the journeys (``knowledge.journeys``).

Imports allowed: the standard library, sqlite-utils, numpy/faiss (search), sqlalchemy
(reading Rasa's tracker store for privacy requests),
``models.embeddings`` and ``models.generator.tasks`` (lazily, formatting only).
Not here: ``rasa``, ``rasa_sdk``, ``sanic``, ``aiohttp``, ``actions`` or ``web`` (enforced by
``tests/test_package_imports.py``); nothing opens a database or loads a model at import.
"""
