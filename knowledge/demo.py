"""The deterministic demo shop: a mid-size online fashion & lifestyle shop (prices in EUR).

:func:`build_demo` fills a store with products over 20 categories (coherent brands,
attributes, descriptions written from the attributes, prices, stock, ratings, local
placeholder images), customers with realistic names and ``example.*`` emails, and orders
in every status and edge case (late shipments, partial returns, deliveries inside and
outside the return window...), then loads the FAQ from ``knowledge/data/faq.yml`` through
the FAQ importer.

Everything is drawn from ``random.Random(seed)`` and dates are relative to ``today``
(default :data:`DEMO_TODAY`), so the same arguments always give the same database.

Money model: product prices are net; each order's ``tax`` is the VAT of the shipping
country on the subtotal, ``total = subtotal + shipping_cost + tax``.
"""

from __future__ import annotations

import json
import logging
import random
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from tqdm import tqdm

from knowledge.rules import refund_amount
from knowledge.store import Store, to_json

logger = logging.getLogger(__name__)

DEMO_TODAY = date(2026, 3, 16)
FAQ_PATH = Path(__file__).resolve().parent / "data" / "faq.yml"
#: The shipped policy's return window (knowledge/data/policy.yml; a test keeps them equal).
RETURN_WINDOW_DAYS = 30

# --------------------------------------------------------------------------- catalogue
COLOURS = [
    "black",
    "white",
    "navy",
    "grey",
    "red",
    "blue",
    "green",
    "olive",
    "beige",
    "brown",
    "pink",
    "yellow",
    "burgundy",
    "teal",
]
SHOE_SIZES = [str(s) for s in range(36, 48)]
APPAREL_SIZES = ["XS", "S", "M", "L", "XL", "XXL"]
JEANS_SIZES = [f"W{w}/L{length}" for w in (28, 30, 32, 34, 36, 38) for length in (30, 32, 34)]
DRESS_SIZES = ["34", "36", "38", "40", "42", "44"]
BEDDING_SIZES = ["135x200 cm", "155x220 cm", "200x200 cm", "240x220 cm"]


@dataclass(frozen=True)
class Category:
    """How to make products of one category."""

    name: str
    code: str
    sizing: str  # shoes, apparel, jeans, dress, bedding, none
    brands: tuple[str, ...]
    nouns: tuple[str, ...]
    models: tuple[str, ...]
    materials: tuple[str, ...]
    price: tuple[float, float]
    features: tuple[str, ...]
    weight: int = 5
    colours: tuple[str, ...] = tuple(COLOURS)
    extra: dict[str, tuple[str, ...]] = field(default_factory=dict)
    returnable: bool = True
    hygiene: tuple[str, ...] = ()  # nouns that cannot be returned
    #: per-noun materials and price range where one category mixes very different things
    noun_specs: dict[str, tuple[tuple[str, ...], tuple[float, float]]] = field(default_factory=dict)
    material_key: str = "material"
    made: str = "made of"


CATEGORIES: tuple[Category, ...] = (
    Category(
        "running shoes",
        "RUN",
        "shoes",
        ("Stridewell", "Aerolope", "Pacefield", "Kinetix"),
        (
            "Road Running Shoe",
            "Trail Running Shoe",
            "Racing Shoe",
            "Stability Running Shoe",
            "Cushioned Running Shoe",
        ),
        ("Tempo", "Glide", "Surge", "Vector", "Strider", "Cadence", "Drift", "Apex"),
        ("engineered mesh", "knit upper", "recycled mesh"),
        (59, 189),
        (
            "a responsive foam midsole",
            "a grippy rubber outsole",
            "a breathable upper that keeps feet cool",
            "reflective details for running after dark",
            "a padded heel collar",
        ),
        9,
        extra={
            "drop": ("4 mm", "6 mm", "8 mm", "10 mm"),
            "weight": ("220 g", "250 g", "280 g", "310 g"),
        },
    ),
    Category(
        "boots",
        "BOO",
        "shoes",
        ("Fjellmark", "Ironridge", "Bramble & Co", "Northcrest"),
        (
            "Hiking Boot",
            "Chelsea Boot",
            "Winter Boot",
            "Lace-Up Ankle Boot",
            "Waterproof Walking Boot",
        ),
        ("Highland", "Tundra", "Ridge", "Granite", "Moor", "Alder", "Summit"),
        ("full-grain leather", "suede", "waxed leather", "nubuck"),
        (79, 259),
        (
            "a waterproof membrane",
            "a warm fleece lining",
            "a lug sole for grip on wet ground",
            "a cushioned footbed",
            "Goodyear-welted construction",
        ),
        7,
    ),
    Category(
        "sneakers",
        "SNE",
        "shoes",
        ("Urbanline", "Courtside", "Kinetix"),
        ("Low-Top Sneaker", "High-Top Sneaker", "Retro Court Sneaker", "Slip-On Sneaker"),
        ("Metro", "Rally", "Classic 78", "Volley", "Loop", "Pavement"),
        ("canvas", "leather", "suede", "recycled canvas"),
        (45, 139),
        ("a vulcanised rubber sole", "a cushioned insole", "a padded tongue", "contrast stitching"),
        6,
    ),
    Category(
        "jackets",
        "JAC",
        "apparel",
        ("Northcrest", "Stormline", "Fjellmark", "Urbanline"),
        (
            "Rain Jacket",
            "Down Jacket",
            "Softshell Jacket",
            "Bomber Jacket",
            "Denim Jacket",
            "Parka",
        ),
        ("Stormshell", "Aurora", "Polar", "Breeze", "Harbour", "Nordic", "Cirrus"),
        ("nylon", "recycled polyester", "cotton", "wool blend", "duck down fill"),
        (59, 329),
        (
            "taped seams",
            "an adjustable hood",
            "two zipped hand pockets",
            "a packable design",
            "a water-repellent finish",
        ),
        8,
    ),
    Category(
        "t-shirts",
        "TSH",
        "apparel",
        ("Basic Threads", "Cottonfield", "Urbanline"),
        (
            "Crew T-Shirt",
            "V-Neck T-Shirt",
            "Graphic T-Shirt",
            "Long-Sleeve T-Shirt",
            "Pocket T-Shirt",
        ),
        ("Essential", "Everyday", "Heritage", "Studio", "Weekend"),
        ("organic cotton", "cotton", "cotton-linen blend", "modal"),
        (12, 45),
        ("a relaxed fit", "a ribbed collar", "pre-shrunk fabric", "a soft brushed feel"),
        8,
    ),
    Category(
        "jeans",
        "JEA",
        "jeans",
        ("Denimworks", "Indigo Lane", "Riverside"),
        ("Slim Jeans", "Straight Jeans", "Relaxed Jeans", "Skinny Jeans", "Bootcut Jeans"),
        ("501X", "Raw Edge", "Selvedge", "Harbor", "Canal", "Foundry"),
        ("stretch denim", "rigid denim", "organic cotton denim"),
        (45, 129),
        ("five classic pockets", "a button fly", "a mid rise", "reinforced rivets"),
        7,
        colours=("indigo", "light blue", "black", "grey", "stone wash"),
    ),
    Category(
        "dresses",
        "DRE",
        "dress",
        ("Maison Lila", "Flora & Fern", "Cottonfield"),
        ("Midi Dress", "Maxi Dress", "Wrap Dress", "Shirt Dress", "Summer Dress"),
        ("Camille", "Rosa", "Juniper", "Lotte", "Marigold", "Elise"),
        ("viscose", "linen", "cotton poplin", "jersey"),
        (35, 159),
        ("a flattering waist tie", "side pockets", "a fully lined skirt", "adjustable straps"),
        7,
    ),
    Category(
        "underwear",
        "UND",
        "apparel",
        ("Basic Threads", "Softline"),
        ("Boxer Briefs 3-Pack", "Briefs 5-Pack", "Bralette", "Trunks 2-Pack", "Seamless Bra"),
        ("Comfort", "Everyday", "Pure", "Second Skin"),
        ("cotton", "organic cotton", "modal", "microfibre"),
        (9, 39),
        ("a soft waistband", "flat seams", "breathable fabric"),
        4,
        returnable=False,
    ),
    Category(
        "backpacks",
        "BAC",
        "none",
        ("Fjellmark", "Summit Gear", "Urbanline"),
        ("Hiking Backpack", "Daypack", "Laptop Backpack", "Rolltop Backpack", "Travel Backpack"),
        ("Summit", "Trek", "Commuter", "Voyager", "Pathfinder"),
        ("recycled polyester", "waxed canvas", "ripstop nylon"),
        (35, 179),
        (
            "a padded laptop sleeve",
            "a ventilated back panel",
            "a hip belt",
            "side bottle pockets",
            "a rain cover",
        ),
        6,
        extra={"capacity": ("18 L", "22 L", "28 L", "35 L", "45 L")},
    ),
    Category(
        "watches",
        "WAT",
        "none",
        ("Tempora", "Horologe Nord", "Chronex"),
        ("Automatic Watch", "Chronograph Watch", "Minimalist Watch", "Diver Watch", "Smartwatch"),
        ("Meridian", "Atlas", "Orbit", "Fjord", "Vantage"),
        ("stainless steel", "titanium", "ceramic"),
        (79, 449),
        ("sapphire crystal glass", "water resistance to 100 m", "a date window", "luminous hands"),
        5,
        extra={
            "case size": ("36 mm", "38 mm", "40 mm", "42 mm", "44 mm"),
            "strap": ("leather strap", "steel bracelet", "mesh bracelet", "rubber strap"),
        },
        colours=("silver", "black", "gold", "rose gold", "blue"),
    ),
    Category(
        "headphones",
        "HEA",
        "none",
        ("Sonara", "Audiona", "Beatwave"),
        (
            "Wireless Headphones",
            "Noise-Cancelling Headphones",
            "True Wireless Earbuds",
            "Sport Earbuds",
            "Studio Headphones",
        ),
        ("Pulse", "Echo", "Aria", "Quiet 2", "Bassline"),
        ("aluminium", "recycled plastic", "matte plastic"),
        (29, 349),
        (
            "active noise cancellation",
            "multipoint Bluetooth",
            "a built-in microphone",
            "fast charging",
        ),
        6,
        extra={
            "battery": ("8 h", "20 h", "30 h", "40 h"),
            "connectivity": ("Bluetooth 5.3", "Bluetooth 5.2", "wired 3.5 mm"),
        },
        colours=("black", "white", "silver", "navy", "sand"),
    ),
    Category(
        "phone cases",
        "PHO",
        "none",
        ("Shellguard", "Casely"),
        (
            "Phone Case",
            "Clear Case",
            "Leather Wallet Case",
            "Rugged Case",
            "Personalised Phone Case",
        ),
        ("Armor", "Slim", "Folio", "Crystal", "Grip"),
        ("silicone", "TPU", "leather", "recycled plastic"),
        (12, 49),
        ("raised edges that protect the camera", "MagSafe-compatible magnets", "a grippy finish"),
        5,
        extra={"phone model": ("iPhone 15", "iPhone 14", "Galaxy S24", "Galaxy A54", "Pixel 8")},
        hygiene=("Personalised Phone Case",),
    ),
    Category(
        "kitchen",
        "KIT",
        "none",
        ("Kochwerk", "Cucina Viva", "Steelhaus"),
        (
            "Chef's Knife",
            "Frying Pan",
            "Electric Kettle",
            "Coffee Grinder",
            "Cast Iron Casserole",
            "Cutting Board",
        ),
        ("Classic", "Pro", "Gourmet", "Heritage", "Nordic"),
        ("stainless steel",),
        (15, 189),
        (
            "dishwasher-safe parts",
            "an ergonomic handle",
            "a lifetime guarantee",
            "a timeless design",
        ),
        6,
        noun_specs={
            "Chef's Knife": (("stainless steel", "Damascus steel"), (29, 149)),
            "Frying Pan": (("cast iron", "ceramic-coated aluminium", "stainless steel"), (25, 119)),
            "Electric Kettle": (("stainless steel", "borosilicate glass"), (29, 99)),
            "Coffee Grinder": (("stainless steel", "ceramic burrs"), (25, 189)),
            "Cast Iron Casserole": (("enamelled cast iron",), (79, 249)),
            "Cutting Board": (("oak wood", "walnut wood", "bamboo"), (15, 69)),
        },
    ),
    Category(
        "bedding",
        "BED",
        "bedding",
        ("Dreamweave", "Linen & Loom"),
        ("Duvet Cover Set", "Fitted Sheet", "Pillowcase Pair", "Weighted Blanket", "Summer Duvet"),
        ("Calm", "Cloud", "Haven", "Serene", "Nordic Night"),
        ("percale cotton", "washed linen", "sateen cotton", "Tencel"),
        (29, 179),
        ("hidden button fastening", "OEKO-TEX certified fabric", "a breathable weave"),
        5,
    ),
    Category(
        "toys",
        "TOY",
        "none",
        ("Playwise", "Brickfield", "Little Oak"),
        ("Building Set", "Wooden Puzzle", "Plush Bear", "Remote Control Car", "Board Game"),
        ("Adventure", "Explorer", "Forest Friends", "City", "Space"),
        ("ABS plastic",),
        (9, 89),
        ("non-toxic paints", "rounded edges", "easy-to-follow instructions"),
        5,
        extra={"age": ("3+", "5+", "8+", "12+")},
        noun_specs={
            "Building Set": (("ABS plastic",), (19, 89)),
            "Wooden Puzzle": (("FSC-certified wood",), (9, 29)),
            "Plush Bear": (("recycled plush", "organic cotton"), (12, 39)),
            "Remote Control Car": (("ABS plastic",), (29, 89)),
            "Board Game": (("recycled cardboard",), (15, 49)),
        },
    ),
    Category(
        "beauty",
        "BEA",
        "none",
        ("Lumiere", "Verdant Skin"),
        ("Face Serum", "Moisturising Cream", "Lipstick", "Mascara", "Eau de Parfum", "Hair Oil"),
        ("Glow", "Velvet", "Pure", "Botanica", "Radiance"),
        ("natural oils",),
        (9, 89),
        ("a vegan formula", "dermatologically tested ingredients", "recyclable packaging"),
        5,
        colours=("n/a",),
        extra={"volume": ("15 ml", "30 ml", "50 ml", "100 ml")},
        hygiene=("Lipstick", "Mascara", "Eau de Parfum"),
        material_key="ingredient",
        made="with",
        noun_specs={
            "Face Serum": (("hyaluronic acid", "vitamin C", "niacinamide"), (19, 69)),
            "Moisturising Cream": (("shea butter", "ceramides", "aloe vera"), (14, 59)),
            "Lipstick": (("jojoba oil", "vitamin E"), (9, 29)),
            "Mascara": (("castor oil", "keratin"), (9, 25)),
            "Eau de Parfum": (
                (
                    "notes of bergamot and cedar",
                    "notes of rose and amber",
                    "notes of vanilla and musk",
                ),
                (29, 89),
            ),
            "Hair Oil": (("argan oil", "coconut oil"), (12, 39)),
        },
    ),
    Category(
        "sports equipment",
        "SPO",
        "none",
        ("Kinetix", "Summit Gear", "ProServe"),
        (
            "Yoga Mat",
            "Adjustable Dumbbells",
            "Tennis Racket",
            "Football",
            "Resistance Bands Set",
            "Jump Rope",
        ),
        ("Core", "Flex", "Power", "Match", "Balance"),
        ("steel",),
        (12, 249),
        ("a durable build for daily training", "a one-year guarantee", "a carry bag"),
        6,
        noun_specs={
            "Yoga Mat": (("natural rubber", "TPE foam", "cork"), (19, 89)),
            "Adjustable Dumbbells": (("steel", "cast iron"), (79, 249)),
            "Tennis Racket": (("graphite", "carbon fibre"), (39, 229)),
            "Football": (("synthetic leather",), (15, 49)),
            "Resistance Bands Set": (("natural latex", "woven fabric"), (12, 39)),
            "Jump Rope": (("steel cable", "PVC"), (9, 29)),
        },
    ),
    Category(
        "sunglasses",
        "SUN",
        "none",
        ("Solaris", "Polar Optics"),
        (
            "Aviator Sunglasses",
            "Round Sunglasses",
            "Sport Sunglasses",
            "Cat-Eye Sunglasses",
            "Wayfarer Sunglasses",
        ),
        ("Riviera", "Coast", "Glacier", "Sierra", "Lido"),
        ("acetate", "metal", "recycled nylon"),
        (39, 219),
        ("polarised lenses", "100% UV400 protection", "a hard case", "spring hinges"),
        5,
    ),
    Category(
        "hats and scarves",
        "HAT",
        "apparel",
        ("Northcrest", "Cottonfield", "Fjellmark"),
        ("Beanie", "Wool Scarf", "Baseball Cap", "Bucket Hat", "Knitted Gloves"),
        ("Nordic", "Cosy", "Harbour", "Trail", "Alpine"),
        ("merino wool", "cotton", "cashmere blend", "recycled polyester"),
        (12, 79),
        ("a soft brushed lining", "a ribbed knit", "an adjustable strap"),
        4,
    ),
    Category(
        "gift cards",
        "GFT",
        "none",
        ("Shopbot",),
        ("Gift Card",),
        ("Birthday", "Thank You", "Congratulations", "Holiday", "Classic", "Wedding"),
        ("digital code",),
        (10, 500),
        ("delivery by email or post", "validity of 3 years"),
        1,
        colours=("n/a",),
        returnable=False,
    ),
)

GIFT_CARD_VALUES = (10, 25, 50, 100, 150, 200, 500)
PLURAL_NOUN_ENDINGS = ("Jeans", "Dumbbells", "Sunglasses", "Headphones", "Earbuds", "Gloves")

# --------------------------------------------------------------------------- people
FIRST_NAMES = (
    "Alice",
    "Ben",
    "Clara",
    "David",
    "Emma",
    "Felix",
    "Greta",
    "Hannah",
    "Ivan",
    "Julia",
    "Karim",
    "Lea",
    "Lukas",
    "Maria",
    "Noah",
    "Olivia",
    "Paul",
    "Quentin",
    "Rosa",
    "Sofia",
    "Tom",
    "Ursula",
    "Victor",
    "Wiebke",
    "Xavier",
    "Yara",
    "Zoe",
    "Amelie",
    "Bastian",
    "Chiara",
    "Daniel",
    "Elif",
    "Finn",
    "Giulia",
    "Hugo",
    "Ines",
    "Jonas",
    "Katarzyna",
    "Leon",
    "Mila",
    "Nils",
    "Oskar",
    "Pia",
    "Rafael",
    "Sara",
    "Theo",
    "Valentina",
    "Yusuf",
    "Ana",
    "Lars",
    "Mehmet",
    "Nora",
    "Piotr",
    "Lina",
    "Matteo",
    "Ella",
    "Jan",
    "Camille",
    "Sven",
    "Aylin",
)
LAST_NAMES = (
    "Martin",
    "Nguyen",
    "Schmidt",
    "Müller",
    "Fischer",
    "Weber",
    "Meyer",
    "Wagner",
    "Becker",
    "Hoffmann",
    "Schulz",
    "Koch",
    "Richter",
    "Klein",
    "Wolf",
    "Dubois",
    "Lefebvre",
    "Rossi",
    "Russo",
    "Garcia",
    "Fernández",
    "López",
    "Jansen",
    "de Vries",
    "Bakker",
    "Nowak",
    "Kowalski",
    "Yılmaz",
    "Kaya",
    "Andersson",
    "Johansson",
    "Nielsen",
    "Hansen",
    "O'Brien",
    "Murphy",
    "Smith",
    "Brown",
    "Novák",
    "Horváth",
    "Papadopoulos",
    "Silva",
    "Costa",
    "Lambert",
    "Peeters",
    "Berger",
    "Huber",
    "Bauer",
    "Keller",
    "Schneider",
    "Zimmermann",
)
EMAIL_DOMAINS = ("example.com", "example.org", "example.net", "mail.example.com")

# country: (weight, VAT rate, phone prefix, [(city, postcode pattern)], streets)
COUNTRIES: dict[str, tuple[int, float, str, tuple[tuple[str, str], ...], tuple[str, ...]]] = {
    "DE": (
        70,
        0.19,
        "+49",
        (
            ("Berlin", "10{:03d}"),
            ("Hamburg", "20{:03d}"),
            ("München", "80{:03d}"),
            ("Köln", "50{:03d}"),
            ("Leipzig", "04{:03d}"),
            ("Frankfurt am Main", "60{:03d}"),
        ),
        (
            "Hauptstraße",
            "Bahnhofstraße",
            "Gartenweg",
            "Lindenallee",
            "Schillerstraße",
            "Bergstraße",
        ),
    ),
    "AT": (
        6,
        0.20,
        "+43",
        (("Wien", "1{:03d}"), ("Graz", "8{:03d}"), ("Salzburg", "5{:03d}")),
        ("Mariahilfer Straße", "Ringstraße", "Kirchengasse"),
    ),
    "FR": (
        6,
        0.20,
        "+33",
        (("Paris", "75{:03d}"), ("Lyon", "69{:03d}"), ("Lille", "59{:03d}")),
        ("Rue de la Paix", "Avenue Victor Hugo", "Rue des Lilas"),
    ),
    "NL": (
        6,
        0.21,
        "+31",
        (("Amsterdam", "10{:02d} AB"), ("Utrecht", "35{:02d} CD"), ("Rotterdam", "30{:02d} EF")),
        ("Keizersgracht", "Dorpsstraat", "Kerkstraat"),
    ),
    "IT": (
        4,
        0.22,
        "+39",
        (("Milano", "20{:03d}"), ("Roma", "00{:03d}"), ("Torino", "10{:03d}")),
        ("Via Roma", "Via Garibaldi", "Corso Italia"),
    ),
    "ES": (
        4,
        0.21,
        "+34",
        (("Madrid", "28{:03d}"), ("Barcelona", "08{:03d}"), ("Valencia", "46{:03d}")),
        ("Calle Mayor", "Gran Vía", "Calle del Sol"),
    ),
    "BE": (
        2,
        0.21,
        "+32",
        (("Bruxelles", "1{:03d}"), ("Antwerpen", "2{:03d}")),
        ("Rue Neuve", "Meir"),
    ),
    "CH": (
        2,
        0.081,
        "+41",
        (("Zürich", "80{:02d}"), ("Bern", "30{:02d}")),
        ("Bahnhofstrasse", "Seestrasse"),
    ),
}

# carrier -> tracking number maker
CARRIERS_DOMESTIC = ("DHL", "DHL", "DHL", "Hermes", "DPD", "UPS")
CARRIERS_INTERNATIONAL = ("DHL Express", "UPS", "DHL Express")
RETURN_REASONS = (
    "Too small",
    "Too big",
    "Changed my mind",
    "Arrived damaged",
    "Not as described",
    "Wrong item delivered",
    "Quality not as expected",
    "Colour differs from the photos",
)

#: Order scenarios: (name, weight). The first orders cover each scenario in turn.
SCENARIOS: tuple[tuple[str, int], ...] = (
    ("pending", 3),
    ("processing", 4),
    ("shipped", 6),
    ("late", 2),
    ("delivered_recent", 12),
    ("delivered_old", 53),
    ("cancelled", 7),
    ("returned", 5),
    ("partially_returned", 8),
)
#: Orders of each scenario guaranteed at the start of every build (small builds included).
MIN_PER_SCENARIO = 3
#: Scenarios made after the orders by changing some of them (separate random stream, so
#: the orders above stay as they were): (name, status, least orders per build).
CHANGE_SCENARIOS: tuple[tuple[str, str, int], ...] = (
    ("return_requested", "return_requested", 3),
    ("exchange_requested", "exchange_requested", 3),
    ("items_modified", "items_modified", 3),
)
#: Categories whose products get colour/size variants.
VARIANT_SIZINGS = ("shoes", "apparel", "jeans", "dress")
CARD_BRANDS = ("Visa", "Visa", "Mastercard", "Mastercard", "American Express")
GIFT_CARD_BALANCES = (5.0, 12.5, 25.0, 40.0, 80.0, 150.0, 250.0)


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text.replace("ß", "ss").replace("ı", "i")).encode(
        "ascii", "ignore"
    )
    return "".join(ch for ch in folded.decode("ascii").lower() if ch.isalnum())


def _price(rng: random.Random, low: float, high: float) -> float:
    value = rng.uniform(low, high)
    if value < 20:
        return round(int(value) + 0.99, 2)
    return float(int(value / 5) * 5 + 4) + (0.99 if rng.random() < 0.7 else 0.95)


def _ts(day: date, rng: random.Random, start_hour: int = 7, end_hour: int = 22) -> str:
    moment = datetime.combine(
        day, time(rng.randint(start_hour, end_hour - 1), rng.randint(0, 59), rng.randint(0, 59))
    )
    return moment.replace(tzinfo=UTC).isoformat()


def _tracking(carrier: str, rng: random.Random) -> str:
    digits = lambda n: "".join(str(rng.randint(0, 9)) for _ in range(n))  # noqa: E731
    if carrier == "DHL":
        return "00340434" + digits(12)
    if carrier == "DHL Express":
        return "JJD" + digits(18)
    if carrier == "UPS":
        alnum = "".join(rng.choice("0123456789ABCDEFGHJKLMNPRSTUVWXYZ") for _ in range(6))
        return f"1Z{alnum}{rng.choice(['01', '02', '03', '66'])}{digits(8)}"
    if carrier == "DPD":
        return "0" + digits(13)
    if carrier == "Hermes":
        return "H" + digits(19)
    return digits(11)  # GLS


# --------------------------------------------------------------------------- builders
def make_products(rng: random.Random, count: int, today: date) -> list[dict[str, Any]]:
    """Product rows (without ids), ``count`` of them spread over :data:`CATEGORIES`."""
    weights = [c.weight for c in CATEGORIES]
    # every category at least 3 products, the rest by weight
    plan = [c for c in CATEGORIES for _ in range(3)][:count]
    plan += rng.choices(CATEGORIES, weights=weights, k=max(count - len(plan), 0))
    rng.shuffle(plan)
    rows = []
    titles: set[str] = set()
    for n, cat in enumerate(plan, start=1):
        sku = f"{cat.code}-{n:05d}"
        brand = rng.choice(cat.brands)
        noun = rng.choice(cat.nouns)
        colour = rng.choice(cat.colours)
        materials, price_range = cat.noun_specs.get(noun, (cat.materials, cat.price))
        material = rng.choice(materials)
        attributes: dict[str, Any] = {}
        if cat.code == "GFT":
            value = rng.choice(GIFT_CARD_VALUES)
            theme = rng.choice(cat.models)
            fmt = rng.choice(["digital", "printed"])
            title = f"{brand} {theme} Gift Card {value} EUR ({fmt})"
            price = float(value)
            attributes = {"value": f"{value} EUR", "format": fmt, "design": theme.lower()}
        else:
            model = rng.choice(cat.models)
            if rng.random() < 0.35:
                model = f"{model} {rng.randint(2, 6)}"
            title = f"{brand} {model} {noun}" + (f", {colour.title()}" if colour != "n/a" else "")
            price = _price(rng, *price_range)
            if colour != "n/a":
                attributes["colour"] = colour
            attributes[cat.material_key] = material
            if cat.sizing == "shoes":
                start = rng.randint(0, 3)
                attributes["sizes"] = SHOE_SIZES[start : start + rng.randint(7, 9)]
            elif cat.sizing == "apparel":
                attributes["sizes"] = APPAREL_SIZES[rng.randint(0, 1) : rng.randint(4, 6)]
            elif cat.sizing == "jeans":
                attributes["sizes"] = JEANS_SIZES[rng.randint(0, 3) * 3 : rng.randint(12, 18)]
            elif cat.sizing == "dress":
                attributes["sizes"] = DRESS_SIZES[rng.randint(0, 1) :]
            elif cat.sizing == "bedding":
                attributes["sizes"] = BEDDING_SIZES[: rng.randint(2, 4)]
            for key, choices in sorted(cat.extra.items()):
                attributes[key] = rng.choice(choices)
        while title in titles:  # keep titles unique without losing coherence
            title = f"{title} ({rng.choice(['Edition', 'Series', 'Line'])} {rng.randint(2, 99)})"
        titles.add(title)
        final_sale = cat.returnable and rng.random() < 0.04
        personalised = noun.startswith("Personalised")
        returnable = cat.returnable and noun not in cat.hygiene and not final_sale
        if final_sale:
            attributes["final_sale"] = True
            price = round(price * 0.6, 2)
        if personalised:
            attributes["personalised"] = True
        description = describe(cat, brand, noun, title, attributes, rng, returnable)
        stock = 0 if rng.random() < 0.1 else rng.randint(1, 150)
        rating = (
            round(min(5.0, max(1.0, rng.triangular(2.5, 5.0, 4.5))), 1)
            if rng.random() < 0.92
            else None
        )
        slug = cat.name.replace(" ", "-")
        rows.append(
            {
                "sku": sku,
                "title": title,
                "description": description,
                "brand": brand,
                "category": cat.name,
                "price": price,
                "currency": "EUR",
                "attributes": to_json(attributes),
                "stock": stock,
                "rating": rating,
                "image_url": f"/static/img/products/{slug}.svg",
                "product_url": f"/products/{sku}",
                "returnable": int(returnable),
                "updated_at": f"{(today - timedelta(days=rng.randint(0, 200))).isoformat()}T06:00:00+00:00",
            }
        )
    return rows


def describe(
    cat: Category,
    brand: str,
    noun: str,
    title: str,
    attributes: dict[str, Any],
    rng: random.Random,
    returnable: bool,
) -> str:
    """A product description written from its attributes."""
    if cat.code == "GFT":
        return (
            f"A {brand} gift card worth {attributes['value']} with a {attributes['design']} design, "
            f"{'sent by email' if attributes['format'] == 'digital' else 'printed in a gift envelope'}. "
            "Redeemable on the whole range except other gift cards, valid for 3 years. "
            "Gift cards cannot be returned or exchanged for cash."
        )
    features = rng.sample(list(cat.features), k=min(2, len(cat.features)))
    name = title.split(",")[0]
    material = attributes[cat.material_key]
    colour = attributes.get("colour")
    coloured = f"{colour} {noun.lower()}" if colour else noun.lower()
    plural = noun.endswith(PLURAL_NOUN_ENDINGS)
    article = "" if plural else ("an " if coloured[0] in "aeiou" else "a ")
    verb = "are" if plural else "is"
    openers = (
        f"The {name} by {brand} {verb} {article}{coloured} {cat.made} {material}.",
        f"Meet the {name}: {brand}'s {noun.lower()}"
        + (f" in {colour}" if colour else "")
        + f", {cat.made} {material}.",
        f"{brand} makes {'these' if plural else 'this'} {coloured} {'from' if cat.made == 'made of' else cat.made} {material}.",
    )
    parts = [
        rng.choice(openers),
        f"{'They feature' if plural else 'It features'} {features[0]}"
        + (f" and {features[1]}." if len(features) > 1 else "."),
    ]
    if "sizes" in attributes:
        sizes = attributes["sizes"]
        parts.append(f"Available in sizes {sizes[0]} to {sizes[-1]}.")
    for key in sorted(cat.extra):
        parts.append(f"{key.capitalize()}: {attributes[key]}.")
    if attributes.get("personalised"):
        parts.append("Personalised with your name or initials, so it cannot be returned.")
    elif attributes.get("final_sale"):
        parts.append("Final sale: reduced by 40% and not returnable.")
    elif not returnable:
        parts.append("For hygiene reasons this item cannot be returned.")
    return " ".join(parts)


def make_customers(rng: random.Random, count: int, today: date) -> list[dict[str, Any]]:
    """Customer rows with unique ``example.*`` emails (addresses kept in ``_address``)."""
    rows, emails = [], set()
    countries = list(COUNTRIES)
    cweights = [COUNTRIES[c][0] for c in countries]
    for _ in range(count):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        style = rng.randint(0, 3)
        local = [
            f"{_ascii(first)}.{_ascii(last)}",
            f"{_ascii(first)[0]}{_ascii(last)}",
            f"{_ascii(first)}{_ascii(last)}",
            f"{_ascii(first)}_{_ascii(last)}",
        ][style]
        email = f"{local}@{rng.choice(EMAIL_DOMAINS)}"
        n = 2
        while email in emails:
            email = f"{local}{n}@{email.split('@')[1]}"
            n += 1
        emails.add(email)
        country = rng.choices(countries, weights=cweights)[0]
        _, _, prefix, cities, streets = COUNTRIES[country]
        city, pattern = rng.choice(cities)
        postcode = pattern.format(rng.randint(1, 99))
        phone = (
            f"{prefix} {rng.randint(30, 899)} {rng.randint(1000000, 9999999)}"
            if rng.random() < 0.7
            else None
        )
        rows.append(
            {
                "email": email,
                "name": f"{first} {last}",
                "phone": phone,
                "created_at": f"{(today - timedelta(days=rng.randint(30, 1500))).isoformat()}T12:00:00+00:00",
                "_address": {
                    "ship_name": f"{first} {last}",
                    "ship_street": f"{rng.choice(streets)} {rng.randint(1, 180)}",
                    "ship_city": city,
                    "ship_postcode": postcode,
                    "ship_country": country,
                },
            }
        )
    return rows


def _scenario_plan(rng: random.Random, count: int) -> list[str]:
    names = [n for n, _ in SCENARIOS]
    forced = [n for n in names for _ in range(MIN_PER_SCENARIO)][:count]
    rest = rng.choices(names, weights=[w for _, w in SCENARIOS], k=max(count - len(forced), 0))
    plan = forced + rest
    rng.shuffle(plan)
    return plan


def _money(x: float) -> float:
    return round(x + 1e-9, 2)


def make_orders(
    rng: random.Random,
    count: int,
    customers: list[dict[str, Any]],
    products: list[dict[str, Any]],
    today: date,
    window_days: int = RETURN_WINDOW_DAYS,
) -> tuple[list[dict[str, Any]], list[list[dict[str, Any]]], list[dict[str, Any] | None]]:
    """Orders, their items and their return (or ``None``) for each order, by scenario.

    ``customers`` and ``products`` must carry their row ``id``.
    """
    plan = _scenario_plan(rng, count)
    # a few loyal customers order often
    cust_weights = [rng.paretovariate(1.5) for _ in customers]
    gift_cards = [p for p in products if p["category"] == "gift cards"]
    returnable = [p for p in products if p["returnable"]]
    base = 204_817
    drafts = []
    for scenario in plan:
        if scenario == "pending":
            placed = today - timedelta(days=rng.randint(0, 1))
        elif scenario == "processing":
            placed = today - timedelta(days=rng.randint(0, 2))
        elif scenario == "shipped":
            placed = today - timedelta(days=rng.randint(2, 4))
        elif scenario == "late":
            placed = today - timedelta(days=rng.randint(9, 20))
        elif scenario == "delivered_recent":
            placed = today - timedelta(days=rng.randint(4, window_days - 2))
        elif scenario == "cancelled":
            placed = today - timedelta(days=rng.randint(1, 360))
        elif scenario in ("returned", "partially_returned"):
            placed = today - timedelta(days=rng.randint(8, 300))
        else:  # delivered_old
            placed = today - timedelta(days=rng.randint(window_days + 8, 365))
        drafts.append((placed, _ts(placed, rng), scenario))
    # order numbers grow with the order time
    drafts.sort(key=lambda d: d[1])
    orders, items_per_order, returns = [], [], []
    number = base
    for placed_day, placed_at, scenario in drafts:
        number += rng.randint(1, 4)
        customer = rng.choices(customers, weights=cust_weights)[0]
        address = dict(customer["_address"])
        if rng.random() < 0.08:  # sent as a gift to someone else in the same country
            other = rng.choice(customers)
            if other["_address"]["ship_country"] == address["ship_country"]:
                address = dict(other["_address"])
        country = address["ship_country"]
        vat = COUNTRIES[country][1]
        n_lines = rng.choices([1, 2, 3, 4], weights=[50, 30, 14, 6])[0]
        if scenario == "partially_returned":
            n_lines = max(n_lines, 2)
        pool = (
            returnable
            if scenario in ("returned", "partially_returned", "delivered_recent")
            else products
        )
        chosen: list[dict[str, Any]] = []
        while len(chosen) < n_lines:
            p = (
                rng.choice(gift_cards)
                if (gift_cards and rng.random() < 0.02 and pool is products)
                else rng.choice(pool)
            )
            if p not in chosen:
                chosen.append(p)
        if scenario == "delivered_recent" and rng.random() < 0.2:
            extra = rng.choice(products)
            if not extra["returnable"] and extra not in chosen:
                chosen.append(extra)  # inside the window, but one item is final sale / hygiene
        lines = []
        for p in chosen:
            qty = (
                1
                if p["category"] == "gift cards"
                else rng.choices([1, 2, 3], weights=[80, 15, 5])[0]
            )
            lines.append(
                {
                    "product_id": p["id"],
                    "sku": p["sku"],
                    "title": p["title"],
                    "quantity": qty,
                    "unit_price": p["price"],
                    "returned_quantity": 0,
                    "_returnable": bool(p["returnable"]),
                }
            )
        subtotal = _money(sum(line["unit_price"] * line["quantity"] for line in lines))
        express = rng.random() < 0.15
        if country == "DE":
            shipping = 9.95 if express else (0.0 if subtotal >= 50 else 4.95)
        elif country == "CH":
            shipping = 19.95
        else:
            shipping = 0.0 if subtotal >= 100 else 9.95
        tax = _money(subtotal * vat)
        if country == "DE":
            carrier = (
                rng.choice(("DPD", "UPS")) if express else rng.choice(("DHL", "DHL", "Hermes"))
            )
        else:
            carrier = rng.choice(CARRIERS_INTERNATIONAL)
        transit = 1 if express else rng.randint(2, 4) + (0 if country == "DE" else 2)
        order: dict[str, Any] = {
            "order_number": f"SB-{number:06d}",
            "customer_id": customer["id"],
            "status": "",
            "placed_at": placed_at,
            "shipped_at": None,
            "delivered_at": None,
            "carrier": None,
            "tracking_number": None,
            "estimated_delivery": (placed_day + timedelta(days=transit + 1)).isoformat(),
            **address,
            "subtotal": subtotal,
            "shipping_cost": shipping,
            "tax": tax,
            "total": _money(subtotal + shipping + tax),
            "currency": "EUR",
        }
        ret: dict[str, Any] | None = None
        if scenario in ("pending", "processing", "cancelled"):
            order["status"] = scenario
            if scenario == "cancelled":
                order["estimated_delivery"] = None
            elif (
                scenario == "pending"
                and order["estimated_delivery"] < today.isoformat()
                or scenario == "processing"
                and order["estimated_delivery"] < today.isoformat()
            ):
                order["estimated_delivery"] = (today + timedelta(days=transit)).isoformat()
            updated = placed_at
        else:
            shipped_day = placed_day + timedelta(days=1 if rng.random() < 0.8 else 2)
            if scenario == "shipped":
                shipped_day = min(shipped_day, today)
            order["shipped_at"] = _ts(shipped_day, rng, 14, 20)
            order["carrier"] = carrier
            order["tracking_number"] = _tracking(carrier, rng)
            eta = shipped_day + timedelta(days=transit)
            if scenario == "shipped":
                eta = max(eta, today + timedelta(days=rng.randint(0, 2)))
                order["status"] = "shipped"
                order["estimated_delivery"] = eta.isoformat()
                updated = order["shipped_at"]
            elif scenario == "late":
                # promised days ago, still not delivered
                eta = min(eta, today - timedelta(days=rng.randint(2, 6)))
                order["status"] = "shipped"
                order["estimated_delivery"] = eta.isoformat()
                updated = order["shipped_at"]
            else:
                delivered_day = eta + timedelta(days=rng.choice([0, 0, 0, -1, 1]))
                delivered_day = max(delivered_day, shipped_day + timedelta(days=1))
                if scenario == "delivered_recent":
                    delivered_day = min(delivered_day, today - timedelta(days=1))
                    if (today - delivered_day).days > window_days:
                        delivered_day = today - timedelta(days=window_days - 1)
                elif scenario == "delivered_old" and (today - delivered_day).days <= window_days:
                    delivered_day = today - timedelta(days=window_days + 1)
                delivered_day = min(delivered_day, today - timedelta(days=1))
                order["estimated_delivery"] = eta.isoformat()
                order["delivered_at"] = _ts(delivered_day, rng, 8, 19)
                order["status"] = "delivered"
                updated = order["delivered_at"]
                if scenario in ("returned", "partially_returned"):
                    ret, updated = _make_return(
                        rng, order, lines, scenario, delivered_day, today, window_days
                    )
        order["updated_at"] = updated
        orders.append(order)
        items_per_order.append(lines)
        returns.append(ret)
    return orders, items_per_order, returns


def _make_return(
    rng: random.Random,
    order: dict[str, Any],
    lines: list[dict[str, Any]],
    scenario: str,
    delivered_day: date,
    today: date,
    window_days: int,
) -> tuple[dict[str, Any], str]:
    if scenario == "returned":
        picked = [(line, line["quantity"]) for line in lines]
        order["status"] = "returned"
    else:
        k = rng.randint(1, len(lines) - 1)
        picked = [(line, rng.randint(1, line["quantity"])) for line in rng.sample(lines, k)]
    created_day = delivered_day + timedelta(
        days=rng.randint(1, min(window_days - 1, max(1, (today - delivered_day).days)))
    )
    created_day = min(created_day, today)
    age = (today - created_day).days
    if age > 14:
        status, refund_status = "refunded", "issued"
    elif age > 7:
        status, refund_status = rng.choice([("received", "pending"), ("refunded", "issued")])
    elif age > 2:
        status, refund_status = "approved", "pending"
    else:
        status, refund_status = "requested", "pending"
    ret_items = []
    for line, qty in picked:
        line["returned_quantity"] = qty
        ret_items.append(
            {
                "order_item_id": None,  # filled in once the item has its row id
                "sku": line["sku"],
                "title": line["title"],
                "quantity": qty,
                "amount": refund_amount(order, line, qty),
            }
        )
    created = _ts(created_day, rng)
    ret = {
        "rma_id": f"RMA-{order['order_number'][3:]}-1",
        "items": ret_items,
        "reason": rng.choice(RETURN_REASONS),
        "status": status,
        "refund_amount": round(sum(i["amount"] for i in ret_items), 2),
        "refund_status": refund_status,
        "created_at": created,
        "updated_at": created,
    }
    return ret, created


# --------------------------------------------------------------------------- entry point
def build_demo(
    store: Store,
    seed: int = 7,
    products: int = 2000,
    customers: int = 300,
    orders: int = 2000,
    today: date | None = DEMO_TODAY,
    faq_path: Path | str | None = FAQ_PATH,
    window_days: int = RETURN_WINDOW_DAYS,
    progress: bool = True,
    on_step: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Fill an empty store with the demo shop.

    Args:
        store: A migrated store without products, customers or orders.
        seed: Random seed; the same arguments always give the same database.
        products: Number of products (spread over all 20 categories).
        customers: Number of customers.
        orders: Number of orders; each scenario (pending, processing, shipped, late,
            delivered inside/outside the return window, cancelled, returned, partially
            returned) gets at least :data:`MIN_PER_SCENARIO` orders.
        today: The date the shop's history is relative to; ``None`` means the real
            current date (then the build is deterministic only within that day).
        faq_path: FAQ file to import (YAML or CSV); ``None`` skips the FAQ.
        window_days: Return window used to place deliveries inside/outside it.
        progress: Show tqdm progress bars.
        on_step: Optional callback with a short message per step.

    Returns:
        Counts per table, ``categories``, ``statuses`` (orders per status),
        ``scenarios`` (orders per scenario) and ``examples`` (one order number per
        scenario with its customer email, handy for demos and tests).

    Raises:
        ValueError: If the store already holds products, customers or orders, or a count
            is too small.
    """
    if min(products, customers, orders) < 1 or products < 3 * len(CATEGORIES):
        raise ValueError(f"need at least {3 * len(CATEGORIES)} products and one customer and order")
    if any(store.count(t) for t in ("products", "customers", "orders")):
        raise ValueError("the store is not empty; build the demo into a new database")
    today = today or date.today()
    rng = random.Random(seed)
    step = on_step or (lambda msg: logger.info(msg))

    step(f"making {products} products")
    product_rows = make_products(random.Random(rng.random()), products, today)
    customer_rows = make_customers(random.Random(rng.random()), customers, today)
    db = store.db
    with store.transaction():
        for row in tqdm(product_rows, desc="products", unit="row", disable=not progress):
            cur = db.execute(
                f"INSERT INTO products ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
                list(row.values()),
            )
            row["id"] = cur.lastrowid
        for row in tqdm(customer_rows, desc="customers", unit="row", disable=not progress):
            data = {k: v for k, v in row.items() if not k.startswith("_")}
            cur = db.execute(
                f"INSERT INTO customers ({', '.join(data)}) VALUES ({', '.join('?' * len(data))})",
                list(data.values()),
            )
            row["id"] = cur.lastrowid
        step(f"making {orders} orders")
        order_rows, item_rows, return_rows = make_orders(
            random.Random(rng.random()), orders, customer_rows, product_rows, today, window_days
        )
        plan_scenarios = _scenarios_of(order_rows, item_rows, return_rows, today, window_days)
        for order, lines, ret in tqdm(
            list(zip(order_rows, item_rows, return_rows, strict=True)),
            desc="orders",
            unit="order",
            disable=not progress,
        ):
            cur = db.execute(
                f"INSERT INTO orders ({', '.join(order)}) VALUES ({', '.join('?' * len(order))})",
                list(order.values()),
            )
            order["id"] = cur.lastrowid
            for line in lines:
                cur = db.execute(
                    "INSERT INTO order_items (order_id, product_id, sku, title, quantity, unit_price, returned_quantity)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [
                        order["id"],
                        line["product_id"],
                        line["sku"],
                        line["title"],
                        line["quantity"],
                        line["unit_price"],
                        line["returned_quantity"],
                    ],
                )
                line["id"] = cur.lastrowid
            if ret is not None:
                by_sku = {line["sku"]: line["id"] for line in lines}
                for item in ret["items"]:
                    item["order_item_id"] = by_sku[item["sku"]]
                db.execute(
                    "INSERT INTO returns (rma_id, order_id, items, reason, status, refund_amount, refund_status,"
                    " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        ret["rma_id"],
                        order["id"],
                        to_json(ret["items"]),
                        ret["reason"],
                        ret["status"],
                        ret["refund_amount"],
                        ret["refund_status"],
                        ret["created_at"],
                        ret["updated_at"],
                    ],
                )
        step("adding variants, payment methods, fulfilments and order changes")
        plan_scenarios = add_commerce(
            store,
            random.Random(f"{seed}:commerce"),
            product_rows,
            customer_rows,
            order_rows,
            item_rows,
            return_rows,
            plan_scenarios,
            today,
        )
    faq_count = 0
    if faq_path is not None:
        from knowledge.importers import import_files

        step(f"importing FAQ from {faq_path}")
        report = import_files(
            store,
            [Path(faq_path)],
            kind="faq",
            progress=False,
            actor="demo",
            now=f"{today.isoformat()}T06:00:00+00:00",
        )
        faq_count = report.inserted + report.updated
    stats: dict[str, Any] = store.counts()
    stats["faq_imported"] = faq_count
    stats["categories"] = len(store.categories())
    stats["statuses"] = {
        r["status"]: r["n"]
        for r in store.query(
            "SELECT status, count(*) AS n FROM orders GROUP BY status ORDER BY status"
        )
    }
    counts: dict[str, int] = {}
    examples: dict[str, dict[str, str]] = {}
    emails = {c["id"]: c["email"] for c in customer_rows}
    for order, scenario in zip(order_rows, plan_scenarios, strict=True):
        counts[scenario] = counts.get(scenario, 0) + 1
        examples.setdefault(
            scenario, {"order_number": order["order_number"], "email": emails[order["customer_id"]]}
        )
    stats["scenarios"] = dict(sorted(counts.items()))
    stats["examples"] = dict(sorted(examples.items()))
    stats["variants"] = store.count("product_variants")
    stats["payment_methods"] = store.count("payment_methods")
    stats["today"] = today.isoformat()
    step(
        f"demo shop ready: {stats['products']} products, {stats['customers']} customers, {stats['orders']} orders"
    )
    return stats


def _scenarios_of(
    orders: list[dict[str, Any]],
    items: list[list[dict[str, Any]]],
    returns: list[dict[str, Any] | None],
    today: date,
    window_days: int,
) -> list[str]:
    """Classify built orders back into scenarios (checks the builder did what it meant)."""
    out = []
    for order, lines, ret in zip(orders, items, returns, strict=True):
        status = order["status"]
        if status == "shipped":
            late = order["estimated_delivery"] < today.isoformat()
            out.append("late" if late else "shipped")
        elif status == "delivered":
            if ret is not None or any(line["returned_quantity"] for line in lines):
                out.append("partially_returned")
            else:
                age = (today - date.fromisoformat(order["delivered_at"][:10])).days
                out.append("delivered_recent" if age <= window_days else "delivered_old")
        else:
            out.append(status)
    return out


# --------------------------------------------------------------------------- issue 13 data
def _variant_plan(
    rng: random.Random, product: dict[str, Any]
) -> tuple[list[str], list[dict[str, str]]]:
    """Option names and option values of a clothing or shoe product's variants."""
    cat = next(c for c in CATEGORIES if c.name == product["category"])
    if cat.sizing not in VARIANT_SIZINGS:
        return [], []
    attributes = product["_attributes"]
    sizes = list(attributes.get("sizes") or [])
    colour = attributes.get("colour")
    colours = [colour] if colour else []
    others = [c for c in cat.colours if c not in colours and c != "n/a"]
    if colours and others:
        colours += rng.sample(others, k=min(len(others), rng.randint(1, 2)))
    options = (["colour"] if colours else []) + (["size"] if sizes else [])
    values = [
        {**({"colour": c} if c else {}), **({"size": z} if z else {})}
        for c in (colours or [None])
        for z in (sizes or [None])
    ]
    return options, values


def _code(text: str) -> str:
    return "".join(ch for ch in _ascii(text).upper() if ch.isalnum()) or "X"


def add_commerce(
    store: Store,
    rng: random.Random,
    products: list[dict[str, Any]],
    customers: list[dict[str, Any]],
    orders: list[dict[str, Any]],
    items: list[list[dict[str, Any]]],
    returns: list[dict[str, Any] | None],
    scenarios: list[str],
    today: date,
) -> list[str]:
    """Variants, default addresses, payment methods, payment history, fulfilments and the
    change scenarios (:data:`CHANGE_SCENARIOS`) of an inserted demo shop; cancelled orders
    get their ``cancel`` entry (a policy reason, the refund), returns and exchange
    requests their instructions in the outbox, and a few customers with a pending order a
    gift card (:func:`_gift_card_scenarios`).

    Runs inside the build's transaction on its own random stream. Returns the orders'
    scenarios with the changed orders renamed.
    """
    stamp = f"{today.isoformat()}T06:00:00+00:00"
    emails = {c["id"]: c["email"] for c in customers}
    variants_of: dict[int, list[dict[str, Any]]] = {}
    for product in products:
        product["_attributes"] = json.loads(product["attributes"])
        options, values = _variant_plan(rng, product)
        if not values:
            continue
        store.db.execute(
            "UPDATE products SET options = ? WHERE id = ?", [to_json(options), product["id"]]
        )
        extra = 0.0 if rng.random() < 0.6 else 5.0
        rows = []
        for position, value in enumerate(values):
            same_colour = value.get("colour") in (None, product["_attributes"].get("colour"))
            price = product["price"] if same_colour else round(product["price"] + extra, 2)
            stock = 0 if rng.random() < 0.15 else rng.randint(1, 25)
            sku = "-".join([product["sku"], *(_code(v) for v in value.values())])
            vid = store.insert_variant(product["id"], sku, value, price, stock, position, stamp)
            rows.append(
                {
                    "id": vid,
                    "product_id": product["id"],
                    "sku": sku,
                    "options": value,
                    "price": price,
                    "stock": stock,
                }
            )
        variants_of[product["id"]] = rows
        # A product with variants has what its variants have in stock.
        product["stock"] = sum(r["stock"] for r in rows)
        store.db.execute(
            "UPDATE products SET stock = ? WHERE id = ?", [product["stock"], product["id"]]
        )
    methods_of: dict[int, list[dict[str, Any]]] = {}
    for customer in customers:
        address = customer["_address"]
        store.db.execute(
            "UPDATE customers SET address_name = ?, address_street = ?, address_city = ?,"
            " address_postcode = ?, address_country = ? WHERE id = ?",
            [
                address["ship_name"],
                address["ship_street"],
                address["ship_city"],
                address["ship_postcode"],
                address["ship_country"],
                customer["id"],
            ],
        )
        methods: list[dict[str, Any]] = []
        brand = rng.choice(CARD_BRANDS)
        last4 = f"{rng.randint(0, 9999):04d}"
        mid = store.insert_payment_method(
            customer["id"],
            "card",
            brand=brand,
            last4=last4,
            is_default=True,
            created_at=customer["created_at"],
        )
        methods.append({"id": mid, "kind": "card"})
        if rng.random() < 0.5:
            mid = store.insert_payment_method(
                customer["id"],
                "paypal",
                paypal_email=customer["email"],
                created_at=customer["created_at"],
            )
            methods.append({"id": mid, "kind": "paypal"})
        if rng.random() < 0.45 or customer is customers[0]:
            code = "-".join(f"{rng.randint(0, 9999):04d}" for _ in range(4))
            mid = store.insert_payment_method(
                customer["id"],
                "gift_card",
                gift_card_code=code,
                balance=rng.choice(GIFT_CARD_BALANCES),
                created_at=customer["created_at"],
            )
            methods.append({"id": mid, "kind": "gift_card"})
        methods_of[customer["id"]] = methods
    for order, lines, ret in zip(orders, items, returns, strict=True):
        for line in lines:
            choices = variants_of.get(line["product_id"]) or []
            colour = next(
                (p["_attributes"].get("colour") for p in products if p["id"] == line["product_id"]),
                None,
            )
            own = [v for v in choices if v["options"].get("colour") in (None, colour)] or choices
            if own:
                variant = rng.choice(own)
                line["variant_id"], line["options"] = variant["id"], variant["options"]
                store.db.execute(
                    "UPDATE order_items SET variant_id = ?, options = ? WHERE id = ?",
                    [variant["id"], to_json(variant["options"]), line["id"]],
                )
        methods = [m for m in methods_of[order["customer_id"]] if m["kind"] != "gift_card"]
        method = rng.choice(methods)
        order["payment_method_id"] = method["id"]
        store.db.execute(
            "UPDATE orders SET payment_method_id = ? WHERE id = ?", [method["id"], order["id"]]
        )
        row = store.get_payment_method(method["id"])
        store.insert_payment(order["id"], "payment", row, order["total"], at=order["placed_at"])
        if order["status"] == "cancelled":
            store.insert_payment(
                order["id"],
                "refund",
                row,
                order["total"],
                note="cancelled",
                at=order["updated_at"],
            )
            _record_cancel(store, order, row)
        if ret is not None:
            _queue_return_instructions(store, order, ret, emails[order["customer_id"]], today)
        if ret is not None and ret["refund_status"] == "issued":
            store.insert_payment(
                order["id"],
                "refund",
                row,
                ret["refund_amount"],
                note=ret["rma_id"],
                at=ret["updated_at"],
            )
        if order["shipped_at"]:
            split = len(lines) > 2 and rng.random() < 0.5
            parts = [lines[:1], lines[1:]] if split else [lines]
            for n, part in enumerate(parts):
                delivered = order["delivered_at"]
                store.insert_fulfilment(
                    order["id"],
                    [{"order_item_id": line["id"], "quantity": line["quantity"]} for line in part],
                    order["carrier"],
                    order["tracking_number"] if n == 0 else _tracking(order["carrier"], rng),
                    "delivered" if delivered else "in_transit",
                    order["shipped_at"],
                    delivered,
                )
    out = _change_scenarios(store, rng, orders, items, scenarios, variants_of, stamp)
    for order, name in zip(orders, out, strict=True):
        if name in ("return_requested", "exchange_requested"):
            _queue_change_instructions(store, order, emails[order["customer_id"]], stamp)
    _gift_card_scenarios(
        store, random.Random(f"{stamp}:gift cards"), orders, items, out, variants_of, methods_of
    )
    return out


def _record_cancel(store: Store, order: dict[str, Any], method: dict[str, Any] | None) -> None:
    """The ``cancel`` entry of a cancelled demo order: a reason of the policy, the refund."""
    from knowledge.operations import refund_line
    from knowledge.policy import current_policy

    policy = current_policy()
    reasons = policy.cancellation_reasons
    change = {
        "kind": "cancel",
        "at": order["updated_at"],
        "reason": reasons[order["id"] % len(reasons)],
        "refunds": [refund_line(method, order["total"], policy)],
    }
    store.db.execute("UPDATE orders SET changes = ? WHERE id = ?", [to_json([change]), order["id"]])


def _outbox_status(created_at: str, today: date) -> str:
    return "sent" if created_at[:10] < today.isoformat() else "queued"


def _queue_return_instructions(
    store: Store, order: dict[str, Any], ret: dict[str, Any], email: str, today: date
) -> None:
    """The return instructions a built return would have emailed (the console's outbox)."""
    items = "\n".join(f"- {i['quantity']} x {i['title']}" for i in ret["items"])
    body = (
        f"Your return {ret['rma_id']} for order {order['order_number']}:\n{items}\n\n"
        f"Pack the items with a note of {ret['rma_id']}, stick the prepaid label from your "
        "account on the parcel and drop it at any DHL or Hermes shop within 14 days."
    )
    oid = store.insert_outbox(
        email,
        f"Your return {ret['rma_id']}",
        body,
        "return_instructions",
        order["customer_id"],
        order["id"],
        ret["created_at"],
    )
    if _outbox_status(ret["created_at"], today) == "sent":
        store.db.execute("UPDATE outbox SET status = 'sent' WHERE id = ?", [oid])


def _queue_change_instructions(store: Store, order: dict[str, Any], email: str, at: str) -> None:
    """Instructions for a return or exchange request made by :func:`_change_scenarios`."""
    row = store.get_order_by_id(order["id"]) or {}
    change = (row.get("changes") or [{}])[-1]
    if change.get("kind") == "return":
        ret = {"rma_id": change["rma_id"], "items": change["items"], "created_at": at}
        _queue_return_instructions(store, order, ret, email, date.fromisoformat(at[:10]))
        return
    ref = change.get("exchange_id", "")
    lines = "\n".join(f"- {i['quantity']} x {i['title']}" for i in change.get("items") or [])
    store.insert_outbox(
        email,
        f"Your exchange {ref}",
        f"Your exchange {ref} for order {order['order_number']}:\n{lines}\n\n"
        f"Send the items back with a note of {ref} using the prepaid label from your account "
        "within 14 days; the new ones ship as soon as we have them.",
        "exchange_instructions",
        order["customer_id"],
        order["id"],
        at,
    )


def _gift_card_scenarios(
    store: Store,
    rng: random.Random,
    orders: list[dict[str, Any]],
    items: list[list[dict[str, Any]]],
    scenarios: list[str],
    variants_of: dict[int, list[dict[str, Any]]],
    methods_of: dict[int, list[dict[str, Any]]],
) -> None:
    """Gift cards for a few customers with a pending order and none yet, so every build
    has orders a gift card covers, orders it does not, and an item change whose price
    difference a small gift card does not cover (the support desk's refusals).

    Runs on its own random stream after everything else: the rest of the build is as it
    was without it.
    """
    first: dict[str, int] = {}
    for n, name in enumerate(scenarios):
        first.setdefault(name, n)
    pending = [
        n
        for n, name in enumerate(scenarios)
        if name == "pending"
        and n not in first.values()
        and not any(m["kind"] == "gift_card" for m in methods_of[orders[n]["customer_id"]])
    ]

    def dearer(n: int) -> bool:
        return any(
            v["stock"] >= line["quantity"] and v["price"] > line["unit_price"] + 0.005
            for line in items[n]
            if line.get("variant_id") is not None
            for v in variants_of.get(line["product_id"], [])
        )

    pending.sort(key=lambda n: (not dearer(n), n))
    wanted = max(MIN_PER_SCENARIO, len(orders) // 400)
    done: set[int] = set()
    for k, n in enumerate(pending[: 2 * wanted]):
        order = orders[n]
        if order["customer_id"] in done:
            continue
        done.add(order["customer_id"])
        # the dearer-swap orders come first and get the small card that covers neither the
        # order nor the difference; the others a card that covers the whole order
        small = k < wanted
        balance = min(GIFT_CARD_BALANCES) if small else float(int(order["total"] / 10) * 10 + 50)
        code = "-".join(f"{rng.randint(0, 9999):04d}" for _ in range(4))
        mid = store.insert_payment_method(
            order["customer_id"],
            "gift_card",
            gift_card_code=code,
            balance=balance,
            created_at=order["placed_at"],
        )
        methods_of[order["customer_id"]].append({"id": mid, "kind": "gift_card"})


def _change_scenarios(
    store: Store,
    rng: random.Random,
    orders: list[dict[str, Any]],
    items: list[list[dict[str, Any]]],
    scenarios: list[str],
    variants_of: dict[int, list[dict[str, Any]]],
    stamp: str,
) -> list[str]:
    """Turn a few orders into return_requested, exchange_requested and items_modified."""
    first: dict[str, int] = {}
    for n, name in enumerate(scenarios):
        first.setdefault(name, n)
    examples = set(first.values())
    out = list(scenarios)

    def swappable(lines: list[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any]] | None:
        for line in lines:
            current = line.get("variant_id")
            same_price = [
                v
                for v in variants_of.get(line["product_id"], [])
                if v["id"] != current
                and v["stock"] >= line["quantity"]
                and abs(v["price"] - line["unit_price"]) < 0.005
            ]
            if current is not None and same_price:
                return line, rng.choice(same_price)
        return None

    for name, status, least in CHANGE_SCENARIOS:
        sources = ("pending", "processing") if name == "items_modified" else ("delivered_recent",)
        # at least ``least`` (1 % of the orders in big builds), never leaving a source
        # scenario with fewer than MIN_PER_SCENARIO orders
        spare = {s: out.count(s) - MIN_PER_SCENARIO for s in sources}
        wanted = min(max(least, len(orders) // 100), sum(max(v, 0) for v in spare.values()))
        done = 0
        for n, order in enumerate(orders):
            if done >= wanted:
                break
            if out[n] not in sources or n in examples or spare[out[n]] <= 0:
                continue
            lines = items[n]
            if any(line["returned_quantity"] for line in lines):
                continue
            pick = swappable(lines)
            if name == "return_requested":
                line = next((ln for ln in lines if ln["_returnable"]), None)
                if line is None:
                    continue
                rma = f"RMA-{order['order_number'][3:]}-1"
                amount = refund_amount(order, line, line["quantity"])
                entry = [
                    {
                        "order_item_id": line["id"],
                        "sku": line["sku"],
                        "title": line["title"],
                        "quantity": line["quantity"],
                        "amount": amount,
                    }
                ]
                store.db.execute(
                    "INSERT INTO returns (rma_id, order_id, items, reason, status, refund_amount,"
                    " refund_status, created_at, updated_at) VALUES (?, ?, ?, ?, 'requested', ?,"
                    " 'pending', ?, ?)",
                    [rma, order["id"], to_json(entry), "Too small", amount, stamp, stamp],
                )
                store.db.execute(
                    "UPDATE order_items SET returned_quantity = quantity WHERE id = ?", [line["id"]]
                )
                line["returned_quantity"] = line["quantity"]
                change: dict[str, Any] = {
                    "kind": "return",
                    "at": stamp,
                    "rma_id": rma,
                    "items": entry,
                }
            elif pick is None:
                continue
            else:
                line, variant = pick
                swap = {
                    "order_item_id": line["id"],
                    "title": line["title"],
                    "quantity": line["quantity"],
                    "from": {
                        "variant_id": line["variant_id"],
                        "sku": line["sku"],
                        "options": line["options"],
                        "unit_price": line["unit_price"],
                    },
                    "to": {
                        "variant_id": variant["id"],
                        "sku": variant["sku"],
                        "options": variant["options"],
                        "unit_price": variant["price"],
                    },
                    "difference": 0.0,
                }
                kind = "items" if name == "items_modified" else "exchange"
                change = {
                    "kind": kind,
                    "at": stamp,
                    "items": [swap],
                    "difference": 0.0,
                    "settlement": None,
                }
                if kind == "exchange":
                    change["exchange_id"] = f"EXC-{order['order_number'][3:]}-1"
                    change["reason"] = "Too small"
                else:
                    store.db.execute(
                        "UPDATE order_items SET variant_id = ?, sku = ?, options = ? WHERE id = ?",
                        [variant["id"], variant["sku"], to_json(variant["options"]), line["id"]],
                    )
                store.db.execute(
                    "UPDATE product_variants SET stock = stock - ? WHERE id = ?",
                    [line["quantity"], variant["id"]],
                )
                variant["stock"] -= line["quantity"]
            order["status"] = status
            store.db.execute(
                "UPDATE orders SET status = ?, changes = ?, updated_at = ? WHERE id = ?",
                [status, to_json([change]), stamp, order["id"]],
            )
            spare[out[n]] -= 1
            out[n] = name
            done += 1
    return out


def scenario_of(
    store: Store, order: dict[str, Any], today: date, window_days: int = RETURN_WINDOW_DAYS
) -> str:
    """The demo scenario an order row belongs to (``late``, ``partially_returned``...)."""
    lines = store.order_items(order["id"])
    rets = store.returns_for_order(order["id"])
    return _scenarios_of([order], [lines], [rets[0] if rets else None], today, window_days)[0]
