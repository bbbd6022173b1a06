"""Review work that improves the assistant: reviewed flags, tags, NLU and reply corrections.

* NLU corrections are exported by :func:`export_nlu` as Rasa NLU YAML into
  ``bot/data/nlu/corrections.yml`` (``shopbot review export``).
* Approved or corrected replies whose bot event carries generator ``task`` and ``facts``
  become lines ``{"task", "facts", "text"}`` of ``<data_dir>/corrections/generator_pairs.jsonl``,
  read by ``shopbot generator train``.
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
import time
from pathlib import Path

import yaml

from web.console import events as ev
from web.console.db import ConsoleDB
from web.console.masking import CARD_RE, EMAIL_RE, PHONE_RE, STREET_RE
from web.console.tracker import TrackerReader, event_data

logger = logging.getLogger(__name__)

TAG_RE = re.compile(r"^[\w\- ]{1,40}$")
NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]{0,63}$")


class ReviewError(ValueError):
    """A review action was refused (message is safe to show)."""


def set_reviewed(db: ConsoleDB, sender_id: str, staff_id: int, reviewed: bool = True) -> None:
    """Mark a conversation reviewed (or not)."""
    with db.transaction() as conn:
        if reviewed:
            conn.execute(
                "INSERT OR REPLACE INTO reviews (sender_id, reviewed_by, reviewed_at) VALUES (?, ?, ?)",
                (sender_id, staff_id, time.time()),
            )
        else:
            conn.execute("DELETE FROM reviews WHERE sender_id = ?", (sender_id,))
        conn.execute(
            "UPDATE conversations SET reviewed = ? WHERE sender_id = ?", (int(reviewed), sender_id)
        )


def add_tag(db: ConsoleDB, sender_id: str, tag: str, staff_id: int) -> str:
    """Tag a conversation; returns the normalised tag."""
    tag = (tag or "").strip().lower()
    if not TAG_RE.match(tag):
        raise ReviewError("tags are 1-40 letters, digits, spaces, '-' or '_'")
    db.execute(
        "INSERT OR IGNORE INTO tags (sender_id, tag, staff_id, at) VALUES (?, ?, ?, ?)",
        (sender_id, tag, staff_id, time.time()),
    )
    return tag


def remove_tag(db: ConsoleDB, sender_id: str, tag: str) -> None:
    """Remove a tag."""
    db.execute(
        "DELETE FROM tags WHERE sender_id = ? AND tag = ?", (sender_id, (tag or "").strip().lower())
    )


def tags_of(db: ConsoleDB, sender_id: str) -> list[str]:
    """Tags of a conversation."""
    return [
        r["tag"]
        for r in db.query("SELECT tag FROM tags WHERE sender_id = ? ORDER BY tag", (sender_id,))
    ]


def parse_entities(text: str, spec: str) -> list[dict]:
    """Parse ``entity=value`` lines (or a JSON list) into entities found in ``text``.

    Raises:
        ReviewError: A malformed line, bad entity name or a value not in the text.
    """
    spec = (spec or "").strip()
    if not spec:
        return []
    items: list[tuple[str, str]] = []
    if spec.startswith("["):
        try:
            for e in json.loads(spec):
                items.append((str(e["entity"]), str(e["value"])))
        except (ValueError, KeyError, TypeError, RecursionError) as exc:
            raise ReviewError("entities must be a JSON list of {entity, value}") from exc
    else:
        for line in re.split(r"[\n;]+", spec):
            if not line.strip():
                continue
            name, sep, value = line.partition("=")
            if not sep:
                raise ReviewError(f"write entities as entity=value, not {line.strip()!r}")
            items.append((name.strip(), value.strip()))
    out = []
    for name, value in items:
        if not NAME_RE.match(name):
            raise ReviewError(f"bad entity name {name!r}")
        start = text.find(value) if value else -1
        if start < 0:
            raise ReviewError(f"{value!r} is not in the message text")
        out.append({"entity": name, "value": value, "start": start, "end": start + len(value)})
    return out


def save_nlu_correction(
    db: ConsoleDB,
    reader: TrackerReader,
    sender_id: str,
    event_id: int,
    intent: str,
    entities_spec: str,
    staff_id: int,
) -> dict:
    """Save the corrected intent/entities of one shopper message.

    Raises:
        ReviewError: Unknown event, not a user message, bad intent or entities.
    """
    intent = (intent or "").strip()
    if not NAME_RE.match(intent):
        raise ReviewError("choose an intent")
    row = reader.event(sender_id, event_id)
    if row is None or row["type_name"] != "user":
        raise ReviewError("that is not a shopper message of this conversation")
    data = event_data(row)
    text = (data.get("text") or "").strip()
    if not text or text.startswith("/"):
        raise ReviewError("button payloads are not NLU training data")
    entities = parse_entities(text, entities_spec)
    original, _ = ev.user_intent(data)
    db.execute(
        "INSERT INTO nlu_corrections (sender_id, event_id, text, original_intent, intent, entities, staff_id, at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(sender_id, event_id) DO UPDATE SET "
        "intent = excluded.intent, entities = excluded.entities, staff_id = excluded.staff_id, "
        "at = excluded.at, exported_at = NULL",
        (sender_id, event_id, text, original, intent, json.dumps(entities), staff_id, time.time()),
    )
    return {
        "event_id": event_id,
        "intent": intent,
        "entities": entities,
        "original_intent": original,
    }


def corrections_for(db: ConsoleDB, sender_id: str) -> dict[int, dict]:
    """NLU and reply corrections of one conversation, keyed by event id."""
    out: dict[int, dict] = {}
    for r in db.query(
        "SELECT event_id, intent, entities FROM nlu_corrections WHERE sender_id = ?", (sender_id,)
    ):
        out[r["event_id"]] = {"intent": r["intent"], "entities": json.loads(r["entities"])}
    for r in db.query(
        "SELECT event_id, verdict, text, written FROM reply_corrections WHERE sender_id = ?",
        (sender_id,),
    ):
        out[r["event_id"]] = {
            "verdict": r["verdict"],
            "text": r["text"],
            "written": bool(r["written"]),
        }
    return out


# -- training data scrubbing ----------------------------------------------------------------
_PLACEHOLDERS = (
    (EMAIL_RE, "customer@example.com"),
    (CARD_RE, None),
    (PHONE_RE, None),
    (STREET_RE, "1 Example Street"),
)


def scrub(text: str) -> str:
    """Replace personal data with harmless placeholders so training data holds none."""

    def digits(match: re.Match) -> str:
        raw = match.group(0)
        n = len(re.sub(r"\D", "", raw))
        if n < 8:
            return raw
        return "4000 0000 0000 0002" if n >= 13 else "555 0100 0199"

    out = text
    for regex, placeholder in _PLACEHOLDERS:
        out = regex.sub(placeholder if placeholder else digits, out)
    return out


def _annotate(text: str, entities: list[dict]) -> str:
    """Rasa's ``[value](entity)`` markup, after scrubbing personal data."""
    clean = scrub(" ".join(text.replace("[", "(").replace("]", ")").split()))
    spans = []
    taken: list[tuple[int, int]] = []
    for ent in entities:
        value = scrub(str(ent["value"]).replace("[", "(").replace("]", ")"))
        start = clean.find(value)
        if not value or start < 0 or any(s < start + len(value) and start < e for s, e in taken):
            continue
        taken.append((start, start + len(value)))
        spans.append((start, start + len(value), ent["entity"]))
    for start, end, name in sorted(spans, reverse=True):
        clean = f"{clean[:start]}[{clean[start:end]}]({name}){clean[end:]}"
    return clean


def _existing_examples(nlu_dir: Path, skip: Path) -> set[str]:
    """Plain texts of the examples already in the bot's NLU data (other than ``skip``)."""
    texts: set[str] = set()
    for path in sorted(nlu_dir.glob("*.yml")):
        if path.resolve() == skip.resolve():
            continue
        try:
            doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError):
            continue
        for block in doc.get("nlu") or []:
            for line in str(block.get("examples") or "").splitlines():
                line = line.strip().removeprefix("- ").strip()
                plain = re.sub(r"\[([^\]]*)\]\([^)]*\)|\[([^\]]*)\]\{[^}]*\}", r"\1\2", line)
                texts.add(plain.lower())
    return texts


def domain_names(bot_dir: Path) -> tuple[set[str], set[str]]:
    """Intents and entities declared in the bot's domain (empty sets if no domain)."""
    intents: set[str] = set()
    entities: set[str] = set()
    files = [bot_dir / "domain.yml"] + sorted((bot_dir / "domain").glob("*.yml"))
    for path in files:
        if not path.exists():
            continue
        try:
            doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError):
            continue
        for item in doc.get("intents") or []:
            intents.add(next(iter(item)) if isinstance(item, dict) else str(item))
        for item in doc.get("entities") or []:
            entities.add(next(iter(item)) if isinstance(item, dict) else str(item))
    return intents, entities


def export_nlu(db: ConsoleDB, out: Path, bot_dir: Path | None = None) -> dict:
    """Write every saved NLU correction as Rasa NLU YAML (the whole file is regenerated).

    Corrections whose intent (or entity) the domain does not declare, and texts already
    present in the bot's other NLU files, are skipped so ``rasa data validate`` stays clean.
    Personal data in the examples is replaced by placeholders.

    Args:
        db: The console database.
        out: Target file, normally ``bot/data/nlu/corrections.yml``.
        bot_dir: The Rasa project (for its domain and NLU data); defaults to ``out``'s
            grandparent's parent (``bot/``).

    Returns:
        ``{"written": n, "skipped": [reasons], "path": str}``.
    """
    out = Path(out)
    bot_dir = Path(bot_dir) if bot_dir else out.parent.parent.parent
    intents, entity_names = domain_names(bot_dir)
    existing = _existing_examples(out.parent, out) if out.parent.exists() else set()
    rows = db.query("SELECT * FROM nlu_corrections ORDER BY intent, id")
    by_intent: dict[str, list[str]] = {}
    seen: set[str] = set()
    skipped: list[str] = []
    for r in rows:
        if intents and r["intent"] not in intents:
            skipped.append(f"#{r['id']}: intent {r['intent']} not in the domain")
            continue
        ents = [
            e for e in json.loads(r["entities"]) if not entity_names or e["entity"] in entity_names
        ]
        example = _annotate(r["text"], ents)
        plain = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", example).lower()
        if plain in existing or plain in seen:
            skipped.append(f"#{r['id']}: already in the training data")
            continue
        seen.add(plain)
        by_intent.setdefault(r["intent"], []).append(example)
    lines = [
        "# Written by `shopbot review export` from corrections made in the support console.",
        "# Do not edit by hand: the next export regenerates this file.",
        'version: "3.1"',
        "nlu:" if by_intent else "nlu: []",
    ]
    for intent in sorted(by_intent):
        lines.append(f"- intent: {intent}")
        lines.append("  examples: |")
        for example in by_intent[intent]:
            lines.append(f"    - {example}")
    out.parent.mkdir(parents=True, exist_ok=True)
    _atomic_write(out, "\n".join(lines) + "\n")
    db.execute("UPDATE nlu_corrections SET exported_at = ?", (time.time(),))
    written = sum(len(v) for v in by_intent.values())
    logger.info("exported %s NLU corrections to %s (%s skipped)", written, out, len(skipped))
    return {"written": written, "skipped": skipped, "path": str(out)}


def _atomic_write(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)


# -- generator reply corrections ------------------------------------------------------------
def pairs_path(data_dir: Path) -> Path:
    """``<data_dir>/corrections/generator_pairs.jsonl``."""
    return Path(data_dir) / "corrections" / "generator_pairs.jsonl"


def save_reply_verdict(
    db: ConsoleDB,
    reader: TrackerReader,
    data_dir: Path,
    sender_id: str,
    event_id: int,
    verdict: str,
    text: str | None,
    staff_id: int,
) -> dict:
    """Approve or correct a bot reply.

    When the bot event carries the generator's ``task`` and ``facts`` the pair is written
    to the generator's corrections file (a later verdict on the same reply replaces the
    earlier line); otherwise it is only saved in the console.

    Raises:
        ReviewError: Unknown event, not a bot reply, or an empty correction.
    """
    if verdict not in ("approved", "corrected"):
        raise ReviewError("approve or correct")
    row = reader.event(sender_id, event_id)
    if row is None or row["type_name"] != "bot":
        raise ReviewError("that is not a reply of this conversation")
    data = event_data(row)
    original = data.get("text") or ""
    final = original if verdict == "approved" else (text or "").strip()
    if not final:
        raise ReviewError("write the corrected reply")
    if len(final) > 2000:
        raise ReviewError("the reply is too long (2000 characters at most)")
    task, facts = ev.generator_task(data)
    usable = task is not None and facts is not None
    previous = db.one(
        "SELECT * FROM reply_corrections WHERE sender_id = ? AND event_id = ?",
        (sender_id, event_id),
    )
    path = pairs_path(data_dir)
    if usable:
        new_line = {"task": task, "facts": facts, "text": final}
        old_line = (
            {
                "task": previous["task"],
                "facts": json.loads(previous["facts"] or "null"),
                "text": previous["text"],
            }
            if previous and previous["written"]
            else None
        )
        _replace_pair(path, old_line, new_line)
    db.execute(
        "INSERT INTO reply_corrections (sender_id, event_id, verdict, task, facts, original_text, text, written, staff_id, at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(sender_id, event_id) DO UPDATE SET "
        "verdict = excluded.verdict, text = excluded.text, written = excluded.written, "
        "staff_id = excluded.staff_id, at = excluded.at",
        (
            sender_id,
            event_id,
            verdict,
            task,
            json.dumps(facts) if facts is not None else None,
            original,
            final,
            int(usable),
            staff_id,
            time.time(),
        ),
    )
    return {
        "verdict": verdict,
        "text": final,
        "training_pair": usable,
        "path": str(path) if usable else None,
    }


def _replace_pair(path: Path, old: dict | None, new: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if old is not None and path.exists():
        lines = path.read_text(encoding="utf-8").splitlines()
        kept, removed = [], False
        for line in lines:
            try:
                if not removed and json.loads(line) == old:
                    removed = True
                    continue
            except ValueError:
                pass
            kept.append(line)
        kept.append(json.dumps(new, ensure_ascii=False, sort_keys=True))
        _atomic_write(path, "\n".join(kept) + "\n")
        return
    with path.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(new, ensure_ascii=False, sort_keys=True) + "\n")
