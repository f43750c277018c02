"""What `kp synth` writes is a set of contract deliveries an ingest cannot tell from a real extract."""

from __future__ import annotations

import hashlib
import re
from datetime import date, timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from kvalitetsplatform.contract import CPR_PATTERN, TABLES
from kvalitetsplatform.contract.delivery import arrow_schema, read_manifest, sha256_of
from kvalitetsplatform.synth.generator import Options, SynthError, synthesise
from kvalitetsplatform.terminology import code_system


def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_same_seed_gives_byte_identical_files_whatever_the_number_of_workers(tmp_path):
    one = synthesise(Options(out=tmp_path / "a", scale="demo", patients=2_500, seed=5, workers=1))
    synthesise(Options(out=tmp_path / "b", scale="demo", patients=2_500, seed=5, workers=2))
    synthesise(Options(out=tmp_path / "c", scale="demo", patients=2_500, seed=6, workers=2))
    a, b, c = (_digest(tmp_path / x) for x in "abc")
    assert one.deliveries == 4 and len(a) > 50
    assert a == b
    assert a.keys() != c.keys() or a != c


def test_every_delivery_has_every_table_and_a_truthful_manifest(demo):
    folders = sorted(p.parent for p in demo.folder.glob("*/*/manifest.json"))
    assert len(folders) == 2 * demo.report.practices == 26
    for folder in folders:
        manifest = read_manifest(folder)
        assert {f.table for f in manifest.files} == set(TABLES)
        assert manifest.delivery_id == folder.name and manifest.ydernummer == folder.parent.name
        for entry in manifest.files:
            path = folder / entry.path
            assert sha256_of(path) == entry.sha256
            data = pq.read_table(path)
            assert data.num_rows == entry.rows
            schema = arrow_schema(TABLES[entry.table])
            # Parquet keeps timestamps in ms at the least; everything else is exactly the contract's schema.
            assert [(f.name, f.nullable) for f in data.schema] == [(f.name, f.nullable) for f in schema]
            assert data.cast(schema).schema.equals(schema), entry.table


def test_periods_are_months_1_to_35_then_month_36(demo):
    end = demo.report.end_date
    starts = set()
    for folder in demo.folder.glob("*/*"):
        m = read_manifest(folder)
        starts.add((m.period_start, m.period_end))
        assert m.extract_ts.date() == m.period_end
    month36 = end.replace(day=1)
    first = date(end.year - 3, end.month, 1) + timedelta(days=31)
    first = first.replace(day=1)
    assert starts == {(first, month36 - timedelta(days=1)), (month36, end)}
    # Facts fall in their delivery's period; the problem list of the first delivery carries its history.
    for table, column in (("contact", "contact_ts"), ("lab_result", "sampled_ts"), ("prescription", "prescribed_date"),
                          ("measurement", "measured_ts"), ("journal_note", "note_ts")):
        lo, hi = demo.rows(f"SELECT min({column})::DATE, max({column})::DATE FROM {table} WHERE monthly")[0]
        assert lo >= month36 and hi <= end, table
        assert demo.one(f"SELECT max({column})::DATE FROM {table} WHERE NOT monthly") < month36, table
    assert demo.one("SELECT min(recorded_date) FROM diagnosis WHERE NOT monthly") < first


def test_every_value_is_in_the_contract_and_the_terminology(demo):
    for table in TABLES.values():
        for f in table.fields:
            col = f'"{f.name}"'
            if f.required:
                assert demo.one(f"SELECT count(*) FROM {table.name} WHERE {col} IS NULL") == 0, (table.name, f.name)
            if f.choices:
                values = {str(v).lower() if isinstance(v, bool) else str(v)
                          for (v,) in demo.rows(f"SELECT DISTINCT {col} FROM {table.name} WHERE {col} IS NOT NULL")}
                assert values <= set(f.choices), (table.name, f.name, values - set(f.choices))
            if f.code_system == "@code_system":
                for system, code in demo.rows(f"SELECT DISTINCT code_system, {col} FROM {table.name}"):
                    assert code in code_system(system), (table.name, system, code)
            elif f.code_system:
                for (code,) in demo.rows(f"SELECT DISTINCT {col} FROM {table.name} WHERE {col} IS NOT NULL"):
                    assert code in code_system(f.code_system), (table.name, f.name, code)
            if f.pattern:
                bad = demo.one(f"SELECT count(*) FROM {table.name} WHERE NOT regexp_full_match({col}, ?)",
                               f.pattern.strip("^$"))
                assert bad == 0, (table.name, f.name)


def test_values_are_plausible_and_units_are_the_codes_own(demo):
    for table in ("lab_result", "measurement"):
        for system, code, unit, lo, hi in demo.rows(
                f"SELECT code_system, code, any_value(unit), min(value_num), max(value_num) FROM {table} GROUP BY ALL"):
            concept = code_system(system)[code]
            assert unit == concept.unit, (code, unit)
            low, high = concept.plausible_range
            if lo is not None:
                assert low <= lo and hi <= high, (code, lo, hi)
            if concept.allowed_values:
                texts = {t for (t,) in demo.rows(f"SELECT DISTINCT value_text FROM {table} WHERE code = ?", code)}
                assert texts <= set(concept.allowed_values), (code, texts)


def test_no_fact_before_listing_or_after_death_or_listing_end(demo):
    # One row per listing as last known (the monthly delivery corrects the first).
    demo.con.execute("""CREATE TEMP TABLE listing AS SELECT ydernummer, cpr, list_start,
        max(list_end) AS list_end, max(death_date) AS death_date FROM patient GROUP BY ALL""")
    for table, column in (("contact", "contact_ts"), ("lab_result", "sampled_ts"), ("prescription", "prescribed_date"),
                          ("measurement", "measured_ts"), ("journal_note", "note_ts"),
                          ("hospital_admission", "admitted_date")):
        outside = demo.one(f"""SELECT count(*) FROM {table} t WHERE NOT EXISTS (SELECT 1 FROM listing l
            WHERE l.ydernummer = t.ydernummer AND l.cpr = t.cpr AND {column}::DATE >= l.list_start
              AND {column}::DATE <= least(coalesce(l.list_end, DATE '9999-12-31'),
                                          coalesce(l.death_date, DATE '9999-12-31')))""")
        assert outside == 0, table


def test_cprs_are_synthetic_and_agree_with_birth_date_and_sex(demo):
    people = demo.rows("SELECT DISTINCT cpr, birth_date, sex FROM patient")
    replacement = 0
    for cpr, birth, sex in people:
        assert re.fullmatch(CPR_PATTERN, cpr)
        if cpr[7:9].isalpha():  # eCPR: DDMMYY, century digit 1/7, two letters, sex digit
            replacement += 1
            assert cpr[:6] == birth.strftime("%d%m%y") and cpr[6] == ("1" if birth.year < 2000 else "7")
        else:  # substitute CPR: day + 60, so never a real person's number
            assert int(cpr[:2]) == birth.day + 60 and cpr[2:6] == birth.strftime("%m%y")
            assert (cpr[6] in "0123") == (birth.year < 2000)
        assert int(cpr[9]) % 2 == (sex == "M")
    assert len({c for c, _, _ in people}) == len(people)
    assert 0.001 < replacement / len(people) < 0.006


def test_moved_patients_appear_in_both_practices_consistently(demo):
    moves = demo.rows("""
        WITH last AS (SELECT ydernummer, cpr, name, birth_date, sex, list_start, max(list_end) AS list_end
                      FROM patient GROUP BY ALL)
        SELECT a.cpr, a.list_end, b.list_start, a.name = b.name AND a.birth_date = b.birth_date AND a.sex = b.sex
        FROM last a JOIN last b ON a.cpr = b.cpr AND a.ydernummer <> b.ydernummer AND a.list_start < b.list_start""")
    assert len(moves) > 200
    for cpr, old_end, new_start, same in moves:
        assert same and old_end == new_start - timedelta(days=1), cpr
    # Their contacts are at the old practice before the move and at the new one after it.
    wrong = demo.one("""
        WITH last AS (SELECT ydernummer, cpr, list_start, max(list_end) AS list_end FROM patient GROUP BY ALL),
        moved AS (SELECT cpr FROM last GROUP BY cpr HAVING count(*) > 1)
        SELECT count(*) FROM contact c JOIN last l USING (ydernummer, cpr) JOIN moved USING (cpr)
        WHERE c.contact_ts::DATE < l.list_start OR c.contact_ts::DATE > coalesce(l.list_end, DATE '9999-12-31')""")
    assert wrong == 0


def test_a_practice_changes_cluster_with_contiguous_validity(demo):
    rows = demo.rows("""SELECT ydernummer, valid_from, valid_to, cluster_id FROM practice WHERE NOT monthly
                        AND ydernummer IN (SELECT ydernummer FROM practice WHERE NOT monthly GROUP BY 1
                                           HAVING count(*) > 1) ORDER BY 1, 2""")
    assert len(rows) == 2
    (_, _, to, before), (_, start, open_end, after) = rows
    assert to + timedelta(days=1) == start and open_end is None and before != after
    assert demo.one("SELECT count(DISTINCT cluster_id) FROM practice WHERE monthly") == 1


def test_state_unknown_at_the_first_extract_is_filled_in_by_the_monthly(demo):
    month36 = demo.report.end_date.replace(day=1)
    # Deaths in month 36 are empty in the first delivery and present in the monthly one.
    died = demo.rows("SELECT DISTINCT cpr FROM patient WHERE monthly AND death_date >= ? AND list_start < ?", month36,
                     month36)
    assert died
    assert demo.one("SELECT count(*) FROM patient WHERE NOT monthly AND death_date >= ?", month36) == 0
    assert demo.one("SELECT count(DISTINCT cpr) FROM patient WHERE NOT monthly AND cpr IN (SELECT cpr FROM patient WHERE "
                    "monthly AND death_date >= ? AND list_start < ?) AND death_date IS NULL", month36,
                    month36) == len(died)


def test_bad_arguments_get_danish_messages(tmp_path):
    (tmp_path / "x.txt").write_text("andet indhold")
    with pytest.raises(SynthError, match="ikke tom"):
        synthesise(Options(out=tmp_path, patients=500))
    with pytest.raises(SynthError, match="ukendt skala"):
        synthesise(Options(out=tmp_path / "y", scale="europa"))
    with pytest.raises(SynthError, match="format"):
        synthesise(Options(out=tmp_path / "y", fmt="xlsx"))
    with pytest.raises(SynthError, match="sidste dag i en måned"):
        synthesise(Options(out=tmp_path / "y", end_date=date(2025, 6, 15)))


@pytest.mark.parametrize("end", [date(2024, 2, 29), date(2025, 12, 31)])
def test_any_month_end_gives_36_months_split_35_plus_1(tmp_path, end):
    report = synthesise(Options(out=tmp_path, patients=600, seed=2, end_date=end, workers=1))
    periods = sorted((m.period_start, m.period_end) for m in map(read_manifest, tmp_path.glob("*/*")))
    first, monthly = periods[0], periods[-1]
    assert report.end_date == end and monthly == (end.replace(day=1), end)
    assert first[1] == end.replace(day=1) - timedelta(days=1)
    assert (first[0].year * 12 + first[0].month) + 35 == end.year * 12 + end.month
