"""Conversation ids: random, signed, hashed at rest; only issued ones are valid."""

from __future__ import annotations

import sqlite3

import pytest

from knowledge.identity import issue_conversation_id
from web.sessions import SessionRegistry

SECRET = "k" * 8 + "0123456789abcdefghijklmnop"


def test_made_up_or_foreign_ids_are_refused(tmp_path):
    reg = SessionRegistry(tmp_path / "web.db", SECRET)
    assert reg.is_valid(issue_conversation_id(SECRET))
    assert not reg.is_valid(issue_conversation_id("another deployment's secret key!!"))
    assert not reg.is_valid("a" * 54)
    assert not reg.is_valid("default")
    with pytest.raises(ValueError):
        SessionRegistry(tmp_path / "web.db", "")
    reg.close()


def test_issue_and_validate(tmp_path):
    reg = SessionRegistry(tmp_path / "web.db", SECRET)
    ids = {reg.issue() for _ in range(50)}
    assert len(ids) == 50 and reg.count() == 50
    sid = next(iter(ids))
    assert reg.is_valid(sid) and reg.is_valid(sid, touch=True)
    flipped = sid[:-1] + ("a" if sid[-1] != "a" else "b")
    for bad in [
        flipped,
        sid + "x",
        "",
        None,
        42,
        "a" * 31,
        "a" * 65,
        "../etc/passwd" * 3,
        "ü" * 40,
    ]:
        assert not reg.is_valid(bad), bad
    reg.close()
    # A new registry on the same file (restart) still knows the ids; the file holds no id.
    again = SessionRegistry(tmp_path / "web.db", SECRET)
    assert again.is_valid(sid)
    again.close()
    dump = "\n".join(sqlite3.connect(tmp_path / "web.db").iterdump())
    assert not any(i in dump for i in ids)
