"""Gift requests: reading their themes, the themes file, and ranking products that fit."""

from __future__ import annotations

import json

import pytest

from knowledge.search import SearchIndexes
from knowledge.search.gifts import (
    GiftPick,
    GiftRequest,
    category_names,
    load_themes,
    rank_gifts,
    read_gift_request,
    spread,
)


@pytest.mark.parametrize(
    ("text", "interests", "person", "age", "occasion"),
    [
        ("gift for my dad who likes cooking", ["cooking"], "dad", None, None),
        ("my girlfriend loves reading and yoga", ["reading", "yoga"], "partner_f", None, None),
        ("present for a 10-year-old", [], None, 10, None),
        ("something for my 6 yo nephew who is into gaming", ["gaming"], None, 6, None),
        ("housewarming gift under 50", [], None, None, "housewarming"),
        ("secret santa for a colleague", [], "colleague", None, "christmas"),
        ("christmas present for my grandma who loves tea", ["coffee"], "mum", None, "christmas"),
        ("mother's day ideas", [], "mum", None, "mothers_day"),
        ("show me jackets", [], None, None, None),
    ],
)
def test_read_gift_request_finds_the_themes(text, interests, person, age, occasion):
    request = read_gift_request(text)
    assert request.interests == interests
    assert request.person == person
    assert request.age == age
    assert request.occasion == occasion
    assert request.found == bool(interests or person or age is not None or occasion)


def test_the_word_for_the_person_is_kept_for_the_reply():
    assert read_gift_request("a present for my grandma").person_word == "grandma"


def test_a_request_survives_the_conversation_slot():
    request = read_gift_request("my dad loves hiking, for his birthday")
    request.max_price = 80.0
    again = GiftRequest.from_dict(json.loads(json.dumps(request.to_dict())))
    assert again == request
    assert GiftRequest.from_dict({"interests": ["astrology"], "person": "x"}).found is False


def test_a_narrowed_request_survives_the_conversation_slot():
    request = read_gift_request("gift ideas for a hiker")
    request.category, request.brand, request.size = "boots", "Test", "43"
    request.colour, request.colours = "green", ["green", "olive", "teal"]
    again = GiftRequest.from_dict(json.loads(json.dumps(request.to_dict())))
    assert again == request and again.narrowed
    assert not read_gift_request("gift ideas for a hiker").narrowed


def test_category_names_match_whole_words_only():
    names = ["Kitchen & Dining", "steak knives", "Books", "t-shirts"]
    assert category_names("kitchen", names) == ["Kitchen & Dining"]
    assert category_names("tea", names) == []
    assert category_names("book", names) == ["Books"]
    assert category_names("t shirts", names) == ["t-shirts"]


def test_the_themes_file_is_valid_and_complete():
    themes = load_themes()
    keys = themes.by_key()
    for name in ("cooking", "running", "gaming", "reading", "dad", "colleague", "wedding"):
        assert name in keys
    assert all(t.pattern for t in (*themes.interests, *themes.persons, *themes.occasions))
    assert all(low <= high for low, high, _ in themes.ages)


def test_a_bad_themes_file_fails_when_read(tmp_path):
    path = tmp_path / "themes.yml"
    path.write_text("interests:\n  x:\n    words: '(unclosed'\n")
    with pytest.raises(ValueError, match="bad gift theme"):
        load_themes(path)


# ----------------------------------------------------------------------------- ranking
#: id, sku, title, category, price, stock, rating, attributes
GIFT_ROWS = [
    (201, "G-PHONE", "Armor Phone Case", "phone cases", 19.0, 50, 5.0, {}),
    (202, "G-HEAD", "Pulse Wireless Headphones", "headphones", 89.0, 50, 5.0, {}),
    (203, "G-KNIFE", "Pro Chef's Knife", "kitchen", 39.95, 10, 4.0, {}),
    (204, "G-PAN", "Classic Frying Pan", "kitchen", 45.0, 0, 4.9, {}),
    (205, "G-BOARD", "Oak Cutting Board", "kitchen", 79.0, 8, 4.1, {}),
    (206, "G-BRICKS", "City Building Set", "toys", 29.0, 9, 4.5, {"age": "5+"}),
    (207, "G-CAR", "Remote Control Car", "toys", 59.0, 9, 4.8, {"age": "12+"}),
    (208, "G-BOXERS", "Boxer Briefs 3-Pack", "underwear", 19.0, 99, 5.0, {}),
]


@pytest.fixture
def gift_shop(settings, store):
    """BM25-only SearchIndexes over the tiny shop plus gift-shaped products."""
    with store.transaction():
        for pid, sku, title, category, price, stock, rating, attributes in GIFT_ROWS:
            store.db.execute(
                "INSERT INTO products (id, sku, title, description, brand, category, price,"
                " currency, attributes, stock, rating, updated_at) VALUES (?, ?, ?, ?, 'Test',"
                " ?, ?, 'EUR', ?, ?, ?, '2026-01-01T00:00:00+00:00')",
                [pid, sku, title, title, category, price, json.dumps(attributes), stock, rating],
            )
    return SearchIndexes(settings, store)


def _skus(picks):
    return [p.row["sku"] for p in picks]


def test_cooking_dad_gets_kitchen_first_not_the_best_rated_gadgets(gift_shop):
    picks = rank_gifts(gift_shop, read_gift_request("gift for my dad who likes cooking"))
    assert picks[0].row["category"] == "kitchen"
    assert set(_skus(picks[:2])) == {"G-KNIFE", "G-BOARD"}
    assert picks[0].reasons[0] == "cooking"


def test_out_of_stock_never_recommended(gift_shop):
    picks = rank_gifts(gift_shop, read_gift_request("my mum loves cooking"), k=10)
    assert "G-PAN" not in _skus(picks)
    assert all(p.row["stock"] > 0 for p in picks)


def test_budget_is_kept(gift_shop):
    request = read_gift_request("present for my dad who likes cooking")
    request.max_price = 50.0
    picks = rank_gifts(gift_shop, request, k=5)
    assert picks and all(p.row["price"] <= 50 for p in picks)
    assert _skus(picks)[0] == "G-KNIFE"


def test_a_child_gets_toys_for_their_age_and_never_underwear(gift_shop):
    picks = rank_gifts(gift_shop, read_gift_request("present for a 10-year-old"), k=8)
    skus = _skus(picks)
    assert skus[0] == "G-BRICKS"
    assert "G-CAR" not in skus  # 12+
    assert "G-BOXERS" not in skus


def test_shown_products_are_not_suggested_again(gift_shop):
    request = read_gift_request("dad who likes cooking")
    first = rank_gifts(gift_shop, request, k=1)
    again = rank_gifts(gift_shop, request, k=1, exclude=_skus(first))
    assert _skus(first) != _skus(again)


def test_spread_prefers_another_kind_of_product():
    def pick(sku, category, title, score):
        return GiftPick({"sku": sku, "category": category, "title": title}, score)

    picks = [
        pick("a", "kitchen", "Pro Chef's Knife, Red", 3.0),
        pick("b", "kitchen", "Classic Chef's Knife, Blue", 2.9),
        pick("c", "kitchen", "Oak Cutting Board", 2.5),
        pick("d", "watches", "Minimal Watch", 1.0),
    ]
    # A second knife loses to a board; a good second knife still beats a poor watch...
    assert [p.row["sku"] for p in spread(picks, 3)] == ["a", "c", "b"]
    # ...but not a watch that fits nearly as well.
    picks[3].score = 2.0
    assert [p.row["sku"] for p in spread(picks, 3)] == ["a", "c", "d"]


def test_a_narrowed_request_keeps_only_what_fits_the_narrowing(gift_shop):
    """A category the themes don't name ("just the toys" for a cook) is still searched,
    and a brand the shop lacks leaves nothing."""
    request = read_gift_request("gift for my dad who likes cooking")
    request.category = "toys"
    picks = rank_gifts(gift_shop, request, k=5)
    assert picks and all(p.row["category"] == "toys" for p in picks)
    request.category, request.brand = None, "Nobody"
    assert rank_gifts(gift_shop, request, k=5) == []
