"""Phase 1: the country at once — practices, clusters, people, their conditions, deaths and moves.

Everything here is vectorised over all people (5.9 M nationally). The result, a `World`, is read by phase 2
(`clinical.py`), which works one practice at a time, possibly in worker processes that share the World by fork.
Dates are int32 days since 1970-01-01; NEVER marks "no date" (no end, no death, condition absent).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np

from kvalitetsplatform.synth import parameters as P
from kvalitetsplatform.synth.identity import _lines, draw_names, make_cprs
from kvalitetsplatform.terminology import code_system

NEVER = np.int32(np.iinfo(np.int32).max)
EPOCH = date(1970, 1, 1)


def day_number(d: date) -> int:
    return (d - EPOCH).days


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


@dataclass
class Practices:
    ydernummer: np.ndarray  # str
    kommune: np.ndarray  # str, municipality code
    region: np.ndarray  # str
    n_gp: np.ndarray
    size: np.ndarray  # patients generated at this practice (first listings)
    name: list[str]
    cvr: np.ndarray
    sor: np.ndarray
    practice_type: np.ndarray
    vendor: np.ndarray
    open_list: np.ndarray
    cluster: np.ndarray  # index into World.cluster_ids (current cluster)
    previous_cluster: np.ndarray  # -1 unless the practice changed cluster
    cluster_change: np.ndarray  # day of the change, NEVER if none
    quality: np.ndarray  # latent quality 0–1
    coding: np.ndarray  # coding completeness 0.6–0.98
    antibiotic: np.ndarray  # multiplier on antibiotic prescribing
    pcv_tilt: np.ndarray  # multiplier on choosing phenoxymethylpenicillin
    digital: np.ndarray  # multiplier on e-consultations
    speech: np.ndarray  # share of notes by speech scribe at the end of the period
    talk_therapy: np.ndarray
    survey_level: np.ndarray  # practice effect on DanPEP scores


@dataclass
class World:
    seed: int
    scale: str
    start: int  # first day of the 36 months
    end: int  # last day
    months: np.ndarray  # first day of each month, and the day after the last (37 values)
    kommune_codes: np.ndarray
    kommune_region: np.ndarray
    cluster_ids: list[str]
    cluster_names: list[str]
    practices: Practices
    # people
    birth: np.ndarray
    male: np.ndarray
    cpr: np.ndarray  # 'S10'
    names: np.ndarray  # (n, 3) name parts
    sikringsgruppe: np.ndarray
    smoking: np.ndarray  # 0 daily, 1 occasional, 2 former, 3 never
    bmi: np.ndarray
    height: np.ndarray  # adult height in cm
    latent: np.ndarray  # (n, 8) standard normals: see LATENT
    onset: np.ndarray  # (n, conditions) onset day or NEVER
    death: np.ndarray
    # listings: one row per person per practice
    l_patient: np.ndarray
    l_practice: np.ndarray
    l_start: np.ndarray
    l_end: np.ndarray  # last day listed, NEVER while listed
    l_kommune: np.ndarray  # index into kommune_codes
    l_moved_in: np.ndarray
    contact_norm: float = 1.0
    practice_offsets: np.ndarray = field(default=None)  # listings sorted by practice: offsets (P+1)


# Columns of World.latent: patient-level traits shared by all of a person's listings.
LATENT = {"cardiometabolic": 0, "respiratory": 1, "mental": 2, "hba1c": 3, "ldl": 4, "bp": 5, "adherence": 6,
          "severity": 7}
ANNUAL_DAY = 8  # not a column: see clinical.py (derived from the CPR index)


def _largest_remainder(weights: np.ndarray, total: int, minimum: int = 0) -> np.ndarray:
    weights = np.asarray(weights, float)
    out = np.full(len(weights), minimum, np.int64)
    rest = total - out.sum()
    share = weights / weights.sum() * rest
    out += np.floor(share).astype(np.int64)
    left = total - out.sum()
    if left > 0:
        out[np.argsort(-(share - np.floor(share)), kind="stable")[:left]] += 1
    return out


def scope_kommuner(scale: P.Scale) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Municipality codes, their region and population (thousands) for a scale, from the terminology."""
    kommune = code_system("kommune")
    codes = [c for c in kommune.concepts
             if (scale.kommuner is None or c in scale.kommuner)
             and (scale.region is None or kommune[c].extra["region_code"] == scale.region)]
    return (np.array(codes), np.array([kommune[c].extra["region_code"] for c in codes]),
            np.array([float(kommune[c].extra["population_thousands"]) for c in codes]))


def end_of_previous_month(d: date) -> date:
    return date.fromordinal(d.replace(day=1).toordinal() - 1)


def month_starts(end: date, months: int = P.HISTORY_MONTHS) -> np.ndarray:
    first = end.replace(day=1)
    y, m = first.year, first.month
    starts = []
    for k in range(months - 1, -2, -1):
        mm = m - k
        yy = y + (mm - 1) // 12
        starts.append(day_number(date(yy, (mm - 1) % 12 + 1, 1)))
    return np.array(starts, np.int32)


def build_world(scale_name: str, seed: int, end: date, patients: int | None = None) -> World:
    scale = P.SCALES[scale_name]
    rng = np.random.default_rng([seed, 1])
    n_people = patients or scale.patients
    ratio = n_people / scale.patients
    n_practices = max(1, round(scale.practices * ratio))
    n_clusters = max(1, min(n_practices, round(scale.clusters * ratio)))
    months = month_starts(end)
    start, stop = int(months[0]), int(months[-1]) - 1

    kcodes, kregion, kpop = scope_kommuner(scale)
    practices, cluster_ids, cluster_names = _practices(rng, scale, n_practices, n_clusters, n_people, kcodes,
                                                       kregion, kpop, start, stop)
    w = World(seed=seed, scale=scale_name, start=start, end=stop, months=months, kommune_codes=kcodes,
              kommune_region=kregion, cluster_ids=cluster_ids, cluster_names=cluster_names, practices=practices,
              **_people(rng, practices, kcodes, kregion, kpop, start, stop))
    _conditions(rng, w)
    _deaths(rng, w)
    _listings(rng, w)
    return w


def _practices(rng, scale, n_practices, n_clusters, n_people, kcodes, kregion, kpop, start, stop):
    per_kommune = _largest_remainder(kpop, n_practices, minimum=1 if n_practices >= len(kcodes) else 0)
    k_of_practice = np.repeat(np.arange(len(kcodes)), per_kommune)
    # Shuffle within the country so practice order is not a map, but keep a geographic key for clusters.
    gps_values = np.array([g for g, _ in P.GPS_PER_PRACTICE])
    gps_p = np.array([s for _, s in P.GPS_PER_PRACTICE])
    n_gp = rng.choice(gps_values, n_practices, p=gps_p / gps_p.sum())
    mean, sd, lo, hi = P.LIST_PER_GP
    raw = np.array([np.clip(rng.normal(mean, sd, g), lo, hi).sum() for g in n_gp])
    # Scale each municipality's practices to its share of the population.
    target = _largest_remainder(kpop, n_people)
    size = np.zeros(n_practices)
    for k in range(len(kcodes)):
        idx = np.flatnonzero(k_of_practice == k)
        if len(idx):
            size[idx] = raw[idx] / raw[idx].sum() * target[k]
    if (per_kommune == 0).any():  # municipalities without a practice: spread their people over the rest
        size *= n_people / size.sum()
    size = _largest_remainder(size, n_people)

    region = kregion[k_of_practice]
    # Clusters: per region, consecutive runs of practices ordered by municipality (neighbours share a cluster).
    regions = sorted(set(region))
    per_region = _largest_remainder([np.sum(region == r) for r in regions], max(n_clusters, len(regions)), minimum=1)
    cluster = np.empty(n_practices, np.int64)
    cluster_ids, cluster_names, cluster_region = [], [], []
    kommune = code_system("kommune")
    for r, nc in zip(regions, per_region):
        idx = np.flatnonzero(region == r)
        idx = idx[np.lexsort((rng.random(len(idx)), kcodes[k_of_practice[idx]]))]
        chunks = np.array_split(idx, nc)
        for chunk in chunks:
            cid = len(cluster_ids)
            cluster[chunk] = cid
            cluster_ids.append(f"K{r[1:]}-{sum(1 for x in cluster_region if x == r) + 1:02d}")
            cluster_region.append(r)
            main = kcodes[k_of_practice[chunk]]
            values, counts = np.unique(main, return_counts=True)
            cluster_names.append(f"Klynge {kommune[values[np.argmax(counts)]].label_da}")
    # Disambiguate repeated names ("Klynge København 2").
    seen: dict[str, int] = {}
    for i, nm in enumerate(cluster_names):
        seen[nm] = seen.get(nm, 0) + 1
        if seen[nm] > 1 or cluster_names.count(nm) > 1:
            cluster_names[i] = f"{nm} {seen[nm]}"

    # A few practices change cluster: before the change they were in a neighbouring cluster of the same region.
    n_change = max(1, round(P.CLUSTER_CHANGE_SHARE * n_practices))
    changers = rng.choice(n_practices, n_change, replace=False)
    previous = np.full(n_practices, -1)
    change_day = np.full(n_practices, NEVER, np.int32)
    months = month_starts(EPOCH + timedelta(days=stop))
    for p in changers:
        same_region = [c for c in range(len(cluster_ids)) if cluster_region[c] == region[p] and c != cluster[p]]
        if not same_region:  # one-cluster scale: the practice came from a cluster outside the data
            cluster_ids.append(f"K{region[p][1:]}-{sum(1 for x in cluster_region if x == region[p]) + 1:02d}")
            cluster_region.append(region[p])
            cluster_names.append(f"Klynge {kommune[kcodes[k_of_practice[p]]].label_da} Nord")
            same_region = [len(cluster_ids) - 1]
        previous[p] = same_region[rng.integers(len(same_region))]
        change_day[p] = months[rng.integers(6, 30)]

    # Latent quality: region + cluster + practice effects on the logit scale (clusters differ).
    region_eff = {r: rng.normal(0, P.QUALITY_REGION_SD) for r in regions}
    cluster_eff = rng.normal(0, P.QUALITY_CLUSTER_SD, len(cluster_ids))
    qz = (np.array([region_eff[r] for r in region]) + cluster_eff[cluster]
          + rng.normal(0, P.QUALITY_PRACTICE_SD, n_practices))
    quality = sigmoid(qz)
    lo_c, hi_c = P.CODING_COMPLETENESS
    coding = lo_c + (hi_c - lo_c) * sigmoid(0.9 * qz + rng.normal(0, 0.9, n_practices))
    antibiotic = np.exp(rng.normal(0, 0.22, n_practices) - 0.25 * (quality - 0.5))
    tilt_mean, tilt_sd, tilt_quality = P.PCV_TILT
    pcv_tilt = np.exp(rng.normal(tilt_mean, tilt_sd, n_practices) + tilt_quality * (quality - 0.5))
    digital = np.exp(rng.normal(0, 0.3, n_practices))
    speech = np.where(rng.random(n_practices) < P.SPEECH_ADOPTION_SHARE, rng.uniform(0.3, 0.9, n_practices), 0.0)
    talk = np.exp(rng.normal(0, 0.5, n_practices))
    survey_level = 0.10 * (qz / np.sqrt(qz.var() + 1e-9)) + rng.normal(0, 0.12, n_practices)

    ydernummer = np.char.zfill(rng.choice(np.arange(1_000, 999_999), n_practices, replace=False).astype(str), 6)
    streets = _lines("gadenavne.txt")
    names = []
    for p in range(n_practices):
        town = kommune[kcodes[k_of_practice[p]]].label_da
        style = rng.integers(4)
        street = streets[rng.integers(len(streets))]
        names.append([f"Lægerne {street}, {town}", f"Lægehuset {town}" if n_gp[p] > 1 else f"Læge {town}",
                      f"{street} Lægepraksis", f"Praksis {street} {rng.integers(1, 80)}"][style])
    r = rng.random(n_practices)
    ptype = np.where(n_gp == 1, "solo", "kompagniskab").astype(object)
    ptype[r < P.REGIONSKLINIK_SHARE + P.UDBUDSKLINIK_SHARE] = "udbudsklinik"
    ptype[r < P.REGIONSKLINIK_SHARE] = "regionsklinik"
    vendors = [v for v, _ in P.LPS_VENDORS]
    vendor_p = np.array([s for _, s in P.LPS_VENDORS])
    practices = Practices(
        ydernummer=ydernummer, kommune=kcodes[k_of_practice], region=region, n_gp=n_gp, size=size, name=names,
        cvr=np.char.zfill(rng.integers(10_000_000, 99_999_999, n_practices).astype(str), 8),
        sor=np.char.add("4", np.char.zfill(rng.integers(0, 10**14, n_practices).astype(str), 14)),
        practice_type=ptype.astype(str), vendor=np.array(vendors)[rng.choice(len(vendors), n_practices,
                                                                             p=vendor_p / vendor_p.sum())],
        open_list=rng.random(n_practices) < 0.37, cluster=cluster, previous_cluster=previous,
        cluster_change=change_day, quality=quality, coding=coding, antibiotic=antibiotic, pcv_tilt=pcv_tilt,
        digital=digital, speech=speech, talk_therapy=talk, survey_level=survey_level)
    return practices, cluster_ids, cluster_names


def _people(rng, practices: Practices, kcodes, kregion, kpop, start, stop) -> dict:
    n = int(practices.size.sum())
    practice = np.repeat(np.arange(len(practices.size)), practices.size)
    # The pyramid describes the living at the end date; those who die in the window come on top, so older bands
    # are drawn more often by the inverse of their three-year survival (conditions add ≈ 30 % to mortality).
    band_mid = np.arange(len(P.AGE_BANDS_THOUSANDS)) * 5 + 2.5
    q = np.minimum(1.3 * np.exp(P.MORTALITY_A + P.MORTALITY_B * (band_mid - 1.5)), 0.6)
    band_p = np.array(P.AGE_BANDS_THOUSANDS) / (1 - q) ** ((stop - start + 1) / 365.25)
    band_p /= band_p.sum()
    band = rng.choice(len(band_p), n, p=band_p)
    age_days = (band * 5 + rng.random(n) * 5) * 365.25
    age_days = np.maximum(age_days, 20).astype(np.int64)
    birth = (stop - age_days).astype(np.int32)
    male = rng.random(n) < np.array(P.MALE_SHARE_BY_BAND)[band]
    ecpr = rng.random(n) < P.ECPR_SHARE
    cpr = make_cprs(rng, birth, male, ecpr)
    names = draw_names(rng, male)
    # Residence: mostly the practice's municipality, otherwise another in the same region.
    order = np.argsort(kcodes)
    practice_k = order[np.searchsorted(kcodes[order], practices.kommune)]
    home = practice_k[practice]
    move_k = rng.random(n) > P.RESIDENCE_IN_PRACTICE_KOMMUNE
    if move_k.any():
        w = kpop / kpop.sum()
        other = rng.choice(len(kcodes), move_k.sum(), p=w)
        same_region = kregion[other] == kregion[home[move_k]]
        home[np.flatnonzero(move_k)[same_region]] = other[same_region]
    age = age_days / 365.25
    adult = age >= 18
    s = np.array(P.SMOKING_ADULT)
    smoking = rng.choice(4, n, p=s).astype(np.int8)
    smoking[age < 15] = 3
    teen = (age >= 15) & ~adult
    smoking[teen & (rng.random(n) < 0.6)] = 3
    smoking[(age > 70) & (smoking == 0) & (rng.random(n) < 0.35)] = 2  # many older smokers have quit
    latent = rng.standard_normal((n, len(LATENT))).astype(np.float32)
    bmi = np.where(adult, 22.5 + 0.07 * np.clip(age, 18, 70) + 1.6 * latent[:, 0] + rng.normal(0, 3.2, n),
                   16 + 0.3 * np.clip(age, 0, 18) + rng.normal(0, 2, n))
    bmi = np.clip(bmi, 15, 55).astype(np.float32)
    height = np.where(male, rng.normal(180.5, 7, n), rng.normal(167, 6.3, n)).astype(np.float32)
    return dict(birth=birth, male=male, cpr=cpr, names=names,
                sikringsgruppe=np.where(rng.random(n) < P.SIKRINGSGRUPPE_2, 2, 1).astype(np.int8),
                smoking=smoking, bmi=bmi, height=height, latent=latent, onset=None, death=None,
                l_patient=practice, l_practice=practice, l_start=None, l_end=None, l_kommune=home,
                l_moved_in=None)


def coding_probability(coding: np.ndarray, chronic: bool) -> np.ndarray:
    """Probability that a practice with completeness `coding` records a condition on the problem list."""
    return 1 - (1 - coding) * 0.5 if chronic else coding


def _conditions(rng, w: World) -> None:
    """Draw every person's conditions. A first draw on a sample tells how much each condition loses to the deaths
    it (and its comorbidity) causes; the full draw is corrected by that, so coded prevalence among the living at
    the end date meets the targets."""
    n = len(w.birth)
    sample = np.sort(rng.choice(n, min(n, 60_000), replace=False))
    onset = _draw_conditions(rng, w, sample, np.arange(len(sample)), None)
    age = (w.end - w.birth[sample]) / 365.25
    survive = (1 - _mortality(w, sample, onset)) ** _years(w)
    coding = np.array([np.average(coding_probability(w.practices.coding, c.chronic), weights=w.practices.size)
                       for c in P.CONDITIONS])
    shares = []
    for i, c in enumerate(P.CONDITIONS):
        weight = survive * (age >= 18) if c.adults_only else survive
        shares.append(np.sum(weight * (onset[:, i] < NEVER)) / np.sum(weight))
    correction = np.clip(np.array([c.target for c in P.CONDITIONS]) / np.maximum(np.array(shares) * coding, 1e-9),
                         0.8, 1.6)
    w.onset = _draw_conditions(rng, w, np.arange(n), sample, correction)


def _years(w: World) -> float:
    return (w.end - w.start + 1) / 365.25


def _mortality(w: World, who: np.ndarray, onset: np.ndarray) -> np.ndarray:
    """Annual probability of death by age at mid-window and conditions."""
    age_mid = ((w.start + w.end) / 2 - w.birth[who]) / 365.25
    q = np.exp(P.MORTALITY_A + P.MORTALITY_B * np.clip(age_mid, 0, 110))
    for key, rr in P.MORTALITY_RR.items():
        q = q * np.where(onset[:, P.CONDITION_INDEX[key]] < NEVER, rr, 1.0)
    return np.minimum(q, 0.6)


def _draw_conditions(rng, w: World, who: np.ndarray, calib: np.ndarray, correction: np.ndarray | None
                     ) -> np.ndarray:
    """Onset day per person in `who` and condition (NEVER: absent); intercepts solved on the rows `calib`."""
    n = len(who)
    f32 = np.float32
    age = ((w.end - w.birth[who]) / 365.25).astype(f32)
    x = (age - f32(60)) / f32(10)
    x2 = x * x
    male = w.male[who].astype(f32)
    smoking = w.smoking[who]
    smoke = np.where(smoking <= 1, f32(1), np.where(smoking == 2, f32(0.5), f32(0)))
    bmi = ((w.bmi[who] - f32(26)) / f32(5)).astype(f32)
    latent = {k: np.ascontiguousarray(w.latent[who, LATENT[k]]) for k in ("cardiometabolic", "respiratory", "mental")}
    years = _years(w)
    # Three-year survival, to solve for prevalence among the living at the end date.
    q0 = np.exp(P.MORTALITY_A + P.MORTALITY_B * np.clip(age[calib].astype(float) - years / 2, 0, 110))
    survive0 = (1 - np.minimum(q0, 0.6)) ** years
    has: dict[str, np.ndarray] = {}
    onset = np.full((n, len(P.CONDITIONS)), NEVER, np.int32)
    for i, c in enumerate(P.CONDITIONS):
        mean_coding = np.average(coding_probability(w.practices.coding, c.chronic), weights=w.practices.size)
        target = min(0.95, c.target / mean_coding * (1.0 if correction is None else correction[i]))
        eta = f32(c.slope) * x
        for coef, term in ((c.curve, x2), (c.male, male), (c.smoking, smoke), (c.bmi, bmi),
                           (c.cardiometabolic, latent["cardiometabolic"]), (c.respiratory, latent["respiratory"]),
                           (c.mental, latent["mental"])):
            if coef:
                eta += f32(coef) * term
        for other, log_or in c.comorbid:
            np.add(eta, f32(log_or), out=eta, where=has[other])
        eligible = age >= c.min_age
        pop = calib[age[calib] >= 18] if c.adults_only else calib
        keep = age[calib] >= 18 if c.adults_only else slice(None)
        survive = (1 - np.minimum(q0[keep] * P.MORTALITY_RR.get(c.key, 1.0), 0.6)) ** years
        eta_pop, eligible_pop, survive0_pop = eta[pop].astype(float), eligible[pop], survive0[keep]
        lo, hi = -30.0, 10.0
        for _ in range(32):
            a = (lo + hi) / 2
            prob = np.where(eligible_pop, sigmoid(a + eta_pop), 0.0)
            share = np.sum(prob * survive) / np.sum(prob * survive + (1 - prob) * survive0_pop)
            lo, hi = (a, hi) if share < target else (lo, a)
        eta += f32((lo + hi) / 2)
        present = eligible & (rng.random(n, dtype=f32) * (1 + np.exp(-eta)) < 1)  # u < sigmoid(eta)
        has[c.key] = present
        rows = np.flatnonzero(present)
        duration = np.minimum(rng.exponential(c.duration_years, len(rows)),
                              np.maximum(age[rows] - c.min_age, 0.05)) * 365.25
        onset[rows, i] = (w.end - duration).astype(np.int32)
    return onset


def _deaths(rng, w: World) -> None:
    """Who dies in the window (by age and conditions), and when; also fixes each person's first listing start."""
    n = len(w.birth)
    start, stop = w.start, w.end
    years = _years(w)
    q = _mortality(w, np.arange(n), w.onset)
    dies = rng.random(n) < 1 - (1 - q) ** years

    # Listing start at the first practice.
    existing_days = np.minimum(start - w.birth, 25 * 365).clip(0)
    l_start = (start - rng.random(n) * existing_days).astype(np.int32)
    newborn = w.birth > start - 14
    l_start[newborn] = (w.birth[newborn] + rng.integers(7, 45, newborn.sum())).astype(np.int32)
    immigrant = ~newborn & (rng.random(n) < 1 - (1 - P.IMMIGRATE_PER_YEAR) ** years)
    l_start[immigrant] = np.maximum(start + rng.random(immigrant.sum()) * (stop - start), w.birth[immigrant] + 7)
    l_start = np.minimum(l_start, stop - 1).astype(np.int32)

    first_day = np.maximum(l_start, start) + 1
    death = np.full(n, NEVER, np.int32)
    death[dies] = (first_day[dies] + rng.random(dies.sum()) * (stop - first_day[dies])).astype(np.int32)
    # A condition cannot begin after death: pull such onsets back before it.
    late = (w.onset < NEVER) & (w.onset > death[:, None])
    if late.any():
        rows = np.nonzero(late)[0]
        w.onset[late] = (death[rows] - rng.integers(1, 365, len(rows))).astype(np.int32)
    w.death = death
    w.l_start = l_start


def _listings(rng, w: World) -> None:
    """Moves between practices and emigration: one listing per person per practice."""
    n = len(w.birth)
    start, stop = w.start, w.end
    years = (stop - start + 1) / 365.25
    death, l_start = w.death, w.l_start
    alive_until = np.minimum(death, stop)

    mover = rng.random(n) < 1 - (1 - P.MOVE_PER_YEAR) ** years
    earliest = np.maximum(l_start + 60, start + 1)
    move_day = (earliest + rng.random(n) * (alive_until - earliest)).astype(np.int32)
    mover &= (alive_until - earliest > 30) & (len(w.practices.size) > 1)
    emigrant = ~mover & (rng.random(n) < 1 - (1 - P.EMIGRATE_PER_YEAR) ** years) & (alive_until - l_start > 60)
    l_end = np.where(death < NEVER, death, NEVER).astype(np.int32)
    l_end[mover] = move_day[mover] - 1
    emig_day = (np.maximum(l_start, start) + 30 + rng.random(n) * (alive_until - np.maximum(l_start, start) - 30))
    l_end[emigrant] = emig_day[emigrant].astype(np.int32)

    # Destinations: another practice in the same municipality when there is one, else in the same region.
    pr = w.practices
    origin = w.l_practice
    movers = np.flatnonzero(mover)
    dest = np.empty(len(movers), np.int64)
    by_kommune = {k: np.flatnonzero(pr.kommune == k) for k in np.unique(pr.kommune)}
    by_region = {r: np.flatnonzero(pr.region == r) for r in np.unique(pr.region)}
    same_k = rng.random(len(movers)) < 0.7
    u = rng.random(len(movers))
    # Vectorised choice: draw an index into the candidate pool (kommune or region), skipping the origin.
    pools = np.where(same_k & np.array([len(by_kommune[k]) > 1 for k in pr.kommune])[origin[movers]], 0, 1)
    for key_arr, groups, flag in ((pr.kommune, by_kommune, 0), (pr.region, by_region, 1)):
        sel = np.flatnonzero(pools == flag)
        keys = key_arr[origin[movers[sel]]]
        for k in np.unique(keys):
            group = groups[k]
            rows = sel[keys == k]
            if len(group) == 1:  # nowhere else to go in this region: pick any practice
                group = np.arange(len(pr.size))
            pick = (u[rows] * (len(group) - 1)).astype(np.int64)
            o = origin[movers[rows]]
            pos = np.searchsorted(group, o)
            pick = np.where(pick >= pos, pick + 1, pick)
            dest[rows] = group[np.minimum(pick, len(group) - 1)]
    kcodes = w.kommune_codes
    order = np.argsort(kcodes)
    dest_k = order[np.searchsorted(kcodes[order], pr.kommune[dest])]
    new_k = np.where(pr.kommune[dest] != pr.kommune[origin[movers]],
                     np.where(rng.random(len(movers)) < P.RESIDENCE_IN_PRACTICE_KOMMUNE, dest_k,
                              w.l_kommune[movers]), w.l_kommune[movers])

    w.l_patient = np.concatenate([np.arange(n), movers])
    w.l_practice = np.concatenate([origin, dest])
    w.l_start = np.concatenate([l_start, move_day[movers]]).astype(np.int32)
    w.l_end = np.concatenate([l_end, np.where(death[movers] < NEVER, death[movers], NEVER)]).astype(np.int32)
    w.l_kommune = np.concatenate([w.l_kommune, new_k]).astype(np.int16)
    w.l_moved_in = np.concatenate([np.zeros(n, bool), np.ones(len(movers), bool)])
    order = np.lexsort((w.l_patient, w.l_practice))
    for name in ("l_patient", "l_practice", "l_start", "l_end", "l_kommune", "l_moved_in"):
        setattr(w, name, getattr(w, name)[order])
    w.practice_offsets = np.searchsorted(w.l_practice, np.arange(len(pr.size) + 1))

    # Contacts are normalised so the whole population averages CONTACTS_PER_YEAR (see clinical.contact_rate).
    from kvalitetsplatform.synth.clinical import contact_rate
    sample = rng.choice(n, min(n, 200_000), replace=False)
    exposure = np.minimum(w.death[sample], w.end) - np.maximum(l_start[sample], w.start) + 1
    w.contact_norm = P.CONTACTS_PER_YEAR / float(np.average(contact_rate(w, sample, (w.start + w.end) // 2),
                                                            weights=np.maximum(exposure, 0)))
