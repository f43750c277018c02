"""A results-shaped world for report tests and the report benchmark: organisations in the app DB and 36 months of
results for a shipped package, in the tables the gate reads (`access.results`).

Not a simulation of care: each practice has a level per indicator that drifts over the months, counts are drawn
from it, and every org level is summed from the practices exactly as compute does (so cluster, region, municipality
and national figures add up, and disclosure control sees consistent tables). Small practices and small strata give
small counts on purpose, so suppression happens.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np

from kvalitetsplatform.access.orgs import Membership, OrgUnit
from kvalitetsplatform.terminology import code_system

SEXES = ("F", "M")
AGE_BANDS = ("18-64", "65-79", "80+")
PRACTICE_NAMES = ("Lægerne i Vestergade", "Lægehuset Åbyhøj", "Lægerne ved Torvet", "Skovbrynets Lægepraksis",
                  "Havnens Læger", "Lægehuset Østerbro", "Lægerne på Bakken", "Fjordens Lægehus",
                  "Lægepraksis Søndergade", "Lægerne i Engparken", "Lægehuset Møllen", "Lægerne ved Åen",
                  "Kystens Lægehus", "Lægerne i Bymidten", "Lægehuset Kirkebakken", "Lægerne på Hjørnet")
Z = 1.959963984540054


@dataclass(frozen=True)
class World:
    units: list[OrgUnit]
    memberships: list[Membership]
    dates: list[date]
    package_id: str
    indicators: list[str]

    def practices_in(self, cluster_id: str) -> list[str]:
        return sorted(m.ydernummer for m in self.memberships if m.cluster_id == cluster_id)

    def clusters_in(self, region_code: str) -> list[str]:
        return sorted({m.cluster_id for m in self.memberships if m.region_code == region_code})

    @property
    def clusters(self) -> list[str]:
        return sorted({m.cluster_id for m in self.memberships})


def month_ends(end: date, months: int) -> list[date]:
    """`months` month ends up to `end` (a month end), oldest first."""
    out, year, month = [], end.year, end.month
    for _ in range(months):
        nxt = date(year + month // 12, month % 12 + 1, 1)
        out.append(date.fromordinal(nxt.toordinal() - 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return out[::-1]


TINY = "199999"  # with `tiny`: a very small practice alone in its municipality, so region figures get suppressed


def organisation(clusters: int, practices_per_cluster: int, seed: int = 7,
                 tiny: bool = False) -> tuple[list[OrgUnit], list[Membership]]:
    """Clusters spread over the regions; each cluster's practices in one municipality of its region. With `tiny`,
    the first cluster also has a very small practice in a municipality of its own."""
    rng = np.random.default_rng(seed)
    regions = code_system("region")
    kommuner = code_system("kommune")
    by_region: dict[str, list[str]] = {}
    for code, concept in kommuner.concepts.items():
        by_region.setdefault(concept.extra["region_code"], []).append(code)
    units = [OrgUnit("region", code, c.label_da, code) for code, c in sorted(regions.concepts.items())]
    units += [OrgUnit("municipality", code, c.label_da, c.extra["region_code"])
              for code, c in sorted(kommuner.concepts.items())]
    region_codes = sorted(regions.concepts)
    memberships = []
    number = 100000
    for i in range(clusters):
        spread = min(len(region_codes), max(1, clusters // 2))
        region = region_codes[i % spread]
        home = sorted(by_region[region])[(i // spread) % len(by_region[region])]
        town = kommuner.concepts[home].label_da
        cluster_id = f"K{i + 1:03d}"
        units.append(OrgUnit("cluster", cluster_id, f"Klynge {town}" + (f" {i // 98 + 1}" if clusters > 98 else ""),
                             region))
        size = max(3, int(rng.integers(practices_per_cluster - 3, practices_per_cluster + 4)))
        for j in range(size):
            number += 1
            ydernummer = f"{number:06d}"
            name = f"{PRACTICE_NAMES[(i * 5 + j) % len(PRACTICE_NAMES)]}, {town}"
            units.append(OrgUnit("practice", ydernummer, name, region))
            memberships.append(Membership(ydernummer, date(2015, 1, 1), None, cluster_id, region, home))
        if tiny and i == 0:
            island = sorted(by_region[region])[-1]
            units.append(OrgUnit("practice", TINY, f"Lægen på Øen, {kommuner.concepts[island].label_da}", region))
            memberships.append(Membership(TINY, date(2015, 1, 1), None, cluster_id, region, island))
    return units, memberships


def _wilson(n: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    with np.errstate(divide="ignore", invalid="ignore"):
        p = n / d
        z2 = Z * Z
        centre = (p + z2 / (2 * d)) / (1 + z2 / d)
        half = Z * np.sqrt(p * (1 - p) / d + z2 / (4 * d * d)) / (1 + z2 / d)
        return np.clip(centre - half, 0, 1), np.clip(centre + half, 0, 1)


def _byar(o: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    with np.errstate(divide="ignore", invalid="ignore"):
        low = np.where(o > 0, o * (1 - 1 / (9 * o) - Z / (3 * np.sqrt(o))) ** 3, 0.0)
        o1 = o + 1
        high = o1 * (1 - 1 / (9 * o1) + Z / (3 * np.sqrt(o1))) ** 3
        return low, high


def results(package, memberships: list[Membership], dates: list[date], seed: int = 11,
            age_bands: bool = True) -> list[dict]:
    """Result rows (access.results.RESULT_COLUMNS) for every indicator of `package`, date, org level and stratum
    (total, sex and, with `age_bands`, age band)."""
    rng = np.random.default_rng(seed)
    practices = sorted({m.ydernummer for m in memberships})
    member = {m.ydernummer: m for m in memberships}
    size = rng.integers(900, 3200, len(practices))  # listed patients
    size[[i for i, y in enumerate(practices) if y == TINY]] = 40
    strata = [(s, a) for s in SEXES for a in AGE_BANDS]
    weights = np.array([0.22, 0.16, 0.08, 0.24, 0.20, 0.10])
    rows: list[dict] = []
    t = np.linspace(0, 1, len(dates))
    for ind in package.indicators:
        kind = ind.kind
        base = rng.uniform(0.45, 0.85)
        level = np.clip(base + rng.normal(0, 0.09, len(practices)), 0.05, 0.97)
        drift = rng.normal(0.04, 0.05, len(practices))
        prevalence = rng.uniform(0.015, 0.06) if kind != "rate" else 1.0
        for di, day in enumerate(dates):
            p = np.clip(level + drift * t[di] + rng.normal(0, 0.01, len(practices)), 0.01, 0.99)
            if kind == "rate":
                d = size[:, None] * weights[None, :]
                mean_rate = (p * 0.45)[:, None] * np.ones(len(strata))[None, :]
                n = rng.poisson(d * mean_rate).astype(float)
            elif kind == "mean":
                d = rng.poisson((size * 0.03)[:, None] * weights[None, :]).astype(float)
                n = d * (3.6 + p[:, None] * 1.2)
            else:
                d = rng.poisson((size * prevalence)[:, None] * weights[None, :] * 6 / len(strata)).astype(float)
                n = rng.binomial(d.astype(int), p[:, None]).astype(float)
            cells: dict[tuple, list[float]] = {}

            def add(unit: tuple[str, str], stratum: tuple[str, str], num: float, den: float) -> None:
                cell = cells.setdefault((*unit, *stratum), [0.0, 0.0])
                cell[0] += num
                cell[1] += den

            for i, y in enumerate(practices):
                m = member[y]
                units = (("practice", y), ("cluster", m.cluster_id), ("region", m.region_code),
                         ("municipality", m.kommune_code), ("national", "DK"))
                for si, (sex, band) in enumerate(strata):
                    for unit in units:
                        add(unit, ("total", ""), n[i, si], d[i, si])
                        add(unit, ("sex", sex), n[i, si], d[i, si])
                        if age_bands:
                            add(unit, ("age_band", band), n[i, si], d[i, si])
            keys = list(cells)
            num = np.array([cells[key][0] for key in keys])
            den = np.array([cells[key][1] for key in keys])
            with np.errstate(divide="ignore", invalid="ignore"):
                if kind == "rate":
                    factor = ind.measure.per * ind.measure.per_year
                    value = np.where(den > 0, num / den * factor, np.nan)
                    low, high = _byar(num)
                    low, high = low / den * factor, high / den * factor
                elif kind == "mean":
                    value = np.where(den > 0, num / den, np.nan)
                    half = 1.96 * 0.8 / np.sqrt(np.maximum(den, 1))
                    low, high = value - half, value + half
                else:
                    value = np.where(den > 0, num / den, np.nan)
                    low, high = _wilson(num, den)
            sign = -1 if ind.direction == "lower_is_better" else 1
            practice_idx = [j for j, key in enumerate(keys) if key[0] == "practice" and key[2] == "total"
                            and not math.isnan(value[j])]
            ordered = sorted(practice_idx, key=lambda j: value[j])
            percentile = {j: 100.0 * r / max(1, len(ordered) - 1) for r, j in enumerate(ordered)}
            by_cluster: dict[str, list[int]] = {}
            for j in practice_idx:
                by_cluster.setdefault(member[keys[j][1]].cluster_id, []).append(j)
            rank = {}
            for js in by_cluster.values():
                for r, j in enumerate(sorted(js, key=lambda j: -sign * value[j])):
                    rank[j] = r + 1
            standard = ind.standard
            for j, (level_, org_id, dim, stratum) in enumerate(keys):
                v = None if math.isnan(value[j]) else float(value[j])
                met = None if v is None or standard is None else standard.met(v)
                rows.append(dict(indicator_id=ind.id, kind=kind, ref_date=day, org_level=level_, org_id=org_id,
                                 stratum_dim=dim, stratum=stratum, numerator=float(num[j]),
                                 denominator=float(den[j]), rate=v,
                                 ci_low=None if v is None else float(low[j]),
                                 ci_high=None if v is None else float(high[j]),
                                 percentile=percentile.get(j), cluster_rank=rank.get(j), target_met=met))
    return rows


def deliveries(memberships: list[Membership], end: date) -> list[dict]:
    """One monthly delivery per practice for the last month (what the colophon lists)."""
    start = end.replace(day=1)
    return [dict(id=f"{m.ydernummer}-{end:%Y-%m}", ydernummer=m.ydernummer, vendor="XMO",
                 extract_ts=datetime(end.year, end.month, end.day, 23), period_start=start, period_end=end,
                 status="loaded", loaded_at=datetime(end.year, end.month, end.day, 23, 30), rows_loaded=12000,
                 rows_quarantined=3) for m in memberships]


STRATUM = {"total": "all", "sex": "sex", "age_band": "age"}


def compute_rows(package, memberships: list[Membership], rows: list[dict], run_id: int = 1) -> list[dict]:
    """The gate-worded rows as compute's `result` table holds them (compute/store.py)."""
    member = {m.ydernummer: m for m in memberships}
    counts: dict[tuple, int] = {}
    for r in rows:
        if r["org_level"] == "practice" and r["stratum_dim"] == "total" and r["rate"] is not None:
            key = (r["indicator_id"], r["ref_date"], member[r["org_id"]].cluster_id)
            counts[key] = counts.get(key, 0) + 1
    out = []
    for r in rows:
        practice = member.get(r["org_id"]) if r["org_level"] == "practice" else None
        cluster = practice.cluster_id if practice else (r["org_id"] if r["org_level"] == "cluster" else None)
        out.append(dict(package=package.id, indicator=r["indicator_id"], kind=r["kind"], ref_date=r["ref_date"],
                        level=r["org_level"], unit=r["org_id"], cluster_id=cluster,
                        region_code=practice.region_code if practice else None,
                        stratum=STRATUM[r["stratum_dim"]], stratum_value=r["stratum"] or "all",
                        numerator=r["numerator"], denominator=r["denominator"], patients=int(r["denominator"]),
                        value=r["rate"], ci_low=r["ci_low"], ci_high=r["ci_high"], percentile=r["percentile"],
                        cluster_rank=r["cluster_rank"],
                        cluster_practices=counts.get((r["indicator_id"], r["ref_date"], cluster))
                        if practice else None, target_met=r["target_met"], run_id=run_id))
    return out


def build_world(home, engine, package, clusters: int = 6, practices_per_cluster: int = 9,
                end: date = date(2026, 10, 31), months: int = 36, seed: int = 7, age_bands: bool = True,
                tiny: bool = False) -> World:
    """Organisations into the app DB (`engine`); under `home` (a KP_HOME) compute's results store
    (`results.duckdb`: result, compute_run) and the warehouse's delivery catalogue (`warehouse.duckdb`), in the
    real schemas, so `ResultStore.from_settings` reads them as it reads the real ones."""
    import json
    from pathlib import Path

    import duckdb
    import pyarrow as pa

    from kvalitetsplatform.access.orgs import replace_organisation
    from kvalitetsplatform.compute.store import ARROW_TYPES, TABLES
    from kvalitetsplatform.warehouse.schema import OWN_TABLES

    def arrow(columns, rows):
        types = {"BLOB": pa.binary(), "TIMESTAMP": pa.timestamp("us"), "INTEGER": pa.int32(), **ARROW_TYPES}
        schema = pa.schema([(c, types[t]) for c, t in columns])
        return pa.table({f.name: pa.array([r.get(f.name) for r in rows], f.type) for f in schema}, schema=schema)

    home = Path(home)
    units, memberships = organisation(clusters, practices_per_cluster, seed, tiny)
    replace_organisation(engine, units, memberships)
    dates = month_ends(end, months)
    rows = compute_rows(package, memberships, results(package, memberships, dates, seed, age_bands))
    run = dict(run_id=1, started_at=datetime(end.year, end.month, end.day, 23, 40),
               finished_at=datetime(end.year, end.month, end.day, 23, 50), status="done", mode="full",
               end_date=end, periods=months, ref_dates=json.dumps([d.isoformat() for d in dates]),
               packages=json.dumps({package.id: package.version}),
               codelists=json.dumps({package.id: sorted(c.ref for c in package.codelists.values())}),
               deliveries=json.dumps([d["id"] for d in deliveries(memberships, end)]), new_deliveries="[]",
               recomputed="{}", seconds=1.0, error=None)
    files = (("results.duckdb", {"result": (TABLES["result"], rows), "compute_run": (TABLES["compute_run"], [run]),
                                 "patient_flag": (TABLES["patient_flag"], [])}),
             ("warehouse.duckdb", {"delivery": (OWN_TABLES["delivery"], deliveries(memberships, end))}))
    for file, tables in files:
        con = duckdb.connect(str(home / file))
        try:
            for name, (columns, table_rows) in tables.items():
                data = arrow(columns, table_rows)  # noqa: F841 - read by DuckDB's replacement scan below
                con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM data")
        finally:
            con.close()
    return World(units, memberships, dates, package.id, [i.id for i in package.indicators])
