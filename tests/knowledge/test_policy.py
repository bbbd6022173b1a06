"""The shop's policy file: loading, validation errors, the rules reading it, and the FAQ
answers agreeing with it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from knowledge.demo import FAQ_PATH
from knowledge.policy import (
    CHANGES,
    DEFAULT_POLICY_PATH,
    PolicyError,
    current_policy,
    load_policy,
    parse_policy,
    use_policy,
)
from knowledge.rules import (
    can_cancel,
    can_change,
    can_change_items,
    check_cancellation_reason,
    refund_eta,
    return_window,
)


@pytest.fixture
def raw() -> dict:
    return yaml.safe_load(DEFAULT_POLICY_PATH.read_text(encoding="utf-8"))


def write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "policy.yml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_shipped_policy_loads_with_every_change_and_refund_kind():
    policy = load_policy()
    assert policy.return_window_days == 30 and policy.exchange_window_days == 30
    assert set(policy.allowed) == set(CHANGES)
    assert policy.allows("cancel", "pending") and not policy.allows("cancel", "shipped")
    assert policy.refund_time("gift_card").describe() == "at once"
    assert policy.refund_time("card").describe() == "in 3-5 business days"
    assert policy.accepts_reason("  i ordered BY mistake. ") == "I ordered by mistake"
    assert policy.to_dict()["changes"]["return"] == policy.statuses_for("return")


@pytest.mark.parametrize(
    "change,expected",
    [
        (lambda d: d["returns"].update(window_days="thirty"), "returns.window_days"),
        (lambda d: d["changes"]["cancel"].append("sent"), "changes.cancel[3]: unknown value"),
        (lambda d: d["refund_times"].pop("paypal"), "refund_times.paypal: is required"),
        (lambda d: d.update(colour="red"), "colour: unknown key"),
        (lambda d: d["returns"].update(refund_to=["bank"]), "returns.refund_to[0]"),
        (lambda d: d["refund_times"]["card"].update(min_days=9), "min_days (9) is above"),
        (lambda d: d["cancellation"].update(reasons=[]), "at least one reason"),
    ],
)
def test_invalid_policy_names_file_and_key(tmp_path, raw, change, expected):
    change(raw)
    path = write(tmp_path, raw)
    with pytest.raises(PolicyError, match=re.escape(expected)) as info:
        load_policy(path)
    assert str(path) in str(info.value)


def test_unreadable_and_broken_files(tmp_path):
    with pytest.raises(PolicyError, match="cannot read"):
        load_policy(tmp_path / "missing.yml")
    bad = tmp_path / "bad.yml"
    bad.write_text("returns: [\n", encoding="utf-8")
    with pytest.raises(PolicyError, match="invalid YAML"):
        load_policy(bad)


def test_rules_follow_an_edited_policy(raw):
    raw["changes"]["cancel"] = ["pending"]
    raw["returns"]["window_days"] = 14
    raw["modifications"]["item_changes_per_order"] = 0
    policy = parse_policy(raw)
    processing = {"status": "processing"}
    assert can_cancel(processing).ok  # the shipped policy
    refused = can_cancel(processing, policy)
    assert refused.code == "not_allowed" and "only while an order is pending" in refused.reason
    delivered = {"status": "delivered", "delivered_at": "2026-03-01"}
    from datetime import date

    assert return_window(delivered, date(2026, 3, 20)).ok
    assert return_window(delivered, date(2026, 3, 20), policy=policy).code == "window_expired"
    assert can_change_items({"status": "pending"}, policy).code == "no_item_changes"
    assert can_change("exchange", {"status": "shipped"}).code == "already_shipped"


def test_use_policy_puts_a_policy_in_force(raw):
    raw["cancellation"]["reasons"] = ["Too slow"]
    try:
        use_policy(parse_policy(raw))
        assert check_cancellation_reason("too slow").ok
        assert check_cancellation_reason("I ordered by mistake").code == "invalid_reason"
    finally:
        use_policy(None)
    assert current_policy().accepts_reason("Other") == "Other"


def test_settings_name_the_policy_file(tmp_path, raw, monkeypatch):
    from shopbot.config import Settings

    raw["returns"]["window_days"] = 21
    path = write(tmp_path, raw)
    monkeypatch.delenv("SHOPBOT_RETURN_WINDOW_DAYS", raising=False)
    monkeypatch.setenv("SHOPBOT_POLICY_PATH", str(path))
    settings = Settings(data_dir=tmp_path)
    assert settings.policy_path == path and settings.return_window_days == 21
    assert Settings(data_dir=tmp_path, return_window_days=10).return_window_days == 10


# --------------------------------------------------------------------------- the FAQ agrees
def faq() -> dict[str, str]:
    entries = yaml.safe_load(FAQ_PATH.read_text(encoding="utf-8"))["faq"]
    return {e["key"]: " ".join(e["answer"].split()) for e in entries}


def test_faq_return_window_matches_the_policy():
    policy = load_policy()
    answers = faq()
    days = policy.return_window_days
    for key in ("return-policy", "return-window-expired", "cancel-order", "gift-return"):
        assert f"{days} days" in answers[key], key
    assert f"{policy.exchange_window_days} days" in answers["exchange"]
    # every other number of days next to "return" agrees too
    for key, text in answers.items():
        for match in re.finditer(r"(\d+)-day return window|return window is (\d+) days", text):
            assert int(match.group(1) or match.group(2)) == days, key


def test_faq_cancellation_matches_the_policy():
    policy = load_policy()
    answer = faq()["cancel-order"]
    for status in ("pending", "processing"):
        assert policy.allows("cancel", status) and status in answer
    assert not policy.allows("cancel", "shipped") and "shipped it cannot be cancelled" in answer
    assert "pending or processing" in faq()["cancellation-fee"]


def test_faq_refund_times_match_the_policy():
    policy = load_policy()
    answers = faq()
    card, paypal = policy.refund_time("card"), policy.refund_time("paypal")
    assert f"{card.min_days}-{card.max_days} business days for cards" in answers["refund-time"]
    assert f"{paypal.min_days}-{paypal.max_days} days for PayPal" in answers["refund-time"]
    method = answers["refund-method"]
    assert policy.refund_time("gift_card").immediate and "gift card is there at once" in method
    assert f"cards take {card.min_days}-{card.max_days} business days" in method
    assert "gift_card" in policy.refund_to and "gift card already on your account" in method
    assert (
        f"within {card.min_days}-{card.max_days} business days for a card"
        in answers["cancel-order"]
    )


def test_faq_changes_match_the_policy():
    policy = load_policy()
    answer = faq()["change-order"]
    assert policy.allows("item_change", "pending") and "While your order is pending" in answer
    assert policy.item_changes_per_order == 1 and "once per order" in answer
    assert refund_eta("gift_card") == "at once"
