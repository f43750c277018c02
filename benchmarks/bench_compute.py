"""Benchmark `kp compute` on a national warehouse against the targets (issue 3 §5, ARCHITECTURE.md): every package
× 36 monthly reference dates × all org levels and strata in ≤ 5 min and ≤ 16 GiB; within 1.5× of hand-written DuckDB
SQL for the same few indicators, run side by side; an incremental recompute after one practice's monthly delivery in
≤ 30 s.

    .venv/bin/python benchmarks/fabricate.py --home /tmp/kpnat        # or a KP_HOME after `kp synth` + `kp ingest`
    .venv/bin/python benchmarks/bench_compute.py --home /tmp/kpnat

Phases (each in its own process, so peak memory is the phase's own):
- `side-by-side`: IHD-1 (statin), IHD-3 (latest LDL < 1.8), DM-1a (latest HbA1c < 59) and AB-1 (antibiotic
  prescriptions per 1,000) for 36 dates, once through the engine and once as hand-written SQL, both producing the
  same cells (practice × date × municipality × age band × sex: what every level and stratum is added up from), and
  the two compared cell by cell.
- `full`: `compute(full=True)` — every package, every date, every level, stratum and the worklist flags.
- `incremental`: one practice's monthly delivery arrives (`--delivery DIR` ingests a real one; otherwise a delivery
  of new lab results for the newest month is written into the warehouse), then `compute()` brings the results up to
  date — twice, each in its own process: the first run of its kind after a change of definitions or code builds
  and compiles the evaluation's SQL and keeps it, the next runs it again (`compute.plans`); the report says which.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

TARGETS = {"full": 300.0, "incremental": 30.0}
TARGET_BYTES = 16 * 2**30
SIDE_BY_SIDE = ("IHD-1", "IHD-3", "DM-1a", "AB-1")
PERIODS = 36
THREADS = 2
MEMORY = "12GB"


def _settings(home: Path):
    from kvalitetsplatform.settings import load_settings

    return load_settings({"KP_HOME": str(home)})


def _peak() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


# --- hand-written SQL ------------------------------------------------------------------------------------------------


def _codes(codelist) -> str:
    """A codelist as a SQL condition on `code` (and `code_system` where the table holds several systems)."""
    tests = []
    for c in codelist.codes:
        test = f"code LIKE '{c.code}%'" if codelist.match == "prefix" else f"code = '{c.code}'"
        tests.append(f"(code_system = '{c.system}' AND {test})")
    return "(" + " OR ".join(tests) + ")"


def _atc(codelist) -> str:
    assert codelist.match == "prefix"
    return "(" + " OR ".join(f"atc LIKE '{c.code}%'" for c in codelist.codes) + ")"


def hand_written_sql(packages: dict, dates: list[date]) -> dict[str, str]:
    """The same four indicators the way an analyst would write them in DuckDB SQL: one query each, from the
    warehouse tables to cells. The codes come from the packages' codelists (the lists, not the logic)."""
    ihd, t2d = packages["ihd"].codelists, packages["t2d"].codelists
    abx = packages["antibiotics"].codelists
    refs = "SELECT unnest([" + ", ".join(f"DATE '{d.isoformat()}'" for d in dates) + "]) AS ref_date"
    listed = f"""
        persons AS (SELECT patient_key, arg_max(birth_date, list_start) AS birth_date,
                           arg_max(sex, list_start) AS sex, max(death_date) AS death_date
                    FROM listing GROUP BY patient_key),
        refs AS ({refs}),
        listed AS (
            SELECT l.ydernummer, l.patient_key, r.ref_date, l.kommune_code, p.sex,
                   date_diff('year', p.birth_date, r.ref_date)
                   - CASE WHEN strftime(r.ref_date, '%m%d') < strftime(p.birth_date, '%m%d') THEN 1 ELSE 0 END AS age
            FROM listing l JOIN persons p USING (patient_key)
            JOIN refs r ON l.list_start <= r.ref_date
                       AND (l.list_end IS NULL OR l.list_end >= r.ref_date)
                       AND (p.death_date IS NULL OR p.death_date > r.ref_date))"""
    band = """CASE WHEN age < 18 THEN '0-17' WHEN age < 40 THEN '18-39' WHEN age < 60 THEN '40-59'
                   WHEN age < 70 THEN '60-69' WHEN age < 80 THEN '70-79' ELSE '80+' END"""

    def proportion(diagnoses: list, numerator: str, exclusion=None) -> str:
        ever = " OR ".join(_codes(c) for c in diagnoses)
        excluded = (f"AND NOT EXISTS (SELECT 1 FROM diagnosis x WHERE x.patient_key = d.patient_key AND "
                    f"x.recorded_date <= d.ref_date AND {_codes(exclusion).replace('code', 'x.code')})"
                    if exclusion is not None else "")
        return f"""WITH {listed},
            first_diagnosis AS (SELECT patient_key, min(recorded_date) AS first_day FROM diagnosis
                                WHERE {ever} GROUP BY patient_key),
            denominator AS (
                SELECT l.* FROM listed l JOIN first_diagnosis f USING (patient_key)
                WHERE l.age >= 18 AND f.first_day <= l.ref_date),
            d AS (SELECT * FROM denominator d WHERE TRUE {excluded}),
            numerator AS ({numerator})
            SELECT ydernummer, ref_date, kommune_code, {band} AS age_band, sex,
                   count(n.patient_key)::DOUBLE AS numerator, count(*)::DOUBLE AS denominator
            FROM d LEFT JOIN numerator n USING (patient_key, ref_date)
            GROUP BY ALL"""

    def latest_below(codelist, limit: float) -> str:
        return f"""SELECT d.patient_key, d.ref_date FROM d JOIN (
                       SELECT patient_key, sampled_ts, sampled_date, value_num FROM lab_result
                       WHERE {_codes(codelist)} AND value_num IS NOT NULL) x
                   ON x.patient_key = d.patient_key AND x.sampled_date <= d.ref_date
                      AND x.sampled_date > d.ref_date - INTERVAL 12 MONTH
                   QUALIFY row_number() OVER (PARTITION BY d.patient_key, d.ref_date
                                              ORDER BY x.sampled_ts DESC, x.value_num DESC) = 1
                       AND x.value_num < {limit}"""

    statin = f"""SELECT DISTINCT d.patient_key, d.ref_date FROM d JOIN prescription p
                     ON p.patient_key = d.patient_key AND p.prescribed_date <= d.ref_date
                        AND p.prescribed_date > d.ref_date - INTERVAL 12 MONTH
                 WHERE {_atc(ihd['lipid_lowering']).replace('atc', 'p.atc')}"""
    return {
        "IHD-1": proportion([ihd["ihd"], ihd["ihd_hospital"]], statin),
        "IHD-3": proportion([ihd["ihd"], ihd["ihd_hospital"]], latest_below(ihd["ldl"], 1.8)),
        "DM-1a": proportion([t2d["t2d"], t2d["t2d_hospital"]], latest_below(t2d["hba1c"], 59), t2d["t1d"]),
        "AB-1": f"""WITH {listed},
            events AS (
                SELECT l.ydernummer, l.patient_key, l.ref_date, count(*) AS n FROM listed l JOIN prescription p
                    ON p.patient_key = l.patient_key AND p.prescribed_date <= l.ref_date
                       AND p.prescribed_date > l.ref_date - INTERVAL 12 MONTH
                WHERE {_atc(abx['antibiotics']).replace('atc', 'p.atc')}
                GROUP BY ALL)
            SELECT l.ydernummer, l.ref_date, l.kommune_code, {band} AS age_band, l.sex,
                   coalesce(sum(e.n), 0)::DOUBLE AS numerator, count(*)::DOUBLE AS denominator
            FROM listed l LEFT JOIN events e USING (ydernummer, patient_key, ref_date)
            GROUP BY ALL""",
    }


# --- phases ----------------------------------------------------------------------------------------------------------


def side_by_side(home: Path) -> dict:
    import duckdb
    import ibis

    from kvalitetsplatform.compute.periods import month_ends, previous_month_end
    from kvalitetsplatform.indicators import load_catalogue
    from kvalitetsplatform.indicators.engine import Evaluation, Warehouse

    settings = _settings(home)
    catalogue = load_catalogue()
    packages = {p.id: p for p in catalogue.packages}
    indicators = [i for p in catalogue.packages for i in p.indicators if i.id in SIDE_BY_SIDE]
    raw = duckdb.connect(str(settings.warehouse_path), read_only=True,
                         config={"threads": THREADS, "memory_limit": MEMORY})
    last = raw.execute("SELECT max(period_end) FROM delivery WHERE status = 'loaded'").fetchone()[0]
    dates = month_ends(previous_month_end(last), PERIODS)
    out: dict = {"dates": [dates[0].isoformat(), dates[-1].isoformat()]}

    started = time.perf_counter()
    con = ibis.duckdb.from_connection(raw)
    engine_cells = {}
    with Evaluation(Warehouse(con), dates, indicators) as ev:
        for ind in indicators:
            t = time.perf_counter()
            engine_cells[ind.id] = ev.cells(ind).to_pyarrow()
            out[f"engine {ind.id}"] = time.perf_counter() - t
    out["engine"] = time.perf_counter() - started

    started = time.perf_counter()
    sql_cells = {}
    for ind_id, sql in hand_written_sql(packages, dates).items():
        t = time.perf_counter()
        sql_cells[ind_id] = raw.execute(sql).fetch_arrow_table()
        out[f"sql {ind_id}"] = time.perf_counter() - t
    out["sql"] = time.perf_counter() - started
    out["ratio"] = out["engine"] / out["sql"]

    def totals(table) -> dict:
        got: dict = {}
        for r in table.to_pylist():
            k = (r["ydernummer"], r["ref_date"], r["kommune_code"], r["age_band"], r["sex"])
            n, d = got.get(k, (0.0, 0.0))
            got[k] = (n + r["numerator"], d + r["denominator"])
        return {k: v for k, v in got.items() if v != (0.0, 0.0)}

    out["agree"] = {}
    for ind_id in SIDE_BY_SIDE:
        a, b = totals(engine_cells[ind_id]), totals(sql_cells[ind_id])
        out["agree"][ind_id] = {"cells": len(a), "differing": sum(1 for k in a.keys() | b.keys()
                                                                  if a.get(k) != b.get(k))}
    out["peak_bytes"] = _peak()
    return out


def full(home: Path) -> dict:
    from kvalitetsplatform.compute import compute

    started = time.perf_counter()
    report = compute(_settings(home), periods=PERIODS, full=True)
    return {"seconds": time.perf_counter() - started, "mode": report.mode, "timings": report.timings,
            "indicators": sum(len(p["full_dates"]) > 0 for p in report.packages.values()),
            "peak_bytes": _peak()}


def _fake_delivery(home: Path) -> str:
    """One practice's monthly delivery of new lab results for the newest month, written as ingestion would."""
    from kvalitetsplatform.warehouse import open_for_loading

    con = open_for_loading(_settings(home))
    try:
        practice, last = con.execute("SELECT ydernummer, period_end FROM delivery WHERE status = 'loaded' "
                                     "ORDER BY period_end DESC, ydernummer LIMIT 1").fetchone()
        start = date(last.year, last.month, 1)
        delivery = f"bench-{practice}-{int(time.time())}"
        con.execute("BEGIN")
        con.execute("""INSERT INTO delivery BY NAME SELECT ? AS id, ? AS ydernummer, 'XMO' AS vendor,
                       now()::TIMESTAMP AS extract_ts, ? AS period_start, ? AS period_end, '1.0' AS contract_version,
                       'loaded' AS status, now() AS loaded_at, 'bench_compute' AS source""",
                    [delivery, practice, start, last])
        con.execute("""INSERT INTO lab_result BY NAME
                       SELECT * REPLACE (? AS delivery_id, lab_id || '-b' AS lab_id,
                                         sampled_ts + INTERVAL 1 DAY AS sampled_ts,
                                         sampled_date + 1 AS sampled_date)
                       FROM lab_result WHERE ydernummer = ? AND sampled_date BETWEEN ? AND ? - 1""",
                    [delivery, practice, start, last])
        con.execute("COMMIT")
    finally:
        con.close()
    return delivery


def incremental(home: Path, delivery: Path | None) -> dict:
    from kvalitetsplatform.compute import compute

    settings = _settings(home)
    t = time.perf_counter()
    if delivery is not None:
        from bench_monthly import correction_of

        from kvalitetsplatform.ingest import ingest

        status = [r.status for r in ingest([correction_of(delivery)], settings)]  # repeatable: a correction
        what = f"{delivery.name}: {status}"
    else:
        what = _fake_delivery(home)
    loaded = time.perf_counter() - t
    started = time.perf_counter()
    report = compute(settings, periods=PERIODS)
    return {"seconds": time.perf_counter() - started, "delivery": what, "load_seconds": loaded,
            "mode": report.mode, "work": {k: v["reason"] for k, v in report.packages.items()},
            "timings": report.timings, "plans": report.plans, "peak_bytes": _peak()}


# --- driver ----------------------------------------------------------------------------------------------------------


def _run_phase(name: str, args: argparse.Namespace) -> dict:
    cmd = [sys.executable, __file__, "--home", str(args.home), "--phase", name, "--child"]
    if args.delivery:
        cmd += ["--delivery", str(args.delivery)]
    t = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"fasen {name} fejlede:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["wall"] = time.perf_counter() - t
    return result


def _gib(n: int) -> str:
    return f"{n / 2**30:.2f} GiB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, required=True, help="KP_HOME holding a (national) warehouse")
    parser.add_argument("--phase", choices=("side-by-side", "full", "incremental"), action="append",
                        help="run only this phase (repeatable); default all three")
    parser.add_argument("--delivery", type=Path, help="a held-back monthly delivery to ingest for `incremental`")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    phases = args.phase or ["side-by-side", "full", "incremental"]
    if args.child:  # one phase in its own process, JSON on the last line
        name = phases[0]
        result = (side_by_side(args.home) if name == "side-by-side" else full(args.home) if name == "full"
                  else incremental(args.home, args.delivery))
        print(json.dumps(result, default=str))
        return
    import duckdb

    from kvalitetsplatform.settings import load_settings

    wh = duckdb.connect(str(load_settings({"KP_HOME": str(args.home)}).warehouse_path), read_only=True)
    size = {t: wh.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in ("listing", "diagnosis", "lab_result", "prescription", "contact")}
    practices = wh.execute("SELECT count(DISTINCT ydernummer) FROM practice_period").fetchone()[0]
    wh.close()
    print(f"Datavarehus {args.home}: {practices:,} praksis, " + ", ".join(f"{t} {n:,}" for t, n in size.items()))
    for name in phases:
        for r in ([_run_phase(name, args), _run_phase(name, args)] if name == "incremental" else
                  [_run_phase(name, args)]):
            _print(name, r)


def _print(name: str, r: dict) -> None:
    if name == "side-by-side":
        print(f"\n== Side om side: {', '.join(SIDE_BY_SIDE)} × {PERIODS} datoer ({r['dates'][0]} … {r['dates'][1]})")
        for ind in SIDE_BY_SIDE:
            a = r["agree"][ind]
            print(f"  {ind:6s} motor {r[f'engine {ind}']:7.1f} s   håndskrevet SQL {r[f'sql {ind}']:7.1f} s   "
                  f"{a['cells']:,} celler, {a['differing']} forskellige")
        print(f"  i alt  motor {r['engine']:7.1f} s   håndskrevet SQL {r['sql']:7.1f} s   "
              f"forhold {r['ratio']:.2f} (mål ≤ 1,5)   top {_gib(r['peak_bytes'])}")
    elif name == "full":
        print(f"\n== Fuld beregning: alle pakker × {PERIODS} datoer × alle niveauer")
        print(f"  {r['seconds']:.1f} s (mål ≤ {TARGETS['full']:.0f} s), top {_gib(r['peak_bytes'])} "
              f"(mål ≤ {_gib(TARGET_BYTES)})")
        print("  " + ", ".join(f"{k} {v:.1f} s" for k, v in r["timings"].items()))
    else:
        print(f"\n== Inkrementel efter én praksis' månedslevering ({r['delivery']}, indlæst på "
              f"{r['load_seconds']:.1f} s)")
        print(f"  {r['seconds']:.1f} s (mål ≤ {TARGETS['incremental']:.0f} s), tilstand {r['mode']}, "
              f"top {_gib(r['peak_bytes'])}; planer genbrugt {r['plans']['reused']}, "
              f"bygget {r['plans']['recorded']}")
        print("  " + ", ".join(f"{k} {v:.1f} s" for k, v in r["timings"].items()))
        reasons = sorted(set(r["work"].values()))
        print(f"  arbejde: {'; '.join(reasons)}")


if __name__ == "__main__":
    main()
