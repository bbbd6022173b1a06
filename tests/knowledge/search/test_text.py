"""The texts the indexes embed: short, without repeating what the title already says."""

from __future__ import annotations

from knowledge.search.text import lexical_text, novel_sentences, product_text

ROW = {
    "sku": "JEA-00001",
    "title": "Riverside Canal 6 Skinny Jeans, Light Blue",
    "brand": "Riverside",
    "category": "jeans",
    "attributes": {
        "colour": "light blue",
        "material": "organic cotton denim",
        "sizes": ["W28/L30", "W28/L32", "W30/L30"],
    },
    "description": "Meet the Riverside Canal 6 Skinny Jeans: Riverside's skinny jeans in light "
    "blue, made of organic cotton denim. They feature five classic pockets and reinforced "
    "rivets. Available in sizes W28/L30 to W30/L30.",
}


def test_product_text_leaves_out_size_lists_and_repeated_sentences():
    text = product_text(ROW)
    assert text.startswith("Riverside Canal 6 Skinny Jeans, Light Blue. by Riverside. jeans.")
    assert "light blue organic cotton denim" in text
    assert "five classic pockets" in text  # the description's news stays
    assert "Meet the" not in text  # it only repeats the title and attributes
    assert "['W28/L30'" not in text and "W28/L32" not in text


def test_the_lexical_text_keeps_every_size_for_bm25():
    text = lexical_text("products", ROW)
    assert "W28/L30 W28/L32 W30/L30" in text and "['" not in text


def test_novel_sentences():
    known = {"red", "shoes"}
    kept = novel_sentences("Red shoes. Red shoes with laces and a heel. Shoes.", known)
    assert kept == ["Red shoes with laces and a heel."]
    assert {"laces", "heel"} <= known
    assert novel_sentences("", set()) == []
