"""The text the product index embeds (kept as it was: shorter ones measured worse)."""

from __future__ import annotations

from knowledge.search.text import product_text

ROW = {
    "sku": "JEA-00001",
    "title": "Riverside Canal 6 Skinny Jeans, Light Blue",
    "brand": "Riverside",
    "category": "jeans",
    "attributes": {"colour": "light blue", "material": "organic cotton denim"},
    "description": "Meet the Riverside Canal 6 Skinny Jeans. They feature five classic pockets.",
}


def test_product_text_is_title_brand_category_attributes_description():
    assert product_text(ROW) == (
        "Riverside Canal 6 Skinny Jeans, Light Blue. by Riverside. jeans. "
        "light blue organic cotton denim. Meet the Riverside Canal 6 Skinny Jeans. "
        "They feature five classic pockets."
    )
    assert product_text(ROW, description_chars=8).endswith("denim. Meet the")


def test_question_parts_of_a_long_message():
    from knowledge.search.text import question_parts

    text = (
        "Hi there. I am buying a coat for my brother and I do not know his size. "
        "If it is too small, how many days do I have to return it and will I be refunded in full?"
    )
    parts = question_parts(text)
    assert parts[0].startswith("If it is too small")
    assert "how many days do I have to return it" in parts
    assert "will I be refunded in full" in parts
    assert question_parts("how long does shipping take?") == []
