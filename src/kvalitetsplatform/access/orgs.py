"""Organisations in the app DB: practices, clusters, regions, municipalities and practice membership over time.

Synced from the warehouse (practice_period, region, municipality), so the access layer answers "which practices
were in cluster C on date R" without reading patient data. The cluster's peer-display choice is the cluster's own and
is not touched by a sync, nor are the packages it follows.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from functools import cached_property

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection, Engine

from kvalitetsplatform.access.db import (cluster_package, cluster_setting, org_unit, org_version,
                                        practice_membership)
from kvalitetsplatform.access.roles import PEER_DISPLAY


@dataclass(frozen=True)
class Membership:
    ydernummer: str
    valid_from: date
    valid_to: date | None  # inclusive; None while current
    cluster_id: str
    region_code: str
    kommune_code: str

    def covers(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)


@dataclass(frozen=True)
class OrgUnit:
    level: str
    code: str
    name: str
    region_code: str | None


@dataclass(frozen=True)
class Organisation:
    """A snapshot of all org units and memberships, read once per request (a few thousand rows nationally)."""

    units: dict[tuple[str, str], OrgUnit]
    memberships: tuple[Membership, ...]
    peer_display: dict[str, str]
    followed: dict[str, tuple[str, ...]]  # cluster → the packages it follows (none chosen: absent)

    @cached_property
    def fingerprint(self) -> str:
        """Changes whenever units, memberships or a cluster's choices change (part of cache keys)."""
        text = repr((sorted(self.units.items()), self.memberships, sorted(self.peer_display.items()),
                     sorted(self.followed.items())))
        return hashlib.sha256(text.encode()).hexdigest()

    def unit(self, level: str, code: str) -> OrgUnit | None:
        return self.units.get((level, code))

    @cached_property
    def _by_practice(self) -> dict[str, list[Membership]]:
        found: dict[str, list[Membership]] = {}
        for m in self.memberships:
            found.setdefault(m.ydernummer, []).append(m)
        return found

    def of_practice(self, ydernummer: str) -> list[Membership]:
        return list(self._by_practice.get(ydernummer, ()))

    def in_cluster(self, cluster_id: str) -> list[Membership]:
        return [m for m in self.memberships if m.cluster_id == cluster_id]

    def in_region(self, region_code: str) -> list[Membership]:
        return [m for m in self.memberships if m.region_code == region_code]

    def members_on(self, day: date) -> list[Membership]:
        return [m for m in self.memberships if m.covers(day)]

    def units_at(self, level: str) -> list[OrgUnit]:
        return [u for (lv, _), u in self.units.items() if lv == level]

    def shows_letters(self, cluster_id: str) -> bool:
        return self.peer_display.get(cluster_id, "letters") == "letters"

    def follows(self, cluster_id: str) -> tuple[str, ...]:
        """The packages the cluster follows; empty when it has chosen none (then every package is shown)."""
        return self.followed.get(cluster_id, ())


def load_organisation(conn: Connection) -> Organisation:
    return organisation_from_rows(organisation_rows(conn))


def organisation_version(conn: Connection) -> int:
    """Raised by every change to the organisation (`_changed`); read it before the rows it stands for."""
    return conn.execute(select(org_version.c.version).where(org_version.c.id == 1)).scalar() or 0


def _changed(conn: Connection) -> None:
    if conn.execute(update(org_version).where(org_version.c.id == 1)
                    .values(version=org_version.c.version + 1)).rowcount == 0:
        conn.execute(insert(org_version).values(id=1, version=1))


def organisation_rows(conn: Connection) -> tuple:
    """The organisation as plain rows: equal rows give an equal Organisation (the gate keeps one per change)."""
    units = tuple(tuple(r) for r in conn.execute(select(org_unit.c.level, org_unit.c.code, org_unit.c.name,
                                                        org_unit.c.region_code).order_by(org_unit.c.level,
                                                                                         org_unit.c.code)))
    memberships = tuple(tuple(r) for r in conn.execute(
        select(practice_membership.c.ydernummer, practice_membership.c.valid_from, practice_membership.c.valid_to,
               practice_membership.c.cluster_id, practice_membership.c.region_code,
               practice_membership.c.kommune_code)
        .order_by(practice_membership.c.ydernummer, practice_membership.c.valid_from)))
    display = tuple(tuple(r) for r in conn.execute(select(cluster_setting.c.cluster_id,
                                                          cluster_setting.c.peer_display)
                                                   .order_by(cluster_setting.c.cluster_id)))
    followed = tuple(tuple(r) for r in conn.execute(select(cluster_package.c.cluster_id, cluster_package.c.package)
                                                    .order_by(cluster_package.c.cluster_id,
                                                              cluster_package.c.package)))
    return units, memberships, display, followed


def organisation_from_rows(rows: tuple) -> Organisation:
    units, memberships, display, followed = rows
    by_cluster: dict[str, list[str]] = {}
    for cluster_id, package in followed:
        by_cluster.setdefault(cluster_id, []).append(package)
    return Organisation({(level, code): OrgUnit(level, code, name, region) for level, code, name, region in units},
                        tuple(Membership(*m) for m in memberships), dict(display),
                        {c: tuple(p) for c, p in by_cluster.items()})


def replace_organisation(engine: Engine, units: Iterable[OrgUnit], memberships: Iterable[Membership]) -> dict:
    """Replace all org units and memberships in one transaction (the warehouse is the source of truth)."""
    units, memberships = list(units), list(memberships)
    with engine.begin() as conn:
        conn.execute(delete(practice_membership))
        conn.execute(delete(org_unit))
        if units:
            conn.execute(insert(org_unit), [u.__dict__ for u in units])
        if memberships:
            conn.execute(insert(practice_membership), [m.__dict__ for m in memberships])
        _changed(conn)
    counts: dict[str, int] = {}
    for u in units:
        counts[u.level] = counts.get(u.level, 0) + 1
    counts["memberships"] = len(memberships)
    return counts


def sync_from_warehouse(engine: Engine, settings) -> dict:
    """Read practices, clusters, regions and municipalities from the warehouse into the app DB."""
    from kvalitetsplatform.warehouse import connect

    backend = connect(settings, read_only=True)
    try:
        periods = backend.table("practice_period").select(
            "ydernummer", "valid_from", "valid_to", "name", "cluster_id", "cluster_name", "region_code",
            "kommune_code").to_pyarrow().to_pylist()
        regions = backend.table("region").to_pyarrow().to_pylist()
        kommuner = backend.table("municipality").to_pyarrow().to_pylist()
    finally:
        backend.disconnect()
    units: dict[tuple[str, str], OrgUnit] = {}
    for r in regions:
        units[("region", r["region_code"])] = OrgUnit("region", r["region_code"], r["name"], r["region_code"])
    for k in kommuner:
        units[("municipality", k["kommune_code"])] = OrgUnit("municipality", k["kommune_code"], k["name"],
                                                             k["region_code"])
    memberships = []
    for p in sorted(periods, key=lambda p: (p["ydernummer"], p["valid_from"])):  # newest period wins the names
        units[("practice", p["ydernummer"])] = OrgUnit("practice", p["ydernummer"], p["name"], p["region_code"])
        units[("cluster", p["cluster_id"])] = OrgUnit("cluster", p["cluster_id"], p["cluster_name"],
                                                      p["region_code"])
        memberships.append(Membership(p["ydernummer"], p["valid_from"], p["valid_to"], p["cluster_id"],
                                      p["region_code"], p["kommune_code"]))
    return replace_organisation(engine, units.values(), memberships)


def _require_cluster(conn: Connection, cluster_id: str) -> None:
    if conn.execute(select(org_unit.c.code).where(org_unit.c.level == "cluster",
                                                  org_unit.c.code == cluster_id)).first() is None:
        raise ValueError(f"klyngen {cluster_id!r} findes ikke (synkronisér organisationer med `kp users sync-orgs`)")


def set_peer_display(engine: Engine, cluster_id: str, display: str, changed_by: int | None = None) -> None:
    """Record the cluster's decision: practices shown to each other by name or as letters."""
    if display not in PEER_DISPLAY:
        raise ValueError(f"visning skal være 'names' eller 'letters', ikke {display!r}")
    with engine.begin() as conn:
        _require_cluster(conn, cluster_id)
        conn.execute(delete(cluster_setting).where(cluster_setting.c.cluster_id == cluster_id))
        conn.execute(insert(cluster_setting).values(cluster_id=cluster_id, peer_display=display,
                                                    changed_at=datetime.now().replace(microsecond=0),
                                                    changed_by=changed_by))
        _changed(conn)


def set_followed_packages(engine: Engine, cluster_id: str, packages: Iterable[str], known: Iterable[str],
                          changed_by: int | None = None) -> tuple[str, ...]:
    """Record the packages the cluster follows (none: every package is shown). `known` are the published
    packages' ids; anything else is refused."""
    chosen = tuple(sorted(set(packages)))
    unknown = sorted(set(chosen) - set(known))
    if unknown:
        raise ValueError(f"ukendt pakke: {', '.join(unknown)}")
    with engine.begin() as conn:
        _require_cluster(conn, cluster_id)
        conn.execute(delete(cluster_package).where(cluster_package.c.cluster_id == cluster_id))
        now = datetime.now().replace(microsecond=0)
        if chosen:
            conn.execute(insert(cluster_package), [dict(cluster_id=cluster_id, package=p, changed_at=now,
                                                        changed_by=changed_by) for p in chosen])
        _changed(conn)
    return chosen
