"""The gate: every role × every data function, exactly what is visible; and the bug classes of reference §4.5."""

from datetime import date

import ibis
import pytest

from kvalitetsplatform.access.gate import AccessDenied, Gate, InvalidQuery
from kvalitetsplatform.access.orgs import set_peer_display
from kvalitetsplatform.access.principal import load_principal
from kvalitetsplatform.access.testing import (
    WORLD_COUNTS, WORLD_INDICATOR, WORLD_VAULT_KEY, world_patient_key, world_store,
)
from kvalitetsplatform.warehouse.vault import VaultCipher

from .conftest import seed_world

DEC, JUN = date(2025, 12, 31), date(2025, 6, 30)
VAULT_KEY = WORLD_VAULT_KEY.encode()
GRANTS = {
    "gp1": [("gp", "000001")], "staff2": [("practice_staff", "000002")], "coord": [("cluster_coordinator", "K1")],
    "region": [("regional_quality_unit", "1082")], "kommune": [("municipality", "751")],
    "public": [("public_viewer", None)], "admin": [("kiap_admin", None)], "nobody": [],
    "multi": [("gp", "000004"), ("public_viewer", None)],
}
# What each role sees on 31.12.2025 (peers in K1 as letters: the default)
VISIBLE_DEC = {
    "gp1": {("practice", "000001"), ("practice", "letter"), ("cluster", "K1"), ("region", "1082"), ("national", "DK")},
    "staff2": {("practice", "000002"), ("practice", "letter"), ("cluster", "K1"), ("region", "1082"),
               ("national", "DK")},
    "coord": {("practice", "letter"), ("cluster", "K1"), ("region", "1082"), ("national", "DK")},
    "region": {("practice", y) for y in ("000001", "000002", "000003", "000004", "000005")}
    | {("cluster", "K1"), ("cluster", "K2"), ("municipality", "751"), ("region", "1082"), ("national", "DK")},
    "kommune": {("municipality", "751"), ("region", "1082"), ("national", "DK")},
    "public": {("region", "1081"), ("region", "1082"), ("national", "DK")},
    "admin": set(), "nobody": set(),
    "multi": {("practice", "000004"), ("practice", "letter"), ("cluster", "K2"), ("region", "1082"),
              ("region", "1081"), ("national", "DK")},
}


class _Identity:
    def __init__(self, cpr, name):
        self.cpr, self.name = cpr, name


@pytest.fixture
def world(appdb_engine, world_home):
    path = world_home / "warehouse.duckdb"
    audit, ids = seed_world(appdb_engine, GRANTS)

    def reveal(keys):  # the vault, decrypted as warehouse.vault.reveal does
        con = ibis.duckdb.connect(str(path), read_only=True)
        t = con.table("identity_vault")
        rows = t.filter(t.patient_key.isin(keys)).to_pyarrow().to_pylist()
        con.disconnect()
        c = VaultCipher(VAULT_KEY)
        return {r["patient_key"]: _Identity(c.decrypt("cpr", r["pseudonym"], r["cpr_enc"]),
                                            c.decrypt("name", r["pseudonym"], r["name_enc"])) for r in rows}

    store = world_store(world_home)
    gate = Gate(appdb_engine, store, audit, b"l" * 32, reveal=reveal)

    def principal(name, **kw):
        with appdb_engine.connect() as c:
            return load_principal(c, ids[name], **kw)

    return gate, principal, audit


def units(rows):
    return {(r["org_level"], "letter" if r["org_id"].isalpha() and r["org_level"] == "practice" else r["org_id"])
            for r in rows}


@pytest.mark.parametrize("role", list(GRANTS))
def test_results_scope_per_role(world, role):
    gate, principal, _ = world
    rows = gate.results(principal(role), WORLD_INDICATOR, DEC)
    assert units(rows) == VISIBLE_DEC[role]
    for r in rows:
        if not r["own"]:  # disclosure control for everything the person does not own
            for v in (r["numerator"], r["denominator"]):
                assert v is None or not 1 <= v <= 4, r
            if r["suppressed"]:
                assert r["rate"] is None and r["ci_low"] is None and r["percentile"] is None
        else:  # the own practice: exact, never suppressed
            y = r["org_id"]
            if r["stratum_dim"] == "sex":
                assert (r["numerator"], r["denominator"]) == WORLD_COUNTS[y][r["stratum"]]


def test_membership_over_time_changes_the_peers(world):
    gate, principal, _ = world
    june = gate.results(principal("gp1"), WORLD_INDICATOR, JUN, org_level="practice", stratum_dim="total")
    dec = gate.results(principal("gp1"), WORLD_INDICATOR, DEC, org_level="practice", stratum_dim="total")
    assert len(june) == 3 and len(dec) == 2  # 000003 left cluster K1 on 01.07.2025


def test_a_practice_cannot_subtract_itself_from_the_cluster(world):
    gate, principal, _ = world
    rows = {(r["org_level"], r["org_id"], r["stratum"]): r for r in gate.results(principal("gp1"), WORLD_INDICATOR, DEC)}
    peer = next(r for k, r in rows.items() if k[0] == "practice" and not r["own"] and k[2] == "F")
    assert peer["numerator"] is None  # 000002 has 2 of 9 women: suppressed
    # cluster K1 (F) = own + peer; with own known, the cluster's female numerator would give the peer away
    assert rows[("cluster", "K1", "F")]["numerator"] is None
    # the practice that owns the small number sees it
    own = {r["stratum"]: r for r in gate.results(principal("staff2"), WORLD_INDICATOR, DEC, org_id="000002")}
    assert own["F"]["numerator"] == 2 and not own["F"]["suppressed"]


def test_cluster_setting_names_or_letters_is_honoured(world, appdb_engine):
    gate, principal, _ = world
    lettered = gate.results(principal("coord"), WORLD_INDICATOR, DEC, org_level="practice", stratum_dim="total")
    # letters are stable over time: every practice that was ever in the cluster keeps its letter
    assert len({r["org_name"] for r in lettered}) == 2
    assert all(r["org_name"] in ("Praksis A", "Praksis B", "Praksis C") for r in lettered)
    assert not any(r["org_id"].isdigit() for r in lettered)
    again = gate.results(principal("gp1"), WORLD_INDICATOR, DEC, org_level="practice", stratum_dim="total")
    peer_letter = next(r["org_id"] for r in again if not r["own"])
    assert peer_letter in {r["org_id"] for r in lettered}  # the same letter for the same practice for everyone
    set_peer_display(appdb_engine, "K1", "names")
    named = gate.results(principal("coord"), WORLD_INDICATOR, DEC, org_level="practice", stratum_dim="total")
    assert {r["org_id"] for r in named} == {"000001", "000002"}
    # the regional unit always sees names
    region = gate.results(principal("region"), WORLD_INDICATOR, DEC, org_level="practice", stratum_dim="total")
    assert {r["org_name"] for r in region} >= {"Lægerne i Vestergade"}


def test_worklist_and_identity_only_for_the_own_practice(world):
    gate, principal, audit = world
    gp1 = principal("gp1")
    rows = gate.worklist(gp1, WORLD_INDICATOR, status="all")
    assert {r["ydernummer"] for r in rows} == {"000001"} and len(rows) == 3  # patient 4 is not in the denominator
    assert [r["patient_key"] for r in gate.worklist(gp1, WORLD_INDICATOR, status="missing")] == \
        [str(world_patient_key(0, 2)), str(world_patient_key(0, 3))]
    found = gate.identities(gp1, [world_patient_key(0, 1)], purpose="42a")
    assert found == [{"patient_key": str(world_patient_key(0, 1)), "cpr": "010150-1001", "name": "Karen Hansen"}]
    with pytest.raises(AccessDenied):
        gate.identities(gp1, [world_patient_key(1, 1)], purpose="42a")  # a patient of 000002
    with pytest.raises(AccessDenied):
        gate.worklist(gp1, WORLD_INDICATOR, ydernummer="000002")
    with pytest.raises(ValueError, match="formål"):
        gate.identities(gp1, [world_patient_key(0, 1)], purpose="research")
    history = audit.patient_history(world_patient_key(0, 1))
    assert len(history) == 1 and history[0]["ydernummer"] == "000001" and "42 a" in history[0]["formål"]
    assert audit.verify().ok


@pytest.mark.parametrize("role", [r for r in GRANTS if r not in ("gp1", "staff2", "multi")])
def test_no_patient_rows_for_non_clinical_roles(world, role):
    gate, principal, _ = world
    p = principal(role)
    with pytest.raises(AccessDenied):
        gate.worklist(p, WORLD_INDICATOR)
    with pytest.raises(AccessDenied):
        gate.identities(p, [world_patient_key(0, 1)], purpose="42d")
    with pytest.raises(AccessDenied):
        gate.export_worklist(p, "csv", WORLD_INDICATOR)


def test_launch_narrows_to_the_launched_practice(world):
    gate, principal, _ = world
    launched = principal("multi", launch_ydernummer="000004")
    assert units(gate.results(launched, WORLD_INDICATOR, DEC)) == {
        ("practice", "000004"), ("practice", "letter"), ("cluster", "K2"), ("region", "1082"), ("national", "DK")}
    assert principal("multi", launch_ydernummer="000001").grants == ()  # not their practice: nothing


def test_deliveries_usage_packages_per_role(world):
    gate, principal, _ = world
    assert len(gate.deliveries(principal("admin"))) == 7
    assert {d["ydernummer"] for d in gate.deliveries(principal("gp1"))} == {"000001"}
    for role in ("coord", "region", "kommune", "public", "nobody"):
        assert gate.deliveries(principal(role)) == []
    gate.results(principal("gp1"), WORLD_INDICATOR, DEC)
    gate.results(principal("multi"), WORLD_INDICATOR, DEC)
    usage = gate.active_users(principal("admin"))
    assert {(u["role"], u["region_code"]) for u in usage} >= {("gp", "1082"), ("public_viewer", "")}
    for role in GRANTS:
        if role != "admin":
            with pytest.raises(AccessDenied):
                gate.active_users(principal(role))
    assert gate.packages(principal("nobody")) == []


def test_filters_carrying_sql_and_other_practices_ids_give_nothing(world):
    gate, principal, _ = world
    gp1 = principal("gp1")
    for hostile in ("000002' OR '1'='1", "000006", "x'; DROP TABLE result; --", "%", "*"):
        assert gate.results(gp1, WORLD_INDICATOR, DEC, org_id=hostile) == []
        assert gate.results(gp1, hostile, DEC) == []
    with pytest.raises(InvalidQuery):
        gate.results(gp1, WORLD_INDICATOR, DEC, org_level="practice OR 1=1")
    # found by schemathesis: an id with a control character is not even quotable in SQL; it has no results
    assert gate.periods(gp1, "\x00") == gate.results(gp1, "AB\x00") == gate.worklist(gp1, "\x04D") == []
    many = gate.results_many(gp1, [WORLD_INDICATOR, "\x00"], [DEC])
    assert many[("\x00", DEC)] == [] and many[(WORLD_INDICATOR, DEC)]
    assert gate.results(principal("region"), WORLD_INDICATOR, DEC, org_level="practice")  # table still there


def test_cached_views_are_never_shared_between_scopes(world):
    gate, principal, _ = world
    for _ in range(2):  # second round is served from the cache
        gp1 = {(r["org_id"], r["stratum"]): r for r in gate.results(principal("gp1"), WORLD_INDICATOR, DEC,
                                                                     org_level="practice")}
        staff2 = {(r["org_id"], r["stratum"]): r for r in gate.results(principal("staff2"), WORLD_INDICATOR, DEC,
                                                                        org_level="practice")}
        assert gp1[("000001", "F")]["numerator"] == 12 and ("000002", "F") not in gp1
        assert staff2[("000002", "F")]["numerator"] == 2 and ("000001", "F") not in staff2
        assert gate.results(principal("nobody"), WORLD_INDICATOR, DEC) == []


def test_usage_is_recorded_once_a_day_per_person_and_kind_while_the_audit_log_keeps_every_request(world):
    from sqlalchemy import func, select

    from kvalitetsplatform.access.db import audit_entry, usage_event

    gate, principal, _ = world
    gp1 = principal("gp1")

    def count(table):
        with gate.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(table)).scalar_one()

    gate.results(gp1, WORLD_INDICATOR, DEC)
    usage, audited = count(usage_event), count(audit_entry)
    for _ in range(3):
        gate.results(gp1, WORLD_INDICATOR, DEC)
    assert count(usage_event) == usage and count(audit_entry) == audited + 3
    gate.results(principal("multi"), WORLD_INDICATOR, DEC)  # another person: recorded
    assert count(usage_event) > usage
