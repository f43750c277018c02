"""The report library on SQLite and PostgreSQL: stored files and metadata, who may list and open what, versions."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select

from kvalitetsplatform.access.db import audit_entry
from kvalitetsplatform.access.gate import AccessDenied
from kvalitetsplatform.reports.audience import Audience
from kvalitetsplatform.reports.library import reports_dir, visible_reports

from .reports_support import PACKAGE, add_user, principal_of


def test_each_report_is_visible_to_its_audience_only(env):
    cluster = env.world.clusters[0]
    own, other = env.world.practices_in(cluster)[:2]
    region = env.world.units[0].code
    region = next(m.region_code for m in env.world.memberships if m.cluster_id == cluster)
    practice_report = env.library.build(Audience("practice", own), PACKAGE)
    cluster_pack = env.library.build(Audience("cluster", cluster), PACKAGE)
    overview = env.library.build(Audience("region", region), PACKAGE)

    users = {"gp": ("gp", own), "staff": ("practice_staff", own), "peer": ("gp", other),
             "coordinator": ("cluster_coordinator", cluster), "region": ("regional_quality_unit", region),
             "public": ("public_viewer", None), "admin": ("kiap_admin", None)}
    seen = {}
    for name, (role, scope) in users.items():
        principal = principal_of(env, add_user(env, name, role, scope))
        seen[name] = {e.id for e in visible_reports(env.engine, principal)}
    assert seen == {"gp": {practice_report.id}, "staff": {practice_report.id}, "peer": set(),
                    "coordinator": {cluster_pack.id}, "region": {overview.id}, "public": set(), "admin": set()}


def test_open_returns_the_stored_pdf_logs_the_view_and_refuses_others(env):
    cluster = env.world.clusters[0]
    own, other = env.world.practices_in(cluster)[:2]
    entry = env.library.build(Audience("practice", own), PACKAGE)
    path = reports_dir(env.home) / entry.file
    assert path.exists() and entry.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert entry.package_version == env.library.package(PACKAGE).version and entry.kind == "practice"

    gp = principal_of(env, add_user(env, "gp", "gp", own))
    opened, pdf = env.library.open(gp, entry.id)
    assert opened == entry and pdf == path.read_bytes()
    with env.engine.connect() as conn:
        views = conn.execute(select(audit_entry.c.username, audit_entry.c.object)
                             .where(audit_entry.c.action == "report_view")).all()
    assert [tuple(v) for v in views] == [("gp", f"report:{entry.id}")]

    peer = principal_of(env, add_user(env, "peer", "gp", other))
    coordinator = principal_of(env, add_user(env, "coordinator", "cluster_coordinator", cluster))
    for principal in (peer, coordinator):
        with pytest.raises(AccessDenied) as refused:
            env.library.open(principal, entry.id)
        with pytest.raises(AccessDenied) as missing:
            env.library.open(principal, "practice-000000-nope")
        assert str(refused.value) == str(missing.value)  # the answer does not tell which reports exist


def test_rebuilding_makes_a_new_version_and_keeps_the_old(env):
    own = env.world.practices_in(env.world.clusters[1])[0]
    first = env.library.build(Audience("practice", own), PACKAGE)
    second = env.library.build(Audience("practice", own), PACKAGE)
    assert (first.version, second.version) == (1, 2) and first.id != second.id
    assert first.period == second.period == env.world.dates[-1]
    assert (reports_dir(env.home) / first.file).exists() and (reports_dir(env.home) / second.file).exists()
    gp = principal_of(env, add_user(env, "gp", "gp", own))
    assert [e.version for e in visible_reports(env.engine, gp)] == [2, 1]


def test_a_package_not_made_for_the_audience_is_refused(env):
    from kvalitetsplatform.reports.common import ReportError

    region = next(m.region_code for m in env.world.memberships)
    with pytest.raises(ReportError, match="pakken danpep er ikke lavet til region-rapporter"):
        env.library.build(Audience("region", region), "danpep")
