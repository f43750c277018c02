"""The confidence intervals, computed by Ibis on DuckDB, against independent formulas (scipy)."""

from __future__ import annotations

import math

import ibis
import pytest
from scipy import stats

from kvalitetsplatform.compute import statistics as st


def _run(**columns):
    con = ibis.duckdb.connect()
    t = ibis.memtable(columns)
    return con, t


def wilson_reference(x: int, n: int) -> tuple[float, float]:
    z = stats.norm.ppf(0.975)
    p = x / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


@pytest.mark.parametrize(("x", "n"), [(0, 10), (10, 10), (1, 2), (37, 50), (349, 468), (5, 1000)])
def test_wilson(x, n):
    con, t = _run(x=[x], n=[n])
    low, high = st.wilson(t.x, t.n)
    got = con.execute(t.select(low=low, high=high)).iloc[0]
    want = wilson_reference(x, n)
    assert got["low"] == pytest.approx(max(0.0, want[0]), abs=1e-12)
    assert got["high"] == pytest.approx(min(1.0, want[1]), abs=1e-12)
    assert got["low"] <= x / n <= got["high"]


def test_wilson_empty_denominator_is_null():
    con, t = _run(x=[0], n=[0])
    low, high = st.wilson(t.x, t.n)
    row = con.execute(t.select(low=low, high=high)).iloc[0]
    assert row.isna().all()


@pytest.mark.parametrize("count", [0, 1, 3, 10, 47, 199, 200, 350, 5000, 123456])
def test_poisson_interval_is_exact_for_small_counts_and_close_above(count):
    con, t = _run(o=[count])
    table = st.poisson_exact()
    joined = t.left_join(table, t.o == table.poisson_count)
    low, high = st.poisson_interval(joined.o, joined.poisson_low, joined.poisson_high)
    row = con.execute(joined.select(low=low, high=high)).iloc[0]
    exact_low = stats.chi2.ppf(0.025, 2 * count) / 2 if count else 0.0
    exact_high = stats.chi2.ppf(0.975, 2 * count + 2) / 2
    tolerance = 1e-12 if count < st.POISSON_TABLE_MAX else 0.005
    assert row["low"] == pytest.approx(exact_low, rel=tolerance, abs=1e-12)
    assert row["high"] == pytest.approx(exact_high, rel=tolerance)
    assert row["low"] <= count <= row["high"]


@pytest.mark.parametrize("scores", [[4, 5, 3, 4, 4], [1, 5], [3] * 40 + [5] * 60, list(range(1, 6)) * 300])
def test_mean_interval_is_the_t_interval(scores):
    n, total, squares = len(scores), float(sum(scores)), float(sum(s * s for s in scores))
    con, t = _run(total=[total], n=[n], squares=[squares])
    table = st.t_quantiles()
    joined = t.left_join(table, (t.n - 1) == table.df)
    low, high = st.mean_interval(joined.total, joined.n, joined.squares, joined.t975)
    row = con.execute(joined.select(low=low, high=high)).iloc[0]
    mean = total / n
    sem = stats.sem(scores)
    q = stats.t.ppf(0.975, n - 1) if n - 1 <= st.T_TABLE_MAX_DF else stats.norm.ppf(0.975)
    assert row["low"] == pytest.approx(mean - q * sem, rel=1e-9)
    assert row["high"] == pytest.approx(mean + q * sem, rel=1e-9)


def test_mean_interval_needs_two_scores():
    con, t = _run(total=[4.0], n=[1], squares=[16.0])
    low, high = st.mean_interval(t.total, t.n, t.squares, ibis.null("float64"))
    row = con.execute(t.select(low=low, high=high)).iloc[0]
    assert row.isna().all()
