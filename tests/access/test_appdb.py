"""The app database migrates on both engines and holds users, grants and organisations."""

from datetime import date

from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from kvalitetsplatform.access.audit import AuditLog
from kvalitetsplatform.access import db
from kvalitetsplatform.access.db import metadata, migrate
from kvalitetsplatform.access.orgs import Membership, OrgUnit, load_organisation, replace_organisation, \
    set_peer_display
from kvalitetsplatform.access.principal import load_principal
from kvalitetsplatform.access.roles import Role
from kvalitetsplatform.access import users


@pytest.fixture
def audit(appdb_engine):
    return AuditLog(appdb_engine, b"k" * 32)


def small_organisation(engine):
    units = [OrgUnit("region", "1082", "Region Midtjylland", "1082"),
             OrgUnit("municipality", "751", "Aarhus", "1082"),
             OrgUnit("cluster", "K1", "Klynge Vest", "1082"), OrgUnit("cluster", "K2", "Klynge Øst", "1082"),
             OrgUnit("practice", "000001", "Lægerne i Vestergade", "1082"),
             OrgUnit("practice", "000002", "Lægehuset Øst", "1082")]
    members = [Membership("000001", date(2020, 1, 1), None, "K1", "1082", "751"),
               Membership("000002", date(2020, 1, 1), date(2024, 6, 30), "K1", "1082", "751"),
               Membership("000002", date(2024, 7, 1), None, "K2", "1082", "751")]
    return replace_organisation(engine, units, members)


def test_migration_creates_every_declared_table_and_is_idempotent(appdb_engine):
    names = set(inspect(appdb_engine).get_table_names())
    assert set(metadata.tables) <= names
    migrate(appdb_engine)  # at head already: nothing to do, no error
    from alembic.script import ScriptDirectory
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(Path(db.__file__).parent / "migrations"))
    with appdb_engine.connect() as c:
        assert c.execute(text("SELECT version_num FROM alembic_version")).scalar() == \
            ScriptDirectory.from_config(config).get_current_head()


def test_organisation_membership_over_time(appdb_engine):
    counts = small_organisation(appdb_engine)
    assert counts == {"region": 1, "municipality": 1, "cluster": 2, "practice": 2, "memberships": 3}
    with appdb_engine.connect() as c:
        org = load_organisation(c)
    assert [m.ydernummer for m in org.in_cluster("K1") if m.covers(date(2024, 1, 31))] == ["000001", "000002"]
    assert [m.ydernummer for m in org.in_cluster("K1") if m.covers(date(2024, 7, 31))] == ["000001"]
    assert org.shows_letters("K1")  # the safe default until the cluster decides
    set_peer_display(appdb_engine, "K1", "names")
    with appdb_engine.connect() as c:
        assert not load_organisation(c).shows_letters("K1")
    with pytest.raises(ValueError, match="findes ikke"):
        set_peer_display(appdb_engine, "K9", "names")


def test_users_grants_revoke_disable_and_principal(appdb_engine, audit):
    small_organisation(appdb_engine)
    uid = users.create_user(appdb_engine, audit, "hanne", "Hanne Holm", "en lang adgangskode")
    with pytest.raises(users.UserError, match="findes allerede"):
        users.create_user(appdb_engine, audit, "hanne", "Hanne Holm")
    users.grant(appdb_engine, audit, "hanne", "gp", "000001")
    users.grant(appdb_engine, audit, "hanne", "cluster_coordinator", "K1")
    with pytest.raises(users.UserError, match="findes ikke i organisationerne"):
        users.grant(appdb_engine, audit, "hanne", "gp", "999999")
    with pytest.raises(users.UserError, match="kræver et område"):
        users.grant(appdb_engine, audit, "hanne", "regional_quality_unit")
    with pytest.raises(ValueError, match="ukendt rolle"):
        users.grant(appdb_engine, audit, "hanne", "superuser", "000001")
    users.grant(appdb_engine, audit, "hanne", "public_viewer")
    with appdb_engine.connect() as c:
        p = load_principal(c, uid)
        launched = load_principal(c, uid, launch_ydernummer="000001")
    assert {g.role for g in p.grants} == {Role.GP, Role.CLUSTER_COORDINATOR, Role.PUBLIC_VIEWER}
    assert p.clinical_practices == {"000001"}
    assert [g.role for g in launched.grants] == [Role.GP]  # a launch narrows the session to that practice
    assert users.revoke(appdb_engine, audit, "hanne", "cluster_coordinator") == 1
    with appdb_engine.connect() as c:
        assert not load_principal(c, uid).holds(Role.CLUSTER_COORDINATOR)
    users.disable(appdb_engine, audit, "hanne")
    with appdb_engine.connect() as c:
        assert load_principal(c, uid).grants == ()  # disabled: nothing
    listed = users.list_users(appdb_engine, include_revoked=True)[0]
    assert listed.disabled and listed.has_password and len(listed.grants) == 3
    with appdb_engine.connect() as c:
        stored = c.execute(text("SELECT password_hash FROM user_account")).scalar()
    assert stored.startswith("$argon2id$")
    assert users.password_matches(stored, "en lang adgangskode") and not users.password_matches(stored, "forkert")
    assert audit.verify().ok and audit.verify().entries == 6
