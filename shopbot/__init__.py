"""The ``shopbot`` command and what every part shares: settings (``shopbot.config``),
secrets, network helpers, the process supervisor.

Imports allowed: anything of the project (the commands start the web app, the action
server, Rasa and the generator), but only inside the command that needs it, so
``shopbot --help`` stays instant. ``shopbot.config`` imports no other package of the project.
"""

# The one version source: pyproject.toml reads it (dynamic version), `shopbot --version`
# prints it, CHANGELOG.md and the release tag (docs/releasing.md) follow it.
__version__ = "0.1.0"
