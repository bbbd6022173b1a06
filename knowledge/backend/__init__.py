"""The shop backends: the embedded SQLite shop and a connected shop (see :mod:`.base`)."""
