"""Launch from the practice system: RS256/ES256 launch tokens with registered vendor keys."""

import time
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from kvalitetsplatform.access.auth import register_vendor
from kvalitetsplatform.access.testing import WORLD_INDICATOR
from kvalitetsplatform.api.app import SESSION_COOKIE
from kvalitetsplatform.warehouse.vault import Pseudonymiser


def keypair(kind):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048) if kind == "RS256" \
        else ec.generate_private_key(ec.SECP256R1())
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return key, public


@pytest.fixture(params=["RS256", "ES256"])
def vendor(api, request):
    key, public = keypair(request.param)
    register_vendor(api.engine, api.audit, "XMO", public, request.param)
    return key, request.param


def token(key, alg, **override):
    now = int(time.time())
    claims = {"iss": "XMO", "aud": "kvalitetsplatform", "sub": "gp1", "ydernummer": "000001", "iat": now,
              "exp": now + 120, "jti": uuid.uuid4().hex}
    claims.update(override)
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode(claims, key, algorithm=alg)


def launch(api, tok):
    return api.client(None).post("/launch", data={"launch_token": tok}, follow_redirects=False)


def test_a_valid_launch_signs_in_with_the_practice_scope(api, vendor):
    key, alg = vendor
    r = launch(api, token(key, alg))
    assert r.status_code == 303 and r.headers["location"] == "/praksis/000001"
    c = api.client(None)
    c.cookies.set(SESSION_COOKIE, r.cookies[SESSION_COOKIE])
    session = c.get("/api/v1/session").json()
    assert session["launch_ydernummer"] == "000001"
    assert [g["role"] for g in session["grants"]] == ["gp"]
    rows = c.get("/api/v1/worklists", params={"indicator_id": WORLD_INDICATOR, "status": "all"}).json()
    assert {w["ydernummer"] for w in rows} == {"000001"}


def test_a_launch_with_a_patient_opens_the_patient_and_is_logged(api, vendor):
    key, alg = vendor
    r = launch(api, token(key, alg, patient="070761-4285"))
    expected = Pseudonymiser(api.settings.pseudonym_key).patient_key("0707614285")
    assert r.status_code == 303 and r.headers["location"] == f"/praksis/000001/patient/{expected}"
    assert "0707614285" not in r.headers["location"] and "070761" not in r.text
    history = api.audit.patient_history(expected)
    assert len(history) == 1 and "42 a" in history[0]["formål"]


@pytest.mark.parametrize("case, expected", [
    ("forged", "signatur er ugyldig"),
    ("expired", "udløbet"),
    ("too_long", "højst 5 minutter"),
    ("wrong_practice", "ingen adgang til praksis 000006"),
    ("unknown_user", "ingen adgang til praksis"),
    ("unknown_vendor", "ikke registreret"),
    ("no_jti", "jti"),
    ("wrong_audience", "ugyldigt"),
    ("hs256_with_public_key", "anden algoritme"),
    ("garbage", "kan ikke læses"),
])
def test_bad_tokens_are_refused_with_a_clear_message(api, vendor, case, expected):
    key, alg = vendor
    now = int(time.time())
    if case == "forged":
        tok = token(keypair(alg)[0], alg)
    elif case == "expired":
        tok = token(key, alg, iat=now - 400, exp=now - 100)
    elif case == "too_long":
        tok = token(key, alg, exp=now + 3600)
    elif case == "wrong_practice":
        tok = token(key, alg, ydernummer="000006")
    elif case == "unknown_user":
        tok = token(key, alg, sub="mallory")
    elif case == "unknown_vendor":
        tok = token(key, alg, iss="Ukendt")
    elif case == "no_jti":
        tok = token(key, alg, jti=None)
    elif case == "wrong_audience":
        tok = token(key, alg, aud="another-app")
    elif case == "hs256_with_public_key":
        tok = jwt.encode({"iss": "XMO", "sub": "gp1"}, "hemmelig-delt-nøgle-som-er-lang-nok-til-hs256", "HS256")
    else:
        tok = "ikke.et.token"
    r = launch(api, tok)
    assert r.status_code == 403 and expected in r.text
    assert SESSION_COOKIE not in r.headers.get("set-cookie", "")


def test_a_replayed_token_is_refused(api, vendor):
    key, alg = vendor
    tok = token(key, alg)
    assert launch(api, tok).status_code == 303
    r = launch(api, tok)
    assert r.status_code == 403 and "allerede brugt" in r.text
