"""Phase 2: one practice's three years of care — contacts, diagnoses, labs, measurements, prescriptions,
chronic-care enrolment and hospital admissions — as whole-window columns (numpy), vectorised over its patients.

Everything a person carries between practices (conditions, latent control of diabetes, LDL, blood pressure,
adherence, who would be treated) comes from the World or from `hashed_uniform` of the person, so a patient who moves
keeps their illness and, mostly, their treatment; what a practice adds (coding, quality of follow-up, antibiotic
habits) comes from the practice's own random stream, seeded by (seed, practice).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa

from kvalitetsplatform.synth import parameters as P
from kvalitetsplatform.synth.catalogue import (
    ADMISSION_CAUSES,
    DRUGS,
    HOSPITALS,
    INFECTIONS,
    LABORATORIES,
    LABS,
    LDL_REDUCTION,
    REGIMENS,
    STATIN_REGIMENS,
    SYMPTOMS,
)
from kvalitetsplatform.synth.identity import draw_names, full_names, initials
from kvalitetsplatform.synth.population import LATENT, NEVER, World, coding_probability, day_number
from kvalitetsplatform.terminology import code_system

CI = P.CONDITION_INDEX
YEAR = 365.25
DAY_SECONDS = 86_400


def hashed_uniform(ids: np.ndarray, salt: int) -> np.ndarray:
    """A uniform number per (person, salt) that is the same wherever the person appears (splitmix64)."""
    with np.errstate(over="ignore"):
        z = ids.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15) + np.uint64((salt * 0xBF58476D1CE4E5B9) % 2**64)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) / float(2**53)


def contact_rate(w: World, people: np.ndarray, day: int) -> np.ndarray:
    """Ordinary contacts per year for `people` at `day` before normalisation (age, sex, chronic load)."""
    age = (day - w.birth[people]) / YEAR
    bands = np.array([a for a, _, _ in P.CONTACT_RATE_BY_AGE])
    band = np.searchsorted(bands, age, side="right") - 1
    women = np.array([f for _, f, _ in P.CONTACT_RATE_BY_AGE])
    men = np.array([m for _, _, m in P.CONTACT_RATE_BY_AGE])
    base = np.where(w.male[people], men[band], women[band])
    chronic = [i for i, c in enumerate(P.CONDITIONS) if c.chronic]
    n_chronic = (w.onset[people][:, chronic] <= day).sum(axis=1)
    return base * (1 + P.CHRONIC_CONTACT_FACTOR * np.minimum(n_chronic, 4))


class Cat:
    """A string column as small-integer codes into a short list of categories (None allowed).

    Millions of rows take few distinct values (codes, channels, flags); keeping them as codes makes building the
    Arrow columns a `take` instead of a conversion of Python or numpy strings.
    """
    __slots__ = ("categories", "codes")

    def __init__(self, categories, codes):
        self.categories = list(categories)
        self.codes = np.asarray(codes, np.int32)

    @staticmethod
    def of(value, n: int | None = None) -> Cat:
        if isinstance(value, Cat):
            return value
        if value is None or isinstance(value, str):
            return Cat([value], np.zeros(n, np.int32))
        codes, uniques = pd.factorize(np.asarray(value, object), use_na_sentinel=True)
        categories = list(uniques)
        if (codes < 0).any():
            categories.append(None)
            codes = np.where(codes < 0, len(categories) - 1, codes)
        return Cat(categories, codes)

    def __len__(self) -> int:
        return len(self.codes)

    def __getitem__(self, sel) -> Cat:
        return Cat(self.categories, self.codes[sel])

    def __eq__(self, value):  # type: ignore[override]
        return self.isin([value])

    __hash__ = None  # type: ignore[assignment]

    def isin(self, values) -> np.ndarray:
        wanted = [i for i, c in enumerate(self.categories) if c in values]
        return np.isin(self.codes, wanted)

    def values(self) -> np.ndarray:
        return np.array(self.categories, dtype=object)[self.codes]

    def to_arrow(self) -> pa.Array:
        return pa.array(self.categories, pa.string()).take(pa.array(self.codes))

    @staticmethod
    def concat(parts: list[Cat]) -> Cat:
        categories: list = []
        index: dict = {}
        codes = []
        for part in parts:
            mapping = np.empty(max(len(part.categories), 1), np.int32)
            for i, c in enumerate(part.categories):
                if c not in index:
                    index[c] = len(categories)
                    categories.append(c)
                mapping[i] = index[c]
            codes.append(mapping[part.codes])
        return Cat(categories, np.concatenate(codes) if codes else np.zeros(0, np.int32))


def _is_text(v) -> bool:
    return isinstance(v, (Cat, str)) or v is None or (isinstance(v, np.ndarray) and v.dtype.kind in "UO")


@dataclass
class Rows:
    """Columns of one table being built: parts per column, concatenated at the end (text columns as Cat)."""
    parts: dict[str, list] = field(default_factory=dict)

    def add(self, **cols) -> None:
        n = len(cols["idx"])
        for k, v in cols.items():
            if _is_text(v):
                arr = Cat.of(v, n)
            else:
                arr = np.asarray(v) if np.ndim(v) > 0 else np.full(n, v)
            self.parts.setdefault(k, []).append(arr)

    def columns(self) -> dict:
        return {k: Cat.concat(v) if isinstance(v[0], Cat) else np.concatenate(v) for k, v in self.parts.items()}


@dataclass
class PracticeCare:
    """The generated whole-window data of one practice (numpy columns per table, rows in time order)."""
    patients: dict
    clinicians: dict
    tables: dict[str, dict[str, np.ndarray]]


class PracticeSynth:
    def __init__(self, w: World, p: int):
        self.w, self.p = w, p
        self.rng = np.random.default_rng([w.seed, 2, p])
        lo, hi = w.practice_offsets[p], w.practice_offsets[p + 1]
        self.pid = w.l_patient[lo:hi]
        self.ls, self.le = w.l_start[lo:hi], w.l_end[lo:hi]
        self.moved_in = w.l_moved_in[lo:hi]
        self.kommune = w.l_kommune[lo:hi]
        self.n = hi - lo
        self.death = w.death[self.pid]
        self.a = np.maximum(self.ls, w.start)  # first active day in the window
        self.b = np.minimum(np.minimum(self.le, self.death), w.end)  # last active day
        self.years = (self.b - self.a + 1) / YEAR
        pr = w.practices
        self.q, self.coding = float(pr.quality[p]), float(pr.coding[p])
        self.male = w.male[self.pid]
        self.birth = w.birth[self.pid]
        self.onset = w.onset[self.pid]
        self.latent = w.latent[self.pid]
        self.has = {c.key: self.onset[:, i] <= self.b for i, c in enumerate(P.CONDITIONS)}
        self.region = pr.region[p]
        self._clinicians()

    # --- helpers -------------------------------------------------------------------------------------------------
    def u(self, salt: int, idx: np.ndarray | None = None) -> np.ndarray:
        pid = self.pid if idx is None else self.pid[idx]
        return hashed_uniform(pid.astype(np.uint64) + np.uint64(self.w.seed) * np.uint64(1_000_003), salt)

    def age(self, idx: np.ndarray, day: np.ndarray) -> np.ndarray:
        return (day - self.birth[idx]) / YEAR

    def uniform_day(self, idx: np.ndarray) -> np.ndarray:
        return (self.a[idx] + self.rng.random(len(idx)) * (self.b[idx] - self.a[idx] + 1)).astype(np.int32)

    def weekday(self, day: np.ndarray, idx: np.ndarray) -> np.ndarray:
        """Move weekend days to Friday or Monday, staying inside the patient's active period."""
        wd = (day + 3) % 7  # 0 = Monday
        out = np.where(wd == 5, day - 1, np.where(wd == 6, day + 1, day))
        out = np.where(out > self.b[idx], out - 3, out)
        return np.clip(out, self.a[idx], self.b[idx]).astype(np.int32)

    def office_seconds(self, k: int, start_h: float = 8.0, end_h: float = 15.75) -> np.ndarray:
        quarters = self.rng.integers(int(start_h * 4), int(end_h * 4) + 1, k)
        return quarters * 900 + self.rng.integers(0, 6, k) * 60

    def _clinicians(self) -> None:
        rng, pr = self.rng, self.w.practices
        n_gp = int(pr.n_gp[self.p])
        n_nurse = max(1, round(n_gp * 0.7))
        n_sec = 1 + (n_gp > 2)
        trainee = rng.random() < 0.3
        ids = ([f"L{i + 1:02d}" for i in range(n_gp)] + [f"S{i + 1:02d}" for i in range(n_nurse)]
               + [f"K{i + 1:02d}" for i in range(n_sec)] + (["U01"] if trainee else []))
        roles = ["gp"] * n_gp + ["nurse"] * n_nurse + ["secretary"] * n_sec + (["trainee"] if trainee else [])
        male = rng.random(len(ids)) < np.where(np.array(roles) == "gp", 0.52, 0.1)
        names = full_names(draw_names(rng, male), male).to_pylist()
        inits = initials(names)
        seen: dict[str, int] = {}
        for i, s in enumerate(inits):  # initials are unique within a practice
            seen[s] = seen.get(s, 0) + 1
            if seen[s] > 1:
                inits[i] = f"{s}{seen[s]}"
        fte = np.round(np.where(np.array(roles) == "gp", rng.uniform(0.8, 1.0, len(ids)),
                                rng.uniform(0.4, 1.0, len(ids))), 1)
        self.clinicians = {"clinician_id": np.array(ids), "initials": np.array(inits), "role": np.array(roles),
                           "fte": fte}
        self.gp = np.arange(n_gp)
        self.nurse = np.arange(n_gp, n_gp + n_nurse)
        self.trainee = n_gp + n_nurse + n_sec if trainee else None
        self.own_gp = rng.integers(0, n_gp, self.n)

    def pick_clinician(self, idx: np.ndarray, gp_share: float) -> np.ndarray:
        k = len(idx)
        r = self.rng.random(k)
        other = self.gp[self.rng.integers(0, len(self.gp), k)]
        nurse = self.nurse[self.rng.integers(0, len(self.nurse), k)]
        out = np.where(r < gp_share * 0.8, self.own_gp[idx], np.where(r < gp_share, other, nurse))
        if self.trainee is not None:
            out = np.where(self.rng.random(k) < 0.06, self.trainee, out)
        return out

    # --- the whole practice --------------------------------------------------------------------------------------
    def run(self) -> PracticeCare:
        self.contacts, self.diagnoses, self.labs = Rows(), Rows(), Rows()
        self.measurements, self.prescriptions, self.enrolments, self.admissions = Rows(), Rows(), Rows(), Rows()
        self.ordinary_contacts()
        self.chronic_diagnoses()
        self.regimens()
        self.infections_and_symptoms()
        self.annual_control()
        self.other_labs_and_measurements()
        self.services()
        self.enrolment()
        self.hospital()
        return PracticeCare(self.patient_columns(), self.clinicians, self.finish())

    def patient_columns(self) -> dict:
        le = np.where(self.le <= self.w.end, self.le, NEVER)
        death = np.where(self.death <= self.w.end, self.death, NEVER)
        return {"patient": self.pid, "list_start": self.ls, "list_end": le, "death_date": death,
                "kommune": self.kommune, "moved_in": self.moved_in}

    # --- contacts ------------------------------------------------------------------------------------------------
    def ordinary_contacts(self) -> None:
        rng, w = self.rng, self.w
        rate = contact_rate(w, self.pid, (w.start + w.end) // 2) * w.contact_norm
        frailty = rng.gamma(P.CONTACT_FRAILTY_SHAPE, 1 / P.CONTACT_FRAILTY_SHAPE, self.n)
        count = rng.poisson(rate * frailty * self.years)
        idx = np.repeat(np.arange(self.n), count)
        day = self.uniform_day(idx)
        age = self.age(idx, day)
        codes = np.array([c for c, _, _ in P.CONTACT_MIX])
        chans = np.array([c for _, c, _ in P.CONTACT_MIX])
        share = np.array([s for _, _, s in P.CONTACT_MIX])
        digital = np.where(chans == "email", self.w.practices.digital[self.p],
                           np.where(chans == "video", self.w.practices.digital[self.p] ** 1.5, 1.0))
        # Age groups: children, adults, 80+ (home visits and fewer e-consultations for the oldest).
        groups = np.array([share * digital * np.where(chans == "email", 0.5, 1) * np.where(chans == "home", 0.1, 1),
                           share * digital * np.where(chans == "home", 0.4, 1),
                           share * digital * np.where(chans == "email", 0.35, 1) * np.where(chans == "home", 12, 1)])
        groups = np.cumsum(groups / groups.sum(axis=1, keepdims=True), axis=1)
        g = np.where(age < 15, 0, np.where(age < 80, 1, 2))
        kind = (rng.random(len(idx))[:, None] > groups[g]).sum(axis=1)
        kind = np.minimum(kind, len(codes) - 1)
        chan = chans[kind]
        email = chan == "email"
        day = np.where(email & (rng.random(len(idx)) < 0.25), day, self.weekday(day, idx))
        sec = self.office_seconds(len(idx))
        phone = chan == "phone"
        early = rng.random(len(idx)) < 0.6
        sec = np.where(phone & early, 8 * 3600 + rng.integers(0, 90 * 60, len(idx)), sec)
        sec = np.where(email, rng.integers(6 * 3600, 22 * 3600, len(idx)), sec)
        sec = np.where(chan == "home", rng.integers(11 * 3600, 15 * 3600, len(idx)), sec)
        clin = self.pick_clinician(idx, np.where(chan == "physical", 0.82, 0.75))
        self.c_idx, self.c_day, self.c_sec, self.c_code, self.c_chan = idx, day, sec, codes[kind], chan
        self.c_clin = clin
        self.contacts.add(idx=idx, day=day, sec=sec, code=Cat(codes, kind), channel=Cat(chans, kind), clin=clin,
                          topic=np.zeros(len(idx), np.int8), drug=np.full(len(idx), -1, np.int32))

    def add_service(self, idx, day, sec, code: str, channel: str, clin, topic: int = 0) -> None:
        self.contacts.add(idx=idx, day=day, sec=sec, code=code, channel=channel,
                          clin=clin, topic=np.full(len(idx), topic, np.int8), drug=np.full(len(idx), -1, np.int32))

    # --- diagnoses -----------------------------------------------------------------------------------------------
    def chronic_diagnoses(self) -> None:
        rng = self.rng
        self.coded = {}
        for i, c in enumerate(P.CONDITIONS):
            present = self.has[c.key]
            coded = present & (rng.random(self.n) < coding_probability(np.float64(self.coding), c.chronic))
            self.coded[c.key] = coded
            idx = np.flatnonzero(coded)
            onset = self.onset[idx, i]
            rec = onset + rng.integers(0, 45, len(idx))
            transferred = onset < self.ls[idx]
            rec = np.where(transferred, np.maximum(rec, self.ls[idx] + rng.integers(0, 60, len(idx))), rec)
            keep = rec <= self.b[idx]
            idx, onset, rec = idx[keep], onset[keep], rec[keep]
            self.coded[c.key] = np.zeros(self.n, bool)
            self.coded[c.key][idx] = True
            shares = np.cumsum([s for _, s in c.codes])
            pick = np.minimum(np.searchsorted(shares, self.u(100 + i, idx)), len(c.codes) - 1)
            codes = Cat([code for code, _ in c.codes], pick)
            status = np.full(len(idx), "active")
            if not c.chronic:
                old = onset < self.b[idx] - 2 * 365
                status = np.where(old & (rng.random(len(idx)) < 0.6), "resolved", status)
            self.diagnoses.add(idx=idx, system="ICPC2DK", code=codes,
                               onset=np.where(rng.random(len(idx)) < 0.85, onset, NEVER), day=rec,
                               source="lps", status=status)

    # --- long-term treatment -------------------------------------------------------------------------------------
    def regimens(self) -> None:
        """Which long-term drugs each patient is on, and the renewals that fall in the window."""
        rng, w = self.rng, self.w
        age_end = (self.b - self.birth) / YEAR
        self.on = {}  # regimen key -> (mask, start day)
        self.atc_of = {}
        self.statin_start = np.full(self.n, NEVER, np.int32)
        self.statin_reduction = np.zeros(self.n)
        self.n_regimens = np.zeros(self.n, np.int32)
        severity = self.latent[:, LATENT["severity"]]
        self.fev1pct = np.clip(64 - 15 * severity - rng.normal(0, 3, self.n), 18, 96)
        self.mrc = np.clip(np.digitize(self.fev1pct, [30, 50, 65, 80])[..., None].ravel(), 0, 4)
        self.mrc = 5 - self.mrc
        self.mrc = np.clip(self.mrc + (rng.random(self.n) < 0.2) * rng.choice([-1, 1], self.n), 1, 5)
        hba1c_z = self.latent[:, LATENT["hba1c"]]
        statin_taken = np.zeros(self.n, bool)
        for k, r in enumerate(REGIMENS):
            u = self.u(200 + k)
            if r.key in STATIN_REGIMENS:
                u = self.u(200)  # one statin decision per person
            present = np.zeros(self.n, bool)
            trigger = np.full(self.n, NEVER, np.int64)
            for cond in r.conditions:
                on = self.onset[:, CI[cond]]
                present |= on <= self.b
                trigger = np.minimum(trigger, on)
            p = np.where(present, np.clip(r.base + r.quality * (self.q - 0.5), 0, 0.98), 0.0)
            if r.key == "insulin_basal":
                p = np.where(self.has["T1D"], 1.0, np.clip(p * np.exp(0.9 * hba1c_z), 0, 0.8))
            if r.key == "copd_maintenance":
                p = np.where(present, np.clip(p + 0.35 * (self.mrc >= 3) - 0.1, 0, 0.97), 0)
            if r.key == "antiplatelet":
                p = np.where(self.has["AF"], p * 0.3, p)
            if r.background:
                lo, hi = r.background_ages
                bg = ~present & (age_end >= lo) & (age_end < hi)
                if r.background_sex:
                    bg &= self.male == (r.background_sex == "M")
                bg_p = r.background + r.background_old * (age_end >= 75)
                p = np.where(bg, bg_p * (1.3 - 0.6 * self.q if r.quality < 0 else 1.0), p)
            if r.requires == "statin":
                p = np.where(statin_taken, p, 0.0)
            on = u < p
            if r.key in STATIN_REGIMENS:
                on &= ~statin_taken
            idx = np.flatnonzero(on)
            if not len(idx):
                continue
            shares = np.cumsum([s for _, s in r.drugs])
            pick = np.minimum(np.searchsorted(shares, self.u(300 + k, idx)), len(r.drugs) - 1)
            atcs = Cat([a for a, _ in r.drugs], pick)
            cond_start = trigger[idx] + rng.integers(0, 90, len(idx))
            bg_start = np.where(rng.random(len(idx)) < 0.85, w.start - rng.integers(0, 4 * 365, len(idx)),
                                w.start + rng.integers(0, w.end - w.start, len(idx)))
            start = np.where(trigger[idx] < NEVER, cond_start, bg_start)
            stop = self.b[idx].astype(np.int64)
            quits = rng.random(len(idx)) < 0.07
            stop = np.where(quits, np.minimum(stop, start + rng.integers(60, 900, len(idx))), stop)
            ok = start <= stop
            idx, atcs, start, stop = idx[ok], atcs[ok], start[ok], stop[ok]
            self.on[r.key] = (idx, start)
            self.n_regimens[idx] += 1
            if r.key in STATIN_REGIMENS:
                statin_taken[idx] = True
                self.statin_start[idx] = start
                self.statin_reduction[idx] = np.array([LDL_REDUCTION[a] for a in atcs.categories])[atcs.codes]
            if r.key == "ezetimibe":
                self.statin_reduction[idx] = 1 - (1 - self.statin_reduction[idx]) * 0.8
            self._renewals(idx, atcs, start, stop)
        self.statin = statin_taken

    def _renewals(self, idx, atcs, start, stop) -> None:
        rng = self.rng
        days = np.array([DRUGS[a].days_per_pack for a in atcs.categories])[atcs.codes]
        # Big packages (≈ 100 days) are prescribed one or two at a time, small ones (≈ a month) one to three.
        packs = np.where(days >= 90, rng.choice([1, 2], len(idx), p=[0.75, 0.25]),
                         rng.choice([1, 2, 3], len(idx), p=[0.35, 0.4, 0.25]))
        adherence = 1 / (1 + np.exp(-self.latent[idx, LATENT["adherence"]]))
        interval = np.maximum(days * packs * (1.0 + 0.35 * (1 - adherence)), 14)
        a = np.maximum(start, self.a[idx])
        first = np.where(start < self.a[idx], a + rng.random(len(idx)) * interval, start)
        k = np.where(first <= stop, np.floor((stop - first) / interval).astype(np.int64) + 1, 0)
        rep = np.repeat(np.arange(len(idx)), k)
        j = np.arange(len(rep)) - np.repeat(np.cumsum(k) - k, k)
        day = (first[rep] + j * interval[rep] + rng.integers(-5, 6, len(rep))).astype(np.int64)
        pi = idx[rep]
        day = np.clip(day, self.a[pi], self.b[pi])
        self.add_prescriptions(pi, self.weekday(day.astype(np.int32), pi), atcs[rep], packs[rep], adherence[rep])

    def add_prescriptions(self, idx, day, atcs, packs, adherence=None) -> None:
        rng = self.rng
        k = len(idx)
        if adherence is None:
            adherence = np.full(k, 0.9)
        redeemed = rng.random(k) < 0.86 + 0.1 * adherence
        delay = rng.choice([0, 0, 0, 1, 1, 2, 3, 5, 8, 14], k)
        red = np.where(redeemed, np.minimum(day + delay, self.b[idx]), NEVER)
        self.prescriptions.add(idx=idx, day=day, atc=atcs, packs=packs, redeemed=red,
                               clin=self.pick_clinician(idx, 0.97))

    # --- infections, symptoms, acute prescriptions -----------------------------------------------------------------
    def infections_and_symptoms(self) -> None:
        rng = self.rng
        idx, day, chan = self.c_idx, self.c_day, self.c_chan
        age = self.age(idx, day)
        month = ((day.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)) % 12) + 1
        season = np.select([np.isin(month, [12, 1, 2, 3]), np.isin(month, [6, 7, 8])], [1.35, 0.7], 1.0)
        agef = np.select([age < 5, age < 15, age < 65], [2.4, 1.7, 0.95], 0.85)
        chanf = np.select([chan == "physical", chan == "phone", chan == "email"], [1.15, 1.0, 0.35], 0.6)
        p_inf = P.INFECTION_CONTACT_SHARE * season * agef * chanf
        inf = rng.random(len(idx)) < p_inf
        ci = np.flatnonzero(inf)
        child = age[ci] < 15
        female = ~self.male[idx[ci]]
        w = np.array([[s * (cf if c else 1) * (ff if f else 1) for (_, s, cf, ff, _, _) in INFECTIONS]
                      for c in (False, True) for f in (False, True)])
        w = np.cumsum(w / w.sum(axis=1, keepdims=True), axis=1)
        kind = (rng.random(len(ci))[:, None] > w[child * 2 + female]).sum(axis=1)
        kind = np.minimum(kind, len(INFECTIONS) - 1)
        tilt = self.w.practices.pcv_tilt[self.p]
        ab_mult = self.w.practices.antibiotic[self.p]
        topic = np.zeros(len(idx), np.int8)
        topic[ci] = 1
        self.infection_of = np.full(len(idx), -1)
        self.infection_of[ci] = kind
        given_drug = np.full(len(idx), -1, np.int32)
        atc_list = list(DRUGS)
        for t, (code, _, _, _, p_ab, drugs) in enumerate(INFECTIONS):
            sel = ci[kind == t]
            if not len(sel):
                continue
            give = rng.random(len(sel)) < min(0.97, p_ab * ab_mult)
            sel_ab = sel[give]
            weights = np.array([s * (tilt if a == "J01CE02" else 1) for a, s in drugs])
            pick = rng.choice(len(drugs), len(sel_ab), p=weights / weights.sum())
            atcs = np.array([a for a, _ in drugs])[pick]
            given_drug[sel_ab] = [atc_list.index(a) for a in atcs]
            self.add_prescriptions(idx[sel_ab], day[sel_ab], atcs, np.ones(len(sel_ab), np.int64))
            # The episode on the problem list, when the practice codes it.
            coded = sel[rng.random(len(sel)) < self.coding]
            self.diagnoses.add(idx=idx[coded], system="ICPC2DK", code=code,
                               onset=day[coded] - rng.integers(0, 6, len(coded)), day=day[coded], source="lps",
                               status="resolved")
        self.c_drug = given_drug
        # Point-of-care tests at infection contacts: CRP, strep A, urine.
        phys = chan == "physical"
        resp = ci[np.isin(kind, [0, 1, 3, 4]) & phys[ci] & (rng.random(len(ci)) < 0.45)]
        self.add_service(idx[resp], day[resp], self.c_sec[resp] + 300, "2117", "physical", self.c_clin[resp])
        self.poc_crp = (idx[resp], day[resp], self.c_sec[resp] + 300)
        strep = ci[(kind == 2) & phys[ci] & (rng.random(len(ci)) < 0.5)]
        self.add_service(idx[strep], day[strep], self.c_sec[strep] + 240, "2120", "physical", self.c_clin[strep])
        urine = ci[(kind == 6) & phys[ci] & (rng.random(len(ci)) < 0.7)]
        self.add_service(idx[urine], day[urine], self.c_sec[urine] + 240, "2108", "physical", self.c_clin[urine])

        # Symptom diagnoses at other contacts.
        other = np.flatnonzero(~inf & (chan != "email") & (rng.random(len(idx)) < 0.075 * self.coding))
        zipf = 1 / np.arange(1, len(SYMPTOMS) + 1) ** 0.7
        codes = Cat(SYMPTOMS, rng.choice(len(SYMPTOMS), len(other), p=zipf / zipf.sum()))
        self.diagnoses.add(idx=idx[other], system="ICPC2DK", code=codes,
                           onset=np.where(rng.random(len(other)) < 0.5, day[other] - rng.integers(0, 30, len(other)),
                                          NEVER),
                           day=day[other], source="lps",
                           status=np.where(rng.random(len(other)) < 0.8, "resolved", "active"))
        topic[other] = 4
        # Short courses: NSAID for back pain, prednisolone for COPD/asthma worsening.
        back = other[codes.isin(["L03", "L02", "L84", "L86"]) & (rng.random(len(other)) < 0.15)]
        self.add_prescriptions(idx[back], day[back], np.where(rng.random(len(back)) < 0.7, "M01AE01", "M01AE02"),
                               np.ones(len(back), np.int64))
        lung = np.flatnonzero(self.has["COPD"] | self.has["ASTHMA"])
        bursts = rng.poisson(self.years[lung] * np.where(self.mrc[lung] >= 3, 0.5, 0.2))
        bi = np.repeat(lung, bursts)
        self.add_prescriptions(bi, self.weekday(self.uniform_day(bi), bi), np.full(len(bi), "H02AB06"),
                               np.ones(len(bi), np.int64))
        self.c_topic = topic

    # --- annual control (årsstatus) with its labs and measurements -------------------------------------------------
    def annual_control(self) -> None:
        rng, w = self.rng, self.w
        chronic = np.zeros(self.n, bool)
        for key in P.ANNUAL_CONTROL:
            chronic |= self.has[key]
        self.chronic_any = chronic
        idx0 = np.flatnonzero(chronic)
        first_onset = np.min(self.onset[idx0][:, [CI[k] for k in P.ANNUAL_CONTROL]], axis=1)
        anniversary = (self.u(400, idx0) * 365).astype(np.int64)
        year0 = int(np.datetime64(int(w.start), "D").astype("datetime64[Y]").astype(int)) + 1970
        p_year = np.clip(0.28 + 0.62 * self.q, 0, 0.97)
        idx_l, day_l = [], []
        for y in range(year0, year0 + 4):
            day = day_number_np(y) + anniversary
            ok = (day >= self.a[idx0]) & (day <= self.b[idx0]) & (day >= first_onset + 60)
            ok &= rng.random(len(idx0)) < p_year
            idx_l.append(idx0[ok])
            day_l.append(day[ok])
        idx = np.concatenate(idx_l)
        day = self.weekday(np.concatenate(day_l).astype(np.int32), idx)
        sec = self.office_seconds(len(idx))
        clin = self.pick_clinician(idx, 0.6)
        self.add_service(idx, day, sec, "0120", "physical", clin, topic=2)
        self.annual = (idx, day, sec)
        k = len(idx)
        # Labs a week before.
        lab_day = np.maximum(day - rng.integers(3, 12, k), self.a[idx]).astype(np.int32)
        lab_day = self.weekday(lab_day, idx)
        lab_sec = 7 * 3600 + 30 * 60 + rng.integers(0, 120, k) * 60
        self.add_service(idx, lab_day, lab_sec, "2101", "physical", self.nurse[rng.integers(0, len(self.nurse), k)])
        panel = np.where(self.has["T2D"][idx], "diabetes",
                         np.where(self.has["IHD"][idx] | self.has["HF"][idx] | self.has["AF"][idx], "cardio",
                                  "general"))
        self.panel(idx, lab_day, lab_sec, panel)
        # Measurements at the visit.
        meas_sec = sec + 600
        bp = rng.random(k) < 0.72 + 0.25 * self.q
        self.blood_pressure(idx[bp], day[bp], meas_sec[bp])
        wt = rng.random(k) < 0.6 + 0.35 * self.q
        self.weight(idx[wt], day[wt], meas_sec[wt])
        lung_or_heart = self.has["COPD"][idx] | self.has["IHD"][idx] | self.has["T2D"][idx] | self.has["ASTHMA"][idx]
        smk = lung_or_heart & (rng.random(k) < 0.5 + 0.45 * self.q)
        self.smoking(idx[smk], day[smk], meas_sec[smk])
        t2d = self.has["T2D"][idx]
        foot = t2d & (rng.random(k) < 0.5 + 0.45 * self.q)
        self.kp_code(idx[foot], day[foot], meas_sec[foot] + 60, "FODUNDERSOEGELSE", "udført")
        # Eye examination: from the eye specialist, every second year or so, recorded on a day of its own.
        eye = t2d & (rng.random(k) < 0.35 + 0.5 * self.q)
        ei = idx[eye]
        eday = np.clip(day[eye] + rng.integers(-150, 150, len(ei)), self.a[ei], self.b[ei]).astype(np.int32)
        self.kp_code(ei, self.weekday(eday, ei), self.office_seconds(len(ei)), "OJENUNDERSOEGELSE", "udført")
        af = self.has["AF"][idx] & (rng.random(k) < 0.7)
        self.measure(idx[af], day[af], meas_sec[af], "NPU", "NPU21692",
                     np.round(rng.normal(76, 12, af.sum()).clip(40, 150)))
        review = (self.n_regimens[idx] >= 5) & (rng.random(k) < 0.25 + 0.55 * self.q)
        self.kp_code(idx[review], day[review], meas_sec[review] + 120, "MEDICINGENNEMGANG", "udført")
        # COPD: spirometry, dyspnoea, CAT, inhaler technique, rehabilitation.
        copd = self.has["COPD"][idx]
        spiro = copd & (rng.random(k) < 0.42 + 0.5 * self.q)
        self.spirometry(idx[spiro], day[spiro], meas_sec[spiro], "7113")
        mrc = copd & (rng.random(k) < 0.45 + 0.5 * self.q)
        mi = idx[mrc]
        self.measure(mi, day[mrc], meas_sec[mrc] + 120, "MCS", "MCS88021", self.mrc[mi].astype(float))
        cat = copd & (rng.random(k) < 0.2 + 0.4 * self.q)
        ci = idx[cat]
        cat_v = np.clip(np.round(6 + 0.3 * (80 - self.fev1pct[ci]) + rng.normal(0, 4, len(ci))), 0, 40)
        self.measure(ci, day[cat], meas_sec[cat] + 150, "MCS", "MCS88137", cat_v)
        inh = (copd | self.has["ASTHMA"][idx]) & (rng.random(k) < 0.3 + 0.5 * self.q)
        self.kp_code(idx[inh], day[inh], meas_sec[inh] + 180, "INHALATIONSTEKNIK", "udført")
        rehab = copd & (self.mrc[idx] >= 3) & (rng.random(k) < 0.25 + 0.6 * self.q)
        ri = idx[rehab]
        self.kp_code(ri, day[rehab], meas_sec[rehab] + 200, "KOLREHAB",
                     Cat(["henvist", "tilbudt og afslået"], rng.random(len(ri)) >= 0.72))
        sts = copd & (rng.random(k) < 0.08)
        si = idx[sts]
        self.measure(si, day[sts], meas_sec[sts] + 240, "MCS", "MCS88050",
                     np.round(np.clip(rng.normal(14, 4, len(si)) - (self.mrc[si] - 2) * 2, 0, 40)))

    def spirometry(self, idx, day, sec, code: str) -> None:
        rng = self.rng
        k = len(idx)
        if not k:
            return
        self.add_service(idx, day, sec, code, "physical", self.nurse[rng.integers(0, len(self.nurse), k)])
        age = self.age(idx, day)
        h = self.w.height[self.pid[idx]]
        predicted = np.where(self.male[idx], 0.043 * h - 0.029 * age - 2.49, 0.0395 * h - 0.025 * age - 2.6)
        predicted = np.maximum(predicted, 1.0)
        copd = self.has["COPD"][idx] & (self.onset[idx, CI["COPD"]] <= day)
        pct = np.where(copd, self.fev1pct[idx], rng.normal(92, 10, k)) + rng.normal(0, 3, k)
        pct = np.clip(pct, 12, 140)
        fev1 = np.round(np.clip(predicted * pct / 100, 0.3, 7.5), 2)
        ratio = np.where(copd, rng.normal(0.56, 0.08, k), rng.normal(0.79, 0.05, k)).clip(0.3, 0.95)
        fvc = np.round(np.clip(fev1 / ratio, 0.4, 9.5), 2)
        self.measure(idx, day, sec, "MCS", "MCS88015", fev1)
        self.measure(idx, day, sec, "KP", "FVC", fvc)
        self.measure(idx, day, sec, "KP", "FEV1PCT", np.round(pct))
        f6 = rng.random(k) < 0.3
        self.measure(idx[f6], day[f6], sec[f6], "MCS", "MCS88100", np.round(np.minimum(fvc[f6] * 0.96, 9.5), 2))

    # --- measurements --------------------------------------------------------------------------------------------
    def measure(self, idx, day, sec, system: str, code: str, value=None, text=None) -> None:
        k = len(idx)
        if not k:
            return
        if value is not None:
            lo, hi = code_system(system)[code].plausible_range
            value = np.clip(np.asarray(value, float), lo, hi)
        self.measurements.add(idx=idx, day=day, sec=sec, system=system, code=code,
                              value=np.full(k, np.nan) if value is None else value,
                              text=text)

    def kp_code(self, idx, day, sec, code: str, text) -> None:
        self.measure(idx, day, sec, "KP", code, None, text)

    def systolic(self, idx, day) -> np.ndarray:
        age = self.age(idx, day)
        ht = self.has["HT"][idx] & (self.onset[idx, CI["HT"]] <= day)
        treated = np.zeros(len(idx))
        for key in ("ras", "ccb", "thiazide", "betablocker"):
            if key in self.on:
                treated += np.isin(idx, self.on[key][0])
        base = 110 + 0.42 * np.clip(age - 18, 0, None) + 7 * self.latent[idx, LATENT["bp"]] + 18 * ht
        return base - 7 * np.minimum(treated, 3) - 8 * (self.q - 0.5) * ht

    def blood_pressure(self, idx, day, sec) -> None:
        rng = self.rng
        k = len(idx)
        sbp = np.round(np.clip(self.systolic(idx, day) + rng.normal(0, 9, k), 85, 230))
        dbp = np.round(np.clip(0.42 * sbp + 24 + rng.normal(0, 6, k), 45, 130))
        self.measure(idx, day, sec, "DNK", "DNK05472", sbp)
        self.measure(idx, day, sec, "DNK", "DNK05473", dbp)

    def weight(self, idx, day, sec) -> None:
        rng = self.rng
        h = self.w.height[self.pid[idx]] / 100
        bmi = self.w.bmi[self.pid[idx]] + rng.normal(0, 0.5, len(idx))
        adult = self.age(idx, day) >= 18
        idx, day, sec, h, bmi = idx[adult], day[adult], sec[adult], h[adult], bmi[adult]
        wt = np.round(bmi * h * h, 1)
        self.measure(idx, day, sec, "NPU", "NPU03804", wt)
        hh = rng.random(len(idx)) < 0.45
        self.measure(idx[hh], day[hh], sec[hh], "KP", "HOEJDE", np.round(h[hh] * 100))
        bb = rng.random(len(idx)) < 0.6
        self.measure(idx[bb], day[bb], sec[bb], "KP", "BMI", np.round(wt[bb] / h[bb] ** 2, 1))

    def smoking(self, idx, day, sec) -> None:
        values = code_system("KP")["RYGESTATUS"].allowed_values  # daily, occasional, former, never
        self.kp_code(idx, day, sec, "RYGESTATUS", Cat(values, self.w.smoking[self.pid[idx]]))

    # --- labs ----------------------------------------------------------------------------------------------------
    PANELS = {
        "diabetes": (("NPU27300", 1), ("NPU01568", .95), ("NPU01566", .9), ("NPU01567", .9), ("NPU04094", .9),
                     ("NPU18016", .95), ("DNK35302", .95), ("NPU19661", .85), ("NPU19651", .3), ("NPU03230", .4)),
        "cardio": (("NPU01568", .95), ("NPU01566", .9), ("NPU01567", .9), ("NPU04094", .9), ("NPU18016", .9),
                   ("DNK35302", .9), ("NPU03230", .8), ("NPU03429", .6), ("NPU27300", .4), ("NPU02319", .4)),
        "renal": (("NPU18016", 1), ("DNK35302", 1), ("NPU03230", .9), ("NPU03429", .8), ("NPU01568", .5),
                  ("NPU27300", .3)),
        "general": (("NPU02319", .95), ("NPU19748", .7), ("NPU02593", .6), ("NPU18016", .7), ("DNK35302", .7),
                    ("NPU19651", .6), ("NPU22089", .35), ("NPU03577", .4), ("NPU03568", .5), ("NPU01700", .1),
                    ("NPU10267", .12), ("NPU27300", .15), ("NPU01568", .15), ("NPU03230", .3), ("NPU03429", .3)),
        "hba1c": (("NPU27300", 1), ("NPU18016", .3), ("DNK35302", .3)),
        "thyroid": (("NPU03577", 1),),
        "lithium": (("NPU02613", 1), ("NPU18016", 1), ("DNK35302", 1), ("NPU03577", .5)),
    }

    def panel(self, idx, day, sec, panel) -> None:
        rng = self.rng
        panel = np.broadcast_to(np.asarray(panel), (len(idx),))
        for name, analytes in self.PANELS.items():
            sel = panel == name
            if not sel.any():
                continue
            pi, pd, ps = idx[sel], day[sel], sec[sel]
            producer = rng.integers(0, 8, len(pi))
            for code, share in analytes:
                take = rng.random(len(pi)) < share
                self.lab(pi[take], pd[take], ps[take], code, producer[take])

    def lab(self, idx, day, sec, code: str, producer=None, poc: bool = False) -> None:
        rng = self.rng
        k = len(idx)
        if not k:
            return
        age = self.age(idx, day)
        male = self.male[idx]
        comparator = np.zeros(k, np.int32)  # None, "<", ">"
        text = np.zeros(k, np.int32)  # None, "hæmolyseret"
        ln = lambda median, sd: median * np.exp(rng.normal(0, sd, k))
        if code == "NPU27300":
            v = self.hba1c(idx, day) + rng.normal(0, 2.5, k)
        elif code in ("NPU01568",):
            v = self.ldl(idx, day)
        elif code == "NPU01567":
            v = self.hdl(idx)
        elif code == "NPU04094":
            v = self.tg(idx)
        elif code == "NPU01566":
            v = self.ldl(idx, day) + self.hdl(idx) + self.tg(idx) / 2.2
        elif code in ("NPU18016", "DNK35302"):
            scr = self.creatinine(idx, day)
            if code == "NPU18016":
                v = scr
            else:
                v = egfr(scr, age, male)
                over = v > 90
                comparator[over] = 2
                v = np.where(over, 90, v)
        elif code == "NPU19661":
            med = np.where(self.has["CKD"][idx], 60, np.where(self.has["T2D"][idx], 12, 6))
            v = ln(med, 1.0)
            low = v < 3
            comparator[low] = 1
            v = np.where(low, 3, v)
        elif code == "NPU22089":
            v = np.where(self.has["T2D"][idx], 0.13 * self.hba1c(idx, day) + 0.6, 5.2) + rng.normal(0, 0.5, k)
        elif code == "NPU19651":
            v = ln(np.where(male, 28, 20), 0.4)
        elif code == "NPU19654":
            v = ln(24, 0.3)
        elif code == "NPU02319":
            v = np.where(male, 9.2, 8.4) + rng.normal(0, 0.55, k) - 1.4 * (rng.random(k) < 0.03)
        elif code == "NPU19748":
            v = ln(25, 1.0) if poc else ln(2.5, 1.1)
            limit = 5 if poc else 1
            low = v < limit
            comparator[low] = 1
            v = np.where(low, limit, v)
        elif code == "NPU03230":
            v = 4.0 + rng.normal(0, 0.3, k)
            haem = rng.random(k) < 0.005
            text[haem] = 1
            v = np.where(haem, np.nan, v)
        elif code == "NPU03429":
            v = 140 + rng.normal(0, 2.5, k)
        elif code == "NPU03577":
            v = ln(np.where(self.has["HYPOTHYROID"][idx], 2.4, 1.6), np.where(self.has["HYPOTHYROID"][idx], .8, .5))
        elif code == "NPU01700":
            v = ln(350, 0.35)
        elif code == "NPU10267":
            v = ln(62, 0.45)
        elif code == "NPU02593":
            v = ln(6.5, 0.25)
        elif code == "NPU03568":
            v = 260 + rng.normal(0, 60, k)
        elif code == "NPU02613":
            v = 0.65 + rng.normal(0, 0.15, k)
        else:  # pragma: no cover - every analysed code is listed above
            raise KeyError(code)
        system, (fl, fh), (ml, mh), decimals = LABS[code]
        lo_p, hi_p = code_system(system)[code].plausible_range
        v = np.round(np.clip(v, lo_p, hi_p), decimals)
        low, high = np.where(male, ml, fl), np.where(male, mh, fh)
        flag = np.where(np.isnan(v), 3, np.where(v < low, 0, np.where(v > high, 1, 2)))
        flag[comparator == 2] = 2
        flag = Cat(["L", "H", "N", None], flag)
        labs = LABORATORIES[self.region]
        prod = Cat(labs, (producer if producer is not None else rng.integers(0, 8, k)) % len(labs))
        if poc:
            prod = "Egen praksis"
        comparator = Cat([None, "<", ">"], comparator)
        text = Cat([None, "hæmolyseret"], text)
        self.labs.add(idx=idx, day=day, sec=sec, system=system, code=code, value=v, comparator=comparator,
                      text=text, ref_low=np.where(code == "NPU19661", np.nan, low).astype(float),
                      ref_high=high.astype(float), flag=flag, producer=prod)

    def hba1c(self, idx, day) -> np.ndarray:
        age = self.age(idx, day)
        on = self.onset[idx, CI["T2D"]]
        diabetic = (on <= day) | self.has["T1D"][idx]
        duration = np.clip((day - on) / YEAR, 0, 15)
        level = (54 + 11.5 * self.latent[idx, LATENT["hba1c"]] - 12 * (self.q - 0.5) + 0.4 * duration)
        level = np.where(self.has["T1D"][idx], level + 8, level)
        normal = 33 + 0.07 * np.clip(age - 30, 0, None) + 2.5 * self.latent[idx, LATENT["cardiometabolic"]]
        return np.where(diabetic, np.maximum(level, 40), np.clip(normal, 26, 46))

    def ldl(self, idx, day) -> np.ndarray:
        age = self.age(idx, day)
        base = np.clip(2.9 + 0.75 * self.latent[idx, LATENT["ldl"]] + 0.012 * np.clip(age - 40, -20, 40), 1.0, 7.5)
        adherence = 1 / (1 + np.exp(-self.latent[idx, LATENT["adherence"]]))
        on = self.statin_start[idx] <= day
        factor = 1 - self.statin_reduction[idx] * (0.55 + 0.45 * adherence)
        return base * np.where(on, factor, 1.0) * np.exp(self.rng.normal(0, 0.08, len(idx)))

    def hdl(self, idx) -> np.ndarray:
        return np.clip(np.where(self.male[idx], 1.25, 1.6) - 0.03 * (self.w.bmi[self.pid[idx]] - 26)
                       + self.rng.normal(0, 0.3, len(idx)), 0.5, 3.5)

    def tg(self, idx) -> np.ndarray:
        return 1.2 * np.where(self.has["T2D"][idx], 1.4, 1) * np.exp(0.03 * (self.w.bmi[self.pid[idx]] - 26)
                                                                    + self.rng.normal(0, 0.4, len(idx)))

    def creatinine(self, idx, day) -> np.ndarray:
        age = self.age(idx, day)
        base = np.where(self.male[idx], 84, 67) * (1 + 0.004 * np.clip(age - 40, 0, None))
        base = base * np.where(self.has["CKD"][idx], 1.8, 1) * np.where(self.has["HF"][idx], 1.15, 1)
        base = np.where(age < 15, 25 + 3 * age, base)
        return base * np.exp(self.rng.normal(0, 0.08, len(idx)))

    def other_labs_and_measurements(self) -> None:
        rng = self.rng
        # Extra HbA1c for diabetes, more in better practices.
        t2d = np.flatnonzero(self.has["T2D"] | self.has["T1D"])
        k = rng.poisson(self.years[t2d] * (0.4 + 1.0 * self.q))
        self.sample_visits(np.repeat(t2d, k), "hba1c", onset_key="T2D")
        # Kidney/electrolytes for hypertension, lipids for statin users outside annual control.
        ht = np.flatnonzero(self.has["HT"] & ~self.chronic_any)
        self.sample_visits(np.repeat(ht, rng.poisson(self.years[ht] * (0.45 + 0.5 * self.q))), "renal")
        st = np.flatnonzero(self.statin & ~self.chronic_any)
        self.sample_visits(np.repeat(st, rng.poisson(self.years[st] * 0.5)), "cardio")
        for key, panel, per_year in (("levothyroxine", "thyroid", 1.0), ("lithium", "lithium", 3.0)):
            if key in self.on:
                pi = self.on[key][0]
                self.sample_visits(np.repeat(pi, rng.poisson(self.years[pi] * per_year)), panel)
        # General blood tests at ordinary physical contacts.
        idx, day, chan = self.c_idx, self.c_day, self.c_chan
        age = self.age(idx, day)
        p = np.select([age < 18, age < 65], [0.025, 0.075], 0.11)
        g = np.flatnonzero((chan == "physical") & (rng.random(len(idx)) < p))
        self.blood_sample(idx[g], day[g], self.c_sec[g] - 1800, "general")
        if len(self.poc_crp[0]):
            self.lab(*self.poc_crp, "NPU19748", poc=True)
        # Blood pressure at ordinary visits: for the hypertensive and cardiometabolic patients, and some others.
        risk = self.has["HT"] | self.has["T2D"] | self.has["IHD"] | self.has["CKD"] | self.has["STROKE"]
        phys = (chan == "physical") & (age >= 18)
        p_bp = np.where(risk[idx], 0.35 + 0.3 * self.q, 0.04)
        b = np.flatnonzero(phys & (rng.random(len(idx)) < p_bp))
        self.blood_pressure(idx[b], day[b], self.c_sec[b] + 420)
        # Home blood pressure series for some hypertensive patients.
        hi = np.flatnonzero(self.has["HT"] & (rng.random(self.n) < 0.08 * self.years))
        rep = np.repeat(hi, 3)
        hday = np.repeat(self.uniform_day(hi), 3) + np.tile([0, 1, 2], len(hi))
        hday = np.minimum(hday, self.b[rep]).astype(np.int32)
        hsec = self.rng.integers(7 * 3600, 9 * 3600, len(rep))
        sbp = np.round(np.clip(self.systolic(rep, hday) - 5 + rng.normal(0, 8, len(rep)), 85, 220))
        self.measure(rep, hday, hsec, "MCS", "MCS88019", sbp)
        self.measure(rep, hday, hsec, "MCS", "MCS88020",
                     np.round(np.clip(0.42 * sbp + 22 + rng.normal(0, 5, len(rep)), 45, 125)))
        # Smoking status asked now and then; spirometry for asthma and for new COPD (diagnostic, 7121).
        s = np.flatnonzero(phys & (rng.random(len(idx)) < 0.02))
        self.smoking(idx[s], day[s], self.c_sec[s] + 500)
        asthma = np.flatnonzero(self.has["ASTHMA"] & (rng.random(self.n) < 0.15 * self.years))
        self.spirometry(asthma, self.weekday(self.uniform_day(asthma), asthma), self.office_seconds(len(asthma)),
                        "7113")
        new_copd = np.flatnonzero(self.has["COPD"] & (self.onset[:, CI["COPD"]] >= self.a)
                                  & (rng.random(self.n) < 0.75))
        d = np.clip(self.onset[new_copd, CI["COPD"]], self.a[new_copd], self.b[new_copd]).astype(np.int32)
        self.spirometry(new_copd, self.weekday(d, new_copd), self.office_seconds(len(new_copd)), "7121")
        smokers = np.flatnonzero((self.w.smoking[self.pid] == 0) & ~self.has["COPD"]
                                 & ((self.b - self.birth) / YEAR > 40) & (rng.random(self.n) < 0.03 * self.years))
        self.spirometry(smokers, self.weekday(self.uniform_day(smokers), smokers), self.office_seconds(len(smokers)),
                        "7113")
        # Medication review for the oldest with many drugs, outside the annual control.
        old = np.flatnonzero((self.n_regimens >= 5) & ((self.b - self.birth) / YEAR >= 75)
                             & (rng.random(self.n) < (0.1 + 0.3 * self.q) * self.years))
        self.kp_code(old, self.weekday(self.uniform_day(old), old), self.office_seconds(len(old)),
                     "MEDICINGENNEMGANG", "udført")

    def sample_visits(self, idx, panel: str, onset_key: str | None = None) -> None:
        day = self.weekday(self.uniform_day(idx), idx)
        if onset_key:
            ok = (self.onset[idx, CI[onset_key]] <= day) | self.has["T1D"][idx]
            idx, day = idx[ok], day[ok]
        self.blood_sample(idx, day, 7 * 3600 + 30 * 60 + self.rng.integers(0, 150, len(idx)) * 60, panel)

    def blood_sample(self, idx, day, sec, panel: str) -> None:
        sec = np.clip(sec, 7 * 3600, 16 * 3600)
        self.add_service(idx, day, sec, "2101", "physical", self.nurse[self.rng.integers(0, len(self.nurse),
                                                                                         len(idx))])
        self.panel(idx, day, sec, panel)

    # --- other services ------------------------------------------------------------------------------------------
    def services(self) -> None:
        rng = self.rng
        # Talk therapy (6101) for some with depression, a course of 3–7 sessions.
        dep = np.flatnonzero(self.has["DEPRESSION"]
                             & (rng.random(self.n) < 0.35 * self.w.practices.talk_therapy[self.p]))
        first = np.maximum(self.onset[dep, CI["DEPRESSION"]] + rng.integers(7, 40, len(dep)), self.a[dep])
        n_sessions = rng.integers(3, 8, len(dep))
        rep = np.repeat(np.arange(len(dep)), n_sessions)
        j = np.arange(len(rep)) - np.repeat(np.cumsum(n_sessions) - n_sessions, n_sessions)
        day = first[rep] + j * rng.integers(12, 25, len(rep))
        pi = dep[rep]
        ok = day <= self.b[pi]
        pi, day = pi[ok], self.weekday(day[ok].astype(np.int32), pi[ok])
        self.add_service(pi, day, self.office_seconds(len(pi)), "6101", "physical", self.own_gp[pi], topic=3)
        # Cervical cytology for women 23–64 (every 3–5 years).
        age_end = (self.b - self.birth) / YEAR
        women = np.flatnonzero(~self.male & (age_end >= 23) & (age_end < 65))
        k = rng.poisson(self.years[women] * 0.22)
        ci = np.repeat(women, k)
        self.add_service(ci, self.weekday(self.uniform_day(ci), ci), self.office_seconds(len(ci)), "2102", "physical",
                         self.pick_clinician(ci, 0.3))
        # Outreach home visits for the oldest with dementia.
        dem = np.flatnonzero(self.has["DEMENTIA"] & (rng.random(self.n) < 0.15 * self.years))
        self.add_service(dem, self.weekday(self.uniform_day(dem), dem), rng.integers(11 * 3600, 15 * 3600, len(dem)),
                         "0121", "home", self.own_gp[dem])

    def enrolment(self) -> None:
        rng, w = self.rng, self.w
        program_start = day_number_np(2018) + 90
        for k, (key, condition) in enumerate(P.ENROLMENT.items()):
            idx = np.flatnonzero(self.coded[key] & (self.u(500 + k) < 0.22 + 0.7 * self.q))
            onset = self.onset[idx, CI[key]]
            start = np.maximum(onset + rng.integers(30, 400, len(idx)), program_start + rng.integers(0, 700, len(idx)))
            start = np.maximum(start, self.ls[idx] + np.where(self.moved_in[idx], rng.integers(20, 120, len(idx)), 0))
            ok = start <= self.b[idx]
            idx, start = idx[ok], start[ok]
            end = np.where(np.minimum(self.le[idx], self.death[idx]) <= w.end, self.b[idx], NEVER)
            self.enrolments.add(idx=idx, condition=condition, start=start.astype(np.int32), end=end.astype(np.int32))
            ended = idx[end < NEVER]
            self.add_service(ended, self.b[ended], self.office_seconds(len(ended)), "0133", "physical",
                             self.own_gp[ended])

    def hospital(self) -> None:
        rng = self.rng
        age = (self.b - self.birth) / YEAR
        level = self.hba1c(np.arange(self.n), self.b)
        t2d = self.has["T2D"]
        poor = t2d & (level >= 75)
        self.poor_control = poor
        copd_rate = (0.06 + 0.25 * (self.mrc >= 3)) * (1.3 - 0.6 * self.q)
        oac = np.isin(np.arange(self.n), self.on["anticoagulant"][0]) if "anticoagulant" in self.on else False
        old = np.clip(age - 60, 0, None) / 20
        rates = {
            ("DE116", "DE111"): np.where(poor, 0.12, np.where(t2d, 0.015, 0)),
            ("DJ441", "DJ440"): np.where(self.has["COPD"], copd_rate, 0),
            ("DI50", "DI500", "DI110"): np.where(self.has["HF"], 0.18, 0),
            ("DI48",): np.where(self.has["AF"], 0.05, 0),
            ("DI20", "DI200", "DI21", "DI219"): np.where(self.has["IHD"], 0.05, 0.001 * old),
            ("DI63", "DI64", "DG45"): 0.002 * old + np.where(self.has["AF"] & ~oac, 0.03, 0),
            ("DJ18", "DJ15", "DJ12"): 0.004 + 0.02 * old + 0.03 * self.has["COPD"],
            ("DN390", "DN10"): 0.002 + 0.01 * old,
            ("DS72",): 0.006 * old * np.where(self.has["OSTEOPOROSIS"], 3, 1),
            ("DR55", "DR07"): 0.004 + 0.004 * old,
            ("DT887",): np.where(self.n_regimens >= 5, 0.02, 0.001),
            ("DJ45",): np.where(self.has["ASTHMA"], 0.01, 0),
        }
        assert all(c in ADMISSION_CAUSES for codes in rates for c in codes)
        idx_l, code_l = [], []
        for codes, rate in rates.items():
            k = rng.poisson(np.broadcast_to(rate, (self.n,)) * self.years)
            ii = np.repeat(np.arange(self.n), k)
            idx_l.append(ii)
            code_l.append(np.array(codes)[rng.integers(0, len(codes), len(ii))])
        idx = np.concatenate(idx_l)
        code = np.concatenate(code_l)
        day = self.uniform_day(idx)
        los = np.round(np.exp(rng.normal(1.2, 0.8, len(idx)))).astype(np.int32)
        discharged = np.minimum(day + los, self.death[idx])  # dying in hospital ends the stay
        discharged = np.where(discharged <= self.w.end, discharged, NEVER)
        hospitals = np.array(HOSPITALS[self.region])
        self.admissions.add(idx=idx, day=day, discharged=discharged, code=code,
                            acute=rng.random(len(idx)) < 0.9,
                            hospital=hospitals[np.minimum(rng.geometric(0.55, len(idx)) - 1, len(hospitals) - 1)])
        letter = (rng.random(len(idx)) < 0.7) & (discharged < NEVER)
        li = idx[letter]
        rec = discharged[letter] + rng.integers(1, 10, len(li))
        ok = rec <= self.b[li]
        codes = code[letter][ok]
        self.diagnoses.add(idx=li[ok], system="SKS", code=codes,
                           onset=day[letter][ok], day=rec[ok].astype(np.int32), source="discharge_letter",
                           status="active")

    # --- assembling ----------------------------------------------------------------------------------------------
    def finish(self) -> dict[str, dict[str, np.ndarray]]:
        out = {}
        contacts = self.contacts.columns()
        n_ord = len(self.c_idx)
        contacts["topic"][:n_ord] = self.c_topic
        contacts["drug"][:n_ord] = self.c_drug
        contacts["infection"] = np.full(len(contacts["idx"]), -1, np.int16)
        contacts["infection"][:n_ord] = self.infection_of
        for name, rows in (("contact", contacts), ("diagnosis", self.diagnoses.columns()),
                           ("lab_result", self.labs.columns()), ("measurement", self.measurements.columns()),
                           ("prescription", self.prescriptions.columns()),
                           ("chronic_enrolment", self.enrolments.columns()),
                           ("hospital_admission", self.admissions.columns())):
            key = (rows["start"] if name == "chronic_enrolment" else rows["day"]).astype(np.int64) * DAY_SECONDS
            if "sec" in rows:
                key = key + rows["sec"]
            order = np.argsort(key, kind="stable")
            out[name] = {k: v[order] for k, v in rows.items()}
        return out


def day_number_np(year: int) -> int:
    from datetime import date
    return day_number(date(year, 1, 1))


def egfr(scr_umol: np.ndarray, age: np.ndarray, male: np.ndarray) -> np.ndarray:
    """CKD-EPI 2021 (race-free) eGFR from plasma creatinine in µmol/L."""
    scr = scr_umol / 88.4
    kappa = np.where(male, 0.9, 0.7)
    alpha = np.where(male, -0.302, -0.241)
    ratio = scr / kappa
    value = 142 * np.minimum(ratio, 1) ** alpha * np.maximum(ratio, 1) ** -1.2 * 0.9938 ** np.clip(age, 18, None)
    return np.where(male, value, value * 1.012)
