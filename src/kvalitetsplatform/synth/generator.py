"""`kp synth`: build the World, then write each practice's deliveries (in up to two worker processes).

Per practice: one initial delivery covering months 1–35 and one monthly delivery for month 36, under
DIR/<ydernummer>/<delivery_id>/, written with contract.delivery.write_delivery. Facts go to the delivery whose
period holds their date; state that was not yet known at an extract (a listing's end, a death, a discharge, the end
of an enrolment) is empty in the initial delivery and filled in by the monthly one, which re-delivers the row.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from kvalitetsplatform.contract import TABLES
from kvalitetsplatform.contract.delivery import write_delivery
from kvalitetsplatform.synth import parameters as P
from kvalitetsplatform.synth.catalogue import DRUGS, INFECTIONS
from kvalitetsplatform.synth.clinical import Cat, PracticeCare, PracticeSynth, hashed_uniform
from kvalitetsplatform.synth.identity import full_names
from kvalitetsplatform.synth.population import EPOCH, NEVER, World, build_world, end_of_previous_month
from kvalitetsplatform.synth.text import TOPIC_ANNUAL, journal_notes, survey_comments
from kvalitetsplatform.terminology import code_system

SUMMARY_NAME = "synth.json"
ERRORS_NAME = "injected_errors.jsonl"
EXTRACT_TIME = timedelta(hours=23, minutes=30)  # extracts are taken late on the last day of the period
ID_PREFIX = {"contact": "C", "diagnosis": "D", "lab_result": "L", "measurement": "M", "prescription": "R",
             "chronic_enrolment": "E", "hospital_admission": "H", "survey_response": "S", "journal_note": "N"}
ID_FIELD = {t.name: t.fields[0].name for t in TABLES.values()}


class SynthError(RuntimeError):
    """A problem with the arguments or the output folder; the message is for the user (Danish)."""


@dataclass(frozen=True)
class Options:
    out: Path
    scale: str = "demo"
    patients: int | None = None
    seed: int = 1
    end_date: date | None = None
    errors: float = 0.0
    fmt: str = "parquet"
    workers: int = 2


@dataclass
class Report:
    scale: str
    seed: int
    end_date: date
    patients: int
    practices: int
    clusters: int
    deliveries: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    injected_errors: int = 0
    seconds: float = 0.0
    world_seconds: float = 0.0

    def as_dict(self) -> dict:
        return {"scale": self.scale, "seed": self.seed, "end_date": self.end_date.isoformat(),
                "patients": self.patients, "practices": self.practices, "clusters": self.clusters,
                "deliveries": self.deliveries, "rows": dict(sorted(self.rows.items())),
                "injected_errors": self.injected_errors}


def default_end_date() -> date:
    return end_of_previous_month(P.REFERENCE_DATE)


def _prepare_out(out: Path) -> None:
    if out.exists() and any(out.iterdir()):
        if not (out / SUMMARY_NAME).exists():
            raise SynthError(f"{out}: mappen er ikke tom og er ikke output fra kp synth; vælg en tom mappe")
        shutil.rmtree(out)  # our own earlier output: replace it whole
    out.mkdir(parents=True, exist_ok=True)


# The World is shared with forked workers through this module global.
_WORLD: World | None = None
_OPTIONS: Options | None = None


def synthesise(options: Options, progress: Callable[[int, int, dict], None] | None = None) -> Report:
    """Write a synthetic population as deliveries; `progress(done, total, counts)` is called per practice."""
    global _WORLD, _OPTIONS
    if options.scale not in P.SCALES:
        raise SynthError(f"ukendt skala {options.scale!r}; vælg {', '.join(P.SCALES)}")
    if options.fmt not in ("parquet", "csv"):
        raise SynthError(f"ukendt format {options.fmt!r}; vælg parquet eller csv")
    if not 0 <= options.errors <= 0.5:
        raise SynthError(f"--errors skal være mellem 0 og 0,5, fik {options.errors}")
    if options.patients is not None and options.patients < 100:
        raise SynthError("--patients skal være mindst 100")
    end = options.end_date or default_end_date()
    if (end + timedelta(days=1)).day != 1:
        raise SynthError(f"slutdatoen skal være den sidste dag i en måned, fik {end:%d.%m.%Y}")
    started = time.perf_counter()
    _prepare_out(options.out)
    world = build_world(options.scale, options.seed, end, options.patients)
    _WORLD, _OPTIONS = world, options
    report = Report(options.scale, options.seed, end, len(world.birth), len(world.practices.size),
                    len({world.cluster_ids[c] for c in world.practices.cluster}))
    report.world_seconds = time.perf_counter() - started
    n_practices = len(world.practices.size)
    order = np.argsort(-world.practices.size, kind="stable").tolist()  # big practices first balances the workers
    errors: list[dict] = []
    done = 0

    def collect(result: dict) -> None:
        nonlocal done
        done += 1
        for k, v in result["rows"].items():
            report.rows[k] = report.rows.get(k, 0) + v
        report.deliveries += result["deliveries"]
        errors.extend(result["errors"])
        if progress:
            progress(done, n_practices, result["rows"])

    workers = max(1, min(options.workers, n_practices, os.cpu_count() or 1))
    if workers > 1 and "fork" in multiprocessing.get_all_start_methods():
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            for result in pool.imap_unordered(_practice_job, order, chunksize=1):
                collect(result)
    else:
        for p in order:
            collect(_practice_job(p))
    errors.sort(key=lambda e: (e["delivery_id"], e["table"], e["row"], e["field"] or ""))
    report.injected_errors = len(errors)
    if options.errors > 0:
        with (options.out / ERRORS_NAME).open("w", encoding="utf-8") as f:
            for e in errors:
                f.write(json.dumps(e, ensure_ascii=False) + "\n")
    summary = report.as_dict() | {"format": options.fmt, "errors": options.errors}
    (options.out / SUMMARY_NAME).write_text(json.dumps(summary, ensure_ascii=False, indent=2) + "\n",
                                            encoding="utf-8")
    report.seconds = time.perf_counter() - started
    _WORLD = _OPTIONS = None
    return report


def _practice_job(p: int) -> dict:
    world, options = _WORLD, _OPTIONS
    care = PracticeSynth(world, p).run()
    return write_practice(world, options, p, care)


def _diagnosis_text(code: str) -> str:
    icpc = code_system("ICPC2DK")
    return icpc.label(code) if code in icpc else code_system("SKS").label(code)


def _unit(code: str) -> str | None:
    for system in ("NPU", "DNK", "MCS", "KP"):
        concept = code_system(system).get(code)
        if concept:
            return concept.unit
    return None


# --- one practice's deliveries ----------------------------------------------------------------------------------


def _d(days) -> date:
    return EPOCH + timedelta(days=int(days))


def _dates(days: np.ndarray, upto: int | None = None) -> pa.Array:
    days = np.asarray(days, np.int64)
    mask = days >= NEVER if upto is None else (days >= NEVER) | (days > upto)
    return pa.array(np.where(mask, 0, days).astype(np.int32), type=pa.date32(), mask=mask)


def _timestamps(day: np.ndarray, sec: np.ndarray) -> pa.Array:
    return pa.array(day.astype(np.int64) * 86_400 + sec.astype(np.int64), type=pa.timestamp("s"))


def _ids(prefix: str, n: int) -> pa.Array:
    width = max(7, len(str(n)))
    return pc.binary_join_element_wise(prefix, pc.utf8_lpad(pc.cast(pa.array(np.arange(1, n + 1)), pa.string()),
                                                            width, "0"), "")


def _floats(values: np.ndarray) -> pa.Array:
    values = np.asarray(values, float)
    return pa.array(values, mask=np.isnan(values))


def _strings(values) -> pa.Array:
    if isinstance(values, Cat):
        return values.to_arrow()
    return pa.array(values.tolist() if values.dtype == object else values, type=pa.string())


def _lookup(keys: np.ndarray, fn) -> pa.Array:
    """fn(key) for each key, computed once per distinct key (keys are few, rows are many)."""
    if not len(keys):
        return pa.array([], pa.string())
    keys = Cat.of(keys)
    uniq, inverse = keys.categories, keys.codes
    values = [fn(k) if k is not None else None for k in uniq]
    first = next((v for v in values if v is not None), "")
    kind = pa.int64() if isinstance(first, int) else pa.float64() if isinstance(first, float) else pa.string()
    return pa.array(values, kind).take(pa.array(inverse))


class PracticeWriter:
    """Turns one practice's whole-window columns into the contract tables of its two deliveries."""

    def __init__(self, world: World, options: Options, p: int, care: PracticeCare):
        self.w, self.o, self.p, self.care = world, options, p, care
        self.rng = np.random.default_rng([world.seed, 3, p])
        self.pr = world.practices
        self.ydernummer = str(self.pr.ydernummer[p])
        months = world.months
        self.periods = [(int(months[0]), int(months[-2]) - 1), (int(months[-2]), int(months[-1]) - 1)]
        pat = care.patients
        self.cpr = pa.array(world.cpr[pat["patient"]]).cast(pa.string())
        self.t = care.tables
        # Ids over the whole window, so they are unique within the practice across deliveries.
        self.ids = {name: _ids(ID_PREFIX[name], len(cols["idx"])) for name, cols in self.t.items()}

    def delivery_tables(self, k: int) -> dict[str, pa.Table]:
        lo, hi = self.periods[k]
        out = {"practice": self.practice_rows(lo, hi), "clinician": self.clinician_rows(),
               "patient": self.patient_rows(lo, hi)}
        t = self.t
        # Contacts, diagnoses, labs, measurements, prescriptions: by their date.
        sel = self._in(t["contact"]["day"], lo, hi)
        c = t["contact"]
        out["contact"] = pa.table({
            "contact_id": self.ids["contact"].filter(sel), "cpr": self.cpr.take(pa.array(c["idx"][sel])),
            "clinician_id": pa.array(self.care.clinicians["clinician_id"][c["clin"][sel]]),
            "contact_ts": _timestamps(c["day"][sel], c["sec"][sel]), "ydelseskode": _strings(c["code"][sel]),
            "channel": _strings(c["channel"][sel])})
        d = t["diagnosis"]
        if k == 0:
            sel = d["day"] <= hi  # the problem list as it stood, history included
        else:
            sel = self._in(d["day"], lo, hi)
        birth = self.w.birth[self.care.patients["patient"][d["idx"][sel]]]
        onset = np.where(d["onset"][sel] < NEVER, np.maximum(d["onset"][sel], birth), NEVER)
        out["diagnosis"] = pa.table({
            "diagnosis_id": self.ids["diagnosis"].filter(sel), "cpr": self.cpr.take(pa.array(d["idx"][sel])),
            "code_system": _strings(d["system"][sel]), "code": _strings(d["code"][sel]),
            "text": _lookup(d["code"][sel], _diagnosis_text), "onset_date": _dates(onset), "recorded_date": _dates(d["day"][sel]),
            "source": _strings(d["source"][sel]), "status": _strings(d["status"][sel])})
        lab = t["lab_result"]
        sel = self._in(lab["day"], lo, hi)
        out["lab_result"] = pa.table({
            "lab_id": self.ids["lab_result"].filter(sel), "cpr": self.cpr.take(pa.array(lab["idx"][sel])),
            "code_system": _strings(lab["system"][sel]), "code": _strings(lab["code"][sel]),
            "value_num": _floats(lab["value"][sel]), "comparator": _strings(lab["comparator"][sel]),
            "value_text": _strings(lab["text"][sel]),
            "unit": _lookup(lab["code"][sel], _unit),
            "ref_low": _floats(lab["ref_low"][sel]), "ref_high": _floats(lab["ref_high"][sel]),
            "abnormal_flag": _strings(lab["flag"][sel]), "sampled_ts": _timestamps(lab["day"][sel], lab["sec"][sel]),
            "producer": _strings(lab["producer"][sel])})
        m = t["measurement"]
        sel = self._in(m["day"], lo, hi)
        out["measurement"] = pa.table({
            "measurement_id": self.ids["measurement"].filter(sel), "cpr": self.cpr.take(pa.array(m["idx"][sel])),
            "code_system": _strings(m["system"][sel]), "code": _strings(m["code"][sel]),
            "value_num": _floats(m["value"][sel]), "value_text": _strings(m["text"][sel]),
            "unit": _lookup(m["code"][sel], _unit),
            "measured_ts": _timestamps(m["day"][sel], m["sec"][sel])})
        out["prescription"] = self.prescriptions(lo, hi)
        out["chronic_enrolment"] = self.enrolments(k, lo, hi)
        out["hospital_admission"] = self.admissions(k, lo, hi)
        out["survey_response"] = self.survey(lo, hi)
        out["journal_note"] = self.notes(lo, hi)
        return out

    @staticmethod
    def _in(days, lo, hi):
        return (days >= lo) & (days <= hi)

    # --- organisation ----------------------------------------------------------------------------------------------
    def practice_rows(self, lo: int, hi: int) -> pa.Table:
        pr, p, w = self.pr, self.p, self.w
        since = (date(2019, 1, 1) - EPOCH).days
        change = int(pr.cluster_change[p])
        rows = [(since, change - 1 if change < NEVER else None, pr.previous_cluster[p] if change < NEVER
                 else pr.cluster[p])]
        if change < NEVER:
            rows.append((change, None, pr.cluster[p]))
        rows = [r for r in rows if r[0] <= hi and (r[1] is None or r[1] >= lo)]
        return pa.table({
            "ydernummer": [self.ydernummer] * len(rows), "valid_from": [_d(r[0]) for r in rows],
            "valid_to": pa.array([_d(r[1]) if r[1] is not None else None for r in rows], pa.date32()),
            "name": [pr.name[p]] * len(rows), "cvr": [str(pr.cvr[p])] * len(rows),
            "sor_code": [str(pr.sor[p])] * len(rows), "region_code": [str(pr.region[p])] * len(rows),
            "kommune_code": [str(pr.kommune[p])] * len(rows),
            "cluster_id": [w.cluster_ids[r[2]] for r in rows], "cluster_name": [w.cluster_names[r[2]] for r in rows],
            "practice_type": [str(pr.practice_type[p])] * len(rows), "n_gp": [int(pr.n_gp[p])] * len(rows),
            "open_for_new_patients": [bool(pr.open_list[p])] * len(rows),
            "lps_vendor": [str(pr.vendor[p])] * len(rows)})

    def clinician_rows(self) -> pa.Table:
        c = self.care.clinicians
        return pa.table({"clinician_id": c["clinician_id"], "initials": c["initials"], "role": c["role"],
                         "fte": c["fte"]})

    def patient_rows(self, lo: int, hi: int) -> pa.Table:
        pat, w = self.care.patients, self.w
        end = np.minimum(pat["list_end"], pat["death_date"])
        sel = (pat["list_start"] <= hi) & (end >= lo)
        people = pat["patient"][sel]
        return pa.table({
            "cpr": self.cpr.filter(sel), "name": full_names(w.names[people], w.male[people]),
            "birth_date": _dates(w.birth[people]), "sex": np.where(w.male[people], "M", "F"),
            "kommune_code": w.kommune_codes[pat["kommune"][sel]],
            "sikringsgruppe": w.sikringsgruppe[people].astype(np.int64),
            "list_start": _dates(pat["list_start"][sel]), "list_end": _dates(pat["list_end"][sel], upto=hi),
            "death_date": _dates(pat["death_date"][sel], upto=hi)})

    # --- treatment, enrolment, admissions --------------------------------------------------------------------------
    def prescriptions(self, lo: int, hi: int) -> pa.Table:
        r = self.t["prescription"]
        sel = self._in(r["day"], lo, hi)
        atc = r["atc"][sel]
        names = code_system("ATC")
        packs = r["packs"][sel].astype(np.int64)
        return pa.table({
            "prescription_id": self.ids["prescription"].filter(sel), "cpr": self.cpr.take(pa.array(r["idx"][sel])),
            "clinician_id": pa.array(self.care.clinicians["clinician_id"][r["clin"][sel]]),
            "prescribed_date": _dates(r["day"][sel]), "atc": _strings(atc),
            "drug_name": _lookup(atc, lambda a: names[a].label_da),
            "strength": _lookup(atc, lambda a: DRUGS[a].strength),
            "pack_size": _lookup(atc, lambda a: DRUGS[a].pack_size), "n_packs": packs,
            "ddd": np.round(_lookup(atc, lambda a: float(DRUGS[a].ddd_per_pack)).to_numpy() * packs, 1),
            "dosage_text": _lookup(atc, lambda a: DRUGS[a].dosage),
            "indication_text": _lookup(atc, lambda a: DRUGS[a].indication),
            "redeemed_date": _dates(r["redeemed"][sel], upto=hi)})

    def enrolments(self, k: int, lo: int, hi: int) -> pa.Table:
        e = self.t["chronic_enrolment"]
        if k == 0:
            sel = e["start"] <= hi
        else:
            sel = self._in(e["start"], lo, hi) | self._in(e["end"], lo, hi)
        return pa.table({"enrolment_id": self.ids["chronic_enrolment"].filter(sel),
                         "cpr": self.cpr.take(pa.array(e["idx"][sel])), "condition": _strings(e["condition"][sel]),
                         "start_date": _dates(e["start"][sel]), "end_date": _dates(e["end"][sel], upto=hi)})

    def admissions(self, k: int, lo: int, hi: int) -> pa.Table:
        h = self.t["hospital_admission"]
        sel = self._in(h["day"], lo, hi)
        if k == 1:  # stays that were still open at the first extract are re-delivered with their discharge
            sel |= (h["day"] < lo) & self._in(h["discharged"], lo, hi)
        return pa.table({"admission_id": self.ids["hospital_admission"].filter(sel),
                         "cpr": self.cpr.take(pa.array(h["idx"][sel])), "admitted_date": _dates(h["day"][sel]),
                         "discharged_date": _dates(h["discharged"][sel], upto=hi),
                         "diagnosis_code": _strings(h["code"][sel]), "acute": h["acute"][sel],
                         "hospital": _strings(h["hospital"][sel])})

    # --- survey ----------------------------------------------------------------------------------------------------
    ITEM_MEANS = np.array([4.55, 4.45, 4.45, 4.3, 4.55, 4.7, 4.3, 4.3, 4.45, 4.45, 4.35, 4.35, 4.35, 4.2, 4.3, 4.25,
                           4.15, 4.4, 3.95, 3.7, 4.0, 3.9, 4.25])
    ITEM_MISSING = np.array([.03, .04, .04, .06, .03, .08, .08, .07, .04, .06, .15, .07, .06, .15, .08, .1, .22, .05,
                             .04, .04, .2, .04, .12])

    def survey(self, lo: int, hi: int) -> pa.Table:
        """DanPEP answers: one wave a year in the practice's survey month; tone of comments follows the scores."""
        if not hasattr(self, "_survey"):
            self._survey = self._make_survey()
        s = self._survey
        sel = self._in(s["day"], lo, hi)
        cols = {"response_id": s["id"].filter(pa.array(sel)), "wave": _strings(s["wave"][sel]),
                "answered_date": _dates(s["day"][sel])}
        for i in range(23):
            v = s["items"][sel, i]
            cols[f"item_{i + 1:02d}"] = pa.array(v, pa.int64(), mask=v == 0)
        cols["comment_good"] = pa.array(np.asarray(s["good"], object)[sel].tolist(), pa.string())
        cols["comment_improve"] = pa.array(np.asarray(s["improve"], object)[sel].tolist(), pa.string())
        return pa.table(cols)

    def _make_survey(self) -> dict:
        rng, w, p = self.rng, self.w, self.p
        month = int(rng.integers(2, 11))
        listed = len(self.care.patients["patient"])
        days, waves = [], []
        for year in range(_d(w.start).year, _d(w.end).year + 1):
            first = (date(year, month, 1) - EPOCH).days
            if first < w.start or first + 27 > w.end:
                continue
            n = rng.poisson(listed * P.SURVEY_RESPONSES_PER_1000 / 1000)
            days.append(first + rng.integers(0, 28, n))
            waves.append(np.full(n, str(year)))
        day = np.concatenate(days) if days else np.array([], np.int64)
        wave = np.concatenate(waves) if waves else np.array([], str)
        order = np.argsort(day, kind="stable")
        day, wave = day[order], wave[order]
        n = len(day)
        level = self.pr.survey_level[p]
        person = rng.normal(0, 0.42, (n, 1))
        raw = self.ITEM_MEANS + level + person + rng.normal(0, 0.45, (n, 23))
        items = np.clip(np.round(raw), 1, 5).astype(np.int64)
        items[rng.random((n, 23)) < self.ITEM_MISSING] = 0
        answered = np.where(items > 0, items, np.nan)
        with np.errstate(invalid="ignore"):
            mean = np.nanmean(np.where(np.isnan(answered).all(axis=1, keepdims=True), 4, answered), axis=1)
        weakest = np.nanargmin(np.where(np.isnan(answered), 9, answered), axis=1) + 1
        good, improve = survey_comments(rng, mean, weakest)
        return {"day": day, "wave": wave, "items": items, "good": good, "improve": improve,
                "id": _ids(ID_PREFIX["survey_response"], n)}

    # --- journal notes ---------------------------------------------------------------------------------------------
    NOTE_CODES = ("0101", "0201", "0204", "0105", "0127", "0125", "0120", "6101", "0411", "0121")

    def notes(self, lo: int, hi: int) -> pa.Table:
        if not hasattr(self, "_notes"):
            self._notes = self._make_notes()
        nt = self._notes
        sel = self._in(nt["day"], lo, hi)
        return pa.table({"note_id": nt["id"].filter(pa.array(sel)), "cpr": self.cpr.take(pa.array(nt["idx"][sel])),
                         "note_ts": _timestamps(nt["day"][sel], nt["sec"][sel]),
                         "clinician_id": pa.array(self.care.clinicians["clinician_id"][nt["clin"][sel]]),
                         "source": np.where(nt["speech"][sel], "speech", "manual"),
                         "contact_id": nt["contact_id"].filter(pa.array(sel)), "text": nt["text"].filter(pa.array(sel))})

    def _make_notes(self) -> dict:
        rng, w, p = self.rng, self.w, self.p
        c = self.t["contact"]
        share = P.NOTE_SHARE[w.scale]
        eligible = c["code"].isin(self.NOTE_CODES)
        pick = np.flatnonzero(eligible & (rng.random(len(c["idx"])) < share))
        idx, day, sec, chan = c["idx"][pick], c["day"][pick], c["sec"][pick], c["channel"][pick].values()
        # The speech scribe arrives some time in the first 18 months and is used more and more over 6 months.
        adopt = w.start + int(hashed_uniform(np.array([p]), w.seed)[0] * 540)
        ramp = np.clip((day - adopt) / 180, 0, 1)
        speech = (chan != "email") & (rng.random(len(pick)) < self.pr.speech[p] * ramp)
        topic = c["topic"][pick].astype(np.int64)
        infection = np.array([INFECTIONS[i][0] if i >= 0 else "" for i in c["infection"][pick]], object)
        atcs = list(DRUGS)
        names = code_system("ATC")
        drug = c["drug"][pick]
        drug_name = np.array([names[atcs[i]].label_da if i >= 0 else "" for i in drug], object)
        dose = np.array([f"{DRUGS[atcs[i]].strength}, {DRUGS[atcs[i]].dosage}" if i >= 0 else "" for i in drug], object)
        patients = self.care.patients["patient"]
        onset = w.onset[patients[idx]]
        disease = np.full(len(pick), "", object)
        from kvalitetsplatform.synth.parameters import CONDITION_INDEX
        for key in ("ASTHMA", "AF", "HF", "IHD", "COPD", "T2D"):  # the last that applies wins
            disease[(onset[:, CONDITION_INDEX[key]] <= day)] = key
        topic = np.where((topic == TOPIC_ANNUAL) & (disease == ""), 0, topic)
        # Blood pressure measured on the same day, when there is one.
        m = self.t["measurement"]
        bp = m["code"] == "DNK05472"
        keys = m["idx"][bp].astype(np.int64) * 100_000 + m["day"][bp]
        order = np.argsort(keys, kind="stable")
        keys, sbp_all = keys[order], m["value"][bp][order]
        dbp_all = m["value"][m["code"] == "DNK05473"][order]
        want = idx.astype(np.int64) * 100_000 + day
        pos = np.clip(np.searchsorted(keys, want), 0, max(len(keys) - 1, 0))
        hit = (len(keys) > 0) & (keys[pos] == want) if len(keys) else np.zeros(len(want), bool)
        sbp = np.where(hit, sbp_all[pos] if len(keys) else np.nan, np.nan)
        dbp = np.where(hit, dbp_all[pos] if len(keys) else np.nan, np.nan)
        text = journal_notes(rng, topic, speech, w.male[patients[idx]], infection, drug_name, dose, disease,
                             sbp, dbp, chan)
        note_sec = np.minimum(sec + rng.integers(3, 25, len(pick)) * 60, 86_399)
        return {"idx": idx, "day": day, "sec": note_sec, "clin": c["clin"][pick], "speech": speech, "text": text,
                "contact_id": self.ids["contact"].take(pa.array(pick)), "id": _ids(ID_PREFIX["journal_note"],
                                                                                   len(pick))}


def write_practice(world: World, options: Options, p: int, care: PracticeCare) -> dict:
    from kvalitetsplatform.synth.faults import inject_faults

    writer = PracticeWriter(world, options, p, care)
    rows: dict[str, int] = {}
    errors: list[dict] = []
    for k, (lo, hi) in enumerate(writer.periods):
        extract = datetime.combine(_d(hi), datetime.min.time()) + EXTRACT_TIME
        delivery_id = f"{writer.ydernummer}-{extract:%Y%m%dT%H%M%S}"
        tables = writer.delivery_tables(k)
        folder = options.out / writer.ydernummer / delivery_id
        csv_faults = None
        if options.errors > 0:
            tables, found, csv_faults = inject_faults(np.random.default_rng([world.seed, 4, p, k]), tables,
                                                      options.errors, options.fmt, hi, delivery_id)
            errors.extend(found)
        manifest = write_delivery(folder, delivery_id=delivery_id, ydernummer=writer.ydernummer,
                                  vendor=str(world.practices.vendor[p]), extract_ts=extract, period_start=_d(lo),
                                  period_end=_d(hi), tables=tables, fmt=options.fmt)
        if csv_faults:
            from kvalitetsplatform.synth.faults import break_csv_rows
            errors.extend(break_csv_rows(folder, manifest, csv_faults, delivery_id))
        for name, t in tables.items():
            rows[name] = rows.get(name, 0) + t.num_rows
    return {"rows": rows, "deliveries": len(writer.periods), "errors": errors}
