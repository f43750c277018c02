"""The query model → Ibis expressions over the warehouse: every indicator for many reference dates at once.

Only Ibis is used, so the same code runs on DuckDB (the default) and on PySpark; the spec tests run both and the
results must agree exactly. The semantics are those stated in `model` (and implemented row by row in `evaluate`).

How a package is evaluated, set-based over all reference dates together:

- The reference dates are one small table, `ref_date` plus, for every window the indicators use, its two edges
  (`after`, `until`) computed in Python by `model.Window.bounds` — so month arithmetic (31.03 − 1 month = 28/29.02)
  is the model's, not an engine's.
- A criterion is evaluated against *candidates*: rows (ydernummer, patient_key, ref_date, age, sex, kommune_code)
  of patients listed and alive at a practice on a reference date. `holds(criterion, candidates)` returns the
  candidates for which it holds. Candidates `None` means "everyone listed", which is never built when it can be
  avoided: a criterion that needs events (a diagnosis, a prescription, an enrolment) is evaluated from the event
  side first — events filtered to the codelist, joined to the reference dates on the window — and only the
  resulting (patient, date) pairs are joined to the listing. `all` evaluates such a part first and the rest on
  what is left; `not` subtracts from the candidates.
- Results are memoised per (criterion, candidates) so a package's shared population is computed once for all its
  indicators, and materialised (a temporary table) when reused.
- An indicator gives one row per population patient, practice and reference date: `numerator`, `denominator`
  (1/0 for patients, counts for events), `in_numerator`, `in_denominator` and the deciding fact (the latest row of
  the indicator's `fact` selection). Survey indicators give one row per practice and date instead.
- What varies from run to run — the reference dates, their window edges and the practices — reaches the SQL only
  through three small parameter tables (`refs`, `constants`, `practices`), never as literals, so the statements
  an evaluation runs depend only on the definitions, the number of dates and whether practices are limited. On
  DuckDB an evaluation records them (`plan()`); a later evaluation of the same kind runs them again (`replay`)
  instead of building and compiling the Ibis expressions, which costs far more than running them when a run is
  small (`compute.plans`).
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Callable, Iterable

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from kvalitetsplatform.contract import TABLES
from kvalitetsplatform.indicators import model as m

PK = "patient_key"
REF = "ref_date"
PRACTICE = "ydernummer"
CANDIDATE_COLUMNS = (PRACTICE, PK, REF, "age", "sex", "kommune_code")


FLAG_SCHEMA = ibis.schema({
    PRACTICE: "string", PK: "int64", REF: "date", "age": "int64", "sex": "string", "kommune_code": "string",
    "in_denominator": "boolean", "in_numerator": "boolean", "numerator": "int64", "denominator": "int64",
    "fact_date": "date", "fact_system": "string", "fact_code": "string", "fact_value": "float64",
    "fact_text": "string", "fact_unit": "string",
})
# Age bands for the strata (completed years on the reference date).
AGE_BANDS = {"0-17": (0, 17), "18-39": (18, 39), "40-59": (40, 59), "60-69": (60, 69), "70-79": (70, 79),
             "80+": (80, None)}
CELL_KEYS = (PRACTICE, REF, "kommune_code", "age_band", "sex")
CELL_SCHEMA = ibis.schema({PRACTICE: "string", REF: "date", "kommune_code": "string", "age_band": "string",
                           "sex": "string", "numerator": "float64", "denominator": "float64",
                           "sum_squares": "float64", "patients": "int64"})
SURVEY_SCHEMA = ibis.schema({PRACTICE: "string", REF: "date", "numerator": "float64", "denominator": "int64",
                             "sum_squares": "float64"})

_names = itertools.count(1)


def _name(prefix: str) -> str:
    return f"kp_{prefix}_{next(_names)}"


@dataclass
class Warehouse:
    """Where the warehouse tables are read from: an Ibis backend and, when they live in another catalog (an
    attached DuckDB file), its name."""

    con: Any
    database: str | tuple[str, str] | None = None

    def table(self, name: str) -> ir.Table:
        return self.con.table(name, database=self.database) if self.database else self.con.table(name)


@dataclass(frozen=True)
class Candidates:
    """Rows (ydernummer, patient_key, ref_date, age, sex, kommune_code); `label` names how they were derived, so
    the same derivation is recognised (and reused) across indicators. With `patients_only` the table holds just
    patient keys: whose facts to read, not yet who is listed when."""

    table: ir.Table
    label: tuple
    from_universe: bool  # derived by filtering everyone listed (large), rather than from events (small)
    patients_only: bool = False


@dataclass(frozen=True)
class Statement:
    """One table an evaluation made: `create` and `insert` SQL with the tables' names as placeholders («k»: the
    evaluation's k-th table, «stage»: the table itself when staged). `tag` is None for the evaluation's own
    (temporary) tables and the caller's tag for staged ones."""

    prefix: str
    create: str
    insert: str
    tag: tuple | None = None


@dataclass(frozen=True)
class Plan:
    """The statements of an evaluation, in order, after its `parameters` parameter tables."""

    parameters: int
    statements: tuple[Statement, ...]

    def as_json(self) -> list:
        return [self.parameters, [[s.prefix, s.create, s.insert, list(s.tag) if s.tag else None]
                                  for s in self.statements]]

    @classmethod
    def from_json(cls, data: list) -> "Plan":
        return cls(data[0], tuple(Statement(p, c, i, tuple(t) if t else None) for p, c, i, t in data[1]))


class NotReusable(ValueError):
    """An evaluation's SQL holds something that varies by run (a date, a practice list): it cannot be kept."""


@dataclass
class Evaluation:
    """Indicators evaluated over one set of reference dates on one warehouse.

    `practices` limits the evaluation to patients listed at those practices (an incremental recompute).
    `materialise` keeps reused intermediate results as temporary tables; call `close()` to drop them.
    """

    warehouse: Warehouse
    reference_dates: Iterable[date]
    indicators: Iterable[m.Indicator] = ()
    practices: Iterable[str] | None = None
    materialise: bool = True
    _windows: dict[m.Window, tuple[str | None, str]] = field(default_factory=dict, init=False)
    _memo: dict[tuple, Candidates] = field(default_factory=dict, init=False)
    _memo_tables: dict[tuple, ir.Table] = field(default_factory=dict, init=False)
    _selection_uses: dict[tuple, int] = field(default_factory=dict, init=False)
    _temporary: list[Callable[[], None]] = field(default_factory=list, init=False)
    _tables: list[str] = field(default_factory=list, init=False)  # made by this evaluation, in order
    _statements: list[Statement] = field(default_factory=list, init=False)
    _unreusable: str | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.reference_dates = sorted(set(self.reference_dates))
        if not self.reference_dates:
            raise ValueError("ingen referencedatoer")
        self.indicators = list(self.indicators)
        self.practices = sorted(set(self.practices)) if self.practices is not None else None
        self.con = self.warehouse.con
        # Ages at which the census must be split: the age bands' edges and every age limit of an indicator whose
        # denominators come from the census (so such a limit never falls inside one counted age class).
        cuts = {low for low, _ in AGE_BANDS.values()}
        for ind in self.indicators:
            if _census_path(ind):
                for node in m.walk(ind.population):
                    if isinstance(node, m.AgeRange):
                        cuts.update(a for a in (node.minimum, node.maximum + 1 if node.maximum is not None else None)
                                    if a is not None)
        self.age_cuts = sorted(c for c in cuts if c > 0)
        windows = {w for ind in self.indicators for w in windows_of(ind)}
        for ind in self.indicators:
            for events in selections_of(ind):
                key = (events.table, events.codelists, events.require)
                self._selection_uses[key] = self._selection_uses.get(key, 0) + 1
        windows.add(m.EVER)
        for i, window in enumerate(sorted(windows, key=str)):
            self._windows[window] = (None if window.start is None else f"w{i}_after", f"w{i}_until")
        self.ages = sorted({a for ind in self.indicators for c in _criteria(ind) for node in m.walk(c)
                            if isinstance(node, m.AgeRange)
                            for a in (node.minimum, node.maximum + 1 if node.maximum is not None else None)
                            if a is not None})
        self.refs = self._keep(ibis.memtable(self._reference_table()), "refs", literal=True)
        self.constants = self._keep(ibis.memtable(self._constants_table()), "constants", literal=True)
        self.practice_table = None if self.practices is None else self._keep(
            ibis.memtable(pa.table({PRACTICE: pa.array(self.practices, pa.string())})), "practices", literal=True)
        self.parameters = len(self._tables)
        self._persons: ir.Table | None = None
        self._listings: ir.Table | None = None
        self._census: ir.Table | None = None
        self._scope: ir.Table | None = None

    # --- plumbing ------------------------------------------------------------------------------------------------

    def _reference_table(self) -> pa.Table:
        dates = self.reference_dates
        columns: dict[str, pa.Array] = {REF: pa.array(dates, pa.date32()),
                                        "ref_index": pa.array(range(len(dates)), pa.int64()),
                                        "ref_year": pa.array([d.year for d in dates], pa.int64()),
                                        "ref_monthday": pa.array([d.month * 100 + d.day for d in dates], pa.int64())}
        for window, (after, until) in self._windows.items():
            bounds = [window.bounds(d) for d in dates]
            if after:
                columns[after] = pa.array([b[0] for b in bounds], pa.date32())
            columns[until] = pa.array([b[1] for b in bounds], pa.date32())
        return pa.table(columns)

    def _constants_table(self) -> pa.Table:
        """One row of the dates that vary by run, as columns (`constant`): each reference date, each window's
        edges on each date, and for each age limit the birth dates that reach it on the first and last date."""
        dates = self.reference_dates
        columns: dict[str, list[date]] = {_const("ref", i): [d] for i, d in enumerate(dates)}
        for window in self._windows:
            for i, d in enumerate(dates):
                after, until = window.bounds(d)
                if after is not None:
                    columns[self._edge(window, "after", i)] = [after]
                columns[self._edge(window, "until", i)] = [until]
        for a in self.ages:
            columns[_const("born_by", a)] = [m.Duration(a, "years").before(dates[-1])]
            columns[_const("born_after", a)] = [m.Duration(a, "years").before(dates[0])]
        return pa.table({k: pa.array(v, pa.date32()) for k, v in columns.items()})

    def _edge(self, window: m.Window, edge: str, i: int) -> str:
        after, until = self._window(window)
        return _const(after if edge == "after" else until, i)

    def _with(self, rows: ir.Table, names: Iterable[str]) -> ir.Table:
        """`rows` with the named constants as columns (a cross join with one row)."""
        names = sorted(set(names))
        return rows.cross_join(self.constants.select(*names)) if names else rows

    def _keep(self, expr: ir.Table, prefix: str, literal: bool = False) -> ir.Table:
        """Materialise `expr`: a temporary table on DuckDB (`literal`: a parameter table of in-memory data); on
        other backends a cached result (`literal`: a view of in-memory data, which a cache cannot hold)."""
        if self.con.name == "duckdb":
            name = _name(prefix)
            if literal:
                table = self.con.create_table(name, expr, temp=True)
                self._tables.append(name)
            else:
                table = self._create(name, expr, prefix)
            self._temporary.append(lambda: self.con.drop_table(name, database="temp.main", force=True))
        elif literal:
            name = _name(prefix)
            table = self.con.create_view(name, expr, overwrite=True)
            self._temporary.append(lambda: self.con.drop_view(name, force=True))
        else:
            table = expr.cache()
            self._temporary.append(table.release)
        return table

    def stage(self, expr: ir.Table, name: str, tag: tuple) -> None:
        """Materialise `expr` as the temporary table `name`, which outlives the evaluation (the caller drops it);
        recorded with `tag` so that a replay can name it again."""
        if self.con.name != "duckdb":
            raise NotImplementedError("trinvis beregning med gemte tabeller kræver DuckDB")
        self._create(name, expr, "stage", tag)

    def _create(self, name: str, expr: ir.Table, prefix: str, tag: tuple | None = None) -> ir.Table:
        """Create the temporary table `name` from `expr` on DuckDB, and record the statement with the tables'
        names as placeholders."""
        dialect = self.con.dialect
        columns = ", ".join(c.sql(dialect) for c in expr.schema().to_sqlglot_column_defs(dialect))
        create = f'CREATE TEMPORARY TABLE "{name}" ({columns})'
        insert = f'INSERT INTO "{name}" ' + self.con.compile(expr)
        raw = self.con.con
        raw.execute(create)
        raw.execute(insert)
        names = {t: f"«{k}»" for k, t in enumerate(self._tables)}
        names[name] = "«stage»" if tag is not None else f"«{len(self._tables)}»"
        if tag is None:
            self._tables.append(name)
        if self._unreusable is None:
            try:
                self._statements.append(Statement(prefix, _placeholders(create, names),
                                                  _placeholders(insert, names), tag))
            except NotReusable as e:
                self._unreusable = str(e)
        return self.con.table(name, database=("temp", "main"))

    def plan(self) -> Plan:
        """The statements this evaluation ran, for `replay`. Raises NotReusable when one of them holds something
        that would not mean the same in another run (a date, a table that is not the evaluation's own)."""
        if self._unreusable is not None:
            raise NotReusable(self._unreusable)
        return Plan(self.parameters, tuple(self._statements))

    def replay(self, plan: Plan, name_for: Callable[[tuple], str]) -> list[tuple[tuple, str]]:
        """Run the statements of `plan` (recorded by an evaluation of the same definitions, number of dates and
        scope) with this evaluation's parameter tables; staged tables are named by `name_for(tag)`. Returns the
        staged tables as (tag, name)."""
        if plan.parameters != self.parameters or len(self._tables) != self.parameters:
            raise ValueError("planen passer ikke til beregningens parametre")
        raw = self.con.con
        staged = []
        for st in plan.statements:
            if st.tag is None:
                name = _name(st.prefix)
                self._tables.append(name)
                self._temporary.append(lambda n=name: self.con.drop_table(n, database="temp.main", force=True))
            else:
                name = name_for(st.tag)
                staged.append((st.tag, name))
            fill = {**{f"«{k}»": t for k, t in enumerate(self._tables)}, "«stage»": name}
            for text in (st.create, st.insert):
                raw.execute(re.sub(r"«(?:\d+|stage)»", lambda match: fill[match.group(0)], text))
        return staged

    def close(self) -> None:
        """Drop the temporary results (the evaluation cannot be used afterwards)."""
        for drop in reversed(self._temporary):
            drop()
        self._temporary.clear()
        self._memo.clear()
        self._memo_tables.clear()

    def __enter__(self) -> "Evaluation":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _window(self, window: m.Window) -> tuple[str | None, str]:
        if window not in self._windows:
            raise KeyError(f"vinduet '{window}' blev ikke registreret; giv indikatoren til Evaluation")
        return self._windows[window]

    # --- who is listed -------------------------------------------------------------------------------------------

    def persons(self) -> ir.Table:
        """One row per patient: birth date and sex from the newest listing, the death date if any listing has
        one (as the warehouse's `patient` view and the oracle define them), from every practice's listings."""
        if self._persons is None:
            listing = self.warehouse.table("listing")
            scope = self.scope()
            if scope is not None:
                listing = listing.semi_join(scope, PK)
            persons = listing.group_by(PK).aggregate(
                birth_date=listing.birth_date.argmax(listing.list_start),
                sex=listing.sex.argmax(listing.list_start),
                death_date=listing.death_date.max(),
            )
            self._persons = self._keep(persons, "persons") if self.materialise else persons
        return self._persons

    def _listing(self) -> ir.Table:
        listing = self.warehouse.table("listing")
        if self.practice_table is not None:
            listing = listing.semi_join(self.practice_table, PRACTICE)
        return listing

    def scope(self) -> ir.Table | None:
        """Patients ever listed at the practices in scope (None: no limit). Facts are read only for them."""
        if self.practices is None:
            return None
        if self._scope is None:
            self._scope = self._keep(self._listing().select(PK).distinct(), "scope")
        return self._scope

    def listings(self) -> ir.Table:
        """One row per listing period of a patient at a practice, with the person's birth year and month-day, sex
        and death date. Listing rows at one practice that overlap (an error in the data) are merged into one
        period — the patient is listed once on those days — with the newest row's municipality."""
        if self._listings is None:
            listing = self._listing().select(PRACTICE, PK, "list_start", "list_end", "kommune_code")
            per_practice = listing.group_by([PRACTICE, PK]).aggregate(_rows=listing.count())
            listing = listing.join(per_practice, [PRACTICE, PK])
            alone = listing.filter(listing._rows == 1).drop("_rows")
            merged = _merge_overlaps(listing.filter(listing._rows > 1).drop("_rows"))
            rows = ibis.union(alone, merged).join(self.persons(), PK)
            rows = rows.select(PRACTICE, PK, "list_start", "list_end", "kommune_code", "sex", "death_date",
                               birth_year=rows.birth_date.year().cast("int64"),
                               birth_monthday=(rows.birth_date.month() * 100 + rows.birth_date.day()).cast("int64"))
            self._listings = self._keep(rows, "listings") if self.materialise else rows
        return self._listings

    def listed(self, pairs: ir.Table | None = None) -> ir.Table:
        """Candidate rows of everyone listed and alive on each reference date; with `pairs` (patient_key,
        ref_date) only those patients on those dates."""
        listings = self.listings()
        refs = self.refs.select(REF, "ref_year", "ref_monthday")
        if pairs is None:
            rows = listings.join(refs, [listings.list_start <= refs[REF]])
        else:
            pairs = pairs.select(PK, REF).join(refs, REF)
            rows = pairs.join(listings, PK).filter(lambda t: t.list_start <= t[REF])
        rows = rows.filter((rows.list_end.isnull() | (rows.list_end >= rows[REF]))
                           & (rows.death_date.isnull() | (rows.death_date > rows[REF])))
        return rows.select(*CANDIDATE_COLUMNS[:3], age=_age(rows), sex=rows.sex, kommune_code=rows.kommune_code)

    def universe(self) -> Candidates:
        key = ("listed",)
        if key not in self._memo:
            self._memo[key] = Candidates(self.listed(), key, True)
        return self._memo[key]

    def census(self) -> ir.Table:
        """Everyone listed, counted by practice, reference date, municipality, sex and age class (`age` is the
        class's lowest age; classes split at the age bands and at every age limit of the indicators that use the
        census): the denominators of indicators whose population is only an age or sex condition.

        This touches every listed patient on every date, so it is done without joins on the expanded rows: each
        listing period gets the range of reference dates it covers (by comparing with the dates as constants),
        is unnested into them, and counted by a small integer per (practice, municipality, sex)."""
        if self._census is None:
            rows, groups = self._listing_groups()
            rows, first, last = self._covered(rows)
            rows = rows.select("_group", "birth_year", "birth_monthday",
                               ref_index=ibis.range(first, last + 1).unnest())
            counted = self._by_age_class(rows, "patients")
            self._census = self._keep(counted.join(groups, "_group").drop("_group"), "census") \
                if self.materialise else counted.join(groups, "_group").drop("_group")
        return self._census

    def _listing_groups(self) -> tuple[ir.Table, ir.Table]:
        """The listing periods with a small integer `_group` per (practice, municipality, sex), and the groups."""
        listings = self.listings()
        groups = listings.select(PRACTICE, "kommune_code", "sex").distinct()
        groups = groups.mutate(_group=ibis.row_number().over(order_by=[groups[PRACTICE], groups.kommune_code,
                                                                       groups.sex]))
        if self.materialise:
            groups = self._keep(groups, "groups")
        return listings.join(groups, [PRACTICE, "kommune_code", "sex"]), groups

    def _covered(self, rows: ir.Table, window: m.Window | None = None
                 ) -> tuple[ir.Table, ir.IntegerValue, ir.IntegerValue]:
        """`rows` with the constants of the reference dates (and of `window`'s edges), and the first and last index
        of the reference dates a listing period covers alive (last < first: none)."""
        n = len(self.reference_dates)
        names = [_const("ref", i) for i in range(n)]
        if window is not None:
            names += [self._edge(window, edge, i) for i in range(n)
                      for edge in (("after", "until") if window.start is not None else ("until",))]
        rows = self._with(rows, names)
        dates = [rows[_const("ref", i)] for i in range(n)]
        first = _add([(rows.list_start > d).ifelse(1, 0) for d in dates])
        until_end = rows.list_end.isnull().ifelse(n, _add([(d <= rows.list_end).ifelse(1, 0) for d in dates]))
        until_death = rows.death_date.isnull().ifelse(n, _add([(d < rows.death_date).ifelse(1, 0) for d in dates]))
        return rows, first.cast("int64"), (ibis.least(until_end, until_death) - 1).cast("int64")

    def _by_age_class(self, rows: ir.Table, name: str, weight: str | None = None) -> ir.Table:
        """`rows` (with _group, ref_index, birth_year, birth_monthday) counted — or their `weight` summed — as
        `name` by (_group, ref_date, age class)."""
        refs = self.refs.select("ref_index", REF, "ref_year", "ref_monthday")
        rows = rows.view().join(refs, "ref_index")  # view: a new relation, not part of the listing joins
        age = _age(rows)
        bounds = [0, *self.age_cuts]
        cls = ibis.cases(*[(age < cut, low) for low, cut in zip(bounds, self.age_cuts)], else_=bounds[-1]) \
            if self.age_cuts else ibis.literal(0)
        rows = rows.mutate(age=cls.cast("int64"))
        value = rows.count() if weight is None else rows[weight].sum()
        return rows.group_by(["_group", REF, "age"]).aggregate(**{name: value})

    def event_census(self, events: m.Events) -> ir.Table:
        """The selection's events counted like the census — by practice, reference date, municipality, sex and age
        class of the patient on the date — for each date whose window holds the event and on which the patient
        is listed and alive: the numerators of event-counting indicators of age/sex-only populations. Each event
        meets the patient's listing periods, and the reference dates both cover are unnested, so no per-patient
        count over all dates is ever built."""
        key = ("event census", events)
        if key in self._memo_tables:
            return self._memo_tables[key]
        rows = self.rows(events).select(PK, "day")
        listings, groups = self._listing_groups()
        j, first, last = self._covered(rows.join(listings, PK), events.window)
        n = len(self.reference_dates)
        low = _add([(j.day > j[self._edge(events.window, "until", i)]).ifelse(1, 0) for i in range(n)])
        high = (_add([(j.day > j[self._edge(events.window, "after", i)]).ifelse(1, 0) for i in range(n)]) - 1
                if events.window.start is not None else ibis.literal(n - 1))
        start, stop = ibis.greatest(first, low.cast("int64")), ibis.least(last, high.cast("int64"))
        j = j.select("_group", "birth_year", "birth_monthday", ref_index=ibis.range(start, stop + 1).unnest())
        counted = self._by_age_class(j, "events").join(groups, "_group").drop("_group")
        counted = self._keep(counted, "event_census") if self.materialise else counted
        self._memo_tables[key] = counted
        return counted

    # --- events --------------------------------------------------------------------------------------------------

    def rows(self, events: m.Events) -> ir.Table:
        """The selection's rows on any day: patient_key, day, time, system, code, value, text, unit, row_id. A
        selection several indicators use is read from the warehouse once and kept."""
        key = ("rows", events.table, events.codelists, events.require)
        if key in self._memo_tables:
            return self._memo_tables[key]
        source = events.source
        t = self._facts(source.name)
        predicates = []
        if events.codelists:
            predicates.append(codelist_filter(t, source, events.codelists))
        for flag in events.require:
            predicates.append(t[flag].fill_null(False))
        if predicates:
            t = t.filter(*predicates)
        columns = TABLES[source.name].columns
        fixed_system = source.systems[0] if not source.system and len(source.systems) == 1 else None
        rows = t.select(
            PK,
            day=t[source.day],
            time=t[source.time],
            system=t[source.system] if source.system else ibis.literal(fixed_system, "string"),
            code=t[source.code],
            value=t[source.value] if source.value else ibis.null("float64"),
            text=t[source.text] if source.text else ibis.null("string"),
            unit=t["unit"] if "unit" in columns else ibis.null("string"),
            row_id=t[TABLES[source.name].key[0]],
        )
        if self.materialise and self._selection_uses.get(key[1:], 0) > 1:
            rows = self._keep(rows, "rows")
        self._memo_tables[key] = rows
        return rows

    def _facts(self, name: str) -> ir.Table:
        """A warehouse table, limited to the patients in scope when practices are limited — then kept, when
        several selections read it, so the national table is read once."""
        t = self.warehouse.table(name)
        scope = self.scope()
        if scope is None:
            return t
        key = ("facts", name)
        if key not in self._memo_tables:
            facts = t.semi_join(scope, PK)
            uses = sum(n for (table, *_), n in self._selection_uses.items() if table == name)
            self._memo_tables[key] = self._keep(facts, "facts") if self.materialise and uses > 1 else facts
        return self._memo_tables[key]

    def patients_of(self, cand: Candidates | None) -> ir.Table | None:
        """The distinct patients among candidates (None for everyone listed: no point in narrowing by them)."""
        if cand is None or cand.from_universe:
            return None
        if cand.patients_only:
            return cand.table
        key = ("patients", cand.label)
        if key not in self._memo_tables:
            patients = cand.table.select(PK).distinct()
            self._memo_tables[key] = self._keep(patients, "patients") if self.materialise else patients
        return self._memo_tables[key]

    def rows_of(self, events: m.Events, cand: Candidates | None) -> ir.Table:
        """The selection's rows of the candidates' patients (of everyone for None or everyone listed), kept as a
        temporary table when narrowed, so the engine reads few rows before it meets the reference dates."""
        rows = self.rows(events)
        patients = self.patients_of(cand)
        if patients is None:
            return rows
        key = ("rows of", events.table, events.codelists, events.require, cand.label)
        if key not in self._memo_tables:
            narrowed = rows.semi_join(patients, PK)
            self._memo_tables[key] = self._keep(narrowed, "patient_rows") if self.materialise else narrowed
        return self._memo_tables[key]

    def in_window(self, rows: ir.Table, window: m.Window) -> ir.Table:
        """`rows` joined to each reference date whose window contains the row's day."""
        after, until = self._window(window)
        bounds = self.refs.select(REF, *([after] if after else []), until)
        predicates = [rows.day <= bounds[until]]
        if after:
            predicates.append(rows.day > bounds[after])
        joined = rows.join(bounds, predicates)
        return joined.select(PK, REF, "day", "time", "system", "code", "value", "text", "unit", "row_id")

    def counts(self, events: m.Events, cand: Candidates | None, distinct_codes: bool = False) -> ir.Table:
        """(patient_key, ref_date, n): the number of selected rows (or distinct codes) in the window, for every
        pair with at least one. Kept, as several indicators count the same events (antibiotics)."""
        key = ("counts", events, cand.label if cand is not None and not cand.from_universe else None,
               distinct_codes)
        if key not in self._memo_tables:
            rows = self.in_window(self.rows_of(events, cand), events.window)
            n = rows.code.nunique() if distinct_codes else rows.count()
            counts = rows.group_by([PK, REF]).aggregate(n=n.cast("int64"))
            self._memo_tables[key] = self._keep(counts, "counts") if self.materialise else counts
        return self._memo_tables[key]

    def latest(self, events: m.Events, cand: Candidates | None, column: str | None = None,
               fact: bool = False) -> ir.Table:
        """The newest selected row per (patient_key, ref_date) whose window holds it, at most one per pair.

        Ties at the same time: with `column` ("value" or "text"), only rows that have it take part and the
        highest wins; with `fact`, a row with a number before one without and the highest number first, then
        likewise the text, then the lowest code and row id — so the choice never depends on the engine.

        Rather than meeting every row with every reference date and ranking, each row learns when the next row
        of the same patient starts (`lead`); a row is the newest on the dates from its own day until the day
        before the next one, which is a join that yields one row per (patient, date)."""
        rows = self.rows_of(events, cand)
        order = [rows.time]
        if column:
            rows = rows.filter(rows[column].notnull())
            order = [rows.time, rows[column]]
        elif fact:
            order = [rows.time]
            for c in ("value", "text"):
                order += [rows[c].notnull(), rows[c]]
            order += [ibis.desc(rows.code), ibis.desc(rows.row_id)]
        following = rows.day.lead().over(group_by=rows[PK], order_by=order)
        rows = rows.mutate(_next=following)
        after, until = self._window(events.window)
        bounds = self.refs.select(REF, *([after] if after else []), until)
        predicates = [rows.day <= bounds[until], rows._next.isnull() | (rows._next > bounds[until])]
        if after:
            predicates.append(rows.day > bounds[after])
        joined = rows.join(bounds, predicates)
        return joined.select(PK, REF, "day", "time", "system", "code", "value", "text", "unit", "row_id")

    def distinct_codes(self, events: m.Events, cand: Candidates | None) -> ir.Table:
        """(patient_key, ref_date, n): the number of different codes among the selected rows in the window.

        Each code of a patient is "the newest of its code" from its day until the next prescription of the same
        code; over that stretch and the window, it counts for a contiguous run of reference dates, found by
        comparing with the dates as constants and unnested — so repeated prescriptions of the same drug never
        multiply the rows (polypharmacy over everyone's prescriptions stays cheap)."""
        key = ("distinct codes", events, cand.label if cand is not None and not cand.from_universe else None)
        if key in self._memo_tables:
            return self._memo_tables[key]
        rows = self.rows_of(events, cand).select(PK, "code", "day").distinct()
        rows = rows.mutate(_next=rows.day.lead().over(group_by=[rows[PK], rows.code], order_by=rows.day))
        rows = self._date_runs(rows, events.window, "day")
        counted = rows.group_by([PK, "ref_index"]).aggregate(n=rows.count().cast("int64"))
        refs = self.refs.select("ref_index", REF)
        counted = counted.view().join(refs, "ref_index").select(PK, REF, "n")
        counted = self._keep(counted, "distinct_codes") if self.materialise else counted
        self._memo_tables[key] = counted
        return counted

    def at_least(self, events: m.Events, cand: Candidates | None, k: int) -> ir.Table:
        """(patient_key, ref_date) with at least `k` selected rows in the window.

        With the patient's rows in day order, a date has k rows in its window when the newest row on or before its
        end, and the row k − 1 places before that, both fall in the window. Each row is the newest from its day
        until the day before the next row; with the day of the row k − 1 places back (`lag`) that gives a
        contiguous run of reference dates, found by comparing with the dates as constants and unnested — one row
        per (patient, date), never a row per event and date."""
        rows = self.rows_of(events, cand).select(PK, "day")
        order = rows.day
        rows = rows.mutate(_next=rows.day.lead().over(group_by=rows[PK], order_by=order),
                           _back=(rows.day.lag(k - 1).over(group_by=rows[PK], order_by=order) if k > 1
                                  else rows.day))
        rows = self._date_runs(rows.filter(rows._back.notnull()), events.window, "_back")
        refs = self.refs.select("ref_index", REF)
        return rows.view().join(refs, "ref_index").select(PK, REF)

    def _date_runs(self, rows: ir.Table, window: m.Window, oldest: str) -> ir.Table:
        """(patient_key, ref_index) for every reference date on which a row is the newest — from its `day` until
        the day before `_next` — while its `oldest` day still lies in the window: a contiguous run of dates,
        found by comparing with the dates as constants and unnested."""
        n = len(self.reference_dates)
        edges = ("after", "until") if window.start is not None else ("until",)
        rows = self._with(rows, [self._edge(window, edge, i) for i in range(n) for edge in edges])
        until = [rows[self._edge(window, "until", i)] for i in range(n)]
        low = _add([(rows.day > u).ifelse(1, 0) for u in until])
        newest_until = rows._next.isnull().ifelse(n - 1, _add([(rows._next > u).ifelse(1, 0) for u in until]) - 1)
        in_window_until = (_add([(rows[oldest] > rows[self._edge(window, "after", i)]).ifelse(1, 0)
                                 for i in range(n)]) - 1 if window.start is not None else ibis.literal(n - 1))
        high = ibis.least(newest_until, in_window_until)
        return rows.select(PK, ref_index=ibis.range(low.cast("int64"), high.cast("int64") + 1).unnest())

    def possible(self, population: m.Criterion) -> Candidates | None:
        """The patients who could meet an age/sex population on some reference date (None: anyone): those of
        the right sex whose age over the dates' span reaches the age range. Only their facts need reading."""
        parts = population.parts if isinstance(population, m.AllOf) else (population,)
        if not parts or not all(isinstance(p, (m.AgeRange, m.SexIs)) for p in parts):
            return None
        key = ("possible", parts)
        if key in self._memo:
            return self._memo[key]
        ages = [(p.minimum, p.maximum) for p in parts if isinstance(p, m.AgeRange)]
        persons = self._with(self.persons(), [_const("born_by", low) for low, _ in ages if low is not None]
                             + [_const("born_after", high + 1) for _, high in ages if high is not None])
        tests = [persons.sex == p.sex for p in parts if isinstance(p, m.SexIs)]
        for low, high in ages:
            if low is not None:  # the oldest a patient gets is on the last date
                tests.append(persons[_const("born_by", low)] >= persons.birth_date)
            if high is not None:  # the youngest is on the first date
                tests.append(persons[_const("born_after", high + 1)] < persons.birth_date)
        table = persons.filter(*tests).select(PK)
        if self.materialise:
            table = self._keep(table, "possible")
        self._memo[key] = Candidates(table, key, False, patients_only=True)
        return self._memo[key]

    # --- criteria ------------------------------------------------------------------------------------------------

    def holds(self, criterion: m.Criterion, candidates: Candidates | None) -> Candidates:
        """The candidates (None: everyone listed) for which `criterion` holds."""
        key = (criterion, candidates.label if candidates is not None else None)
        if key not in self._memo:
            self._memo[key] = self._holds(criterion, candidates)
        return self._memo[key]

    def _holds(self, c: m.Criterion, cand: Candidates | None) -> Candidates:
        label = ("holds", c, cand.label if cand is not None else None)
        if _decided_by_events(c):
            # decided by events alone: find the (patient, date) pairs, then meet the candidates (or the listing)
            pairs = self.pairs(c, cand)
            if cand is None:
                return Candidates(self.listed(pairs), label, False)
            return Candidates(cand.table.semi_join(pairs, [PK, REF]), label, cand.from_universe)
        match c:
            case m.AllOf(parts):
                if not parts:
                    return cand if cand is not None else self.universe()
                ordered = _order_parts(parts, cand is None)
                current = cand
                demographic = [p for p in parts if isinstance(p, (m.AgeRange, m.SexIs))]
                if cand is None and demographic and _decided_by_events(ordered[0]):
                    # start from the event part, reading only the facts of patients the age/sex parts allow
                    pairs = self.pairs(ordered[0], self.possible(m.AllOf(tuple(demographic))))
                    current = Candidates(self.listed(pairs), ("anchored", ordered[0], tuple(demographic)), False)
                    ordered = ordered[1:]
                for part in ordered:
                    current = self.holds(part, current)
                return current
            case m.AnyOf(parts):
                cand = cand if cand is not None else self.universe()
                results = [self.holds(p, cand) for p in parts]
                if len(results) == 1:
                    return results[0]
                table = ibis.union(*[r.table.select(*CANDIDATE_COLUMNS) for r in results], distinct=True)
                return Candidates(table, label, cand.from_universe)
            case m.Not(part):
                cand = cand if cand is not None else self.universe()
                excluded = self.holds(part, cand).table.select(PK, REF)
                return Candidates(cand.table.anti_join(excluded, [PK, REF]), label, cand.from_universe)
            case m.AgeRange() | m.SexIs():
                cand = cand if cand is not None else self.universe()
                return Candidates(cand.table.filter(demographic_test(c, cand.table)), label, cand.from_universe)
            case m.HasEvents(_, at_least) | m.HasDistinctCodes(_, at_least) if at_least <= 0:
                return cand if cand is not None else self.universe()
        raise TypeError(f"ukendt kriterium {criterion_name(c)}")

    def pairs(self, c: m.Criterion, cand: Candidates | None) -> ir.Table:
        """(patient_key, ref_date), each once, for which a criterion decided by events alone holds (see
        `_decided_by_events`), reading only the facts of the candidates' patients. Not limited to the candidates'
        dates or to listed patients: callers meet the pairs with the candidates."""
        key = ("pairs", c, cand.label if cand is not None else None)
        if key in self._memo_tables:
            return self._memo_tables[key]
        match c:
            case m.AllOf(parts):
                pairs = self.pairs(parts[0], cand)
                for part in parts[1:]:
                    pairs = pairs.semi_join(self.pairs(part, cand), [PK, REF])
            case m.AnyOf(parts):
                pairs = ibis.union(*[self.pairs(p, cand) for p in parts], distinct=True)
            case m.EnrolledOn(condition):
                e = self.warehouse.table("chronic_enrolment")
                e = e.filter(e.condition == condition)
                scope = self.scope()
                if scope is not None:
                    e = e.semi_join(scope, PK)
                patients = self.patients_of(cand)
                if patients is not None:
                    e = e.semi_join(patients, PK)
                refs = self.refs.select(REF)
                pairs = e.join(refs, [e.start_date <= refs[REF]])
                pairs = pairs.filter(pairs.end_date.isnull() | (pairs.end_date >= pairs[REF]))
                pairs = pairs.select(PK, REF).distinct()  # two enrolments may overlap
            case m.HasEvents(events, 1) if events.window.start is None:
                # "ever": the first selected day decides, so aggregate per patient before meeting the dates
                rows = self.rows_of(events, cand)
                first = rows.group_by(PK).aggregate(first_day=rows.day.min())
                until = self._window(events.window)[1]
                refs = self.refs.select(REF, until)
                pairs = first.join(refs, [first.first_day <= refs[until]]).select(PK, REF)
            case m.HasEvents(events, at_least):
                pairs = self.at_least(events, cand, at_least)
            case m.HasDistinctCodes(events, at_least):
                n = self.distinct_codes(events, cand)
                pairs = n.filter(n.n >= at_least).select(PK, REF)
            case m.LatestValue(events, test):
                source = events.source
                column = "value" if isinstance(test, m.NumberTest) else "text"
                if (source.value if column == "value" else source.text) is None:
                    raise ValueError(f"{source.name} har ingen {'talværdi' if column == 'value' else 'tekstværdi'}")
                latest = self.latest(events, cand, column)
                pairs = latest.filter(_test(latest[column], test)).select(PK, REF)
            case _:
                raise TypeError(f"{criterion_name(c)} afgøres ikke af hændelser alene")
        self._memo_tables[key] = pairs
        return pairs

    # --- indicators ----------------------------------------------------------------------------------------------

    def population(self, indicator: m.Indicator, candidates: Candidates | None = None) -> Candidates:
        """Listed patients on each reference date (among `candidates`, when given) who meet the population and
        not the exclusions."""
        if indicator.population is None:
            raise ValueError(f"{indicator.id} er en spørgeskemaindikator uden patienter")
        population = self.holds(indicator.population, candidates)
        if indicator.exclusions is not None:
            population = self.holds(m.Not(indicator.exclusions), population)
        return population

    def _shared(self, cand: Candidates) -> Candidates:
        """`cand` as a temporary table when it is small enough to be worth keeping (it is read several times)."""
        if not self.materialise or cand.from_universe or cand.label[:1] == ("kept",):
            return cand
        key = ("kept", cand.label)
        if key not in self._memo:
            self._memo[key] = Candidates(self._keep(cand.table, "population"), key, cand.from_universe)
        return self._memo[key]

    def patients(self, indicator: m.Indicator, events_only: bool = False, facts: bool = True) -> ir.Table:
        """One row per population patient, practice and reference date (see FLAG_SCHEMA). With `events_only`
        (rates and event proportions) only the patients with at least one counted event; without `facts` the
        fact columns are left empty (cheaper, for counting)."""
        measure = indicator.measure
        if isinstance(measure, m.SurveyMean):
            raise ValueError(f"{indicator.id} er en spørgeskemaindikator; brug survey()")
        if events_only:
            if not isinstance(measure, (m.EventRate, m.EventProportion)):
                raise ValueError(f"{indicator.id} tæller patienter, ikke hændelser")
            counted = measure.events if isinstance(measure, m.EventRate) else measure.denominator
            pairs = self.counts(counted, None).select(PK, REF)
            start = Candidates(self.listed(pairs), ("with events", counted), False)
            population = self._shared(self.population(indicator, start))
        else:
            population = self._shared(self.population(indicator))
        base = population.table
        if isinstance(measure, m.PatientProportion):
            if _decided_by_events(measure.numerator):  # the pairs are already one per (patient, date)
                hits = self.pairs(measure.numerator, population)
            else:
                hits = self.holds(measure.numerator, population).table.select(PK, REF).distinct()
            base = _left_join(base, hits.mutate(_hit=ibis.literal(1, "int64")))
            numerator = base._hit.fill_null(0)
            denominator = ibis.literal(1, "int64")
        elif isinstance(measure, m.EventRate):
            base = _left_join(base, self.counts(measure.events, population).rename(_num="n"))
            numerator = base._num.fill_null(0)
            denominator = ibis.literal(1, "int64")
        elif isinstance(measure, m.EventProportion):
            base = _left_join(base, self.counts(measure.numerator, population).rename(_num="n"))
            base = _left_join(base, self.counts(measure.denominator, population).rename(_den="n"))
            numerator = base._num.fill_null(0)
            denominator = base._den.fill_null(0)
        else:  # pragma: no cover - the model is closed
            raise TypeError(f"ukendt mål {measure!r}")
        base = base.mutate(numerator=numerator.cast("int64"), denominator=denominator.cast("int64"))
        if indicator.fact is not None and facts:
            fact = self.latest(indicator.fact, population, fact=True).select(
                PK, REF, fact_date="day", fact_system="system", fact_code="code", fact_value="value",
                fact_text="text", fact_unit="unit")
            base = _left_join(base, fact)
        else:
            base = base.mutate(fact_date=ibis.null("date"), fact_system=ibis.null("string"),
                               fact_code=ibis.null("string"), fact_value=ibis.null("float64"),
                               fact_text=ibis.null("string"), fact_unit=ibis.null("string"))
        base = base.mutate(in_denominator=base.denominator > 0, in_numerator=base.numerator > 0)
        return base.select(*FLAG_SCHEMA.names).cast(FLAG_SCHEMA)

    def cells(self, indicator: m.Indicator) -> ir.Table:
        """Numerator and denominator summed per practice, reference date, municipality of residence, age band
        and sex (see CELL_SCHEMA): everything the org levels and strata are added up from.

        When the population is only an age or sex condition (antibiotic rates, polypharmacy among the over-65s)
        the denominators come from the shared `census` and the numerators from the event side, so the whole
        listed population is never carried patient by patient."""
        measure = indicator.measure
        if isinstance(measure, m.SurveyMean):
            s = self.survey(indicator)
            return s.mutate(kommune_code=ibis.null("string"), age_band=ibis.null("string"), sex=ibis.null("string"),
                            patients=ibis.null("int64")).select(*CELL_SCHEMA.names).cast(CELL_SCHEMA)
        if not _census_path(indicator):
            f = self.patients(indicator, facts=False)
            f = f.mutate(age_band=age_band(f.age))
            cells = f.group_by(list(CELL_KEYS)).aggregate(numerator=f.numerator.sum(), denominator=f.denominator.sum(),
                                                           patients=f.count())
            return cells.mutate(sum_squares=ibis.null("float64")).select(*CELL_SCHEMA.names).cast(CELL_SCHEMA)
        population = indicator.population
        if not all(a in self.age_cuts for n in m.walk(population) if isinstance(n, m.AgeRange)
                   for a in (n.minimum, n.maximum + 1 if n.maximum is not None else None) if a):
            raise ValueError(f"{indicator.id} blev ikke givet til Evaluation; dens aldersgrænser mangler i tællingen")

        def by_cell(t: ir.Table, **sums: str) -> ir.Table:
            t = t.filter(demographic_test(population, t))
            t = t.mutate(age_band=age_band(t.age))
            return t.group_by(list(CELL_KEYS)).aggregate(**{name: t[col].sum() for name, col in sums.items()})

        den = by_cell(self.census(), patients="patients")
        if isinstance(measure, m.PatientProportion):
            hits = self.listed(self.pairs(measure.numerator, self.possible(population)))
            num = by_cell(hits.mutate(_one=ibis.literal(1, "int64")), _num="_one")
            cells = den.left_join(num, list(CELL_KEYS)).drop(*[f"{k}_right" for k in CELL_KEYS])
            cells = cells.mutate(numerator=cells._num.fill_null(0), denominator=cells.patients)
        elif isinstance(measure, m.EventRate):
            num = by_cell(self.event_census(measure.events), _num="events")
            cells = den.left_join(num, list(CELL_KEYS)).drop(*[f"{k}_right" for k in CELL_KEYS])
            cells = cells.mutate(numerator=cells._num.fill_null(0), denominator=cells.patients)
        else:
            num = by_cell(self.event_census(measure.numerator), _num="events")
            events = by_cell(self.event_census(measure.denominator), _den="events")
            cells = den.left_join(events, list(CELL_KEYS)).drop(*[f"{k}_right" for k in CELL_KEYS])
            cells = cells.left_join(num, list(CELL_KEYS)).drop(*[f"{k}_right" for k in CELL_KEYS])
            cells = cells.mutate(numerator=cells._num.fill_null(0), denominator=cells._den.fill_null(0))
        return cells.mutate(sum_squares=ibis.null("float64")).select(*CELL_SCHEMA.names).cast(CELL_SCHEMA)

    def survey(self, indicator: m.Indicator) -> ir.Table:
        """One row per practice and reference date with answers: the sum of scores, their number and the sum of
        their squares (for a confidence interval)."""
        measure = indicator.measure
        if not isinstance(measure, m.SurveyMean):
            raise ValueError(f"{indicator.id} er ikke en spørgeskemaindikator")
        s = self.warehouse.table("survey_response")
        if self.practice_table is not None:
            s = s.semi_join(self.practice_table, PRACTICE)
        scores = [s[item].cast("float64") for item in measure.items]
        s = s.select(
            PRACTICE, day=s.answered_date,
            total=_add([x.fill_null(0) for x in scores]),
            answered=_add([x.notnull().ifelse(1, 0) for x in scores]),
            squares=_add([(x * x).fill_null(0) for x in scores]),
        )
        after, until = self._window(measure.window)
        bounds = self.refs.select(REF, *([after] if after else []), until)
        predicates = [s.day <= bounds[until]]
        if after:
            predicates.append(s.day > bounds[after])
        j = s.join(bounds, predicates)
        out = j.group_by([PRACTICE, REF]).aggregate(numerator=j.total.sum(), denominator=j.answered.sum(),
                                                    sum_squares=j.squares.sum())
        return out.filter(out.denominator > 0).select(*SURVEY_SCHEMA.names).cast(SURVEY_SCHEMA)


# --- helpers -------------------------------------------------------------------------------------------------------


def _const(name: str, i: int) -> str:
    return f"c_{name}_{i}"


_TABLE_NAME = re.compile(r'"(kp_[a-z_]+_\d+)"')
_DATE_LITERAL = re.compile(r"MAKE_DATE\((?!9999, 12, 31\))[^)]*\)|DATE '[^']*'|'\d{4}-\d{2}-\d{2}'")


def _placeholders(sql: str, names: dict[str, str]) -> str:
    """`sql` with the evaluation's table names replaced by their placeholders; NotReusable when it names another
    table of an evaluation or holds a date (anything that varies by run must come from a parameter table)."""
    def swap(match: re.Match) -> str:
        if match.group(1) not in names:
            raise NotReusable(f"SQL'en nævner tabellen {match.group(1)}, som ikke er beregningens egen")
        return f'"{names[match.group(1)]}"'
    sql = _TABLE_NAME.sub(swap, sql)
    literal = _DATE_LITERAL.search(sql)
    if literal:
        raise NotReusable(f"en dato står som konstant i SQL'en: {literal.group(0)}")
    if "memtable" in sql:
        raise NotReusable("en tabel i hukommelsen står i SQL'en")
    return sql


def _criteria(indicator: m.Indicator) -> list[m.Criterion]:
    measure = indicator.measure
    found = [indicator.population, indicator.exclusions,
             measure.numerator if isinstance(measure, m.PatientProportion) else None]
    return [c for c in found if c is not None]


def _age(rows: ir.Table) -> ir.IntegerValue:
    """Completed years on the reference date from `ref_year`/`ref_monthday` and `birth_year`/`birth_monthday`
    (born 29.02: a year older on 01.03 in other years)."""
    return (rows.ref_year - rows.birth_year - (rows.ref_monthday < rows.birth_monthday).ifelse(1, 0)).cast("int64")


def _merge_overlaps(listing: ir.Table) -> ir.Table:
    """Overlapping listing periods of one patient at one practice merged (gaps and islands: a period starts a new
    island when it begins after every earlier one has ended); the newest period's municipality."""
    far = ibis.date(9999, 12, 31)
    t = listing.mutate(_end=listing.list_end.fill_null(far))
    order = [t.list_start, t._end]
    t = t.mutate(_reach=t._end.max().over(ibis.cumulative_window(group_by=[t[PRACTICE], t[PK]], order_by=order)))
    t = t.mutate(_before=t._reach.lag().over(group_by=[t[PRACTICE], t[PK]], order_by=[t.list_start, t._end]))
    t = t.mutate(_new=(t._before.isnull() | (t.list_start > t._before)).ifelse(1, 0))
    t = t.mutate(_island=t._new.sum().over(ibis.cumulative_window(group_by=[t[PRACTICE], t[PK]],
                                                                  order_by=[t.list_start, t._end])))
    merged = t.group_by([PRACTICE, PK, "_island"]).aggregate(
        list_start=t.list_start.min(), _end=t._end.max(), kommune_code=t.kommune_code.argmax(t.list_start))
    return merged.select(PRACTICE, PK, "list_start", list_end=(merged._end == far).ifelse(ibis.null("date"), merged._end),
                         kommune_code=merged.kommune_code)


def _left_join(base: ir.Table, other: ir.Table) -> ir.Table:
    """`base` with `other`'s columns for the same (patient_key, ref_date) (empty where it has none)."""
    return base.left_join(other, [PK, REF]).drop(f"{PK}_right", f"{REF}_right")


def age_band(age: ir.IntegerValue) -> ir.StringValue:
    return ibis.cases(*[((age <= high) if high is not None else ibis.literal(True), label)
                        for label, (low, high) in AGE_BANDS.items()])


def _demographic(c: m.Criterion) -> bool:
    return all(isinstance(n, (m.AllOf, m.AnyOf, m.Not, m.AgeRange, m.SexIs)) for n in m.walk(c))


def demographic_test(c: m.Criterion, t: ir.Table) -> ir.BooleanValue:
    """An age/sex criterion as a condition on a table's `age` and `sex` columns."""
    match c:
        case m.AllOf(parts):
            return ibis.and_(*[demographic_test(p, t) for p in parts]) if parts else ibis.literal(True)
        case m.AnyOf(parts):
            return ibis.or_(*[demographic_test(p, t) for p in parts]) if parts else ibis.literal(False)
        case m.Not(part):
            return ~demographic_test(part, t)
        case m.AgeRange(minimum, maximum):
            tests = ([t.age >= minimum] if minimum is not None else []) + ([t.age <= maximum] if maximum is not None
                                                                           else [])
            return ibis.and_(*tests) if tests else ibis.literal(True)
        case m.SexIs(sex):
            return t.sex == sex
    raise TypeError(f"{criterion_name(c)} er ikke en alders- eller kønsbetingelse")


def _census_path(indicator: m.Indicator) -> bool:
    """Whether `cells` can take the denominators from the census (see there)."""
    if indicator.population is None or indicator.exclusions is not None or not _demographic(indicator.population):
        return False
    measure = indicator.measure
    if isinstance(measure, m.PatientProportion):
        return _decided_by_events(measure.numerator)
    return isinstance(measure, (m.EventRate, m.EventProportion))


def _add(values: list[ir.Value]) -> ir.Value:
    total = values[0]
    for v in values[1:]:
        total = total + v
    return total


def _test(x: ir.Value, test: m.NumberTest | m.TextTest) -> ir.BooleanValue:
    if isinstance(test, m.TextTest):
        return x.isin(list(test.values))
    if test.op == "between":
        if test.upper is None:
            return ibis.literal(False)
        return (x >= test.value) & (x <= test.upper)
    return {"<": x < test.value, "<=": x <= test.value, ">": x > test.value, ">=": x >= test.value}[test.op]


def codelist_filter(t: ir.Table, source: m.EventTable, codelists: tuple[m.Codelist, ...]) -> ir.BooleanValue:
    """Rows whose code is in any of the codelists (the model's `Codelist.matches`, as set look-ups: exact codes
    by equality, prefixes grouped by length and compared on the code's first characters)."""
    code = t[source.code]
    system = t[source.system] if source.system else None
    return ibis.or_(*[_matches(code, system, c.codes, c.match) & ~_matches(code, system, c.exclude, c.match)
                      if c.exclude else _matches(code, system, c.codes, c.match) for c in codelists])


def _matches(code: ir.StringValue, system: ir.StringValue | None, codes: tuple[m.Code, ...],
             match: str) -> ir.BooleanValue:
    groups: dict[tuple[str | None, int | None], list[str]] = {}
    for c in codes:
        length = len(c.code) if match == "prefix" else None
        groups.setdefault((c.system if system is not None else None, length), []).append(c.code)
    tests = []
    for (sys, length), values in sorted(groups.items(), key=lambda kv: (kv[0][0] or "", kv[0][1] or 0)):
        # A prefix also matches the code itself, which a length-limited substring comparison covers.
        subject = code if length is None else code.substr(0, length)
        test = subject.isin(sorted(set(values)))
        if sys is not None:
            test = (system == sys) & test
        tests.append(test)
    return ibis.or_(*tests) if tests else ibis.literal(False)


def _has_support(c: m.Criterion) -> bool:
    """Whether the criterion can only hold for patients with some event (so it can be evaluated from the event
    side, without everyone listed)."""
    match c:
        case m.HasEvents(_, at_least) | m.HasDistinctCodes(_, at_least):
            return at_least >= 1
        case m.LatestValue() | m.EnrolledOn():
            return True
        case m.AllOf(parts):
            return any(_has_support(p) for p in parts)
        case m.AnyOf(parts):
            return bool(parts) and all(_has_support(p) for p in parts)
    return False


def _decided_by_events(c: m.Criterion) -> bool:
    """Whether the criterion is about events only (no age, sex or negation anywhere), so `pairs` can decide it."""
    match c:
        case m.HasEvents(_, at_least) | m.HasDistinctCodes(_, at_least):
            return at_least >= 1
        case m.LatestValue() | m.EnrolledOn():
            return True
        case m.AllOf(parts) | m.AnyOf(parts):
            return bool(parts) and all(_decided_by_events(p) for p in parts)
    return False


def _order_parts(parts: tuple[m.Criterion, ...], from_nothing: bool) -> list[m.Criterion]:
    """Evaluation order for `all`: a part with event support first when starting from nothing (it yields few
    candidates), then plain filters on the candidates (age, sex), then the rest, negations last."""
    def cost(p: m.Criterion) -> int:
        if isinstance(p, (m.AgeRange, m.SexIs)):
            return 1
        if isinstance(p, m.Not):
            return 3
        return 2
    ordered = sorted(parts, key=cost)
    if from_nothing:
        supported = [p for p in parts if _has_support(p)]
        if supported:
            first = supported[0]
            ordered = [first] + [p for p in ordered if p is not first]
    return ordered


def selections_of(indicator: m.Indicator) -> list[m.Events]:
    """Every event selection an indicator reads (criteria, measure, fact)."""
    found: list[m.Events] = []
    for c in _criteria(indicator):
        found += [n.events for n in m.walk(c) if isinstance(getattr(n, "events", None), m.Events)]
    measure = indicator.measure
    if isinstance(measure, m.EventRate):
        found.append(measure.events)
    elif isinstance(measure, m.EventProportion):
        found += [measure.numerator, measure.denominator]
    if indicator.fact is not None:
        found.append(indicator.fact)
    return found


def windows_of(indicator: m.Indicator) -> set[m.Window]:
    """Every window an indicator's criteria, measure and fact use."""
    found: set[m.Window] = set()

    def criterion(c: m.Criterion | None) -> None:
        if c is None:
            return
        for node in m.walk(c):
            events = getattr(node, "events", None)
            if isinstance(events, m.Events):
                found.add(events.window)

    criterion(indicator.population)
    criterion(indicator.exclusions)
    measure = indicator.measure
    if isinstance(measure, m.PatientProportion):
        criterion(measure.numerator)
    elif isinstance(measure, m.EventRate):
        found.add(measure.events.window)
    elif isinstance(measure, m.EventProportion):
        found.update((measure.numerator.window, measure.denominator.window))
    elif isinstance(measure, m.SurveyMean):
        found.add(measure.window)
    if indicator.fact is not None:
        found.add(indicator.fact.window)
    return found


def criterion_name(c: object) -> str:
    return type(c).__name__
