"""A crude national-scale warehouse made directly with DuckDB SQL, for benchmarking the compute engine only.

This is not the synthetic population (`kp synth` makes that, with realistic care): it fills the warehouse tables
with the *shape and volume* of the national data — 5.9 M patients at 1,575 practices in 116 clusters, ~47 M lab
results, ~35 M prescriptions, moves, deaths, chronic diseases with their labs, drugs and contacts — in a minute,
so the engine can be timed when a synthesised and ingested national warehouse is not at hand. Codes are taken
from the shipped codelists' code systems so every indicator has something to count.

    .venv/bin/python benchmarks/fabricate.py --home /tmp/kpnat --patients 5900000
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from kvalitetsplatform.settings import load_settings
from kvalitetsplatform.warehouse import open_for_loading

PRACTICES = 1575
CLUSTERS = 116
FIRST_DAY = "2023-11-01"  # three years of facts before the end date
END_DAY = "2026-10-31"
DAYS = 1095

# Diseases: (ICPC code, share of patients, salt)
DISEASES = (("K74", 0.015, 11), ("K76", 0.025, 12), ("T90", 0.06, 13), ("R95", 0.035, 14), ("K86", 0.16, 15),
            ("P70", 0.012, 16), ("P76", 0.05, 17), ("P74", 0.04, 18), ("T89", 0.005, 19), ("K77", 0.015, 20),
            ("K78", 0.02, 21), ("R96", 0.06, 22))


def u(i: str, salt: int) -> str:
    """A uniform number in [0, 1) from an integer expression and a salt."""
    return f"((hash({i} * 7919 + {salt}) % 1000003) / 1000003.0)"


def day(i: str, salt: int, span: int = DAYS, first: str = FIRST_DAY) -> str:
    return f"(DATE '{first}' + CAST(floor({u(i, salt)} * {span}) AS INTEGER))"


def fabricate(home: Path, patients: int, memory_limit: str = "10GB") -> dict[str, float]:
    settings = load_settings({"KP_HOME": str(home)})
    con = open_for_loading(settings, memory_limit=memory_limit)
    n = patients
    timings: dict[str, float] = {}

    def run(name: str, sql: str) -> None:
        started = time.perf_counter()
        con.execute(sql)
        timings[name] = time.perf_counter() - started

    kommuner = [r[0] for r in con.execute("SELECT kommune_code FROM municipality ORDER BY 1").fetchall()]
    kommune_region = dict(con.execute("SELECT kommune_code, region_code FROM municipality").fetchall())
    con.execute("CREATE OR REPLACE TEMP TABLE k AS SELECT * FROM (VALUES " +
                ",".join(f"({i}, '{k}', '{kommune_region[k]}')" for i, k in enumerate(kommuner)) +
                ") t(i, kommune_code, region_code)")
    run("practice_period", f"""
        INSERT INTO practice_period BY NAME
        SELECT lpad(CAST(100000 + p AS VARCHAR), 6, '0') AS ydernummer, DATE '2015-01-01' AS valid_from,
               NULL AS valid_to, 'Praksis ' || p AS name, k.region_code, k.kommune_code,
               'K' || k.region_code || '-' || lpad(CAST(p % {CLUSTERS} AS VARCHAR), 3, '0') AS cluster_id,
               'Klynge ' || (p % {CLUSTERS}) AS cluster_name, 'kompagniskab' AS practice_type, 2 AS n_gp,
               'XMO' AS lps_vendor, 'fab-' || p AS delivery_id
        FROM range({PRACTICES}) r(p) JOIN k ON k.i = p % {len(kommuner)}""")
    # One practice in a hundred changed cluster a year ago.
    run("practice_period_changes", f"""
        UPDATE practice_period SET valid_to = DATE '2025-10-31' WHERE CAST(ydernummer AS INTEGER) % 100 = 7;
        INSERT INTO practice_period BY NAME
        SELECT ydernummer, DATE '2025-11-01' AS valid_from, NULL AS valid_to, name, region_code, kommune_code,
               cluster_id || 'b' AS cluster_id, cluster_name, practice_type, n_gp, lps_vendor, delivery_id
        FROM practice_period WHERE CAST(ydernummer AS INTEGER) % 100 = 7""")
    con.execute(f"""CREATE OR REPLACE TEMP TABLE pat AS
        SELECT i, lpad(CAST(100000 + (hash(i * 31) % {PRACTICES}) AS VARCHAR), 6, '0') AS ydernummer,
               DATE '1921-01-01' + CAST(floor({u('i', 2)} * 37000) AS INTEGER) AS birth_date,
               CASE WHEN {u('i', 3)} < 0.5 THEN 'F' ELSE 'M' END AS sex,
               {u('i', 4)} < 0.10 AS moved,
               {day('i', 5)} AS move_day,
               CASE WHEN {u('i', 6)} < 0.03 THEN {day('i', 7)} END AS death_date,
               DATE '1995-01-01' + CAST(floor({u('i', 8)} * 10500) AS INTEGER) AS list_start
        FROM range({n}) r(i)""")
    run("listing", f"""
        INSERT INTO listing BY NAME
        SELECT p.ydernummer, i AS patient_key, birth_date, sex, pp.kommune_code, 1 AS sikringsgruppe,
               least(greatest(list_start, birth_date), DATE '{END_DAY}') AS list_start,
               CASE WHEN moved THEN move_day END AS list_end, death_date, 'fab' AS delivery_id
        FROM pat p JOIN practice_period pp ON pp.ydernummer = p.ydernummer AND pp.valid_to IS NULL;
        INSERT INTO listing BY NAME
        SELECT lpad(CAST(100000 + ((CAST(p.ydernummer AS INTEGER) - 100000 + 1 + i % 50) % {PRACTICES})
                         AS VARCHAR), 6, '0') AS ydernummer,
               i AS patient_key, birth_date, sex, '751' AS kommune_code, 1 AS sikringsgruppe,
               move_day + 1 AS list_start, NULL AS list_end, death_date, 'fab' AS delivery_id
        FROM pat p WHERE moved""")
    diseases = " UNION ALL ".join(
        f"SELECT i, '{code}' AS code FROM range({n}) r(i) WHERE {u('i', salt)} < {share}"
        for code, share, salt in DISEASES)
    con.execute(f"CREATE OR REPLACE TEMP TABLE disease AS {diseases}")
    run("diagnosis", f"""
        INSERT INTO diagnosis BY NAME
        SELECT d.i AS patient_key, pt.ydernummer, 'D' || d.i || d.code AS diagnosis_id,
               'ICPC2DK' AS code_system, d.code,
               DATE '2000-01-01' + CAST(floor({u('d.i', 30)} * 9800) AS INTEGER) AS recorded_date,
               'lps' AS source, 'active' AS status, 'fab' AS delivery_id
        FROM disease d JOIN pat pt ON pt.i = d.i;
        INSERT INTO diagnosis BY NAME
        SELECT i AS patient_key, lpad(CAST(100000 + (hash(i * 31) % {PRACTICES}) AS VARCHAR), 6, '0') AS ydernummer,
               'S' || i AS diagnosis_id, 'SKS' AS code_system, 'DI219' AS code, {day('i', 31)} AS recorded_date,
               'discharge_letter' AS source, 'active' AS status, 'fab' AS delivery_id
        FROM range({n}) r(i) WHERE {u('i', 32)} < 0.004""")

    lab_parts = []
    # (who, per patient, system, code, mean, sd, unit)
    labs = (
        ("SELECT i FROM disease WHERE code = 'T90'", 10, "NPU", "NPU27300", 55, 12, "mmol/mol"),
        ("SELECT DISTINCT i FROM disease WHERE code IN ('T90','K74','K76','K86')", 3, "NPU", "NPU01568", 2.3, 0.8,
         "mmol/L"),
        ("SELECT i FROM disease WHERE code = 'T90'", 2, "NPU", "NPU19661", 20, 30, "mg/g"),
        ("SELECT DISTINCT i FROM disease WHERE code IN ('T90','K86')", 3, "NPU", "NPU18016", 80, 20, "mL/min"),
        (f"SELECT i FROM range({n}) r(i)", 6, "NPU", "NPU02319", 140, 10, "mmol/L"),
    )
    for k, (who, per, system, code, mean, sd, unit) in enumerate(labs):
        lab_parts.append(f"""
            SELECT w.i AS patient_key, '{system}' AS code_system, '{code}' AS code,
                   round({mean} + {sd} * ({u('w.i * 97 + j', 40 + k)} + {u('w.i * 89 + j', 50 + k)} - 1) * 1.7, 1)
                       AS value_num,
                   '{unit}' AS unit, {day('w.i * 101 + j', 60 + k)} AS d, (j * 7 + {k}) % 24 AS h
            FROM ({who}) w, range({per}) s(j)""")
    run("lab_result", f"""
        INSERT INTO lab_result BY NAME
        SELECT l.patient_key, pt.ydernummer, 'L' || l.patient_key || '.' || l.code || '.' || l.d || '.' || l.h AS lab_id, code_system, code, value_num,
               unit, d + INTERVAL (h) HOUR AS sampled_ts, d AS sampled_date, 'fab' AS delivery_id
        FROM ({' UNION ALL '.join(lab_parts)}) l JOIN pat pt ON pt.i = l.patient_key""")
    atc = [r[0] for r in con.execute("SELECT code FROM concept WHERE system = 'ATC' ORDER BY code").fetchall()]
    atc_list = "[" + ",".join(f"'{c}'" for c in atc) + "]"
    prescriptions = (
        ("SELECT DISTINCT i FROM disease WHERE code IN ('K74','K76')", 10, "'C10AA05'", 0.8),
        ("SELECT DISTINCT i FROM disease WHERE code IN ('K74','K76')", 8, "'B01AC06'", 0.8),
        ("SELECT i FROM disease WHERE code = 'K86'", 10, "'C09AA05'", 0.75),
        ("SELECT i FROM disease WHERE code = 'T90'", 10, "'A10BA02'", 0.85),
        ("SELECT i FROM disease WHERE code = 'R95'", 8, "'R03BB04'", 0.6),
        ("SELECT i FROM disease WHERE code = 'P76'", 6, "'N06AB06'", 0.7),
        ("SELECT i FROM disease WHERE code = 'P70'", 4, "'N05AX08'", 0.25),
        (f"SELECT i FROM range({n}) r(i)", 1, "CASE WHEN u < 0.35 THEN 'J01CE02' ELSE 'J01CA04' END", 0.9),
        (f"SELECT i FROM range({n}) r(i) WHERE {u('i', 70)} < 0.3", 12, "atc_list[1 + CAST(floor(u * "
         f"{len(atc)}) AS INTEGER)]", 1.0),
        (f"SELECT i FROM range({n}) r(i) WHERE {u('i', 71)} < 0.04", 6, "'N05BA01'", 1.0),
        (f"SELECT i FROM range({n}) r(i) WHERE {u('i', 72)} < 0.04", 6, "'N02AX02'", 1.0),
    )
    parts = []
    for k, (who, per, code, share) in enumerate(prescriptions):
        parts.append(f"""
            SELECT patient_key, {code.replace("atc_list", atc_list)} AS atc, d FROM (
                SELECT w.i AS patient_key, {u('w.i * 13 + j', 80 + k)} AS u, {day('w.i * 17 + j', 90 + k)} AS d
                FROM ({who}) w, range({per}) s(j) WHERE {u('w.i', 100 + k)} < {share})""")
    run("prescription", f"""
        INSERT INTO prescription BY NAME
        SELECT r.patient_key, pt.ydernummer, 'R' || r.patient_key || '.' || r.atc || '.' || r.d AS prescription_id, d AS prescribed_date,
               r.atc, r.atc AS drug_name, 1 AS n_packs, 'fab' AS delivery_id
        FROM ({' UNION ALL '.join(parts)}) r JOIN pat pt ON pt.i = r.patient_key""")
    measurements = (
        ("SELECT DISTINCT i FROM disease WHERE code IN ('T90','K74','K76','K86')", 3, "DNK", "DNK05472", 138, 15,
         "mmHg"),
        ("SELECT DISTINCT i FROM disease WHERE code IN ('T90','K74','K76','K86')", 3, "DNK", "DNK05473", 82, 9,
         "mmHg"),
        ("SELECT i FROM disease WHERE code = 'R95'", 2, "MCS", "MCS88021", 2.5, 1, ""),
        ("SELECT i FROM disease WHERE code = 'R95'", 1, "MCS", "MCS88015", 2.1, 0.5, "L"),
        ("SELECT DISTINCT i FROM disease WHERE code IN ('R95','K74','K76')", 1, "KP", "RYGESTATUS", None, 0, ""),
        ("SELECT i FROM disease WHERE code = 'T90'", 1, "KP", "OJENUNDERSOEGELSE", None, 0, ""),
        ("SELECT i FROM disease WHERE code = 'T90'", 1, "KP", "FODUNDERSOEGELSE", None, 0, ""),
        (f"SELECT i FROM range({n}) r(i)", 1, "KP", "BMI", 26, 4, "kg/m2"),
    )
    parts = []
    for k, (who, per, system, code, mean, sd, unit) in enumerate(measurements):
        value = ("NULL" if mean is None else
                 f"round({mean} + {sd} * ({u('w.i * 7 + j', 110 + k)} + {u('w.i * 5 + j', 120 + k)} - 1) * 1.7, 0)")
        text = "CASE WHEN w.i % 3 = 0 THEN 'dagligryger' ELSE 'aldrig ryger' END" if code == "RYGESTATUS" else "NULL"
        parts.append(f"""
            SELECT w.i AS patient_key, '{system}' AS code_system, '{code}' AS code, {value} AS value_num,
                   {text} AS value_text, '{unit}' AS unit, {day('w.i * 19 + j', 130 + k)} AS d
            FROM ({who}) w, range({per}) s(j) WHERE {u('w.i * 3 + j', 140 + k)} < 0.85""")
    run("measurement", f"""
        INSERT INTO measurement BY NAME
        SELECT m.patient_key, pt.ydernummer, 'M' || m.patient_key || '.' || m.code || '.' || m.d AS measurement_id, code_system, code,
               value_num, value_text, NULLIF(unit, '') AS unit, d + INTERVAL 9 HOUR AS measured_ts, d AS measured_date,
               'fab' AS delivery_id
        FROM ({' UNION ALL '.join(parts)}) m JOIN pat pt ON pt.i = m.patient_key""")
    contacts = (
        (f"SELECT i FROM range({n}) r(i)", 8, "'0101'"),
        ("SELECT DISTINCT i FROM disease WHERE code IN ('T90','R95','K74','K76','K77','K78','R96')", 3, "'0120'"),
        ("SELECT DISTINCT i FROM disease WHERE code IN ('P76','P74')", 4, "'6101'"),
        ("SELECT i FROM disease WHERE code = 'R95'", 1, "'7113'"),
    )
    parts = []
    for k, (who, per, code) in enumerate(contacts):
        parts.append(f"""
            SELECT w.i AS patient_key, {code} AS ydelseskode, {day('w.i * 23 + j', 150 + k)} AS d
            FROM ({who}) w, range({per}) s(j) WHERE {u('w.i * 11 + j', 160 + k)} < 0.8""")
    run("contact", f"""
        INSERT INTO contact BY NAME
        SELECT c.patient_key, pt.ydernummer, 'C' || c.patient_key || '.' || c.ydelseskode || '.' || c.d AS contact_id,
               d + INTERVAL 10 HOUR AS contact_ts, d AS contact_date, ydelseskode, 'physical' AS channel,
               'fab' AS delivery_id
        FROM ({' UNION ALL '.join(parts)}) c JOIN pat pt ON pt.i = c.patient_key""")
    run("chronic_enrolment", f"""
        INSERT INTO chronic_enrolment BY NAME
        SELECT d.i AS patient_key, pt.ydernummer, 'E' || d.i || d.code AS enrolment_id,
               CASE d.code WHEN 'T90' THEN 'T2D' ELSE 'COPD' END AS condition,
               DATE '2018-01-01' + CAST(floor({u('d.i', 170)} * 3000) AS INTEGER) AS start_date,
               CASE WHEN {u('d.i', 171)} < 0.1 THEN {day('d.i', 172)} END AS end_date, 'fab' AS delivery_id
        FROM disease d JOIN pat pt ON pt.i = d.i WHERE d.code IN ('T90', 'R95') AND {u('d.i', 173)} < 0.6""")
    run("hospital_admission", f"""
        INSERT INTO hospital_admission BY NAME
        SELECT w.i AS patient_key, pt.ydernummer, 'H' || w.i || '.' || s.j AS admission_id,
               {day('w.i * 29 + j', 180)} AS admitted_date,
               CASE WHEN {u('w.i + j', 181)} < 0.3 THEN 'DJ441' ELSE 'DI219' END AS diagnosis_code,
               {u('w.i + j', 182)} < 0.7 AS acute, 'fab' AS delivery_id
        FROM (SELECT i FROM range({n}) r(i) WHERE {u('i', 183)} < 0.06) w, range(2) s(j)
        JOIN pat pt ON pt.i = w.i""")
    items = ", ".join(f"CASE WHEN {u('r * 37 + ' + str(j), 190 + j)} < 0.08 THEN NULL ELSE "
                      f"1 + CAST(floor(pow({u('r * 41 + ' + str(j), 220 + j)}, 0.5) * 5) AS INTEGER) END AS item_{j:02d}"
                      for j in range(1, 24))
    run("survey_response", f"""
        INSERT INTO survey_response BY NAME
        SELECT lpad(CAST(100000 + r % {PRACTICES} AS VARCHAR), 6, '0') AS ydernummer, 'S' || r AS response_id,
               CAST(year({day('r', 250)}) AS VARCHAR) AS wave, {day('r', 250)} AS answered_date, {items},
               'fab' AS delivery_id
        FROM range({PRACTICES * 180}) t(r)""")
    con.execute(f"""INSERT INTO delivery BY NAME
        SELECT 'fab-' || ydernummer AS id, ydernummer, 'XMO' AS vendor, TIMESTAMP '{END_DAY} 23:00:00' AS extract_ts,
               DATE '{FIRST_DAY}' AS period_start, DATE '{END_DAY}' AS period_end, '1.0' AS contract_version,
               'loaded' AS status, now() AS loaded_at, 'fabricate' AS source
        FROM practice_period WHERE valid_to IS NULL""")
    con.execute("CHECKPOINT")
    con.close()
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, required=True, help="KP_HOME to create the warehouse in (must be new)")
    parser.add_argument("--patients", type=int, default=5_900_000)
    args = parser.parse_args()
    if (args.home / "warehouse.duckdb").exists():
        raise SystemExit(f"{args.home}/warehouse.duckdb findes allerede")
    started = time.perf_counter()
    timings = fabricate(args.home, args.patients)
    for name, seconds in timings.items():
        print(f"{name:22s} {seconds:7.1f} s")
    print(f"{'total':22s} {time.perf_counter() - started:7.1f} s")


if __name__ == "__main__":
    main()
