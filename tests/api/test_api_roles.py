"""Every role × every endpoint: exactly what each person sees through the API; and the bug classes of §4.5."""

import io

import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from kvalitetsplatform.access import users
from kvalitetsplatform.access.testing import WORLD_INDICATOR, world_patient_key
from .conftest import ROLES

# The API adds no SQL of its own: the gate's tests run on both engines; these run on SQLite to stay fast.
pytestmark = pytest.mark.parametrize("appdb_url", ["sqlite"], indirect=True)

DEC = "2025-12-31"
VISIBLE = {
    "gp1": {("practice", "000001"), ("practice", "letter"), ("cluster", "K1"), ("region", "1082"), ("national", "DK")},
    "staff2": {("practice", "000002"), ("practice", "letter"), ("cluster", "K1"), ("region", "1082"),
               ("national", "DK")},
    "coord": {("practice", "letter"), ("cluster", "K1"), ("region", "1082"), ("national", "DK")},
    "region": {("practice", y) for y in ("000001", "000002", "000003", "000004", "000005")}
    | {("cluster", "K1"), ("cluster", "K2"), ("municipality", "751"), ("region", "1082"), ("national", "DK")},
    "kommune": {("municipality", "751"), ("region", "1082"), ("national", "DK")},
    "public": {("region", "1081"), ("region", "1082"), ("national", "DK")},
    "admin": set(), "nobody": set(),
}
CLINICAL = {"gp1": "000001", "staff2": "000002"}
OWN_KEY = {"gp1": world_patient_key(0, 1), "staff2": world_patient_key(1, 1)}
SIGN_IN = ("post", "/api/v1/session")
ENDPOINTS = [("get", "/api/v1/session"), ("delete", "/api/v1/session"), ("get", "/api/v1/packages"),
             ("get", "/api/v1/indicators"), ("get", "/api/v1/results"), ("get", "/api/v1/results/periods"),
             ("get", "/api/v1/worklists"), ("post", "/api/v1/identities"), ("get", "/api/v1/exports/results"),
             ("get", "/api/v1/exports/worklist"), ("get", "/api/v1/deliveries"),
             ("get", "/api/v1/usage/active-users")]


def units(rows):
    return {(r["org_level"], "letter" if r["org_level"] == "practice" and r["org_id"].isalpha() else r["org_id"])
            for r in rows}


def test_every_documented_endpoint_is_covered_here(api):
    spec = api.client(None).get("/api/v1/openapi.json").json()
    documented = {(m, "/api/v1" + p if not p.startswith("/api") else p) for p, ops in spec["paths"].items()
                  for m in ops}
    assert documented == {*ENDPOINTS, SIGN_IN}


@pytest.mark.parametrize("method, path", ENDPOINTS)
def test_nothing_without_a_session(api, method, path):
    c = api.client(None)
    r = c.request(method, path, params={"indicator_id": WORLD_INDICATOR},
                  json={"patient_keys": ["1"], "purpose": "42a"} if method == "post" else None)
    assert r.status_code == 401


@pytest.mark.parametrize("role", list(ROLES))
def test_every_role_every_endpoint(api, role):
    c = api.client(role)
    params = {"indicator_id": WORLD_INDICATOR, "ref_date": DEC}
    # results and exports: exactly the role's org units, no small counts outside the own practice
    rows = c.get("/api/v1/results", params=params).json()
    assert units(rows) == VISIBLE[role]
    assert all(r["own"] or r["numerator"] is None or not 1 <= r["numerator"] <= 4 for r in rows)
    for fmt in ("csv", "parquet"):
        r = c.get("/api/v1/exports/results", params={**params, "format": fmt})
        assert r.status_code == 200
        table = (pacsv.read_csv(io.BytesIO(r.content)) if fmt == "csv" else pq.read_table(io.BytesIO(r.content))) \
            if r.content else None
        exported = table.to_pylist() if table is not None else []
        assert units([{**e, "org_id": str(e["org_id"]).zfill(6) if str(e["org_id"]).isdigit() and
                       e["org_level"] == "practice" else str(e["org_id"])} for e in exported]) == VISIBLE[role]
    periods = c.get("/api/v1/results/periods", params={"indicator_id": WORLD_INDICATOR}).json()
    assert periods == ([] if role in ("admin", "nobody") else ["2025-06-30", "2025-12-31"])
    # patient level: only the own practice's clinicians
    worklist = c.get("/api/v1/worklists", params={"indicator_id": WORLD_INDICATOR, "status": "all"})
    export = c.get("/api/v1/exports/worklist", params={"indicator_id": WORLD_INDICATOR})
    key = OWN_KEY.get(role, world_patient_key(0, 1))
    ident = c.post("/api/v1/identities", json={"patient_keys": [str(key)], "purpose": "42d"})
    if role in CLINICAL:
        assert worklist.status_code == 200 and {w["ydernummer"] for w in worklist.json()} == {CLINICAL[role]}
        assert export.status_code == 200 and CLINICAL[role].lstrip("0") in export.text
        assert ident.status_code == 200 and ident.json()[0]["name"] == "Karen Hansen"
    else:
        assert (worklist.status_code, export.status_code, ident.status_code) == (403, 403, 403)
    # deliveries, usage, packages
    deliveries = c.get("/api/v1/deliveries").json()
    assert {d["ydernummer"] for d in deliveries} == (
        {f"00000{i}" for i in range(1, 8)} if role == "admin" else {CLINICAL[role]} if role in CLINICAL else set())
    usage = c.get("/api/v1/usage/active-users")
    assert usage.status_code == (200 if role == "admin" else 403)
    packages = c.get("/api/v1/packages").json()
    assert (packages == []) == (role == "nobody")
    session = c.get("/api/v1/session").json()
    assert [(g["role"], g["scope_code"]) for g in session["grants"]] == \
        [(r, s or "DK") for r, s in ROLES[role]]


def test_identity_lookups_need_csrf_and_are_logged_with_purpose(api):
    c = api.client("gp1")
    csrf = c.headers.pop("X-CSRF-Token")
    key = str(world_patient_key(0, 2))
    assert c.post("/api/v1/identities", json={"patient_keys": [key], "purpose": "42a"}).status_code == 403
    c.headers["X-CSRF-Token"] = csrf
    r = c.post("/api/v1/identities", json={"patient_keys": [key], "purpose": "42a"})
    assert r.status_code == 200 and r.json()[0]["cpr"] == "010150-1002"
    history = api.audit.patient_history(int(key))
    assert len(history) == 1 and "42 a" in history[0]["formål"] and history[0]["ydernummer"] == "000001"
    assert api.audit.verify().ok


def test_ids_of_other_practices(api):
    c = api.client("gp1")
    # another practice's results by id (a peer behind a letter, and a practice in another cluster): nothing
    for org_id in ("000002", "000006"):
        assert c.get("/api/v1/results", params={"indicator_id": WORLD_INDICATOR, "org_id": org_id}).json() == []
    # another practice's worklist or patient: refused
    assert c.get("/api/v1/worklists", params={"indicator_id": WORLD_INDICATOR, "ydernummer": "000002"}).status_code \
        == 403
    r = c.post("/api/v1/identities", json={"patient_keys": [str(world_patient_key(1, 1))], "purpose": "42d"})
    assert r.status_code == 403 and "CPR" not in r.text
    r = c.post("/api/v1/identities", json={"patient_keys": [str(world_patient_key(0, 1))], "purpose": "42d",
                                           "ydernummer": "000002"})
    assert r.status_code == 403


@pytest.mark.parametrize("hostile", ["000001' OR '1'='1", "1; DROP TABLE result", "K1' --", "%", ".*",
                                     "practice') OR (1=1"])
def test_filters_carrying_sql(api, hostile):
    c = api.client("kommune")
    for params in ({"indicator_id": hostile}, {"indicator_id": WORLD_INDICATOR, "org_id": hostile},
                   {"indicator_id": WORLD_INDICATOR, "stratum": hostile}):
        r = c.get("/api/v1/results", params=params)
        assert r.status_code == 200 and units(r.json()) <= VISIBLE["kommune"]
    assert c.get("/api/v1/results", params={"indicator_id": WORLD_INDICATOR, "org_level": hostile}).status_code == 422
    # the table is intact
    assert api.client("region").get("/api/v1/results", params={"indicator_id": WORLD_INDICATOR}).json()


def test_cache_is_not_shared_between_users_and_follows_grants(api):
    a, b = api.client("gp1"), api.client("staff2")
    params = {"indicator_id": WORLD_INDICATOR, "ref_date": DEC, "org_level": "practice", "stratum": "F"}
    for _ in range(2):
        ra = {r["org_id"]: r for r in a.get("/api/v1/results", params=params).json()}
        rb = {r["org_id"]: r for r in b.get("/api/v1/results", params=params).json()}
        assert ra["000001"]["numerator"] == 12 and "000002" not in ra
        assert rb["000002"]["numerator"] == 2 and "000001" not in rb
    # a revoked grant takes effect at the next request, cache or not
    users.revoke(api.engine, api.audit, "gp1", "gp")
    assert a.get("/api/v1/results", params=params).json() == []
    # a disabled user's session stops working
    users.disable(api.engine, api.audit, "staff2")
    assert b.get("/api/v1/results", params=params).status_code == 401


def test_security_headers(api):
    r = api.client("gp1").get("/api/v1/session")
    assert r.headers["cache-control"] == "no-store" and r.headers["x-content-type-options"] == "nosniff"
