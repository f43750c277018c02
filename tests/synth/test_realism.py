"""The demo population behaves like Denmark where later analyses depend on it (targets: parameters.py, domain.md)."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from .synth_support import DEMO_SEED

from kvalitetsplatform.synth import parameters as P
from kvalitetsplatform.synth.population import build_world
from kvalitetsplatform.synth.text import IMPROVE


@pytest.fixture(scope="module")
def listed(demo):
    """People listed on the end date, with their age."""
    end = demo.report.end_date
    demo.con.execute(f"""CREATE OR REPLACE TEMP TABLE listed AS
        SELECT cpr, any_value(sex) AS sex,
               floor(date_diff('day', any_value(birth_date), DATE '{end}') / 365.25) AS age,
               any_value(ydernummer) AS ydernummer
        FROM patient WHERE monthly AND list_end IS NULL AND death_date IS NULL GROUP BY cpr""")
    demo.con.execute(f"""CREATE OR REPLACE TEMP TABLE person_years AS
        SELECT sum(date_diff('day', greatest(list_start, DATE '{end - timedelta(days=3 * 365)}'),
                             least(coalesce(list_end, DATE '{end}'), coalesce(death_date, DATE '{end}'))) + 1) / 365.25 AS py
        FROM (SELECT ydernummer, cpr, list_start, max(list_end) AS list_end, max(death_date) AS death_date
              FROM patient GROUP BY ALL)""")
    return demo


def _coded_share(demo, codes, adults=False):
    where = "WHERE age >= 18" if adults else ""
    n = demo.one(f"SELECT count(*) FROM listed {where}")
    k = demo.one(f"""SELECT count(DISTINCT l.cpr) FROM listed l JOIN diagnosis d USING (cpr)
                     WHERE d.code IN ({",".join("?" * len(codes))}) {"AND age >= 18" if adults else ""}""", *codes)
    return k / n


@pytest.mark.parametrize("key", ["T2D", "IHD", "COPD", "HT", "DEPRESSION", "DEMENTIA", "HF", "AF", "ASTHMA"])
def test_coded_prevalence_is_near_the_national_target(listed, key):
    condition = P.CONDITIONS[P.CONDITION_INDEX[key]]
    share = _coded_share(listed, [c for c, _ in condition.codes], condition.adults_only)
    tolerance = 0.25 if condition.target >= 0.02 else 0.35
    assert abs(share / condition.target - 1) < tolerance, (key, share, condition.target)


def test_age_and_sex_follow_the_danish_pyramid(listed):
    n = listed.one("SELECT count(*) FROM listed")
    old = listed.one("SELECT count(*) FROM listed WHERE age >= 65") / n
    young = listed.one("SELECT count(*) FROM listed WHERE age < 18") / n
    men = listed.one("SELECT count(*) FROM listed WHERE sex = 'M'") / n
    very_old_men = listed.one("SELECT avg((sex = 'M')::INT) FROM listed WHERE age >= 90")
    assert 0.18 < old < 0.23 and 0.18 < young < 0.23 and 0.48 < men < 0.52 and very_old_men < 0.4


def test_comorbidity_clusters(listed):
    """T2D patients have hypertension and IHD far more often than others."""
    rows = dict(listed.rows("""
        WITH f AS (SELECT l.cpr, bool_or(d.code = 'T90') AS t2d, bool_or(d.code IN ('K86', 'K87')) AS ht,
                          bool_or(d.code IN ('K74', 'K75', 'K76')) AS ihd
                   FROM listed l LEFT JOIN diagnosis d USING (cpr) WHERE l.age >= 40 GROUP BY l.cpr)
        SELECT t2d, avg(ht::INT) FROM f GROUP BY t2d"""))
    assert rows[True] > 2 * rows[False]


def test_contacts_and_channel_mix(listed):
    py = listed.one("SELECT py FROM person_years")
    mix = dict(listed.rows("""SELECT ydelseskode, count(*) FROM contact
                              WHERE ydelseskode IN ('0101','0201','0204','0105','0127','0125','0411','0128')
                              GROUP BY 1"""))
    total = sum(mix.values())
    assert 6.3 < total / py < 7.7
    assert abs(mix["0101"] / total - 0.45) < 0.03
    assert abs((mix["0201"] + mix["0204"]) / total - 0.40) < 0.03
    assert abs((mix["0105"] + mix["0127"]) / total - 0.12) < 0.02
    assert 0.005 < mix["0125"] / total < 0.02 and mix["0411"] / total < 0.01
    # Chronic patients see the practice much more, and get their annual status (0120).
    chronic, other = (listed.one(f"""SELECT count(*) / count(DISTINCT l.cpr) FROM listed l JOIN contact c USING (cpr)
        WHERE c.ydelseskode IN ('0101','0201','0105') AND l.cpr {op} (SELECT cpr FROM diagnosis WHERE code = 'T90')""")
                      for op in ("IN", "NOT IN"))
    assert chronic > 1.5 * other
    for code in ("0120", "6101", "7113", "7121", "2101", "0133"):
        assert listed.one("SELECT count(*) FROM contact WHERE ydelseskode = ?", code) > 0, code


def test_antibiotics_and_penicillin_share(listed):
    py = listed.one("SELECT py FROM person_years")
    j01 = listed.one("SELECT count(*) FROM prescription WHERE atc LIKE 'J01%'")
    assert 220 < 1000 * j01 / py < 340
    shares = [s for (s,) in listed.rows("""SELECT avg((atc = 'J01CE02')::INT) FROM prescription
                                           WHERE atc LIKE 'J01%' GROUP BY ydernummer""")]
    assert 0.25 < float(np.mean(shares)) < 0.42 and max(shares) - min(shares) > 0.05


def test_prescriptions_follow_disease(listed):
    def share(condition_codes, atc_prefix):
        return listed.one(f"""SELECT avg(has::INT) FROM (SELECT l.cpr, bool_or(p.atc LIKE '{atc_prefix}%') AS has
            FROM listed l JOIN diagnosis d ON d.cpr = l.cpr AND d.code IN ({condition_codes})
            LEFT JOIN prescription p ON p.cpr = l.cpr GROUP BY l.cpr)""")
    assert share("'K74','K75','K76'", "C10AA") > 0.6
    assert share("'K74','K75','K76'", "B01") > 0.6
    assert share("'T90'", "A10B") > 0.65
    assert share("'R95'", "R03") > 0.6
    assert share("'P70'", "N05A") < 0.35
    everyone = listed.one("""SELECT avg(has::INT) FROM (SELECT l.cpr, bool_or(p.atc LIKE 'C10AA%') AS has
                             FROM listed l LEFT JOIN prescription p USING (cpr) GROUP BY l.cpr)""")
    assert everyone < 0.25


def test_statin_users_have_lower_ldl(listed):
    rows = dict(listed.rows("""
        SELECT EXISTS (SELECT 1 FROM prescription p WHERE p.cpr = l.cpr AND p.atc LIKE 'C10AA%'
                       AND p.prescribed_date <= l.sampled_ts::DATE) AS statin, avg(value_num)
        FROM lab_result l WHERE code = 'NPU01568' GROUP BY 1"""))
    assert rows[False] - rows[True] > 0.6


def test_labs_fit_the_disease(listed):
    hba1c = dict(listed.rows("""SELECT cpr IN (SELECT cpr FROM diagnosis WHERE code = 'T90'), median(value_num)
                                FROM lab_result WHERE code = 'NPU27300' GROUP BY 1"""))
    assert hba1c[True] > 48 > hba1c[False]
    fev1pct = dict(listed.rows("""SELECT cpr IN (SELECT cpr FROM diagnosis WHERE code = 'R95'), avg(value_num)
                                  FROM measurement WHERE code = 'FEV1PCT' GROUP BY 1"""))
    assert fev1pct[True] < 75 < fev1pct[False]
    sbp = dict(listed.rows("""SELECT cpr IN (SELECT cpr FROM diagnosis WHERE code IN ('K86', 'K87')), avg(value_num)
                              FROM measurement WHERE code = 'DNK05472' GROUP BY 1"""))
    assert sbp[True] > sbp[False] + 5


def test_poorly_controlled_diabetes_leads_to_admissions(listed):
    rates = dict(listed.rows("""
        WITH last AS (SELECT cpr, arg_max(value_num, sampled_ts) AS hba1c FROM lab_result
                      WHERE code = 'NPU27300' AND cpr IN (SELECT cpr FROM diagnosis WHERE code = 'T90') GROUP BY cpr)
        SELECT hba1c >= 75, avg((cpr IN (SELECT cpr FROM hospital_admission WHERE diagnosis_code LIKE 'DE11%'))::INT)
        FROM last GROUP BY 1"""))
    assert rates[True] > 3 * rates[False]


def test_practice_quality_shows_in_indicators_that_correlate(listed):
    """The latent practice quality (not in the files) drives indicator-like shares, which then correlate."""
    world = build_world("demo", DEMO_SEED, listed.report.end_date)
    quality = dict(zip(world.practices.ydernummer.tolist(), world.practices.quality.tolist()))
    annual = dict(listed.rows("""
        SELECT l.ydernummer, avg((l.cpr IN (SELECT cpr FROM contact WHERE ydelseskode = '0120'
                                             AND contact_ts >= DATE '2025-11-01'))::INT)
        FROM listed l WHERE l.cpr IN (SELECT cpr FROM diagnosis WHERE code IN ('T90', 'R95')) GROUP BY 1"""))
    foot = dict(listed.rows("""
        SELECT l.ydernummer, avg((l.cpr IN (SELECT cpr FROM measurement WHERE code = 'FODUNDERSOEGELSE'))::INT)
        FROM listed l WHERE l.cpr IN (SELECT cpr FROM diagnosis WHERE code = 'T90') GROUP BY 1"""))
    practices = sorted(annual)
    q = np.array([quality[p] for p in practices])
    a = np.array([annual[p] for p in practices])
    f = np.array([foot[p] for p in practices])
    rank = lambda x: np.argsort(np.argsort(x))
    assert np.corrcoef(rank(q), rank(a))[0, 1] > 0.6
    assert np.corrcoef(rank(q), rank(f))[0, 1] > 0.5
    assert np.corrcoef(rank(a), rank(f))[0, 1] > 0.4
    assert a.max() - a.min() > 0.2


def test_clusters_differ_in_quality():
    world = build_world("national", 3, listed_end(), patients=150_000)
    pr = world.practices
    clusters = np.unique(pr.cluster)
    assert len(clusters) >= 2
    logit = np.log(pr.quality / (1 - pr.quality))
    means = np.array([logit[pr.cluster == c].mean() for c in clusters])
    within = np.mean([logit[pr.cluster == c].var() for c in clusters])
    assert means.var() > 0.1 * within  # a clear cluster effect
    assert 0.6 <= pr.coding.min() and pr.coding.max() <= 0.98
    assert np.corrcoef(pr.quality, pr.coding)[0, 1] > 0.3


def listed_end():
    from kvalitetsplatform.synth.generator import default_end_date
    return default_end_date()


def test_deaths_and_moves_happen_at_plausible_rates(listed):
    people = listed.one("SELECT count(DISTINCT cpr) FROM patient")
    deaths = listed.one("SELECT count(DISTINCT cpr) FROM patient WHERE death_date IS NOT NULL")
    movers = listed.one("SELECT count(*) FROM (SELECT cpr FROM patient GROUP BY cpr HAVING count(DISTINCT ydernummer) > 1)")
    assert 0.015 < deaths / people < 0.045  # ≈ 1 % a year
    assert 0.05 < movers / people < 0.14  # ≈ 3.5 % a year


def test_survey_scores_and_comment_tone(listed):
    means = listed.rows("SELECT avg(item_01), avg(item_06), avg(item_20), count(*) FROM survey_response")[0]
    assert 4.2 < means[0] < 4.75 and means[1] > means[2] and means[3] > 300
    assert listed.one("SELECT count(*) FROM survey_response WHERE item_17 IS NULL") > 0
    # Complaints (not the mild suggestions) come from the respondents who scored the practice low.
    complaints = [text for texts in IMPROVE.values() for text in texts]
    listed.con.execute("CREATE OR REPLACE TEMP TABLE complaint AS SELECT unnest(?) AS text", [complaints])
    items = ", ".join(f"item_{i:02d}" for i in range(1, 24))
    rate = dict(listed.rows(f"""
        SELECT list_avg([{items}]) >= 4.3 AS happy,
               avg((EXISTS (SELECT 1 FROM complaint c WHERE starts_with(s.comment_improve, c.text)))::INT)
        FROM survey_response s GROUP BY 1"""))
    assert rate[False] > 0.2 and rate[True] < 0.02
    assert listed.one("SELECT count(DISTINCT comment_good) FROM survey_response") > 15
