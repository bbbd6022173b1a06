"""The deployment's secrets: generated once, kept in one owner-only file, never defaulted.

Every secret shopbot needs (Rasa's API token, the customer-token secret shared with the
shop's site, the action server's token, the generator's token, the key that signs
conversation ids) is either set by the operator in the environment (``SHOPBOT_<NAME>``)
or generated here with a CSPRNG on first start and kept in ``<data_dir>/secrets.json``
(mode 0600, or ``SHOPBOT_SECRETS_FILE``). A known weak or well-known value refuses to start.

:func:`with_secrets` returns settings with every secret filled in; services call it once
at start (``shopbot run all`` resolves them and hands them to its children through the
environment, so every process of one stack shares them). Nothing here is imported by a
shopper-facing path at import time.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import secrets
import stat
from pathlib import Path

from shopbot.config import Settings

logger = logging.getLogger(__name__)

#: Settings field -> what it guards (for messages and ``shopbot config show``).
SECRET_FIELDS: dict[str, str] = {
    "rasa_token": "Rasa's HTTP API (held by the web app and the console)",
    "customer_token_secret": "customer tokens signed by the shop's site",
    "action_server_token": "calls from Rasa to the action server",
    "generator_token": "calls to the generator service",
    "session_secret": "conversation ids issued by the web app",
}
MIN_CHARS = 24
#: Values that appeared in docs, examples or earlier releases: never accepted.
KNOWN_WEAK = frozenset(
    {
        "dev-only-change-me",
        "dev-only-rasa-token",
        "test-rasa-token",
        "test-customer-token-secret",
        "changeme",
        "change-me",
        "secret",
        "password",
        "token",
        "rasa",
        "shopbot",
    }
)


class SecretError(RuntimeError):
    """A secret is missing, weak or its file is unsafe (the message says how to fix it)."""


def secrets_path(settings: Settings) -> Path:
    """Where generated secrets live (``SHOPBOT_SECRETS_FILE`` or ``<data_dir>/secrets.json``)."""
    value = os.environ.get("SHOPBOT_SECRETS_FILE")
    return Path(value).expanduser() if value else Path(settings.data_dir) / "secrets.json"


def check_secret(name: str, value: str) -> None:
    """Refuse a weak or well-known secret.

    Raises:
        SecretError: ``value`` is too short, a known default, or one repeated character.
    """
    env = f"SHOPBOT_{name.upper()}"
    if value.strip().lower() in KNOWN_WEAK or value.lower().startswith("dev-only"):
        raise SecretError(
            f"{env} is a well-known value; unset it to have one generated, or set a random "
            f"value of at least {MIN_CHARS} characters"
        )
    if len(value) < MIN_CHARS or len(set(value)) < 8:
        raise SecretError(
            f"{env} is too weak (at least {MIN_CHARS} characters, not repetitive); "
            "e.g. python -c 'import secrets; print(secrets.token_urlsafe(32))'"
        )


def _read(path: Path) -> dict[str, str]:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        # Readable by others: tighten rather than refuse (the owner keeps access).
        logger.warning("secrets file %s had mode %o; setting it to 600", path, mode)
        os.chmod(path, 0o600)
    try:
        data = json.loads(path.read_text())
    except ValueError as exc:
        raise SecretError(f"secrets file {path} is not valid JSON; fix or remove it") from exc
    if not isinstance(data, dict):
        raise SecretError(f"secrets file {path} must hold a JSON object")
    return {str(k): str(v) for k, v in data.items()}


def _write(path: Path, data: dict[str, str]) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh, indent=1, sort_keys=True)
    os.replace(tmp, path)


def load_or_create(path: Path, names: list[str] | None = None) -> dict[str, str]:
    """Read the secrets file, generating any missing secret (locked against a parallel start).

    Args:
        path: The secrets file (created with mode 0600 when missing).
        names: Which secrets must exist (default: all of :data:`SECRET_FIELDS`).

    Returns:
        Name -> value for every secret in the file.
    """
    names = list(names or SECRET_FIELDS)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(f".{path.name}.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        data = _read(path) if path.exists() else {}
        missing = [n for n in names if not data.get(n)]
        if missing:
            for name in missing:
                data[name] = secrets.token_urlsafe(32)
            _write(path, data)
            logger.info("generated %d secret(s) in %s", len(missing), path)
    return data


def with_secrets(settings: Settings, create: bool = True) -> Settings:
    """``settings`` with every secret filled in and checked.

    A secret set in the environment (or passed explicitly) wins; the others come from the
    secrets file, which is created with fresh random values when ``create`` is true.

    Raises:
        SecretError: A secret is weak, or missing while ``create`` is false.
    """
    values = {name: str(getattr(settings, name) or "") for name in SECRET_FIELDS}
    missing = [n for n, v in values.items() if not v]
    if missing:
        path = secrets_path(settings)
        if not create and not path.exists():
            raise SecretError(
                f"no value for {', '.join(missing)}: set SHOPBOT_<NAME> or start "
                "`shopbot run all` once to generate them"
            )
        stored = load_or_create(path, missing) if create else _read(path)
        for name in missing:
            values[name] = stored.get(name, "")
            if not values[name]:
                raise SecretError(f"{name} is missing from {path}")
    for name, value in values.items():
        check_secret(name, value)
    return settings.with_overrides(**values)


def secrets_env(settings: Settings) -> dict[str, str]:
    """The environment variables that hand resolved secrets to child processes."""
    return {f"SHOPBOT_{name.upper()}": str(getattr(settings, name)) for name in SECRET_FIELDS}


def describe(settings: Settings) -> dict[str, str]:
    """Where each secret comes from (never its value), for ``shopbot config show``."""
    path = secrets_path(settings)
    stored: dict[str, str] = {}
    with contextlib.suppress(OSError, SecretError):
        stored = _read(path) if path.exists() else {}
    out = {"secrets_file": f"{path} ({'present' if path.exists() else 'created on first start'})"}
    for name in SECRET_FIELDS:
        if os.environ.get(f"SHOPBOT_{name.upper()}"):
            where = "from the environment"
        elif name in stored:
            where = "in the secrets file"
        else:
            where = "generated on first start"
        out[name] = f"*** ({where})"
    return out


def settings_for_command(command: str, settings: Settings | None = None) -> Settings | None:
    """Settings with secrets for a service command, or ``None`` after saying why it can't start.

    Args:
        command: The command's name for the message (``"shopbot web serve"``).
        settings: Base settings (default: from the environment).
    """
    from shopbot.config import get_settings

    try:
        return with_secrets(settings or get_settings())
    except SecretError as exc:
        print(f"{command}: {exc}")
        return None
