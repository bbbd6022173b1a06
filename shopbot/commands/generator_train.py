"""``shopbot generator train``: train the T5 reply generator and save it with its metrics."""

from __future__ import annotations

import argparse
import json

from shopbot.config import get_settings


def configure(parser: argparse.ArgumentParser) -> None:
    from models.generator.train import add_arguments

    add_arguments(parser)
    parser.epilog = (
        "When it stops: at the step budget (--max-steps), or earlier once the dev split stops "
        "improving (--eval-steps, --patience, --min-delta, --min-loss-delta) or reaches "
        "--target-pass-rate; --max-minutes is only a safety limit, reported in metrics.json "
        "when hit. Same seed and database: same steps and pass rates on any machine. "
        "Fact sets come from the shop database (settings.db_path; synthetic facts when it is "
        "missing) and staff-approved corrections from <data_dir>/corrections/generator_pairs.jsonl. "
        "Output: settings.generator_dir unless --output-dir is given; metrics.json (steps, "
        "stop_reason, dev_history, pass rates) is written last, and a running generator "
        "service loads the model when it appears."
    )


def run(args: argparse.Namespace) -> int:
    from models.generator.train import arguments_from_namespace, main

    settings = get_settings()
    if not args.output_dir:
        args.output_dir = str(settings.generator_dir)
    if not args.db_path:
        args.db_path = str(settings.db_path)
    if not args.corrections_path:
        args.corrections_path = str(settings.data_dir / "corrections" / "generator_pairs.jsonl")
    metrics = main(arguments_from_namespace(args))
    summary = {
        k: metrics[k]
        for k in (
            "model",
            "parameters",
            "steps",
            "kept_step",
            "stop_reason",
            "reproducible",
            "train_seconds",
            "first_candidate_pass_rate",
            "served_model_rate",
            "chrf",
            "eval_fact_sets",
            "fact_origin",
        )
    }
    print(json.dumps(summary, indent=2))
    print(f"saved to {args.output_dir}")
    return 0
