"""NLU benchmark: the project's pipeline against Rasa's default pipeline on the same data.

What it measures (see :func:`run_benchmark`):

* stratified k-fold cross-validation over ``bot/data/nlu``: intent accuracy, macro-F1 and
  out-of-scope recall per pipeline, plus a confusion matrix PNG per pipeline;
* the same figures on the held-out set ``bot/eval/nlu_heldout.yml``, predicted by every
  fold model (pooled);
* parse latency (p50/p95) through a running Rasa server's ``/model/parse`` (a server it
  starts on a free port with the project model, or an existing one via ``server_url``).

Scoring: a prediction of ``nlu_fallback`` counts as ``out_of_scope`` (the assistant then
answers the same way); for any other gold intent it is an error. Out-of-scope recall is
the share of ``out_of_scope`` messages predicted as ``out_of_scope`` or ``nlu_fallback``.
``accuracy_ignoring_fallback`` scores the top non-fallback intent of the ranking instead.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np
import yaml

logger = logging.getLogger(__name__)

FALLBACK_INTENT = "nlu_fallback"
OUT_OF_SCOPE_INTENT = "out_of_scope"
FEATURIZER_NAME = "models.nlu.sentence_featurizer.SentenceEmbeddingFeaturizer"
CLASSIFIER_NAME = "models.nlu.embedding_classifier.EmbeddingIntentClassifier"
PIPELINES = ("project", "project_diet", "project_sparse", "project_nospell", "rasa_default")
PIPELINE_HELP = {
    "project": "bot/config.yml as it is",
    "project_diet": "bot/config.yml with DIET classifying intents instead of the "
    "embedding classifier (the pipeline before issue 12)",
    "project_sparse": "bot/config.yml without the sentence-embedding featurizer",
    "project_nospell": "bot/config.yml without the spelling normaliser (models/nlu/spelling.py)",
    "rasa_default": "the pipeline Rasa uses when config.yml names none (rasa init)",
}
REPO_ROOT = Path(__file__).resolve().parents[2]
SPELLING_PREFIX = "models.nlu.spelling."
#: DIET as the compared pipelines use it for intents (entities stay with the project's CRF).
DIET_INTENTS: dict[str, Any] = {
    "name": "DIETClassifier",
    "intent_classification": True,
    "entity_recognition": False,
    "epochs": 30,
    "constrain_similarities": True,
    "random_seed": 42,
}


@dataclass
class BenchOptions:
    """Options of one benchmark run.

    Attributes:
        bot_dir: The Rasa project (its ``config.yml`` and ``data/nlu``).
        heldout: Held-out NLU file; ``None`` skips the held-out evaluation.
        shopper_heldout: Folder of the issue-12 held-out shopper messages
            (``messages.yml``, ``out_of_scope.yml``); scored with
            :func:`models.heldout_eval.score` per fold model. ``None`` skips it.
        out_dir: Where ``nlu.json`` and ``nlu/*.png`` are written.
        folds: Number of cross-validation folds.
        pipelines: Which of :data:`PIPELINES` to compare.
        quick: Tiny run (few examples per intent, few epochs) for smoke tests.
        per_intent: In quick mode, examples kept per intent.
        quick_epochs: In quick mode, epochs of every trainable component.
        latency: Measure parse latency through a Rasa server.
        latency_messages: Number of timed ``/model/parse`` calls.
        server_url: Existing Rasa server to time instead of starting one.
        token: Auth token of that server (``None``: no token).
        seed: Seed of fold assignment and subsampling.
        work_dir: Folder for fold data and models; ``None`` = a temporary folder.
        jobs: Trainings run in parallel worker processes (1 = in this process).
    """

    bot_dir: Path = REPO_ROOT / "bot"
    heldout: Path | None = REPO_ROOT / "bot" / "eval" / "nlu_heldout.yml"
    shopper_heldout: Path | None = REPO_ROOT / "bot" / "eval" / "heldout"
    out_dir: Path = REPO_ROOT / "bench-results"
    folds: int = 3
    pipelines: list[str] = field(
        default_factory=lambda: ["project", "project_diet", "rasa_default"]
    )
    quick: bool = False
    per_intent: int = 10
    quick_epochs: int = 5
    latency: bool = True
    latency_messages: int = 200
    server_url: str | None = None
    token: str | None = None
    seed: int = 42
    work_dir: Path | None = None
    jobs: int = 1


# ---------------------------------------------------------------------------- data


def nlu_files(data_dir: Path) -> list[Path]:
    """YAML files under ``data_dir`` that hold NLU data (``nlu:`` key), sorted."""
    files = []
    for path in sorted(Path(data_dir).rglob("*.yml")) + sorted(Path(data_dir).rglob("*.yaml")):
        content = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if isinstance(content, dict) and "nlu" in content:
            files.append(path)
    return files


def load_training_data(paths: Iterable[Path]) -> Any:
    """Load and merge Rasa NLU files into one ``TrainingData``."""
    from rasa.shared.nlu.training_data.loading import load_data
    from rasa.shared.nlu.training_data.training_data import TrainingData

    merged = TrainingData()
    for path in paths:
        merged = merged.merge(load_data(str(path)))
    return merged


def intent_examples(training_data: Any) -> list[Any]:
    """Messages that carry a text and an intent (the ones the benchmark scores)."""
    return [m for m in training_data.intent_examples if m.get("text")]


def subset_training_data(full: Any, examples: list[Any]) -> Any:
    """``TrainingData`` with ``examples`` plus the regexes, lookups and synonyms of ``full``."""
    from rasa.shared.nlu.training_data.training_data import TrainingData

    return TrainingData(
        training_examples=list(examples),
        entity_synonyms=dict(full.entity_synonyms),
        regex_features=list(full.regex_features),
        lookup_tables=list(full.lookup_tables),
    )


def stratified_folds(labels: list[str], k: int, seed: int) -> list[list[int]]:
    """Split indices into ``k`` folds with every label spread evenly.

    Args:
        labels: One label per example.
        k: Number of folds (at least 2).
        seed: Shuffle seed.

    Returns:
        ``k`` lists of example indices (test indices of each fold).
    """
    if k < 2:
        raise ValueError("need at least 2 folds")
    rng = random.Random(seed)
    by_label: dict[str, list[int]] = {}
    for index, label in enumerate(labels):
        by_label.setdefault(label, []).append(index)
    folds: list[list[int]] = [[] for _ in range(k)]
    offset = 0
    for label in sorted(by_label):
        indices = by_label[label]
        rng.shuffle(indices)
        for position, index in enumerate(indices):
            folds[(position + offset) % k].append(index)
        offset += len(indices)  # keep fold sizes balanced across labels
    return [sorted(f) for f in folds]


def subsample_per_intent(examples: list[Any], per_intent: int, seed: int) -> list[Any]:
    """Keep at most ``per_intent`` examples of every intent (deterministic)."""
    rng = random.Random(seed)
    by_intent: dict[str, list[Any]] = {}
    for message in examples:
        by_intent.setdefault(message.get("intent"), []).append(message)
    kept = []
    for intent in sorted(by_intent):
        items = list(by_intent[intent])
        rng.shuffle(items)
        kept.extend(items[:per_intent])
    return kept


# ---------------------------------------------------------------------------- configs


def rasa_default_pipeline() -> list[dict[str, Any]]:
    """The NLU pipeline Rasa fills in when a config names none (read from Rasa itself)."""
    import rasa.engine.recipes.default_recipe as recipe_module

    path = Path(recipe_module.__file__).parent / "config_files" / "default_config.yml"
    return list(yaml.safe_load(path.read_text(encoding="utf-8"))["pipeline"])


def pipeline_config(name: str, project_config: Path, epochs: int | None = None) -> dict[str, Any]:
    """Build the NLU config of one compared pipeline.

    Args:
        name: One of :data:`PIPELINES`.
        project_config: The project's ``config.yml``.
        epochs: Override ``epochs`` of every component that has it (quick runs).

    Returns:
        A config dict with ``recipe``, ``assistant_id``, ``language`` and ``pipeline``.
    """
    project = yaml.safe_load(Path(project_config).read_text(encoding="utf-8"))
    if name == "project":
        pipeline = copy.deepcopy(project["pipeline"])
    elif name == "project_diet":
        # The embedding classifier's place taken by DIET classifying intents (the CRF keeps
        # the entities).
        pipeline = [
            DIET_INTENTS if c["name"] == CLASSIFIER_NAME else c
            for c in copy.deepcopy(project["pipeline"])
        ]
    elif name == "project_sparse":
        pipeline = [
            DIET_INTENTS if c["name"] == CLASSIFIER_NAME else c
            for c in copy.deepcopy(project["pipeline"])
            if c["name"] != FEATURIZER_NAME
        ]
    elif name == "project_nospell":
        pipeline = [
            c
            for c in copy.deepcopy(project["pipeline"])
            if not str(c["name"]).startswith(SPELLING_PREFIX)
        ]
    elif name == "rasa_default":
        pipeline = rasa_default_pipeline()
    else:
        raise ValueError(f"unknown pipeline {name!r}; choose from {PIPELINES}")
    if epochs is not None:
        for component in pipeline:
            if "epochs" in component or component["name"] in ("DIETClassifier", "ResponseSelector"):
                component["epochs"] = epochs
    return {
        "recipe": "default.v1",
        "assistant_id": f"bench_{name}",
        "language": project.get("language", "en"),
        "pipeline": pipeline,
        "policies": [],
    }


# ---------------------------------------------------------------------------- train / predict


def train_model(config: dict[str, Any], data_file: Path, work_dir: Path, name: str) -> Path:
    """Train an NLU model on one Rasa NLU file with Rasa's API; return the archive's path."""
    from rasa.model_training import train_nlu

    work_dir.mkdir(parents=True, exist_ok=True)
    config_path = work_dir / f"{name}.config.yml"
    config_path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    model = train_nlu(
        config=str(config_path),
        nlu_data=str(data_file),
        output=str(work_dir / "models"),
        fixed_model_name=name,
    )
    if not model:
        raise RuntimeError(f"training {name} produced no model")
    return Path(model)


@dataclass
class Prediction:
    """One scored message."""

    text: str
    gold: str
    predicted: str
    confidence: float
    top_non_fallback: str


def predict(model_path: Path, messages: list[tuple[str, str]]) -> list[Prediction]:
    """Parse ``(text, gold_intent)`` pairs with a trained model (no server)."""
    from rasa.core.agent import Agent

    agent = Agent.load(str(model_path))
    loop = asyncio.new_event_loop()
    try:
        results = []
        for text, gold in messages:
            parsed = loop.run_until_complete(agent.parse_message(text))
            intent = parsed.get("intent") or {}
            ranking = [r.get("name") for r in parsed.get("intent_ranking") or []]
            top = next((n for n in ranking if n != FALLBACK_INTENT), intent.get("name") or "")
            results.append(
                Prediction(
                    text=text,
                    gold=gold,
                    predicted=intent.get("name") or "",
                    confidence=float(intent.get("confidence") or 0.0),
                    top_non_fallback=top,
                )
            )
        return results
    finally:
        loop.close()


# ---------------------------------------------------------------------------- metrics


def scored_label(prediction: Prediction) -> str:
    """The label a prediction counts as (``nlu_fallback`` -> ``out_of_scope``)."""
    return OUT_OF_SCOPE_INTENT if prediction.predicted == FALLBACK_INTENT else prediction.predicted


def macro_f1(gold: list[str], predicted: list[str]) -> float:
    """Macro-averaged F1 over the gold labels (labels never predicted score 0)."""
    labels = sorted(set(gold))
    scores = []
    for label in labels:
        tp = sum(1 for g, p in zip(gold, predicted, strict=True) if g == label and p == label)
        fp = sum(1 for g, p in zip(gold, predicted, strict=True) if g != label and p == label)
        fn = sum(1 for g, p in zip(gold, predicted, strict=True) if g == label and p != label)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        scores.append(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
    return float(np.mean(scores)) if scores else 0.0


def score(predictions: list[Prediction]) -> dict[str, Any]:
    """Accuracy, macro-F1, out-of-scope recall and fallback rate of a prediction list."""
    gold = [p.gold for p in predictions]
    predicted = [scored_label(p) for p in predictions]
    n = len(predictions)
    oos = [p for p in predictions if p.gold == OUT_OF_SCOPE_INTENT]
    in_scope = [p for p in predictions if p.gold != OUT_OF_SCOPE_INTENT]
    return {
        "n": n,
        "accuracy": sum(g == p for g, p in zip(gold, predicted, strict=True)) / n if n else 0.0,
        "macro_f1": macro_f1(gold, predicted),
        "accuracy_ignoring_fallback": (
            sum(p.gold == p.top_non_fallback for p in predictions) / n if n else 0.0
        ),
        "out_of_scope_recall": (
            sum(p.predicted in (OUT_OF_SCOPE_INTENT, FALLBACK_INTENT) for p in oos) / len(oos)
            if oos
            else None
        ),
        "in_scope_fallback_rate": (
            sum(p.predicted == FALLBACK_INTENT for p in in_scope) / len(in_scope)
            if in_scope
            else None
        ),
        "confusions": [
            {"gold": g, "predicted": p, "count": c}
            for (g, p), c in Counter(
                (x.gold, x.predicted) for x in predictions if x.gold != scored_label(x)
            ).most_common(15)
        ],
    }


def plot_confusion(predictions: list[Prediction], path: Path, title: str) -> Path:
    """Write a row-normalised confusion matrix (gold x predicted) as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    gold_labels = sorted({p.gold for p in predictions})
    columns = gold_labels + sorted(
        {p.predicted for p in predictions} - set(gold_labels)
    )  # e.g. nlu_fallback
    row = {label: i for i, label in enumerate(gold_labels)}
    col = {label: i for i, label in enumerate(columns)}
    counts = np.zeros((len(gold_labels), len(columns)), dtype=int)
    for p in predictions:
        counts[row[p.gold], col[p.predicted]] += 1
    shares = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    size = max(6.0, 0.42 * len(columns) + 2)
    fig, ax = plt.subplots(figsize=(size, size * len(gold_labels) / len(columns) + 1))
    ax.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(columns)), columns, rotation=90, fontsize=7)
    ax.set_yticks(range(len(gold_labels)), gold_labels, fontsize=7)
    for (i, j), value in np.ndenumerate(counts):
        if value:
            ax.text(
                j,
                i,
                str(value),
                ha="center",
                va="center",
                fontsize=6,
                color="white" if shares[i, j] > 0.5 else "black",
            )
    ax.set_xlabel("predicted")
    ax.set_ylabel("gold")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


# ---------------------------------------------------------------------------- latency


def free_port() -> int:
    """A TCP port that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(url: str, timeout: float = 5.0) -> int:
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (local URL)
        return int(response.status)


def parse_url(server_url: str, token: str | None) -> str:
    """The ``/model/parse`` URL of a server, with the token as query parameter."""
    url = server_url.rstrip("/") + "/model/parse"
    return url + ("?" + urllib.parse.urlencode({"token": token}) if token else "")


def time_parses(
    server_url: str, token: str | None, texts: list[str], warmup: int = 5
) -> dict[str, Any]:
    """Time sequential ``/model/parse`` calls; returns p50/p95/mean in milliseconds."""
    url = parse_url(server_url, token)

    def call(text: str, timeout: float = 60.0) -> None:
        body = json.dumps({"text": text}).encode()
        request = urllib.request.Request(
            url, data=body, headers={"Content-Type": "application/json"}, method="POST"
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            response.read()

    # The first parse loads the sentence model lazily: give the warm-up calls time.
    for text in texts[:warmup]:
        call(text, timeout=600.0)
    timings = []
    for text in texts:
        start = time.perf_counter()
        call(text)
        timings.append((time.perf_counter() - start) * 1000)
    values = np.asarray(timings)
    return {
        "n": len(timings),
        "p50_ms": round(float(np.percentile(values, 50)), 2),
        "p95_ms": round(float(np.percentile(values, 95)), 2),
        "mean_ms": round(float(values.mean()), 2),
        "server_url": server_url,
    }


class RasaServer:
    """A ``rasa run --enable-api`` subprocess on a free port (context manager)."""

    def __init__(
        self, model_path: Path, token: str, work_dir: Path, startup_timeout_s: float = 600
    ) -> None:
        """Prepare (not start) the server.

        Args:
            model_path: Trained model archive.
            token: Auth token the API will require.
            work_dir: Empty working directory (no endpoints.yml: in-memory tracker store).
            startup_timeout_s: How long to wait for the server to answer.
        """
        self.model_path = model_path
        self.token = token
        self.work_dir = work_dir
        self.startup_timeout_s = startup_timeout_s
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def __enter__(self) -> RasaServer:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        env["RASA_TELEMETRY_ENABLED"] = "false"
        env["HF_HUB_OFFLINE"] = "1"
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
        self._log = open(self.work_dir / "rasa-server.log", "wb")  # noqa: SIM115
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "rasa",
                "run",
                "--enable-api",
                "--port",
                str(self.port),
                "--interface",
                "127.0.0.1",
                "--model",
                str(self.model_path),
                "--auth-token",
                self.token,
            ],
            cwd=self.work_dir,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + self.startup_timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"rasa server exited early; see {self.work_dir / 'rasa-server.log'}"
                )
            try:
                if (
                    _get(self.url + "/status?" + urllib.parse.urlencode({"token": self.token}))
                    == 200
                ):
                    return self
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(1.0)
        self.__exit__(None, None, None)
        raise TimeoutError("rasa server did not answer in time")

    def __exit__(self, *exc: object) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if self._log:
            self._log.close()


# ---------------------------------------------------------------------------- run


@dataclass
class FoldResult:
    """What one (pipeline, fold) task returns."""

    pipeline: str
    fold: int
    cv: list[Prediction]
    heldout: list[Prediction]
    train_seconds: float
    model_path: str | None
    #: Mean seconds per parse of the fold's test and held-out messages.
    parse_seconds: float = 0.0
    #: The same model parsing with the spelling normaliser switched off (``project`` when
    #: ``project_nospell`` is compared: the normaliser changes nothing at training time, so
    #: one model per fold serves both, on the same folds).
    unspelled_cv: list[Prediction] = field(default_factory=list)
    unspelled_heldout: list[Prediction] = field(default_factory=list)
    unspelled_parse_seconds: float = 0.0


def run_fold(
    pipeline: str,
    fold: int,
    config: dict[str, Any],
    train_file: str,
    test_pairs: list[tuple[str, str]],
    heldout_pairs: list[tuple[str, str]],
    work_dir: str,
    keep_model: bool,
    unspelled: bool = False,
) -> FoldResult:
    """Train one pipeline on one fold's training part and predict its test part and the held-out set.

    Runs in a worker process when the benchmark uses several jobs, so it takes and
    returns only picklable values.
    """
    cache = Path(work_dir) / "results" / f"{pipeline}.fold{fold}.json"
    if cache.exists() and not keep_model:
        # A rerun with the same --work-dir resumes: finished folds are not trained again.
        cached = json.loads(cache.read_text(encoding="utf-8"))
        if (
            cached.get("config") == config
            and cached.get("n") == len(test_pairs) + len(heldout_pairs)
            and bool(cached.get("unspelled_cv")) == unspelled
        ):
            return FoldResult(
                pipeline=pipeline,
                fold=fold,
                cv=[Prediction(**p) for p in cached["cv"]],
                heldout=[Prediction(**p) for p in cached["heldout"]],
                train_seconds=cached["train_seconds"],
                model_path=None,
                parse_seconds=cached.get("parse_seconds", 0.0),
                unspelled_cv=[Prediction(**p) for p in cached.get("unspelled_cv", [])],
                unspelled_heldout=[Prediction(**p) for p in cached.get("unspelled_heldout", [])],
                unspelled_parse_seconds=cached.get("unspelled_parse_seconds", 0.0),
            )
    start = time.perf_counter()
    model = train_model(config, Path(train_file), Path(work_dir) / pipeline, f"fold{fold}")
    seconds = time.perf_counter() - start
    pairs = list(test_pairs) + list(heldout_pairs)
    start = time.perf_counter()
    predictions = predict(model, pairs)
    parse_seconds = (time.perf_counter() - start) / max(len(pairs), 1)
    off: list[Prediction] = []
    off_seconds = 0.0
    if unspelled:
        from models.nlu.spelling import SWITCH_ENV

        before = os.environ.get(SWITCH_ENV)
        os.environ[SWITCH_ENV] = "off"
        try:
            start = time.perf_counter()
            off = predict(model, pairs)
            off_seconds = (time.perf_counter() - start) / max(len(pairs), 1)
        finally:
            if before is None:
                os.environ.pop(SWITCH_ENV, None)
            else:
                os.environ[SWITCH_ENV] = before
    if not keep_model:
        model.unlink(missing_ok=True)
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(
        json.dumps(
            {
                "config": config,
                "n": len(predictions),
                "train_seconds": seconds,
                "cv": [p.__dict__ for p in predictions[: len(test_pairs)]],
                "heldout": [p.__dict__ for p in predictions[len(test_pairs) :]],
                "parse_seconds": parse_seconds,
                "unspelled_cv": [p.__dict__ for p in off[: len(test_pairs)]],
                "unspelled_heldout": [p.__dict__ for p in off[len(test_pairs) :]],
                "unspelled_parse_seconds": off_seconds,
            }
        ),
        encoding="utf-8",
    )
    return FoldResult(
        pipeline=pipeline,
        fold=fold,
        cv=predictions[: len(test_pairs)],
        heldout=predictions[len(test_pairs) :],
        train_seconds=seconds,
        model_path=str(model) if keep_model else None,
        parse_seconds=parse_seconds,
        unspelled_cv=off[: len(test_pairs)],
        unspelled_heldout=off[len(test_pairs) :],
        unspelled_parse_seconds=off_seconds,
    )


def _worker_init() -> None:
    # Parallel workers on a small machine: one compute thread each avoids oversubscription.
    for name in (
        "TF_INTRA_OP_PARALLELISM_THREADS",
        "TF_INTER_OP_PARALLELISM_THREADS",
        "OMP_NUM_THREADS",
        "MKL_NUM_THREADS",
    ):
        os.environ.setdefault(name, "1")
    os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))


def run_benchmark(
    options: BenchOptions, progress: Callable[[str], None] | None = None
) -> dict[str, Any]:
    """Run the whole benchmark and write ``nlu.json`` and the PNGs.

    Every pipeline is trained once per fold; each fold model predicts its test part
    (cross-validation) and the whole held-out set (held-out figures pool the k fold
    models' predictions, so each held-out message is scored k times). The project's
    fold-0 model serves the latency measurement.

    Args:
        options: What to run (see :class:`BenchOptions`).
        progress: Called with a short line before each long step (CLI output).

    Returns:
        The report (also written to ``<out_dir>/nlu.json``).
    """
    from concurrent.futures import Future, ProcessPoolExecutor
    from multiprocessing import get_context

    from tqdm import tqdm

    say = progress or (lambda line: logger.info("%s", line))
    for name in options.pipelines:
        if name not in PIPELINES:
            raise ValueError(f"unknown pipeline {name!r}; choose from {PIPELINES}")
    project_config = options.bot_dir / "config.yml"
    full = load_training_data(nlu_files(options.bot_dir / "data" / "nlu"))
    examples = intent_examples(full)
    if options.quick:
        examples = subsample_per_intent(examples, options.per_intent, options.seed)
    epochs = options.quick_epochs if options.quick else None
    labels = [m.get("intent") for m in examples]
    folds = stratified_folds(labels, options.folds, options.seed)
    heldout_pairs: list[tuple[str, str]] = []
    if options.heldout:
        heldout_pairs = [
            (m.get("text"), m.get("intent"))
            for m in intent_examples(load_training_data([options.heldout]))
        ]
    old_heldout = len(heldout_pairs)
    shopper_in: list[Any] = []
    shopper_oos: list[Any] = []
    if options.shopper_heldout:
        from models.heldout_eval import load as load_shopper_heldout

        shopper_in, shopper_oos = load_shopper_heldout(options.shopper_heldout)
        heldout_pairs += [(e.text, e.intent) for e in shopper_in + shopper_oos]

    temp = None
    work_dir = options.work_dir
    if work_dir is None:
        temp = tempfile.TemporaryDirectory(prefix="shopbot-bench-nlu-")
        work_dir = Path(temp.name)
    work_dir.mkdir(parents=True, exist_ok=True)
    figures_dir = options.out_dir / "nlu"
    report: dict[str, Any] = {
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "quick": options.quick,
        "folds": options.folds,
        "examples": len(examples),
        "intents": len(set(labels)),
        "heldout_examples": old_heldout,
        "shopper_heldout_examples": len(heldout_pairs) - old_heldout,
        "heldout_scoring": f"pooled predictions of the {options.folds} fold models",
        "scoring": "nlu_fallback counts as out_of_scope; OOS recall = share of out_of_scope "
        "messages predicted out_of_scope or nlu_fallback",
        "pipelines": {},
    }
    tasks = []
    for fold_index, test_indices in enumerate(folds):
        test_set = set(test_indices)
        train_file = work_dir / f"fold{fold_index}.train.yml"
        train_part = [m for i, m in enumerate(examples) if i not in test_set]
        train_file.write_text(
            subset_training_data(full, train_part).nlu_as_yaml(), encoding="utf-8"
        )
        test_pairs = [(examples[i].get("text"), examples[i].get("intent")) for i in test_indices]
        shared_spelling = "project" in options.pipelines and "project_nospell" in options.pipelines
        for name in options.pipelines:
            if name == "project_nospell" and shared_spelling:
                continue  # parsed by the "project" fold models with the normaliser off
            keep = (
                options.latency
                and not options.server_url
                and fold_index == 0
                and (name == "project" or "project" not in options.pipelines)
            )
            tasks.append(
                (
                    name,
                    fold_index,
                    pipeline_config(name, project_config, epochs),
                    str(train_file),
                    test_pairs,
                    heldout_pairs,
                    str(work_dir),
                    keep,
                    name == "project" and shared_spelling,
                )
            )
    # Longest trainings first (Rasa's default DIET runs 100 epochs) so workers finish together.
    tasks.sort(key=lambda t: (t[0] != "rasa_default", t[1]))
    results: list[FoldResult] = []
    try:
        bar = tqdm(total=len(tasks), desc="bench nlu", unit="model")
        if options.jobs > 1:
            with ProcessPoolExecutor(
                max_workers=options.jobs, mp_context=get_context("spawn"), initializer=_worker_init
            ) as pool:
                futures: list[Future[FoldResult]] = [pool.submit(run_fold, *t) for t in tasks]
                say(f"{len(tasks)} trainings on {options.jobs} worker processes")
                for future in futures:
                    result = future.result()
                    say(
                        f"{result.pipeline}: fold {result.fold + 1}/{len(folds)} done "
                        f"({result.train_seconds:.0f} s training)"
                    )
                    results.append(result)
                    bar.update(1)
        else:
            for task in tasks:
                say(f"{task[0]}: fold {task[1] + 1}/{len(folds)}")
                results.append(run_fold(*task))
                bar.update(1)
        bar.close()

        for name in options.pipelines:
            mine = [r for r in results if r.pipeline == name]
            if name == "project_nospell" and not mine:
                mine = [
                    FoldResult(
                        pipeline=name,
                        fold=r.fold,
                        cv=r.unspelled_cv,
                        heldout=r.unspelled_heldout,
                        train_seconds=r.train_seconds,
                        model_path=None,
                        parse_seconds=r.unspelled_parse_seconds,
                    )
                    for r in results
                    if r.pipeline == "project"
                ]
            cv = [p for r in mine for p in r.cv]
            held = [p for r in mine for p in r.heldout[:old_heldout]]
            entry: dict[str, Any] = {
                "description": PIPELINE_HELP[name],
                "config": pipeline_config(name, project_config, epochs)["pipeline"],
                "cv": score(cv),
                "train_seconds_mean": round(float(np.mean([r.train_seconds for r in mine])), 1),
                "parse_ms_mean": round(1000 * float(np.mean([r.parse_seconds for r in mine])), 2),
                "confusion_png": str(
                    plot_confusion(
                        cv,
                        figures_dir / f"confusion_{name}.png",
                        f"{name}: {options.folds}-fold CV intent confusion",
                    )
                ),
            }
            if held:
                entry["heldout"] = score(held)
                errors = Counter(
                    (p.text, p.gold, p.predicted) for p in held if p.gold != scored_label(p)
                )
                entry["heldout"]["errors"] = [
                    {"text": t, "gold": g, "predicted": pr, "folds": c}
                    for (t, g, pr), c in errors.most_common()
                ]
                plot_confusion(
                    held,
                    figures_dir / f"confusion_{name}_heldout.png",
                    f"{name}: held-out intent confusion",
                )
            if shopper_in:
                entry["shopper_heldout"] = shopper_figures(
                    [r.heldout[old_heldout:] for r in mine], shopper_in, shopper_oos
                )
            report["pipelines"][name] = entry

        if options.latency:
            texts = [t for t, _ in heldout_pairs] or [m.get("text") for m in examples]
            texts = (texts * (options.latency_messages // max(len(texts), 1) + 1))[
                : options.latency_messages
            ]
            if options.server_url:
                say(f"latency: timing {len(texts)} parses on {options.server_url}")
                report["latency"] = time_parses(options.server_url, options.token, texts)
            else:
                kept = next(r for r in results if r.model_path)
                model = Path(kept.model_path or "")
                say(f"latency: starting a Rasa server with the {kept.pipeline} fold-0 model")
                token = options.token or f"bench-{random.Random().getrandbits(64):x}"
                with RasaServer(model, token, work_dir / "server") as server:
                    say(f"latency: timing {len(texts)} parses on {server.url}")
                    report["latency"] = time_parses(server.url, token, texts)
                    report["latency"]["model"] = f"{kept.pipeline} (fold 0)"
    finally:
        if temp is not None:
            temp.cleanup()
    options.out_dir.mkdir(parents=True, exist_ok=True)
    (options.out_dir / "nlu.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    return report


def shopper_figures(
    per_fold: list[list[Prediction]], in_scope: list[Any], oos: list[Any]
) -> dict[str, Any]:
    """Issue-12 figures (topic macro, fallback, OOS recall), averaged over fold models."""
    from models.heldout_eval import score as heldout_score

    runs = []
    for predictions in per_fold:
        answers = iter([(p.predicted, p.confidence) for p in predictions])

        def replay(texts: Any, answers: Any = answers) -> list[tuple[str, float]]:
            return [next(answers) for _ in texts]

        runs.append(heldout_score(replay, in_scope, oos))
    keys = (
        "topic_accuracy_macro",
        "conversational_accuracy_macro",
        "fallback_rate",
        "oos_recall",
    )
    figures: dict[str, Any] = {
        k: round(float(np.mean([r[k] for r in runs if r[k] is not None])), 4) for k in keys
    }
    figures["folds"] = len(runs)
    figures["per_kind"] = {
        kind: round(float(np.mean([r["per_kind"][kind] for r in runs])), 3)
        for kind in runs[0]["per_kind"]
    }
    return figures


def summary_lines(report: dict[str, Any]) -> list[str]:
    """Human-readable table of a report (the CLI prints it)."""

    def fmt(value: Any) -> str:
        return "-" if value is None else f"{value:.3f}"

    lines = [
        f"{'pipeline':<16} {'set':<8} {'n':>5} {'acc':>6} {'macroF1':>8} {'OOSrec':>7} {'fallback':>8}"
    ]
    for name, entry in report["pipelines"].items():
        for part in ("cv", "heldout"):
            if part in entry:
                s = entry[part]
                lines.append(
                    f"{name:<16} {part:<8} {s['n']:>5} {fmt(s['accuracy']):>6} {fmt(s['macro_f1']):>8} "
                    f"{fmt(s['out_of_scope_recall']):>7} {fmt(s['in_scope_fallback_rate']):>8}"
                )
    shopper = {
        n: e["shopper_heldout"] for n, e in report["pipelines"].items() if "shopper_heldout" in e
    }
    if shopper:
        lines.append("")
        lines.append(
            f"held-out shopper messages (bot/eval/heldout, {report.get('shopper_heldout_examples')}"
            " messages, mean of the fold models):"
        )
        lines.append(
            f"{'pipeline':<16} {'topic macro':>11} {'chat macro':>10} {'fallback':>8} "
            f"{'OOS recall':>10} {'train s':>8}"
        )
        for name, s in shopper.items():
            train = report["pipelines"][name].get("train_seconds_mean")
            lines.append(
                f"{name:<16} {fmt(s['topic_accuracy_macro']):>11} "
                f"{fmt(s['conversational_accuracy_macro']):>10} {fmt(s['fallback_rate']):>8} "
                f"{fmt(s['oos_recall']):>10} {train:>8}"
            )
    if "latency" in report:
        lat = report["latency"]
        lines.append(
            f"parse latency over HTTP: p50 {lat['p50_ms']} ms, p95 {lat['p95_ms']} ms (n={lat['n']})"
        )
    return lines
