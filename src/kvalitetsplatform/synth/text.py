"""Danish free text: journal notes (manual and speech-generated) and DanPEP comments.

The planted differences between speech-generated and manual notes are listed in docs/synthetic-data.md; the
numbers there come from the constants below (SPEECH_*), so analyses can be checked against what was put in:

* speech notes are longer (full sentences plus filler sentences), manual notes are terse and abbreviated;
* manual notes use clinical abbreviations (obj., us., ua., rp., ktr., BT, aft., tlf., pt., d.), speech notes almost
  never do;
* speech notes hedge ("formentlig", "umiddelbart", "muligvis", "det vurderes") far more often;
* speech notes sometimes drop a key fact: the dose of a started drug (SPEECH_DROPS_DOSE) or the blood-pressure
  value at a control (SPEECH_DROPS_BP); manual notes rarely do (MANUAL_DROPS_DOSE, MANUAL_DROPS_BP).

Composition is vectorised with pyarrow string kernels: each note is a join of chosen phrases.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

SPEECH_DROPS_DOSE = 0.30
MANUAL_DROPS_DOSE = 0.03
SPEECH_DROPS_BP = 0.15
MANUAL_DROPS_BP = 0.02
SPEECH_HEDGE = 0.65  # share of speech notes with a hedging sentence
MANUAL_HEDGE = 0.08
SPEECH_DISFLUENCY = 0.06  # "øh" left in by the transcription

TOPIC_GENERAL, TOPIC_INFECTION, TOPIC_ANNUAL, TOPIC_THERAPY, TOPIC_SYMPTOM = range(5)

REASONS = (("rygsmerter", "smerter i ryggen"), ("hovedpine", "hovedpine gennem længere tid"),
           ("træthed", "at hun/han har været meget træt"), ("svimmelhed", "svimmelhed, især når hun/han rejser sig"),
           ("hoste", "hoste, som ikke rigtig vil gå væk"), ("mavesmerter", "ondt i maven"),
           ("udslæt", "et udslæt på armene"), ("knæsmerter", "smerter i knæet"), ("søvnbesvær", "at hun/han sover dårligt"),
           ("receptfornyelse", "fornyelse af sin medicin"), ("attest", "en attest til arbejdsgiveren"),
           ("sårktr.", "kontrol af et sår"), ("bs.-svar", "svar på blodprøverne"), ("hjertebanken", "hjertebanken"),
           ("skuldersmerter", "smerter i skulderen"), ("vandladningsgener", "gener ved vandladning"))

INFECTION_TEXT = {  # ICPC: (manual complaint, speech complaint, manual finding, speech finding, manual dx, speech dx)
    "R74": ("Snue og ondt i halsen 4 d.", "at hun/han har været forkølet med ondt i halsen i fire dage",
            "Obj.: let rødme i svælget, ingen belægninger.", "ser jeg lidt rødme i svælget, men ingen belægninger",
            "Ø.l.v.i.", "en almindelig forkølelse"),
    "R75": ("Tryk over kindben, snot 10 d.", "at hun/han har haft tryk over kindbenene og meget snot i ti dage",
            "Obj.: ømhed over sinus maxillaris.", "er der ømhed over bihulerne",
            "Sinuitis.", "en bihulebetændelse"),
    "R76": ("Halsondt 3 d., feber 38,6.", "at hun/han har haft ondt i halsen i tre dage og feber op til 38,6",
            "Obj.: belægninger på tons. Strep A pos.", "ser jeg belægninger på mandlerne, og streptokoktesten er positiv",
            "Tonsillitis.", "en halsbetændelse"),
    "R78": ("Hoste m. ekspektorat 1 uge.", "at hun/han har hostet med slim i en uges tid",
            "Obj.: spredte rhonchi, ingen krepitation.", "hører jeg lidt rallen over lungerne, men ikke noget, der lyder som lungebetændelse",
            "Bronkitis.", "en bronkitis"),
    "R81": ("Feber, hoste, åndenød 3 d.", "at hun/han har haft feber, hoste og været forpustet i tre dage",
            "Obj.: krepitation hø. basalt. CRP forhøjet.", "hører jeg knitren nederst på højre side, og CRP er forhøjet",
            "Pneumoni.", "en lungebetændelse"),
    "H71": ("Ørepine hø. side, feber.", "at barnet har haft ondt i højre øre og feber",
            "Obj.: buget, rød trommehinde hø.", "er trommehinden på højre side rød og buler ud",
            "Otitis media.", "en mellemørebetændelse"),
    "U71": ("Svie v. vandladning, hyppig vandl. 2 d.", "at hun/han har haft svie ved vandladning og skullet tisse ofte i to dage",
            "Urin: leuko +, nitrit +.", "viser urinstiksen tegn på infektion",
            "Cystitis.", "en blærebetændelse"),
    "S76": ("Rødme og hævelse underben.", "at underbenet er blevet rødt og hævet",
            "Obj.: afgrænset rødme, varm, ømhed.", "ser jeg et afgrænset rødt og varmt område, som er ømt",
            "Erysipelas.", "en rosen i huden"),
    "S84": ("Skorper omkr. mund.", "at der er kommet skorper omkring munden",
            "Obj.: honninggule krustøse forandringer.", "ser jeg de typiske gule skorper",
            "Impetigo.", "børnesår"),
    "F70": ("Røde øjne m. pus.", "at øjnene er røde og klistrede om morgenen",
            "Obj.: konjunktival injektion, purulent sekret.", "er øjnene røde, og der er pus",
            "Konjunktivit.", "en øjenbetændelse"),
}

MANUAL = {
    "obj": ("Obj.: us.", "Obj.: ua.", "Obj.: upåfaldende.", "Obj.: alm. tilstand god.", "Obj.: BT ua., st.c. ua."),
    "plan": ("Aft. ktr. ved behov.", "Aft. tlf. om 14 d.", "Rp. fornyet.", "Henv. til fys.", "Bs. bestilt.",
             "Gen. ktr. ved forværring.", "Ktr. om 3 mdr.", "Pt. informeret."),
    "hedge": ("Mistanke om muskulær genese.", "Formentlig viral."),
    "annual_open": ("Årsstatus", "Årskontrol", "Årsktr."),
    "annual_close": ("Medicin gennemgået, uændret.", "Fortsætter uændret. Ktr. om 1 år.", "Bs. gennemgået, ua.",
                     "Fodus. ua.", "Motion drøftet."),
    "therapy": ("Samtaleterapi. Stemning let bedret, sover bedre.", "Samtale. Fortsat nedtrykt, ingen suicidaltanker.",
                "Samtaleterapi. Arbejdssituation drøftet.", "Samtale. Bedring, aft. ny tid om 2 uger."),
}
SPEECH = {
    "open": ("Patienten kommer i dag, fordi hun/han har", "Vi taler i dag om", "Patienten henvender sig i dag med",
             "Hun/han ringer i dag angående"),
    "obj": ("Ved den objektive undersøgelse finder jeg ikke noget påfaldende, og almentilstanden virker god.",
            "Jeg har undersøgt patienten, og der er ikke noget unormalt at finde.",
            "Undersøgelsen er helt normal, og patienten virker upåvirket."),
    "plan": ("Vi aftaler, at patienten vender tilbage, hvis det ikke går over i løbet af et par uger.",
             "Jeg har fornyet recepten, og vi ses igen ved næste kontrol.",
             "Vi aftaler en ny blodprøve, og jeg ringer, når svaret foreligger.",
             "Patienten er informeret om, hvad hun/han skal holde øje med, og kontakter os ved forværring.",
             "Vi aftaler en telefonkonsultation om cirka to uger."),
    "hedge": ("Det er formentlig noget forbigående.", "Umiddelbart vurderer jeg, at det ikke er alvorligt.",
              "Det kan muligvis hænge sammen med travlhed på arbejdet.",
              "Det vurderes, at der sandsynligvis er tale om noget godartet."),
    "filler": ("Patienten fortæller selv, at det har stået på et stykke tid.",
               "Vi har også kort talt om, hvordan det går derhjemme.",
               "Patienten har selv læst lidt om det på nettet og var lidt bekymret.",
               "Hun/han nævner i øvrigt, at det går fint med motionen.",
               "Vi har brugt lidt tid på at snakke om situationen generelt."),
    "closing": ("Patienten takker for snakken.", "Patienten er indforstået med planen.",
                "Patienten er tryg ved aftalen."),
    "annual_open": ("I dag har vi årsstatus for patientens", "Patienten er til den årlige kontrol af sin",
                    "Vi gennemfører i dag årskontrollen for"),
    "annual_close": ("Vi har gennemgået medicinen sammen, og der er ikke behov for ændringer lige nu.",
                     "Blodprøverne er gennemgået med patienten og ser fine ud.",
                     "Vi har talt om kost og motion, og patienten er motiveret.",
                     "Vi ses igen om et år til næste årsstatus."),
    "therapy": ("Samtalen i dag handler om, hvordan patienten har haft det siden sidst. Hun/han fortæller, at humøret "
                "er lidt bedre, og at søvnen er blevet bedre.",
                "Vi fortsætter samtaleforløbet. Patienten er stadig noget nedtrykt, men har ingen tanker om at gøre "
                "sig selv noget.",
                "I dagens samtale taler vi især om situationen på arbejdet, som fylder meget for patienten.",
                "Patienten oplever bedring, og vi aftaler en ny samtale om cirka to uger."),
}
DISEASE_NAMES = {"T2D": ("DM2", "type 2-diabetes"), "COPD": ("KOL", "KOL"), "IHD": ("IHS", "iskæmiske hjertesygdom"),
                 "HF": ("hjertesvigt", "hjertesvigt"), "AF": ("AFLI", "atrieflimren"), "ASTHMA": ("astma", "astma")}


def _pick(rng, options, n, pronoun=None):
    arr = pa.array(list(options))
    out = arr.take(pa.array(rng.integers(0, len(options), n)))
    return _pronoun(out, pronoun)


def _pronoun(arr, pronoun):
    if pronoun is None:
        return arr
    her = pc.replace_substring(pc.replace_substring(arr, "hun/han", "hun"), "Hun/han", "Hun")
    him = pc.replace_substring(pc.replace_substring(arr, "hun/han", "han"), "Hun/han", "Han")
    return pc.if_else(pronoun, him, her)


def _maybe(mask: np.ndarray, arr):
    return pc.if_else(pa.array(mask), arr, pa.nulls(len(mask), pa.string()))


def _join(*parts):
    return pc.binary_join_element_wise(*parts, " ", null_handling="skip")


def _num(values) -> pa.Array:
    return pc.cast(pa.array(np.asarray(values).astype(np.int64)), pa.string())


def journal_notes(rng: np.random.Generator, topic: np.ndarray, speech: np.ndarray, male: np.ndarray,
                  infection: np.ndarray, drug_name: np.ndarray, drug_dose: np.ndarray, annual_disease: np.ndarray,
                  sbp: np.ndarray, dbp: np.ndarray, channel: np.ndarray) -> pa.Array:
    """Note texts; arrays are per note. `infection` is an ICPC code or '', `drug_*` '' when no drug was started,
    `annual_disease` a key of DISEASE_NAMES or '', `sbp`/`dbp` NaN when no blood pressure was measured."""
    n = len(topic)
    if n == 0:
        return pa.array([], pa.string())
    he = pa.array(male)
    sp = speech
    out = pa.nulls(n, pa.string())

    def fill(mask, manual, spoken):
        nonlocal out
        if mask.any():
            out = pc.if_else(pa.array(mask & sp), spoken, pc.if_else(pa.array(mask & ~sp), manual, out))

    # General and symptom contacts.
    reason = rng.integers(0, len(REASONS), n)
    r_manual = pa.array([r[0] for r in REASONS]).take(pa.array(reason))
    r_speech = _pronoun(pa.array([r[1] for r in REASONS]).take(pa.array(reason)), he)
    prefix = pa.array(np.where(channel == "phone", "Tlf. vedr.", np.where(channel == "email", "E-kons. vedr.",
                                                                         "Kons. vedr.")))
    manual = _join(pc.binary_join_element_wise(prefix, r_manual, " "), _pick(rng, MANUAL["obj"], n),
                   _maybe(rng.random(n) < MANUAL_HEDGE, _pick(rng, MANUAL["hedge"], n)), _pick(rng, MANUAL["plan"], n))
    # Filler sentences: one from the first half of the list, maybe one from the second, maybe a closing remark.
    half = len(SPEECH["filler"]) // 2
    fillers = [_maybe(rng.random(n) < share, _pick(rng, pool, n, he))
               for share, pool in ((1.0, SPEECH["filler"][:half]), (0.6, SPEECH["filler"][half:]),
                                   (0.4, SPEECH["closing"]))]
    disfl = _maybe(rng.random(n) < SPEECH_DISFLUENCY, pa.array(["Øh,"] * n))
    spoken = _join(disfl, pc.binary_join_element_wise(_pick(rng, SPEECH["open"], n, he), r_speech, " "),
                   pa.array(["."] * n), fillers[0], _pick(rng, SPEECH["obj"], n),
                   _maybe(rng.random(n) < SPEECH_HEDGE, _pick(rng, SPEECH["hedge"], n)), fillers[1],
                   _pick(rng, SPEECH["plan"], n, he), fillers[2])
    spoken = pc.replace_substring(spoken, " .", ".")
    fill(np.isin(topic, [TOPIC_GENERAL, TOPIC_SYMPTOM]), manual, spoken)

    # Infections: complaint, finding, diagnosis, the drug and its dose.
    codes = list(INFECTION_TEXT)
    k = np.array([codes.index(c) if c in INFECTION_TEXT else 0 for c in infection])
    col = lambda j: pa.array([INFECTION_TEXT[c][j] for c in codes]).take(pa.array(k))
    has_drug = drug_name != ""
    dose_m = rng.random(n) >= MANUAL_DROPS_DOSE
    dose_s = rng.random(n) >= SPEECH_DROPS_DOSE
    drug = pa.array(drug_name)
    dose = pa.array(drug_dose)
    rp_manual = _maybe(has_drug, _join(pa.array(["Rp."] * n), drug, _maybe(dose_m, dose)))
    rp_manual = pc.binary_join_element_wise(rp_manual, pa.array(["."] * n), "")
    no_ab_m = _maybe(~has_drug, pa.array(["Ingen AB. Aft. ktr. v. forværring."] * n))
    manual = _join(col(0), col(2), col(4), rp_manual, no_ab_m)
    start = _join(pa.array(["Vi starter behandling med"] * n), pc.utf8_lower(drug),
                  _maybe(dose_s, pc.binary_join_element_wise(pa.array(["i dosis"] * n), dose, " ")))
    start = _maybe(has_drug, pc.binary_join_element_wise(start, pa.array(["."] * n), ""))
    no_ab_s = _maybe(~has_drug, pa.array(["Der er ikke behov for antibiotika, og vi aftaler, at patienten vender "
                                          "tilbage, hvis det ikke bedrer sig."] * n))
    spoken = _join(disfl, pc.binary_join_element_wise(pa.array(["Patienten fortæller,"] * n),
                                                      _pronoun(col(1), he), " "),
                   pa.array(["."] * n), pc.binary_join_element_wise(pa.array(["Ved undersøgelsen"] * n), col(3), " "),
                   pa.array(["."] * n),
                   _maybe(rng.random(n) < SPEECH_HEDGE,
                          pc.binary_join_element_wise(pa.array(["Det er formentlig"] * n), col(5), " ")),
                   _maybe(rng.random(n) < SPEECH_HEDGE, pa.array(["."] * n)), fillers[0], start, no_ab_s, fillers[1])
    spoken = pc.replace_substring(pc.replace_substring(spoken, " .", "."), "..", ".")
    fill(topic == TOPIC_INFECTION, manual, spoken)

    # Annual status: disease, blood pressure, closing.
    dkeys = list(DISEASE_NAMES)
    d = np.array([dkeys.index(x) if x in DISEASE_NAMES else 0 for x in annual_disease])
    short = pa.array([DISEASE_NAMES[x][0] for x in dkeys]).take(pa.array(d))
    full = pa.array([DISEASE_NAMES[x][1] for x in dkeys]).take(pa.array(d))
    has_bp = ~np.isnan(sbp)
    s_txt, d_txt = _num(np.nan_to_num(sbp)), _num(np.nan_to_num(dbp))
    bp_m = _maybe(has_bp & (rng.random(n) >= MANUAL_DROPS_BP),
                  pc.binary_join_element_wise(pa.array(["BT"] * n),
                                              pc.binary_join_element_wise(s_txt, d_txt, "/"), pa.array(["."] * n), ""))
    bp_m = pc.replace_substring(bp_m, "BT", "BT ")
    show_bp = has_bp & (rng.random(n) >= SPEECH_DROPS_BP)
    verdict = pa.array(np.where(np.nan_to_num(sbp) >= 140, "hvilket er lidt for højt",
                                "hvilket er tilfredsstillende"))
    bp_s = _maybe(show_bp, _join(pa.array(["Blodtrykket måles til"] * n), s_txt, pa.array(["over"] * n), d_txt,
                                 pc.binary_join_element_wise(pa.array([","] * n), verdict, " ")))
    bp_s = pc.replace_substring(bp_s, " ,", ",")
    bp_s = _maybe(show_bp, pc.binary_join_element_wise(bp_s, pa.array(["."] * n), ""))
    bp_vague = _maybe(has_bp & ~show_bp, pa.array(["Blodtrykket er målt og ser fornuftigt ud."] * n))
    manual = _join(pc.binary_join_element_wise(_pick(rng, MANUAL["annual_open"], n), short, " "),
                   pa.array(["."] * n), bp_m, _pick(rng, MANUAL["annual_close"], n))
    manual = pc.replace_substring(manual, " .", ".")
    spoken = _join(disfl, pc.binary_join_element_wise(_pick(rng, SPEECH["annual_open"], n), full, " "),
                   pa.array(["."] * n), fillers[0], bp_s, bp_vague,
                   _maybe(rng.random(n) < SPEECH_HEDGE, _pick(rng, SPEECH["hedge"], n)),
                   _pick(rng, SPEECH["annual_close"], n), fillers[1])
    spoken = pc.replace_substring(spoken, " .", ".")
    fill(topic == TOPIC_ANNUAL, manual, spoken)

    # Talk therapy.
    manual = _pick(rng, MANUAL["therapy"], n)
    spoken = _join(disfl, _pick(rng, SPEECH["therapy"], n, he), fillers[0],
                   _maybe(rng.random(n) < SPEECH_HEDGE, _pick(rng, SPEECH["hedge"], n)), fillers[1])
    fill(topic == TOPIC_THERAPY, manual, spoken)
    return out


# --- DanPEP comments ---------------------------------------------------------------------------------------------
GOOD = {
    "positive": ("Lægen tager sig altid god tid og lytter.", "Meget imødekommende personale.",
                 "Jeg føler mig altid godt behandlet.", "Fantastisk læge, som kender mig og min familie.",
                 "Hurtig hjælp, når der er brug for det.", "Sekretærerne er søde og hjælpsomme.",
                 "Grundig undersøgelse og god forklaring.", "Jeg bliver taget alvorligt.",
                 "Tryghed og kontinuitet - samme læge i mange år.", "Let at få en tid, også akut."),
    "neutral": ("Det fungerer fint.", "Lægen er faglig dygtig.", "Ok service.", "Fin behandling.",
                "Man får den hjælp, man har brug for.", "God e-konsultation."),
    "negative": ("Sygeplejersken var sød.", "Lægen var venlig nok.", "Det var fint, da jeg endelig kom til.",
                 "Blodprøvetagningen gik hurtigt."),
}
IMPROVE = {  # by the weakest item group
    "phone": ("Svært at komme igennem på telefonen.", "Man skal vente alt for længe i telefonkøen.",
              "Telefontiden er for kort.", "Umuligt at komme igennem om morgenen."),
    "wait": ("Lang ventetid i venteværelset.", "Man venter ofte over en halv time, selv med en aftalt tid.",
             "Tiderne skrider altid."),
    "appointment": ("Det tager for lang tid at få en tid.", "Svært at få en tid hos min egen læge.",
                    "Ventetid på over to uger til en almindelig konsultation."),
    "doctor": ("Lægen virker stresset og har ikke tid.", "Jeg føler mig ikke hørt.",
               "Lægen kigger mere på skærmen end på mig.", "Man får ikke forklaret, hvad prøverne skal bruges til.",
               "Lægen husker ikke, hvad vi talte om sidst."),
    "staff": ("Personalet kan være lidt afvisende i telefonen.", "Mere venlighed i receptionen."),
}
IMPROVE_MILD = ("Intet at tilføje.", "Måske lidt længere åbningstid.", "Parkeringsforholdene kunne være bedre.",
                "Det ville være rart med flere tider om eftermiddagen.", "Ikke noget - bliv ved med det.")
ITEM_GROUP = {20: "phone", 21: "phone", 22: "wait", 19: "appointment", 23: "appointment", 18: "staff"}


def survey_comments(rng: np.random.Generator, mean_score: np.ndarray, weakest_item: np.ndarray
                    ) -> tuple[list[str | None], list[str | None]]:
    """Free-text comments whose tone follows the respondent's scores and whose complaint follows the weakest item."""
    good: list[str | None] = []
    improve: list[str | None] = []
    for m, item in zip(mean_score, weakest_item):
        tone = "positive" if m >= 4.3 else "neutral" if m >= 3.6 else "negative"
        if rng.random() < {"positive": 0.5, "neutral": 0.35, "negative": 0.25}[tone]:
            picks = GOOD[tone]
            text = picks[rng.integers(len(picks))]
            if tone == "positive" and rng.random() < 0.3:
                text = f"{text} {GOOD['positive'][rng.integers(len(GOOD['positive']))]}"
            good.append(text)
        else:
            good.append(None)
        if rng.random() < {"positive": 0.2, "neutral": 0.35, "negative": 0.6}[tone]:
            if tone == "positive":
                improve.append(IMPROVE_MILD[rng.integers(len(IMPROVE_MILD))])
            else:
                group = ITEM_GROUP.get(int(item), "doctor")
                picks = IMPROVE[group]
                text = picks[rng.integers(len(picks))]
                if tone == "negative" and rng.random() < 0.4:
                    text = f"{text} Det er ikke godt nok."
                improve.append(text)
        else:
            improve.append(None)
    return good, improve
