"""The whole bench: build a demo shop, start the servers on it, run the conversations.

``shopbot bench conversations`` calls :func:`run_bench`; the end-to-end test runs a
subset through :class:`shopbot.convbench.runner.ConversationRunner` on its session stack.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from shopbot.convbench.conversations import Conversation
from shopbot.convbench.runner import ConversationResult, ConversationRunner, run_conversations

logger = logging.getLogger(__name__)

#: The demo shop's sizes (``shopbot knowledge demo``) and the small one of the tests.
SIZES = {
    "demo": {"products": 2000, "customers": 300, "orders": 2000},
    "small": {"products": 200, "customers": 30, "orders": 200},
}


def build_shop(
    data_dir: Path, size: str = "demo", seed: int = 7, today: date | None = None
) -> dict[str, Any]:
    """Build a demo shop (database + search indexes) into an empty ``data_dir``.

    The history is relative to ``today`` (default: the real date), the date the action
    server's rules use, so return windows and late parcels mean what the scenarios say.

    Returns:
        The build's stats (:func:`knowledge.demo.build_demo`).
    """
    import json

    from knowledge.demo import build_demo
    from knowledge.search import SearchIndexes
    from knowledge.store import Store
    from shopbot.config import get_settings

    settings = get_settings().with_overrides(data_dir=data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    store = Store.open(settings.db_path)  # type: ignore[arg-type]
    try:
        stats = build_demo(
            store,
            seed=seed,
            today=today or date.today(),
            window_days=settings.return_window_days,
            progress=False,
            products=SIZES[size]["products"],
            customers=SIZES[size]["customers"],
            orders=SIZES[size]["orders"],
        )
        SearchIndexes(settings, store).rebuild(progress=False, calibrate=False)
    finally:
        store.close()
    (data_dir / "demo.json").write_text(json.dumps(stats, indent=1, default=str))
    return stats


def copy_shop(source: Path, data_dir: Path) -> None:
    """Copy a built shop's database and indexes (not its conversations) into ``data_dir``."""
    data_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source / "shop.db", data_dir / "shop.db")
    if (source / "indexes").is_dir():
        shutil.copytree(source / "indexes", data_dir / "indexes")


def run_bench(
    conversations: Sequence[Conversation],
    workdir: Path,
    model: Path,
    source: Path | None = None,
    size: str = "demo",
    generator: Path | None = None,
    progress: bool = True,
    say: Callable[[str], None] = logger.info,
    env: dict[str, str] | None = None,
) -> tuple[list[ConversationResult], dict[str, Any]]:
    """Build (or copy) a shop in ``workdir``, start the servers on it, run the conversations.

    Args:
        conversations: What to run.
        workdir: An empty folder for the shop, tracker store and server logs.
        model: The trained Rasa model.
        source: A built shop to copy instead of building the demo shop.
        size: ``demo`` or ``small`` (when building).
        generator: A trained generator to serve (``None``: templates answer).
        progress: Show a progress bar.
        say: Where progress lines go.
        env: Settings for the servers (``SHOPBOT_*``; a file's ``settings``).

    Returns:
        The results and the run's metadata (model, shop, generator, times).
    """
    from knowledge.store import Store
    from shopbot.config import get_settings
    from shopbot.stack import start_stack

    data_dir = workdir / "data"
    started = time.monotonic()
    if source is not None:
        copy_shop(source, data_dir)
        shop = f"copy of {source}"
    else:
        say(f"building the demo shop ({size}) in {data_dir}")
        stats = build_shop(data_dir, size)
        shop = (
            f"demo shop ({size}: {stats['products']} products, {stats['customers']} customers, "
            f"{stats['orders']} orders, history relative to {stats['today']})"
        )
    shop_s = time.monotonic() - started
    say(
        f"starting Rasa ({model.name}), the action server"
        + (" and the generator" if generator else " (no trained generator: templates answer)")
    )
    stack = start_stack(
        data_dir, model=model, generator=generator, start_timeout_s=600, env=env or None
    )
    store = Store.open(data_dir / "shop.db")
    try:
        servers_s = time.monotonic() - started - shop_s
        runner = ConversationRunner(stack, store, window_days=get_settings().return_window_days)
        run_started = time.monotonic()
        results = run_conversations(runner, conversations, progress=progress)
        run_s = time.monotonic() - run_started
    finally:
        store.close()
        stack.stop()
    meta = {
        "model": model.name,
        "shop": shop,
        "generator": str(generator) if generator else "templates (no trained generator)",
        "settings": dict(env or {}),
        "date": date.today().isoformat(),
        "shop_s": round(shop_s, 1),
        "servers_s": round(servers_s, 1),
        "run_s": round(run_s, 1),
        "seconds_per_conversation": round(run_s / len(results), 2) if results else None,
    }
    return results, meta
