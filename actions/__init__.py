"""The rasa-sdk action server: adapters between Rasa and ``knowledge.journeys``.

Each action turns the tracker into a journey's inputs (``actions.adapter``), calls the
journey and sends its Reply. Imports allowed: ``rasa_sdk``, ``knowledge`` (journeys,
identity, store), ``models.generator`` (the client and its templates, in the adapter
only), ``shopbot.config``. Not here: word lists, parsers, country tables, wording of
generated replies, SQL, or any import of ``web``.
"""
