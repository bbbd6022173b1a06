"""Train the T5 reply generator (in the style of the Hugging Face seq2seq examples).

Dataclass arguments, a fixed seed, an explicit task prefix per task, ``max_train_samples``
and ``max_steps`` for quick runs, a tqdm progress bar, and model + tokenizer + config +
``metrics.json`` saved together. :func:`main` is importable (a test calls it on the tiny
configuration).

When training stops does not depend on the machine: it stops at the step budget
(``max_steps``), or earlier on convergence measured on a fixed held-out dev split of
fact sets (every ``eval_steps`` steps the first-candidate guard pass rate and the
teacher-forced loss on the dev pairs are measured; after ``patience`` evaluations in a
row without improvement it stops, and the best evaluated weights are kept), or once the
dev pass rate reaches ``target_pass_rate``. Wall time (``max_minutes``) is only a safety
limit; when it is hit, ``metrics.json`` says so (``stop_reason: "max_minutes"``,
``reproducible: false``). Same command, same seed, same database: same steps, same
weights and the same pass rates on one torch thread (the default).

From scratch (the default) a tokenizer is trained on the pairs and a small T5 is built
from one of :data:`MODEL_CONFIGS`. With ``base`` a pretrained T5 checkpoint is fine-tuned
instead; its tokenizer gets the placeholder tokens added.
"""

from __future__ import annotations

import json
import logging
import math
import os
import random
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from models.generator import patterns
from models.generator.engine import GUARD_VOCAB_FILE, GeneratorEngine, resolve_device
from models.generator.guard import FactGuard, words_of
from models.generator.pairs import (
    FactSet,
    Pair,
    balanced_sample,
    load_corrections,
    load_fact_sets,
    make_pairs,
    product_titles,
)
from models.generator.tasks import get_task
from models.generator.tokenizer import add_placeholders, train_tokenizer

logger = logging.getLogger(__name__)

#: T5 shapes. ``small`` trains on 2 CPU cores in 10-30 minutes; ``gpu`` is T5-small
#: sized; ``tiny`` is for tests. Encoder and decoder depths are equal: transformers 5.3
#: sizes the generation cache by ``num_layers`` and fails on a deeper decoder.
MODEL_CONFIGS: dict[str, dict[str, Any]] = {
    "tiny": {
        "d_model": 32,
        "d_ff": 64,
        "num_layers": 1,
        "num_decoder_layers": 1,
        "num_heads": 2,
        "d_kv": 16,
    },
    "small": {
        "d_model": 128,
        "d_ff": 384,
        "num_layers": 3,
        "num_decoder_layers": 3,
        "num_heads": 4,
        "d_kv": 32,
    },
    "gpu": {
        "d_model": 512,
        "d_ff": 2048,
        "num_layers": 6,
        "num_decoder_layers": 6,
        "num_heads": 8,
        "d_kv": 64,
    },
}


@dataclass
class TrainArguments:
    """Arguments of a training run.

    Attributes:
        output_dir: Where model, tokenizer, config and metrics go.
        db_path: Shop database to draw fact sets from (synthetic facts when missing).
        corrections_path: Staff-approved corrections (JSONL); ignored when missing.
        config: Model shape from :data:`MODEL_CONFIGS` (ignored with ``base``).
        base: Pretrained T5 checkpoint folder to fine-tune instead of training from scratch.
        device: ``cpu``, ``cuda`` or ``auto``.
        seed: Random seed (data, initialisation, sampling).
        targets_per_set: Drawn target texts per training fact set.
        max_train_samples: Cap on training pairs (quick runs).
        max_eval_samples: Held-out fact sets evaluated at the end.
        max_steps: The step budget: training never runs more optimisation steps (the
            learning-rate schedule is laid out over it).
        max_minutes: Safety limit on wall time (0 = none). Not a budget: a run stopped by
            it depends on the machine, and its metrics say so.
        batch_size / learning_rate / warmup_steps / weight_decay: Optimisation.
        eval_steps: Evaluate on the dev split this often (0 = never, no early stop).
        dev_samples: Held-out fact sets of the dev split (disjoint from the final eval).
        patience: Stop after this many dev evaluations in a row without improvement
            (0 = never stop early on convergence).
        min_delta: A dev pass rate higher than the best by at least this is an improvement.
        min_loss_delta: A dev loss lower than the best by at least this share (0.02 = 2 %)
            is also an improvement (the loss still falling means the model still learns).
        target_pass_rate: Stop early once first candidates on the dev set pass this often.
        keep_best: Save the weights of the best dev evaluation (pass rate, then loss)
            rather than the last ones.
        styles: Train with wording styles (see :data:`patterns.NUM_STYLES`).
        vocab_size: Tokenizer vocabulary (from scratch only).
        num_candidates: Sampled candidates per reply when serving (saved in the config).
        threads: torch CPU threads (0 = torch's default). One by default: on a shared
            2-core machine two threads spin against other processes and run ~5x slower.
        progress: Show the tqdm bar.
        log_every_s: Without the bar, log the step and an estimate of the time left this often.
    """

    output_dir: str
    db_path: str | None = None
    corrections_path: str | None = None
    config: str = "small"
    base: str | None = None
    device: str = "cpu"
    seed: int = 42
    targets_per_set: int = 4
    max_train_samples: int | None = None
    max_eval_samples: int = 400
    max_steps: int = 3000
    max_minutes: float = 120.0
    batch_size: int = 32
    learning_rate: float = 2e-3
    warmup_steps: int = 200
    weight_decay: float = 0.01
    eval_steps: int = 250
    dev_samples: int = 200
    patience: int = 3
    min_delta: float = 0.01
    min_loss_delta: float = 0.02
    target_pass_rate: float = 0.99
    keep_best: bool = True
    vocab_size: int = 2000
    num_candidates: int = 4
    styles: bool = True
    threads: int = 1
    progress: bool = True
    log_every_s: float = 30.0
    extra: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------- metrics


def _char_ngrams(text: str, n: int) -> Counter[str]:
    text = text.replace(" ", "")
    return Counter(text[i : i + n] for i in range(len(text) - n + 1))


def chrf(hypothesis: str, references: Sequence[str], order: int = 6, beta: float = 2.0) -> float:
    """Sentence chrF (character n-gram F-score, Popović 2015) against the best reference.

    Returns:
        A score in 0..100.
    """
    best = 0.0
    for ref in references:
        precisions, recalls = [], []
        for n in range(1, order + 1):
            h, r = _char_ngrams(hypothesis, n), _char_ngrams(ref, n)
            if not h or not r:
                continue
            overlap = sum((h & r).values())
            precisions.append(overlap / sum(h.values()))
            recalls.append(overlap / sum(r.values()))
        if not precisions:
            continue
        p, r_ = sum(precisions) / len(precisions), sum(recalls) / len(recalls)
        if p + r_ == 0:
            continue
        score = (1 + beta**2) * p * r_ / (beta**2 * p + r_)
        best = max(best, score)
    return 100.0 * best


def evaluate(
    engine: GeneratorEngine,
    fact_sets: Sequence[FactSet],
    seed: int = 0,
    references: int = 8,
    batch_size: int = 64,
    candidates: int | None = None,
) -> dict[str, Any]:
    """Guard pass rates and chrF on held-out fact sets.

    Returns:
        ``first_candidate_pass_rate`` (the first candidate, one random style, passes the
        guard), ``served_model_rate`` (one of the ``candidates`` passes: the shopper gets
        the model's reply, not the template), ``chrf`` (first candidate against
        ``references`` drawn target texts, best reference; 0..100), per-task pass rates,
        rejection reasons and examples.
    """
    rng = random.Random(seed)
    n = len(fact_sets)
    first_ok = served_ok = 0
    chrf_total = 0.0
    per_task: dict[str, list[int]] = {}
    rejections: Counter[str] = Counter()
    examples: list[dict[str, Any]] = []
    guard_logger = logging.getLogger("models.generator.guard")
    level = guard_logger.level
    guard_logger.setLevel(logging.WARNING)  # thousands of expected rejections: keep quiet
    try:
        for start in range(0, n, batch_size):
            chunk = fact_sets[start : start + batch_size]
            items = [(get_task(t), f) for t, f in chunk]
            all_candidates = engine.candidates(items, n=candidates)
            for (task, facts), cands in zip(items, all_candidates, strict=True):
                res, _ = engine.guard.check(task, facts, cands[0])
                first_ok += res.ok
                per_task.setdefault(task.name, [0, 0])
                per_task[task.name][0] += res.ok
                per_task[task.name][1] += 1
                if not res.ok:
                    rejections[res.reason.split("'")[0].strip()] += 1
                served = engine.choose(task, facts, cands)
                served_ok += served.source == "model"
                refs = [
                    patterns.target(
                        task, set(task.placeholders(facts)), task.control_values(facts), rng
                    )
                    for _ in range(references)
                ]
                chrf_total += chrf(cands[0], refs)
                if len(examples) < 13 and all(e["task"] != task.name for e in examples):
                    examples.append(
                        {
                            "task": task.name,
                            "candidate": cands[0],
                            "served": served.text,
                            "source": served.source,
                        }
                    )
    finally:
        guard_logger.setLevel(level)
    return {
        "eval_fact_sets": n,
        "first_candidate_pass_rate": first_ok / n if n else 0.0,
        "served_model_rate": served_ok / n if n else 0.0,
        "chrf": chrf_total / n if n else 0.0,
        "per_task_pass_rate": {k: v[0] / v[1] for k, v in sorted(per_task.items())},
        "rejection_reasons": dict(rejections.most_common(10)),
        "examples": examples,
    }


# --------------------------------------------------------------------------- training


def _set_seed(seed: int) -> None:
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def build_model(args: TrainArguments, tokenizer: Any) -> Any:
    """A fresh T5 of the chosen shape, or the ``base`` checkpoint resized to the tokenizer."""
    from transformers import T5Config, T5ForConditionalGeneration

    if args.base:
        model = T5ForConditionalGeneration.from_pretrained(args.base)
        model.resize_token_embeddings(len(tokenizer))
        return model
    shape = MODEL_CONFIGS[args.config]
    config = T5Config(
        vocab_size=len(tokenizer),
        relative_attention_num_buckets=16,
        relative_attention_max_distance=64,
        dropout_rate=0.1,
        feed_forward_proj="relu",
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        decoder_start_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=True,
        **shape,
    )
    return T5ForConditionalGeneration(config)


def _batches(pairs: list[Pair], batch_size: int, rng: random.Random):
    while True:
        order = list(range(len(pairs)))
        rng.shuffle(order)
        for i in range(0, len(order) - batch_size + 1, batch_size):
            yield [pairs[j] for j in order[i : i + batch_size]]


def main(args: TrainArguments | Sequence[str] | None = None) -> dict[str, Any]:
    """Train, evaluate and save. Returns the metrics (also written to ``metrics.json``).

    Args:
        args: A :class:`TrainArguments`, or command-line style strings
            (``["--output-dir", "x", "--config", "tiny"]``).
    """
    if not isinstance(args, TrainArguments):
        args = parse_args(args)
    import torch
    from tqdm.auto import tqdm

    started = time.perf_counter()
    _set_seed(args.seed)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    out_dir = Path(args.output_dir)
    out_dir.mkdir(parents=True, exist_ok=True)

    # Data ------------------------------------------------------------------
    train_sets, held_sets, origin = load_fact_sets(args.db_path, seed=args.seed)
    rng = random.Random(args.seed)
    ordered = balanced_sample(held_sets, len(held_sets), seed=args.seed)
    # Dev (early stopping) and evaluation sets are disjoint, both balanced over tasks.
    dev_sets = ordered[0::2][: args.dev_samples]
    eval_sets = ordered[1::2][: args.max_eval_samples] or dev_sets
    train_pairs = make_pairs(
        train_sets, per_set=args.targets_per_set, seed=args.seed, styles=args.styles
    )
    corrections = load_corrections(args.corrections_path) if args.corrections_path else []
    known_words = words_of([p.target for p in train_pairs + corrections])
    guard = FactGuard(
        known_products=product_titles(train_sets + held_sets), known_words=known_words
    )
    # Corrections are few; repeat them so they weigh like a pattern.
    train_pairs += corrections * max(1, args.targets_per_set)
    rng.shuffle(train_pairs)
    if args.max_train_samples:
        train_pairs = train_pairs[: args.max_train_samples]
    logger.info(
        "fact sets from %s: %d train, %d held out; %d train pairs (%d corrections)",
        origin,
        len(train_sets),
        len(held_sets),
        len(train_pairs),
        len(corrections),
    )

    # Tokenizer and model ------------------------------------------------------
    if args.base:
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(args.base)
        added = add_placeholders(tokenizer)
        logger.info("fine-tuning %s; %d placeholder tokens added", args.base, added)
    else:
        texts = [p.source for p in train_pairs] + [p.target for p in train_pairs]
        tokenizer = train_tokenizer(texts, vocab_size=args.vocab_size)
    model = build_model(args, tokenizer).to(device)
    n_params = sum(p.numel() for p in model.parameters())
    logger.info(
        "model: %s, %.2f M parameters, device %s", args.base or args.config, n_params / 1e6, device
    )

    def encode(batch: list[Pair]) -> dict[str, Any]:
        enc = tokenizer([p.source for p in batch], return_tensors="pt", padding=True)
        labels = tokenizer([p.target for p in batch], return_tensors="pt", padding=True).input_ids
        labels[labels == tokenizer.pad_token_id] = -100
        return {
            "input_ids": enc.input_ids.to(device),
            "attention_mask": enc.attention_mask.to(device),
            "labels": labels.to(device),
        }

    optimizer = torch.optim.AdamW(
        model.parameters(), lr=args.learning_rate, weight_decay=args.weight_decay
    )

    def lr_at(step: int) -> float:
        if step < args.warmup_steps:
            return (step + 1) / args.warmup_steps
        progress = (step - args.warmup_steps) / max(1, args.max_steps - args.warmup_steps)
        return max(0.05, 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_at)
    engine = GeneratorEngine(
        model,
        tokenizer,
        guard,
        device=device,
        num_candidates=args.num_candidates,
        num_styles=patterns.NUM_STYLES if args.styles else 0,
        correction_tasks=sorted({p.task for p in corrections}),
        seed=args.seed,
    )
    use_amp = device == "cuda" and torch.cuda.is_bf16_supported()

    dev_pairs = make_pairs(dev_sets, per_set=1, seed=args.seed + 2, styles=args.styles)

    def dev_loss() -> float:
        """Teacher-forced loss on the dev pairs (no dropout; fixed pairs, fixed order)."""
        total, n = 0.0, 0
        with torch.inference_mode():
            for i in range(0, len(dev_pairs), 64):
                chunk = dev_pairs[i : i + 64]
                total += float(model(**encode(chunk)).loss) * len(chunk)
                n += len(chunk)
        return total / n if n else math.nan

    step = 0
    losses: list[float] = []
    dev_history: list[dict[str, float]] = []
    stop_reason = "max_steps"
    best: dict[str, Any] = {}
    best_state: dict[str, Any] | None = None
    since_best = 0
    train_started = time.perf_counter()
    last_log = train_started
    bar = tqdm(total=args.max_steps, desc="train generator", disable=not args.progress)
    batches = _batches(train_pairs, min(args.batch_size, len(train_pairs)), rng)
    model.train()
    while step < args.max_steps:
        batch = encode(next(batches))
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=use_amp):
            loss = model(**batch).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        step += 1
        losses.append(float(loss.detach()))
        bar.update(1)
        if step % 20 == 0:
            bar.set_postfix(loss=f"{sum(losses[-20:]) / 20:.3f}")
        now = time.perf_counter()
        if not args.progress and now - last_log >= args.log_every_s:
            last_log = now
            per_step = (now - train_started) / step
            logger.info(
                "training: step %d/%d (%.0f %%), loss %.3f, %.2f s a step, at most %.0f min left",
                step,
                args.max_steps,
                100.0 * step / args.max_steps,
                sum(losses[-50:]) / len(losses[-50:]),
                per_step,
                per_step * (args.max_steps - step) / 60,
            )
        if args.eval_steps and (step % args.eval_steps == 0 or step == args.max_steps) and dev_sets:
            model.eval()
            engine.reseed(args.seed)  # the same styles at every evaluation
            dev = evaluate(engine, dev_sets, seed=args.seed, candidates=1)
            loss_dev = dev_loss()
            model.train()
            rate = float(dev["first_candidate_pass_rate"])
            point = {"step": step, "pass_rate": round(rate, 4), "dev_loss": round(loss_dev, 4)}
            improved = not best or (
                rate >= best["pass_rate"] + args.min_delta
                or loss_dev <= best["dev_loss"] * (1.0 - args.min_loss_delta)
            )
            if not best or (rate, -loss_dev) > (best["pass_rate"], -best["dev_loss"]):
                best = {"step": step, "pass_rate": rate, "dev_loss": loss_dev}
                if args.keep_best:
                    best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            since_best = 0 if improved else since_best + 1
            point["improved"] = improved
            dev_history.append(point)
            logger.info(
                "step %d/%d: dev guard pass rate %.3f, dev loss %.4f, train loss %.3f%s",
                step,
                args.max_steps,
                rate,
                loss_dev,
                sum(losses[-50:]) / len(losses[-50:]),
                "" if improved else f" (no improvement {since_best}/{args.patience or '-'})",
            )
            if rate >= args.target_pass_rate:
                stop_reason = "target_pass_rate"
                break
            if args.patience and since_best >= args.patience:
                stop_reason = "converged"
                break
        if args.max_minutes and time.perf_counter() - train_started > args.max_minutes * 60:
            stop_reason = "max_minutes"
            logger.warning(
                "safety limit hit: %.0f minutes of wall time after %d of %d steps; this "
                "model depends on the machine's speed (raise --max-minutes to train to the budget)",
                args.max_minutes,
                step,
                args.max_steps,
            )
            break
    bar.close()
    train_seconds = time.perf_counter() - train_started
    kept_step = step
    if best_state is not None and best.get("step") != step and stop_reason != "max_minutes":
        model.load_state_dict(best_state)
        kept_step = int(best["step"])
        logger.info("keeping the weights of step %d (best dev evaluation)", kept_step)

    # Evaluate and save --------------------------------------------------------
    model.eval()
    metrics = evaluate(engine, eval_sets, seed=args.seed + 1)
    metrics.update(
        {
            "model": args.base or args.config,
            "parameters": n_params,
            "device": device,
            "steps": step,
            "kept_step": kept_step,
            "max_steps": args.max_steps,
            "stop_reason": stop_reason,
            # A run cut by the wall-time safety limit depends on the machine's speed.
            "reproducible": stop_reason != "max_minutes",
            "best_dev": {k: round(float(v), 4) for k, v in best.items()},
            "dev_fact_sets": len(dev_sets),
            "seed": args.seed,
            "train_seconds": round(train_seconds, 1),
            "total_seconds": round(time.perf_counter() - started, 1),
            "final_loss": round(sum(losses[-50:]) / max(1, len(losses[-50:])), 4),
            "train_pairs": len(train_pairs),
            "corrections": len(corrections),
            "fact_origin": origin,
            "train_fact_sets": len(train_sets),
            "held_out_fact_sets": len(held_sets),
            "dev_history": dev_history,
            "torch_threads": torch.get_num_threads(),
        }
    )
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    (out_dir / GUARD_VOCAB_FILE).write_text(
        json.dumps(
            {"products": product_titles(train_sets + held_sets), "words": known_words},
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    config = asdict(args)
    config["num_styles"] = patterns.NUM_STYLES if args.styles else 0
    config["correction_tasks"] = sorted({p.task for p in corrections})
    (out_dir / "training_config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    # metrics.json is written last and atomically: a service watching the folder loads the
    # model once it appears (see models/generator/service.py, ModelWatcher).
    tmp = out_dir / "metrics.json.tmp"
    tmp.write_text(json.dumps(metrics, indent=2, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, out_dir / "metrics.json")
    logger.info(
        "saved to %s: first-candidate pass %.3f, served model %.3f, chrF %.1f, "
        "%d steps (stop: %s, kept step %d) in %.0f s",
        out_dir,
        metrics["first_candidate_pass_rate"],
        metrics["served_model_rate"],
        metrics["chrf"],
        step,
        stop_reason,
        kept_step,
        train_seconds,
    )
    return metrics


def parse_args(argv: Sequence[str] | None = None) -> TrainArguments:
    """Command-line style arguments -> :class:`TrainArguments` (one flag per field)."""
    import argparse

    parser = argparse.ArgumentParser(prog="train-generator")
    add_arguments(parser, required_output=True)
    ns = parser.parse_args(list(argv) if argv is not None else None)
    return arguments_from_namespace(ns)


#: Help of the flags that decide when training stops (the rest say their default).
FLAG_HELP = {
    "max_steps": "step budget: training never runs more optimisation steps; the "
    "learning-rate schedule is laid out over it",
    "eval_steps": "evaluate the dev split (guard pass rate of first candidates and "
    "teacher-forced loss) every N steps; 0 = never, so no early stop",
    "dev_samples": "held-out fact sets in the fixed dev split (disjoint from the final eval)",
    "patience": "stop ('converged') after N dev evaluations in a row without improvement; "
    "0 = train to the step budget",
    "min_delta": "a dev pass rate at least this much above the best counts as an improvement",
    "min_loss_delta": "a dev loss at least this share below the best (0.02 = 2 %%) also counts",
    "target_pass_rate": "stop ('target_pass_rate') once the dev pass rate reaches this",
    "max_minutes": "safety limit on wall time, not a budget (0 = none); a run it stops "
    "depends on the machine and its metrics.json says so ('reproducible': false)",
    "keep_best": "save the weights of the best dev evaluation rather than the last ones",
    "seed": "random seed: same seed, database and command give the same steps and pass rates",
    "log_every_s": "with --no-progress, log the step and the time left this often",
}


def add_arguments(parser: Any, required_output: bool = False) -> None:
    """Add one ``--flag`` per :class:`TrainArguments` field."""
    defaults = TrainArguments(output_dir="")
    for name, value in asdict(defaults).items():
        if name == "extra":
            continue
        flag = "--" + name.replace("_", "-")
        if name == "output_dir":
            parser.add_argument(
                flag,
                required=required_output,
                default=None,
                help="output folder (default: settings.generator_dir)",
            )
        elif isinstance(value, bool):
            parser.add_argument(
                flag, action=argparse_bool(), default=value, help=_help(name, value)
            )
        elif name == "config":
            parser.add_argument(
                flag,
                choices=sorted(MODEL_CONFIGS),
                default=value,
                help=f"model shape (default {value})",
            )
        elif name == "device":
            parser.add_argument(
                flag, choices=["cpu", "cuda", "auto"], default=value, help=f"(default {value})"
            )
        else:
            kind = type(value) if value is not None else str
            if name == "max_train_samples":
                kind = int
            parser.add_argument(flag, type=kind, default=value, help=_help(name, value))


def _help(name: str, value: Any) -> str:
    text = FLAG_HELP.get(name, "")
    return f"{text} (default {value})" if text else f"(default {value})"


def argparse_bool() -> Any:
    import argparse

    return argparse.BooleanOptionalAction


def arguments_from_namespace(ns: Any) -> TrainArguments:
    """Build :class:`TrainArguments` from a parsed namespace (unknown attributes ignored)."""
    fields_ = {k: v for k, v in vars(ns).items() if k in TrainArguments.__dataclass_fields__}
    return TrainArguments(**fields_)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    main()
