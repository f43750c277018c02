"""Package files → the query model. The vocabulary is documented in docs/packages.md; this is its one parser."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date
from pathlib import Path

from kvalitetsplatform.contract import TABLES
from kvalitetsplatform.indicators import model as m
from kvalitetsplatform.indicators.codelists import CODELIST_DIR, available, expand, load_codelist
from kvalitetsplatform.indicators.source import (
    ANY_KEY, DURATION, DURATION_UNITS, Abandon, Invalid, Node, PackageError, PackageFileError, Reader, load_yaml, parse_number,
)
from kvalitetsplatform.terminology import code_system

PACKAGE_FIELDS = ("package", "version", "title", "why", "audience", "author", "checked_by", "review_by", "changes",
                  "codelists", "population", "indicators", "tests")
INDICATOR_FIELDS = ("id", "title", "description", "kind", "direction", "standard", "population", "denominator",
                    "numerator", "exclusions", "survey", "fact")
AUDIENCES = ("practice", "cluster", "region", "municipality", "national")
DIRECTIONS = ("higher_is_better", "lower_is_better", "none")
KINDS = ("proportion", "rate", "mean")
ENROLMENT_CONDITIONS = TABLES["chronic_enrolment"].columns["condition"].choices
SURVEY_ITEMS = tuple(f.name for f in TABLES["survey_response"].fields if f.name.startswith("item_"))
INDICATOR_ID = re.compile(r"^[A-ZÆØÅ]+(-[A-Za-z0-9]+)+$")

# Criterion keys that select events, and the warehouse table each reads.
EVENT_KEYS = {"diagnosis": "diagnosis", "lab": "lab_result", "measurement": "measurement",
              "prescription": "prescription", "contact": "contact", "admission": "hospital_admission"}
WINDOW_KEYS = ("within", "ever", "window")
CRITERION_KEYS = ("all", "any", "not", "age", "sex", "enrolled", "substances", *EVENT_KEYS)
THRESHOLD = re.compile(r"^\s*(<=|>=|<|>|≤|≥)\s*([-+]?\d+(?:[.,]\d+)?)\s*(.*?)\s*$")
BETWEEN = re.compile(r"^\s*between\s+([-+]?\d+(?:[.,]\d+)?)\s+and\s+([-+]?\d+(?:[.,]\d+)?)\s*(.*?)\s*$",
                     re.IGNORECASE)


def load_package(path: Path, codelist_root: Path = CODELIST_DIR) -> tuple[m.Package | None, Reader]:
    """Read one package file. Returns the package (None when it has errors) and the reader holding errors and
    warnings; callers that want an exception use `read_package`."""
    display = path.name if path.parent.name == "packages" else str(path)
    doc, syntax = load_yaml(path, display)
    reader = Reader(display)
    reader.errors.extend(syntax)
    package = None
    if doc is not None:
        package = reader.attempt(_PackageParser(reader, path, codelist_root).package, doc)
    return (package if not reader.errors else None), reader


def read_package(path: Path) -> m.Package:
    package, reader = load_package(path)
    if reader.errors:
        raise PackageFileError(reader.errors)
    return package


class _PackageParser:
    def __init__(self, reader: Reader, path: Path, codelist_root: Path):
        self.r = reader
        self.path = path
        self.codelist_root = codelist_root
        self.codelists: dict[str, m.Codelist] = {}
        self.codelist_nodes: dict[str, Node] = {}
        self.used: set[str] = set()
        self.indicator_ids: set[str] = set()

    # -- the package ------------------------------------------------------------------------------------------------

    def package(self, doc: Node) -> m.Package:
        r = self.r
        top = r.mapping(doc, "", PACKAGE_FIELDS, ("package", "version", "title", "why", "audience", "author",
                                                 "checked_by", "review_by", "changes", "codelists", "indicators",
                                                 "tests"))
        package_id = r.attempt(self._package_id, top["package"])
        version = r.attempt(r.text, top["version"], "version")
        title = r.attempt(r.bilingual, top["title"], "title")
        why = r.attempt(r.bilingual, top["why"], "why")
        audience = r.attempt(lambda: tuple(r.choice(n, f"audience[{i}]", AUDIENCES)
                                           for i, n in enumerate(r.sequence(top["audience"], "audience"))))
        author = r.attempt(r.text, top["author"], "author")
        checked_by = r.attempt(r.text, top["checked_by"], "checked_by")
        review_by = r.attempt(r.date, top["review_by"], "review_by")
        changes = r.attempt(self._changes, top["changes"], version)
        r.attempt(self._codelists, top["codelists"])
        population = r.attempt(self.criterion, top["population"], "population") if "population" in top else None
        indicators = self._indicators(top["indicators"], population)
        for alias, node in self.codelist_nodes.items():
            if alias not in self.used and alias in self.codelists:
                r.warn(node, f"codelists.{alias}", f"kodelisten '{alias}' bruges ikke")
        package = m.Package(
            id=package_id or "", version=version or "", title=m.Text(*title) if title else m.Text("", ""),
            why=m.Text(*why) if why else m.Text("", ""), audience=audience or (), author=author or "",
            checked_by=checked_by or "", review_by=review_by, changes=changes or (), codelists=self.codelists,
            indicators=tuple(i for i, _ in indicators), file=str(self.path))
        from kvalitetsplatform.indicators.testpatients import read_tests
        broken = self.indicator_ids - {i.id for i in package.indicators}  # their errors are reported already
        tests = read_tests(r, top["tests"], package, {i.id: node for i, node in indicators}, broken)
        return replace(package, tests=tests)

    def _package_id(self, node: Node) -> str:
        value = self.r.text(node, "package")
        if not re.fullmatch(r"[a-z][a-z0-9_]*", value):
            self.r.fail(node, "package", f"pakkens id skal være små bogstaver, tal og _ (fx ihd), fik '{value}'")
        if self.path.suffix == ".yaml" and value != self.path.stem:
            self.r.fail(node, "package", f"pakken '{value}' skal ligge i filen {value}.yaml (filen hedder "
                                         f"{self.path.name})")
        return value

    def _changes(self, node: Node, version: str | None) -> tuple[m.ChangeLogEntry, ...]:
        r = self.r
        entries = []
        for i, item in enumerate(r.sequence(node, "changes")):
            where = f"changes[{i}]"
            e = r.mapping(item, where, ("date", "version", "by", "description"),
                          ("date", "version", "by", "description"))
            entries.append(m.ChangeLogEntry(r.date(e["date"], f"{where}.date"),
                                            r.text(e["version"], f"{where}.version"),
                                            r.text(e["description"], f"{where}.description"),
                                            r.text(e["by"], f"{where}.by")))
        if not entries:
            r.fail(node, "changes", "ændringsloggen skal have mindst én linje")
        if version and version not in {e.version for e in entries}:
            r.fail(node, "changes", f"ændringsloggen nævner ikke den aktuelle version {version}")
        return tuple(entries)

    def _codelists(self, node: Node) -> None:
        r = self.r
        for alias, ref_node in r.mapping(node, "codelists", ANY_KEY).items():
            field = f"codelists.{alias}"
            self.codelist_nodes[alias] = ref_node
            try:
                if not re.fullmatch(r"[a-z][a-z0-9_]*", alias):
                    r.fail(ref_node, field, "et kodelistenavn skal være små bogstaver, tal og _")
                ref = r.text(ref_node, field)
                if not re.fullmatch(r"[a-z0-9]+/[a-z0-9_\-]+@[\w.\-]+", ref, re.IGNORECASE):
                    r.fail(ref_node, field, f"forventede en henvisning <system>/<navn>@<version> (fx "
                                            f"atc/statins@2026-01), fik '{ref}'")
                if not (self.codelist_root / f"{ref}.yaml").exists():
                    known = [a for a in available(self.codelist_root) if a.split("@")[0] == ref.split("@")[0]]
                    hint = f"; findes i versionerne: {', '.join(known)}" if known else ""
                    r.fail(ref_node, field, f"ukendt kodeliste '{ref}' (ingen fil codelists/{ref}.yaml){hint}")
                try:
                    self.codelists[alias] = load_codelist(ref, self.codelist_root)
                except PackageFileError as e:
                    r.fail(ref_node, field, f"kodelisten '{ref}' har fejl:\n  " + "\n  ".join(map(str, e.errors)))
            except Invalid as e:
                r.errors.append(e.error)

    # -- indicators -------------------------------------------------------------------------------------------------

    def _indicators(self, node: Node, population: m.Criterion | None) -> list[tuple[m.Indicator, Node]]:
        r = self.r
        found: list[tuple[m.Indicator, Node]] = []
        seen: dict[str, int] = {}
        items = r.attempt(r.sequence, node, "indicators") or []
        for i, item in enumerate(items):
            label = f"indicators[{i}]"
            if isinstance(item.value, dict) and isinstance(item.value.get("id", Node(None, 0)).value, str):
                label = f"indicators[{item.value['id'].value}]"
                indicator_id = item.value["id"].value
                if indicator_id in seen:
                    r.errors.append(PackageError(r.file, item.value["id"].line, f"{label}.id",
                                                 f"indikatoren {indicator_id} findes allerede (linje "
                                                 f"{seen[indicator_id]})"))
                    continue
                seen[indicator_id] = item.value["id"].line
                self.indicator_ids.add(indicator_id)
            indicator = r.attempt(self.indicator, item, label, population)
            if indicator is not None:
                found.append((indicator, item))
        if not items and not r.errors:
            r.errors.append(PackageError(r.file, node.line, "indicators", "pakken har ingen indikatorer"))
        return found

    def indicator(self, node: Node, field: str, package_population: m.Criterion | None) -> m.Indicator:
        r = self.r
        f = r.mapping(node, field, INDICATOR_FIELDS, ("id", "title", "description", "kind", "direction"))
        errors_before = len(r.errors)
        indicator_id = r.text(f["id"], f"{field}.id")
        if not INDICATOR_ID.fullmatch(indicator_id):
            r.fail(f["id"], f"{field}.id", f"et indikator-id er store bogstaver, bindestreg og nummer (fx IHD-1, "
                                           f"DM-1a), fik '{indicator_id}'")
        title = r.attempt(r.bilingual, f["title"], f"{field}.title")
        description = r.attempt(r.bilingual, f["description"], f"{field}.description")
        kind = r.choice(f["kind"], f"{field}.kind", KINDS)
        direction = r.attempt(r.choice, f["direction"], f"{field}.direction", DIRECTIONS)
        standard = r.attempt(self.standard, f["standard"], f"{field}.standard", kind, direction) \
            if "standard" in f else None

        population = exclusions = fact = None
        if kind == "mean":
            for key in ("population", "denominator", "numerator", "exclusions", "fact"):
                if key in f:
                    r.fail(f[key], f"{field}.{key}", "en gennemsnitsindikator (kind: mean) bygger på "
                                                     "spørgeskemasvar for praksis, ikke på patienter; brug 'survey'")
            if "survey" not in f:
                r.fail(node, f"{field}.survey", "'survey' mangler (hvilke spørgsmål og hvilken periode)")
            measure = self.survey(f["survey"], f"{field}.survey")
        else:
            if "survey" in f:
                r.fail(f["survey"], f"{field}.survey", f"'survey' hører kun til kind: mean, ikke kind: {kind}")
            if "numerator" not in f:
                r.fail(node, f"{field}.numerator", "'numerator' mangler")
            if "population" in f:
                population = r.attempt(self.criterion, f["population"], f"{field}.population")
            elif package_population is not None:
                population = package_population
            else:
                population = m.EVERYONE
            exclusions = r.attempt(self.criterion, f["exclusions"], f"{field}.exclusions") \
                if "exclusions" in f else None
            measure, narrowing = self.measure(f, field, kind)
            if narrowing is not None and population is not None:
                population = m.AllOf((population, narrowing)) if population != m.EVERYONE else narrowing
            if "fact" in f:
                fact = r.attempt(self.selection, f["fact"], f"{field}.fact", window_required=False)
            elif isinstance(measure, m.PatientProportion):
                fact = default_fact(measure.numerator)
        if len(r.errors) > errors_before:
            raise Abandon
        return m.Indicator(indicator_id, m.Text(*title), m.Text(*description), direction, standard, population,
                           exclusions, measure, fact, f["id"].line)

    def measure(self, f: dict[str, Node], field: str, kind: str):
        """The measure and any extra patient condition the `denominator` adds to the population."""
        r = self.r
        num_node = f["numerator"]
        num_is_events = _is_events(num_node)
        den_node = f.get("denominator")
        den_is_events = den_node is not None and _is_events(den_node)
        if kind == "rate":
            if not num_is_events:
                r.fail(num_node, f"{field}.numerator", "en rate tæller hændelser: skriv 'numerator: {events: …}'")
            if den_is_events:
                r.fail(den_node, f"{field}.denominator", "en rates nævner er de tilmeldte patienter i populationen; "
                                                         "skriv betingelser for den i 'population' eller "
                                                         "'denominator' uden 'events'")
            events = self.events(num_node, f"{field}.numerator")
            if events.window.months is None or events.window.months <= 0:
                r.fail(num_node.value["events"], f"{field}.numerator.events",
                       "en rate skal tælle i et vindue af hele måneder eller år (fx within: 12 months), så den kan "
                       "omregnes til pr. år")
            narrowing = self.criterion(den_node, f"{field}.denominator") if den_node is not None else None
            return m.EventRate(events), narrowing
        if num_is_events != (den_is_events if den_node is not None else False):
            if num_is_events and den_node is None:
                r.fail(f["numerator"], f"{field}.denominator", "en andel af hændelser skal også have hændelser i "
                                                               "nævneren: 'denominator: {events: …}'")
            r.fail(den_node, f"{field}.denominator", "tæller og nævner skal tælle det samme: enten patienter "
                                                     "(betingelser) eller hændelser ('events'); tælleren skal være "
                                                     "en delmængde af nævneren")
        if num_is_events:
            numerator = self.events(num_node, f"{field}.numerator")
            denominator = self.events(den_node, f"{field}.denominator")
            self._check_subset(num_node, f"{field}.numerator", numerator, denominator)
            return m.EventProportion(numerator, denominator), None
        numerator = self.criterion(num_node, f"{field}.numerator")
        narrowing = self.criterion(den_node, f"{field}.denominator") if den_node is not None else None
        return m.PatientProportion(numerator), narrowing

    def _check_subset(self, node: Node, field: str, num: m.Events, den: m.Events) -> None:
        r = self.r
        problems = []
        if num.table != den.table:
            problems.append(f"tælleren tæller {num.table}, nævneren {den.table}")
        if num.window != den.window:
            problems.append(f"tællerens vindue ({num.window}) er ikke nævnerens ({den.window})")
        if not set(den.require) <= set(num.require):
            problems.append("tælleren mangler nævnerens krav " + ", ".join(sorted(set(den.require) - set(num.require))))
        if den.codelists:
            den_codes = set().union(*(expand(c) for c in den.codelists))
            num_codes = set().union(*(expand(c) for c in num.codelists)) if num.codelists else None
            if num_codes is None:
                problems.append("tælleren tæller alle koder, nævneren kun sin kodeliste")
            elif not num_codes <= den_codes:
                outside = sorted(code for _, code in num_codes - den_codes)
                problems.append("tællerens koder " + ", ".join(outside[:8]) + " er ikke i nævnerens kodeliste")
        if problems:
            r.fail(node, field, "tælleren er ikke en delmængde af nævneren: " + "; ".join(problems))

    def standard(self, node: Node, field: str, kind: str, direction: str | None) -> m.Standard:
        r = self.r
        s = r.mapping(node, field, ("target", "source", "note"), ("source",))
        source = r.text(s["source"], f"{field}.source")
        note = r.text(s["note"], f"{field}.note") if "note" in s else ""
        if "target" not in s:
            if not note:
                r.fail(node, f"{field}.note", "uden 'target' skal 'note' forklare, hvorfor der ingen standard er")
            return m.Standard(None, None, source, note)
        target = r.text(s["target"], f"{field}.target")
        match = THRESHOLD.match(target)
        if not match:
            r.fail(s["target"], f"{field}.target", f"forventede fx '>= 90 %' eller '<= 350', fik '{target}'")
        op = {"≤": "<=", "≥": ">="}.get(match[1], match[1])
        value = parse_number(match[2])
        unit = match[3]
        if kind == "proportion":
            if unit != "%":
                r.fail(s["target"], f"{field}.target", f"en andels standard angives i procent (fx '>= 90 %'), fik "
                                                       f"'{target}'")
            if not 0 <= value <= 100:
                r.fail(s["target"], f"{field}.target", f"en procent skal ligge mellem 0 og 100, fik {value:g}")
            value /= 100
        elif unit:
            expected = "hændelser pr. 1.000 patienter pr. år" if kind == "rate" else "point på skalaen"
            r.fail(s["target"], f"{field}.target", f"en {kind}-standard er et tal ({expected}) uden enhed, fik "
                                                   f"'{unit}'")
        if direction == "higher_is_better" and op not in (">", ">="):
            r.fail(s["target"], f"{field}.target", f"retningen er higher_is_better, så standarden skal være "
                                                   f"'>' eller '>=', fik '{op}'")
        if direction == "lower_is_better" and op not in ("<", "<="):
            r.fail(s["target"], f"{field}.target", f"retningen er lower_is_better, så standarden skal være "
                                                   f"'<' eller '<=', fik '{op}'")
        if direction == "none":
            r.fail(s["target"], f"{field}.target", "en indikator uden retning (direction: none) kan ikke have et mål")
        return m.Standard(op, value, source, note)

    def survey(self, node: Node, field: str) -> m.SurveyMean:
        r = self.r
        s = r.mapping(node, field, ("items", "within", "window"), ("items",))
        items: list[str] = []
        for i, item in enumerate(r.sequence(s["items"], f"{field}.items", allow_single=True)):
            where = f"{field}.items[{i}]"
            text = r.text(item, where)
            span = re.fullmatch(r"(\d+)\s*-\s*(\d+)", text)
            numbers = range(int(span[1]), int(span[2]) + 1) if span else [r.integer(item, where)]
            for n in numbers:
                name = f"item_{n:02d}"
                if name not in SURVEY_ITEMS:
                    r.fail(item, where, f"DanPEP har spørgsmål 1–{len(SURVEY_ITEMS)}, ikke {n}")
                if name in items:
                    r.fail(item, where, f"spørgsmål {n} står to gange")
                items.append(name)
        window = self.window(s, field, required=True)
        return m.SurveyMean(tuple(items), window)

    # -- criteria ---------------------------------------------------------------------------------------------------

    def criterion(self, node: Node, field: str) -> m.Criterion:
        r = self.r
        c = r.mapping(node, field, CRITERION_KEYS)
        if len(c) != 1:
            r.fail(node, field, f"en betingelse har præcis én nøgle (fx 'diagnosis' eller 'all'), fik "
                                f"{len(c)}: {', '.join(c) or 'ingen'}")
        key, value = next(iter(c.items()))
        where = f"{field}.{key}"
        if key in ("all", "any"):
            parts = tuple(self.criterion(item, f"{where}[{i}]")
                          for i, item in enumerate(r.sequence(value, where)))
            if not parts:
                r.fail(value, where, f"'{key}' skal have mindst én betingelse")
            return m.AllOf(parts) if key == "all" else m.AnyOf(parts)
        if key == "not":
            return m.Not(self.criterion(value, where))
        if key == "age":
            a = r.mapping(value, where, ("min", "max"))
            low = r.integer(a["min"], f"{where}.min", minimum=0) if "min" in a else None
            high = r.integer(a["max"], f"{where}.max", minimum=0) if "max" in a else None
            if low is None and high is None:
                r.fail(value, where, "angiv 'min', 'max' eller begge (alder i hele år på skæringsdatoen)")
            if low is not None and high is not None and low > high:
                r.fail(value, where, f"min ({low}) er større end max ({high})")
            return m.AgeRange(low, high)
        if key == "sex":
            return m.SexIs(r.choice(value, where, ("F", "M")))
        if key == "enrolled":
            return m.EnrolledOn(r.choice(value, where, ENROLMENT_CONDITIONS))
        if key == "substances":
            s = r.mapping(value, where, ("codelist", "at_least", *WINDOW_KEYS), ("at_least",))
            events = self._events_from(value, s, where, "prescription")
            return m.HasDistinctCodes(events, r.integer(s["at_least"], f"{where}.at_least", minimum=1))
        return self._event_criterion(key, value, where)

    def _event_criterion(self, key: str, node: Node, field: str) -> m.Criterion:
        r = self.r
        table = EVENT_KEYS[key]
        allowed = ["at_least", *WINDOW_KEYS, *self._selection_keys(table)]
        source = m.EVENT_TABLES[table]
        if source.value:
            allowed += ["value", "text"]
        e = r.mapping(node, field, tuple(allowed))
        events = self._events_from(node, e, field, table)
        tests = [k for k in ("value", "text", "at_least") if k in e]
        if len(tests) > 1:
            r.fail(node, field, f"brug kun én af {', '.join(tests)}")
        if "value" in e:
            return m.LatestValue(events, self._number_test(e["value"], f"{field}.value", events))
        if "text" in e:
            return m.LatestValue(events, self._text_test(e["text"], f"{field}.text", events))
        at_least = r.integer(e["at_least"], f"{field}.at_least", minimum=1) if "at_least" in e else 1
        return m.HasEvents(events, at_least)

    def _selection_keys(self, table: str) -> tuple[str, ...]:
        if table == "contact":
            return ("ydelseskode",)
        return ("codelist", *m.EVENT_TABLES[table].flags)

    def _events_from(self, node: Node, e: dict[str, Node], field: str, table: str,
                     window_required: bool = True) -> m.Events:
        r = self.r
        source = m.EVENT_TABLES[table]
        codelists: tuple[m.Codelist, ...] = ()
        if table == "contact":
            if "ydelseskode" not in e:
                r.fail(node, f"{field}.ydelseskode", "'ydelseskode' mangler (fx ydelseskode: \"0120\")")
            codelists = (self._inline_ydelseskoder(e["ydelseskode"], f"{field}.ydelseskode"),)
        elif "codelist" in e:
            codelists = self._codelist_refs(e["codelist"], f"{field}.codelist", table)
        elif table != "prescription":
            r.fail(node, f"{field}.codelist", "'codelist' mangler")
        require = tuple(flag for flag in source.flags if flag in e and r.boolean(e[flag], f"{field}.{flag}"))
        window = self.window(e, field, required=window_required)
        return m.Events(table, codelists, window, require)

    def events(self, node: Node, field: str) -> m.Events:
        """`{events: {<event key>: {…}}}`: a selection of events to count."""
        inner = self.r.mapping(node, field, ("events",), ("events",))["events"]
        return self.selection(inner, f"{field}.events")

    def selection(self, node: Node, field: str, window_required: bool = True) -> m.Events:
        r = self.r
        s = r.mapping(node, field, tuple(EVENT_KEYS))
        if len(s) != 1:
            r.fail(node, field, f"angiv præcis én slags hændelse ({', '.join(EVENT_KEYS)})")
        key, value = next(iter(s.items()))
        table = EVENT_KEYS[key]
        e = r.mapping(value, f"{field}.{key}", (*WINDOW_KEYS, *self._selection_keys(table)))
        return self._events_from(value, e, f"{field}.{key}", table, window_required)

    def _codelist_refs(self, node: Node, field: str, table: str) -> tuple[m.Codelist, ...]:
        r = self.r
        found = []
        for i, item in enumerate(r.sequence(node, field, allow_single=True)):
            where = field if not isinstance(node.value, list) else f"{field}[{i}]"
            alias = r.text(item, where)
            if alias not in self.codelists:
                if alias in self.codelist_nodes:
                    r.fail(item, where, f"kodelisten '{alias}' kunne ikke læses (se fejlen ved codelists)")
                declared = ", ".join(sorted(self.codelist_nodes)) or "ingen"
                r.fail(item, where, f"ukendt kodeliste '{alias}'; erklær den under 'codelists' (erklærede: "
                                    f"{declared})")
            codelist = self.codelists[alias]
            self.used.add(alias)
            allowed = m.EVENT_TABLES[table].systems
            wrong = [s for s in codelist.systems if s not in allowed]
            if wrong:
                r.fail(item, where, f"kodelisten '{alias}' har {'/'.join(wrong)}-koder, men {table} rummer kun "
                                    f"{'/'.join(allowed)}")
            found.append(codelist)
        return tuple(found)

    def _inline_ydelseskoder(self, node: Node, field: str) -> m.Codelist:
        r = self.r
        system = code_system("ydelseskode")
        codes = []
        for i, item in enumerate(r.sequence(node, field, allow_single=True)):
            where = field if not isinstance(node.value, list) else f"{field}[{i}]"
            code = r.text(item, where)
            if code not in system:
                r.fail(item, where, f"ydelseskoden {code} findes ikke i {system.id} (husk anførselstegn og "
                                    f"foranstillet 0, fx \"0120\")")
            codes.append(m.Code("ydelseskode", code, system[code].label_da))
        return m.Codelist("inline", "ydelseskode " + ", ".join(c.code for c in codes), "exact", tuple(codes))

    def window(self, e: dict[str, Node], field: str, required: bool = True) -> m.Window:
        r = self.r
        given = [k for k in WINDOW_KEYS if k in e]
        if len(given) > 1:
            r.fail(e[given[1]], f"{field}.{given[1]}", f"brug kun én af {', '.join(given)}")
        if not given:
            if required:
                line = min((n.line for n in e.values()), default=0)
                r.fail(line, f"{field}.within", "tidsvinduet mangler: skriv 'within: 12 months', 'ever: true' eller "
                                                "'window: {from: 24 months, to: 12 months}'")
            return m.EVER
        key = given[0]
        node = e[key]
        where = f"{field}.{key}"
        if key == "ever":
            if not r.boolean(node, where):
                r.fail(node, where, "'ever: false' giver ingen mening; brug 'within' eller 'window'")
            return m.EVER
        if key == "within":
            return m.Window(self.duration(node, where))
        w = r.mapping(node, where, ("from", "to"), ("from", "to"))
        start = self.duration(w["from"], f"{where}.from")
        end = self.duration(w["to"], f"{where}.to", allow_zero=True)
        probe = m.Window(start, end)
        after, until = probe.bounds(date(2000, 1, 31))
        if after >= until:
            r.fail(node, where, f"'from' ({start}) skal ligge længere tilbage end 'to' ({end})")
        return probe

    def duration(self, node: Node, field: str, allow_zero: bool = False) -> m.Duration:
        text = self.r.text(node, field)
        match = DURATION.match(text)
        if not match:
            self.r.fail(node, field, f"forventede en varighed som '12 months', '6 months', '2 years', '8 weeks' eller "
                                     f"'30 days', fik '{text}'")
        amount = int(match[1])
        if amount == 0 and not allow_zero:
            self.r.fail(node, field, "et vindue på 0 er tomt")
        return m.Duration(amount, DURATION_UNITS[match[2].lower()])

    # -- value tests ------------------------------------------------------------------------------------------------

    def _concepts(self, events: m.Events):
        """The terminology concepts a selection can hold (the codelists expanded)."""
        codes = set().union(*(expand(c) for c in events.codelists))
        return [code_system(system)[code] for system, code in sorted(codes)]

    def _number_test(self, node: Node, field: str, events: m.Events) -> m.NumberTest:
        r = self.r
        text = r.text(node, field)
        between = BETWEEN.match(text)
        threshold = THRESHOLD.match(text)
        if between:
            low, high, unit = parse_number(between[1]), parse_number(between[2]), between[3]
            if low > high:
                r.fail(node, field, f"den nedre grænse {low:g} er større end den øvre {high:g}")
            test = m.NumberTest("between", low, high, unit)
        elif threshold:
            op = {"≤": "<=", "≥": ">="}.get(threshold[1], threshold[1])
            test = m.NumberTest(op, parse_number(threshold[2]), None, threshold[3])
        else:
            r.fail(node, field, f"forventede en tærskel som '< 1,8 mmol/L', '>= 75 mmol/mol' eller 'between 53 and "
                                f"58 mmol/mol', fik '{text}'")
        concepts = self._concepts(events)
        units = {c.unit or "" for c in concepts}
        if any(c.allowed_values for c in concepts):
            names = ", ".join(c.code for c in concepts if c.allowed_values)
            r.fail(node, field, f"{names} har tekstværdier, ikke tal; brug 'text: [...]'")
        if len(units) > 1:
            r.fail(node, field, "kodelisten blander enheder (" + ", ".join(sorted(u or "ingen" for u in units)) +
                   "); en tærskel kræver én enhed")
        unit = units.pop() if units else ""
        if test.unit.lower() != unit.lower():
            expected = f"'{unit}'" if unit else "ingen enhed"
            r.fail(node, field, f"enheden skal være {expected} som analysens ({', '.join(c.code for c in concepts)}), "
                                f"fik {repr(test.unit) if test.unit else 'ingen enhed'}")
        for c in concepts:
            low, high = c.plausible_range
            for value in (test.value, test.upper):
                if value is not None and ((low is not None and value < low) or (high is not None and value > high)):
                    r.fail(node, field, f"tærsklen {value:g} {unit} ligger uden for det mulige område for {c.code} "
                                        f"{c.label_da} ({low:g}–{high:g} {unit}); er enheden rigtig?")
        return replace(test, unit=unit)

    def _text_test(self, node: Node, field: str, events: m.Events) -> m.TextTest:
        r = self.r
        values = tuple(r.text(item, f"{field}[{i}]")
                       for i, item in enumerate(r.sequence(node, field, allow_single=True)))
        for c in self._concepts(events):
            if not c.allowed_values:
                r.fail(node, field, f"{c.code} {c.label_da} har talværdier, ikke tekst; brug 'value'")
            wrong = [v for v in values if v not in c.allowed_values]
            if wrong:
                r.fail(node, field, f"{', '.join(wrong)} er ikke en mulig værdi for {c.code}; mulige: "
                                    f"{', '.join(c.allowed_values)}")
        return m.TextTest(values)


def _is_events(node: Node | None) -> bool:
    return node is not None and isinstance(node.value, dict) and "events" in node.value


def default_fact(numerator: m.Criterion) -> m.Events | None:
    """For a numerator that is one event test, the worklist fact is the latest such event ever (up to the window's
    end): the latest LDL whatever its value, the latest statin however long ago."""
    if isinstance(numerator, (m.HasEvents, m.LatestValue)):
        events = numerator.events
        return replace(events, window=m.Window(None, events.window.end))
    return None
