"""A shop whose orders are numbered its own way (Shopify's ``#1001``): a real Rasa server
and action server with ``SHOPBOT_ORDER_NUMBER_FORMAT=#{4,}`` track an order over REST."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from shopbot.stack import RasaStack, start_stack
from tests.support.shop import cached_shop, copy_shop, renumber_orders

pytestmark = [pytest.mark.timeout(1800), pytest.mark.slow]  # its own stack: ~2 min here


@pytest.fixture(scope="module")
def shopify_stack(rasa_model, tmp_path_factory) -> Iterator[RasaStack]:
    data_dir = copy_shop(cached_shop(), tmp_path_factory.mktemp("shopify") / "data")
    renumber_orders(data_dir, lambda order_id, old: f"#{1000 + int(order_id)}")
    stack = start_stack(data_dir, model=rasa_model, env={"SHOPBOT_ORDER_NUMBER_FORMAT": "#{4,}"})
    yield stack
    stack.stop()


def test_tracking_an_order_numbered_like_shopify(shopify_stack):
    example = shopify_stack.examples["shipped"]
    number = example["order_number"]
    assert number.startswith("#") and not number.startswith("#SB")
    sender = f"shopify-{uuid.uuid4().hex[:8]}"
    first = shopify_stack.say(sender, f"where is my order {number}?")
    # the number is taken from the text: only the email is asked for
    assert "email" in first.lower() and "SB-" not in first
    reply = shopify_stack.say(sender, example["email"])
    assert number in reply and "shipped" in reply.lower()
    slots = shopify_stack.tracker(sender)["slots"]
    assert slots["verified"] is True and slots["order_number"] == number
    # typed without the '#', as "order 1234", it is the same order
    again = shopify_stack.say(sender, f"and what about order {number[1:]}")
    assert number in again
