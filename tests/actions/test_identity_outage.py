"""An outage is never the shopper's failure: a store error during the identity check
raises (the step fails as a whole and Rasa's RecoveryPolicy reverts it) instead of being
counted as a mismatch (issue 10)."""

from __future__ import annotations

import sqlite3

import pytest

from actions.identity import ValidateIdentityForm
from tests.actions.conftest import form_tracker, run


def test_store_error_is_not_counted_as_a_mismatch(shop, examples, monkeypatch):
    pending = examples["pending"]
    tracker = form_tracker(
        "identity_form",
        {"email": pending["email"]},
        slots={"order_number": pending["order_number"]},
    )

    def locked(*args, **kwargs):
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(shop.store, "get_order", locked)
    with pytest.raises(sqlite3.OperationalError):
        run(ValidateIdentityForm(), tracker)
    assert shop.store.query("SELECT count(*) AS n FROM identity_failures")[0]["n"] == 0
