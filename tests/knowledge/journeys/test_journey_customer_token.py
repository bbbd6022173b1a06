"""A customer token (a JWT from the shop's backend) proves one customer in chat, and only
that customer's orders are shown."""

from __future__ import annotations

import time

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from knowledge.identity import CustomerTokenKeys
from knowledge.journeys import identity, orders
from knowledge.journeys.common import NOT_ON_ACCOUNT
from knowledge.journeys.inputs import Shopper, Turn
from tests.knowledge.journeys.conftest import other_order, owner


def _shopper(reply) -> Shopper:
    slots = reply.slots
    assert slots.get("verified") is True
    return Shopper(customer_id=int(slots["customer_id"]), email=slots["customer_email"])


def test_an_es256_token_for_another_customer_never_shows_this_ones_orders(shop, examples):
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    keys = CustomerTokenKeys(public_key=pem.decode("ascii"), audience="shopbot")
    mine = examples["shipped"]["order_number"]
    me = owner(shop, mine)
    someone_else = other_order(shop, me.customer_id)
    their = shop.store.get_customer(shop.store.get_order(someone_else)["customer_id"])
    now = int(time.time())
    token = jwt.encode(
        {"email": their["email"], "aud": "shopbot", "iat": now, "exp": now + 300}, key, "ES256"
    )
    proven = identity.from_token(shop, token, keys)
    shopper = _shopper(proven)
    assert shopper.customer_id == their["id"] != me.customer_id
    reply = orders.track(
        shop, shopper, Turn(f"where is {mine}", "track_order", {"order_number": mine})
    )
    assert NOT_ON_ACCOUNT in reply.text and mine not in reply.text
    # the same token signed by anyone else proves nobody
    forged = jwt.encode(
        {"email": me.email, "aud": "shopbot", "iat": now, "exp": now + 300},
        ec.generate_private_key(ec.SECP256R1()),
        "ES256",
    )
    assert identity.from_token(shop, forged, keys).slots == {}
