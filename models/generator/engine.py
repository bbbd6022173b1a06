"""Inference: candidates from the model, the guard, filling, the template fallback.

:class:`GeneratorEngine` is shared by training (evaluation), the HTTP service and the
benchmark. It needs only torch and transformers (and, optionally, ctranslate2 for the
CTranslate2 backend).
"""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from models.generator.guard import FactGuard
from models.generator.tasks import Task, linearize, template_reply
from models.generator.tokenizer import clean_decoded

logger = logging.getLogger(__name__)

GUARD_VOCAB_FILE = "guard_vocab.json"
CT2_DIR = "ct2"


@dataclass
class Generated:
    """One served reply.

    Attributes:
        text: Final text (filled).
        source: ``"model"`` or ``"template"``.
        guard: ``{"ok", "reason", "candidates", "rejections"}``: the chosen candidate's
            result, how many candidates were checked and why the others were rejected.
        delex: The chosen delexicalised candidate (empty for templates).
    """

    text: str
    source: str
    guard: dict[str, Any] = field(default_factory=dict)
    delex: str = ""


def resolve_device(device: str) -> str:
    """``auto`` -> ``cuda`` when available, else ``cpu``."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("--device cuda asked for, but CUDA is not available")
    return device


def model_exists(model_dir: str | Path) -> bool:
    """True if a trained model (config + weights) is in the folder."""
    d = Path(model_dir)
    return (d / "config.json").exists() and any(
        (d / name).exists() for name in ("model.safetensors", "pytorch_model.bin")
    )


class GeneratorEngine:
    """Generates guarded replies with a T5 model.

    Args:
        model: A ``T5ForConditionalGeneration`` (already on ``device``).
        tokenizer: Its tokenizer (with the placeholder tokens).
        guard: The fact guard.
        device: ``cpu`` or ``cuda``.
        num_candidates: Candidates per request; the first that passes the guard is served.
        max_new_tokens: Longest candidate.
        temperature / top_p: Sampling settings (models trained without styles).
        backend: ``torch`` or ``ct2`` (CTranslate2 translator in ``ct2_translator``).
        num_styles: Wording styles the model was trained with (0: none, then candidates
            are sampled). With styles, each candidate is a greedy decode of the input
            with a different random style, so wording varies and decoding stays cheap.
        correction_tasks: Tasks with staff-approved corrections; their reserved style is
            tried first.
        seed: Seed of the style choice (``None``: a different choice every run).
        lazy_candidates: Decode a request's first candidate alone and the others only
            when the guard rejects it (the first passes for about 98 % of requests with a
            trained model); ``False`` decodes all ``num_candidates`` together up front, as
            before issue 14's fix ``gen-first-candidate``. The reply chosen is the same:
            the candidates are the same inputs tried in the same order.
    """

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        guard: FactGuard | None = None,
        device: str = "cpu",
        num_candidates: int = 4,
        max_new_tokens: int = 96,
        temperature: float = 0.9,
        top_p: float = 0.95,
        backend: str = "torch",
        ct2_translator: Any = None,
        num_styles: int = 0,
        correction_tasks: Sequence[str] = (),
        seed: int | None = None,
        lazy_candidates: bool = True,
    ) -> None:
        self.num_styles = num_styles
        self.correction_tasks = set(correction_tasks)
        self._rng = random.Random(seed)
        self.model = model
        self.tokenizer = tokenizer
        self.guard = guard or FactGuard()
        self.device = device
        self.num_candidates = num_candidates
        self.max_new_tokens = max_new_tokens
        self.temperature = temperature
        self.top_p = top_p
        self.backend = backend
        self.ct2_translator = ct2_translator
        self.lazy_candidates = lazy_candidates

    @classmethod
    def load(
        cls,
        model_dir: str | Path,
        device: str = "auto",
        backend: str = "torch",
        num_candidates: int = 4,
        threads: int | None = None,
        lazy_candidates: bool = True,
    ) -> GeneratorEngine:
        """Load a trained model folder (as written by ``shopbot generator train``).

        On CUDA the weights are cast to bf16 (fp16 where bf16 is not supported).
        ``lazy_candidates``: see :class:`GeneratorEngine`.
        """
        import torch
        from transformers import AutoTokenizer, T5ForConditionalGeneration

        model_dir = Path(model_dir)
        device = resolve_device(device)
        tokenizer = AutoTokenizer.from_pretrained(model_dir)
        vocab_path = model_dir / GUARD_VOCAB_FILE
        vocab: dict[str, Any] = {}
        if vocab_path.exists():
            vocab = json.loads(vocab_path.read_text(encoding="utf-8"))
        guard = FactGuard(known_products=vocab.get("products", []), known_words=vocab.get("words"))
        train_config: dict[str, Any] = {}
        if (model_dir / "training_config.json").exists():
            train_config = json.loads((model_dir / "training_config.json").read_text())
        translator = None
        model: Any = None
        if backend == "ct2":
            import ctranslate2

            ct2_path = model_dir / CT2_DIR
            if not _ct2_current(model_dir, ct2_path):
                convert_to_ct2(model_dir, ct2_path)
            compute = "int8" if device == "cpu" else "bfloat16"
            translator = ctranslate2.Translator(
                str(ct2_path),
                device=device,
                compute_type=compute,
                intra_threads=threads or 0,
            )
        else:
            dtype = torch.float32
            if device == "cuda":
                dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
            model = T5ForConditionalGeneration.from_pretrained(model_dir, dtype=dtype)
            model.to(device)
            model.eval()
        logger.info("generator loaded from %s on %s (backend %s)", model_dir, device, backend)
        return cls(
            model,
            tokenizer,
            guard,
            device=device,
            num_candidates=num_candidates,
            backend=backend,
            ct2_translator=translator,
            num_styles=int(train_config.get("num_styles", 0)),
            correction_tasks=train_config.get("correction_tasks", []),
            lazy_candidates=lazy_candidates,
        )

    def reseed(self, seed: int | None) -> None:
        """Restart the style choice from ``seed`` (evaluations compare like with like)."""
        self._rng = random.Random(seed)

    # ------------------------------------------------------------------ raw generation

    def raw_candidates(
        self, sources: Sequence[str], n: int | None = None, sample: bool = True
    ) -> list[list[str]]:
        """Delexicalised candidates for each linearised input.

        Args:
            sources: Linearised inputs.
            n: Candidates per input (default ``num_candidates``; 1 when not sampling).
            sample: Sample (varied wording) or decode greedily.
        """
        if not sources:
            return []
        n = 1 if not sample else (n or self.num_candidates)
        if self.backend == "ct2":
            return self._ct2_candidates(sources, n, sample)
        import torch

        enc = self.tokenizer(list(sources), return_tensors="pt", padding=True)
        enc = {k: v.to(self.device) for k, v in enc.items() if k in ("input_ids", "attention_mask")}
        kwargs: dict[str, Any] = {"max_new_tokens": self.max_new_tokens}
        if sample:
            kwargs.update(
                do_sample=True,
                temperature=self.temperature,
                top_p=self.top_p,
                num_return_sequences=n,
            )
        else:
            kwargs.update(do_sample=False, num_beams=1)
        with torch.inference_mode():
            out = self.model.generate(**enc, **kwargs)
        texts = [
            clean_decoded(t) for t in self.tokenizer.batch_decode(out, skip_special_tokens=True)
        ]
        return [texts[i * n : (i + 1) * n] for i in range(len(sources))]

    def _ct2_candidates(self, sources: Sequence[str], n: int, sample: bool) -> list[list[str]]:
        tokens = [
            self.tokenizer.convert_ids_to_tokens(self.tokenizer(s).input_ids) for s in sources
        ]
        kwargs: dict[str, Any] = {"max_decoding_length": self.max_new_tokens, "beam_size": 1}
        if sample:
            kwargs.update(
                sampling_topk=0,
                sampling_topp=self.top_p,
                sampling_temperature=self.temperature,
                num_hypotheses=n,
            )
        # CTranslate2 returns one hypothesis per call with sampling; repeat the batch.
        batch = [t for t in tokens for _ in range(n)] if sample else tokens
        if sample:
            kwargs["num_hypotheses"] = 1
        results = self.ct2_translator.translate_batch(batch, **kwargs)
        texts = []
        for r in results:
            ids = self.tokenizer.convert_tokens_to_ids(r.hypotheses[0])
            texts.append(clean_decoded(self.tokenizer.decode(ids, skip_special_tokens=True)))
        per = n if sample else 1
        return [texts[i * per : (i + 1) * per] for i in range(len(sources))]

    # ------------------------------------------------------------------ guarded replies

    def choose(self, task: Task, facts: dict[str, Any], candidates: Sequence[str]) -> Generated:
        """Guard the candidates in order; the first that passes is filled, else the template."""
        rejections: list[str] = []
        for i, delex in enumerate(candidates):
            result, text = self.guard.check(task, facts, delex)
            if result.ok:
                return Generated(
                    text=text,
                    source="model",
                    guard={"ok": True, "reason": "", "candidates": i + 1, "rejections": rejections},
                    delex=delex,
                )
            rejections.append(result.reason)
        return Generated(
            text=template_reply(task.name, facts),
            source="template",
            guard={
                "ok": False,
                "reason": rejections[-1] if rejections else "no candidates",
                "candidates": len(candidates),
                "rejections": rejections,
            },
        )

    def candidate_sources(
        self, task: Task, facts: dict[str, Any], n: int | None = None
    ) -> list[str]:
        """Model inputs of one request's candidates (one per style; one without styles)."""
        if not self.num_styles:
            return [linearize(task, facts)]
        n = min(n or self.num_candidates, self.num_styles)
        styles = self._rng.sample(range(self.num_styles), n)
        if task.name in self.correction_tasks:
            styles = [self.num_styles] + styles[: n - 1]
        return [linearize(task, facts, style=s) for s in styles]

    def candidate_plans(
        self, items: Sequence[tuple[Task, dict[str, Any]]], n: int | None = None
    ) -> list[list[str]]:
        """Each request's model inputs, one per candidate, in the order they are tried.

        With styles: one input per random style (:meth:`candidate_sources`), each decoded
        greedily. Without: the request's one input ``n`` (default ``num_candidates``)
        times, each sampled.
        """
        if not self.num_styles:
            return [[linearize(t, f)] * (n or self.num_candidates) for t, f in items]
        return [self.candidate_sources(t, f, n) for t, f in items]

    def decode(self, sources: Sequence[str]) -> list[str]:
        """One delexicalised candidate per input (greedy with styles, sampled without)."""
        if not sources:
            return []
        decoded = self.raw_candidates(list(sources), n=1, sample=not self.num_styles)
        return [d[0] for d in decoded]

    def candidates(
        self, items: Sequence[tuple[Task, dict[str, Any]]], n: int | None = None
    ) -> list[list[str]]:
        """Delexicalised candidates for each request, in the order they are to be tried."""
        plans = self.candidate_plans(items, n)
        decoded = self.decode([src for plan in plans for src in plan])
        out, i = [], 0
        for plan in plans:
            out.append(decoded[i : i + len(plan)])
            i += len(plan)
        return out

    def generate(self, items: Sequence[tuple[Task, dict[str, Any]]]) -> list[Generated]:
        """Guarded replies for a batch of ``(task, facts)`` (facts already validated)."""
        if not items:
            return []
        if self.lazy_candidates:
            return self._generate_lazily(items)
        try:
            candidates = self.candidates(items)
        except Exception:  # noqa: BLE001 - a model failure degrades to templates
            logger.exception("generation failed; serving templates for %d requests", len(items))
            candidates = [[] for _ in items]
        return [
            self.choose(task, facts, c) for (task, facts), c in zip(items, candidates, strict=True)
        ]

    def _generate_lazily(self, items: Sequence[tuple[Task, dict[str, Any]]]) -> list[Generated]:
        """:meth:`generate` in two rounds: every request's first candidate in one batch,
        then the remaining candidates of the requests whose first one the guard rejected."""
        try:
            plans = self.candidate_plans(items)
            firsts = self.decode([plan[0] for plan in plans])
        except Exception:  # noqa: BLE001 - a model failure degrades to templates
            logger.exception("generation failed; serving templates for %d requests", len(items))
            return [self.choose(task, facts, []) for task, facts in items]
        replies: list[Generated | None] = []
        retry: list[int] = []
        for i, ((task, facts), delex) in enumerate(zip(items, firsts, strict=True)):
            first = self.choose(task, facts, [delex])
            replies.append(first if first.source == "model" else None)
            if first.source != "model" and len(plans[i]) > 1:
                retry.append(i)
        rest: list[list[str]] = [[] for _ in retry]
        if retry:
            try:
                flat = self.decode([src for i in retry for src in plans[i][1:]])
            except Exception:  # noqa: BLE001 - the first candidates were checked already
                logger.exception("generation failed; serving templates for %d requests", len(retry))
                flat = []
            pos = 0
            for k, i in enumerate(retry):
                count = len(plans[i]) - 1
                rest[k] = flat[pos : pos + count]
                pos += count
        rest_of = dict(zip(retry, rest, strict=True))
        out = []
        for i, (task, facts) in enumerate(items):
            reply = replies[i]
            if reply is None:
                reply = self.choose(task, facts, [firsts[i], *rest_of.get(i, [])])
            out.append(reply)
        return out


def _ct2_current(model_dir: Path, ct2_path: Path) -> bool:
    """Whether the CTranslate2 copy exists and is newer than the weights (a retrained
    model in the same folder must not be served from the old copy)."""
    try:
        converted = (ct2_path / "model.bin").stat().st_mtime_ns
    except OSError:
        return False
    weights = [model_dir / n for n in ("model.safetensors", "pytorch_model.bin")]
    newest = max((w.stat().st_mtime_ns for w in weights if w.exists()), default=0)
    return converted >= newest


def convert_to_ct2(
    model_dir: str | Path, output_dir: str | Path, quantization: str | None = None
) -> Path:
    """Convert a trained T5 folder to the CTranslate2 format (needs ``ctranslate2``)."""
    from ctranslate2.converters import TransformersConverter

    output_dir = Path(output_dir)
    converter = TransformersConverter(str(model_dir))
    converter.convert(str(output_dir), quantization=quantization, force=True)
    logger.info("CTranslate2 model written to %s", output_dir)
    return output_dir
