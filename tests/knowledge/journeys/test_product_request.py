"""Reading product requests and follow-ups out of shopper messages (no store, no Rasa)."""

from __future__ import annotations

import pytest

from knowledge.journeys.product_request import (
    correct_word,
    edit_distance,
    normalise,
    normalise_size,
    read_price,
    read_request,
)

CATEGORIES = ["running shoes", "jackets", "t-shirts", "jeans", "headphones", "hats and scarves"]
BRANDS = ["Stridewell", "Stormline", "Northcrest", "Basic Threads", "Bramble & Co"]


def read(text, **entities):
    return read_request(text, entities, CATEGORIES, BRANDS)


@pytest.mark.parametrize(
    ("text", "low", "high"),
    [
        ("under 50", None, 50.0),
        ("under 50 euros", None, 50.0),
        ("something under €50", None, 50.0),
        ("below €30", None, 30.0),
        ("less than 40 euros", None, 40.0),
        ("cheaper than 80", None, 80.0),
        ("max 60 bucks", None, 60.0),
        ("up to 25 euro", None, 25.0),
        ("not more than 150", None, 150.0),
        ("budget of 100", None, 100.0),
        ("between 20 and 50", 20.0, 50.0),
        ("between €20 and €50", 20.0, 50.0),
        ("20-50 euros", 20.0, 50.0),
        ("from 20 to 50", 20.0, 50.0),
        ("over 100", 100.0, None),
        ("at least 30 but under 60", 30.0, 60.0),
        ("around 60 quid", None, 72.0),
        ("30€", None, 30.0),
        ("€19.99", None, 19.99),
        ("undr 50", None, 50.0),
        ("belw 30", None, 30.0),
        ("nothing over 150", None, 150.0),
        ("she likes watches, nothing over 150", None, 150.0),
        ("not above 80", None, 80.0),
        ("no more than 80 please", None, 80.0),
        ("i don't want to spend more than 40", None, 40.0),
        ("nothing more expensive than 60 euros", None, 60.0),
        ("jackets above 50", 50.0, None),
        ("more than 30 euros", 30.0, None),
        ("over 50 but nothing over 120", 50.0, 120.0),
        ("maximum 150 euro", None, 150.0),
    ],
)
def test_prices(text, low, high):
    request = read(text)
    assert (request.min_price, request.max_price) == (low, high)
    assert request.price_words


@pytest.mark.parametrize(
    "text", ["cheaper ones", "show me cheaper ones", "something cheaper", "cheapr", "cheaper pls"]
)
def test_cheaper_is_a_refinement(text):
    request = read(text)
    assert request.cheaper and request.is_refinement() and not request.names_a_product


def test_pricier_and_cheapest():
    assert read("something more expensive").pricier
    assert read("cheapest headphones").cheapest and read("cheapest headphones").category


@pytest.mark.parametrize(
    ("text", "colour", "colours"),
    [
        ("in blue", "blue", ("blue", "navy", "light blue", "indigo")),
        ("in navy", "navy", ("navy",)),
        ("got it in light blue?", "light blue", ("light blue",)),
        ("blak", "black", ("black",)),
        ("gray ones", "gray", ("grey", "gray", "charcoal", "silver")),
    ],
)
def test_colours(text, colour, colours):
    request = read(text)
    assert request.colour == colour and request.colours == colours
    assert request.is_refinement()


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("size 42", "42"),
        ("in size 9.5", "9.5"),
        ("size M", "M"),
        ("is it available in M?", "M"),
        ("do you have it in medium", "M"),
        ("in xl", "XL"),
        ("jeans W32", "W32"),
        ("w32 l30", "W32/L30"),
        ("is there a large in that", "L"),
        ("size 200x200", "200x200 cm"),
    ],
)
def test_sizes(text, size):
    assert read(text).size == size


def test_a_large_backpack_is_not_a_size():
    request = read("a large backpack")
    assert request.size is None and "large" in request.terms


@pytest.mark.parametrize(
    ("text", "brand", "known"),
    [
        ("only stormline", "Stormline", True),
        ("just Stormline please", "Stormline", True),
        ("basic threads t-shirts", "Basic Threads", True),
        ("strideell running shoes", "Stridewell", True),
        ("only nike", "nike", False),
        ("from adidas", "adidas", False),
    ],
)
def test_brands(text, brand, known):
    request = read(text)
    assert (request.brand, request.brand_known) == (brand, known)


def test_everything_in_one_message():
    request = read("black running shoes size 42 under 100 euros")
    assert request.category == "running shoes"
    assert (request.colour, request.size, request.max_price) == ("black", "42", 100.0)
    assert not request.terms and not request.is_refinement()


def test_words_that_say_what_the_product_is_stay():
    request = read(
        "i need a waterproof jacket for hiking, size XL, ideally navy, not more than 150"
    )
    assert request.category == "jackets" and request.terms == "waterproof hiking"
    assert (request.size, request.colour, request.max_price) == ("XL", "navy", 150.0)


@pytest.mark.parametrize(
    ("text", "ordinal", "pick"),
    [
        ("the first one", 0, None),
        ("tell me more about the second one", 1, None),
        ("is the 3rd one waterproof", 2, None),
        ("number 4", 3, None),
        ("the last one", -1, None),
        ("how much is the cheaper one", None, "cheapest"),
        ("the cheapest one", None, "cheapest"),
        ("what about the more expensive one", None, "priciest"),
    ],
)
def test_pointing_at_a_shown_product(text, ordinal, pick):
    request = read(text)
    assert (request.ordinal, request.pick) == (ordinal, pick)
    assert request.points_at_one() and request.refers
    assert not request.cheaper and not request.pricier


def test_that_one_in_black_and_the_black_one():
    variant = read("that one in black")
    assert variant.refers and variant.colour == "black" and not variant.described
    picked = read("the black one")
    assert picked.described and picked.colour == "black"
    assert read("the Stormline one").described


@pytest.mark.parametrize("text", ["show me more", "more", "any more?", "other options"])
def test_more(text):
    request = read(text)
    assert request.more and request.is_refinement()


def test_more_expensive_is_not_more():
    assert not read("more expensive ones").more


def test_a_new_search_is_not_a_refinement():
    for text in ("show me jackets", "blue t-shirts", "stormline jackets under 100"):
        assert not read(text).is_refinement(), text


def test_entities_fill_in_what_the_text_did_not_say():
    request = read(
        "show me some", category="jacket", colour="Red", size="medium", price_limit="€80"
    )
    assert request.category == "jackets" and request.colour == "red"
    assert (request.size, request.max_price) == ("M", 80.0)
    # The text wins where it says more than the entity (a range, not one number).
    assert read("between 20 and 50", price_limit="50").min_price == 20.0


def test_a_button_payload_is_not_read_as_words():
    request = read('/product_search{"category":"jackets"}', category="jackets")
    assert request.category == "jackets" and not request.terms


def test_typo_correction_keeps_catalogue_names_and_ordinary_words():
    assert normalise("cheapr undr blak") == "cheaper under black"
    assert normalise("that lens") == "that lens"
    assert correct_word("stormlin", ["stormline"], frozenset()) == "stormline"
    assert correct_word("brown", ["below"], frozenset()) == "brown"
    assert edit_distance("cheapr", "cheaper") == 1 and edit_distance("ab", "ba") == 1


def test_read_price_spans_and_size_words():
    low, high, words, spans = read_price("gifts under 30 euros please")
    assert (low, high, words) == (None, 30.0, "under 30") and spans
    assert normalise_size("Extra Large") == "XL" and normalise_size("size 42") == "42"
    assert normalise_size("banana") is None


def test_a_brand_name_is_not_read_as_a_colour():
    request = read_request("Indigo Lane slim jeans", {}, CATEGORIES, [*BRANDS, "Indigo Lane"])
    assert (request.brand, request.colour, request.terms) == ("Indigo Lane", None, "slim")


def test_two_brands_are_search_words_not_a_filter():
    request = read("Stormline or Northcrest jackets", brand="Northcrest")
    assert request.brand is None and "stormline" in request.terms and "northcrest" in request.terms


def test_ways_of_asking_are_not_product_words():
    assert read("do u hav sunglasses").terms == "sunglasses"
    assert read("i want to buy a smartwatch").terms == "smartwatch"
    assert read("hi, searching for leather boots").terms == "leather boots"


@pytest.mark.parametrize(
    ("text", "terms"),
    [
        ("she likes watches, nothing over 150", "watches"),
        ("warm jackets for winter, not too expensive, maximum 150 euro", "warm winter"),
        ("i don't want to spend more than 40 on jeans", ""),
        ("reasonably priced headphones", ""),
    ],
)
def test_price_words_and_negations_are_not_search_words(text, terms):
    """The words that qualify a price ("nothing", "not too expensive") are no product words."""
    assert read(text).terms == terms
