"""From cells to results: every org level and stratum, zero-filled, with intervals, percentiles, ranks and targets.

Cluster, region, municipality and national figures are *summed numerators over summed denominators* of the
cells, never averages of practice rates. A practice's cluster and region are those it had on the reference date
(`practice_membership`). All of it is Ibis over the results store.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from kvalitetsplatform.compute import statistics as st
from kvalitetsplatform.indicators.engine import AGE_BANDS

LEVELS = ("practice", "cluster", "region", "municipality", "national")
NATIONAL = "DK"
SEXES = ("F", "M")
# stratum → the cell column it splits by (None: everyone) and its values
STRATA: dict[str, tuple[str | None, tuple[str, ...]]] = {
    "all": (None, ("all",)),
    "age": ("age_band", tuple(AGE_BANDS)),
    "sex": ("sex", SEXES),
}
KEYS = ("package", "indicator", "ref_date", "level", "unit", "stratum", "stratum_value")


def _level_unit(level: str, t: ir.Table) -> ir.StringValue:
    if level == "national":
        return ibis.literal(NATIONAL)
    return t[{"practice": "ydernummer", "cluster": "cluster_id", "region": "region_code",
              "municipality": "kommune_code"}[level]]


def sums(cells: ir.Table, membership: ir.Table) -> ir.Table:
    """Summed cells for every level × stratum (one union): KEYS + numerator, denominator, sum_squares,
    patients. Groups whose unit or stratum value is unknown (survey answers have no age, sex or municipality)
    are left out. Practices and municipalities are summed from the cells; clusters, regions and the nation from
    the practices' sums (far fewer rows than the cells)."""
    c = cells.left_join(membership.select("ref_date", "ydernummer", "cluster_id", "region_code"),
                        ["ref_date", "ydernummer"])
    c = c.drop("ref_date_right", "ydernummer_right")
    parts = []
    for stratum, (column, _) in STRATA.items():
        t = c.mutate(stratum=ibis.literal(stratum), stratum_value=c[column] if column else ibis.literal("all"))
        t = t.filter(t.stratum_value.notnull())
        practices = _summed(t, ["ydernummer", "cluster_id", "region_code"])
        for level in LEVELS:
            source = t if level == "municipality" else practices
            rows = source.mutate(level=ibis.literal(level), unit=_level_unit(level, source))
            rows = rows.filter(rows.unit.notnull())
            parts.append(_summed(rows, []).select(*KEYS, "numerator", "denominator", "sum_squares", "patients"))
    return ibis.union(*parts)


def _summed(t: ir.Table, by: list[str]) -> ir.Table:
    keys = [k for k in KEYS if k in t.columns] + by
    return t.group_by(keys).aggregate(numerator=t.numerator.sum(), denominator=t.denominator.sum(),
                                      sum_squares=t.sum_squares.sum(), patients=t.patients.sum())


def frame(indicators: ir.Table, membership: ir.Table, kommuner: ir.Table, dates: ir.Table) -> ir.Table:
    """Every row the results must have (zero-filled): for each indicator, reference date, level, unit and
    stratum value. Practices, clusters and regions as they were on the date; municipalities where listed
    patients live; survey indicators only for everyone and without municipalities."""
    units = ibis.union(
        membership.select("ref_date", level=ibis.literal("practice"), unit=membership.ydernummer),
        membership.select("ref_date", level=ibis.literal("cluster"), unit=membership.cluster_id).distinct(),
        membership.select("ref_date", level=ibis.literal("region"), unit=membership.region_code).distinct(),
        kommuner.cross_join(dates).select("ref_date", level=ibis.literal("municipality"), unit=kommuner.kommune_code),
        dates.select("ref_date", level=ibis.literal("national"), unit=ibis.literal(NATIONAL)),
    )
    strata = ibis.memtable({"stratum": [s for s, (_, values) in STRATA.items() for _ in values],
                            "stratum_value": [v for _, (_, values) in STRATA.items() for v in values]})
    ind = indicators.select("package", "indicator", "kind")
    rows = ind.cross_join(units).cross_join(strata)
    survey = rows.kind == "mean"
    return rows.filter(~survey | ((rows.stratum == "all") & (rows.level != "municipality"))).drop("kind")


def results(cells: ir.Table, membership: ir.Table, indicators: ir.Table, kommuner: ir.Table, dates: ir.Table,
            run_id: int) -> ir.Table:
    """The `result` rows for the given cells (already limited to the indicators and dates wanted)."""
    frame_rows = frame(indicators, membership, kommuner, dates)
    summed = sums(cells, membership)
    r = frame_rows.left_join(summed, list(KEYS)).drop(*[f"{k}_right" for k in KEYS])
    r = r.mutate(numerator=r.numerator.fill_null(0), denominator=r.denominator.fill_null(0),
                 patients=r.patients.fill_null(0))
    d = indicators.select("package", "indicator", "kind", "direction_sign", "standard_op", "standard_value", "per",
                          "per_year")
    r = r.join(d, ["package", "indicator"])
    # the practice's cluster and region on the date; a cluster's region
    practice_of = membership.select("ref_date", unit=membership.ydernummer, p_cluster=membership.cluster_id,
                                    p_region=membership.region_code)
    cluster_of = membership.group_by(["ref_date", "cluster_id"]).aggregate(c_region=membership.region_code.max())
    cluster_of = cluster_of.select("ref_date", unit=cluster_of.cluster_id, c_region=cluster_of.c_region)
    r = r.left_join(practice_of, ["ref_date", "unit"]).drop("ref_date_right", "unit_right")
    r = r.left_join(cluster_of, ["ref_date", "unit"]).drop("ref_date_right", "unit_right")
    is_practice = r.level == "practice"
    r = r.mutate(cluster_id=is_practice.ifelse(r.p_cluster, (r.level == "cluster").ifelse(r.unit, ibis.null("string"))),
                 region_code=is_practice.ifelse(r.p_region, (r.level == "cluster").ifelse(
                     r.c_region, (r.level == "region").ifelse(r.unit, ibis.null("string")))))
    # value and interval
    n = r.denominator
    ratio = r.numerator / n.nullif(0)
    factor = (r.kind == "rate").ifelse(r.per * r.per_year, 1.0)
    value = ratio * factor
    w_low, w_high = st.wilson(r.numerator, n)
    t = st.t_quantiles()
    r = r.left_join(t, r.denominator.cast("int64") - 1 == t.df).drop("df")
    poisson = st.poisson_exact()
    r = r.left_join(poisson, r.numerator.cast("int64") == poisson.poisson_count).drop("poisson_count")
    b_low, b_high = st.poisson_interval(r.numerator, r.poisson_low, r.poisson_high)
    m_low, m_high = st.mean_interval(r.numerator, n, r.sum_squares.fill_null(0), r.t975)
    kind = r.kind
    low = ibis.cases((n == 0, ibis.null("float64")), (kind == "proportion", w_low),
                     (kind == "rate", b_low * factor / n.nullif(0)), else_=m_low)
    high = ibis.cases((n == 0, ibis.null("float64")), (kind == "proportion", w_high),
                      (kind == "rate", b_high * factor / n.nullif(0)), else_=m_high)
    r = r.mutate(value=value, ci_low=low, ci_high=high)
    target = r.standard_value
    met = ibis.cases((r.standard_op == "<", r.value < target), (r.standard_op == "<=", r.value <= target),
                     (r.standard_op == ">", r.value > target), (r.standard_op == ">=", r.value >= target),
                     else_=ibis.null("boolean"))
    r = r.mutate(target_met=r.value.isnull().ifelse(ibis.null("boolean"), met))
    # percentile among all practices and rank in the cluster (practices with a value only)
    ranked = r.filter(is_practice & r.value.notnull())
    by = [ranked.package, ranked.indicator, ranked.ref_date, ranked.stratum, ranked.stratum_value]
    oriented = ranked.value * ranked.direction_sign  # ascending = better first
    ranked = ranked.mutate(
        percentile=ibis.percent_rank().over(group_by=by, order_by=ranked.value) * 100,
        cluster_rank=(ibis.rank().over(group_by=[*by, ranked.cluster_id], order_by=oriented) + 1).cast("int32"),
        cluster_practices=ranked.value.count().over(group_by=[*by, ranked.cluster_id]).cast("int32"),
    ).select(*KEYS, "percentile", "cluster_rank", "cluster_practices")
    r = r.left_join(ranked, list(KEYS)).drop(*[f"{k}_right" for k in KEYS])
    return r.select("package", "indicator", "kind", "ref_date", "level", "unit", "cluster_id", "region_code",
                    "stratum", "stratum_value", "numerator", "denominator", r.patients.cast("int64"), "value",
                    "ci_low", "ci_high", "percentile", "cluster_rank", "cluster_practices", "target_met",
                    run_id=ibis.literal(run_id, "int64"))
