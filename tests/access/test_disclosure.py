"""Disclosure control: suppressed cells cannot be recovered, proven by an attacker that solves linear programmes.

The attacker here is written independently of `access.disclosure`: one LP over every cell with the published
values fixed (or within their rounding interval), the viewer's own cells fixed, and every relation the viewer knows.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from kvalitetsplatform.access.disclosure import CellTable, DisclosureError, DisclosurePolicy, protect

SEXES = ("F", "M")
UNBOUNDED = 1e6  # far above any count here: a maximum this high means "no upper bound"


def attack(table: CellTable, published: dict, policy: DisclosurePolicy, targets) -> dict:
    """Min and max of each target cell over everything consistent with what the viewer sees and knows."""
    keys = sorted(table.value, key=repr)
    index = {k: i for i, k in enumerate(keys)}
    low, high = policy.rounding_slack()
    bounds = []
    for k in keys:
        if k in table.known:
            bounds.append((table.value[k], table.value[k]))
        elif k in published:
            bounds.append((max(0, published[k] - low), published[k] + high))
        else:  # bounded, so that every LP has an optimum (HiGHS may call an unbounded maximum "infeasible")
            bounds.append((0, UNBOUNDED))
    a_eq = []
    for total, parts in table.additive:
        row = np.zeros(len(keys))
        row[index[total]] -= 1
        for p in parts:
            row[index[p]] += 1
        a_eq.append(row)
    a_ub = []
    for a, b in table.at_most:
        row = np.zeros(len(keys))
        row[index[a]], row[index[b]] = 1, -1
        a_ub.append(row)
    kw = dict(A_eq=np.array(a_eq), b_eq=np.zeros(len(a_eq)), bounds=bounds, method="highs")  # no pooling here
    if a_ub:
        kw.update(A_ub=np.array(a_ub), b_ub=np.zeros(len(a_ub)))
    out = {}
    for k in targets:
        c = np.zeros(len(keys))
        c[index[k]] = 1
        lo, hi = linprog(c, **kw), linprog(-c, **kw)
        assert lo.status == 0 and hi.status == 0, "the published table must be consistent"
        out[k] = (lo.fun, -hi.fun if -hi.fun < UNBOUNDED / 2 else float("inf"))
    return out


def cluster_table(clusters: list[list[dict]], known_practice=None, hidden_clusters=()) -> CellTable:
    """Practices × sex, numerator ≤ denominator, practice total = F + M, cluster = Σ practices, region = Σ clusters."""
    t = CellTable()
    for ci, practices in enumerate(clusters):
        cluster = f"K{ci}"
        for part in ("n", "d"):
            for s in (*SEXES, "all"):
                t.add_relation((part, "cluster", cluster, s), [(part, "practice", f"{ci}-{pi}", s)
                                                             for pi in range(len(practices))])
            t.add_relation((part, "cluster", cluster, "all"), [(part, "cluster", cluster, s) for s in SEXES])
        for pi, p in enumerate(practices):
            name = f"{ci}-{pi}"
            for part in ("n", "d"):
                t.add_relation((part, "practice", name, "all"), [(part, "practice", name, s) for s in SEXES])
                for s in SEXES:
                    t.value[(part, "practice", name, s)] = p[part + s]
                t.value[(part, "practice", name, "all")] = sum(p[part + s] for s in SEXES)
            for s in (*SEXES, "all"):
                t.at_most.append((("n", "practice", name, s), ("d", "practice", name, s)))
        for part in ("n", "d"):
            for s in (*SEXES, "all"):
                t.value[(part, "cluster", cluster, s)] = sum(t.value[(part, "practice", f"{ci}-{pi}", s)]
                                                              for pi in range(len(practices)))
    for part in ("n", "d"):
        for s in (*SEXES, "all"):
            t.add_relation((part, "region", "R", s), [(part, "cluster", f"K{ci}", s) for ci in range(len(clusters))])
            t.value[(part, "region", "R", s)] = sum(t.value[(part, "cluster", f"K{ci}", s)]
                                                    for ci in range(len(clusters)))
    # residence: the region is also the sum of two municipalities (practice i's patients live in municipality i % 2);
    # municipality 1 is not shown, and its own strata relation left out as the gate leaves out relations among
    # unknown cells only — which makes its cells "pooled" unknowns in the audit
    for part in ("n", "d"):
        for s in (*SEXES, "all"):
            mun = [0, 0]
            for ci, practices in enumerate(clusters):
                for pi in range(len(practices)):
                    v = t.value[(part, "practice", f"{ci}-{pi}", s)]
                    mun[pi % 2] += v
            t.value[(part, "municipality", "M0", s)] = mun[0]
            t.value[(part, "municipality", "M1", s)] = None
            t.add_relation((part, "region", "R", s), [(part, "municipality", m, s) for m in ("M0", "M1")])
        t.add_relation((part, "municipality", "M0", "all"), [(part, "municipality", "M0", s) for s in SEXES])
    for s in (*SEXES, "all"):
        for m in ("M0", "M1"):
            t.at_most.append((("n", "municipality", m, s), ("d", "municipality", m, s)))
    t.counts = {k for k, v in t.value.items() if v is not None}
    for k in list(t.value):
        if k[1] == "practice" and k[2] == known_practice:
            t.known.add(k)
        if k[1] == "practice" and k[2].split("-")[0] in {str(h) for h in hidden_clusters}:
            t.value[k] = None
    return t


small = st.one_of(st.integers(0, 4), st.integers(0, 4), st.integers(5, 40))


@st.composite
def practice(draw):
    p = {}
    for s in SEXES:
        p["d" + s] = draw(small)
        p["n" + s] = draw(st.integers(0, p["d" + s]))
    return p


@st.composite
def scenario(draw):
    clusters = draw(st.lists(st.lists(practice(), min_size=2, max_size=4), min_size=1, max_size=3))
    known = draw(st.one_of(st.none(), st.just("0-0")))
    hidden = draw(st.sampled_from([(), (1,)])) if len(clusters) > 1 else ()
    policy = draw(st.sampled_from([DisclosurePolicy(), DisclosurePolicy(threshold=3),
                                   DisclosurePolicy(round_to=5), DisclosurePolicy(threshold=5, protection=7)]))
    return clusters, known, hidden, policy


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario())
def test_no_suppressed_cell_can_be_recovered(case):
    clusters, known, hidden, policy = case
    table = cluster_table(clusters, known, hidden)
    result = protect(table, policy)
    visible = {k for k, v in table.value.items() if v is not None}
    # every visible cell is either published or suppressed; the viewer's own cells are always published raw
    assert visible == set(result.published) | set(result.suppressed)
    assert all(result.published[k] == table.value[k] for k in table.known)
    # primary rule: no published count from 1 to threshold-1 unless the viewer knows it
    for k, v in result.published.items():
        if k not in table.known:
            assert not (1 <= table.value[k] < policy.threshold), k
    # secondary: every sensitive cell (a count from 1 to threshold-1) stays uncertain by the protection width,
    # whatever the viewer combines: totals, margins, numerator ≤ denominator and their own practice's numbers
    intervals = attack(table, result.published, policy, result.suppressed)
    for k, (lo, hi) in intervals.items():
        assert lo - 1e-6 <= table.value[k] <= hi + 1e-6  # the truth is feasible (sanity of the attacker)
        if policy.primary(table.value[k]):
            assert hi - lo >= policy.width - 1e-6, (k, table.value[k], lo, hi)


def totals_of(table: CellTable) -> CellTable:
    """The same table with its totals only (the "all" stratum), as the gate protects a view's totals first."""
    total = {k for k in table.value if k[-1] == "all"}
    t = CellTable(value={k: table.value[k] for k in total}, known=table.known & total, counts=table.counts & total)
    t.additive = [(a, parts) for a, parts in table.additive if a in total and set(parts) <= total]
    t.at_most = [(a, b) for a, b in table.at_most if a in total and b in total]
    return t


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario())
def test_strata_protected_after_their_totals_only_add_to_what_the_totals_published(case):
    clusters, known, hidden, policy = case
    table = cluster_table(clusters, known, hidden)
    totals = totals_of(table)
    first = protect(totals, policy)
    try:
        whole = protect(table, policy, hidden=first.suppressed, fixed=frozenset(first.published))
    except DisclosureError:
        # Even with every stratum hidden, published totals can pin a small stratum (the viewer's own stratum and a
        # peer's published total of 0; a total narrower than a protection width above the threshold): the gate then
        # shows the totals alone.
        whole = first
    # the totals are published and hidden exactly as on their own: a page of totals shows what the whole view shows
    assert {k: v for k, v in whole.published.items() if k in totals.value} == first.published
    assert whole.suppressed & set(totals.value) == first.suppressed
    # and each publication is safe on its own, whatever the viewer combines
    for t, result in ((totals, first), (table, whole)):
        for k, (lo, hi) in attack(t, result.published, policy, result.suppressed).items():
            assert lo - 1e-6 <= t.value[k] <= hi + 1e-6
            if policy.primary(t.value[k]):
                assert hi - lo >= policy.width - 1e-6, (k, t.value[k], lo, hi)


def test_a_practice_cannot_subtract_its_own_numbers_from_a_two_practice_cluster():
    own = {"dF": 20, "nF": 10, "dM": 20, "nM": 10}
    peer = {"dF": 10, "nF": 2, "dM": 10, "nM": 6}
    table = cluster_table([[own, peer]], known_practice="0-0")
    result = protect(table, DisclosurePolicy())
    assert ("n", "practice", "0-1", "F") in result.suppressed
    # the cluster's female numerator would give the peer's away (cluster − own): it must be hidden too
    assert ("n", "cluster", "K0", "F") in result.suppressed
    intervals = attack(table, result.published, DisclosurePolicy(), result.suppressed)
    assert intervals[("n", "practice", "0-1", "F")][1] - intervals[("n", "practice", "0-1", "F")][0] >= 5


def test_primary_suppression_and_what_stays_published():
    a = {"dF": 30, "nF": 3, "dM": 30, "nM": 20}
    b = {"dF": 30, "nF": 25, "dM": 30, "nM": 20}
    c = {"dF": 30, "nF": 12, "dM": 30, "nM": 20}
    table = cluster_table([[a, b, c]])
    result = protect(table, DisclosurePolicy())
    assert ("n", "practice", "0-0", "F") in result.suppressed
    assert len(result.suppressed) >= 2  # one suppressed cell alone is always recoverable from its totals
    assert all(result.shown(k) == table.value[k] for k in result.published)  # published values are true values
    assert len(result.published) > len(result.suppressed)  # the heuristic hides no more than it must, roughly


def test_rounding_to_five_is_deterministic_and_half_up():
    policy = DisclosurePolicy(round_to=5)
    assert [policy.rounded(v) for v in (0, 5, 7, 8, 12, 12.5, 13)] == [0, 5, 5, 10, 10, 15, 15]


def test_an_unprotectable_cell_fails_closed():
    # one practice alone in its cluster, viewer knows nothing; the region total is the same as the practice total
    t = CellTable()
    t.value = {"p": 3, "total": 3}
    t.counts = {"p", "total"}
    t.known = {"total"}
    t.add_relation("total", ["p"])
    with pytest.raises(DisclosureError):
        protect(t, DisclosurePolicy())
