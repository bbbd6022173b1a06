"""Write ``bot/data/nlu/order_titles.yml``: order requests that name an item by its full title.

Shoppers copy the product's title from their confirmation email into the chat ("return the
Stridewell Tempo 3 Road Running Shoe, Black from SB-204518"). Brand, model, product type and
colour are the words product searches are made of, so without such examples the classifier
reads these requests as ``product_search``. This script mixes realistic titles into order
requests (return, cancel, track, change items, exchange, invoice, refund status, bare
answers inside a form), and adds a few searches that name a title too, so a title alone
decides nothing.

Half of the titles come from the demo catalogue's vocabulary (``knowledge.demo.CATEGORIES``,
the way ``make_products`` builds them), half from an invented catalogue below, so the
examples teach the shape of a title inside a request rather than one shop's brand names.
The templates are written for this file; none comes from the evaluation sets.

Run from the repository root (seeded: the same output every time)::

    python scripts/gen_title_examples.py            # writes bot/data/nlu/order_titles.yml
    python scripts/gen_title_examples.py --check    # exit 1 if the file is out of date
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bot" / "data" / "nlu" / "order_titles.yml"
SEED = 1635

#: An invented catalogue (brand, models, product types) in the demo's title shape; none of
#: these brands is in the demo shop.
OTHER_CATALOGUE: tuple[tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]], ...] = (
    (
        ("Alpenfuchs", "Trailhaus"),
        ("Ridgeline", "Bergwind", "Nomad"),
        ("Fleece Jacket", "Hiking Sock 2-Pack", "Trekking Pole"),
    ),
    (
        ("Vela", "Oakhurst"),
        ("Marlow", "Linden", "Harper"),
        ("Linen Shirt", "Chino Trousers", "Knit Cardigan"),
    ),
    (
        ("Lumo", "Brightside"),
        ("Halo", "Nova 2", "Arc"),
        ("Desk Lamp", "Bluetooth Speaker", "Alarm Clock"),
    ),
    (
        ("Fernwood", "Casa Bella"),
        ("Rustic", "Terra", "Coastal"),
        ("Ceramic Mug Set", "Table Runner", "Cotton Throw"),
    ),
    (
        ("Swiftrun", "Peakform"),
        ("Blaze", "Sprint 4", "Zephyr"),
        ("Compression Tights", "Running Vest", "Sports Bra"),
    ),
    (
        ("Little Fox", "Tinytots"),
        ("Meadow", "Starlight", "Bumble"),
        ("Baby Romper", "Kids Raincoat", "Sleep Bag"),
    ),
    (
        ("Aquaform", "Blue Lagoon"),
        ("Reef", "Tide", "Marina"),
        ("Swim Shorts", "Bikini Set", "Beach Towel"),
    ),
    (
        ("Velora", "Sable & Stone"),
        ("Luna", "Vienna", "Ivy"),
        ("Leather Tote Bag", "Crossbody Bag", "Card Wallet"),
    ),
)
OTHER_COLOURS = (
    "Black",
    "Sand",
    "Forest Green",
    "Charcoal",
    "Dusty Pink",
    "Ivory",
    "Cobalt",
    "Rust",
)
SIZES = ("S", "M", "L", "XL", "XS", "38", "40", "42", "44", "10", "9.5")
REASONS = (
    "it's too small",
    "too big",
    "doesnt fit",
    "it arrived broken",
    "not what i expected",
    "the colour is off",
    "changed my mind",
    "it came damaged",
    "wrong item sent",
)
EMAILS = (
    "lena.fischer@example.com",
    "mike_o@example.net",
    "s.okafor@example.org",
    "jules99@example.com",
    "p.novak@example.eu",
    "hannah.w@example.co.uk",
)

# {T}: the title (annotated as product), {O}: an order number, {E}: an email,
# {S}: a size, {C}: a colour, {R}: a return reason.
TEMPLATES: dict[str, tuple[str, ...]] = {
    "request_refund": (
        "return the {T} from {O}",
        "i want to return the {T} from order {O}",
        "I'd like to return the {T}, {R}",
        "can i send back the {T}? {R}",
        "{T} from {O} - {R}, want to return it",
        "hi, the {T} i got in {O} {R}, how do i return it",
        "refund for the {T} please",
        "please refund the {T} from {O}",
        "need to return my {T}",
        "return {T} order {O} email {E}",
        "how do i send the {T} back",
        "want my money back for the {T}, {R}",
        "i want to return the {T} and keep the rest of {O}",
        "send back {T} pls",
        "Hello, I would like to return the {T} from my order {O}. {R}. My email is {E}",
        "can I get a refund on the {T}",
        "retrun the {T}",
    ),
    "cancel_order": (
        "cancel the order with the {T}",
        "please cancel {O}, the {T}",
        "i want to cancel my {T} order",
        "cancel the {T} i ordered yesterday",
        "can you cancel order {O}? i ordered the {T} by mistake",
        "i dont want the {T} anymore, cancel the order pls",
        "cancel my order for the {T}",
        "is it too late to cancel the {T}?",
        "Please cancel the order for the {T}, my email is {E}",
        "cancle the {T} order",
        "stop the order with the {T} before it ships",
        "I ordered the {T} twice, please cancel one order",
    ),
    "track_order": (
        "where is my {T}?",
        "wheres the {T} i ordered",
        "has the {T} from {O} shipped yet",
        "when will my {T} arrive",
        "any news on the {T}? order {O}",
        "status of my {T} order",
        "my {T} still hasnt arrived",
        "I ordered the {T} last week, where is it?",
        "where is the {T}, order {O}, email {E}",
        "is the {T} on its way",
        "tracking for the {T} please",
        "the {T} i ordered never showed up",
        "where's my {T}",
        "wheres my {T}??",
        "did my {T} ship yet",
        "{T} - where is it?",
        "hi, where is the {T} i bought",
    ),
    "change_items": (
        "change the {T} in my order to size {S}",
        "can i get the {T} in {C} instead? order {O}",
        "swap the {T} in {O} for size {S}",
        "i ordered the {T} in the wrong size, can you change it to {S} before it ships",
        "change the size of the {T} in order {O} to {S}",
        "can you make the {T} a {S} instead",
        "change the {T} in {O} to the {C} one",
        "please change the colour of the {T} in my order to {C}",
        "in order {O} i need the {T} in {S} not the size i picked",
    ),
    "exchange_item": (
        "exchange the {T} for a size {S}",
        "the {T} from {O} is too small, can i exchange it for {S}",
        "can i swap my {T} for a {C} one",
        "i want to exchange the {T} i received for a bigger size",
        "exchange {T} from order {O} for size {S} please",
        "the {T} doesnt fit, can i exchange it",
        "I'd like to exchange the {T} for the same one in {C}",
    ),
    "get_invoice": (
        "i need the invoice for the {T}",
        "can i get a receipt for the {T} from {O}",
        "invoice for my {T} order please",
        "send me the bill for the {T}",
    ),
    "refund_status": (
        "where is my refund for the {T}",
        "i returned the {T} two weeks ago, when do i get my money",
        "has the refund for the {T} from {O} gone through",
        "still no refund for the {T} i sent back",
    ),
    # Bare answers inside a form ("which item?"): the title, maybe with a reason or size.
    "inform": (
        "the {T}",
        "{T}",
        "its the {T}",
        "the {T} please",
        "just the {T}",
        "the {T}, {R}",
        "{T} and {T2}",
        "the {T} in {S}",
        "the {T} one",
        "i mean the {T}",
    ),
    # Searches that name a title too: a title decides nothing alone. (Questions about a
    # product, "is the ... in stock", were tried as well and left out: they pulled
    # out-of-scope questions to product_question, held-out OOS recall 0.867 -> 0.851.)
    "product_search": (
        "do you have the {T} in size {S}",
        "show me the {T}",
        "looking for the {T}",
        "have you got the {T} in {C}",
        "something like the {T} but cheaper",
    ),
}
#: Examples per intent (the templates cycle; a title is drawn for each).
PER_INTENT = {
    "request_refund": 34,
    "cancel_order": 24,
    "track_order": 34,
    "change_items": 18,
    "exchange_item": 14,
    "get_invoice": 8,
    "refund_status": 8,
    "inform": 20,
    "product_search": 6,
}


def demo_title(rng: random.Random) -> tuple[str, str]:
    """A title built the way ``knowledge.demo.make_products`` builds one, and its brand."""
    from knowledge.demo import CATEGORIES

    cat = rng.choice([c for c in CATEGORIES if c.code != "GFT"])
    model = rng.choice(cat.models)
    if rng.random() < 0.35:
        model = f"{model} {rng.randint(2, 6)}"
    colour = rng.choice(cat.colours)
    brand = rng.choice(cat.brands)
    title = f"{brand} {model} {rng.choice(cat.nouns)}"
    return title + (f", {colour.title()}" if colour != "n/a" else ""), brand


def other_title(rng: random.Random) -> tuple[str, str]:
    """A title from the invented catalogue (sometimes without a colour), and its brand."""
    brands, models, nouns = rng.choice(OTHER_CATALOGUE)
    brand = rng.choice(brands)
    title = f"{brand} {rng.choice(models)} {rng.choice(nouns)}"
    return title + (f", {rng.choice(OTHER_COLOURS)}" if rng.random() < 0.75 else ""), brand


def typed(drawn: tuple[str, str], rng: random.Random) -> str:
    """The title as shoppers type it: copied, lower case, without the colour, or without
    the brand."""
    title, brand = drawn
    roll = rng.random()
    if roll < 0.45:
        return title
    if roll < 0.7:
        return title.lower()
    if roll < 0.85:
        return title.split(",")[0]
    return title.split(",")[0][len(brand) :].strip().lower()


def order_number(rng: random.Random) -> str:
    """An order number in one of the shapes shoppers type."""
    digits = f"{rng.randint(100000, 999999)}"
    return rng.choice([f"SB-{digits}", f"SB-{digits}", f"sb-{digits}", f"SB{digits}", f"#{digits}"])


def fill(template: str, rng: random.Random) -> str:
    """One training example (Rasa markup) from a template."""
    draw = demo_title if rng.random() < 0.5 else other_title
    text = template
    for key in ("{T2}", "{T}"):
        if key in text:
            text = text.replace(key, f"[{typed(draw(rng), rng)}](product)", 1)
    text = text.replace("{O}", f"[{order_number(rng)}](order_number)")
    text = text.replace("{E}", f"[{rng.choice(EMAILS)}](email)")
    text = text.replace("{S}", rng.choice(SIZES))
    text = text.replace("{C}", rng.choice(OTHER_COLOURS).lower())
    return text.replace("{R}", rng.choice(REASONS))


def generate(seed: int = SEED) -> str:
    """The YAML text of ``order_titles.yml``."""
    rng = random.Random(seed)
    lines = [
        "# Generated by scripts/gen_title_examples.py (seeded); edit the script, not this file.",
        "# Order requests naming an item by its full title, and a few searches naming one",
        "# too, so a title alone does not make a message a search.",
        'version: "3.1"',
        "",
        "nlu:",
    ]
    for intent, templates in TEMPLATES.items():
        seen: set[str] = set()
        examples: list[str] = []
        n = 0
        while len(examples) < PER_INTENT[intent] and n < PER_INTENT[intent] * 20:
            example = fill(templates[n % len(templates)], rng)
            n += 1
            if example.lower() not in seen:
                seen.add(example.lower())
                examples.append(example)
        lines += [f"- intent: {intent}", "  examples: |"]
        lines += [f"    - {example}" for example in examples]
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Write the file, or with ``--check`` say whether it is up to date."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is out of date")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    text = generate()
    if args.check:
        current = args.out.read_text() if args.out.exists() else ""
        if current != text:
            print(f"{args.out} is out of date: run python scripts/gen_title_examples.py")
            return 1
        return 0
    args.out.write_text(text)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    sys.exit(main())
