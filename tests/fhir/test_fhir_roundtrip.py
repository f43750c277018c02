"""Contract → FHIR → contract is lossless, and the same synthetic population loaded as FHIR and as Parquet gives
the same warehouse."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings as hsettings
from hypothesis import strategies as st
from typer.testing import CliRunner

from .fhir_support import KEYS, import_fhir
from kvalitetsplatform.cli.main import app
from kvalitetsplatform.fhir import to_delivery
from kvalitetsplatform.fhir.delivery import to_table
from kvalitetsplatform.fhir.writer import contract_to_fhir, to_bundle, write_bulk_export, write_ndjson
from kvalitetsplatform.settings import load_settings
from kvalitetsplatform.terminology import code_system
from kvalitetsplatform.warehouse.schema import all_table_names
from kvalitetsplatform.warehouse.vault import reveal

YDER = "012345"
D, T = date, datetime
ONE_OF_EACH = {
    "practice": [dict(ydernummer=YDER, valid_from=D(2023, 1, 1), valid_to=D(2024, 6, 30), name="Lægerne i Vestergade",
                      cvr="12345678", sor_code="425271000016004", region_code="1082", kommune_code="751",
                      cluster_id="K082-07", cluster_name="Klynge Aarhus Vest", practice_type="kompagniskab", n_gp=3,
                      open_for_new_patients=False, lps_vendor="XMO"),
                 dict(ydernummer=YDER, valid_from=D(2024, 7, 1), name="Lægerne i Vestergade", region_code="1082",
                      kommune_code="751", cluster_id="K082-08", cluster_name="Klynge Aarhus Syd",
                      practice_type="kompagniskab", n_gp=4, open_for_new_patients=True, lps_vendor="XMO")],
    "clinician": [dict(clinician_id="L01", initials="AKH", role="gp", fte=1.0),
                  dict(clinician_id="S_02 (vikar)", initials="BB", role="nurse")],
    "patient": [dict(cpr="0707614285", name="Karen Hansen", birth_date=D(1961, 7, 7), sex="F", kommune_code="751",
                     sikringsgruppe=1, list_start=D(2015, 3, 1)),
                dict(cpr="0703921VJ4", name="Birgit  Berggren", birth_date=D(1992, 3, 7), sex="F",
                     kommune_code="101", sikringsgruppe=2, list_start=D(2020, 3, 1), list_end=D(2025, 9, 30),
                     death_date=D(2025, 9, 30)),
                dict(cpr="0707614285", name="Karen Hansen", birth_date=D(1961, 7, 7), sex="F", kommune_code="751",
                     sikringsgruppe=1, list_start=D(2010, 1, 1), list_end=D(2012, 12, 31))],
    "contact": [dict(contact_id="C1", cpr="0707614285", clinician_id="L01", contact_ts=T(2025, 11, 3, 9, 20),
                     ydelseskode="0201", channel="phone"),
                dict(contact_id="C2", cpr="0707614285", contact_ts=T(2025, 3, 30, 2, 30),  # in the DST gap
                     ydelseskode="0101", channel="home")],
    "diagnosis": [dict(diagnosis_id="D1", cpr="0707614285", code_system="ICPC2DK", code="T90", text="Type 2-diabetes",
                       onset_date=D(2019, 5, 14), recorded_date=D(2019, 5, 20), source="lps", status="active"),
                  dict(diagnosis_id="D2", cpr="0707614285", code_system="SKS", code="DI21", recorded_date=D(2024, 5, 20),
                       source="lps", status="resolved")],
    "lab_result": [dict(lab_id="L1", cpr="0707614285", code_system="NPU", code="NPU27300", value_num=52.0,
                        unit="mmol/mol", ref_low=31.0, ref_high=44.0, abnormal_flag="H",
                        sampled_ts=T(2025, 10, 1, 8, 5), producer="KBA AUH"),
                   dict(lab_id="L2", cpr="0707614285", code_system="NPU", code="NPU19661", value_num=0.5,
                        comparator="<", value_text="under grænsen", unit="mg/g", sampled_ts=T(2025, 10, 1, 8, 5)),
                   dict(lab_id="L3", cpr="0707614285", code_system="NPU", code="NPU03230", value_text="hæmolyseret",
                        unit="mmol/L", sampled_ts=T(2025, 10, 1, 8, 5))],
    "measurement": [dict(measurement_id="M1", cpr="0707614285", code_system="DNK", code="DNK05473", value_num=82.0,
                         unit="mmHg", measured_ts=T(2025, 10, 1, 8, 15)),
                    dict(measurement_id="M2", cpr="0707614285", code_system="DNK", code="DNK05472", value_num=138.0,
                         unit="mmHg", measured_ts=T(2025, 10, 1, 8, 15)),
                    dict(measurement_id="M3", cpr="0707614285", code_system="KP", code="RYGESTATUS",
                         value_text="tidligere ryger", measured_ts=T(2025, 10, 1, 8, 16)),
                    dict(measurement_id="M4", cpr="0707614285", code_system="MCS", code="MCS88019", value_num=141.0,
                         unit="mmHg", measured_ts=T(2025, 10, 2, 7, 0))],
    "prescription": [dict(prescription_id="R1", cpr="0707614285", clinician_id="L01", prescribed_date=D(2025, 9, 12),
                          atc="C10AA05", drug_name="Atorvastatin", strength="40 mg", pack_size=100, n_packs=1,
                          ddd=200.0, dosage_text="1 tablet dagligt", indication_text="mod forhøjet kolesterol",
                          redeemed_date=D(2025, 9, 13)),
                     dict(prescription_id="R2", cpr="0707614285", prescribed_date=D(2025, 9, 12), atc="J01CE02",
                          drug_name="Penicillin V", n_packs=2)],
    "chronic_enrolment": [dict(enrolment_id="E1", cpr="0707614285", condition="T2D", start_date=D(2022, 2, 1)),
                          dict(enrolment_id="E2", cpr="0703921VJ4", condition="COPD", start_date=D(2021, 2, 1),
                               end_date=D(2025, 9, 30))],
    "hospital_admission": [dict(admission_id="H1", cpr="0707614285", admitted_date=D(2025, 3, 2),
                                discharged_date=D(2025, 3, 6), diagnosis_code="DJ441", acute=True,
                                hospital="Aarhus Universitetshospital"),
                           dict(admission_id="H2", cpr="0707614285", admitted_date=D(2025, 10, 2),
                                diagnosis_code="DI50", acute=False)],
    "journal_note": [dict(note_id="N1", cpr="0707614285", note_ts=T(2025, 10, 1, 8, 25), clinician_id="L01",
                          source="speech", contact_id="C1", text=" Kontrol af BT.\nVelbehandlet. ")],
    "survey_response": [dict(response_id="S1", wave="2025", answered_date=D(2025, 4, 22),
                             **{f"item_{i:02d}": (i % 5) + 1 for i in range(1, 24) if i != 7},
                             comment_good="Lægen tog sig god tid.")],
}


def contract_rows(name: str, rows: list[dict]) -> list[dict]:
    """Rows as the contract table holds them (every field, in order), sorted: row order is not part of a table."""
    return sorted(to_table(name, rows).to_pylist(), key=repr)


def assert_same_tables(tables: dict[str, list[dict]], folder: Path) -> None:
    for name, rows in tables.items():
        back = pq.read_table(folder / f"{name}.parquet").to_pylist()
        assert sorted(back, key=repr) == contract_rows(name, rows), name


@pytest.mark.parametrize("shape", ["ndjson", "collection", "transaction", "searchset"])
def test_every_table_survives_the_round_trip(tmp_path, shape):
    resources = contract_to_fhir(ONE_OF_EACH, YDER)
    if shape == "ndjson":
        write_ndjson(tmp_path / "in", resources)
    else:
        (tmp_path / "in").mkdir()
        (tmp_path / "in" / "bundle.json").write_text(json.dumps(to_bundle(resources, shape)), encoding="utf-8")
    _, report, _ = import_fhir([tmp_path / "in"], tmp_path / "out")
    assert report.issues == [] and not report.unmapped_types
    assert_same_tables(ONE_OF_EACH, tmp_path / "out")


def test_the_bulk_export_manifest_carries_the_delivery(tmp_path):
    from kvalitetsplatform.contract.delivery import write_delivery

    original = write_delivery(tmp_path / "parquet", delivery_id="012345-20251130T233000", ydernummer=YDER,
                              vendor="XMO", extract_ts=T(2025, 11, 30, 23, 30), period_start=D(2025, 11, 1),
                              period_end=D(2025, 11, 30),
                              tables={n: to_table(n, rows) for n, rows in ONE_OF_EACH.items()})
    write_bulk_export(tmp_path / "export", contract_to_fhir(ONE_OF_EACH, YDER), original)
    manifest, _ = to_delivery([tmp_path / "export"], tmp_path / "back")
    assert (manifest.delivery_id, manifest.ydernummer, manifest.vendor, manifest.extract_ts, manifest.period_start,
            manifest.period_end) == (original.delivery_id, YDER, "XMO", T(2025, 11, 30, 23, 30), D(2025, 11, 1),
                                     D(2025, 11, 30))
    assert {f.table: f.rows for f in manifest.files} == {f.table: f.rows for f in original.files}


# --- generated rows: whatever the contract allows in a field comes back unchanged --------------------------------
def _texts(**kw):
    return st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, **kw)


def _codes(system: str):
    return st.sampled_from(sorted(code_system(system).concepts))


_times = st.datetimes(T(1990, 1, 1), T(2030, 12, 31)).map(lambda t: t.replace(microsecond=0))
_days = st.dates(D(1920, 1, 1), D(2030, 12, 31))
_numbers = st.floats(allow_nan=False, allow_infinity=False, width=64, min_value=-1e9, max_value=1e9)
_cprs = st.from_regex(r"\A[0-3][0-9][01][0-9]{3}-?[0-9A-Z]{4}\Z")


@st.composite
def _population(draw):
    cprs = draw(st.lists(_cprs, min_size=1, max_size=4, unique=True))
    clinicians = [dict(clinician_id=draw(_texts(max_size=12)), initials=draw(_texts(max_size=4)),
                       role=draw(st.sampled_from(("gp", "nurse", "secretary", "trainee"))),
                       fte=draw(st.none() | st.floats(0.1, 1.0)))]
    patients = [dict(cpr=c, name=draw(_texts(max_size=30)), birth_date=draw(_days), sex=draw(st.sampled_from("FM")),
                     kommune_code=draw(_codes("kommune")), sikringsgruppe=draw(st.sampled_from((1, 2))),
                     list_start=draw(_days), list_end=draw(st.none() | _days), death_date=draw(st.none() | _days))
                for c in cprs]
    labs = [dict(lab_id=f"L{i}", cpr=draw(st.sampled_from(cprs)), code_system="NPU", code=draw(_codes("NPU")),
                 value_num=draw(st.none() | _numbers), comparator=draw(st.none() | st.sampled_from(("<", ">", "<="))),
                 value_text=draw(st.none() | _texts(max_size=20)), unit=draw(st.none() | _texts(max_size=8)),
                 ref_low=draw(st.none() | _numbers), ref_high=draw(st.none() | _numbers),
                 abnormal_flag=draw(st.none() | st.sampled_from("LHN")), sampled_ts=draw(_times),
                 producer=draw(st.none() | _texts(max_size=20))) for i in range(draw(st.integers(0, 4)))]
    for lab in labs:  # FHIR holds a comparator only with a number
        if lab["value_num"] is None:
            lab["comparator"] = None
    measurements = [dict(measurement_id=f"M{i}", cpr=draw(st.sampled_from(cprs)),
                         code_system=(sys := draw(st.sampled_from(("DNK", "MCS", "KP", "NPU")))),
                         code=draw(_codes(sys)), value_num=draw(st.none() | _numbers),
                         value_text=draw(st.none() | _texts(max_size=20)), unit=draw(st.none() | _texts(max_size=8)),
                         measured_ts=draw(_times)) for i in range(draw(st.integers(0, 5)))]
    diagnoses = [dict(diagnosis_id=f"D{i}", cpr=draw(st.sampled_from(cprs)),
                      code_system=(sys := draw(st.sampled_from(("ICPC2DK", "SKS")))), code=draw(_codes(sys)),
                      text=draw(st.none() | _texts(max_size=30)), onset_date=draw(st.none() | _days),
                      recorded_date=draw(_days), source=draw(st.sampled_from(("lps", "discharge_letter"))),
                      status=draw(st.sampled_from(("active", "resolved")))) for i in range(draw(st.integers(0, 3)))]
    contacts = [dict(contact_id=f"C{i}", cpr=draw(st.sampled_from(cprs)),
                     clinician_id=draw(st.none() | st.just(clinicians[0]["clinician_id"])), contact_ts=draw(_times),
                     ydelseskode=draw(_codes("ydelseskode")),
                     channel=draw(st.sampled_from(("physical", "phone", "email", "video", "home"))))
                for i in range(draw(st.integers(0, 3)))]
    return {"clinician": clinicians, "patient": patients, "lab_result": labs, "measurement": measurements,
            "diagnosis": diagnoses, "contact": contacts}


@hsettings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                    HealthCheck.too_slow])
@given(_population())
def test_generated_rows_survive_the_round_trip(tmp_path_factory, tables):
    folder = tmp_path_factory.mktemp("rt")
    write_ndjson(folder / "in", contract_to_fhir(tables, YDER))
    to_delivery([folder / "in"], folder / "out", YDER, extract_ts=T(2031, 1, 1))
    assert_same_tables(tables, folder / "out")


# --- a synthetic population, loaded as Parquet and as FHIR --------------------------------------------------------
def warehouse(home: Path) -> dict[str, list]:
    """Every warehouse table's rows, sorted, without what necessarily differs between two loads (when and from
    where a delivery was loaded, its files' checksums, the vault's encryption), plus the vault decrypted."""
    settings = load_settings({"KP_HOME": str(home), **KEYS})
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        out = {}
        for name in all_table_names():
            columns = {"delivery": "* EXCLUDE (loaded_at, source, files)",
                       "identity_vault": "* EXCLUDE (cpr_enc, name_enc)"}.get(name, "*")
            out[name] = sorted(con.execute(f'SELECT {columns} FROM "{name}"').fetchall(), key=repr)
        keys = [k for (k,) in con.execute("SELECT patient_key FROM identity_vault").fetchall()]
    finally:
        con.close()
    out["revealed"] = sorted((k, i.cpr, i.name) for k, i in reveal(settings, keys).items())
    return out


def test_the_same_synthetic_population_as_fhir_and_as_parquet_gives_the_same_warehouse(tmp_path):
    runner = CliRunner()
    for fmt in ("parquet", "fhir"):
        result = runner.invoke(app, ["synth", "--out", str(tmp_path / fmt), "--patients", "400", "--seed", "11",
                                     "--workers", "1", "--format", fmt, "--json"])
        assert result.exit_code == 0, result.output
    exports = sorted(m.parent for m in (tmp_path / "fhir").rglob("export-manifest.json"))
    assert len(exports) >= 2 and not list((tmp_path / "fhir").rglob("*.parquet"))
    for fmt in ("parquet", "fhir"):
        result = runner.invoke(app, ["ingest", str(tmp_path / fmt), "--json"],
                               env={"KP_HOME": str(tmp_path / f"home-{fmt}"), **KEYS})
        assert result.exit_code == 0, result.output
        assert [r["status"] for r in json.loads(result.stdout)] == ["loaded"] * len(exports)
    parquet, fhir = warehouse(tmp_path / "home-parquet"), warehouse(tmp_path / "home-fhir")
    assert sum(len(v) for v in parquet.values()) > 10_000
    for name in parquet:
        assert fhir[name] == parquet[name], name


def test_export_and_import_commands_on_a_csv_delivery(tmp_path):
    from kvalitetsplatform.contract.delivery import write_delivery

    write_delivery(tmp_path / "csv", delivery_id="012345-20251201T000000", ydernummer=YDER, vendor="XMO",
                   extract_ts=T(2025, 12, 1), period_start=D(2025, 1, 1), period_end=D(2025, 11, 30),
                   tables={n: to_table(n, rows) for n, rows in ONE_OF_EACH.items()}, fmt="csv")
    runner = CliRunner()
    result = runner.invoke(app, ["fhir", "export", str(tmp_path / "csv"), "--out", str(tmp_path / "fhir"), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["resources"] == len(contract_to_fhir(ONE_OF_EACH, YDER))
    result = runner.invoke(app, ["fhir", "import", str(tmp_path / "fhir"), "--out", str(tmp_path / "back"),
                                 "--uden-praksis-fra-lager", "--json"], env={"KP_HOME": str(tmp_path / "home")})
    assert result.exit_code == 0, result.output
    imported = json.loads(result.stdout)
    assert (imported["delivery_id"], imported["report"]["issues"]) == ("012345-20251201T000000", [])
    assert_same_tables(ONE_OF_EACH, tmp_path / "back")
    result = runner.invoke(app, ["fhir", "import", str(tmp_path / "csv"), "--out", str(tmp_path / "x"), "--json"],
                           env={"KP_HOME": str(tmp_path / "home")})
    assert result.exit_code == 1 and "ikke en FHIR-ressource" in result.stdout
