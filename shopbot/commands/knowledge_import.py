"""``shopbot knowledge import``: load products, customers, orders or FAQ from files.

Formats are described in ``docs/import-format.md``. The import is one transaction: any
error changes nothing (unless ``--skip-invalid``). Search indexes are then updated
incrementally for the changed rows.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

logger = logging.getLogger(__name__)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", type=Path, metavar="FILE", help="files to import")
    parser.add_argument(
        "--kind",
        choices=["products", "customers", "orders", "faq"],
        help="what the files hold (default: guessed from the file name or columns)",
    )
    parser.add_argument(
        "--format",
        choices=["csv", "json", "jsonl", "shopify", "yaml"],
        help="file format (default: from the extension; a Shopify export is recognised by its header)",
    )
    parser.add_argument(
        "--skip-invalid",
        action="store_true",
        help="skip bad rows (each reported) instead of failing",
    )
    parser.add_argument("--no-index", action="store_true", help="do not update the search indexes")
    parser.add_argument("--db", type=Path, help="database file (default: settings db_path)")
    parser.add_argument(
        "--max-field-chars",
        type=int,
        default=None,
        help="longest accepted text field (default 20000)",
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")


def run(args: argparse.Namespace) -> int:
    from knowledge.importers import DEFAULT_MAX_FIELD_CHARS, ImportFailed, import_files
    from knowledge.store import Store
    from shopbot.config import get_settings

    settings = get_settings()
    path = Path(args.db) if args.db else Path(settings.db_path)  # type: ignore[arg-type]
    if args.db:
        settings = settings.with_overrides(db_path=path)
    store = Store.open(path)
    try:
        try:
            report = import_files(
                store,
                args.files,
                kind=args.kind,
                fmt=args.format,
                skip_invalid=args.skip_invalid,
                progress=True,
                max_field_chars=args.max_field_chars or DEFAULT_MAX_FIELD_CHARS,
                actor="cli:import",
            )
        except ImportFailed as exc:
            errors = exc.report.errors
            print(f"import failed, nothing was changed ({len(errors)} error(s)):", file=sys.stderr)
            for error in errors:
                print(f"  {error}", file=sys.stderr)
            print(
                "fix the files, or pass --skip-invalid to import the valid rows only",
                file=sys.stderr,
            )
            return 1
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        if args.json:
            print(json.dumps(report.to_dict(), indent=2))
        else:
            print(report.summary())
            if report.errors:
                print(f"{len(report.errors)} row(s) skipped:")
                for error in report.errors:
                    print(f"  {error}")
        if args.no_index:
            return 0
        kinds = {
            k: sorted(set(report.changed.get(k, [])) | set(report.removed.get(k, [])))
            for k in ("products", "faq", "order_items")
        }
        if not any(kinds.values()):
            return 0
        try:
            from knowledge.search import SearchIndexes
        except ImportError as exc:
            logger.warning(
                "search indexes not updated (%s); run `shopbot knowledge index --rebuild`", exc
            )
            return 0
        indexes = SearchIndexes(settings, store)
        for kind, ids in kinds.items():
            if ids:
                indexes.update(kind, ids)
                print(f"search index {kind}: {len(ids)} row(s) updated")
        return 0
    finally:
        store.close()
