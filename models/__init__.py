"""Model code (trained artifacts are built by commands and git-ignored).

* ``models.embeddings``: the sentence-transformers wrapper;
* ``models.generator``: the T5 reply generator (tasks, guard, training, service, client);
* ``models.nlu``, ``models.dialogue``: Rasa components (featurizer, recovery policy).

Imports allowed: torch, transformers, sentence-transformers, ``rasa`` (in ``models.nlu``
and ``models.dialogue`` only), ``knowledge`` (data for training and benchmarks).
Not here: ``actions`` or ``web``; heavy libraries are imported lazily.
"""
