"""Sign-in with argon2id, sessions (cookie flags, idle and absolute timeouts), CSRF, rate limiting, production."""

from datetime import timedelta

import pytest

from kvalitetsplatform.access import users
from kvalitetsplatform.access.audit import now_utc
from kvalitetsplatform.access.auth import create_session, resolve_session
from kvalitetsplatform.api.app import SESSION_COOKIE, create_app
from kvalitetsplatform.settings import ConfigError, load_settings

PASSWORD = "korrekt hest batteri hæfteklamme"


@pytest.fixture
def hanne(api):
    users.create_user(api.engine, api.audit, "hanne", "Hanne Holm", PASSWORD)
    users.grant(api.engine, api.audit, "hanne", "gp", "000001")
    return "hanne"


def test_json_sign_in_sets_a_secure_session_cookie(api, hanne):
    c = api.client(None)
    r = c.post("/api/v1/session", json={"username": hanne, "password": PASSWORD})
    assert r.status_code == 200, r.text
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=") and "HttpOnly" in cookie and "Secure" in cookie
    assert "samesite=lax" in cookie.lower() and "Path=/" in cookie and "Domain" not in cookie
    body = r.json()
    assert body["grants"] == [{"role": "gp", "scope_level": "practice", "scope_code": "000001"}]
    assert c.get("/api/v1/session").json()["username"] == hanne
    # sign out needs the CSRF token; after it the session is gone
    assert c.delete("/api/v1/session").status_code == 403
    assert c.delete("/api/v1/session", headers={"X-CSRF-Token": body["csrf_token"]}).status_code == 204
    c.cookies.set(SESSION_COOKIE, cookie.split(";")[0].split("=", 1)[1])
    assert c.get("/api/v1/session").status_code == 401


def test_wrong_password_and_rate_limiting(api, hanne):
    c = api.client(None)
    for _ in range(5):
        r = c.post("/api/v1/session", json={"username": hanne, "password": "forkert forkert"})
        assert r.status_code == 401 and r.json()["detail"] == "Forkert brugernavn eller adgangskode."
    r = c.post("/api/v1/session", json={"username": hanne, "password": PASSWORD})
    assert r.status_code == 429 and "15 minutter" in r.json()["detail"]
    r = c.post("/api/v1/session", json={"username": "ukendt", "password": PASSWORD})
    assert r.status_code == 401  # the same answer for an unknown user
    actions = [e for e in api.audit.verify().problems]
    assert actions == []


def test_idle_and_absolute_timeouts(api, hanne):
    user_id = api.ids["gp1"]
    token, _ = create_session(api.engine, user_id)
    start = now_utc()
    assert resolve_session(api.engine, token, start + timedelta(minutes=29)) is not None
    assert resolve_session(api.engine, token, start + timedelta(minutes=29 + 31)) is None  # idle > 30 min
    token, _ = create_session(api.engine, user_id)
    t = now_utc()
    for minutes in range(20, 12 * 60, 20):  # kept busy every 20 minutes …
        assert resolve_session(api.engine, token, t + timedelta(minutes=minutes)) is not None
    assert resolve_session(api.engine, token, t + timedelta(hours=12, minutes=1)) is None  # … but 12 h is the end


def test_form_sign_in_with_csrf(api, hanne):
    c = api.client(None)
    page = c.get("/sign-in")
    assert page.status_code == 200 and 'lang="da"' in page.text
    csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    r = c.post("/sign-in", data={"username": hanne, "password": PASSWORD, "csrf_token": "forkert"},
               follow_redirects=False)
    assert r.status_code == 403
    page = c.get("/sign-in")
    csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    r = c.post("/sign-in", data={"username": hanne, "password": PASSWORD, "csrf_token": csrf},
               follow_redirects=False)
    assert r.status_code == 303 and SESSION_COOKIE in r.headers["set-cookie"]


def test_each_sign_in_gets_a_new_session(api, hanne):
    a = api.client(None).post("/api/v1/session", json={"username": hanne, "password": PASSWORD})
    b = api.client(None).post("/api/v1/session", json={"username": hanne, "password": PASSWORD})
    assert a.cookies[SESSION_COOKIE] != b.cookies[SESSION_COOKIE]
    assert a.json()["csrf_token"] != b.json()["csrf_token"]


@pytest.mark.parametrize("secret", ["s" * 64, "0123456789" * 2])
def test_production_refuses_weak_secrets(tmp_path, secret):
    env = {"KP_HOME": str(tmp_path), "KP_MODE": "production", "KP_PSEUDONYM_KEY": "a1b2c3d4e5f6" * 6,
           "KP_VAULT_KEY": "f6e5d4c3b2a1" * 6, "KP_SESSION_SECRET": secret}
    try:
        settings = load_settings(env)
    except ConfigError:
        return  # settings refused already
    with pytest.raises(ConfigError, match="KP_SESSION_SECRET"):
        create_app(settings)
