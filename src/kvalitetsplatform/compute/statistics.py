"""Confidence intervals as Ibis expressions, so they are computed where the results are (95 %).

- Proportions: the Wilson score interval (good at small counts and near 0 % and 100 %, unlike the normal
  approximation).
- Rates: the event count is Poisson; its interval is the exact (Garwood, chi-square) interval for counts below
  POISSON_TABLE_MAX, from a small table, and Byar's approximation above (which is within 0.5 % there), scaled to
  events per `per` patients per year like the rate itself.
- Means (survey scores): mean ± t(0.975, n − 1) · s / √n with the sample standard deviation s from the sum of
  squares; t from a small table for n − 1 ≤ 1000, the normal quantile beyond.
"""

from __future__ import annotations

from functools import cache

import ibis
import ibis.expr.types as ir
import numpy as np

Z = 1.959963984540054  # the normal distribution's 97.5 % quantile
T_TABLE_MAX_DF = 1000
POISSON_TABLE_MAX = 200


def wilson(x: ir.NumericValue, n: ir.NumericValue) -> tuple[ir.FloatingValue, ir.FloatingValue]:
    """Wilson score interval for x successes out of n (null when n = 0)."""
    n = n.cast("float64")
    p = x.cast("float64") / n.nullif(0)
    z2 = Z * Z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = Z * (p * (1 - p) / n + z2 / (4 * n * n)).sqrt() / (1 + z2 / n)
    # at 0 % and 100 % the interval ends exactly there (rounding would leave 0.9999999999999999)
    empty = ibis.null("float64")
    low = ibis.cases((n == 0, empty), (x == 0, 0.0), else_=(centre - half).clip(lower=0))
    high = ibis.cases((n == 0, empty), (x == n, 1.0), else_=(centre + half).clip(upper=1))
    return low, high


@cache
def _poisson_table() -> tuple[list[int], list[float], list[float]]:
    from scipy.special import chdtri  # the chi-square quantile (scipy.stats alone takes a second to import)

    counts = np.arange(POISSON_TABLE_MAX)
    low = np.where(counts > 0, chdtri(np.maximum(2 * counts, 1), 0.975) / 2, 0.0)
    return counts.tolist(), low.tolist(), (chdtri(2 * counts + 2, 0.025) / 2).tolist()


def poisson_exact() -> ir.Table:
    """count → the exact 95 % interval (low, high) of a Poisson count, for counts below POISSON_TABLE_MAX."""
    counts, low, high = _poisson_table()
    return ibis.memtable({"poisson_count": counts, "poisson_low": low, "poisson_high": high})


def poisson_interval(count: ir.NumericValue, exact_low: ir.NumericValue, exact_high: ir.NumericValue
                     ) -> tuple[ir.FloatingValue, ir.FloatingValue]:
    """The exact interval where the table has it (`exact_*` looked up for the count, null beyond), else Byar."""
    b_low, b_high = byar(count)
    return exact_low.fill_null(b_low), exact_high.fill_null(b_high)


def byar(count: ir.NumericValue) -> tuple[ir.FloatingValue, ir.FloatingValue]:
    """Byar's approximation to the exact 95 % interval of a Poisson count."""
    o = count.cast("float64")
    lower = (o > 0).ifelse(o * (1 - 1 / (9 * o.nullif(0)) - Z / (3 * o.nullif(0).sqrt())) ** 3, 0.0)
    o1 = o + 1
    upper = o1 * (1 - 1 / (9 * o1) + Z / (3 * o1.sqrt())) ** 3
    return lower, upper


@cache
def _t_table() -> tuple[list[int], list[float]]:
    from scipy.special import stdtrit  # the t quantile

    dfs = np.arange(1, T_TABLE_MAX_DF + 1)
    return dfs.tolist(), stdtrit(dfs, 0.975).tolist()


def t_quantiles() -> ir.Table:
    """df → the t distribution's 97.5 % quantile, for df 1 … T_TABLE_MAX_DF."""
    dfs, quantiles = _t_table()
    return ibis.memtable({"df": dfs, "t975": quantiles})


def mean_interval(total: ir.NumericValue, n: ir.NumericValue, squares: ir.NumericValue,
                  t975: ir.NumericValue) -> tuple[ir.FloatingValue, ir.FloatingValue]:
    """mean ± t · s/√n; `t975` is the looked-up quantile for n − 1 degrees of freedom (null beyond the table:
    the normal quantile is used). Null when n < 2."""
    n = n.cast("float64")
    mean = total / n.nullif(0)
    variance = ((squares - total * total / n.nullif(0)) / (n - 1).nullif(0)).clip(lower=0)
    half = t975.fill_null(Z) * (variance / n).sqrt()
    valid = n >= 2
    return valid.ifelse(mean - half, ibis.null("float64")), valid.ifelse(mean + half, ibis.null("float64"))
