"""A BPE tokenizer trained on the project's own text, usable by T5.

The tokenizer is trained with the ``tokenizers`` library (BPE: on this small, repetitive
corpus the Unigram trainer left common words split into letters, BPE keeps whole words,
so sequences are shorter and training faster) on the linearised inputs and
targets, then wrapped as a transformers fast tokenizer (``<pad>`` = 0, ``</s>`` = 1,
``<unk>`` = 2, as T5 expects; ``</s>`` appended to every sequence). The placeholders
(``[order_number]`` ...) are added tokens, so each is a single token and survives
``decode(skip_special_tokens=True)``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from models.generator.tasks import PLACEHOLDER_RE, all_placeholder_names

logger = logging.getLogger(__name__)

SPECIAL_TOKENS = ["<pad>", "</s>", "<unk>"]


def placeholder_tokens() -> list[str]:
    """Every placeholder as it appears in text, e.g. ``[order_number]``."""
    return [f"[{name}]" for name in all_placeholder_names()]


def train_tokenizer(texts: Iterable[str], vocab_size: int = 1200) -> Any:
    """Train a BPE tokenizer and return it as a transformers fast tokenizer.

    Args:
        texts: Training text (linearised inputs and targets).
        vocab_size: Target vocabulary size (the Unigram trainer may stop below it).

    Returns:
        A ``PreTrainedTokenizerFast`` with T5's special tokens and the placeholders.
    """
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from tokenizers.trainers import BpeTrainer
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Replace("  ", " ")])
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first"),
            pre_tokenizers.Punctuation(),
        ]
    )
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="first")
    trainer = BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS, show_progress=False)
    # Placeholders become added tokens; keep them out of the merges.
    tok.train_from_iterator([PLACEHOLDER_RE.sub(" ", t) for t in texts], trainer=trainer)
    tok.post_processor = processors.TemplateProcessing(
        single="$A </s>", pair="$A </s> $B </s>", special_tokens=[("</s>", 1)]
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, pad_token="<pad>", eos_token="</s>", unk_token="<unk>"
    )
    add_placeholders(fast)
    assert fast.pad_token_id == 0 and fast.eos_token_id == 1, "T5 expects pad=0, eos=1"
    logger.info("tokenizer trained: %d tokens", len(fast))
    return fast


def add_placeholders(tokenizer: Any) -> int:
    """Add the placeholder tokens (not special: they must survive decoding).

    Returns:
        How many tokens were new.
    """
    from tokenizers import AddedToken

    tokens = [
        AddedToken(t, single_word=False, lstrip=False, rstrip=False, normalized=False)
        for t in placeholder_tokens()
    ]
    return tokenizer.add_tokens(tokens)


def clean_decoded(text: str) -> str:
    """Tidy spacing left around added tokens by decoding (``[x] .`` -> ``[x].``)."""
    import re

    text = re.sub(r"\s+([.,:;!?)])", r"\1", text)
    text = re.sub(r"([(])\s+", r"\1", text)
    return re.sub(r"\s{2,}", " ", text).strip()
