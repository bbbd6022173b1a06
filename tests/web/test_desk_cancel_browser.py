"""The cancel with a reason in the widget (headless Chromium) against the real Rasa and
action servers: the shopper types the request, gives the email, picks the reason from the
shop's buttons, reads the refund and its timing back and confirms; the store changes.

The order is one of this module's own (``tests/support/desk.py``), imported into the
stack's shop, so no other browser test meets it. Screenshot:
``test-artifacts/web/journey-desk-cancel.png``.
"""

from __future__ import annotations

import json

import pytest
from web_support import chips, open_widget, press, say, shot, stack_web_app, transcript

from tests.support.desk import CANCELLER, ORDERS, import_desk_shop
from tests.support.servers import rasa_model, rasa_stack  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def desk_web(rasa_stack, tmp_path_factory):  # noqa: F811 - the fixture imported above
    """The web app over the stack's shop (with this module's shoppers imported)."""
    import_desk_shop(rasa_stack.db_path, tmp_path_factory.mktemp("desk-import"))
    app = stack_web_app(rasa_stack)
    yield app
    app.stop()


@pytest.fixture
def page(context, desk_web):
    return open_widget(context, desk_web.url)


def _order(stack, number: str) -> dict:
    from knowledge.store import Store

    store = Store.open(stack.db_path)
    try:
        return dict(store.get_order(number))
    finally:
        store.close()


def test_cancel_with_a_reason_button_in_the_widget(page, rasa_stack):  # noqa: F811
    number = ORDERS["browser"]
    assert _order(rasa_stack, number)["status"] == "pending"
    reply = say(page, f"please cancel my order {number}")
    assert "email" in reply.lower(), reply
    reply = say(page, CANCELLER)
    assert f"why you'd like to cancel order {number}" in reply, reply
    assert "It will arrive too late" in chips(page)
    reply = press(page, "It will arrive too late")
    # the chip shows its title, never the payload with the entity
    assert page.locator(".sbw-user .sbw-bubble").last.inner_text() == "It will arrive too late"
    assert "It will arrive too late" in reply and "3-5 business days" in reply, reply
    reply = press(page, "Yes")
    shot(page, "journey-desk-cancel")
    assert f"Order {number} is cancelled" in reply, transcript(page)
    order = _order(rasa_stack, number)
    assert order["status"] == "cancelled"
    changes = (
        order["changes"] if isinstance(order["changes"], list) else json.loads(order["changes"])
    )
    assert changes[-1]["reason"] == "It will arrive too late"
