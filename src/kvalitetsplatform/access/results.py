"""Where the gate reads computed results, patient flags and deliveries. Only `access.gate` may use this module.

The gate's view of compute's output, in one place: a table of results per indicator × reference date × org unit ×
stratum, and a table of patient flags per practice × patient × indicator × reference date (see RESULT_COLUMNS and
FLAG_COLUMNS). `ResultStore` reads them through an Ibis backend, pushing the gate's scope filter down so rows outside
a person's scope are never loaded. When compute's reader lands with other names, map them here and nowhere else.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from typing import Any

RESULT_COLUMNS = ("indicator_id", "ref_date", "org_level", "org_id", "stratum_dim", "stratum", "numerator",
                  "denominator", "rate", "ci_low", "ci_high", "percentile", "cluster_rank", "target_met")
FLAG_COLUMNS = ("ydernummer", "patient_key", "indicator_id", "ref_date", "age", "sex", "in_denominator",
                "in_numerator", "fact_date", "fact_code", "fact_value", "fact_text", "fact_unit")
DELIVERY_COLUMNS = ("id", "ydernummer", "vendor", "extract_ts", "period_start", "period_end", "status", "loaded_at",
                    "rows_loaded", "rows_quarantined")
STRATUM_DIMS = ("total", "sex", "age_band")


class ResultStore:
    """Reads `result`, `patient_flag` and `delivery` from an Ibis backend opened per call by `connect`."""

    def __init__(self, connect: Callable[[], Any], result_table: str = "result", flag_table: str = "patient_flag",
                 version: Callable[[], str] | None = None):
        self._connect = connect
        self._result = result_table
        self._flags = flag_table
        self._version = version or (lambda: "")

    @classmethod
    def from_settings(cls, settings) -> ResultStore:
        from kvalitetsplatform.warehouse import connect

        def version() -> str:
            path = settings.warehouse_path
            return str(path.stat().st_mtime_ns) if path.exists() else "absent"

        return cls(lambda: connect(settings, read_only=True), version=version)

    def version(self) -> str:
        """Changes whenever the results may have changed; part of every cache key."""
        return self._version()

    def _read(self, build: Callable[[Any], Any]) -> list[dict]:
        backend = self._connect()
        try:
            return build(backend).to_pyarrow().to_pylist()
        finally:
            backend.disconnect()

    def periods(self, indicator_id: str) -> list[date]:
        rows = self._read(lambda b: (t := b.table(self._result)).filter(t.indicator_id == indicator_id)
                          .select("ref_date").distinct().order_by("ref_date"))
        return [r["ref_date"] for r in rows]

    def cells(self, indicator_id: str, ref_date: date, units: dict[str, Iterable[str]]) -> list[dict]:
        """Result rows of one indicator and date for the given org units ({level: codes}); nothing else is read."""
        units = {level: sorted(set(codes)) for level, codes in units.items() if codes}
        if not units:
            return []

        def build(b):
            t = b.table(self._result)
            where = None
            for level, codes in units.items():
                clause = (t.org_level == level) & t.org_id.isin(codes)
                where = clause if where is None else where | clause
            return t.filter(t.indicator_id == indicator_id, t.ref_date == ref_date, where).select(*RESULT_COLUMNS)

        return self._read(build)

    def flags(self, ydernummer: str, indicator_id: str | None, ref_date: date | None) -> list[dict]:
        def build(b):
            t = b.table(self._flags)
            conditions = [t.ydernummer == ydernummer]
            if indicator_id is not None:
                conditions.append(t.indicator_id == indicator_id)
            if ref_date is not None:
                conditions.append(t.ref_date == ref_date)
            return t.filter(*conditions).select(*FLAG_COLUMNS).order_by("indicator_id", "patient_key")

        return self._read(build)

    def flag_periods(self, ydernummer: str) -> list[date]:
        rows = self._read(lambda b: (t := b.table(self._flags)).filter(t.ydernummer == ydernummer)
                          .select("ref_date").distinct().order_by("ref_date"))
        return [r["ref_date"] for r in rows]

    def patients_of(self, ydernummer: str, patient_keys: Iterable[int], ref_date: date) -> set[int]:
        """Which of these patients are on the practice's lists (its flags) on the reference date."""
        keys = sorted({int(k) for k in patient_keys})
        if not keys:
            return set()
        rows = self._read(lambda b: (t := b.table(self._flags)).filter(
            t.ydernummer == ydernummer, t.ref_date == ref_date, t.patient_key.isin(keys)).select("patient_key")
            .distinct())
        return {r["patient_key"] for r in rows}

    def deliveries(self, ydernummer: str | None) -> list[dict]:
        def build(b):
            t = b.table("delivery")
            if ydernummer is not None:
                t = t.filter(t.ydernummer == ydernummer)
            return t.select(*DELIVERY_COLUMNS).order_by("ydernummer", "extract_ts")

        return self._read(build)
