"""``shopbot review export``: write the console's NLU corrections as Rasa training data."""

from __future__ import annotations

import argparse

from shopbot.config import PROJECT_ROOT, get_settings

DEFAULT_OUT = PROJECT_ROOT / "bot" / "data" / "nlu" / "corrections.yml"


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the command's options."""
    parser.add_argument(
        "--out",
        default=str(DEFAULT_OUT),
        help="target NLU file (default: bot/data/nlu/corrections.yml)",
    )
    parser.add_argument(
        "--bot-dir",
        default=None,
        help="the Rasa project whose domain and NLU data are checked (default: bot/)",
    )
    parser.add_argument(
        "--console-db", default=None, help="the console database (default: the console_db setting)"
    )


def run(args: argparse.Namespace) -> int:
    """Regenerate the corrections file from every saved correction."""
    from pathlib import Path

    from web.console.db import ConsoleDB
    from web.console.review import export_nlu

    path = args.console_db or get_settings().console_db
    assert path is not None  # Settings derives it from data_dir
    db = ConsoleDB(path)
    try:
        out = Path(args.out)
        bot_dir = (
            Path(args.bot_dir)
            if args.bot_dir
            else (PROJECT_ROOT / "bot" if out == DEFAULT_OUT else out.parent.parent.parent)
        )
        result = export_nlu(db, out, bot_dir)
    finally:
        db.close()
    print(f"wrote {result['written']} corrected examples to {result['path']}")
    for reason in result["skipped"]:
        print(f"  skipped {reason}")
    return 0
