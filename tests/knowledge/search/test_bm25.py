"""BM25 and its tokenizer."""

from __future__ import annotations

from knowledge.search.bm25 import BM25Index
from knowledge.search.text import Tokenizer, product_lexical_text


def test_tokenizer_keeps_skus_and_brand_names():
    tok = Tokenizer(phrases=["Basic Threads", "Bramble & Co"])
    tokens = tok.tokens(
        "Do you have RUN-00001 or Basic Threads t-shirts? Bramble & Co boots, H&M, Levi's"
    )
    assert "run-00001" in tokens and "run00001" in tokens
    assert "basic_threads" in tokens
    assert "bramble_co" in tokens
    assert "t-shirt" in tokens and "tshirt" in tokens and "shirt" in tokens
    assert "boot" in tokens  # plural stemmed
    assert "h&m" in tokens and "levis" in tokens
    assert "you" not in tokens  # stopword


def test_stemming_leaves_numbers_alone():
    tok = Tokenizer()
    assert tok.tokens("dresses boots batteries 5.3 28l") == [
        "dress",
        "boot",
        "battery",
        "5.3",
        "28l",
    ]


def docs():
    return [
        (1, "RUN-00001 Trailblazer Trail Running Shoe Stridewell running shoes blue mesh"),
        (2, "BOO-00002 Highland Leather Hiking Boot Fjellmark boots brown leather"),
        (3, "JAC-00003 Stormshell Waterproof Rain Jacket Northcrest jackets red nylon"),
        (4, "TSH-00004 Organic Cotton Crew T-Shirt Basic Threads t-shirts white"),
    ]


def test_search_ranks_exact_terms():
    bm = BM25Index(Tokenizer(["Basic Threads"]))
    bm.index(docs())
    assert bm.search("BOO-00002")[0][0] == 2
    assert bm.search("boo00002")[0][0] == 2
    assert bm.search("basic threads tee")[0][0] == 4
    assert bm.search("waterproof jackets")[0][0] == 3
    assert bm.search("nothing matches zzz") == []
    assert [i for i, _ in bm.search("leather boots running shoes", k=1)] in ([1], [2])


def test_allowed_and_incremental_updates():
    bm = BM25Index()
    bm.index(docs())
    assert bm.search("leather", allowed={1, 3}) == []
    bm.add([(5, "Suede Chelsea Boot brown leather")])
    bm.remove([2])
    assert bm.count() == 4 and 2 not in bm
    assert [i for i, _ in bm.search("leather")] == [5]
    bm.add([(5, "Denim jacket")])  # replace
    assert bm.search("leather") == []


def test_scores_are_positive_and_sorted():
    bm = BM25Index()
    bm.index(docs())
    hits = bm.search("running shoes leather boots", k=4)
    scores = [s for _, s in hits]
    assert scores == sorted(scores, reverse=True) and all(s > 0 for s in scores)


def test_coverage_is_scale_free():
    bm = BM25Index()
    bm.index(docs())
    assert bm.coverage("hiking boot", 2) == 1.0
    assert 0.0 < bm.coverage("hiking boot unicorn", 2) < 1.0
    assert bm.coverage("", 2) == 0.0


def test_product_lexical_text_has_sku_brand_and_attributes():
    text = product_lexical_text(
        {
            "sku": "X-1",
            "title": "Pulse Headphones",
            "brand": "Sonara",
            "category": "headphones",
            "attributes": {"colour": "black"},
            "description": "Noise cancelling.",
        }
    )
    for word in ("X-1", "Pulse", "Sonara", "headphones", "black", "Noise"):
        assert word in text


def test_empty_index():
    bm = BM25Index()
    bm.index([])
    assert bm.search("anything") == []
