"""The tokenizer trained on the project's text."""

from __future__ import annotations

from models.generator.pairs import SyntheticFacts, make_pairs
from models.generator.tokenizer import placeholder_tokens, train_tokenizer


def _tokenizer():
    pairs = make_pairs(SyntheticFacts(0).fact_sets(300), per_set=2)
    return pairs, train_tokenizer(
        [p.source for p in pairs] + [p.target for p in pairs], vocab_size=600
    )


def test_t5_special_ids_and_placeholders_are_single_tokens():
    pairs, tok = _tokenizer()
    assert (tok.pad_token_id, tok.eos_token_id) == (0, 1)
    for token in placeholder_tokens():
        ids = tok(token, add_special_tokens=False).input_ids
        assert len(ids) == 1, token
    ids = tok(pairs[0].target).input_ids
    assert ids[-1] == tok.eos_token_id


def test_round_trip_keeps_placeholders(tmp_path):
    from transformers import AutoTokenizer

    pairs, tok = _tokenizer()
    tok.save_pretrained(tmp_path)
    loaded = AutoTokenizer.from_pretrained(tmp_path)
    for pair in pairs[:50]:
        ids = loaded(pair.target).input_ids
        assert ids == tok(pair.target).input_ids
        assert loaded.decode(ids, skip_special_tokens=True) == pair.target
