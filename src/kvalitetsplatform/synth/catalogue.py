"""What the generator knows about drugs, laboratory analyses and hospitals.

Codes come from the terminology (drug names and units are read from it); what is added here is what the code
systems do not hold and a prescription or a lab result needs: strength, package, DDD, dosage text, reference
intervals, and which drugs are given for which condition (domain.md §1.3, §2.4).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Drug:
    strength: str
    pack_size: int
    ddd_per_pack: float
    days_per_pack: int  # at the usual dose
    dosage: str
    indication: str


# ATC → product facts (strength, units per package, DDD per package, days a package lasts, dosage, indication).
DRUGS: dict[str, Drug] = {
    "A02BC01": Drug("20 mg", 100, 100, 100, "1 kapsel dagligt", "mod mavesyre"),
    "A02BC02": Drug("40 mg", 100, 100, 100, "1 tablet dagligt", "mod mavesyre"),
    "A02BC05": Drug("20 mg", 98, 49, 98, "1 tablet dagligt", "mod mavesyre"),
    "A10AB05": Drug("100 E/ml", 5, 37.5, 60, "efter skema til måltiderne", "mod sukkersyge"),
    "A10AE04": Drug("100 E/ml", 5, 37.5, 60, "efter skema 1 gang dagligt", "mod sukkersyge"),
    "A10AE05": Drug("100 E/ml", 5, 37.5, 60, "efter skema 1 gang dagligt", "mod sukkersyge"),
    "A10BA02": Drug("1 g", 200, 100, 100, "1 tablet 2 gange dagligt", "mod sukkersyge"),
    "A10BB09": Drug("60 mg", 100, 100, 100, "1 tablet dagligt til morgenmaden", "mod sukkersyge"),
    "A10BB12": Drug("2 mg", 90, 90, 90, "1 tablet dagligt", "mod sukkersyge"),
    "A10BD07": Drug("50/1000 mg", 196, 98, 98, "1 tablet 2 gange dagligt", "mod sukkersyge"),
    "A10BH01": Drug("100 mg", 98, 98, 98, "1 tablet dagligt", "mod sukkersyge"),
    "A10BJ02": Drug("6 mg/ml", 2, 24, 30, "1,2 mg 1 gang dagligt", "mod sukkersyge"),
    "A10BJ06": Drug("1 mg", 1, 36, 28, "1 injektion 1 gang ugentligt", "mod sukkersyge"),
    "A10BK01": Drug("10 mg", 98, 98, 98, "1 tablet dagligt", "mod sukkersyge"),
    "A10BK03": Drug("10 mg", 100, 100, 100, "1 tablet dagligt", "mod sukkersyge"),
    "A11CC05": Drug("38 mikrogram", 200, 200, 200, "1 tablet dagligt", "D-vitamintilskud"),
    "B01AA03": Drug("2,5 mg", 100, 33, 60, "efter AK-skema", "blodfortyndende"),
    "B01AC04": Drug("75 mg", 100, 100, 100, "1 tablet dagligt", "blodfortyndende"),
    "B01AC06": Drug("75 mg", 100, 100, 100, "1 tablet dagligt", "blodfortyndende"),
    "B01AC24": Drug("90 mg", 168, 84, 84, "1 tablet 2 gange dagligt", "blodfortyndende"),
    "B01AE07": Drug("150 mg", 180, 90, 90, "1 kapsel 2 gange dagligt", "blodfortyndende"),
    "B01AF01": Drug("20 mg", 98, 98, 98, "1 tablet dagligt", "blodfortyndende"),
    "B01AF02": Drug("5 mg", 168, 84, 84, "1 tablet 2 gange dagligt", "blodfortyndende"),
    "B01AF03": Drug("60 mg", 98, 98, 98, "1 tablet dagligt", "blodfortyndende"),
    "B03AA07": Drug("100 mg", 100, 50, 100, "1 tablet dagligt", "mod jernmangel"),
    "C01DA02": Drug("0,25 mg", 100, 50, 180, "1 tablet under tungen ved brystsmerter", "mod hjertekramper"),
    "C01DA14": Drug("60 mg", 100, 150, 100, "1 tablet dagligt", "mod hjertekramper"),
    "C03AA03": Drug("25 mg", 100, 100, 100, "1 tablet dagligt", "mod forhøjet blodtryk"),
    "C03CA01": Drug("40 mg", 100, 100, 100, "1 tablet dagligt", "vanddrivende"),
    "C03DA01": Drug("25 mg", 100, 33, 100, "1 tablet dagligt", "vanddrivende"),
    "C07AB02": Drug("50 mg", 100, 33, 100, "1 tablet dagligt", "mod forhøjet blodtryk og hjertebanken"),
    "C07AB07": Drug("5 mg", 100, 50, 100, "1 tablet dagligt", "mod forhøjet blodtryk og hjertebanken"),
    "C08CA01": Drug("5 mg", 100, 100, 100, "1 tablet dagligt", "mod forhøjet blodtryk"),
    "C08CA13": Drug("10 mg", 98, 98, 98, "1 tablet dagligt", "mod forhøjet blodtryk"),
    "C09AA02": Drug("10 mg", 100, 100, 100, "1 tablet dagligt", "mod forhøjet blodtryk"),
    "C09AA05": Drug("5 mg", 100, 200, 100, "1 tablet dagligt", "mod forhøjet blodtryk"),
    "C09CA01": Drug("50 mg", 98, 98, 98, "1 tablet dagligt", "mod forhøjet blodtryk"),
    "C09CA03": Drug("80 mg", 98, 98, 98, "1 tablet dagligt", "mod forhøjet blodtryk"),
    "C09DA01": Drug("50/12,5 mg", 98, 98, 98, "1 tablet dagligt", "mod forhøjet blodtryk"),
    "C10AA01": Drug("40 mg", 100, 133, 100, "1 tablet dagligt til aften", "mod forhøjet kolesterol"),
    "C10AA05": Drug("40 mg", 100, 200, 100, "1 tablet dagligt", "mod forhøjet kolesterol"),
    "C10AA07": Drug("20 mg", 98, 196, 98, "1 tablet dagligt", "mod forhøjet kolesterol"),
    "C10AX09": Drug("10 mg", 98, 98, 98, "1 tablet dagligt", "mod forhøjet kolesterol"),
    "D07AC01": Drug("0,1 %", 100, 10, 60, "påsmøres 1 gang dagligt i 2 uger", "mod eksem"),
    "G03AA07": Drug("150/30 mikrogram", 63, 63, 84, "1 tablet dagligt", "prævention"),
    "G04CA02": Drug("0,4 mg", 100, 100, 100, "1 kapsel dagligt", "mod vandladningsbesvær"),
    "H02AB06": Drug("25 mg", 20, 50, 5, "1 tablet dagligt i 5 dage", "mod forværring af lungesygdom"),
    "H03AA01": Drug("100 mikrogram", 100, 67, 100, "1 tablet dagligt fastende", "mod lavt stofskifte"),
    "J01AA02": Drug("100 mg", 10, 10, 10, "2 tabletter første dag, derefter 1 tablet dagligt", "mod infektion"),
    "J01CA04": Drug("500 mg", 20, 6.7, 7, "1 tablet 3 gange dagligt i 7 dage", "mod infektion"),
    "J01CA08": Drug("400 mg", 10, 6.7, 3, "1 tablet 3 gange dagligt i 3 dage", "mod blærebetændelse"),
    "J01CE02": Drug("1 MIE", 40, 10, 7, "1 tablet 4 gange dagligt i 7 dage", "mod infektion"),
    "J01CF02": Drug("500 mg", 30, 7.5, 7, "1 kapsel 3 gange dagligt i 7 dage", "mod hudinfektion"),
    "J01CR02": Drug("500/125 mg", 20, 6.7, 7, "1 tablet 3 gange dagligt i 7 dage", "mod infektion"),
    "J01DB01": Drug("500 mg", 20, 5, 7, "1 tablet 3 gange dagligt i 7 dage", "mod infektion"),
    "J01EA01": Drug("100 mg", 10, 5, 5, "1 tablet 2 gange dagligt i 5 dage", "mod blærebetændelse"),
    "J01FA01": Drug("500 mg", 28, 7, 7, "1 tablet 4 gange dagligt i 7 dage", "mod infektion"),
    "J01FA09": Drug("250 mg", 14, 7, 7, "1 tablet 2 gange dagligt i 7 dage", "mod infektion"),
    "J01FA10": Drug("500 mg", 3, 5, 3, "1 tablet dagligt i 3 dage", "mod infektion"),
    "J01MA02": Drug("500 mg", 10, 5, 5, "1 tablet 2 gange dagligt i 5 dage", "mod infektion"),
    "J01XE01": Drug("50 mg", 30, 7.5, 5, "1 tablet 3 gange dagligt i 5 dage", "mod blærebetændelse"),
    "M01AE01": Drug("400 mg", 100, 27, 33, "1 tablet op til 3 gange dagligt", "mod smerter"),
    "M01AE02": Drug("250 mg", 100, 50, 50, "1 tablet 2 gange dagligt", "mod smerter"),
    "M04AA01": Drug("100 mg", 100, 25, 100, "1 tablet dagligt", "mod urinsyregigt"),
    "M05BA04": Drug("70 mg", 12, 84, 84, "1 tablet 1 gang ugentligt", "mod knogleskørhed"),
    "N02AA01": Drug("10 mg", 100, 10, 50, "1 tablet 2 gange dagligt", "mod smerter"),
    "N02AA05": Drug("5 mg", 100, 7.5, 50, "1 tablet 2 gange dagligt", "mod smerter"),
    "N02AJ06": Drug("500/30 mg", 100, 25, 33, "1-2 tabletter op til 3 gange dagligt", "mod smerter"),
    "N02AX02": Drug("50 mg", 100, 17, 33, "1 kapsel op til 3 gange dagligt", "mod smerter"),
    "N02BE01": Drug("500 mg", 300, 50, 75, "2 tabletter op til 4 gange dagligt", "mod smerter"),
    "N03AX12": Drug("300 mg", 100, 17, 33, "1 kapsel 3 gange dagligt", "mod nervesmerter"),
    "N03AX16": Drug("75 mg", 56, 14, 28, "1 kapsel 2 gange dagligt", "mod nervesmerter"),
    "N05AH03": Drug("5 mg", 98, 49, 98, "1 tablet til natten", "mod uro"),
    "N05AH04": Drug("25 mg", 100, 6.3, 100, "1 tablet til natten", "mod uro"),
    "N05AX08": Drug("0,5 mg", 100, 10, 100, "1 tablet dagligt", "mod uro"),
    "N05AN01": Drug("300 mg", 100, 10.3, 50, "1 tablet 2 gange dagligt", "stemningsstabiliserende"),
    "N05BA01": Drug("5 mg", 25, 12.5, 25, "1 tablet ved behov, højst 1 dagligt", "mod angst"),
    "N05BA04": Drug("15 mg", 25, 7.5, 25, "1 tablet ved behov, højst 2 dagligt", "mod angst"),
    "N05CF01": Drug("7,5 mg", 30, 30, 30, "1 tablet til natten ved behov", "mod søvnløshed"),
    "N05CF02": Drug("10 mg", 30, 30, 30, "1 tablet til natten ved behov", "mod søvnløshed"),
    "N05CH01": Drug("2 mg", 30, 30, 30, "1 tablet til natten", "mod søvnløshed"),
    "N06AB04": Drug("20 mg", 100, 100, 100, "1 tablet dagligt", "mod depression"),
    "N06AB06": Drug("50 mg", 98, 98, 98, "1 tablet dagligt", "mod depression"),
    "N06AB10": Drug("10 mg", 98, 98, 98, "1 tablet dagligt", "mod depression"),
    "N06AX11": Drug("30 mg", 100, 100, 100, "1 tablet til natten", "mod depression"),
    "N06AX16": Drug("75 mg", 98, 74, 98, "1 kapsel dagligt", "mod depression"),
    "N06AX21": Drug("60 mg", 98, 98, 98, "1 kapsel dagligt", "mod depression"),
    "N06DA02": Drug("10 mg", 98, 131, 98, "1 tablet til natten", "mod demens"),
    "N06DX01": Drug("20 mg", 98, 98, 98, "1 tablet dagligt", "mod demens"),
    "R03AC02": Drug("0,1 mg/dosis", 200, 25, 90, "1-2 sug ved behov", "mod åndenød"),
    "R03AK06": Drug("50/250 mikrogram", 60, 30, 30, "1 inhalation 2 gange dagligt", "mod lungesygdom"),
    "R03AK07": Drug("160/4,5 mikrogram", 120, 60, 60, "1 inhalation 2 gange dagligt", "mod lungesygdom"),
    "R03AL03": Drug("55/22 mikrogram", 30, 30, 30, "1 inhalation dagligt", "mod KOL"),
    "R03AL09": Drug("87/5/9 mikrogram", 120, 30, 30, "2 inhalationer 2 gange dagligt", "mod KOL"),
    "R03AC13": Drug("12 mikrogram", 60, 30, 30, "1 inhalation 2 gange dagligt", "mod KOL"),
    "R03BA02": Drug("200 mikrogram", 200, 50, 100, "1 inhalation 2 gange dagligt", "mod astma"),
    "R03BB04": Drug("2,5 mikrogram", 60, 30, 30, "2 pust dagligt", "mod KOL"),
    "R03BB07": Drug("55 mikrogram", 30, 30, 30, "1 inhalation dagligt", "mod KOL"),
    "R06AE07": Drug("10 mg", 100, 100, 100, "1 tablet dagligt i pollensæsonen", "mod høfeber"),
    "R06AX27": Drug("5 mg", 100, 100, 100, "1 tablet dagligt i pollensæsonen", "mod høfeber"),
    "S01AA01": Drug("5 mg/ml", 1, 1, 7, "1 dråbe i begge øjne 4 gange dagligt i 5 dage", "mod øjenbetændelse"),
}


@dataclass(frozen=True)
class Regimen:
    """A long-term treatment: who gets it (conditions or background), with what probability, which drugs.

    p = base + quality·(practice quality − 0.5) for patients with any of `conditions`; `background` gives it to
    others (adults of the given ages/sex) with probability `background`.
    """
    key: str
    drugs: tuple[tuple[str, float], ...]
    conditions: tuple[str, ...] = ()
    base: float = 0.0
    quality: float = 0.0
    background: float = 0.0
    background_ages: tuple[int, int] = (18, 120)
    background_sex: str | None = None  # "F" or "M"
    background_old: float = 0.0  # extra background probability from age 75 (polypharmacy of the oldest)
    requires: str | None = None  # only for patients on this other regimen


REGIMENS: tuple[Regimen, ...] = (
    Regimen("statin_secondary", (("C10AA05", .55), ("C10AA01", .25), ("C10AA07", .20)),
            ("IHD", "STROKE", "PAD"), 0.80, 0.45),
    Regimen("statin_diabetes", (("C10AA05", .55), ("C10AA01", .25), ("C10AA07", .20)), ("T2D",), 0.62, 0.45),
    Regimen("statin_other", (("C10AA05", .45), ("C10AA01", .40), ("C10AA07", .15)), ("LIPID",), 0.55, 0.2,
            background=0.06, background_ages=(50, 120), background_old=0.29),
    Regimen("ezetimibe", (("C10AX09", 1.0),), ("IHD",), 0.10, 0.15, requires="statin"),
    Regimen("antiplatelet", (("B01AC06", .75), ("B01AC04", .20), ("B01AC24", .05)), ("IHD", "STROKE", "PAD"),
            0.82, 0.25, background_old=0.12),
    Regimen("anticoagulant", (("B01AF02", .45), ("B01AF01", .20), ("B01AF03", .15), ("B01AE07", .05),
                              ("B01AA03", .15)), ("AF",), 0.74, 0.35),
    Regimen("betablocker", (("C07AB02", .6), ("C07AB07", .4)), ("HF", "AF", "IHD"), 0.55, 0.1, background=0.01,
            background_old=0.14),
    Regimen("ras", (("C09CA01", .45), ("C09AA05", .15), ("C09AA02", .15), ("C09CA03", .10), ("C09DA01", .15)),
            ("HT", "HF", "CKD"), 0.68, 0.15, background_old=0.17),
    Regimen("ccb", (("C08CA01", .8), ("C08CA13", .2)), ("HT",), 0.45, 0.1, background_old=0.12),
    Regimen("thiazide", (("C03AA03", 1.0),), ("HT",), 0.22),
    Regimen("loop_diuretic", (("C03CA01", 1.0),), ("HF",), 0.6, background_old=0.14),
    Regimen("mra", (("C03DA01", 1.0),), ("HF",), 0.35, 0.2),
    Regimen("nitrate", (("C01DA02", .6), ("C01DA14", .4)), ("IHD",), 0.22),
    Regimen("metformin", (("A10BA02", .9), ("A10BD07", .1)), ("T2D",), 0.78, 0.1),
    Regimen("sglt2", (("A10BK03", .6), ("A10BK01", .4)), ("T2D", "HF"), 0.28, 0.2),
    Regimen("glp1", (("A10BJ06", .7), ("A10BJ02", .3)), ("T2D",), 0.18, 0.1),
    Regimen("dpp4", (("A10BH01", 1.0),), ("T2D",), 0.08),
    Regimen("sulfonylurea", (("A10BB09", .7), ("A10BB12", .3)), ("T2D",), 0.06, -0.05),
    Regimen("insulin_basal", (("A10AE04", .75), ("A10AE05", .25)), ("T1D", "T2D"), 0.12),
    Regimen("insulin_bolus", (("A10AB05", 1.0),), ("T1D",), 0.95),
    Regimen("copd_maintenance", (("R03AL03", .45), ("R03BB04", .25), ("R03BB07", .1), ("R03AL09", .15),
                                 ("R03AC13", .05)), ("COPD",), 0.45, 0.4),
    Regimen("saba", (("R03AC02", 1.0),), ("COPD", "ASTHMA"), 0.62),
    Regimen("asthma_controller", (("R03BA02", .45), ("R03AK07", .4), ("R03AK06", .15)), ("ASTHMA",), 0.6, 0.2),
    Regimen("antidepressant", (("N06AB06", .35), ("N06AB10", .2), ("N06AB04", .15), ("N06AX11", .15),
                               ("N06AX16", .08), ("N06AX21", .07)), ("DEPRESSION", "ANXIETY"), 0.6, 0.1,
            background=0.035, background_ages=(18, 120), background_old=0.13),
    Regimen("antidementia", (("N06DA02", .7), ("N06DX01", .3)), ("DEMENTIA",), 0.45, 0.1),
    Regimen("antipsychotic", (("N05AH04", .55), ("N05AX08", .35), ("N05AH03", .10)), ("DEMENTIA",), 0.19, -0.25,
            background=0.006),
    Regimen("lithium", (("N05AN01", 1.0),), background=0.0012),
    Regimen("opioid", (("N02AX02", .4), ("N02AA05", .25), ("N02AA01", .15), ("N02AJ06", .2)),
            ("OSTEOARTHRITIS",), 0.14, -0.12, background=0.025, background_old=0.09),
    Regimen("benzodiazepine", (("N05BA04", .6), ("N05BA01", .4)), ("ANXIETY", "ALCOHOL"), 0.12, -0.12,
            background=0.012, background_ages=(30, 120)),
    Regimen("z_drug", (("N05CF01", .7), ("N05CF02", .3)), background=0.02, background_ages=(30, 120),
            background_old=0.06),
    Regimen("melatonin", (("N05CH01", 1.0),), background=0.012),
    Regimen("ppi", (("A02BC02", .5), ("A02BC01", .3), ("A02BC05", .2)), background=0.06, background_old=0.32),
    Regimen("levothyroxine", (("H03AA01", 1.0),), ("HYPOTHYROID",), 0.92),
    Regimen("bisphosphonate", (("M05BA04", 1.0),), ("OSTEOPOROSIS",), 0.6, 0.1),
    Regimen("vitamin_d", (("A11CC05", 1.0),), ("OSTEOPOROSIS",), 0.5, background=0.04,
            background_ages=(65, 120), background_old=0.29),
    Regimen("allopurinol", (("M04AA01", 1.0),), background=0.025, background_ages=(50, 120), background_sex="M",
            background_old=0.04),
    Regimen("tamsulosin", (("G04CA02", 1.0),), ("BPH",), 0.6),
    Regimen("contraceptive", (("G03AA07", 1.0),), background=0.22, background_ages=(16, 45),
            background_sex="F"),
    Regimen("gabapentinoid", (("N03AX16", .5), ("N03AX12", .5)), background=0.015),
    Regimen("paracetamol", (("N02BE01", 1.0),), ("OSTEOARTHRITIS",), 0.35, background=0.06,
            background_ages=(65, 120), background_old=0.4),
    Regimen("nsaid", (("M01AE01", .6), ("M01AE02", .4)), ("OSTEOARTHRITIS",), 0.12, -0.1, background=0.015),
    Regimen("antihistamine", (("R06AE07", .6), ("R06AX27", .4)), ("RHINITIS",), 0.55),
    Regimen("topical_steroid", (("D07AC01", 1.0),), ("PSORIASIS", "ECZEMA"), 0.45),
    Regimen("iron", (("B03AA07", 1.0),), background=0.01, background_sex="F"),
)
STATIN_REGIMENS = ("statin_secondary", "statin_diabetes", "statin_other")
LDL_REDUCTION = {"C10AA05": 0.47, "C10AA01": 0.37, "C10AA07": 0.52, "C10AX09": 0.20}

# Infections: (ICPC code, share of infection contacts, relative rate for children, for women, P(antibiotic),
# drug choices). Drug shares are before the practice's penicillin tilt (domain.md §1.3.4).
INFECTIONS = (
    ("R74", 0.20, 1.6, 1.0, 0.12, (("J01CE02", .55), ("J01CA04", .25), ("J01FA09", .2))),
    ("R75", 0.08, 0.4, 1.3, 0.50, (("J01CE02", .70), ("J01CA04", .20), ("J01CR02", .1))),
    ("R76", 0.10, 1.4, 1.1, 0.62, (("J01CE02", .88), ("J01FA09", .07), ("J01CA04", .05))),
    ("R78", 0.08, 0.9, 1.0, 0.38, (("J01CE02", .40), ("J01AA02", .25), ("J01FA09", .15), ("J01CA04", .2))),
    ("R81", 0.06, 0.8, 1.0, 0.92, (("J01CE02", .55), ("J01CA04", .25), ("J01FA09", .12), ("J01MA02", .03),
                                   ("J01CR02", .05))),
    ("H71", 0.10, 4.0, 1.0, 0.55, (("J01CE02", .70), ("J01CA04", .22), ("J01CR02", .08))),
    ("U71", 0.22, 0.3, 3.5, 0.85, (("J01CA08", .50), ("J01XE01", .22), ("J01EA01", .20), ("J01MA02", .05),
                                   ("J01DB01", .03))),
    ("S76", 0.08, 0.8, 1.0, 0.60, (("J01CF02", .78), ("J01DB01", .10), ("J01FA01", .12))),
    ("S84", 0.03, 3.0, 1.0, 0.50, (("J01CF02", .85), ("J01FA01", .15))),
    ("F70", 0.05, 2.5, 1.0, 0.60, (("S01AA01", 1.0),)),
)

# Symptom and minor diagnoses coded at ordinary contacts.
SYMPTOMS = ("L03", "L02", "N01", "N17", "D01", "D06", "D11", "R05", "R21", "A04", "P06", "P01", "P03", "S74", "S88",
            "L15", "K95", "D73", "D84", "D93", "A29", "A98", "L84", "L86", "R07", "A03", "Z29", "B80", "A85",
            "F71", "T83", "T82", "A97")

# Laboratory analyses: code → (code system, (ref_low, ref_high) women, men, decimals).
LABS: dict[str, tuple[str, tuple[float, float], tuple[float, float], int]] = {
    "NPU27300": ("NPU", (20, 48), (20, 48), 0),
    "NPU01566": ("NPU", (2.9, 7.8), (2.9, 7.8), 1),
    "NPU01567": ("NPU", (1.0, 2.7), (0.8, 2.3), 2),
    "NPU01568": ("NPU", (1.2, 4.0), (1.2, 4.0), 1),
    "NPU04094": ("NPU", (0.45, 2.6), (0.45, 2.6), 2),
    "NPU18016": ("NPU", (45, 90), (60, 105), 0),
    "DNK35302": ("DNK", (60, 200), (60, 200), 0),
    "NPU19661": ("NPU", (0, 30), (0, 30), 0),
    "NPU22089": ("NPU", (4.2, 6.0), (4.2, 6.0), 1),
    "NPU19651": ("NPU", (10, 45), (10, 70), 0),
    "NPU19654": ("NPU", (15, 35), (15, 45), 0),
    "NPU02319": ("NPU", (7.3, 9.5), (8.3, 10.5), 1),
    "NPU19748": ("NPU", (0, 8), (0, 8), 0),
    "NPU03230": ("NPU", (3.5, 4.4), (3.5, 4.4), 1),
    "NPU03429": ("NPU", (137, 144), (137, 144), 0),
    "NPU03577": ("NPU", (0.3, 4.0), (0.3, 4.0), 2),
    "NPU01700": ("NPU", (200, 600), (200, 600), 0),
    "NPU10267": ("NPU", (50, 160), (50, 160), 0),
    "NPU02593": ("NPU", (3.5, 10.0), (3.5, 10.0), 1),
    "NPU03568": ("NPU", (145, 390), (145, 350), 0),
    "NPU02613": ("NPU", (0.5, 0.8), (0.5, 0.8), 2),
}

HOSPITALS = {
    "1081": ("Aalborg Universitetshospital", "Regionshospital Nordjylland"),
    "1082": ("Aarhus Universitetshospital", "Regionshospital Gødstrup", "Regionshospital Randers",
             "Regionshospital Horsens", "Regionshospital Viborg"),
    "1083": ("Odense Universitetshospital", "Sydvestjysk Sygehus", "Sygehus Lillebælt", "Sygehus Sønderjylland"),
    "1084": ("Rigshospitalet", "Bispebjerg Hospital", "Herlev Hospital", "Hvidovre Hospital",
             "Nordsjællands Hospital", "Bornholms Hospital"),
    "1085": ("Sjællands Universitetshospital", "Holbæk Sygehus", "Nykøbing F. Sygehus", "Slagelse Sygehus"),
}
LABORATORIES = {
    "1081": ("KBA AAUH", "KBA RHN"), "1082": ("KBA AUH", "KBA RHG", "KBA RRA"), "1083": ("KBA OUH", "KBA SVS"),
    "1084": ("KBA RH", "KBA HGH", "KBA BFH"), "1085": ("KBA SUH", "KBA NYK"),
}

# Hospital admissions: (SKS code, what drives it). Rates per person-year are in clinical.admissions.
ADMISSION_CAUSES = ("DJ441", "DJ440", "DE116", "DE111", "DI50", "DI500", "DI110", "DI48", "DI21", "DI219",
                    "DI200", "DI20", "DI63", "DI64", "DG45", "DJ18", "DJ15", "DJ12", "DN390", "DN10", "DS72",
                    "DR55", "DR07", "DT887", "DJ45")
