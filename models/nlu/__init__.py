"""NLU code for the Rasa assistant: the message guard, the sentence-embedding featurizer
and the NLU benchmark.

Imports allowed: ``rasa`` (these are Rasa graph components), ``models.embeddings``,
``knowledge`` (benchmark data only). Not here: ``actions``, ``web`` or ``rasa_sdk``; torch
and sentence-transformers are imported lazily, when a component is trained or loaded.
"""
