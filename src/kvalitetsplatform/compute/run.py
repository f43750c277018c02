"""`kp compute`: every package's indicators for every monthly reference date, org level and stratum.

A run decides per package what to (re)compute, then for each piece of work evaluates the package with the engine
and replaces the affected cells, rebuilds the results of the affected dates from all cells, and refreshes the
worklist flags of the newest date:

- *full*: a package never computed, or whose definition (or a codelist) changed, or `--full`: every date.
- *new dates*: dates in the window not computed before (a new month): every practice.
- *new deliveries*: a delivery loaded (or replaced) since the last run touches the dates on or after its
  `period_start` (facts only reach forward: a window ends on its reference date), for its practice and for every
  practice that shares patients with it in that time (a patient who moved carries their facts along). Only those
  practices' cells are recomputed; the cluster, region, municipality and national figures of those dates are
  added up again from the cells, which is cheap.

Every run is recorded in `compute_run` with the package versions, codelists and deliveries it used. Each
evaluation's SQL is kept and reused by later runs of the same kind (`compute.plans`).
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Callable

import duckdb
import ibis
import pyarrow as pa

from kvalitetsplatform.compute import aggregate, plans
from kvalitetsplatform.compute.periods import month_ends, previous_month_end
from kvalitetsplatform.compute.store import ARROW_TYPES, TABLES, WAREHOUSE_CATALOG, Store, open_for_compute
from kvalitetsplatform.indicators import load_catalogue
from kvalitetsplatform.indicators import model as m
from kvalitetsplatform.indicators.engine import Evaluation, NotReusable, Warehouse
from kvalitetsplatform.settings import Settings

# Above this share of all practices an incremental piece is done for every practice (simpler, not slower).
PARTIAL_LIMIT = 0.5
# Results of at most this many indicator × reference dates are built in one statement: a month's run does every
# package at once, a full run a package or two at a time (bounded memory).
RESULT_CHUNK = 400


class ComputeError(RuntimeError):
    """Nothing to compute from, or a bad argument; the message is for the user (Danish)."""


@dataclass
class Work:
    """What one package needs this run."""

    package: m.Package
    fingerprint: str
    full_dates: list[date] = field(default_factory=list)
    partial_dates: list[date] = field(default_factory=list)
    practices: list[str] = field(default_factory=list)
    reason: str = ""

    @property
    def dates(self) -> list[date]:
        return sorted(set(self.full_dates) | set(self.partial_dates))

    def as_dict(self) -> dict:
        return {"reason": self.reason, "full_dates": [d.isoformat() for d in self.full_dates],
                "partial_dates": [d.isoformat() for d in self.partial_dates], "practices": len(self.practices)}


@dataclass
class RunReport:
    run_id: int
    mode: str
    ref_dates: list[date]
    packages: dict[str, dict]
    new_deliveries: list[str]
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)
    plans: dict[str, int] = field(default_factory=lambda: {"reused": 0, "recorded": 0, "refused": 0})

    def as_dict(self) -> dict:
        return {"run_id": self.run_id, "mode": self.mode, "first_date": self.ref_dates[0].isoformat(),
                "last_date": self.ref_dates[-1].isoformat(), "periods": len(self.ref_dates),
                "packages": self.packages, "new_deliveries": self.new_deliveries, "seconds": round(self.seconds, 2),
                "timings": {k: round(v, 2) for k, v in self.timings.items()}, "plans": self.plans}


Progress = Callable[[str, int, int], None]  # (what, done, total)


def fingerprint(package: m.Package) -> str:
    """Changes whenever the package's version or any definition or codelist in it changes."""
    text = repr((package.id, package.version, package.indicators))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def codelist_refs(package: m.Package) -> list[str]:
    return sorted({c.ref for c in package.codelists.values()})


def _jdump(data: object) -> str:
    return json.dumps(data, ensure_ascii=False, default=str, sort_keys=True)


def compute(settings: Settings, package_ids: list[str] | None = None, periods: int = 36, end: date | None = None,
            full: bool = False, progress: Progress | None = None, packages: list[m.Package] | None = None
            ) -> RunReport:
    """Compute (or bring up to date) the results; see the module docstring. `packages` replaces the shipped
    packages (tests, other package folders)."""
    if packages is None:
        catalogue = load_catalogue()
        if catalogue.errors:
            first = catalogue.errors[0]
            raise ComputeError(f"pakkerne har fejl ({len(catalogue.errors)}), fx {first.file} linje {first.line}: "
                               f"{first.message}. Kør `kp packages validate`.")
        packages = catalogue.packages
    if package_ids:
        unknown = sorted(set(package_ids) - {p.id for p in packages})
        if unknown:
            raise ComputeError(f"ukendt pakke: {', '.join(unknown)}; kendte: {', '.join(p.id for p in packages)}")
        packages = [p for p in packages if p.id in package_ids]
    store = open_for_compute(settings)
    try:
        return _Run(store, packages, periods, end, full, progress).run()
    finally:
        store.close()


class _Run:
    def __init__(self, store: Store, packages: list[m.Package], periods: int, end: date | None, full: bool,
                 progress: Progress | None):
        self.store = store
        self.con = store.con
        self.wh = Warehouse(self.con, f"{WAREHOUSE_CATALOG}.main")
        self.packages = packages
        self.full = full
        self.progress = progress or (lambda what, done, total: None)
        self.timings: dict[str, float] = {}
        self._staged: list[str] = []
        self._staged_cells: dict[str, list[tuple[tuple, list[str]]]] = {}
        self._staged_flags: dict[str, tuple[list[str] | None, str]] = {}
        self.plans = {"reused": 0, "recorded": 0, "refused": 0}
        deliveries = self.wh.table("delivery")
        self.deliveries = deliveries.filter(deliveries.status == "loaded").select(
            "id", "ydernummer", "period_start", "period_end").to_pyarrow().to_pylist()
        if not self.deliveries:
            raise ComputeError("der er ingen indlæste leverancer i datavarehuset; kør `kp ingest` først")
        if end is None:
            end = previous_month_end(max(d["period_end"] for d in self.deliveries))
        self.ref_dates = month_ends(end, periods)

    def _time(self, name: str, started: float) -> None:
        self.timings[name] = self.timings.get(name, 0.0) + time.perf_counter() - started

    # --- planning ------------------------------------------------------------------------------------------------

    def _previous_run(self) -> dict | None:
        rows = self.store.execute("SELECT run_id, deliveries FROM compute_run WHERE status = 'done' "
                                  "ORDER BY run_id DESC LIMIT 1")
        return {"run_id": rows[0][0], "deliveries": json.loads(rows[0][1])} if rows else None

    def _changed_deliveries(self, previous: dict | None) -> list[dict]:
        """Deliveries loaded since the previous run, and those it used that have since been replaced."""
        if previous is None:
            return []
        before = set(previous["deliveries"])
        now = {d["id"] for d in self.deliveries}
        gone = sorted(before - now)
        changed = [d for d in self.deliveries if d["id"] not in before]
        if gone:
            t = self.wh.table("delivery")
            changed += t.filter(t.id.isin(gone)).select("id", "ydernummer", "period_start",
                                                        "period_end").to_pyarrow().to_pylist()
        return changed

    def _touched_practices(self, changed: list[dict], since: date) -> list[str]:
        """The delivering practices and every practice that shares a patient with them on or after `since`."""
        own = sorted({d["ydernummer"] for d in changed})
        listing = self.wh.table("listing")
        current = (listing.list_end.isnull() | (listing.list_end >= since))
        theirs = listing.filter(listing.ydernummer.isin(own), current).select("patient_key")
        shared = listing.filter(current).semi_join(theirs, "patient_key").select("ydernummer").distinct()
        return sorted(set(own) | set(shared.to_pyarrow().column("ydernummer").to_pylist()))

    def plan(self) -> tuple[list[Work], list[dict]]:
        previous = None if self.full else self._previous_run()
        changed = self._changed_deliveries(previous)
        computed: dict[str, dict[date, str]] = {}
        for package, ref_date, print_ in self.store.execute("SELECT package, ref_date, fingerprint FROM computed"):
            computed.setdefault(package, {})[ref_date] = print_
        n_practices = self.store.execute(f"SELECT count(DISTINCT ydernummer) FROM {WAREHOUSE_CATALOG}.main."
                                         "practice_period")[0][0]
        since = min((d["period_start"] for d in changed), default=None)
        touched = self._touched_practices(changed, since) if changed else []
        works = []
        for package in self.packages:
            print_ = fingerprint(package)
            done = computed.get(package.id, {})
            work = Work(package, print_)
            if self.full or previous is None:
                work.full_dates, work.reason = list(self.ref_dates), "fuld beregning"
            elif any(done.get(d) not in (None, print_) for d in self.ref_dates):
                work.full_dates, work.reason = list(self.ref_dates), "definitionen er ændret"
            else:
                work.full_dates = [d for d in self.ref_dates if d not in done]
                partial = [d for d in self.ref_dates if d in done and since is not None and d >= since]
                if partial and len(touched) > PARTIAL_LIMIT * n_practices:
                    work.full_dates = sorted(set(work.full_dates) | set(partial))
                elif partial:
                    work.partial_dates, work.practices = partial, touched
                reasons = []
                if work.full_dates:
                    reasons.append(f"{len(work.full_dates)} nye perioder")
                if work.partial_dates:
                    reasons.append(f"nye leverancer: {len(work.practices)} praksis(er) × "
                                   f"{len(work.partial_dates)} perioder")
                work.reason = ", ".join(reasons) or "uændret"
            works.append(work)
        return works, changed

    # --- running -------------------------------------------------------------------------------------------------

    def run(self) -> RunReport:
        started = time.perf_counter()
        works, changed = self.plan()
        mode = ("full" if self.full or all(w.full_dates == self.ref_dates for w in works)
                else "incremental" if any(w.dates for w in works) else "unchanged")
        run_id = (self.store.execute("SELECT coalesce(max(run_id), 0) + 1 FROM compute_run")[0][0])
        self.store.execute(
            "INSERT INTO compute_run (run_id, started_at, status, mode, end_date, periods, ref_dates, packages, "
            "codelists, deliveries, new_deliveries, recomputed) VALUES (?, ?, 'running', ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [run_id, datetime.now(), mode, self.ref_dates[-1], len(self.ref_dates),
             _jdump(self.ref_dates), _jdump({w.package.id: w.package.version for w in works}),
             _jdump({w.package.id: codelist_refs(w.package) for w in works}),
             _jdump(sorted(d["id"] for d in self.deliveries)), _jdump(sorted(d["id"] for d in changed)),
             _jdump({w.package.id: w.as_dict() for w in works})])
        report = RunReport(run_id, mode, self.ref_dates, {w.package.id: w.as_dict() for w in works},
                           sorted(d["id"] for d in changed))
        try:
            t = time.perf_counter()
            self._membership()
            self._time("membership", t)
            total = sum(len(w.package.indicators) for w in works if w.dates)
            done = 0
            for (dates, practices), group in self._pieces(works):
                # one evaluation for all packages that need the same dates and practices: who is listed, the
                # census and shared selections are computed once; a month's run stages the flags from it too
                self._evaluate(group, dates, practices, True, dates == [self.ref_dates[-1]], run_id)
                for work in group:
                    done += len(work.package.indicators)
                    self.progress(work.package.id, done, total)
            self._flags(works, run_id)
            self._write([w for w in works if w.dates], run_id)
            self._forget_old_dates()
            plans.forget(self.store, run_id)
            report.seconds = time.perf_counter() - started
            report.timings, report.plans = self.timings, self.plans
            self.store.execute("UPDATE compute_run SET status = 'done', finished_at = ?, seconds = ? WHERE run_id = ?",
                               [datetime.now(), report.seconds, run_id])
            self.store.execute("CHECKPOINT")
        except BaseException as e:
            self.store.execute("UPDATE compute_run SET status = 'failed', finished_at = ?, error = ? WHERE run_id = ?",
                               [datetime.now(), f"{type(e).__name__}: {e}"[:2000], run_id])
            raise
        return report

    def _membership(self) -> None:
        """Each practice's cluster and region on each reference date (the period covering the date; before a
        practice's first period its first, after its last its last)."""
        periods = self.wh.table("practice_period")
        dates = ibis.memtable({"ref_date": self.ref_dates})
        p = periods.cross_join(dates)
        covers = (p.valid_from <= p.ref_date) & (p.valid_to.isnull() | (p.valid_to >= p.ref_date))
        distance = covers.ifelse(0, (p.valid_from > p.ref_date).ifelse(
            p.valid_from.delta(p.ref_date, unit="day"), p.ref_date.delta(p.valid_to, unit="day")))
        best = ibis.row_number().over(group_by=[p.ydernummer, p.ref_date],
                                      order_by=[distance, ibis.desc(p.valid_from)])
        chosen = p.mutate(_best=best).filter(lambda t: t._best == 0)
        rows = chosen.select("ref_date", "ydernummer", "cluster_id", "region_code",
                             practice_kommune_code=chosen.kommune_code)
        self.store.execute("BEGIN TRANSACTION")
        try:
            self.store.execute("DELETE FROM practice_membership")
            self.con.insert("practice_membership", rows)
            self.store.execute("COMMIT")
        except BaseException:
            self.store.execute("ROLLBACK")
            raise

    def _indicator_rows(self, work: Work, run_id: int) -> ibis.Table:
        rows = []
        for ind in work.package.indicators:
            measure = ind.measure
            std = ind.standard
            rows.append({
                "package": work.package.id, "package_version": work.package.version, "indicator": ind.id,
                "kind": ind.kind, "measure": type(measure).__name__, "direction": ind.direction,
                "direction_sign": 1 if ind.direction == "lower_is_better" else -1,
                "standard_op": std.op if std else None, "standard_value": std.value if std else None,
                "standard_source": std.source if std else None,
                "per": measure.per if isinstance(measure, m.EventRate) else None,
                "per_year": measure.per_year if isinstance(measure, m.EventRate) else None,
                "title_da": ind.title.da, "title_en": ind.title.en, "codelists": _jdump(codelist_refs(work.package)),
                "fingerprint": work.fingerprint, "run_id": run_id})
        schema = pa.schema([(c, ARROW_TYPES[t]) for c, t in TABLES["indicator"]])
        return ibis.memtable(pa.Table.from_pylist(rows, schema=schema))

    def _pieces(self, works: list[Work]) -> list[tuple[tuple, list[Work]]]:
        """Work grouped by (dates, practices): each group is one evaluation."""
        groups: dict[tuple, list[Work]] = {}
        for work in works:
            if work.full_dates:
                groups.setdefault((tuple(work.full_dates), None), []).append(work)
            if work.partial_dates:
                groups.setdefault((tuple(work.partial_dates), tuple(work.practices)), []).append(work)
        return [((list(dates), list(practices) if practices is not None else None), group)
                for (dates, practices), group in groups.items()]

    def _evaluate(self, group: list[Work], dates: list[date], practices: list[str] | None, cells: bool,
                  flags: bool, run_id: int) -> None:
        """Stage the group's cells for `dates` and/or its worklist flags (newest date) in temporary tables: by the
        kept plan of an earlier run of the same kind, or by building the expressions (and keeping their plan)."""
        t = time.perf_counter()
        indicators = [i for w in group for i in w.package.indicators]
        plan_key = plans.key([(w.package.id, w.fingerprint) for w in group], len(dates), practices is not None,
                             cells, flags, self.wh.database)
        staged = None
        plan = plans.find(self.store, plan_key, run_id)
        if plan is not None:
            with Evaluation(self.wh, dates, indicators, practices=practices) as ev:
                try:
                    staged = ev.replay(plan, self._stage_name)
                    self.plans["reused"] += 1
                except duckdb.Error:  # the plan no longer fits the warehouse (a new schema): build it again
                    plans.drop(self.store, plan_key)
        if staged is None:
            with Evaluation(self.wh, dates, indicators, practices=practices) as ev:
                staged = [s for w in group for s in self._cells(ev, w)] if cells else []
                if flags:
                    staged += self._stage_flags(ev, group)
                try:
                    plans.save(self.store, plan_key, ev.plan(), run_id)
                    self.plans["recorded"] += 1
                except NotReusable:  # the figures are right; only the next run builds the SQL again
                    self.plans["refused"] += 1
        by_package: dict[str, list[str]] = {}
        for (kind, package, *_), name in staged:
            if kind == "cell":
                by_package.setdefault(package, []).append(name)
            else:
                self._staged_flags[package] = (practices, name)
        for package, names in by_package.items():
            self._staged_cells.setdefault(package, []).append(((dates, practices), names))
        self._time("cells" if cells else "flags", t)

    def _stage_name(self, tag: tuple) -> str:
        name = f"kp_stage_{tag[0]}_{len(self._staged)}"
        self._staged.append(name)
        return name

    def _cells(self, ev: Evaluation, work: Work) -> list[tuple[tuple, str]]:
        """Stage the package's cells, one table per indicator (without the run: it is added when written)."""
        staged = []
        for ind in work.package.indicators:
            cells = ev.cells(ind).mutate(package=ibis.literal(work.package.id), indicator=ibis.literal(ind.id))
            tag = ("cell", work.package.id, ind.id)
            name = self._stage_name(tag)
            ev.stage(cells.select(*_columns("cell", run=False)), name, tag)
            staged.append((tag, name))
        return staged

    def _flags(self, works: list[Work], run_id: int) -> None:
        """Stage the worklist flags on the newest reference date for the packages that recomputed it (and did not
        get them from their cells' evaluation)."""
        latest = self.ref_dates[-1]
        groups: dict[tuple | None, list[Work]] = {}
        for work in works:
            if work.package.id in self._staged_flags or not any(_flagged(i) for i in work.package.indicators):
                continue
            if latest in work.full_dates:
                groups.setdefault(None, []).append(work)
            elif latest in work.partial_dates:
                groups.setdefault(tuple(work.practices), []).append(work)
        for practices, group in groups.items():
            self._evaluate(group, [latest], list(practices) if practices is not None else None, False, True, run_id)

    def _stage_flags(self, ev: Evaluation, group: list[Work]) -> list[tuple[tuple, str]]:
        """The flags of the evaluation's (newest) date for each package of the group, a table per package."""
        staged = []
        for work in group:
            parts = []
            for ind in filter(_flagged, work.package.indicators):
                events_only = isinstance(ind.measure, (m.EventRate, m.EventProportion))
                f = ev.patients(ind, events_only=events_only)
                f = f.mutate(package=ibis.literal(work.package.id), indicator=ibis.literal(ind.id))
                parts.append(f.select(*_columns("patient_flag", run=False)))
            if parts:
                tag = ("flags", work.package.id)
                name = self._stage_name(tag)
                ev.stage(ibis.union(*parts), name, tag)
                staged.append((tag, name))
        return staged

    def _write(self, works: list[Work], run_id: int) -> None:
        """Replace the recomputed packages' cells and flags with the staged ones and rebuild their results for the
        dates they recomputed, all in one transaction (a failed run leaves every result as it was). Packages that
        recomputed the same dates get their results in one statement, up to RESULT_CHUNK indicator-dates each."""
        t = time.perf_counter()
        raw = self.store
        latest = self.ref_dates[-1]
        raw.execute("BEGIN TRANSACTION")
        try:
            for work in works:
                package = work.package
                for (dates, practices), tables in self._staged_cells.get(package.id, []):
                    where, params = _where(package.id, dates, practices)
                    raw.execute(f"DELETE FROM cell WHERE {where}", params)
                    for name in tables:
                        raw.execute(f"INSERT INTO cell BY NAME SELECT *, ? AS run_id FROM {name}", [run_id])
                if package.id in self._staged_flags:
                    practices, name = self._staged_flags[package.id]
                    if practices is None:
                        raw.execute("DELETE FROM patient_flag WHERE package = ?", [package.id])
                    else:
                        raw.execute("DELETE FROM patient_flag WHERE package = ? AND (ref_date <> ? OR ydernummer IN ("
                                    + ",".join("?" * len(practices)) + "))", [package.id, latest, *practices])
                    raw.execute(f"INSERT INTO patient_flag BY NAME SELECT *, ? AS run_id FROM {name}", [run_id])
                raw.execute("DELETE FROM indicator WHERE package = ?", [package.id])
                self.con.insert("indicator", self._indicator_rows(work, run_id))
                raw.execute("DELETE FROM computed WHERE package = ? AND ref_date IN ("
                            + ",".join("?" * len(work.dates)) + ")", [package.id, *work.dates])
                raw.execute("INSERT INTO computed SELECT ?, unnest(?::DATE[]), ?, ?",
                            [package.id, work.dates, work.fingerprint, run_id])
            by_dates: dict[tuple[date, ...], list[Work]] = {}
            for work in works:
                by_dates.setdefault(tuple(work.dates), []).append(work)
            for dates, group in by_dates.items():
                chunk: list[m.Package] = []
                for work in group:
                    if chunk and (sum(len(p.indicators) for p in chunk) + len(work.package.indicators)) * len(dates) \
                            > RESULT_CHUNK:
                        self._results(chunk, list(dates), run_id)
                        chunk = []
                    chunk.append(work.package)
                self._results(chunk, list(dates), run_id)
            raw.execute("COMMIT")
        except BaseException:
            raw.execute("ROLLBACK")
            raise
        finally:
            for work in works:
                for (_, tables) in self._staged_cells.pop(work.package.id, []):
                    for name in tables:
                        raw.execute(f"DROP TABLE IF EXISTS temp.main.{name}")
                flags = self._staged_flags.pop(work.package.id, None)
                if flags is not None:
                    raw.execute(f"DROP TABLE IF EXISTS temp.main.{flags[1]}")
        self._time("results", t)

    def _results(self, packages: list[m.Package], dates: list[date], run_id: int) -> None:
        ids = [p.id for p in packages]
        # the cells are read once here: every level and stratum is a sum over them (fifteen reads of the table)
        self.store.execute("CREATE OR REPLACE TEMPORARY TABLE kp_result_cells AS SELECT * FROM cell WHERE package IN ("
                           + ",".join("?" * len(ids)) + ") AND ref_date IN (" + ",".join("?" * len(dates)) + ")",
                           [*ids, *dates])
        cells = self.con.table("kp_result_cells", database=("temp", "main"))
        membership = self.con.table("practice_membership")
        membership = membership.filter(membership.ref_date.isin(dates))
        indicators = self.con.table("indicator")
        indicators = indicators.filter(indicators.package.isin(ids))
        listing = self.wh.table("listing")
        kommuner = listing.select("kommune_code").distinct()
        date_table = ibis.memtable({"ref_date": dates})
        rows = aggregate.results(cells, membership, indicators, kommuner, date_table, run_id)
        self.store.execute("DELETE FROM result WHERE package IN (" + ",".join("?" * len(ids)) + ") AND ref_date IN ("
                           + ",".join("?" * len(dates)) + ")", [*ids, *dates])
        self.con.insert("result", rows.select(*_columns("result")))
        self.store.execute("DROP TABLE temp.main.kp_result_cells")

    def _forget_old_dates(self) -> None:
        """Results for reference dates outside this run's window are dropped (the window moves month by month)."""
        keep = ",".join(f"DATE '{d.isoformat()}'" for d in self.ref_dates)
        ids = ",".join(f"'{p.id}'" for p in self.packages)
        if not self.store.execute(f"SELECT 1 FROM computed WHERE package IN ({ids}) AND ref_date NOT IN ({keep}) "
                                  "LIMIT 1"):
            return  # nothing has fallen out (the large tables are not read)
        for table in ("cell", "result", "computed"):
            self.store.execute(f"DELETE FROM {table} WHERE package IN ({ids}) AND ref_date NOT IN ({keep})")


def _flagged(indicator: m.Indicator) -> bool:
    """Whether the indicator has worklist rows (survey answers are anonymous)."""
    return not isinstance(indicator.measure, m.SurveyMean)


def _columns(name: str, run: bool = True) -> list[str]:
    """The table's columns (with `run` False, without `run_id`)."""
    return [c for c, _ in TABLES[name] if run or c != "run_id"]


def _where(package: str, dates: list[date], practices: list[str] | None) -> tuple[str, list]:
    where = "package = ? AND ref_date IN (" + ",".join("?" * len(dates)) + ")"
    params: list = [package, *dates]
    if practices is not None:
        where += " AND ydernummer IN (" + ",".join("?" * len(practices)) + ")"
        params += practices
    return where, params
