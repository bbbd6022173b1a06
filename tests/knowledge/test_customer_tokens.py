"""Customer tokens are standard JWTs a shop's backend signs with any JWT library.

HS256 with the shared secret, RS256/ES256 with the shop's key pair (generated here with
``cryptography``); ``none``, algorithm confusion, wrong keys, expiry and audience refused;
the customer is found by the shop's own id (``external_ids``) or by email.
"""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from knowledge.identity import CustomerTokenKeys, customer_for_token, verify_customer_token

SECRET = "shared-secret-0123456789abcdef0123456789"
NOW = 1_800_000_000


def _pem(public_key) -> str:
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


@pytest.fixture(scope="module")
def rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def ec_key():
    return ec.generate_private_key(ec.SECP256R1())


def _claims(**extra):
    return {"email": "ada@example.com", "iat": NOW, "exp": NOW + 600, **extra}


def test_hs256_token_from_any_jwt_library():
    token = jwt.encode(_claims(sub="cust_42"), SECRET, algorithm="HS256")
    assert verify_customer_token(token, CustomerTokenKeys(secret=SECRET), now=NOW + 5) == {
        "sub": "cust_42",
        "email": "ada@example.com",
        "iat": NOW,
        "exp": NOW + 600,
    }


@pytest.mark.parametrize("algorithm", ["RS256", "ES256"])
def test_rs256_and_es256_with_the_shops_public_key(algorithm, rsa_key, ec_key):
    private = rsa_key if algorithm == "RS256" else ec_key
    keys = CustomerTokenKeys(public_key=_pem(private.public_key()))
    token = jwt.encode(_claims(), private, algorithm=algorithm)
    assert verify_customer_token(token, keys, now=NOW)["email"] == "ada@example.com"
    # The other type of key, or another key of the same type, does not verify it.
    other = ec.generate_private_key(ec.SECP256R1()) if algorithm == "ES256" else rsa_key
    wrong_type = CustomerTokenKeys(
        public_key=_pem((ec_key if private is rsa_key else rsa_key).public_key())
    )
    assert verify_customer_token(token, wrong_type, now=NOW) is None
    if other is not private:
        wrong = CustomerTokenKeys(public_key=_pem(other.public_key()))
        assert verify_customer_token(token, wrong, now=NOW) is None


def test_wrong_secret_and_tampered_payload_are_refused():
    token = jwt.encode(_claims(), "another-secret-0123456789abcdef012345", algorithm="HS256")
    assert verify_customer_token(token, SECRET, now=NOW) is None
    good = jwt.encode(_claims(), SECRET, algorithm="HS256")
    header, _, signature = good.split(".")
    other = base64.urlsafe_b64encode(json.dumps(_claims(email="eve@example.com")).encode())
    forged = f"{header}.{other.rstrip(b'=').decode()}.{signature}"
    assert verify_customer_token(forged, SECRET, now=NOW) is None


def test_expiry_with_a_small_clock_skew():
    token = jwt.encode(_claims(), SECRET, algorithm="HS256")
    keys = CustomerTokenKeys(secret=SECRET, leeway_s=30)
    assert verify_customer_token(token, keys, now=NOW + 600 + 20) is not None  # within skew
    assert verify_customer_token(token, keys, now=NOW + 600 + 31) is None  # expired
    assert verify_customer_token(token, keys, now=NOW - 60) is None  # issued in the future
    no_exp = jwt.encode({"email": "ada@example.com", "iat": NOW}, SECRET, algorithm="HS256")
    assert verify_customer_token(no_exp, keys, now=NOW) is None  # exp is required


def test_audience_and_issuer_are_checked_when_configured():
    keys = CustomerTokenKeys(secret=SECRET, issuer="https://shop.example", audience="shopbot")
    right = jwt.encode(
        _claims(iss="https://shop.example", aud="shopbot"), SECRET, algorithm="HS256"
    )
    assert verify_customer_token(right, keys, now=NOW) is not None
    for claims in (
        _claims(iss="https://shop.example", aud="another-service"),
        _claims(iss="https://evil.example", aud="shopbot"),
        _claims(aud="shopbot"),
        _claims(iss="https://shop.example"),
    ):
        assert verify_customer_token(jwt.encode(claims, SECRET, "HS256"), keys, now=NOW) is None


def _unsigned(claims: dict, alg: str = "none") -> str:
    def part(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'alg': alg, 'typ': 'JWT'})}.{part(claims)}."


def test_alg_none_is_refused(rsa_key):
    keys = CustomerTokenKeys(secret=SECRET, public_key=_pem(rsa_key.public_key()))
    for alg in ("none", "None", "NONE", "HS512", "RS512"):
        assert verify_customer_token(_unsigned(_claims(), alg), keys, now=NOW) is None


def test_algorithm_confusion_public_key_as_hmac_secret_is_refused(rsa_key):
    """An attacker who knows the public key signs HS256 with it: never accepted."""
    pem = _pem(rsa_key.public_key())
    header = {"alg": "HS256", "typ": "JWT"}

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    import hashlib
    import hmac

    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(_claims()).encode())}"
    mac = hmac.new(pem.encode(), signing_input.encode(), hashlib.sha256).digest()
    token = f"{signing_input}.{b64(mac)}"
    assert verify_customer_token(token, CustomerTokenKeys(public_key=pem), now=NOW) is None
    # and with a secret configured too, only the secret verifies HS256
    both = CustomerTokenKeys(secret=SECRET, public_key=pem)
    assert verify_customer_token(token, both, now=NOW) is None


def test_a_token_must_name_the_customer():
    token = jwt.encode({"iat": NOW, "exp": NOW + 60}, SECRET, algorithm="HS256")
    assert verify_customer_token(token, SECRET, now=NOW) is None


# --------------------------------------------------------------------------- who it is
def _add_external_id(store, external_id: str, local_id: int) -> None:
    with store.transaction() as db:
        db.execute(
            "INSERT INTO external_ids (source, entity, external_id, local_id, updated_at) "
            "VALUES ('shopify', 'customer', ?, ?, '2026-01-01T00:00:00Z')",
            [external_id, local_id],
        )


def test_customer_found_by_the_shops_id_then_by_email(store):
    alice = store.get_customer_by_email("alice.martin@example.com")
    bob = store.get_customer_by_email("bob.nguyen@example.com")
    _add_external_id(store, "gid://shopify/Customer/1001", alice["id"])
    now = time.time()

    def token(**claims):
        return jwt.encode({"iat": int(now), "exp": int(now) + 60, **claims}, SECRET, "HS256")

    assert (
        customer_for_token(store, token(sub="gid://shopify/Customer/1001"), SECRET)["id"]
        == (alice["id"])
    )
    assert (
        customer_for_token(store, token(email="BOB.nguyen@example.com"), SECRET)["id"]
        == (bob["id"])
    )
    assert customer_for_token(store, token(sub="bob.nguyen@example.com"), SECRET)["id"] == bob["id"]
    # an unknown shop id falls back to the email; an id and email that disagree: nobody
    fallback = token(sub="gid://shopify/Customer/9", email="bob.nguyen@example.com")
    assert customer_for_token(store, fallback, SECRET)["id"] == bob["id"]
    mixed = token(sub="gid://shopify/Customer/1001", email="bob.nguyen@example.com")
    assert customer_for_token(store, mixed, SECRET) is None
    # shopbot's own row ids mean nothing
    assert customer_for_token(store, token(sub=str(alice["id"])), SECRET) is None
    assert customer_for_token(store, token(email="nobody@example.com"), SECRET) is None


def test_keys_from_settings_read_the_pem(tmp_path, rsa_key, settings):
    path = tmp_path / "shop-public.pem"
    path.write_text(_pem(rsa_key.public_key()))
    configured = settings.with_overrides(
        customer_token_public_key=str(path), customer_token_audience="shopbot"
    )
    keys = CustomerTokenKeys.from_settings(configured)
    token = jwt.encode(_claims(aud="shopbot"), rsa_key, algorithm="RS256")
    assert verify_customer_token(token, keys, now=NOW)["email"] == "ada@example.com"


def test_an_unusable_key_file_verifies_nothing(tmp_path, rsa_key, settings):
    broken = tmp_path / "broken.pem"
    broken.write_text("-----BEGIN PUBLIC KEY-----\nnot a key\n-----END PUBLIC KEY-----\n")
    for path in (broken, tmp_path / "missing.pem"):
        keys = CustomerTokenKeys.from_settings(
            settings.with_overrides(customer_token_public_key=str(path))
        )
        assert keys.public_key == ""
        token = jwt.encode(_claims(), rsa_key, algorithm="RS256")
        assert verify_customer_token(token, keys, now=NOW) is None
