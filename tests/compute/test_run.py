"""`kp compute` end to end: a synthetic population, ingested for real, computed, and every figure checked against
an independent calculation — the plain-Python oracle for practice figures and worklists, sums for the levels above,
scipy-free formulas for values and intervals — and an incremental run after one new delivery equal to a full run."""

from __future__ import annotations

import json
import math
import shutil
from collections import Counter, defaultdict
from dataclasses import replace
from datetime import date
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from kvalitetsplatform.compute import compute, describe_fact, results
from kvalitetsplatform.compute import run as run_module
from kvalitetsplatform.compute.periods import month_ends
from kvalitetsplatform.indicators import evaluate, load_catalogue
from kvalitetsplatform.indicators import model as m
from kvalitetsplatform.ingest import ingest
from kvalitetsplatform.settings import load_settings
from kvalitetsplatform.synth.generator import Options, synthesise

KEYS = {"KP_PSEUDONYM_KEY": "a" * 64, "KP_VAULT_KEY": "b" * 64, "KP_SESSION_SECRET": "c" * 64}
PERIODS = 4
CATALOGUE = load_catalogue()
INDICATORS = {i.id: i for p in CATALOGUE.packages for i in p.indicators}
RESULT_KEY = ("package", "indicator", "ref_date", "level", "unit", "stratum", "stratum_value")


def settings_for(home: Path):
    return load_settings({"KP_HOME": str(home), **KEYS})


@pytest.fixture(scope="module")
def deliveries(tmp_path_factory) -> tuple[list[Path], Path]:
    """A small synthetic population's deliveries, and one practice's last monthly delivery held back."""
    out = tmp_path_factory.mktemp("synth")
    synthesise(Options(out=out, scale="demo", patients=700, seed=11, workers=1))
    folders = sorted(p.parent for p in out.glob("*/*/manifest.json"))
    held_back = max(folders, key=lambda p: (p.name.split("-")[1], p.parent.name))
    return [f for f in folders if f != held_back], held_back


@pytest.fixture(scope="module")
def full(tmp_path_factory, deliveries):
    """Everything loaded, one full computation."""
    folders, held_back = deliveries
    settings = settings_for(tmp_path_factory.mktemp("full"))
    assert {r.status for r in ingest([*folders, held_back], settings)} == {"loaded"}
    report = compute(settings, periods=PERIODS)
    return settings, report


@pytest.fixture(scope="module")
def incremental(tmp_path_factory, deliveries, full):
    """All but one delivery computed, then that delivery loaded and computed incrementally — for the full run's
    months (without the held-back delivery the data would end a month earlier, and the newest month be new)."""
    folders, held_back = deliveries
    end = full[1].ref_dates[-1]
    settings = settings_for(tmp_path_factory.mktemp("incremental"))
    assert {r.status for r in ingest(folders, settings)} == {"loaded"}
    first = compute(settings, periods=PERIODS, end=end)
    assert {r.status for r in ingest([held_back], settings)} == {"loaded"}
    # the small population has one practice, which a partial run would otherwise widen to every practice
    limit, run_module.PARTIAL_LIMIT = run_module.PARTIAL_LIMIT, 1.0
    try:
        second = compute(settings, periods=PERIODS, end=end)
    finally:
        run_module.PARTIAL_LIMIT = limit
    return settings, first, second, held_back


def warehouse_rows(settings) -> dict[str, list[dict]]:
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        tables = {}
        for name in ("listing", "practice_period", "diagnosis", "lab_result", "measurement", "prescription",
                     "contact", "chronic_enrolment", "hospital_admission", "survey_response"):
            cur = con.execute(f"SELECT * FROM {name}")
            columns = [d[0] for d in cur.description]
            tables[name] = [dict(zip(columns, row)) for row in cur.fetchall()]
        return tables
    finally:
        con.close()


def result_rows(settings, **where) -> list[dict]:
    store = results(settings)
    try:
        r = store.result
        for column, value in where.items():
            r = r.filter(r[column] == value)
        return r.to_pyarrow().to_pylist()
    finally:
        store.close()


def test_the_run_covers_every_package_and_period(full):
    settings, report = full
    assert report.mode == "full"
    assert len(report.ref_dates) == PERIODS and report.ref_dates == month_ends(report.ref_dates[-1], PERIODS)
    assert set(report.packages) == {p.id for p in CATALOGUE.packages}
    rows = result_rows(settings, level="national", stratum="all")
    assert {(r["indicator"], r["ref_date"]) for r in rows} == {(i, d) for i in INDICATORS for d in report.ref_dates}


def test_practice_figures_equal_the_oracle(full):
    settings, report = full
    tables = warehouse_rows(settings)
    rows = result_rows(settings, level="practice", stratum="all")
    got = {(r["indicator"], r["ref_date"], r["unit"]): (r["numerator"], r["denominator"]) for r in rows}
    for ref in (report.ref_dates[0], report.ref_dates[-1]):
        for indicator in INDICATORS.values():
            want = evaluate.practice_results(indicator, tables, ref)
            for practice, totals in want.items():
                assert got[(indicator.id, ref, practice)] == (totals.numerator, totals.denominator), (
                    indicator.id, ref, practice)


def test_levels_are_sums_of_practices_and_strata_add_up(full):
    settings, report = full
    rows = result_rows(settings)
    by = defaultdict(lambda: [0.0, 0.0])
    for r in rows:
        by[(r["indicator"], r["ref_date"], r["level"], r["unit"], r["stratum"], r["stratum_value"])] = \
            [r["numerator"], r["denominator"]]
    store = results(settings)
    membership = store.practice_membership.to_pyarrow().to_pylist()
    store.close()
    cluster_of = {(m_["ref_date"], m_["ydernummer"]): m_["cluster_id"] for m_ in membership}
    sums = defaultdict(lambda: [0.0, 0.0])
    for r in rows:
        if r["level"] == "practice":
            for level, unit in (("cluster", cluster_of[(r["ref_date"], r["unit"])]), ("national", "DK")):
                s = sums[(r["indicator"], r["ref_date"], level, unit, r["stratum"], r["stratum_value"])]
                s[0] += r["numerator"]
                s[1] += r["denominator"]
        if r["level"] == "municipality":
            s = sums[(r["indicator"], r["ref_date"], "national-by-municipality", "DK", r["stratum"],
                      r["stratum_value"])]
            s[0] += r["numerator"]
            s[1] += r["denominator"]
    for key, (num, den) in sums.items():
        level = key[2]
        target = (*key[:2], "national" if level == "national-by-municipality" else level, *key[3:])
        assert by[target] == [num, den], key
    for (ind, ref, level, unit, stratum, value), (num, den) in list(by.items()):
        if stratum == "all" and INDICATORS[ind].kind != "mean":
            for split in ("age", "sex"):
                parts = [v for k, v in by.items() if k[:4] == (ind, ref, level, unit) and k[4] == split]
                assert [sum(p[0] for p in parts), sum(p[1] for p in parts)] == [num, den], (ind, ref, level, unit)


def test_every_practice_has_every_period_zero_filled(full):
    settings, report = full
    rows = result_rows(settings, level="practice", stratum="all")
    practices = {r["unit"] for r in rows}
    counts = defaultdict(int)
    for r in rows:
        counts[(r["indicator"], r["ref_date"])] += 1
        if r["denominator"] == 0:
            assert r["value"] is None and r["ci_low"] is None and r["percentile"] is None
    assert set(counts.values()) == {len(practices)}
    assert len(counts) == len(INDICATORS) * PERIODS


def _wilson(x: float, n: float) -> tuple[float, float]:
    z = 1.959963984540054
    p = x / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (0.0 if x == 0 else centre - half), (1.0 if x == n else centre + half)


def test_values_intervals_and_targets(full):
    settings, _ = full
    for r in result_rows(settings, stratum="all"):
        if not r["denominator"]:
            continue
        indicator = INDICATORS[r["indicator"]]
        measure = indicator.measure
        ratio = r["numerator"] / r["denominator"]
        if isinstance(measure, m.EventRate):
            assert r["value"] == pytest.approx(ratio * measure.per * 12 / measure.events.window.months)
            assert r["ci_low"] <= r["value"] <= r["ci_high"]
        elif indicator.kind == "proportion":
            assert r["value"] == pytest.approx(ratio)
            low, high = _wilson(r["numerator"], r["denominator"])
            assert (r["ci_low"], r["ci_high"]) == (pytest.approx(low), pytest.approx(high))
        else:
            assert r["value"] == pytest.approx(ratio)
            assert r["ci_low"] is None or r["ci_low"] <= r["value"] <= r["ci_high"]
        expected = indicator.standard.met(r["value"]) if indicator.standard else None
        assert r["target_met"] == expected, (r["indicator"], r["value"], indicator.standard)


def test_percentiles_and_cluster_ranks(full):
    settings, report = full
    rows = result_rows(settings, level="practice", stratum="all", ref_date=report.ref_dates[-1])
    by_indicator = defaultdict(list)
    for r in rows:
        by_indicator[r["indicator"]].append(r)
    for ind, practices in by_indicator.items():
        valued = [r for r in practices if r["value"] is not None]
        for r in valued:
            below = sum(1 for o in valued if o["value"] < r["value"])
            want = 100 * below / (len(valued) - 1) if len(valued) > 1 else 0.0
            assert r["percentile"] == pytest.approx(want), ind
            same_cluster = [o for o in valued if o["cluster_id"] == r["cluster_id"]]
            sign = 1 if INDICATORS[ind].direction == "lower_is_better" else -1
            better = sum(1 for o in same_cluster if sign * o["value"] < sign * r["value"])
            assert (r["cluster_rank"], r["cluster_practices"]) == (better + 1, len(same_cluster)), ind


def test_worklist_flags_equal_the_oracle(full):
    settings, report = full
    tables = warehouse_rows(settings)
    latest = report.ref_dates[-1]
    store = results(settings)
    flags = store.patient_flag.to_pyarrow().to_pylist()
    store.close()
    assert {f["ref_date"] for f in flags} == {latest}
    got = {(f["indicator"], f["ydernummer"], f["patient_key"]): f for f in flags}
    records = {r.key: r for r in evaluate.patient_records(tables)}
    for indicator in INDICATORS.values():
        if indicator.kind == "mean":
            continue
        counts_events = isinstance(indicator.measure, (m.EventRate, m.EventProportion))
        for o in evaluate.patient_outcomes(indicator, tables, latest):
            key = (indicator.id, o.ydernummer, o.patient_key)
            in_population = evaluate.holds(indicator.population, records[o.patient_key], latest) and not (
                indicator.exclusions is not None and evaluate.holds(indicator.exclusions, records[o.patient_key],
                                                                    latest))
            # a rate's worklist holds the patients with a counted event, an event proportion's those with an event
            # in its denominator; a patient proportion's every population patient
            events = o.numerator if isinstance(indicator.measure, m.EventRate) else o.denominator
            listed = in_population and (not counts_events or events > 0)
            assert (key in got) == listed, key
            if listed:
                f = got[key]
                assert (f["numerator"], f["denominator"]) == (o.numerator, o.denominator), key
                assert f["in_numerator"] == (o.numerator > 0)
                if indicator.fact is not None:
                    want = evaluate.fact(indicator.fact, records[o.patient_key], latest)
                    assert (f["fact_date"], f["fact_code"]) == ((want["date"], want["code"]) if want else
                                                                (None, None)), key
                    assert describe_fact(f, indicator)


def test_provenance(full):
    settings, report = full
    store = results(settings)
    run = store.latest_run()
    indicators = store.indicator.to_pyarrow().to_pylist()
    store.close()
    import json

    assert run["run_id"] == report.run_id and run["status"] == "done" and run["mode"] == "full"
    assert json.loads(run["packages"]) == {p.id: p.version for p in CATALOGUE.packages}
    assert json.loads(run["codelists"])["ihd"] and all("@" in c for c in json.loads(run["codelists"])["ihd"])
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    loaded = sorted(r[0] for r in con.execute("SELECT id FROM delivery WHERE status = 'loaded'").fetchall())
    con.close()
    assert json.loads(run["deliveries"]) == loaded
    assert {i["indicator"] for i in indicators} == set(INDICATORS)
    assert {i["run_id"] for i in indicators} == {report.run_id}


def _comparable(settings) -> dict:
    return {tuple(r[k] for k in RESULT_KEY): {k: v for k, v in r.items() if k != "run_id"}
            for r in result_rows(settings)}


def test_incremental_after_one_delivery_equals_a_full_run(full, incremental):
    settings, first, second, held_back = incremental
    assert first.mode == "full" and second.mode == "incremental"
    practice = held_back.parent.name
    assert second.new_deliveries == [held_back.name]
    for work in second.packages.values():
        assert work["full_dates"] == [] and work["partial_dates"] == [second.ref_dates[-1].isoformat()]
        assert 1 <= work["practices"] < 13
    store = results(settings)
    cells = store.cell.to_pyarrow().to_pylist()
    store.close()
    recomputed = {c["ydernummer"] for c in cells if c["run_id"] == second.run_id}
    assert practice in recomputed and len(recomputed) < 13
    assert all(c["ref_date"] == second.ref_dates[-1] for c in cells if c["run_id"] == second.run_id)
    assert _comparable(settings) == _comparable(full[0])


def _flags(settings) -> Counter:
    store = results(settings)
    try:
        rows = store.patient_flag.drop("run_id").to_pyarrow().to_pylist()
    finally:
        store.close()
    return Counter(tuple(sorted(r.items())) for r in rows)


def test_kept_plans_are_reused_and_give_the_figures_of_building_them(tmp_path, full, incremental):
    """Each evaluation's SQL is kept; a later run of the same kind runs it instead of building the expressions
    again (a month's run after a practice's delivery, a full run), and its figures are those of building it."""
    settings, first, second, held_back = incremental
    # built and kept: every date for everyone and the newest date's flags; then the first run limited to practices
    assert first.plans == {"reused": 0, "recorded": 2, "refused": 0}
    assert second.plans == {"reused": 0, "recorded": 1, "refused": 0}
    # the practice corrects its delivery: the same kind of run again, now from the kept plan
    correction = tmp_path / f"{held_back.name}-r2"
    shutil.copytree(held_back, correction)
    manifest = json.loads((correction / "manifest.json").read_text(encoding="utf-8"))
    manifest.update(delivery_id=correction.name, extract_ts="2099-01-01 00:00:00")
    (correction / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    assert [r.status for r in ingest([correction], settings)] == ["loaded"]
    end = second.ref_dates[-1]
    limit, run_module.PARTIAL_LIMIT = run_module.PARTIAL_LIMIT, 1.0
    try:
        third = compute(settings, periods=PERIODS, end=end)
    finally:
        run_module.PARTIAL_LIMIT = limit
    assert third.mode == "incremental" and correction.name in third.new_deliveries
    assert third.plans == {"reused": 1, "recorded": 0, "refused": 0}
    assert _comparable(settings) == _comparable(full[0])
    assert _flags(settings) == _flags(full[0])
    again = compute(settings, periods=PERIODS, end=end, full=True)
    assert again.plans == {"reused": 2, "recorded": 0, "refused": 0}
    assert _comparable(settings) == _comparable(full[0])
    assert _flags(settings) == _flags(full[0])


def test_a_run_without_changes_changes_nothing(incremental):
    settings = incremental[0]
    before = _comparable(settings)
    report = compute(settings, periods=PERIODS, end=incremental[2].ref_dates[-1])
    assert report.mode == "unchanged"
    assert all(not w["full_dates"] and not w["partial_dates"] for w in report.packages.values())
    assert _comparable(settings) == before


def test_a_changed_definition_is_recomputed_in_full(incremental):
    settings = incremental[0]
    ihd = next(p for p in CATALOGUE.packages if p.id == "ihd")
    changed = replace(ihd, version=ihd.version + "-test")
    end = incremental[2].ref_dates[-1]
    report = compute(settings, periods=PERIODS, end=end, packages=[changed])
    assert report.packages["ihd"]["reason"] == "definitionen er ændret"
    assert len(report.packages["ihd"]["full_dates"]) == PERIODS
    compute(settings, periods=PERIODS, end=end, packages=[ihd])  # back to the shipped definition


def test_cli_compute_and_results(full):
    from kvalitetsplatform.cli.main import app

    settings, report = full
    runner = CliRunner()
    env = {"KP_HOME": str(settings.home), **KEYS}
    done = runner.invoke(app, ["compute", "--periods", str(PERIODS), "--json"], env=env)
    assert done.exit_code == 0, done.output
    shown = runner.invoke(app, ["results", "--indicator", "IHD-1", "--level", "practice", "--json"], env=env)
    assert shown.exit_code == 0, shown.output
    import json

    rows = json.loads(shown.output)
    assert rows and {r["indicator"] for r in rows} == {"IHD-1"}
    table = runner.invoke(app, ["results", "--level", "national"], env=env)
    assert table.exit_code == 0 and "landet" in table.output
    bad = runner.invoke(app, ["results", "--level", "county"], env=env)
    assert bad.exit_code == 2 and "--level" in bad.output
