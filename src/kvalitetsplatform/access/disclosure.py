"""Disclosure control (diskretionering) for aggregates shown to anyone but the practice itself.

The model is the attacker's: a set of *cells* (numerators and denominators per org unit and stratum), the linear
relations everyone knows (a cluster's count is the sum of its practices' counts, a total the sum of its strata,
a numerator at most its denominator), the cells the viewer already knows exactly (their own practice's), and cells
that exist but the viewer is not shown at all.

- Primary suppression: counts 1 … threshold-1 are hidden (default threshold 5, so 1–4).
- Secondary suppression: a sensitive cell must not be recoverable from what is published. `protect` audits every
  primary-suppressed cell exactly with linear programming (min and max of the cell subject to all relations, the
  published values and the viewer's own cells; HiGHS) and hides complementary cells until every such cell's feasible
  interval is at least `protection` wide (default: the threshold, i.e. wider than the whole suppressed range 1–4). Cells the
  viewer knows are never hidden from them, and count as published for the audit: a practice that subtracts its own
  numbers from the cluster total learns nothing more. Complementary cells are not sensitive themselves (they hold
  publishable counts) and need no interval of their own.
- Optional rounding to a base (e.g. 5): published counts are rounded half up, deterministically, and the audit treats
  a rounded value r as anything in [r - base//2, r + (base-1)//2].

If no complementary cell can protect a hidden cell, `DisclosureError` is raised; the gate then shows nothing of
that table (fail closed).
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field

import numpy as np
from highspy._core import HighsLp, HighsModelStatus, MatrixFormat, ObjSense, _Highs, kHighsInf
from scipy import sparse

Key = Hashable
EPS = 1e-6


class DisclosureError(RuntimeError):
    """A hidden cell cannot be protected by any complementary suppression."""


@dataclass(frozen=True)
class DisclosurePolicy:
    threshold: int = 5  # counts 1 … threshold-1 are suppressed
    round_to: int | None = None  # e.g. 5: published counts rounded to the nearest 5
    protection: int | None = None  # required width of a hidden cell's feasible interval; default the threshold

    @property
    def width(self) -> float:
        return float(self.protection if self.protection is not None else self.threshold)

    def primary(self, value: float) -> bool:
        return 1 <= value < self.threshold

    def rounded(self, value: float) -> int:
        if not self.round_to:
            return int(round(value))
        return int(self.round_to * np.floor(value / self.round_to + 0.5))

    def rounding_slack(self) -> tuple[int, int]:
        if not self.round_to:
            return 0, 0
        return self.round_to // 2, (self.round_to - 1) // 2


@dataclass
class CellTable:
    """Everything the attacker may combine. `value[k] is None` marks a cell that exists but is not shown to the
    viewer at all (e.g. another cluster's practices): unknown to them, but part of the relations."""

    value: dict[Key, float | None] = field(default_factory=dict)
    known: set[Key] = field(default_factory=set)  # the viewer's own cells: shown raw, never hidden
    counts: set[Key] = field(default_factory=set)  # cells the primary rule applies to
    follows: dict[Key, Key] = field(default_factory=dict)  # cell → cell it must be hidden with (sum → its count)
    additive: list[tuple[Key, tuple[Key, ...]]] = field(default_factory=list)  # total = sum(parts)
    at_most: list[tuple[Key, Key]] = field(default_factory=list)  # a <= b

    def add_relation(self, total: Key, parts: list[Key]) -> None:
        if parts:
            for k in (total, *parts):
                self.value.setdefault(k, None)
            self.additive.append((total, tuple(parts)))


@dataclass(frozen=True)
class Protection:
    suppressed: frozenset[Key]
    published: dict[Key, int]  # what the viewer is shown (rounded where the policy rounds); known cells raw

    def shown(self, key: Key) -> int | None:
        return self.published.get(key)


def protect(table: CellTable, policy: DisclosurePolicy, hidden: frozenset[Key] = frozenset(),
            fixed: frozenset[Key] = frozenset()) -> Protection:
    """Protect the table. `hidden` and `fixed` carry an earlier publication of part of it (a view's totals, before
    its strata): its hidden cells stay hidden and its published cells stay published, so this publication only adds
    to that one. Complements are then chosen among the other cells; if none can protect a cell, all of them are
    hidden (every sensitive cell is audited again either way)."""
    visible = {k for k, v in table.value.items() if v is not None}
    open_ = visible - table.known
    suppressed = {k for k in open_ & table.counts if policy.primary(table.value[k])}
    for k, target in table.follows.items():
        if k in open_ and (target in suppressed or table.value.get(target) is None):
            suppressed.add(k)
    sensitive = set(suppressed)  # what must stay uncertain; complements are hidden only to protect these
    suppressed |= set(hidden) & open_
    hideable = open_ - set(fixed)
    safe: set[Key] = set()  # hiding more cells only widens intervals, so a safe cell stays safe
    pooled = relations = None  # made when a cell needs auditing (most tables of totals have none)
    while True:
        pending = sensitive - safe
        if not pending:
            break
        if pooled is None:
            pooled, relations = _pooled(table), _Relations(table)
        intervals = _intervals(pooled, suppressed, policy, pending, enough=policy.width)
        exposed = sorted((k for k, (lo, hi) in intervals.items() if hi - lo < policy.width - EPS), key=repr)
        safe |= pending - set(exposed)
        added = 0
        for k in exposed:
            lo, hi = intervals[k]
            choice = _complement(table, relations, k, suppressed, hideable, policy.width - (hi - lo))
            if choice is not None:
                suppressed.add(choice)
                added += 1
        if exposed and not added:
            rest = hideable - suppressed
            if not (fixed and rest):
                raise DisclosureError(f"celle {exposed[0]!r} kan ikke beskyttes")
            suppressed |= rest
    published = {k: (int(round(table.value[k])) if k in table.known else policy.rounded(table.value[k]))
                 for k in visible - suppressed}
    return Protection(frozenset(suppressed), published)


class _Relations:
    """The table's relations, each as (its total or None for a ≤ pair, its members), indexed by member."""

    def __init__(self, table: CellTable):
        self.members = [(total, (total, *parts)) for total, parts in table.additive]
        self.members += [(None, pair) for pair in table.at_most]
        self.touching: dict[Key, list[int]] = {}
        for i, (_, members) in enumerate(self.members):
            for k in members:
                self.touching.setdefault(k, []).append(i)


def _complement(table: CellTable, relations: _Relations, cell: Key, suppressed: set, hideable: set,
                missing: float) -> Key | None:
    """The published cell to hide beside an exposed one. Searched outwards from the cell through relations whose
    other hidden members connect to it: the nearest relation first, parts before totals, the smallest value that
    gives the missing width (else the largest)."""
    reached, frontier = {cell}, [cell]
    while frontier:
        candidates: list[tuple] = []
        next_frontier = []
        for i in sorted({i for k in frontier for i in relations.touching.get(k, ())}):
            total, members = relations.members[i]
            for k in members:
                if k in reached:
                    continue
                if k in hideable and k not in suppressed:
                    value = table.value[k]
                    enough = value >= missing
                    candidates.append((k == total or total is None, not enough, value if enough else -value,
                                       repr(k), k))
                elif k in suppressed or table.value.get(k) is None:
                    reached.add(k)
                    next_frontier.append(k)
        if candidates:
            return min(candidates)[-1]
        frontier = next_frontier
    return None


def feasible_intervals(table: CellTable, suppressed: set[Key], policy: DisclosurePolicy,
                       targets: set[Key] | None = None, enough: float | None = None) -> dict[Key, tuple[float, float]]:
    """The attacker's interval [min, max] for each target (default: every suppressed cell), given the relations,
    the values as the policy publishes them and the viewer's own cells.

    One HiGHS model per connected component; each bound is a re-solve with only the objective changed (warm
    start from the previous basis). Every solution is a feasible table, so the values seen for a cell across the
    solutions so far lie inside its interval: with `enough`, a target whose seen values already span `enough` needs
    no LP of its own, and its interval is returned as that seen span (narrower than the exact one, never wider).
    Every other interval is exact."""
    return _intervals(_pooled(table), suppressed, policy, suppressed if targets is None else targets, enough)


def _intervals(table: CellTable, suppressed: set[Key], policy: DisclosurePolicy, targets: set[Key],
               enough: float | None) -> dict[Key, tuple[float, float]]:
    """`feasible_intervals` over a table already pooled."""
    low_slack, high_slack = policy.rounding_slack()
    fixed: dict[Key, float] = {}
    bounds: dict[Key, tuple[float, float | None]] = {}
    for k, v in table.value.items():
        if v is None or k in suppressed:
            bounds[k] = (0.0, None)
        elif k in table.known:
            fixed[k] = float(v)
        else:
            shown = float(policy.rounded(v))
            if low_slack or high_slack:
                bounds[k] = (max(0.0, shown - low_slack), shown + high_slack)
            else:
                fixed[k] = shown
    # connected components of variables through relations
    parent: dict[Key, Key] = {k: k for k in bounds}

    def find(k):
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    relations = [((total, *parts), (-1.0, *([1.0] * len(parts))), "eq") for total, parts in table.additive]
    relations += [((a, b), (1.0, -1.0), "ub") for a, b in table.at_most]
    for members, _, _ in relations:
        variables = [k for k in members if k in bounds]
        for k in variables[1:]:
            parent[find(k)] = find(variables[0])
    components: dict[Key, list[Key]] = {}
    for k in bounds:
        components.setdefault(find(k), []).append(k)
    relations_of: dict[Key, list] = {}
    for rel in relations:
        variables = [k for k in rel[0] if k in bounds]
        if variables:
            relations_of.setdefault(find(variables[0]), []).append(rel)

    result: dict[Key, tuple[float, float]] = {}
    for root, keys in components.items():
        wanted = sorted((k for k in keys if k in targets), key=repr)
        if wanted:
            result.update(_component_intervals(keys, wanted, relations_of.get(root, []), bounds, fixed, enough))
    return result


def _component_intervals(keys: list[Key], wanted: list[Key], relations: list, bounds: dict, fixed: dict,
                         enough: float | None) -> dict[Key, tuple[float, float]]:
    index = {k: i for i, k in enumerate(keys)}
    rows, columns, values, row_lower, row_upper = [], [], [], [], []
    for members, coefficients, kind in relations:
        rhs = 0.0
        for k, c in zip(members, coefficients):
            if k in index:
                rows.append(len(row_lower))
                columns.append(index[k])
                values.append(c)
            else:
                rhs -= c * fixed[k]
        row_lower.append(rhs if kind == "eq" else -kHighsInf)
        row_upper.append(rhs)
    matrix = sparse.csc_array((values, (rows, columns)), shape=(len(row_lower), len(keys)))
    matrix.sum_duplicates()
    lp = HighsLp()
    lp.num_col_, lp.num_row_ = len(keys), len(row_lower)
    lp.col_cost_ = np.zeros(len(keys))
    lp.col_lower_ = np.array([bounds[k][0] for k in keys], dtype=float)
    lp.col_upper_ = np.array([kHighsInf if bounds[k][1] is None else bounds[k][1] for k in keys], dtype=float)
    lp.row_lower_, lp.row_upper_ = np.array(row_lower, dtype=float), np.array(row_upper, dtype=float)
    lp.a_matrix_.format_ = MatrixFormat.kColwise
    lp.a_matrix_.start_, lp.a_matrix_.index_ = matrix.indptr, matrix.indices
    lp.a_matrix_.value_ = matrix.data
    solver = _Highs()
    solver.setOptionValue("output_flag", False)
    solver.setOptionValue("presolve", "off")  # tiny models, re-solved from the previous basis
    solver.passModel(lp)
    seen_low = np.full(len(keys), np.inf)
    seen_high = np.full(len(keys), -np.inf)
    feasible = False
    out: dict[Key, tuple[float, float]] = {}
    previous = None
    for k in wanted:
        i = index[k]
        if enough is not None and seen_high[i] - seen_low[i] >= enough - EPS:
            out[k] = (float(seen_low[i]), float(seen_high[i]))
            continue
        if previous is not None:
            solver.changeColCost(previous, 0.0)
        solver.changeColCost(i, 1.0)
        previous = i
        bound = []
        for sense in (ObjSense.kMinimize, ObjSense.kMaximize):
            solver.changeObjectiveSense(sense)
            solver.run()
            status = solver.getModelStatus()
            if status == HighsModelStatus.kOptimal:
                feasible = True
                point = np.asarray(solver.getSolution().col_value)
                np.minimum(seen_low, point, out=seen_low)
                np.maximum(seen_high, point, out=seen_high)
                bound.append(solver.getInfo().objective_function_value)
            elif sense == ObjSense.kMaximize and feasible and status in (HighsModelStatus.kUnbounded,
                                                                         HighsModelStatus.kUnboundedOrInfeasible):
                bound.append(float("inf"))
            elif status == HighsModelStatus.kInfeasible or (status == HighsModelStatus.kUnboundedOrInfeasible
                                                            and not feasible):
                raise DisclosureError(f"relationerne omkring celle {k!r} er modstridende")
            else:
                raise DisclosureError(f"celle {k!r} kunne ikke afgrænses ({status.name})")
        out[k] = (bound[0], bound[1])
    return out


def _pooled(table: CellTable) -> CellTable:
    """The same attacker problem with fewer variables: unknown cells that occur in one relation only (say the
    municipalities a regional viewer is not shown, in nation = Σ municipalities) are pooled into one unknown
    non-negative cell per relation. Equalities are unchanged by this; numerator ≤ denominator between pooled cells
    becomes pool ≤ pool, which is exact when the pairs match and otherwise only stronger for the attacker (so the
    audit stays on the safe side)."""
    uses: dict[Key, int] = {}
    for total, parts in table.additive:
        for k in (total, *parts):
            uses[k] = uses.get(k, 0) + 1
    home: dict[Key, int] = {}
    for i, (total, parts) in enumerate(table.additive):
        for k in (total, *parts):
            if table.value.get(k) is None and uses[k] == 1:
                home[k] = i
    for a, b in table.at_most:  # a pooled cell's partner must be pooled too, or neither is
        if (a in home) != (b in home):
            home.pop(a, None)
            home.pop(b, None)
    if not home:
        return table
    pool = {i: ("pool", i) for i in set(home.values())}
    out = CellTable(value={k: v for k, v in table.value.items() if k not in home}, known=table.known,
                    counts=table.counts, follows=table.follows)
    for i, (total, parts) in enumerate(table.additive):
        members = [k for k in parts if k not in home]
        if any(k in home for k in parts):
            members.append(pool[i])
        new_total = pool[i] if total in home else total
        for k in (new_total, *members):
            out.value.setdefault(k, None)
        out.additive.append((new_total, tuple(members)))
    pairs = set()
    for a, b in table.at_most:
        pairs.add((pool[home[a]], pool[home[b]]) if a in home else (a, b))
    out.at_most = sorted(pairs, key=repr)
    return out
