"""Where the gate reads computed results, patient flags and deliveries. Only `access.gate` may use this module.

Compute's results store (`compute.results`, tables `result` and `patient_flag`, see docs/compute.md) is read
here and renamed into the gate's words (RESULT_COLUMNS, FLAG_COLUMNS): the one place that knows compute's column
names. The gate's scope filter is pushed down, so rows outside a person's scope are never loaded.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from typing import Any

RESULT_COLUMNS = ("indicator_id", "kind", "ref_date", "org_level", "org_id", "stratum_dim", "stratum", "numerator",
                  "denominator", "rate", "ci_low", "ci_high", "percentile", "cluster_rank", "target_met")
FLAG_COLUMNS = ("ydernummer", "patient_key", "indicator_id", "ref_date", "age", "sex", "in_denominator",
                "in_numerator", "fact_date", "fact_code", "fact_value", "fact_text", "fact_unit")
DELIVERY_COLUMNS = ("id", "ydernummer", "vendor", "extract_ts", "period_start", "period_end", "status", "loaded_at",
                    "rows_loaded", "rows_quarantined")
STRATUM_DIMS = ("total", "sex", "age_band")


def _result_view(t):
    """compute's `result` table (docs/compute.md) in the gate's words. A table already in the gate's words (as
    hand-built test worlds write them) passes through."""
    import ibis

    if "indicator_id" in t.columns:
        view = t.select(*(c for c in RESULT_COLUMNS if c in t.columns))
        return view if "kind" in t.columns else view.mutate(kind=ibis.null("string"))
    return t.select(
        indicator_id=t.indicator, kind=t.kind, ref_date=t.ref_date, org_level=t.level, org_id=t.unit,
        stratum_dim=ibis.cases((t.stratum == "all", "total"), (t.stratum == "age", "age_band"), else_=t.stratum),
        stratum=ibis.ifelse(t.stratum_value == "all", "", t.stratum_value), numerator=t.numerator,
        denominator=t.denominator, rate=t.value, ci_low=t.ci_low, ci_high=t.ci_high, percentile=t.percentile,
        cluster_rank=t.cluster_rank, target_met=t.target_met)


def _dates(b):
    """(indicator_id, ref_date) of every result: from compute's record of what it computed (a package's dates) and
    its indicators — small tables — instead of the result rows (tens of millions nationally); from the result rows
    where a store has no such record (hand-built test worlds)."""
    if {"computed", "indicator"} <= set(b.list_tables()):
        c, i = b.table("computed"), b.table("indicator")
        return c.join(i, c.package == i.package).select(indicator_id=i.indicator, ref_date=c.ref_date).distinct()
    return _result_view(b.table("result")).select("indicator_id", "ref_date").distinct()


def _flag_view(t):
    if "indicator_id" in t.columns:
        return t.select(*FLAG_COLUMNS)
    return t.select(ydernummer=t.ydernummer, patient_key=t.patient_key, indicator_id=t.indicator,
                    ref_date=t.ref_date, age=t.age, sex=t.sex, in_denominator=t.in_denominator,
                    in_numerator=t.in_numerator, fact_date=t.fact_date, fact_code=t.fact_code,
                    fact_value=t.fact_value, fact_text=t.fact_text, fact_unit=t.fact_unit)


class ResultStore:
    """Reads compute's results store (`result`, `patient_flag`) and the warehouse's `delivery` catalogue through Ibis
    backends opened per call (so no long-lived lock blocks `kp compute` or `kp ingest`)."""

    def __init__(self, connect_results: Callable[[], Any], connect_warehouse: Callable[[], Any] | None = None,
                 version: Callable[[], str] | None = None):
        self._connect = connect_results
        self._connect_warehouse = connect_warehouse or connect_results
        self._version = version or (lambda: "")

    @classmethod
    def from_settings(cls, settings) -> ResultStore:
        from kvalitetsplatform.compute.store import results_path
        from kvalitetsplatform.warehouse import connect

        path = results_path(settings)

        def connect_results():
            from kvalitetsplatform.compute import results

            return results(settings).con

        def version() -> str:
            return str(path.stat().st_mtime_ns) if path.exists() else "absent"

        return cls(connect_results, lambda: connect(settings, read_only=True), version)

    def version(self) -> str:
        """Changes whenever the results may have changed; part of every cache key."""
        return self._version()

    def _read(self, build: Callable[[Any], Any], warehouse: bool = False) -> list[dict]:
        backend = (self._connect_warehouse if warehouse else self._connect)()
        try:
            return build(backend).to_pyarrow().to_pylist()
        finally:
            backend.disconnect()

    def periods(self, indicator_id: str) -> list[date]:
        rows = self._read(lambda b: (t := _dates(b)).filter(t.indicator_id == indicator_id).select("ref_date")
                          .order_by("ref_date"))
        return [r["ref_date"] for r in rows]

    def contents(self) -> dict[str, list[date]]:
        """Every indicator in the store with its reference dates, oldest first."""
        rows = self._read(lambda b: _dates(b).order_by("indicator_id", "ref_date"))
        out: dict[str, list[date]] = {}
        for r in rows:
            out.setdefault(r["indicator_id"], []).append(r["ref_date"])
        return out

    def cells(self, indicator_ids: Iterable[str], ref_dates: Iterable[date],
              units: dict[str, Iterable[str]], stratum_dim: str | None = None) -> list[dict]:
        """Result rows of these indicators and dates for the given org units ({level: codes}), of one stratum
        dimension or all, in one read; nothing else is read."""
        indicator_ids, ref_dates = sorted(set(indicator_ids)), sorted(set(ref_dates))
        units = {level: sorted(set(codes)) for level, codes in units.items() if codes}
        if not units or not indicator_ids or not ref_dates:
            return []

        def build(b):
            t = _result_view(b.table("result"))
            where = None
            for level, codes in units.items():
                clause = (t.org_level == level) & t.org_id.isin(codes)
                where = clause if where is None else where | clause
            t = t.filter(t.indicator_id.isin(indicator_ids), t.ref_date.isin(ref_dates), where)
            return t if stratum_dim is None else t.filter(t.stratum_dim == stratum_dim)

        return self._read(build)

    def worklist_flags(self, ydernummer: str, indicator_id: str, ref_date: date | None,
                       in_numerator: bool | None) -> list[dict]:
        """The practice's patients in the indicator's denominator on `ref_date` (default: the practice's newest
        date), optionally only those (not) in the numerator; one query."""
        def build(b):
            raw = b.table("patient_flag")
            t = _flag_view(raw)
            day = ref_date if ref_date is not None else raw.filter(raw.ydernummer == ydernummer).ref_date.max()
            conditions = [t.ydernummer == ydernummer, t.indicator_id == indicator_id, t.ref_date == day,
                          t.in_denominator]
            if in_numerator is not None:
                conditions.append(t.in_numerator == in_numerator)
            return t.filter(*conditions).order_by("patient_key")

        return self._read(build)

    def flag_periods(self, ydernummer: str) -> list[date]:
        rows = self._read(lambda b: (t := b.table("patient_flag")).filter(t.ydernummer == ydernummer)
                          .select("ref_date").distinct().order_by("ref_date"))
        return [r["ref_date"] for r in rows]

    def patients_of(self, ydernummer: str, patient_keys: Iterable[int], ref_date: date) -> set[int]:
        """Which of these patients are on the practice's lists (its flags) on the reference date."""
        keys = sorted({int(k) for k in patient_keys})
        if not keys:
            return set()
        rows = self._read(lambda b: (t := b.table("patient_flag")).filter(
            t.ydernummer == ydernummer, t.ref_date == ref_date, t.patient_key.isin(keys)).select("patient_key")
            .distinct())
        return {r["patient_key"] for r in rows}

    def deliveries(self, ydernummer: str | None) -> list[dict]:
        def build(b):
            t = b.table("delivery")
            if ydernummer is not None:
                t = t.filter(t.ydernummer == ydernummer)
            return t.select(*DELIVERY_COLUMNS).order_by("ydernummer", "extract_ts")

        return self._read(build, warehouse=True)
