"""Staff accounts, password hashing (argon2id), login lockout, sessions and CSRF tokens."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import re
import secrets
import time
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from web.console.db import ConsoleDB

logger = logging.getLogger(__name__)

ROLES = ("agent", "admin")
MAX_FAILURES = 5
FAILURE_WINDOW_S = 15 * 60
LOCKOUT_S = 15 * 60
# Password spraying across many accounts from one address: refuse further attempts.
MAX_FAILURES_PER_ADDRESS = 30
SESSION_IDLE_S = 8 * 3600
SESSION_MAX_S = 24 * 3600
MIN_PASSWORD_CHARS = 10
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_hasher = PasswordHasher()
# Verified against when the e-mail is unknown, so both paths cost the same time.
_DUMMY_HASH = _hasher.hash("not-a-real-password-" + secrets.token_hex(8))


class AuthError(Exception):
    """A login or account operation was refused (message is safe to show)."""


@dataclass(frozen=True)
class Staff:
    """A signed-in staff member."""

    id: int
    email: str
    role: str

    @property
    def is_admin(self) -> bool:
        """Whether the member may manage users, reveal data and export."""
        return self.role == "admin"

    @property
    def display_name(self) -> str:
        """Name shown to shoppers: the part of the e-mail before the @, capitalised."""
        return self.email.split("@", 1)[0].replace(".", " ").title()


@dataclass(frozen=True)
class Session:
    """A console session (the cookie value itself is never stored)."""

    key: str
    staff: Staff
    csrf: str


def normalise_email(email: str) -> str:
    """Lower-case and strip an e-mail address."""
    return (email or "").strip().lower()


def validate_password(password: str) -> None:
    """Raise :class:`AuthError` if the password is too weak."""
    if len(password or "") < MIN_PASSWORD_CHARS:
        raise AuthError(f"password must have at least {MIN_PASSWORD_CHARS} characters")


def add_staff(db: ConsoleDB, email: str, password: str, role: str = "agent") -> Staff:
    """Create a staff account (argon2id hash).

    Args:
        db: The console database.
        email: Login e-mail (unique, case-insensitive).
        password: Plain password (at least ``MIN_PASSWORD_CHARS`` characters).
        role: ``agent`` or ``admin``.

    Returns:
        The new :class:`Staff`.

    Raises:
        AuthError: Bad e-mail, weak password, unknown role or duplicate account.
    """
    email = normalise_email(email)
    if not _EMAIL_RE.match(email):
        raise AuthError("not a valid e-mail address")
    if role not in ROLES:
        raise AuthError(f"role must be one of {', '.join(ROLES)}")
    validate_password(password)
    if db.one("SELECT id FROM staff WHERE email = ?", (email,)):
        raise AuthError(f"an account for {email} already exists")
    staff_id = db.execute(
        "INSERT INTO staff (email, role, password_hash, created_at) VALUES (?, ?, ?, ?)",
        (email, role, _hasher.hash(password), time.time()),
    )
    logger.info("staff account %s created with role %s", staff_id, role)
    return Staff(staff_id, email, role)


def set_password(db: ConsoleDB, staff_id: int, password: str) -> None:
    """Replace a member's password and end their sessions."""
    validate_password(password)
    with db.transaction() as conn:
        conn.execute(
            "UPDATE staff SET password_hash = ?, failed_count = 0, locked_until = NULL WHERE id = ?",
            (_hasher.hash(password), staff_id),
        )
        conn.execute("DELETE FROM sessions WHERE staff_id = ?", (staff_id,))


def list_staff(db: ConsoleDB) -> list[dict]:
    """All accounts (no hashes)."""
    return db.query(
        "SELECT id, email, role, active, failed_count, locked_until, created_at FROM staff ORDER BY email"
    )


def update_staff(
    db: ConsoleDB,
    staff_id: int,
    *,
    role: str | None = None,
    active: bool | None = None,
    unlock: bool = False,
) -> None:
    """Change a member's role, (de)activate them or lift a lockout."""
    with db.transaction() as conn:
        if role is not None:
            if role not in ROLES:
                raise AuthError("unknown role")
            conn.execute("UPDATE staff SET role = ? WHERE id = ?", (role, staff_id))
        if active is not None:
            conn.execute("UPDATE staff SET active = ? WHERE id = ?", (int(active), staff_id))
            if not active:
                conn.execute("DELETE FROM sessions WHERE staff_id = ?", (staff_id,))
        if unlock:
            conn.execute(
                "UPDATE staff SET failed_count = 0, locked_until = NULL WHERE id = ?", (staff_id,)
            )


def authenticate(
    db: ConsoleDB, email: str, password: str, remote: str | None = None, now: float | None = None
) -> Staff:
    """Check a login; count failures and lock the account after too many.

    ``MAX_FAILURES`` failed attempts within ``FAILURE_WINDOW_S`` lock the account for
    ``LOCKOUT_S`` seconds; while locked even the right password is refused. The error
    message never says whether the account exists.

    Raises:
        AuthError: Wrong credentials, locked or inactive account.
    """
    now = time.time() if now is None else now
    email = normalise_email(email)
    row = db.one("SELECT * FROM staff WHERE email = ?", (email,))
    generic = "wrong e-mail or password"
    if remote:
        from_address = db.one(
            "SELECT COUNT(*) AS n FROM login_attempts WHERE remote = ? AND ok = 0 AND at > ?",
            (remote, now - FAILURE_WINDOW_S),
        )
        if from_address and from_address["n"] >= MAX_FAILURES_PER_ADDRESS:
            logger.warning("login refused: too many failures from one address")
            raise AuthError("too many failed logins from your address; try again later")
    if row is None or not row["active"]:
        with contextlib.suppress(VerificationError):
            _hasher.verify(_DUMMY_HASH, password or "")
        db.execute(
            "INSERT INTO login_attempts (email, at, ok, remote) VALUES (?, ?, 0, ?)",
            (email[:200], now, remote),
        )
        raise AuthError(generic)
    if row["locked_until"] and row["locked_until"] > now:
        db.execute(
            "INSERT INTO login_attempts (email, at, ok, remote) VALUES (?, ?, 0, ?)",
            (email, now, remote),
        )
        minutes = max(1, int((row["locked_until"] - now + 59) // 60))
        raise AuthError(f"too many failed logins: account locked, try again in {minutes} min")
    ok = False
    try:
        ok = _hasher.verify(row["password_hash"], password or "")
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        ok = False
    with db.transaction() as conn:
        conn.execute(
            "INSERT INTO login_attempts (email, at, ok, remote) VALUES (?, ?, ?, ?)",
            (email, now, int(ok), remote),
        )
        if ok:
            conn.execute(
                "UPDATE staff SET failed_count = 0, locked_until = NULL WHERE id = ?", (row["id"],)
            )
            if _hasher.check_needs_rehash(row["password_hash"]):
                conn.execute(
                    "UPDATE staff SET password_hash = ? WHERE id = ?",
                    (_hasher.hash(password), row["id"]),
                )
        else:
            failures = conn.execute(
                "SELECT COUNT(*) FROM login_attempts WHERE email = ? AND ok = 0 AND at > ?",
                (email, max(now - FAILURE_WINDOW_S, row["locked_until"] or 0)),
            ).fetchone()[0]
            locked_until = now + LOCKOUT_S if failures >= MAX_FAILURES else None
            conn.execute(
                "UPDATE staff SET failed_count = ?, locked_until = ? WHERE id = ?",
                (failures, locked_until, row["id"]),
            )
            if locked_until:
                logger.warning(
                    "staff account %s locked after %s failed logins", row["id"], failures
                )
    if not ok:
        raise AuthError(generic)
    return Staff(row["id"], row["email"], row["role"])


def _key(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_session(db: ConsoleDB, staff: Staff, now: float | None = None) -> tuple[str, Session]:
    """Start a session; returns the cookie value (256 random bits) and the session."""
    now = time.time() if now is None else now
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    db.execute(
        "INSERT INTO sessions (id, staff_id, csrf, created_at, last_seen, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
        (_key(token), staff.id, csrf, now, now, now + SESSION_MAX_S),
    )
    return token, Session(_key(token), staff, csrf)


def load_session(db: ConsoleDB, token: str | None, now: float | None = None) -> Session | None:
    """The session for a cookie value, or None if unknown, expired, idle or deactivated."""
    if not token or len(token) > 200:
        return None
    now = time.time() if now is None else now
    row = db.one(
        "SELECT s.id, s.csrf, s.last_seen, s.expires_at, st.id AS staff_id, st.email, st.role, st.active "
        "FROM sessions s JOIN staff st ON st.id = s.staff_id WHERE s.id = ?",
        (_key(token),),
    )
    if row is None:
        return None
    if not row["active"] or row["expires_at"] < now or row["last_seen"] + SESSION_IDLE_S < now:
        db.execute("DELETE FROM sessions WHERE id = ?", (row["id"],))
        return None
    if now - row["last_seen"] > 60:
        db.execute("UPDATE sessions SET last_seen = ? WHERE id = ?", (now, row["id"]))
    return Session(row["id"], Staff(row["staff_id"], row["email"], row["role"]), row["csrf"])


def end_session(db: ConsoleDB, session: Session) -> None:
    """Log out."""
    db.execute("DELETE FROM sessions WHERE id = ?", (session.key,))


def csrf_ok(expected: str | None, given: str | None) -> bool:
    """Constant-time comparison of CSRF tokens (both must be non-empty)."""
    if not expected or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())
