"""Leaf commands of the ``shopbot`` CLI: each module has ``configure(parser)`` and ``run(args)``."""
