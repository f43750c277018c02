"""The numbers the synthetic population is built from, each with its source.

Sources are the sections of `shared/reference/domain.md` (§1 indicators, §2 codes, §5 scale numbers, §6 DanPEP);
where a figure is our own engineering choice it says so ([P]). Everything that shapes the data lives here, so
docs/synthetic-data.md and the tests can point at one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

# --- time --------------------------------------------------------------------------------------------------------
# The default end date is the last day of the month before this fixed reference, so output never depends on the
# clock. 36 months of history end on the end date; the initial delivery covers months 1–35, the monthly one month 36.
REFERENCE_DATE = date(2026, 11, 1)
HISTORY_MONTHS = 36


# --- scales (domain.md §5) ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Scale:
    name: str
    patients: int
    practices: int
    clusters: int
    kommuner: tuple[str, ...] | None = None  # None: the whole country
    region: str | None = None  # restrict to one region's municipalities


SCALES: dict[str, Scale] = {
    # One cluster around Aarhus: Aarhus and its neighbouring municipalities.
    "demo": Scale("demo", 20_000, 13, 1, kommuner=("751", "706", "710", "727", "746")),
    # One region: Region Nordjylland (≈ 590,000 inhabitants).
    "regional": Scale("regional", 590_000, 157, 12, region="1081"),
    # All of Denmark: 5.9 M patients, ≈ 1,575 practices in 116 clusters (domain.md §1.1, §5).
    "national": Scale("national", 5_900_000, 1_575, 116),
}

# GPs per practice (domain.md §5 [U]): solo 30 %, 2 GPs 25 %, 3–4 GPs 30 %, 5+ GPs 15 %.
GPS_PER_PRACTICE = ((1, 0.30), (2, 0.25), (3, 0.17), (4, 0.13), (5, 0.08), (6, 0.05), (7, 0.02))
LIST_PER_GP = (1_600, 250, 1_000, 2_500)  # mean, sd, min, max (domain.md §5 "normtal")
CLUSTER_CHANGE_SHARE = 0.01  # practices that change cluster during the 3 years [P]
LPS_VENDORS = (("XMO", 0.38), ("EG Clinea", 0.22), ("MultiMed Web", 0.20), ("Novax", 0.12), ("WinPLC", 0.08))
# Share of practices run by a region or by a private operator on contract; the rest are solo or kompagniskab by n_gp.
REGIONSKLINIK_SHARE, UDBUDSKLINIK_SHARE = 0.02, 0.01

# --- population dynamics [P] -------------------------------------------------------------------------------------
# Danish population by 5-year age band (0–4 … 100+), thousands, both sexes (DST FOLK1A 2024, rounded), and the
# share of men in each band.
AGE_BANDS_THOUSANDS = (300, 312, 331, 343, 382, 410, 380, 350, 352, 380, 410, 408, 370, 333, 320, 270, 172, 86,
                       35, 9, 1.5)
MALE_SHARE_BY_BAND = (0.513, 0.513, 0.513, 0.512, 0.512, 0.511, 0.508, 0.505, 0.503, 0.503, 0.502, 0.500, 0.497,
                      0.490, 0.480, 0.465, 0.440, 0.400, 0.340, 0.260, 0.200)
MOVE_PER_YEAR = 0.035  # change of practice (same CPR in both deliveries)
EMIGRATE_PER_YEAR = 0.004
IMMIGRATE_PER_YEAR = 0.008
SIKRINGSGRUPPE_2 = 0.015
RESIDENCE_IN_PRACTICE_KOMMUNE = 0.85
ECPR_SHARE = 0.003  # national replacement numbers (eCPR)
# Annual mortality q(age) = exp(MORTALITY_A + MORTALITY_B * age) before the conditions' rate ratios
# (MORTALITY_RR): ≈ 0.2 % at 50, 2.7 % at 80, 7 % at 90; with the conditions about 1 % of all die each year.
MORTALITY_A, MORTALITY_B = -11.1, 0.094

# --- practice latent traits [P] (domain.md §2.1: coding completeness 0.6–0.98) -------------------------------------
CODING_COMPLETENESS = (0.60, 0.98)
QUALITY_CLUSTER_SD = 0.45  # cluster effect on the logit of practice quality
QUALITY_PRACTICE_SD = 0.85
QUALITY_REGION_SD = 0.15
SPEECH_ADOPTION_SHARE = 0.45  # practices using a speech scribe by the end of the period

# --- conditions (domain.md §5) -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Condition:
    """A condition with its coded prevalence target and an age/sex/comorbidity model (logistic).

    logit p = a + slope·x + curve·x² + male·[M] + Σ loading·latent + Σ log-OR·[other condition], x = (age−60)/10;
    `a` is solved so the *coded* prevalence in the target population equals `target`.
    """
    key: str
    codes: tuple[tuple[str, float], ...]  # ICPC-2-DK codes and their shares
    target: float
    adults_only: bool = False  # target is a share of adults (≥ 18)
    min_age: int = 0
    slope: float = 0.0
    curve: float = 0.0
    male: float = 0.0
    cardiometabolic: float = 0.0
    respiratory: float = 0.0
    mental: float = 0.0
    smoking: float = 0.0  # log-OR for current smokers (former: half)
    bmi: float = 0.0  # log-OR per 5 kg/m² above 26
    comorbid: tuple[tuple[str, float], ...] = ()
    duration_years: float = 8.0  # mean time since onset at the end date
    chronic: bool = True  # coded more completely, has annual control


CONDITIONS: tuple[Condition, ...] = (
    Condition("T2D", (("T90", 1.0),), 0.054, min_age=25, slope=0.95, curve=-0.22, male=0.35, cardiometabolic=0.7,
              bmi=0.7, duration_years=9),
    Condition("T1D", (("T89", 1.0),), 0.004, min_age=2, duration_years=18),
    Condition("HT", (("K86", 0.88), ("K87", 0.12)), 0.15, adults_only=True, min_age=25, slope=0.95, curve=-0.12,
              male=0.15, cardiometabolic=0.6, bmi=0.45, comorbid=(("T2D", 1.0),), duration_years=10),
    Condition("LIPID", (("T93", 1.0),), 0.05, adults_only=True, min_age=25, slope=0.5, curve=-0.2, male=0.2,
              cardiometabolic=0.5, comorbid=(("T2D", 0.4),), duration_years=7),
    Condition("IHD", (("K74", 0.40), ("K75", 0.25), ("K76", 0.35)), 0.026, min_age=35, slope=0.85, curve=-0.12,
              male=0.85, cardiometabolic=0.6, smoking=0.6, comorbid=(("T2D", 0.7), ("HT", 0.8), ("LIPID", 0.5)),
              duration_years=9),
    Condition("AF", (("K78", 1.0),), 0.025, min_age=35, slope=1.1, curve=-0.15, male=0.45, cardiometabolic=0.2,
              comorbid=(("HT", 0.6), ("IHD", 0.7)), duration_years=6),
    Condition("STROKE", (("K90", 0.55), ("K89", 0.30), ("K91", 0.15)), 0.015, min_age=35, slope=0.95,
              curve=-0.1, male=0.2, smoking=0.4, comorbid=(("HT", 0.8), ("AF", 0.9), ("T2D", 0.4)), duration_years=6),
    Condition("HF", (("K77", 1.0),), 0.012, min_age=40, slope=1.15, curve=-0.1, male=0.4, cardiometabolic=0.3,
              comorbid=(("IHD", 1.4), ("HT", 0.6), ("AF", 1.1), ("T2D", 0.4)), duration_years=5),
    Condition("PAD", (("K92", 1.0),), 0.008, min_age=40, slope=0.9, curve=-0.15, male=0.4, smoking=1.2,
              comorbid=(("T2D", 0.8), ("IHD", 0.8)), duration_years=6),
    Condition("COPD", (("R95", 1.0),), 0.032, min_age=40, slope=0.75, curve=-0.25, male=0.1, respiratory=0.7,
              smoking=2.1, duration_years=8),
    Condition("ASTHMA", (("R96", 1.0),), 0.05, min_age=3, slope=-0.15, curve=0.0, respiratory=0.6,
              duration_years=10),
    Condition("DEPRESSION", (("P76", 1.0),), 0.045, min_age=13, slope=-0.05, curve=-0.12, male=-0.7, mental=0.9,
              duration_years=1.6, chronic=False),
    Condition("ANXIETY", (("P74", 1.0),), 0.03, min_age=13, slope=-0.15, curve=-0.1, male=-0.6, mental=0.8,
              comorbid=(("DEPRESSION", 1.3),), duration_years=2.5, chronic=False),
    Condition("DEMENTIA", (("P70", 1.0),), 0.015, min_age=55, slope=1.6, curve=-0.12, male=-0.1,
              comorbid=(("STROKE", 0.8), ("T2D", 0.3)), duration_years=3.5),
    Condition("HYPOTHYROID", (("T86", 1.0),), 0.03, min_age=15, slope=0.4, curve=-0.1, male=-1.6,
              duration_years=10),
    Condition("OSTEOPOROSIS", (("L95", 1.0),), 0.025, min_age=45, slope=1.0, curve=-0.1, male=-1.5,
              smoking=0.3, duration_years=6),
    Condition("OSTEOARTHRITIS", (("L90", 0.65), ("L89", 0.35)), 0.06, min_age=35, slope=0.8, curve=-0.15,
              male=-0.3, bmi=0.5, duration_years=7),
    Condition("CKD", (("U99", 1.0),), 0.012, min_age=30, slope=1.1, curve=-0.1, male=0.1,
              comorbid=(("T2D", 1.1), ("HT", 1.0), ("HF", 0.7)), duration_years=5),
    Condition("ALCOHOL", (("P15", 1.0),), 0.01, min_age=18, slope=0.1, curve=-0.3, male=0.9, mental=0.4,
              duration_years=6, chronic=False),
    Condition("MIGRAINE", (("N89", 1.0),), 0.03, min_age=12, slope=-0.2, curve=-0.3, male=-1.1,
              duration_years=8, chronic=False),
    Condition("BPH", (("Y85", 1.0),), 0.022, min_age=45, slope=1.0, curve=-0.2, male=9.0, duration_years=5,
              chronic=False),
    Condition("PSORIASIS", (("S91", 1.0),), 0.02, min_age=10, duration_years=12, chronic=False),
    Condition("ECZEMA", (("S87", 1.0),), 0.025, slope=-0.5, curve=0.05, duration_years=6, chronic=False),
    Condition("RHINITIS", (("R97", 1.0),), 0.04, min_age=5, slope=-0.25, curve=-0.1, respiratory=0.3,
              duration_years=8, chronic=False),
)
CONDITION_INDEX = {c.key: i for i, c in enumerate(CONDITIONS)}
# Chronic populations with an annual status (ÅK-1, domain.md §1.3.8) and the kronikerforløb conditions (§1.3.1).
ANNUAL_CONTROL = ("T2D", "COPD", "IHD", "HF", "AF", "ASTHMA")
ENROLMENT = {"T2D": "T2D", "COPD": "COPD"}
# Mortality multipliers by condition [P].
MORTALITY_RR = {"HF": 2.5, "COPD": 1.8, "DEMENTIA": 2.8, "IHD": 1.4, "T2D": 1.3, "STROKE": 1.6, "CKD": 1.6}
# Smoking: daily, occasional, former, never among adults (DST/SST 2023 ≈ 13 % daily) [P].
SMOKING_ADULT = (0.13, 0.03, 0.30, 0.54)

# --- contacts (domain.md §5, §2.5) -----------------------------------------------------------------------------------
CONTACTS_PER_YEAR = 7.0
# (ydelseskode, channel, share) of the ordinary contacts; home visits go mostly to the oldest.
CONTACT_MIX = (("0101", "physical", 0.445), ("0201", "phone", 0.375), ("0204", "phone", 0.025),
               ("0105", "email", 0.11), ("0127", "email", 0.01), ("0125", "video", 0.01),
               ("0411", "home", 0.006), ("0128", "physical", 0.004))
CONTACT_FRAILTY_SHAPE = 1.3  # gamma frailty: contacts are negative-binomial, very skewed
# Relative contact rate by age band and sex (F, M) before normalising to CONTACTS_PER_YEAR (domain.md §5: women
# 30–59 8.2/yr, men 4.7/yr).
CONTACT_RATE_BY_AGE = ((0, 5.5, 5.8), (5, 2.8, 2.8), (15, 5.5, 2.8), (25, 6.8, 3.4), (45, 7.0, 4.8), (65, 8.0, 7.5),
                       (80, 10.5, 10.0))
CHRONIC_CONTACT_FACTOR = 0.30  # each chronic condition adds 30 % (chronic patients ~12–15/yr, domain.md §5)

# --- antibiotics (domain.md §1.3.4) --------------------------------------------------------------------------------
ANTIBIOTIC_PER_1000 = 280  # J01 prescriptions per 1,000 listed patients per year (GP 2021: 279)
# Share of ordinary contacts that are infections, calibrated so the realised J01 rate is ANTIBIOTIC_PER_1000
# (before season, age and channel factors; see clinical.infections_and_symptoms).
INFECTION_CONTACT_SHARE = 0.0735 * ANTIBIOTIC_PER_1000 / 280
# Practice tilt towards phenoxymethylpenicillin: log-multiplier mean, sd and dependence on quality; gives a PcV
# share of J01 of ≈ 30–40 % varying by practice (domain.md §1.3.4: 31 % baseline, target ≥ 36 %).
PCV_TILT = (1.0, 0.3, 0.8)

# --- journal notes and survey --------------------------------------------------------------------------------------
NOTE_SHARE = {"demo": 0.05, "regional": 0.02, "national": 0.02}  # share of contacts with a journal note
SURVEY_RESPONSES_PER_1000 = 12  # DanPEP answers per wave per 1,000 listed patients [P]
