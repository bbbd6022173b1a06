"""Entity extraction: what each extractor costs to train and what it finds (``shopbot bench
entities``).

Intents come from :mod:`models.nlu.embedding_classifier`; the pipeline's only other trained
part is the entity extractor, and it is most of ``rasa train``'s time (DIET's 30 epochs). This
benchmark trains each candidate extractor on the same split of ``bot/data/nlu`` in one run and
scores it on the examples held back from that split and on the annotated messages of
``bot/eval/nlu_heldout.yml`` (never trained on):

* ``diet``: the project's featurisers and ``DIETClassifier`` tagging entities only (30
  epochs), the extractor bot/config.yml used before the CRF;
* ``diet_lite``: the same DIET with one small transformer layer;
* ``crf``: Rasa's ``CRFEntityExtractor`` (a linear-chain CRF on word shape, prefixes,
  suffixes and the regex/lookup patterns).

An entity counts as found when type and text match exactly (case-insensitive). Figures:
precision, recall and F1 per entity type and overall, training seconds, parse ms/message.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import random
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from models.nlu.bench import load_training_data, nlu_files, subset_training_data, train_model

logger = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[2]
CANDIDATES = ("diet", "diet_lite", "crf")
CANDIDATE_HELP = {
    "diet": "DIETClassifier tagging entities only (30 epochs), as bot/config.yml had it",
    "diet_lite": "the same DIET with one transformer layer of 128 units",
    "crf": "Rasa's CRFEntityExtractor on word features and the regex/lookup patterns",
}
#: Components that only classify intents or route messages; an entity run leaves them out.
_NOT_ENTITY = (
    "models.nlu.embedding_classifier.EmbeddingIntentClassifier",
    "models.nlu.faq_router.FaqRouter",
    "FallbackClassifier",
    "models.nlu.message_guard.BlankMessageClassifier",
)
_EXTRACTORS = ("DIETClassifier", "CRFEntityExtractor")


@dataclass
class EntityBenchConfig:
    """Settings of one run."""

    config_path: Path = REPO_ROOT / "bot" / "config.yml"
    data_dir: Path = REPO_ROOT / "bot" / "data" / "nlu"
    heldout_path: Path = REPO_ROOT / "bot" / "eval" / "nlu_heldout.yml"
    candidates: tuple[str, ...] = CANDIDATES
    test_share: float = 0.2
    seed: int = 42
    epochs: int | None = None
    work_dir: Path | None = None


@dataclass
class Score:
    """True positives, false positives and false negatives per entity type."""

    tp: Counter[str] = field(default_factory=Counter)
    fp: Counter[str] = field(default_factory=Counter)
    fn: Counter[str] = field(default_factory=Counter)

    def add(self, gold: set[tuple[str, str]], found: set[tuple[str, str]]) -> None:
        """Count one message."""
        for entity, _ in gold & found:
            self.tp[entity] += 1
        for entity, _ in found - gold:
            self.fp[entity] += 1
        for entity, _ in gold - found:
            self.fn[entity] += 1

    def figures(self) -> dict[str, Any]:
        """Precision, recall and F1 overall (micro) and per entity type."""

        def prf(tp: int, fp: int, fn: int) -> dict[str, float | int]:
            p = tp / (tp + fp) if tp + fp else 0.0
            r = tp / (tp + fn) if tp + fn else 0.0
            f = 2 * p * r / (p + r) if p + r else 0.0
            return {
                "precision": round(p, 3),
                "recall": round(r, 3),
                "f1": round(f, 3),
                "gold": tp + fn,
            }

        types = sorted(set(self.tp) | set(self.fp) | set(self.fn))
        return {
            "overall": prf(sum(self.tp.values()), sum(self.fp.values()), sum(self.fn.values())),
            "per_type": {t: prf(self.tp[t], self.fp[t], self.fn[t]) for t in types},
        }


def pipeline_for(name: str, project_config: Path, epochs: int | None = None) -> dict[str, Any]:
    """The NLU config of one candidate: the project's tokeniser and featurisers plus its
    extractor (intent classifiers and routers left out)."""
    if name not in CANDIDATES:
        raise ValueError(f"unknown candidate {name!r}; choose from {CANDIDATES}")
    project = yaml.safe_load(Path(project_config).read_text(encoding="utf-8"))
    base = [
        c
        for c in copy.deepcopy(project["pipeline"])
        if c["name"] not in (*_NOT_ENTITY, *_EXTRACTORS)
    ]
    if name == "crf":
        keep = ("models.nlu.message_guard.MessageGuard", "WhitespaceTokenizer", "RegexFeaturizer")
        pipeline = [c for c in base if c["name"] in keep]
        pipeline.append({"name": "CRFEntityExtractor"})
    else:
        diet: dict[str, Any] = {
            "name": "DIETClassifier",
            "intent_classification": False,
            "entity_recognition": True,
            "epochs": 30 if epochs is None else epochs,
            "constrain_similarities": True,
            "random_seed": 42,
        }
        if name == "diet_lite":
            diet["number_of_transformer_layers"] = 1
            diet["transformer_size"] = 128
        synonyms = next(i for i, c in enumerate(base) if c["name"] == "EntitySynonymMapper")
        pipeline = [*base[:synonyms], diet, *base[synonyms:]]
    if not any(c["name"] == "EntitySynonymMapper" for c in pipeline):
        pipeline.append({"name": "EntitySynonymMapper"})
    return {
        "recipe": "default.v1",
        "assistant_id": f"entities_{name}",
        "language": project.get("language", "en"),
        "pipeline": pipeline,
        "policies": [],
    }


def gold_entities(message: Any) -> set[tuple[str, str]]:
    """``(type, text)`` of a message's annotated entities (text lower-cased)."""
    text = str(message.get("text") or "")
    return {
        (str(e["entity"]), text[int(e["start"]) : int(e["end"])].strip().lower())
        for e in message.get("entities") or []
    }


def split(examples: list[Any], share: float, seed: int) -> tuple[list[Any], list[Any]]:
    """Hold back ``share`` of every intent's examples, spreading the annotated ones evenly."""
    rng = random.Random(seed)
    groups: dict[tuple[str, bool], list[Any]] = {}
    for message in examples:
        groups.setdefault((str(message.get("intent")), bool(message.get("entities"))), []).append(
            message
        )
    train: list[Any] = []
    test: list[Any] = []
    for key in sorted(groups):
        items = list(groups[key])
        rng.shuffle(items)
        cut = round(len(items) * share)
        test.extend(items[:cut])
        train.extend(items[cut:])
    return train, test


def score_model(model_path: Path, messages: list[Any]) -> tuple[Score, float]:
    """Parse each message; return the score and the mean parse time in milliseconds."""
    from rasa.core.agent import Agent

    agent = Agent.load(str(model_path))
    loop = asyncio.new_event_loop()
    score = Score()
    started = time.perf_counter()
    try:
        for message in messages:
            text = str(message.get("text"))
            parsed = loop.run_until_complete(agent.parse_message(text))
            found = {
                (str(e["entity"]), text[int(e["start"]) : int(e["end"])].strip().lower())
                for e in parsed.get("entities") or []
                if "start" in e and "end" in e
            }
            score.add(gold_entities(message), found)
    finally:
        loop.close()
    elapsed = time.perf_counter() - started
    return score, 1000 * elapsed / max(len(messages), 1)


def run_entity_bench(
    config: EntityBenchConfig, progress: Callable[[str], None] = logger.info
) -> dict[str, Any]:
    """Train and score every candidate on the same split.

    Returns:
        ``{"split": {...}, "candidates": {name: {"train_s", "parse_ms", "split", "heldout"}}}``.
    """
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLWriter

    full = load_training_data(nlu_files(config.data_dir))
    examples = [m for m in full.intent_examples if m.get("text")]
    train, test = split(examples, config.test_share, config.seed)
    heldout = [
        m for m in load_training_data([config.heldout_path]).intent_examples if m.get("text")
    ]
    work = Path(config.work_dir or tempfile.mkdtemp(prefix="entity-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    data_file = work / "train.yml"
    RasaYAMLWriter().dump(data_file, subset_training_data(full, train))
    report: dict[str, Any] = {
        "split": {
            "train": len(train),
            "test": len(test),
            "test_entities": sum(len(gold_entities(m)) for m in test),
            "heldout": len(heldout),
            "heldout_entities": sum(len(gold_entities(m)) for m in heldout),
            "seed": config.seed,
        },
        "candidates": {},
    }
    for name in config.candidates:
        progress(f"{name}: training on {len(train)} examples ({CANDIDATE_HELP[name]})")
        started = time.perf_counter()
        model = train_model(
            pipeline_for(name, config.config_path, config.epochs), data_file, work, name
        )
        train_s = time.perf_counter() - started
        progress(f"{name}: trained in {train_s:.0f} s; scoring")
        split_score, parse_ms = score_model(model, test)
        heldout_score, _ = score_model(model, heldout)
        report["candidates"][name] = {
            "train_s": round(train_s, 1),
            "parse_ms": round(parse_ms, 1),
            "split": split_score.figures(),
            "heldout": heldout_score.figures(),
        }
        overall = report["candidates"][name]["split"]["overall"]
        progress(f"{name}: F1 {overall['f1']:.3f} on the held-back split, parse {parse_ms:.1f} ms")
    return report


def render_markdown(report: dict[str, Any]) -> str:
    """The comparison table and the per-type F1 of each candidate."""
    s = report["split"]
    lines = [
        "# Entity extraction: training time against what it finds",
        "",
        f"Split: {s['train']} training examples, {s['test']} held back "
        f"({s['test_entities']} entities); nlu_heldout.yml: {s['heldout']} messages "
        f"({s['heldout_entities']} entities). Seed {s['seed']}.",
        "",
        "| extractor | train s | parse ms | F1 split | P / R split | F1 held-out |",
        "| --- | ---: | ---: | ---: | --- | ---: |",
    ]
    for name, c in report["candidates"].items():
        o, h = c["split"]["overall"], c["heldout"]["overall"]
        lines.append(
            f"| {name} | {c['train_s']:.0f} | {c['parse_ms']:.1f} | {o['f1']:.3f} | "
            f"{o['precision']:.3f} / {o['recall']:.3f} | {h['f1']:.3f} |"
        )
    types = sorted({t for c in report["candidates"].values() for t in c["split"]["per_type"]})
    names = list(report["candidates"])
    lines += ["", "F1 per entity type on the held-back split:", ""]
    lines.append("| entity | gold | " + " | ".join(names) + " |")
    lines.append("| --- | ---: |" + " ---: |" * len(names))
    for t in types:
        gold = max(
            c["split"]["per_type"].get(t, {}).get("gold", 0) for c in report["candidates"].values()
        )
        cells = [
            f"{report['candidates'][n]['split']['per_type'].get(t, {}).get('f1', 0.0):.3f}"
            for n in names
        ]
        lines.append(f"| {t} | {gold} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_report(report: dict[str, Any], out_dir: Path) -> tuple[Path, Path]:
    """Write ``entities.json`` and ``entities.md`` under ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / "entities.json"
    md_path = out_dir / "entities.md"
    json_path.write_text(json.dumps(report, indent=2), encoding="utf-8")
    md_path.write_text(render_markdown(report), encoding="utf-8")
    return json_path, md_path
