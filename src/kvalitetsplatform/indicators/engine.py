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
"""

from __future__ import annotations

import itertools
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
    the same derivation is recognised (and reused) across indicators."""

    table: ir.Table
    label: tuple
    from_universe: bool  # derived by filtering everyone listed (large), rather than from events (small)


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
    _uses: dict[tuple, int] = field(default_factory=dict, init=False)
    _temporary: list[Callable[[], None]] = field(default_factory=list, init=False)

    def __post_init__(self) -> None:
        self.reference_dates = sorted(set(self.reference_dates))
        if not self.reference_dates:
            raise ValueError("ingen referencedatoer")
        self.indicators = list(self.indicators)
        self.practices = sorted(set(self.practices)) if self.practices is not None else None
        self.con = self.warehouse.con
        windows = {w for ind in self.indicators for w in windows_of(ind)}
        windows.add(m.EVER)
        for i, window in enumerate(sorted(windows, key=str)):
            self._windows[window] = (None if window.start is None else f"w{i}_after", f"w{i}_until")
        self.refs = self._keep(ibis.memtable(self._reference_table()), "refs", literal=True)
        self._persons: ir.Table | None = None
        self._listings: ir.Table | None = None
        self._census: ir.Table | None = None
        self._scope: ir.Table | None = None

    # --- plumbing ------------------------------------------------------------------------------------------------

    def _reference_table(self) -> pa.Table:
        dates = self.reference_dates
        columns: dict[str, pa.Array] = {REF: pa.array(dates, pa.date32()),
                                        "ref_year": pa.array([d.year for d in dates], pa.int64()),
                                        "ref_monthday": pa.array([d.month * 100 + d.day for d in dates], pa.int64())}
        for window, (after, until) in self._windows.items():
            bounds = [window.bounds(d) for d in dates]
            if after:
                columns[after] = pa.array([b[0] for b in bounds], pa.date32())
            columns[until] = pa.array([b[1] for b in bounds], pa.date32())
        return pa.table(columns)

    def _keep(self, expr: ir.Table, prefix: str, literal: bool = False) -> ir.Table:
        """Materialise `expr`: a temporary table on DuckDB; on other backends a cached result (`literal`: a view
        of in-memory data, which a cache cannot hold)."""
        if self.con.name == "duckdb":
            name = _name(prefix)
            table = self.con.create_table(name, expr, temp=True)
            self._temporary.append(lambda: self.con.drop_table(name, database="temp.main", force=True))
        elif literal:
            name = _name(prefix)
            table = self.con.create_view(name, expr, overwrite=True)
            self._temporary.append(lambda: self.con.drop_view(name, force=True))
        else:
            table = expr.cache()
            self._temporary.append(table.release)
        return table

    def close(self) -> None:
        """Drop the temporary results (the evaluation cannot be used afterwards)."""
        for drop in reversed(self._temporary):
            drop()
        self._temporary.clear()
        self._memo.clear()

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
        if self.practices is not None:
            listing = listing.filter(listing[PRACTICE].isin(self.practices))
        return listing

    def scope(self) -> ir.Table | None:
        """Patients ever listed at the practices in scope (None: no limit). Facts are read only for them."""
        if self.practices is None:
            return None
        if self._scope is None:
            self._scope = self._keep(self._listing().select(PK).distinct(), "scope")
        return self._scope

    def listings(self) -> ir.Table:
        """The listing rows with the person's birth date, sex and death date, and `alone`: whether it is the
        patient's only listing row at that practice (otherwise two rows might cover the same date)."""
        if self._listings is None:
            listing = self._listing()
            rows_per_practice = listing.group_by([PRACTICE, PK]).aggregate(_rows=listing.count())
            rows = listing.select(PRACTICE, PK, "list_start", "list_end", "kommune_code").join(
                rows_per_practice, [PRACTICE, PK]).join(self.persons(), PK)
            rows = rows.select(PRACTICE, PK, "list_start", "list_end", "kommune_code", "birth_date", "sex",
                               "death_date", alone=rows._rows == 1)
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
        birth_monthday = rows.birth_date.month() * 100 + rows.birth_date.day()
        age = (rows.ref_year - rows.birth_date.year()
               - (rows.ref_monthday < birth_monthday).ifelse(1, 0)).cast("int64")
        rows = rows.select(PRACTICE, PK, REF, "sex", "kommune_code", "list_start", "alone", age=age)
        # Two listing rows at one practice covering the same date (an overlap in the data) list the patient once,
        # with the newer row's municipality.
        alone = rows.filter(rows.alone)
        overlapping = rows.filter(~rows.alone)
        newest = ibis.row_number().over(group_by=[overlapping[PRACTICE], overlapping[PK], overlapping[REF]],
                                        order_by=[ibis.desc(overlapping.list_start)])
        overlapping = overlapping.mutate(_n=newest).filter(lambda t: t._n == 0)
        return ibis.union(alone.select(*CANDIDATE_COLUMNS), overlapping.select(*CANDIDATE_COLUMNS))

    def universe(self) -> Candidates:
        key = ("listed",)
        if key not in self._memo:
            self._memo[key] = Candidates(self.listed(), key, True)
        return self._memo[key]

    def census(self) -> ir.Table:
        """Everyone listed, counted by practice, reference date, municipality, sex and age in years: the
        denominators of indicators whose population is only an age or sex condition."""
        if self._census is None:
            u = self.universe().table
            census = u.group_by([PRACTICE, REF, "kommune_code", "sex", "age"]).aggregate(patients=u.count())
            self._census = self._keep(census, "census") if self.materialise else census
        return self._census

    # --- events --------------------------------------------------------------------------------------------------

    def rows(self, events: m.Events) -> ir.Table:
        """The selection's rows on any day: patient_key, day, time, system, code, value, text, unit, row_id."""
        source = events.source
        t = self.warehouse.table(source.name)
        scope = self.scope()
        if scope is not None:
            t = t.semi_join(scope, PK)
        predicates = []
        if events.codelists:
            predicates.append(codelist_filter(t, source, events.codelists))
        for flag in events.require:
            predicates.append(t[flag].fill_null(False))
        if predicates:
            t = t.filter(*predicates)
        columns = TABLES[source.name].columns
        fixed_system = source.systems[0] if not source.system and len(source.systems) == 1 else None
        return t.select(
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

    def in_window(self, rows: ir.Table, window: m.Window, keys: ir.Table | None) -> ir.Table:
        """`rows` joined to the reference dates whose window contains the row's day; with `keys` (patient_key,
        ref_date) only those pairs."""
        after, until = self._window(window)
        bounds = self.refs.select(REF, *([after] if after else []), until)
        if keys is None:
            predicates = [rows.day <= bounds[until]]
            if after:
                predicates.append(rows.day > bounds[after])
            joined = rows.join(bounds, predicates)
        else:
            k = keys.select(PK, REF).distinct().join(bounds, REF)
            predicates = [rows[PK] == k[PK], rows.day <= k[until]]
            if after:
                predicates.append(rows.day > k[after])
            joined = rows.join(k, predicates)
        return joined.select(PK, REF, "day", "time", "system", "code", "value", "text", "unit", "row_id")

    def counts(self, events: m.Events, keys: ir.Table | None, distinct_codes: bool = False) -> ir.Table:
        """(patient_key, ref_date, n): the number of selected rows (or distinct codes) in the window."""
        rows = self.in_window(self.rows(events), events.window, keys)
        n = rows.code.nunique() if distinct_codes else rows.count()
        return rows.group_by([PK, REF]).aggregate(n=n.cast("int64"))

    def latest(self, events: m.Events, keys: ir.Table | None, column: str | None) -> ir.Table:
        """The newest selected row per (patient_key, ref_date): at the same time a row with a `column` value before
        one without and the highest value first, then likewise the other of number and text, then code and row id
        (so the choice never depends on the engine or the order rows were loaded)."""
        rows = self.in_window(self.rows(events), events.window, keys)
        order = [ibis.desc(rows.time)]
        for c in ([column] if column else []) + [c for c in ("value", "text") if c != column]:
            order += [ibis.desc(rows[c].notnull()), ibis.desc(rows[c])]
        order += [ibis.asc(rows.code), ibis.asc(rows.row_id)]
        rank = ibis.row_number().over(group_by=[rows[PK], rows[REF]], order_by=order)
        return rows.mutate(_rank=rank).filter(lambda t: t._rank == 0).drop("_rank")

    # --- criteria ------------------------------------------------------------------------------------------------

    def holds(self, criterion: m.Criterion, candidates: Candidates | None) -> Candidates:
        """The candidates (None: everyone listed) for which `criterion` holds."""
        key = (criterion, candidates.label if candidates is not None else None)
        self._uses[key] = self._uses.get(key, 0) + 1
        if key not in self._memo:
            self._memo[key] = self._holds(criterion, candidates)
        return self._memo[key]

    def _holds(self, c: m.Criterion, cand: Candidates | None) -> Candidates:
        label = ("holds", c, cand.label if cand is not None else None)
        match c:
            case m.AllOf(parts):
                if not parts:
                    return cand if cand is not None else self.universe()
                ordered = _order_parts(parts, cand is None)
                current = cand
                for part in ordered:
                    current = self.holds(part, current)
                return current
            case m.AnyOf(parts):
                if cand is None and not all(_has_support(p) for p in parts):
                    cand = self.universe()
                results = [self.holds(p, cand) for p in parts]
                if len(results) == 1:
                    return results[0]
                table = ibis.union(*[r.table.select(*CANDIDATE_COLUMNS) for r in results], distinct=True)
                return Candidates(table, label, cand.from_universe if cand is not None else False)
            case m.Not(part):
                cand = cand if cand is not None else self.universe()
                excluded = self.holds(part, cand).table.select(PK, REF)
                return Candidates(cand.table.anti_join(excluded, [PK, REF]), label, cand.from_universe)
            case m.AgeRange(minimum, maximum):
                cand = cand if cand is not None else self.universe()
                t = cand.table
                predicates = []
                if minimum is not None:
                    predicates.append(t.age >= minimum)
                if maximum is not None:
                    predicates.append(t.age <= maximum)
                return Candidates(t.filter(*predicates) if predicates else t, label, cand.from_universe)
            case m.SexIs(sex):
                cand = cand if cand is not None else self.universe()
                return Candidates(cand.table.filter(cand.table.sex == sex), label, cand.from_universe)
            case m.EnrolledOn(condition):
                e = self.warehouse.table("chronic_enrolment")
                e = e.filter(e.condition == condition)
                scope = self.scope()
                if scope is not None:
                    e = e.semi_join(scope, PK)
                if cand is None:
                    refs = self.refs.select(REF)
                    pairs = e.join(refs, [e.start_date <= refs[REF]])
                else:
                    pairs = cand.table.select(PK, REF).join(e, PK).filter(lambda t: t.start_date <= t[REF])
                pairs = pairs.filter(pairs.end_date.isnull() | (pairs.end_date >= pairs[REF])).select(PK, REF)
                return self._restrict(pairs, cand, label)
            case m.HasEvents(events, at_least):
                if at_least <= 0:
                    return cand if cand is not None else self.universe()
                if at_least == 1 and events.window.start is None:
                    # "ever": the first selected day decides, so aggregate per patient before meeting the dates.
                    rows = self.rows(events)
                    if cand is not None:
                        rows = rows.semi_join(cand.table.select(PK), PK)
                    first = rows.group_by(PK).aggregate(first_day=rows.day.min())
                    until = self._window(events.window)[1]
                    refs = self.refs.select(REF, until)
                    pairs = first.join(refs, [first.first_day <= refs[until]]).select(PK, REF)
                    return self._restrict(pairs, cand, label)
                keys = cand.table if cand is not None else None
                n = self.counts(events, keys)
                return self._restrict(n.filter(n.n >= at_least).select(PK, REF), cand, label)
            case m.HasDistinctCodes(events, at_least):
                keys = cand.table if cand is not None else None
                n = self.counts(events, keys, distinct_codes=True)
                return self._restrict(n.filter(n.n >= at_least).select(PK, REF), cand, label)
            case m.LatestValue(events, test):
                source = events.source
                column = "value" if isinstance(test, m.NumberTest) else "text"
                if (source.value if column == "value" else source.text) is None:
                    raise ValueError(f"{source.name} har ingen {'talværdi' if column == 'value' else 'tekstværdi'}")
                keys = cand.table if cand is not None else None
                rows = self.in_window(self.rows(events).filter(lambda t: t[column].notnull()), events.window, keys)
                order = [ibis.desc(rows.time), ibis.desc(rows[column])]
                rank = ibis.row_number().over(group_by=[rows[PK], rows[REF]], order_by=order)
                latest = rows.mutate(_rank=rank).filter(lambda t: t._rank == 0)
                passed = latest.filter(_test(latest[column], test)).select(PK, REF)
                return self._restrict(passed, cand, label)
        raise TypeError(f"ukendt kriterium {criterion_name(c)}")

    def _restrict(self, pairs: ir.Table, cand: Candidates | None, label: tuple) -> Candidates:
        """The candidates among (patient_key, ref_date) `pairs`; with no candidates, the pairs' listings."""
        if cand is None:
            return Candidates(self.listed(pairs), label, False)
        return Candidates(cand.table.semi_join(pairs, [PK, REF]), label, cand.from_universe)

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

    def patients(self, indicator: m.Indicator, events_only: bool = False) -> ir.Table:
        """One row per population patient, practice and reference date (see FLAG_SCHEMA). With `events_only`
        (rates and event proportions) only the patients with at least one counted event."""
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
        keys = None if population.from_universe else base
        if isinstance(measure, m.PatientProportion):
            hits = self.holds(measure.numerator, population).table.select(PK, REF).distinct()
            base = _left_join(base, hits.mutate(_hit=ibis.literal(1, "int64")))
            numerator = base._hit.fill_null(0)
            denominator = ibis.literal(1, "int64")
        elif isinstance(measure, m.EventRate):
            base = _left_join(base, self.counts(measure.events, keys).rename(_num="n"))
            numerator = base._num.fill_null(0)
            denominator = ibis.literal(1, "int64")
        elif isinstance(measure, m.EventProportion):
            base = _left_join(base, self.counts(measure.numerator, keys).rename(_num="n"))
            base = _left_join(base, self.counts(measure.denominator, keys).rename(_den="n"))
            numerator = base._num.fill_null(0)
            denominator = base._den.fill_null(0)
        else:  # pragma: no cover - the model is closed
            raise TypeError(f"ukendt mål {measure!r}")
        base = base.mutate(numerator=numerator.cast("int64"), denominator=denominator.cast("int64"))
        if indicator.fact is not None:
            fact = self.latest(indicator.fact, keys, "value").select(
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
            f = self.patients(indicator)
            f = f.mutate(age_band=age_band(f.age))
            cells = f.group_by(list(CELL_KEYS)).aggregate(numerator=f.numerator.sum(), denominator=f.denominator.sum(),
                                                           patients=f.count())
            return cells.mutate(sum_squares=ibis.null("float64")).select(*CELL_SCHEMA.names).cast(CELL_SCHEMA)
        population = indicator.population
        census = self.census()
        census = census.filter(demographic_test(population, census))
        census = census.mutate(age_band=age_band(census.age))
        den = census.group_by(list(CELL_KEYS)).aggregate(patients=census.patients.sum())
        if isinstance(measure, m.PatientProportion):
            hits = self.holds(measure.numerator, None).table
            hits = hits.filter(demographic_test(population, hits)).mutate(_n=ibis.literal(1, "int64"), _d=ibis.null("int64"))
        else:
            counted = measure.events if isinstance(measure, m.EventRate) else measure.denominator
            n = self.counts(counted, None)
            hits = self.listed(n).join(n, [PK, REF])
            hits = hits.filter(demographic_test(population, hits))
            if isinstance(measure, m.EventRate):
                hits = hits.mutate(_n=hits.n, _d=ibis.null("int64"))
            else:
                hits = _left_join(hits, self.counts(measure.numerator, hits).rename(_num="n"))
                hits = hits.mutate(_n=hits._num.fill_null(0), _d=hits.n)
        hits = hits.mutate(age_band=age_band(hits.age))
        num = hits.group_by(list(CELL_KEYS)).aggregate(_num=hits._n.sum(), _den=hits._d.sum())
        cells = den.left_join(num, list(CELL_KEYS))
        cells = cells.drop(*[f"{k}_right" for k in CELL_KEYS])
        denominator = cells._den.fill_null(0) if isinstance(measure, m.EventProportion) else cells.patients
        cells = cells.mutate(numerator=cells._num.fill_null(0), denominator=denominator,
                             sum_squares=ibis.null("float64"))
        return cells.select(*CELL_SCHEMA.names).cast(CELL_SCHEMA)

    def survey(self, indicator: m.Indicator) -> ir.Table:
        """One row per practice and reference date with answers: the sum of scores, their number and the sum of
        their squares (for a confidence interval)."""
        measure = indicator.measure
        if not isinstance(measure, m.SurveyMean):
            raise ValueError(f"{indicator.id} er ikke en spørgeskemaindikator")
        s = self.warehouse.table("survey_response")
        if self.practices is not None:
            s = s.filter(s[PRACTICE].isin(self.practices))
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
        return _has_support(measure.numerator)
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
