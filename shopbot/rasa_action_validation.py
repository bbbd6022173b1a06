"""Validate action-server replies in Rasa with one validator built at start.

Rasa 3.6 checks every reply of the action server in
``RemoteAction._validate_action_result`` with ``jsonschema.validate(reply, schema)``.
That function first validates the *schema* against its meta-schema and builds a new
validator, on every call; the schema (``RemoteAction.action_response_format_spec()``,
the events schema with its 23-way ``oneOf``) never changes. Under load this took about a
fifth of the Rasa server's CPU (issue 14's profile).

:func:`install` checks the schema once, builds one validator and replaces the method
with one that runs that validator on each reply. Errors are the same as before: the same
validator class, ``jsonschema.exceptions.best_match`` over the same errors, and Rasa's
own hint appended to the message. ``shopbot rasa serve`` calls it before Rasa starts; it
does nothing when ``SHOPBOT_TURN_FIXES`` switches ``validator`` off (bench comparisons).
"""

from __future__ import annotations

import logging
from typing import Any

logger = logging.getLogger(__name__)

_INSTALLED = "_shopbot_compiled_validator"


def build_validator(schema: dict[str, Any]) -> Any:
    """The validator ``jsonschema.validate`` would build for ``schema``, after one check.

    Raises:
        jsonschema.exceptions.SchemaError: If the schema itself is invalid.
    """
    from jsonschema.validators import validator_for

    cls = validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def install() -> bool:
    """Make ``RemoteAction`` validate replies with one prebuilt validator.

    Returns:
        True when installed now or before; False when switched off
        (``SHOPBOT_TURN_FIXES``).
    """
    from shopbot.speedfixes import enabled

    if not enabled("validator"):
        logger.info("action reply validation: Rasa's own (fix switched off)")
        return False
    from jsonschema import ValidationError
    from jsonschema.exceptions import best_match
    from rasa.core.actions.action import RemoteAction
    from rasa.shared.constants import DOCS_BASE_URL

    if getattr(RemoteAction, _INSTALLED, None) is not None:
        return True
    validator = build_validator(RemoteAction.action_response_format_spec())

    def _validate_action_result(self: Any, result: dict[str, Any]) -> bool:
        """Rasa's check of an action-server reply, with the prebuilt validator."""
        error = best_match(validator.iter_errors(result))
        if error is None:
            return True
        if isinstance(error, ValidationError):
            error.message += (
                f". Failed to validate Action server response from API, "
                f"make sure your response from the Action endpoint is valid. "
                f"For more information about the format visit "
                f"{DOCS_BASE_URL}/custom-actions"
            )
        raise error

    RemoteAction._validate_action_result = _validate_action_result
    setattr(RemoteAction, _INSTALLED, validator)
    logger.info("action reply validation: one prebuilt %s", type(validator).__name__)
    return True
