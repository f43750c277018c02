"""The query model in words (Danish by default, English available), for `kp packages show` and the reports."""

from __future__ import annotations

from kvalitetsplatform.indicators import model as m

UNITS = {"da": {"days": ("dag", "dage"), "weeks": ("uge", "uger"), "months": ("måned", "måneder"),
                "years": ("år", "år")},
         "en": {"days": ("day", "days"), "weeks": ("week", "weeks"), "months": ("month", "months"),
                "years": ("year", "years")}}
TABLES = {"da": {"diagnosis": "diagnose", "lab_result": "laboratoriesvar", "measurement": "måling",
                 "prescription": "ordination", "contact": "ydelse", "hospital_admission": "indlæggelse"},
          "en": {"diagnosis": "diagnosis", "lab_result": "lab result", "measurement": "measurement",
                 "prescription": "prescription", "contact": "service", "hospital_admission": "admission"}}
WORDS = {
    "da": {"ever": "nogensinde", "within": "inden for de seneste {d}", "from_to": "fra {a} til {b} før skæringsdatoen",
           "at_least": "mindst {n}", "latest": "seneste {what} {window} er {test}", "all": "alle disse:",
           "any": "mindst én af disse:", "not": "ikke:", "age_min": "alder mindst {a} år",
           "age_max": "alder højst {a} år", "age": "alder {a}–{b} år", "sex": {"F": "kvinde", "M": "mand"},
           "enrolled": "i kronikerforløb for {c} på skæringsdatoen", "distinct": "mindst {n} forskellige "
           "lægemidler (ATC-niveau 5) {window}", "any_prescription": "alle lægemidler", "acute": "akut",
           "text_in": "en af: {v}", "listed": "tilmeldt praksis og i live på skæringsdatoen",
           "between": "mellem {a} og {b}", "everyone": "alle tilmeldte"},
    "en": {"ever": "ever", "within": "in the last {d}", "from_to": "from {a} to {b} before the reference date",
           "at_least": "at least {n}", "latest": "latest {what} {window} is {test}", "all": "all of:",
           "any": "at least one of:", "not": "not:", "age_min": "age at least {a}", "age_max": "age at most {a}",
           "age": "age {a}–{b}", "sex": {"F": "female", "M": "male"},
           "enrolled": "in a chronic-care pathway for {c} on the reference date",
           "distinct": "at least {n} different drugs (ATC level 5) {window}", "any_prescription": "any drug",
           "acute": "acute", "text_in": "one of: {v}", "listed": "listed with the practice and alive on the "
           "reference date", "between": "between {a} and {b}", "everyone": "everyone listed"},
}


def number(x: float, lang: str = "da") -> str:
    text = f"{x:g}"
    return text.replace(".", ",") if lang == "da" else text


def duration(d: m.Duration, lang: str = "da") -> str:
    one, many = UNITS[lang][d.unit]
    return f"{d.amount} {one if d.amount == 1 else many}"


def window(w: m.Window, lang: str = "da") -> str:
    words = WORDS[lang]
    if w.start is None:
        return words["ever"]
    if w.end == m.ZERO:
        return words["within"].format(d=duration(w.start, lang))
    return words["from_to"].format(a=duration(w.start, lang), b=duration(w.end, lang))


def events(e: m.Events, lang: str = "da") -> str:
    what = (" eller " if lang == "da" else " or ").join(c.label(lang) for c in e.codelists)
    if e.table == "contact":
        what = " ".join(f"{c.code} {c.label}" for cl in e.codelists for c in cl.codes)
    what = what or WORDS[lang]["any_prescription"]
    flags = "".join(f" ({WORDS[lang][f]})" for f in e.require)
    return f"{TABLES[lang][e.table]} {what}{flags} {window(e.window, lang)}"


def test(t: m.NumberTest | m.TextTest, lang: str = "da") -> str:
    if isinstance(t, m.TextTest):
        return WORDS[lang]["text_in"].format(v=", ".join(t.values))
    unit = f" {t.unit}" if t.unit else ""
    if t.op == "between":
        return WORDS[lang]["between"].format(a=number(t.value, lang), b=number(t.upper, lang)) + unit
    return f"{t.op} {number(t.value, lang)}{unit}"


def criterion(c: m.Criterion, lang: str = "da", indent: int = 0) -> list[str]:
    """The criterion as indented lines."""
    words = WORDS[lang]
    pad = "  " * indent
    match c:
        case m.AllOf(()):
            return [pad + words["everyone"]]
        case m.AllOf(parts) | m.AnyOf(parts):
            head = words["all"] if isinstance(c, m.AllOf) else words["any"]
            return [pad + head] + [line for p in parts for line in criterion(p, lang, indent + 1)]
        case m.Not(part):
            return [pad + words["not"]] + criterion(part, lang, indent + 1)
        case m.AgeRange(low, high):
            if low is not None and high is not None:
                return [pad + words["age"].format(a=low, b=high)]
            return [pad + (words["age_min"].format(a=low) if low is not None else words["age_max"].format(a=high))]
        case m.SexIs(sex):
            return [pad + words["sex"][sex]]
        case m.EnrolledOn(condition):
            return [pad + words["enrolled"].format(c=condition)]
        case m.HasEvents(e, n):
            prefix = f"{words['at_least'].format(n=n)} " if n > 1 else ""
            return [pad + prefix + events(e, lang)]
        case m.HasDistinctCodes(e, n):
            what = " / ".join(cl.label(lang) for cl in e.codelists)
            return [pad + words["distinct"].format(n=n, window=window(e.window, lang)) + (f" ({what})" if what else "")]
        case m.LatestValue(e, t):
            what = (" eller " if lang == "da" else " or ").join(cl.label(lang) for cl in e.codelists)
            return [pad + words["latest"].format(what=what, window=window(e.window, lang), test=test(t, lang))]
    raise TypeError(c)


def measure(ms: m.Measure, lang: str = "da") -> dict[str, list[str]]:
    da = lang == "da"
    if isinstance(ms, m.PatientProportion):
        return {"tæller" if da else "numerator": criterion(ms.numerator, lang)}
    if isinstance(ms, m.EventProportion):
        return {"tæller" if da else "numerator": [events(ms.numerator, lang)],
                "nævner" if da else "denominator": [events(ms.denominator, lang)]}
    if isinstance(ms, m.EventRate):
        per = f"pr. {ms.per:,} patienter pr. år".replace(",", ".") if da else f"per {ms.per:,} patients per year"
        return {"hændelser" if da else "events": [events(ms.events, lang), per]}
    items = ", ".join(i.removeprefix("item_").lstrip("0") for i in ms.items)
    return {"spørgsmål" if da else "items": [items, window(ms.window, lang)]}
