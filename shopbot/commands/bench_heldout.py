"""``shopbot bench heldout``: a trained Rasa model on the held-out material (bot/eval/heldout).

Prints topic accuracy (macro over request kinds), the in-scope fallback rate and
out-of-scope recall, the weakest kinds, and writes ``bench-results/heldout.json`` (with
every miss) so later changes are compared on the same messages.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from shopbot.config import PROJECT_ROOT


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model",
        default=None,
        help="trained model file (default: the newest bot/models/*.tar.gz)",
    )
    parser.add_argument(
        "--out", default=str(PROJECT_ROOT / "bench-results" / "heldout.json"), help="JSON output"
    )


def run(args: argparse.Namespace) -> int:
    import json

    from models.heldout_eval import load, rasa_predictor, score

    model = args.model
    if model is None:
        models = sorted(
            (PROJECT_ROOT / "bot" / "models").glob("*.tar.gz"), key=lambda p: p.stat().st_mtime
        )
        if not models:
            print("no trained model in bot/models (make rasa-model)")
            return 2
        model = str(models[-1])
    in_scope, oos = load()
    print(
        f"model {Path(model).name}: {len(in_scope)} in-scope and {len(oos)} out-of-scope messages"
    )
    result = score(rasa_predictor(model), in_scope, oos)
    print(f"topic accuracy (macro over request kinds) {result['topic_accuracy_macro']:.3f}")
    print(
        f"conversational kinds (macro)              {result['conversational_accuracy_macro']:.3f}"
    )
    print(f"in-scope messages sent to nlu_fallback    {result['fallback_rate']:.3f}")
    print(f"out-of-scope recall                        {result['oos_recall']:.3f}")
    weakest = sorted(result["per_kind"].items(), key=lambda kv: kv[1])[:8]
    print("weakest kinds: " + ", ".join(f"{k} {v:.2f}" for k, v in weakest))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"model": Path(model).name, **result}, indent=1))
    print(f"written {out}")
    return 0
