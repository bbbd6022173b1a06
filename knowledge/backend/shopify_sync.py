"""Shopify's data into the store: webhooks (signed, logged, de-duplicated) and bulk imports.

Shopify's JSON (the Admin REST API's ``order``, ``product`` and ``customer`` objects, which
webhooks of the topics in :data:`WEBHOOK_TOPICS` carry as their body) is mapped onto the
documented import schema (``docs/import-format.md``) and written with
:func:`knowledge.importers.import_documents`, so a webhook or a bulk import follows the same
upsert and validation rules as a file import and is all-or-nothing. Shopify's ids are kept in
``external_ids`` (source ``shopify``; entities ``customer``, ``product``, ``variant``,
``order``, ``line_item``) so the shop client can address the shop's own records.

Order statuses: ``cancelled_at`` -> ``cancelled``; the tags shopbot's client sets on a
request that REST cannot carry out (``shopbot-return-requested``,
``shopbot-exchange-requested``, ``shopbot-items-modified``) -> that status; refunded and
delivered -> ``returned``; every fulfilment delivered -> ``delivered``; any fulfilment ->
``shipped``; ``financial_status`` pending -> ``pending``; otherwise ``processing``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from knowledge.importers import ImportFailed, ImportReport, import_documents, strip_html
from knowledge.normalise import normalise_email
from knowledge.schema import utc_now
from knowledge.store import Store

logger = logging.getLogger(__name__)

SOURCE = "shopify"
WEBHOOK_TOPICS = (
    "orders/create",
    "orders/updated",
    "orders/cancelled",
    "products/create",
    "products/update",
    "customers/create",
    "customers/update",
)
#: Order tags shopbot's Shopify client sets, read back as local statuses.
STATUS_TAGS = {
    "shopbot-return-requested": "return_requested",
    "shopbot-exchange-requested": "exchange_requested",
    "shopbot-items-modified": "items_modified",
}
MAX_WEBHOOK_BYTES = 2 * 1024 * 1024


# --------------------------------------------------------------------------- signatures
def sign_webhook(secret: str, body: bytes) -> str:
    """Shopify's ``X-Shopify-Hmac-Sha256``: base64 of HMAC-SHA256 of the raw body."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def verify_webhook(secret: str, body: bytes, signature: str | None) -> bool:
    """True when ``signature`` is the body's HMAC under ``secret`` (constant-time compare)."""
    if not secret or not signature:
        return False
    return hmac.compare_digest(sign_webhook(secret, body).encode(), signature.strip().encode())


# --------------------------------------------------------------------------- external ids
def set_external_id(
    store: Store, entity: str, external_id: object, local_id: int, source: str = SOURCE
) -> None:
    """Remember that the shop's ``external_id`` of ``entity`` is the local row ``local_id``."""
    store.db.execute(
        "INSERT INTO external_ids (source, entity, external_id, local_id, updated_at) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT(source, entity, external_id) "
        "DO UPDATE SET local_id = excluded.local_id, updated_at = excluded.updated_at",
        [source, entity, str(external_id), int(local_id), utc_now()],
    )


def local_id_of(store: Store, entity: str, external_id: object, source: str = SOURCE) -> int | None:
    """The local row id the shop's id maps to, or ``None``."""
    rows = store.query(
        "SELECT local_id FROM external_ids WHERE source = ? AND entity = ? AND external_id = ?",
        [source, entity, str(external_id)],
    )
    return int(rows[0]["local_id"]) if rows else None


def external_id_of(store: Store, entity: str, local_id: int, source: str = SOURCE) -> str | None:
    """The shop's id of a local row (the latest mapped), or ``None``."""
    rows = store.query(
        "SELECT external_id FROM external_ids WHERE source = ? AND entity = ? AND local_id = ? "
        "ORDER BY updated_at DESC LIMIT 1",
        [source, entity, int(local_id)],
    )
    return str(rows[0]["external_id"]) if rows else None


# --------------------------------------------------------------------------- mapping
def _money(value: Any) -> float | None:
    if value in (None, ""):
        return None
    try:
        return round(float(value), 2)
    except (TypeError, ValueError):
        return None


def _full_name(obj: dict[str, Any]) -> str:
    name = " ".join(p for p in (obj.get("first_name"), obj.get("last_name")) if p)
    return (name or obj.get("name") or "").strip()


def map_address(address: dict[str, Any] | None, fallback_name: str = "") -> dict[str, Any]:
    """A Shopify address as shopbot's ``{name, street, city, postcode, country}``."""
    a = address or {}
    street = ", ".join(p for p in (a.get("address1"), a.get("address2")) if p)
    return {
        "name": _full_name(a) or fallback_name,
        "street": street,
        "city": a.get("city") or "",
        "postcode": a.get("zip") or "",
        "country": (a.get("country_code") or "").upper(),
    }


def map_customer(customer: dict[str, Any]) -> dict[str, Any] | None:
    """A Shopify customer as a documented-schema customer record (``None``: no email)."""
    email = normalise_email(customer.get("email"))
    if not email:
        return None
    name = _full_name(customer) or _full_name(customer.get("default_address") or {})
    record: dict[str, Any] = {
        "email": email,
        "name": name or email.split("@")[0],
        "phone": customer.get("phone") or None,
    }
    if customer.get("created_at"):
        record["created_at"] = customer["created_at"]
    default = customer.get("default_address")
    if default:
        from knowledge.rules import validate_address

        address = map_address(default, record["name"])
        problems = validate_address(address)
        if problems:  # keep the customer, leave the local default address as it was
            logger.info("shopify customer %s: default address skipped (%s)", email, problems)
        else:
            record["address"] = address
    return record


def _product_sku(product: dict[str, Any], store: Store | None) -> str:
    if store is not None and product.get("id") is not None:
        local = local_id_of(store, "product", product["id"])
        row = store.get_product(local) if local is not None else None
        if row is not None:
            return str(row["sku"])
    variants = product.get("variants") or []
    if (
        len(variants) == 1
        and variants[0].get("title") == "Default Title"
        and variants[0].get("sku")
    ):
        return str(variants[0]["sku"])
    return str(product.get("handle") or f"SHOPIFY-{product.get('id')}")


def map_product(product: dict[str, Any], store: Store | None = None) -> dict[str, Any]:
    """A Shopify product as a documented-schema product record.

    One variant titled "Default Title" makes a product without variants (its SKU is the
    variant's); otherwise the product's SKU is its handle (as for the Shopify CSV export)
    and each variant keeps its own SKU. Tags ``name:value`` become attributes (``a|b``: a
    list); the tag
    ``final-sale`` marks the product not returnable.
    """
    sku = _product_sku(product, store)
    variants = product.get("variants") or []
    option_names = [str(o.get("name", "")).lower() for o in product.get("options") or []]
    tags = [t.strip() for t in str(product.get("tags") or "").split(",") if t.strip()]
    attributes: dict[str, Any] = {}
    for tag in tags:
        key, sep, value = tag.partition(":")
        if sep and key and value:
            value = value.strip()
            attributes[key.strip().lower()] = value.split("|") if "|" in value else value
    prices = [p for p in (_money(v.get("price")) for v in variants) if p is not None]
    image = product.get("image") or {}
    local = store.get_product(sku) if store is not None else None
    if local is not None:  # what Shopify's product has no field for stays as it was
        kept = local.get("attributes") or {}
        if isinstance(kept, str):
            kept = json.loads(kept)
        attributes = {**kept, **attributes}
    record: dict[str, Any] = {
        "sku": sku,
        "title": product.get("title") or sku,
        "description": strip_html(product.get("body_html") or ""),
        "brand": product.get("vendor") or "",
        "category": product.get("product_type") or "",
        "price": min(prices) if prices else 0.0,
        "attributes": attributes,
        "image_url": image.get("src") if isinstance(image, dict) else None,
        "returnable": "final-sale" not in {t.lower() for t in tags},
        "rating": local.get("rating") if local is not None else None,
    }
    single = len(variants) == 1 and variants[0].get("title") == "Default Title"
    if single:
        record["stock"] = max(0, int(variants[0].get("inventory_quantity") or 0))
    elif variants:
        record["options"] = option_names
        record["variants"] = [
            {
                "sku": v.get("sku") or f"{sku}-{v.get('id')}",
                "options": {
                    name: v.get(f"option{i}")
                    for i, name in enumerate(option_names, 1)
                    if v.get(f"option{i}") is not None
                },
                "price": _money(v.get("price")),
                "stock": max(0, int(v.get("inventory_quantity") or 0)),
            }
            for v in variants
        ]
    return record


def _line_sku(item: dict[str, Any]) -> str:
    return str(item.get("sku") or f"SHOPIFY-{item.get('variant_id') or item.get('id')}")


def order_status(order: dict[str, Any]) -> str:
    """shopbot's status of a Shopify order (see the module docstring)."""
    if order.get("cancelled_at"):
        return "cancelled"
    tags = {t.strip().lower() for t in str(order.get("tags") or "").split(",")}
    for tag, status in STATUS_TAGS.items():
        if tag in tags:
            return status
    shipped = [f for f in order.get("fulfillments") or [] if f.get("status") == "success"]
    delivered = bool(shipped) and all(f.get("shipment_status") == "delivered" for f in shipped)
    financial = order.get("financial_status")
    if delivered and financial == "refunded":
        return "returned"
    if delivered:
        return "delivered"
    if shipped:
        return "shipped"
    if financial == "pending":
        return "pending"
    return "processing"


def _local_items(store: Store | None, name: str) -> dict[str, str]:
    """For an order already in the store: its items' SKUs by their variant's SKU."""
    if store is None:
        return {}
    from knowledge.normalise import normalise_order_number

    row = store.get_order(normalise_order_number(name) or name)
    if row is None:
        return {}
    out = {}
    for item in store.order_items(row["id"]):
        out[item["sku"]] = item["sku"]
        variant = store.get_variant(int(item["variant_id"])) if item.get("variant_id") else None
        if variant is not None:
            out.setdefault(variant["sku"], item["sku"])
    return out


def map_order(order: dict[str, Any], store: Store | None = None) -> dict[str, Any]:
    """A Shopify order as a documented-schema order record (items, fulfilments).

    A line item is named by its variant's SKU, as Shopify does; when the order is already
    in the store and holds that variant under its product's SKU, that item's SKU is kept.
    Fields Shopify's order has no place for (``estimated_delivery``) keep their local value.
    """
    customer = order.get("customer") or {}
    email = normalise_email(order.get("email") or customer.get("email") or "")
    name = str(order.get("name") or f"#{order.get('order_number')}")
    local_skus = _local_items(store, name)
    items: dict[str, dict[str, Any]] = {}
    skus_by_line: dict[Any, str] = {}
    for line in order.get("line_items") or []:
        sku = _line_sku(line)
        sku = local_skus.get(sku, sku)
        skus_by_line[line.get("id")] = sku
        entry = items.setdefault(
            sku,
            {
                "sku": sku,
                "title": line.get("title") or sku,
                "quantity": 0,
                "unit_price": _money(line.get("price")) or 0.0,
                "returned_quantity": 0,
            },
        )
        entry["quantity"] += int(line.get("quantity") or 0)
    for refund in order.get("refunds") or []:
        for rl in refund.get("refund_line_items") or []:
            refunded_sku = skus_by_line.get(rl.get("line_item_id"))
            if refunded_sku and rl.get("restock_type") == "return":
                entry = items[refunded_sku]
                entry["returned_quantity"] = min(
                    entry["quantity"], entry["returned_quantity"] + int(rl.get("quantity") or 0)
                )
    fulfilments = []
    shipped_at = delivered_at = carrier = tracking = None
    for f in order.get("fulfillments") or []:
        if f.get("status") != "success":
            continue
        delivered = f.get("shipment_status") == "delivered"
        f_delivered = f.get("updated_at") if delivered else None
        lines: dict[str, int] = {}
        for fl in f.get("line_items") or []:
            sku = skus_by_line.get(fl.get("id")) or _line_sku(fl)
            if sku in items:
                lines[sku] = lines.get(sku, 0) + int(fl.get("quantity") or 0)
        fulfilments.append(
            {
                "carrier": f.get("tracking_company"),
                "tracking_number": f.get("tracking_number"),
                "status": "delivered" if delivered else "in_transit",
                "shipped_at": f.get("created_at"),
                "delivered_at": f_delivered,
                "items": [{"sku": s, "quantity": q} for s, q in lines.items() if q > 0],
            }
        )
        if shipped_at is None:  # the order shows its first shipment
            shipped_at = f.get("created_at")
            carrier, tracking = f.get("tracking_company"), f.get("tracking_number")
        if f_delivered and (delivered_at is None or f_delivered > delivered_at):
            delivered_at = f_delivered
    status = order_status(order)
    if status in ("delivered", "returned") and delivered_at is None:
        delivered_at = order.get("updated_at")
    ship = map_address(order.get("shipping_address"), _full_name(customer))
    shipping = ((order.get("total_shipping_price_set") or {}).get("shop_money") or {}).get("amount")
    if shipping is None:
        shipping = sum(_money(s.get("price")) or 0.0 for s in order.get("shipping_lines") or [])
    record: dict[str, Any] = {
        "order_number": name,
        "customer_email": email,
        "status": status,
        "placed_at": order.get("created_at") or order.get("processed_at"),
        "shipped_at": shipped_at,
        "delivered_at": delivered_at,
        "carrier": carrier,
        "tracking_number": tracking,
        "ship_name": ship["name"] or None,
        "ship_street": ship["street"] or None,
        "ship_city": ship["city"] or None,
        "ship_postcode": ship["postcode"] or None,
        "ship_country": ship["country"] or None,
        "subtotal": _money(order.get("subtotal_price")),
        "shipping_cost": _money(shipping) or 0.0,
        "tax": _money(order.get("total_tax")) or 0.0,
        "total": _money(order.get("total_price")),
        "currency": order.get("currency") or "EUR",
        "items": list(items.values()),
        "fulfilments": fulfilments,
    }
    if store is not None:
        from knowledge.normalise import normalise_order_number

        local = store.get_order(normalise_order_number(name) or name)
        if local is not None and local.get("estimated_delivery"):
            record["estimated_delivery"] = local["estimated_delivery"]
    return record


# --------------------------------------------------------------------------- writing
@dataclass
class Batch:
    """Shopify objects to write in one transaction."""

    customers: list[dict[str, Any]]
    products: list[dict[str, Any]]
    orders: list[dict[str, Any]]
    #: The orders' transactions (``GET orders/{id}/transactions.json``, each naming its
    #: ``order_id``). ``None`` (a webhook): each order records only the refund
    #: transactions its own ``refunds`` carry, which is what an order webhook holds.
    transactions: list[dict[str, Any]] | None = None


def apply_batch(
    store: Store, batch: Batch, actor: str, name: str = "shopify", on_change: Any = None
) -> ImportReport:
    """Write Shopify customers, products and orders, and their ids, all or nothing.

    A customer an order names who is neither in the batch nor in the store is taken from
    the order's ``customer`` object.

    Raises:
        ImportFailed: A record did not pass the import's checks; nothing was changed.
    """
    customers = [c for c in batch.customers if normalise_email(c.get("email"))]
    known = {normalise_email(c.get("email")) for c in customers}
    for order in batch.orders:
        embedded = order.get("customer") or {}
        email = normalise_email(order.get("email") or embedded.get("email"))
        if email and email not in known and store.get_customer_by_email(email) is None:
            customers.append({**embedded, "email": email})
            known.add(email)
    document = {
        "customers": [r for r in (map_customer(c) for c in customers) if r is not None],
        "products": [map_product(p, store) for p in batch.products],
        "orders": [map_order(o, store) for o in batch.orders],
    }
    with store.transaction():
        report = import_documents(store, {name: document}, actor=actor, on_change=on_change)
        _remember_ids(store, customers, batch.products, batch.orders, document)
        by_order: dict[str, list[dict[str, Any]]] = {}
        for tx in batch.transactions or []:
            by_order.setdefault(str(tx.get("order_id")), []).append(tx)
        for order in batch.orders:
            if batch.transactions is None:
                txs = [t for r in order.get("refunds") or [] for t in r.get("transactions") or []]
            else:
                txs = by_order.get(str(order.get("id")), [])
            record_payments(store, order, txs)
    return report


def _remember_ids(
    store: Store,
    customers: Iterable[dict[str, Any]],
    products: list[dict[str, Any]],
    orders: list[dict[str, Any]],
    document: dict[str, list[dict[str, Any]]],
) -> None:
    for customer in customers:
        row = store.get_customer_by_email(normalise_email(customer.get("email")))
        if row is not None and customer.get("id") is not None:
            set_external_id(store, "customer", customer["id"], row["id"])
    for product, record in zip(products, document["products"], strict=True):
        row = store.get_product(record["sku"])
        if row is None:
            continue
        if product.get("id") is not None:
            set_external_id(store, "product", product["id"], row["id"])
        for variant in product.get("variants") or []:
            local = store.get_variant(variant.get("sku") or "") if variant.get("sku") else None
            if local is not None and variant.get("id") is not None:
                set_external_id(store, "variant", variant["id"], local["id"])
    for order, record in zip(orders, document["orders"], strict=True):
        from knowledge.normalise import normalise_order_number

        number = normalise_order_number(record["order_number"]) or record["order_number"]
        row = store.get_order(number)
        if row is None:
            continue
        if order.get("id") is not None:
            set_external_id(store, "order", order["id"], row["id"])
        by_sku = {i["sku"]: i["id"] for i in store.order_items(row["id"])}
        local_skus = _local_items(store, record["order_number"])
        for line in order.get("line_items") or []:
            sku = _line_sku(line)
            local = by_sku.get(local_skus.get(sku, sku))
            if local is not None and line.get("id") is not None:
                set_external_id(store, "line_item", line["id"], local)
        embedded = order.get("customer") or {}
        if embedded.get("id") is not None:
            set_external_id(store, "customer", embedded["id"], row["customer_id"])


# --------------------------------------------------------------------------- payments
_TX_STATUS = {"success": "completed", "pending": "pending", "failure": "failed", "error": "failed"}


def _card_last4(number: Any) -> str | None:
    digits = re.sub(r"\D", "", str(number or ""))
    return digits[-4:] if len(digits) >= 4 else None


def transaction_method(tx: dict[str, Any], email: str) -> dict[str, Any] | None:
    """The paying method a transaction shows: a card (``payment_details``'
    ``credit_card_company`` and the masked ``credit_card_number``'s last four digits) or
    PayPal (gateway ``paypal``; Shopify does not give the PayPal account, so the order's
    email stands for it). ``None`` when the details do not say."""
    details = tx.get("payment_details") or {}
    last4 = _card_last4(details.get("credit_card_number"))
    brand = str(details.get("credit_card_company") or "").strip()
    if last4 and brand:
        return {"kind": "card", "brand": brand[:40], "last4": last4}
    if "paypal" in str(tx.get("gateway") or "").lower() and email:
        return {"kind": "paypal", "paypal_email": email}
    return None


def map_transactions(transactions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Shopify transactions as payment-history entries ``{external_id, kind payment|refund,
    status, amount, at, tx}``.

    ``sale`` and ``capture`` are payments; an ``authorization`` not captured is a
    ``pending`` payment (nothing charged yet), one voided a ``failed`` payment noted
    "authorisation released" (a captured one is left to its capture); ``refund`` is a
    refund; ``void`` acts on its parent only. Statuses: success -> completed, pending ->
    pending, failure/error -> failed.
    """
    children: dict[Any, set[str]] = {}
    for tx in transactions:
        if tx.get("parent_id") is not None and tx.get("status") == "success":
            children.setdefault(tx["parent_id"], set()).add(str(tx.get("kind")))
    out = []
    for tx in transactions:
        kind = str(tx.get("kind") or "")
        status = _TX_STATUS.get(str(tx.get("status") or ""), "failed")
        amount = _money(tx.get("amount"))
        if amount is None or tx.get("id") is None:
            continue
        note = None
        if kind == "authorization":
            done = children.get(tx["id"], set())
            if "capture" in done:
                continue
            if status == "completed":
                status = "pending"
            if "void" in done:
                status, note = "failed", "authorisation released"
        elif kind not in ("sale", "capture", "refund"):
            continue
        out.append(
            {
                "external_id": str(tx["id"]),
                "kind": "refund" if kind == "refund" else "payment",
                "status": status,
                "amount": amount,
                "at": tx.get("processed_at") or tx.get("created_at"),
                "note": note,
                "tx": tx,
            }
        )
    return out


def _ensure_method(store: Store, customer_id: int, method: dict[str, Any]) -> dict[str, Any]:
    """The customer's payment method matching ``method`` (card brand + last4, PayPal
    email), added when missing (the default only when the customer has none)."""
    methods = store.payment_methods(customer_id, include_inactive=True)
    for row in methods:
        if row["kind"] != method["kind"]:
            continue
        if method["kind"] == "card" and (
            row["last4"] == method["last4"]
            and str(row["brand"] or "").lower() == method["brand"].lower()
        ):
            return row
        if method["kind"] == "paypal" and row["paypal_email"] == method["paypal_email"]:
            return row
    new_id = store.insert_payment_method(
        customer_id,
        method["kind"],
        brand=method.get("brand"),
        last4=method.get("last4"),
        paypal_email=method.get("paypal_email"),
        is_default=not any(m["active"] for m in methods),
    )
    return store.get_payment_method(new_id)  # type: ignore[return-value]


def record_payments(store: Store, order: dict[str, Any], transactions: list[dict[str, Any]]) -> int:
    """Write an order's Shopify transactions into its payment history (inside the import's
    transaction), idempotently: a transaction already recorded (``external_ids`` entity
    ``transaction``) is updated in place; an unmapped local row of the same kind and amount
    (the history the shop was seeded from) is adopted; anything else is added. The card or
    PayPal account paying becomes a payment method of the customer and, when the order
    names none, the order's paying method.

    Returns:
        How many rows were added or changed.
    """
    local_order = local_id_of(store, "order", order.get("id")) if order.get("id") else None
    row = store.get_order_by_id(local_order) if local_order is not None else None
    if row is None:
        return 0
    email = normalise_email(order.get("email") or (order.get("customer") or {}).get("email"))
    currency = order.get("currency") or row.get("currency") or "EUR"
    mapped = {
        r["local_id"]
        for r in store.query(
            "SELECT local_id FROM external_ids WHERE source = ? AND entity = 'transaction'",
            [SOURCE],
        )
    }
    changed = 0
    paying: dict[str, Any] | None = None
    for entry in map_transactions(transactions):
        details = transaction_method(entry["tx"], email)
        method = _ensure_method(store, row["customer_id"], details) if details else None
        if method is not None and entry["kind"] == "payment" and paying is None:
            paying = method
        gateway = str(entry["tx"].get("gateway") or "").lower()
        label = None
        if method is None:
            label = gateway.replace("_", " ") or None
        kind = (
            "gift_card" if "gift_card" in gateway else "paypal" if "paypal" in gateway else "card"
        )
        known = local_id_of(store, "transaction", entry["external_id"])
        existing = next((p for p in store.payments(row["id"]) if p["id"] == known), None)
        if existing is None:
            existing = next(
                (
                    p
                    for p in store.payments(row["id"])
                    if p["id"] not in mapped
                    and p["kind"] == entry["kind"]
                    and abs(p["amount"] - entry["amount"]) < 0.005
                    and (method is None or p["payment_method_id"] in (None, method["id"]))
                ),
                None,
            )
        if existing is not None:
            if existing["status"] != entry["status"] or (
                entry["note"] and existing["note"] != entry["note"]
            ):
                store.db.execute(
                    "UPDATE payments SET status = ?, note = coalesce(?, note) WHERE id = ?",
                    [entry["status"], entry["note"], existing["id"]],
                )
                changed += 1
            payment_id = existing["id"]
        else:
            payment_id = store.insert_payment(
                row["id"],
                entry["kind"],
                method,
                entry["amount"],
                currency,
                entry["status"],
                entry["note"],
                entry["at"] or row.get("placed_at"),
                method_kind=None if method else kind,
                method_label=label,
            )
            changed += 1
        mapped.add(payment_id)
        set_external_id(store, "transaction", entry["external_id"], payment_id)
    if paying is not None and not row.get("payment_method_id"):
        store.db.execute(
            "UPDATE orders SET payment_method_id = ? WHERE id = ?", [paying["id"], row["id"]]
        )
        changed += 1
    return changed


# --------------------------------------------------------------------------- webhooks
@dataclass(frozen=True)
class WebhookOutcome:
    """What the webhook route answers: an HTTP status, the logged status, a message."""

    http_status: int
    status: str
    message: str = ""
    event_id: int | None = None


def log_webhook_event(
    store: Store,
    topic: str,
    webhook_id: str | None,
    status: str,
    error: str | None = None,
    source: str = SOURCE,
) -> int:
    """Write one ``webhook_events`` row (its own transaction) and return its id."""
    with store.transaction():
        cur = store.db.execute(
            "INSERT INTO webhook_events (source, topic, webhook_id, received_at, status, error) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [source, topic[:100], webhook_id, utc_now(), status, error],
        )
    return int(cur.lastrowid or 0)


def receive_webhook(
    store: Store,
    secret: str,
    headers: dict[str, str],
    body: bytes,
    on_change: Any = None,
) -> WebhookOutcome:
    """Verify, de-duplicate, apply and log one Shopify webhook delivery.

    Args:
        store: The shop store.
        secret: The app's client secret (``SHOPBOT_SHOPIFY_WEBHOOK_SECRET``).
        headers: The request's headers (case-insensitive mapping or lower-case keys).
        body: The raw request body, unread by anyone before the signature is checked.
        on_change: Passed to the import (search index updates).

    Returns:
        401 for a missing or wrong signature (logged ``rejected``, the claimed webhook id
        only in the error text); 200 ``duplicate`` for a webhook id already applied; 200
        ``applied``; 200 ``failed`` when the payload does not pass the import's checks
        (Shopify's retries would not help; the sync page shows it); 400 for an unknown
        topic or broken JSON after a good signature (logged ``failed``).
    """

    def header(name: str) -> str:
        for key, value in headers.items():
            if key.lower() == name.lower():
                return str(value)
        return ""

    topic = header("X-Shopify-Topic")[:100] or "unknown"
    webhook_id = header("X-Shopify-Webhook-Id")[:100] or None
    if not verify_webhook(secret, body, header("X-Shopify-Hmac-Sha256")):
        event = log_webhook_event(
            store, topic, None, "rejected", f"bad signature (claimed id {webhook_id!r})"
        )
        return WebhookOutcome(401, "rejected", "signature does not match", event)
    if webhook_id is not None:
        earlier = store.query(
            "SELECT id, status FROM webhook_events WHERE source = ? AND webhook_id = ? "
            "AND status != 'duplicate'",
            [SOURCE, webhook_id],
        )
        if earlier and earlier[0]["status"] == "applied":
            event = log_webhook_event(store, topic, None, "duplicate", f"webhook id {webhook_id}")
            return WebhookOutcome(200, "duplicate", "already applied", event)
        if earlier:  # an earlier try failed: this delivery is Shopify's retry
            with store.transaction():
                store.db.execute("DELETE FROM webhook_events WHERE id = ?", [earlier[0]["id"]])
    if topic not in WEBHOOK_TOPICS:
        event = log_webhook_event(store, topic, webhook_id, "failed", "topic not handled")
        return WebhookOutcome(400, "failed", f"topic {topic!r} is not handled", event)
    try:
        payload = json.loads(body)
        if not isinstance(payload, dict):
            raise ValueError("the body is not a JSON object")
    except (ValueError, RecursionError) as exc:
        event = log_webhook_event(store, topic, webhook_id, "failed", f"bad JSON: {exc}")
        return WebhookOutcome(400, "failed", "bad JSON", event)
    kind = topic.split("/")[0]
    batch = Batch(
        customers=[payload] if kind == "customers" else [],
        products=[payload] if kind == "products" else [],
        orders=[payload] if kind == "orders" else [],
    )
    try:
        apply_batch(
            store, batch, actor=f"shopify:{topic}", name=f"shopify:{topic}", on_change=on_change
        )
    except ImportFailed as exc:
        error = "; ".join(str(e) for e in exc.report.errors)[:2000]
        event = log_webhook_event(store, topic, webhook_id, "failed", error)
        logger.warning("shopify webhook %s %s not applied: %s", topic, webhook_id, error)
        return WebhookOutcome(200, "failed", error, event)
    event = log_webhook_event(store, topic, webhook_id, "applied")
    return WebhookOutcome(200, "applied", "", event)
