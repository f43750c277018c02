"""A results-shaped world for report tests and the report benchmark: organisations in the app DB and 36 months of
results for a shipped package, in the tables the gate reads (`access.results`).

Not a simulation of care: each practice has a level per indicator that drifts over the months, counts are drawn
from it, and every org level is summed from the practices exactly as compute does (so cluster, region, municipality
and national figures add up, and disclosure control sees consistent tables). Small practices and small strata give
small counts on purpose, so suppression happens.
"""

from __future__ import annotations

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
            age_bands: bool = True):
    """Result rows in the gate's words (indicator_id, org_level, org_id, stratum_dim, stratum, rate, …) for every
    indicator of `package`, date, org level and stratum (total, sex and, with `age_bands`, age band), as a pandas
    DataFrame. Every level is summed from the practices' cells."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    practices = sorted({m.ydernummer for m in memberships})
    member = {m.ydernummer: m for m in memberships}
    size = rng.integers(900, 3200, len(practices))  # listed patients
    size[[i for i, y in enumerate(practices) if y == TINY]] = 40
    strata = [(s, a) for s in SEXES for a in AGE_BANDS]
    weights = np.array([0.22, 0.16, 0.08, 0.24, 0.20, 0.10])
    base_cells = pd.DataFrame({
        "practice": np.repeat(practices, len(strata)),
        "cluster": np.repeat([member[y].cluster_id for y in practices], len(strata)),
        "region": np.repeat([member[y].region_code for y in practices], len(strata)),
        "municipality": np.repeat([member[y].kommune_code for y in practices], len(strata)),
        "national": "DK",
        "sex": [s for _y in practices for s, _a in strata],
        "age_band": [a for _y in practices for _s, a in strata],
    })
    dims = [("total", None), ("sex", "sex")] + ([("age_band", "age_band")] if age_bands else [])
    frames = []
    t = np.linspace(0, 1, len(dates))
    for ind in package.indicators:
        kind = ind.kind
        level = np.clip(rng.uniform(0.45, 0.85) + rng.normal(0, 0.09, len(practices)), 0.05, 0.97)
        drift = rng.normal(0.04, 0.05, len(practices))
        prevalence = rng.uniform(0.015, 0.06) if kind != "rate" else 1.0
        sign = -1 if ind.direction == "lower_is_better" else 1
        for di, day in enumerate(dates):
            p = np.clip(level + drift * t[di] + rng.normal(0, 0.01, len(practices)), 0.01, 0.99)
            if kind == "rate":
                d = size[:, None] * weights[None, :]
                n = rng.poisson(d * (p * 0.45)[:, None]).astype(float)
            elif kind == "mean":
                d = rng.poisson((size * 0.03)[:, None] * weights[None, :]).astype(float)
                n = d * (3.6 + p[:, None] * 1.2)
            else:
                d = rng.poisson((size * prevalence)[:, None] * weights[None, :]).astype(float)
                n = rng.binomial(d.astype(int), p[:, None]).astype(float)
            cells = base_cells.assign(n=n.ravel(), d=d.ravel())
            parts = []
            for level_name in ORG_LEVELS:
                for dim, column in dims:
                    keys = [level_name] + ([column] if column else [])
                    g = cells.groupby(keys, sort=True)[["n", "d"]].sum().reset_index()
                    parts.append(pd.DataFrame({"org_level": level_name, "org_id": g[level_name],
                                               "stratum_dim": dim, "stratum": g[column] if column else "",
                                               "numerator": g["n"], "denominator": g["d"]}))
            f = pd.concat(parts, ignore_index=True)
            num, den = f["numerator"].to_numpy(), f["denominator"].to_numpy()
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
            f["rate"], f["ci_low"], f["ci_high"] = value, low, high
            ranked = (f["org_level"] == "practice") & (f["stratum_dim"] == "total") & f["rate"].notna()
            f["percentile"] = np.nan
            f.loc[ranked, "percentile"] = f.loc[ranked, "rate"].rank(method="min").sub(1) \
                .div(max(1, int(ranked.sum()) - 1)).mul(100)
            f["cluster"] = f["org_id"].map(lambda y: member[y].cluster_id if y in member else None)
            f["cluster_rank"] = np.nan
            f.loc[ranked, "cluster_rank"] = (f.loc[ranked, "rate"] * -sign).groupby(f.loc[ranked, "cluster"]) \
                .rank(method="min")
            standard = ind.standard
            f["target_met"] = [None if np.isnan(v) or standard is None else standard.met(v) for v in value]
            f["indicator_id"], f["kind"], f["ref_date"] = ind.id, kind, day
            frames.append(f.drop(columns=["cluster"]))
    out = pd.concat(frames, ignore_index=True)
    out["cluster_rank"] = out["cluster_rank"].astype("Int64")
    return out


ORG_LEVELS = ("practice", "cluster", "region", "municipality", "national")


def deliveries(memberships: list[Membership], end: date) -> list[dict]:
    """One monthly delivery per practice for the last month (what the colophon lists)."""
    start = end.replace(day=1)
    return [dict(id=f"{m.ydernummer}-{end:%Y-%m}", ydernummer=m.ydernummer, vendor="XMO",
                 extract_ts=datetime(end.year, end.month, end.day, 23), period_start=start, period_end=end,
                 status="loaded", loaded_at=datetime(end.year, end.month, end.day, 23, 30), rows_loaded=12000,
                 rows_quarantined=3) for m in memberships]


STRATUM = {"total": "all", "sex": "sex", "age_band": "age"}


def compute_rows(package, memberships: list[Membership], frame, run_id: int = 1):
    """The gate-worded rows (a DataFrame from `results`) as compute's `result` table holds them
    (compute/store.py)."""
    member = {m.ydernummer: m for m in memberships}
    practice = frame["org_level"] == "practice"
    cluster = frame["org_id"].map(lambda y: member[y].cluster_id if y in member else None).where(practice)
    cluster = cluster.where(practice, frame["org_id"].where(frame["org_level"] == "cluster"))
    counted = practice & (frame["stratum_dim"] == "total") & frame["rate"].notna()
    sizes = frame[counted].assign(c=cluster[counted]).groupby(["indicator_id", "ref_date", "c"]).size()
    out = frame.rename(columns={"indicator_id": "indicator", "org_level": "level", "org_id": "unit",
                                "rate": "value"}).drop(columns=["stratum_dim", "stratum"])
    out["package"] = package.id
    out["cluster_id"] = cluster
    out["region_code"] = frame["org_id"].map(lambda y: member[y].region_code if y in member else None) \
        .where(practice)
    out["stratum"] = frame["stratum_dim"].map(STRATUM)
    out["stratum_value"] = frame["stratum"].replace("", "all")
    out["patients"] = frame["denominator"].astype("int64")
    keys = list(zip(frame["indicator_id"], frame["ref_date"], cluster))
    out["cluster_practices"] = [sizes.get(k) if p else None for k, p in zip(keys, practice)]
    out["run_id"] = run_id
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
        if not isinstance(rows, list):  # a DataFrame
            return pa.Table.from_pandas(rows[[c for c, _t in columns]], preserve_index=False).cast(schema)
        return pa.table({f.name: pa.array([r.get(f.name) for r in rows], f.type) for f in schema}, schema=schema)

    home = Path(home)
    units, memberships = organisation(clusters, practices_per_cluster, seed, tiny)
    replace_organisation(engine, units, memberships)
    dates = month_ends(end, months)
    frame = compute_rows(package, memberships, results(package, memberships, dates, seed, age_bands))
    run = dict(run_id=1, started_at=datetime(end.year, end.month, end.day, 23, 40),
               finished_at=datetime(end.year, end.month, end.day, 23, 50), status="done", mode="full",
               end_date=end, periods=months, ref_dates=json.dumps([d.isoformat() for d in dates]),
               packages=json.dumps({package.id: package.version}),
               codelists=json.dumps({package.id: sorted(c.ref for c in package.codelists.values())}),
               deliveries=json.dumps([d["id"] for d in deliveries(memberships, end)]), new_deliveries="[]",
               recomputed="{}", seconds=1.0, error=None)
    files = (("results.duckdb", {"result": (TABLES["result"], frame), "compute_run": (TABLES["compute_run"], [run]),
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
