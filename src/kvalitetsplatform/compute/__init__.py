"""Materialising results: every indicator × monthly reference date × org level × stratum, and worklist flags.

- `compute(settings, …)` runs `kp compute` (see `run`): the engine (`indicators.engine`) evaluates each package
  into cells, `aggregate` adds the cells up to every level with intervals, percentiles, ranks and targets.
- `results(settings)` gives readers Ibis tables over the results store (see `store`).
- `describe_fact` words a worklist row's deciding fact ("Seneste LDL 3,1 mmol/L den 12.03.2025").

docs/compute.md describes the results schema, the statistics, the incremental strategy and provenance.
"""

from __future__ import annotations

from kvalitetsplatform.compute.flags import describe_fact
from kvalitetsplatform.compute.run import ComputeError, RunReport, compute
from kvalitetsplatform.compute.store import Results, StoreError, results
from kvalitetsplatform.settings import Settings


def national_summary(settings: Settings) -> list[dict]:
    """Per indicator on the newest reference date: the national figure with its interval and standard, and how
    many practices meet the standard."""
    store = results(settings)
    try:
        r = store.result
        latest = r.ref_date.max().execute()
        if latest is None:
            return []
        r = r.filter(r.ref_date == latest, r.stratum == "all")
        national = r.filter(r.level == "national")
        practices = r.filter(r.level == "practice")
        counts = practices.group_by(["package", "indicator"]).aggregate(
            practices_with_value=practices.value.count(),
            practices_meeting=practices.target_met.fill_null(False).cast("int64").sum())
        ind = store.indicator.select("package", "indicator", "title_da", "title_en", "standard_op",
                                     "standard_value")
        rows = national.join(counts, ["package", "indicator"]).join(ind, ["package", "indicator"])
        rows = rows.select("package", "indicator", "kind", "ref_date", "title_da", "title_en", "numerator",
                           "denominator", "value", "ci_low", "ci_high", "standard_op", "standard_value",
                           "practices_with_value", "practices_meeting")
        return rows.order_by(["package", "indicator"]).to_pyarrow().to_pylist()
    finally:
        store.close()


__all__ = ["ComputeError", "Results", "RunReport", "StoreError", "compute", "describe_fact", "national_summary",
           "results"]
