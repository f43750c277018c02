"""A small results-shaped world for the web tests: the access layer's seven practices in three clusters and two
regions, with results for a few real catalogue indicators over six month ends, summed from practice × sex × age band
cells as compute does, and patient flags (with the identity vault) for the worklists.

Small counts are there on purpose (a cell of 2, a stratum of 1) so disclosure control has something to hide.
"""

from __future__ import annotations

import hashlib
import math
from collections import defaultdict
from datetime import date

import ibis
import pyarrow as pa

from kvalitetsplatform.access.testing import WORLD_PRACTICES, build_world_warehouse, world_patient_key
from kvalitetsplatform.web.pages import catalogue

DATES = (date(2025, 7, 31), date(2025, 8, 31), date(2025, 9, 30), date(2025, 10, 31), date(2025, 11, 30),
         date(2025, 12, 31))
# the antibiotics package whole (a PDF report needs every indicator of its package)
INDICATORS = ("IHD-1", "IHD-2", "DM-1a", "DM-1b", "AB-1", "AB-2", "AB-3", "AB-4", "AB-5")
BANDS = ("18-39", "40-59", "60-69", "70-79", "80+")
SEXES = ("F", "M")
NAMES = {1: "Karen Hansen", 2: "Jens Nielsen", 3: "Mette Larsen", 4: "Peter Sørensen"}


def _h(*parts) -> int:
    return int(hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:8], 16)


def cell(practice: str, indicator: str, day: date, sex: str, band: str) -> tuple[int, int]:
    """(numerator, denominator) for one practice cell; a steady trend over the months."""
    d = 3 + _h(practice, indicator, sex, band) % 14
    if practice == "000005" and band == "80+":
        d = 1  # a single patient: must never show outside the practice
    share = 0.35 + (_h(practice, indicator) % 50) / 100 + 0.01 * DATES.index(day)
    n = min(d, round(d * share))
    return n, d


def membership(practice: str, day: date) -> tuple[str, str, str]:
    for start, end, cluster, region, kommune in WORLD_PRACTICES[practice][1]:
        if start <= day and (end is None or day <= end):
            return cluster, region, kommune
    raise KeyError(practice)


def wilson(n: float, d: float) -> tuple[float | None, float | None]:
    if not d:
        return None, None
    z = 1.959963984540054
    p = n / d
    centre = (p + z * z / (2 * d)) / (1 + z * z / d)
    half = z * math.sqrt(p * (1 - p) / d + z * z / (4 * d * d)) / (1 + z * z / d)
    return max(0.0, centre - half), min(1.0, centre + half)


def result_rows() -> list[dict]:
    indicators = {i.id: i for i in catalogue().indicators()}
    rows = []
    for ind_id in INDICATORS:
        ind = indicators[ind_id]
        for day in DATES:
            sums: dict = defaultdict(lambda: [0, 0])
            for practice in WORLD_PRACTICES:
                cluster, region, kommune = membership(practice, day)
                for sex in SEXES:
                    for band in BANDS:
                        n, d = cell(practice, ind_id, day, sex, band)
                        for unit in (("practice", practice), ("cluster", cluster), ("region", region),
                                     ("municipality", kommune), ("national", "DK")):
                            for stratum in (("total", ""), ("sex", sex), ("age_band", band)):
                                sums[(*unit, *stratum)][0] += n
                                sums[(*unit, *stratum)][1] += d
            practice_values = sorted(n / d for (lv, _o, dim, _s), (n, d) in sums.items()
                                     if lv == "practice" and dim == "total")
            for (level, org_id, dim, stratum), (n, d) in sorted(sums.items()):
                if ind.kind == "rate":
                    value = n / d * 1000 if d else None
                    low, high = (value * 0.8, value * 1.2) if value else (None, None)
                else:
                    value = n / d if d else None
                    low, high = wilson(n, d)
                percentile = cluster_rank = None
                if level == "practice" and dim == "total" and value is not None:
                    share = n / d
                    percentile = 100 * practice_values.index(share) / max(1, len(practice_values) - 1)
                    cluster_rank = 1 + sum(1 for v in practice_values if v > share) % 4
                met = ind.standard.met(value) if (ind.standard and value is not None) else None
                rows.append(dict(indicator_id=ind_id, ref_date=day, org_level=level, org_id=org_id, stratum_dim=dim,
                                 stratum=stratum, numerator=float(n), denominator=float(d), rate=value, ci_low=low,
                                 ci_high=high, percentile=percentile, cluster_rank=cluster_rank, target_met=met))
    return rows


def flag_rows() -> list[dict]:
    rows = []
    for i, practice in enumerate(WORLD_PRACTICES):
        for ind_id in INDICATORS:
            for j in range(1, 5):
                rows.append(dict(ydernummer=practice, patient_key=world_patient_key(i, j), indicator_id=ind_id,
                                 ref_date=DATES[-1], age=58 + 7 * j, sex="F" if j % 2 else "M", in_denominator=j != 4,
                                 in_numerator=j == 1, fact_date=date(2025, 3, j) if j != 3 else None,
                                 fact_code="NPU01568" if j != 3 else None, fact_value=2.0 + j / 10 if j != 3 else None,
                                 fact_text="", fact_unit="mmol/L" if j != 3 else None))
    return rows


def build(path, vault_key: bytes) -> None:
    """The access layer's world warehouse (vault, deliveries), with results and flags for real indicators."""
    build_world_warehouse(path, vault_key)
    con = ibis.duckdb.connect(str(path))
    for name, rows in (("result", result_rows()), ("patient_flag", flag_rows())):
        con.create_table(name, ibis.memtable(pa.Table.from_pylist(rows)), overwrite=True)
    con.disconnect()
