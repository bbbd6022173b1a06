"""Staff accounts, argon2 hashes, lockout windows and session expiry."""

from __future__ import annotations

import argparse
import io

import pytest

from web.console import auth
from web.console.db import ConsoleDB


@pytest.fixture
def db(tmp_path):
    d = ConsoleDB(tmp_path / "console.db")
    yield d
    d.close()


def test_passwords_are_stored_as_argon2_hashes(db):
    auth.add_staff(db, " Ann@Shop.Test ", "correct horse battery", "admin")
    row = db.one("SELECT * FROM staff")
    assert row["email"] == "ann@shop.test" and row["password_hash"].startswith("$argon2id$")
    assert "correct horse" not in row["password_hash"]
    assert auth.authenticate(db, "ANN@shop.test", "correct horse battery").role == "admin"


@pytest.mark.parametrize(
    "email, password, role, message",
    [
        ("not-an-email", "long enough pw", "agent", "e-mail"),
        ("a@b.cd", "short", "agent", "at least"),
        ("a@b.cd", "long enough pw", "root", "role"),
    ],
)
def test_bad_accounts_are_refused(db, email, password, role, message):
    with pytest.raises(auth.AuthError, match=message):
        auth.add_staff(db, email, password, role)


def test_duplicate_account_refused(db):
    auth.add_staff(db, "a@b.cd", "long enough pw")
    with pytest.raises(auth.AuthError, match="already exists"):
        auth.add_staff(db, "A@B.CD", "long enough pw")


def test_lockout_window_and_expiry(db):
    auth.add_staff(db, "a@b.cd", "long enough pw")
    t = 1_000_000.0
    for i in range(auth.MAX_FAILURES):
        with pytest.raises(auth.AuthError, match="wrong e-mail or password"):
            auth.authenticate(db, "a@b.cd", "nope", now=t + i)
    with pytest.raises(auth.AuthError, match="locked"):
        auth.authenticate(db, "a@b.cd", "long enough pw", now=t + 10)
    # After the lockout the right password works and the counter starts again.
    assert auth.authenticate(db, "a@b.cd", "long enough pw", now=t + auth.LOCKOUT_S + 10)
    with pytest.raises(auth.AuthError, match="wrong"):
        auth.authenticate(db, "a@b.cd", "nope", now=t + auth.LOCKOUT_S + 11)
    assert auth.authenticate(db, "a@b.cd", "long enough pw", now=t + auth.LOCKOUT_S + 12)


def test_failures_spread_out_do_not_lock(db):
    auth.add_staff(db, "a@b.cd", "long enough pw")
    for i in range(auth.MAX_FAILURES + 2):
        with pytest.raises(auth.AuthError, match="wrong"):
            auth.authenticate(
                db, "a@b.cd", "nope", now=1000.0 + i * (auth.FAILURE_WINDOW_S / 2 + 1)
            )
    assert auth.authenticate(
        db, "a@b.cd", "long enough pw", now=1000.0 + 10 * auth.FAILURE_WINDOW_S
    )


def test_unknown_and_deactivated_accounts_get_the_same_answer(db):
    staff = auth.add_staff(db, "a@b.cd", "long enough pw")
    with pytest.raises(auth.AuthError, match="^wrong e-mail or password$"):
        auth.authenticate(db, "nobody@b.cd", "long enough pw")
    auth.update_staff(db, staff.id, active=False)
    with pytest.raises(auth.AuthError, match="^wrong e-mail or password$"):
        auth.authenticate(db, "a@b.cd", "long enough pw")


def test_sessions_expire_and_end(db):
    staff = auth.add_staff(db, "a@b.cd", "long enough pw")
    token, session = auth.create_session(db, staff, now=1000.0)
    assert db.one("SELECT id FROM sessions")["id"] != token  # only a hash is stored
    assert auth.load_session(db, token, now=1001.0).staff.email == "a@b.cd"
    assert auth.load_session(db, token + "x", now=1001.0) is None
    assert auth.load_session(db, token, now=1000.0 + auth.SESSION_IDLE_S + 5) is None
    token, session = auth.create_session(db, staff, now=5000.0)
    auth.end_session(db, session)
    assert auth.load_session(db, token, now=5001.0) is None
    token, _ = auth.create_session(db, staff, now=9000.0)
    auth.update_staff(db, staff.id, active=False)
    assert auth.load_session(db, token, now=9001.0) is None


def test_csrf_compare():
    assert auth.csrf_ok("abc", "abc")
    assert (
        not auth.csrf_ok("abc", "abd")
        and not auth.csrf_ok("", "")
        and not auth.csrf_ok("abc", None)
    )


def test_staff_add_command(tmp_path, monkeypatch, capsys):
    from shopbot.commands import staff_add

    parser = argparse.ArgumentParser()
    staff_add.configure(parser)
    path = tmp_path / "c.db"
    monkeypatch.setattr("sys.stdin", io.StringIO("a-long-password\n"))
    args = parser.parse_args(
        ["boss@shop.test", "--role", "admin", "--password-stdin", "--console-db", str(path)]
    )
    assert staff_add.run(args) == 0
    assert "created admin account boss@shop.test" in capsys.readouterr().out
    monkeypatch.setattr("sys.stdin", io.StringIO("a-long-password\n"))
    assert staff_add.run(args) == 1
    assert "already exists" in capsys.readouterr().err
    d = ConsoleDB(path)
    assert d.one("SELECT role FROM staff")["role"] == "admin"
    d.close()


def test_password_spraying_from_one_address_is_refused(db):
    auth.add_staff(db, "a@b.cd", "long enough pw")
    for i in range(auth.MAX_FAILURES_PER_ADDRESS):
        with pytest.raises(auth.AuthError, match="wrong"):
            auth.authenticate(db, f"user{i}@b.cd", "guess", remote="10.0.0.9", now=1000.0 + i)
    with pytest.raises(auth.AuthError, match="from your address"):
        auth.authenticate(db, "a@b.cd", "long enough pw", remote="10.0.0.9", now=1100.0)
    assert auth.authenticate(db, "a@b.cd", "long enough pw", remote="10.0.0.10", now=1100.0)
