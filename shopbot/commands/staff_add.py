"""``shopbot staff add EMAIL --role agent|admin``: create a support-console account."""

from __future__ import annotations

import argparse
import getpass
import sys

from shopbot.config import get_settings


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the command's options."""
    parser.add_argument("email", help="login e-mail of the staff member")
    parser.add_argument(
        "--role",
        choices=("agent", "admin"),
        default="agent",
        help="agents review and reply; admins also manage users, reveal data, export",
    )
    parser.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of standard input (scripts)",
    )
    parser.add_argument(
        "--console-db", default=None, help="the console database (default: the console_db setting)"
    )


def _read_password(args: argparse.Namespace) -> str | None:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        print("no terminal: use --password-stdin", file=sys.stderr)
        return None
    first = getpass.getpass("Password (at least 10 characters): ")
    second = getpass.getpass("Repeat the password: ")
    if first != second:
        print("the passwords differ", file=sys.stderr)
        return None
    return first


def run(args: argparse.Namespace) -> int:
    """Create the account; exit 1 with a message if refused."""
    from web.console.auth import AuthError, add_staff
    from web.console.db import ConsoleDB

    password = _read_password(args)
    if password is None:
        return 1
    path = args.console_db or get_settings().console_db
    assert path is not None  # Settings derives it from data_dir
    db = ConsoleDB(path)
    try:
        staff = add_staff(db, args.email, password, args.role)
    except AuthError as exc:
        print(f"not created: {exc}", file=sys.stderr)
        return 1
    finally:
        db.close()
    print(f"created {staff.role} account {staff.email}")
    return 0
