"""Loading one delivery into the warehouse, all or nothing.

Order of work: read the manifest → decide from the catalogue whether it is new, a re-run (no-op), a correction
(replaces the earlier delivery of the same practice and period) or a conflict (rejected) → check the files (present,
SHA-256, UTF-8, columns, types, row counts) → stage each file in a temporary DuckDB table and run the row checks as
SQL over the whole file; classify and pseudonymise each distinct CPR once → in ONE transaction: delete a replaced
delivery's rows, insert the good rows, quarantine the bad ones with Danish reasons, add new patients to the vault,
write the catalogue row with its quality report, commit. Any whole-delivery error leaves the warehouse untouched
(temporary tables are not part of it) and the rejection is recorded in the catalogue.
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from kvalitetsplatform.contract import TABLES
from kvalitetsplatform.contract.delivery import ContractError, Manifest, read_manifest
from kvalitetsplatform.ingest import cpr as cpr_sql
from kvalitetsplatform.ingest.checks import Check, checks_for, code_fields, lit, measured_value, q, typed_sql
from kvalitetsplatform.ingest.files import DeliveryFile, check_files
from kvalitetsplatform.ingest.quality import quality_report
from kvalitetsplatform.settings import Settings
from kvalitetsplatform.warehouse import WarehouseError, dumps
from kvalitetsplatform.warehouse.schema import LOADED, derived_date
from kvalitetsplatform.warehouse.vault import Pseudonymiser, VaultCipher, patient_key_of

# Test hook: when set to a path, ingestion writes that file just before COMMIT and waits, so a test can kill a real
# `kp ingest` process inside the transaction.
HOLD_ENV = "KP_INGEST_HOLD_BEFORE_COMMIT"

FIRST = ("practice", "clinician", "patient")  # dimensions before the facts that refer to them
LOAD_ORDER = [*FIRST, *(t for t in TABLES if t not in FIRST)]

Progress = Callable[[str], None]


@dataclass
class IngestResult:
    source: str
    delivery_id: str
    ydernummer: str | None = None
    status: str = "rejected"  # loaded | unchanged | rejected
    replaced: str | None = None
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    error: str | None = None
    seconds: float = 0.0

    def total(self, what: str) -> int:
        return sum(c.get(what, 0) for c in self.counts.values())


def _manifest_files_json(manifest: Manifest) -> str:
    return dumps(sorted(({"table": f.table, "path": f.path, "format": f.format, "rows": f.rows,
                          "sha256": f.sha256.lower()} for f in manifest.files), key=lambda f: f["table"]))


def _da(d) -> str:
    return d.strftime("%d.%m.%Y")


class VaultClaims:
    """Loads side by side must not both add the same person to the vault (a patient who moved between two
    practices loading at the same time): each claims the patients it will add, and waits while another load that
    has not yet committed holds any of them. After the wait the person is in the vault and no longer new."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._held: dict[int, set[int]] = {}

    @contextmanager
    def claim(self, con: duckdb.DuckDBPyConnection):
        me = id(con)
        with self._changed:
            while True:
                new = {k for (k,) in con.execute("SELECT patient_key FROM _pmap ANTI JOIN identity_vault "
                                                 "USING (patient_key)").fetchall()}
                if not any(new & held for owner, held in self._held.items() if owner != me):
                    self._held[me] = new
                    break
                self._changed.wait()
        try:
            yield
        finally:
            with self._changed:
                self._held.pop(me, None)
                self._changed.notify_all()


class Loader:
    """Loads deliveries through one read-write connection (DuckDB allows one writing process at a time)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, settings: Settings, claims: VaultClaims | None = None):
        self.con = con
        self.settings = settings
        self.claims = claims or VaultClaims()
        self.pseudonymiser = Pseudonymiser(settings.pseudonym_key)
        self.cipher = VaultCipher(settings.vault_key)
        cpr_sql.install(con)

    # ---- one delivery -------------------------------------------------------------------------------------------

    def load(self, folder: Path, progress: Progress | None = None) -> IngestResult:
        start = time.perf_counter()
        say = progress or (lambda _text: None)
        result = IngestResult(source=str(folder), delivery_id=folder.name)
        try:
            manifest = read_manifest(folder)
        except ContractError as e:
            result.error = str(e)
            self._record_rejection(result, None)
            result.seconds = time.perf_counter() - start
            return result
        result.delivery_id, result.ydernummer = manifest.delivery_id, manifest.ydernummer
        try:
            replaces = self._decide(manifest, result)
            if result.status == "unchanged":
                return result
            say("kontrollerer filer")
            files = check_files(folder, manifest)
            self._check_and_load(folder, manifest, files, replaces, result, say)
        except (ContractError, WarehouseError) as e:
            result.status, result.error, result.counts = "rejected", str(e), {}
            if getattr(e, "record", True):
                self._record_rejection(result, manifest)
        finally:
            result.seconds = time.perf_counter() - start
        return result

    def _decide(self, manifest: Manifest, result: IngestResult) -> str | None:
        """No-op, replacement or conflict, from the catalogue. Returns the id of a delivery to replace."""
        files = _manifest_files_json(manifest)
        known = self.con.execute("SELECT ydernummer, status, files, replaced_by FROM delivery WHERE id = ?",
                                  [manifest.delivery_id]).fetchone()
        if known is not None:
            ydernummer, status, known_files, replaced_by = known
            if status in ("loaded", "replaced") and known_files == files:
                result.status = "unchanged"
                result.replaced = replaced_by
                return None
            if status in ("loaded", "replaced"):
                raise _Unrecorded(manifest.delivery_id, "leverance-id'et er allerede indlæst med et andet indhold "
                                                        "(kontrolsummerne afviger). En rettet leverance skal have "
                                                        "et nyt leverance-id.")
            if ydernummer != manifest.ydernummer and status != "rejected":
                raise _Unrecorded(manifest.delivery_id, f"leverance-id'et bruges allerede af ydernummer {ydernummer}")
        others = self.con.execute(
            "SELECT id, period_start, period_end, extract_ts FROM delivery WHERE ydernummer = ? AND "
            "status = 'loaded' AND id <> ? ORDER BY period_start", [manifest.ydernummer, manifest.delivery_id]
        ).fetchall()
        new = (manifest.period_start, manifest.period_end)
        for other_id, other_start, other_end, other_ts in others:
            if (other_start, other_end) == new:
                if other_ts >= manifest.extract_ts:
                    raise ContractError(
                        "manifest.json", f"leverance {other_id} for samme praksis og periode er allerede indlæst og "
                                         f"er lige så ny eller nyere (udtrukket {other_ts:%d.%m.%Y %H:%M}); en "
                                         "rettelse skal have et senere udtrækstidspunkt", field="extract_ts")
                return other_id
            if other_start <= manifest.period_end and manifest.period_start <= other_end:
                raise ContractError(
                    "manifest.json", f"perioden {_da(manifest.period_start)}–{_da(manifest.period_end)} overlapper "
                                     f"delvist leverance {other_id} ({_da(other_start)}–{_da(other_end)}) fra samme "
                                     "praksis; en rettelse skal dække præcis samme periode", field="period_start")
        return None

    def _record_rejection(self, result: IngestResult, manifest: Manifest | None) -> None:
        """Keep the rejection in the catalogue (unless the id belongs to a loaded delivery, which stays as it is)."""
        self.con.execute("BEGIN TRANSACTION")
        try:
            status = self.con.execute("SELECT status FROM delivery WHERE id = ?", [result.delivery_id]).fetchone()
            if status is None or status[0] == "rejected":
                self.con.execute("DELETE FROM delivery WHERE id = ?", [result.delivery_id])
                m = manifest
                self.con.execute(
                    "INSERT INTO delivery (id, ydernummer, vendor, extract_ts, period_start, period_end, "
                    "contract_version, status, loaded_at, source, files, error) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, 'rejected', ?, ?, ?, ?)",
                    [result.delivery_id, m and m.ydernummer, m and m.vendor, m and m.extract_ts,
                     m and m.period_start, m and m.period_end, m and m.contract_version, datetime.now(),
                     result.source, m and _manifest_files_json(m), result.error])
            self.con.execute("COMMIT")
        except BaseException:
            self.con.execute("ROLLBACK")
            raise

    # ---- the transaction ----------------------------------------------------------------------------------------

    def _check_and_load(self, folder: Path, manifest: Manifest, files: list[DeliveryFile],
                        replaces: str | None, result: IngestResult, say: Progress) -> None:
        """Check every file (temporary objects only, outside the transaction), then write in one transaction."""
        con = self.con
        by_table = {f.entry.table: f for f in files}
        try:
            con.execute("CREATE OR REPLACE TEMP TABLE _err (table_name VARCHAR, file VARCHAR, row_number BIGINT, "
                        "field VARCHAR, value VARCHAR, rule VARCHAR, reason VARCHAR)")
            ctx = _Context(manifest)
            staged = [name for name in LOAD_ORDER if name in by_table]
            for name in staged:
                say(f"kontrollerer {name}")
                self._stage(by_table[name], ctx)
            practices = con.execute("SELECT count(*) FROM _chk_practice c WHERE NOT EXISTS (SELECT 1 FROM _err e "
                                    "WHERE e.table_name = 'practice' AND e.row_number = c._row)").fetchone()[0]
            if not practices:
                raise ContractError(by_table["practice"].entry.path, "leverancen har ingen gyldig række om praksis "
                                                                     f"{manifest.ydernummer}")
            ctx.quarantined = dict(con.execute("SELECT table_name, count(DISTINCT row_number) FROM _err "
                                               "GROUP BY table_name").fetchall())
            self._check_key_collisions_within()
            with self.claims.claim(con):
                self._write(folder, manifest, by_table, staged, replaces, result, ctx, say)
        finally:
            self._drop_staging()
        result.status, result.replaced = "loaded", replaces

    def _write(self, folder: Path, manifest: Manifest, by_table: dict[str, DeliveryFile], staged: list[str],
               replaces: str | None, result: IngestResult, ctx: _Context, say: Progress) -> None:
        con = self.con
        con.execute("BEGIN TRANSACTION")
        try:
            self._check_key_collisions_with_vault()
            if replaces:
                say(f"erstatter {replaces}")
                self._delete_delivery_rows(replaces)
            prior = con.execute("SELECT count(*) FROM delivery WHERE ydernummer = ? AND status = 'loaded' AND id <> ?",
                                [manifest.ydernummer, replaces or ""]).fetchone()[0]
            for name in staged:
                say(f"indlæser {name}")
                result.counts[name] = self._insert(by_table[name], ctx, upsert=bool(prior))
            say("opdaterer identitetsboksen")
            self._update_vault()
            self._close_practice_periods(manifest.ydernummer)
            con.execute("INSERT INTO quarantine SELECT ?, file, table_name, row_number, field, value, rule, reason "
                        "FROM _err ORDER BY table_name, row_number, field", [manifest.delivery_id])
            quality = quality_report(manifest, result.counts, ctx.check_results, ctx.fill, ctx.latest,
                                     ctx.patients, ctx.cpr_kinds)
            if replaces:
                con.execute("UPDATE delivery SET status = 'replaced', replaced_by = ? WHERE id = ?",
                            [manifest.delivery_id, replaces])
            con.execute("DELETE FROM delivery WHERE id = ?", [manifest.delivery_id])  # an earlier rejection
            con.execute(
                "INSERT INTO delivery VALUES (?, ?, ?, ?, ?, ?, ?, 'loaded', ?, NULL, ?, ?, ?, ?, ?, ?, ?, NULL)",
                [manifest.delivery_id, manifest.ydernummer, manifest.vendor, manifest.extract_ts,
                 manifest.period_start, manifest.period_end, manifest.contract_version, datetime.now(), str(folder),
                 sum(c["received"] for c in result.counts.values()), sum(c["loaded"] for c in result.counts.values()),
                 sum(c["quarantined"] for c in result.counts.values()), dumps(result.counts),
                 _manifest_files_json(manifest), dumps(quality)])
            say("gemmer")
            self._hold_if_asked()
            con.execute("COMMIT")
        except BaseException:
            try:
                con.execute("ROLLBACK")
            except duckdb.TransactionException:
                pass  # a failed COMMIT has already ended the transaction
            raise

    def _hold_if_asked(self) -> None:
        marker = os.environ.get(HOLD_ENV)
        if marker:
            Path(marker).write_text(str(os.getpid()), encoding="utf-8")
            time.sleep(3600)

    def _drop_staging(self) -> None:
        for kind, catalogue in (("VIEW", "duckdb_views()"), ("TABLE", "duckdb_tables()")):
            names = self.con.execute(f"SELECT {kind.lower()}_name FROM {catalogue} WHERE temporary AND "
                                     f"{kind.lower()}_name LIKE '\\_%' ESCAPE '\\'").fetchall()
            for (name,) in names:
                self.con.execute(f"DROP {kind} IF EXISTS temp.{q(name)}")

    # ---- staging and checks -------------------------------------------------------------------------------------

    def _source(self, df: DeliveryFile, ctx: _Context) -> str:
        """SQL for the file's rows with `_row` (1-based data row). CSV rows that do not parse are quarantined."""
        path = lit(str(df.path))
        if not df.csv:
            return f"SELECT file_row_number + 1 AS _row, * EXCLUDE (file_row_number) FROM " \
                   f"read_parquet({path}, file_row_number = true)"
        con, t = self.con, df.table.name
        columns = "{" + ", ".join(f"{lit(c)}: 'VARCHAR'" for c in df.columns) + "}"
        con.execute("DROP TABLE IF EXISTS _rejects; DROP TABLE IF EXISTS _reject_scans")
        con.execute(f"CREATE OR REPLACE TEMP TABLE {q('_raw_' + t)} AS SELECT * FROM read_csv({path}, header = true, "
                    f"auto_detect = false, columns = {columns}, delim = ',', quote = '\"', escape = '\"', "
                    "ignore_errors = true, store_rejects = true, rejects_table = '_rejects', "
                    "rejects_scan = '_reject_scans')")
        rejects = con.execute("SELECT line - 1, error_type::VARCHAR, error_message FROM _rejects "
                              "ORDER BY line, error_type::VARCHAR <> 'UNQUOTED VALUE'").fetchall()
        # DuckDB can report several errors for one line; one record is one row.
        bad = sorted({r[0] for r in rejects})
        good = con.execute(f"SELECT count(*) FROM {q('_raw_' + t)}").fetchone()[0]
        if good + len(bad) != df.entry.rows:
            unterminated = [r for r in rejects if r[1] == "UNQUOTED VALUE"]
            if unterminated:
                raise ContractError(df.entry.path, "filen kan ikke tolkes herfra: et anførselstegn afsluttes ikke",
                                    row=unterminated[0][0])
            raise ContractError(df.entry.path, f"manifestet lover {df.entry.rows} rækker, men filen har "
                                               f"{good + len(bad)}")
        seen = set()
        for row, kind, message in rejects:
            if row in seen:
                continue
            seen.add(row)
            con.execute("INSERT INTO _err VALUES (?, ?, ?, NULL, NULL, 'broken_row', ?)",
                        [t, df.entry.path, row, _broken_reason(kind, message, len(df.columns))])
        # Rows keep the file's order; a temp table's row ids are consecutive from some base.
        base = con.execute(f"SELECT coalesce(min(rowid), 0) FROM {q('_raw_' + t)}").fetchone()[0]
        if not bad:
            return f"SELECT rowid - {base} + 1 AS _row, * FROM {q('_raw_' + t)}"
        rows = np.setdiff1d(np.arange(1, good + len(bad) + 1, dtype=np.int64), np.array(bad, dtype=np.int64))
        con.register("_rownumbers", pa.table({"rid": np.arange(base, base + good, dtype=np.int64), "_row": rows}))
        con.execute(f"CREATE OR REPLACE TEMP TABLE {q('_rows_' + t)} AS SELECT * FROM _rownumbers")
        con.unregister("_rownumbers")
        return f"SELECT n._row, r.* FROM {q('_raw_' + t)} r JOIN {q('_rows_' + t)} n ON n.rid = r.rowid"

    def _stage(self, df: DeliveryFile, ctx: _Context) -> None:
        con, table = self.con, df.table
        t, csv = table.name, df.csv
        typed_cols = [f"{typed_sql(f, f.name, csv)} AS {q(f.name)}" for f in table.fields]
        if csv:
            typed_cols += [f"{q(f.name)} AS {q(f.name + '__raw')}" for f in table.fields if f.type != "string"]
        typed = f"SELECT _row, {', '.join(typed_cols)} FROM ({self._source(df, ctx)})"
        if t == "patient":
            self._pseudonymise(typed, ctx)
        extra, joins = [], []
        if table.per_patient:
            # The kind of every listed CPR was found once per person (_pmap); unlisted ones get theirs below.
            extra += ["pm.patient_key AS _key", "pm.birth_date AS _birth", "pm.death_date AS _death",
                      "pm.norm IS NOT NULL AS _listed", "pm.cpr_birth AS _cpr_birth", "pm.kind AS _kind"]
            joins.append("LEFT JOIN _pmap pm ON pm.norm = kp_norm_cpr(s.cpr)")
        for i, f in enumerate(code_fields(table)):
            system = "s.code_system" if f.code_system == "@code_system" else lit(f.code_system)
            joins.append(f"LEFT JOIN concept c{i} ON c{i}.system = {system} AND c{i}.code = s.{q(f.name)}")
            extra.append(f"c{i}.code IS NOT NULL AS {q(f.name + '__known')}")
            if f.name == "code" and measured_value(table):
                extra += [f"c{i}.unit AS _unit", f"c{i}.plausible_low AS _low", f"c{i}.plausible_high AS _high",
                          f"c{i}.allowed_values AS _values"]
        if "clinician_id" in table.columns and t != "clinician":
            joins.append("LEFT JOIN (SELECT DISTINCT clinician_id AS cid FROM _chk_clinician) cl "
                         "ON cl.cid = s.clinician_id")
            extra.append("cl.cid IS NOT NULL AS _clinician_known")
        # Read, typed and joined once: the checks, the failing rows and the insert all read this table.
        con.execute(f"CREATE OR REPLACE TEMP TABLE {q('_chk_' + t)} AS SELECT s.*, {', '.join(extra)} "
                    f"FROM ({typed}) s {' '.join(joins)}")
        if table.per_patient:
            self._classify_unlisted(q("_chk_" + t))
        checks = checks_for(table, csv=csv, ydernummer=ctx.manifest.ydernummer, extract_ts=ctx.extract_ts,
                            period=ctx.period, has_clinicians=True)
        self._run_checks(df, checks, ctx)

    def _run_checks(self, df: DeliveryFile, checks: list[Check], ctx: _Context) -> None:
        """One pass counts every check (the quality report); a second collects the rows of failing checks."""
        t = df.table.name
        aggregates = ["count(*)"]
        for c in checks:
            aggregates += [f"coalesce(count_if({c.applies}), 0)",  # count_if of no rows is NULL
                           c.count_failed or f"coalesce(count_if(({c.applies}) AND coalesce(({c.fails}), false)), 0)"]
        aggregates += [f"count(NULLIF({q(f.name)}, ''))" if f.type == "string" else f"count({q(f.name)})"
                       for f in df.table.fields]
        aggregates.append("count(DISTINCT _key)" if df.table.per_patient else "0")
        event = [f for f in df.table.fields if f.type in ("date", "timestamp")]
        aggregates += [f"max(CAST({q(f.name)} AS DATE)) FILTER (WHERE CAST({q(f.name)} AS DATE) <= "
                       f"CAST({ctx.extract_ts} AS DATE))" for f in event]
        values = self.con.execute(f"SELECT {', '.join(aggregates)} FROM {q('_chk_' + t)}").fetchone()
        n = values[0]
        failing = []
        for i, c in enumerate(checks):
            checked, failed = values[1 + 2 * i], values[2 + 2 * i]
            ctx.check_results.append((c, checked, failed))
            if failed and c.quarantine:
                failing.append(c)
        offset = 1 + 2 * len(checks)
        ctx.fill[t] = {f.name: (values[offset + j], n) for j, f in enumerate(df.table.fields)}
        offset += len(df.table.fields)
        if df.table.per_patient:
            ctx.patients[t] = values[offset]  # recounted over the loaded rows if any row is quarantined
        offset += 1
        ctx.latest[t] = {f.name: values[offset + j] for j, f in enumerate(event)}
        if not failing:
            return
        # The failing rows are few: collect them in one pass, then say what is wrong with each.
        chk, bad = q("_chk_" + t), q("_bad_" + t)
        plain = [c for c in failing if not c.window]
        if plain:
            self.con.execute(f"CREATE OR REPLACE TEMP TABLE {bad} AS SELECT * FROM {chk} WHERE "
                             + " OR ".join(f"(({c.applies}) AND coalesce(({c.fails}), false))" for c in plain))
        union = " UNION ALL ".join(
            f"SELECT {lit(t)}, {lit(df.entry.path)}, _row, {lit(c.field) if c.field else 'NULL'}, {c.value}, "
            f"{lit(c.rule)}, {c.reason} FROM {_with_window(chk, c.window) if c.window else bad} "
            f"WHERE ({c.applies}) AND coalesce(({c.fails}), false)" for c in failing)
        self.con.execute(f"INSERT INTO _err {union}")

    def _pseudonymise(self, typed_patients: str, ctx: _Context) -> None:
        """Kind, patient_key and pseudonym for every distinct CPR in the patient table, once per person."""
        con = self.con
        pattern = TABLES["patient"].columns["cpr"].pattern
        con.execute(f"CREATE OR REPLACE TEMP TABLE _pnorm AS SELECT kp_norm_cpr(cpr) AS norm, "
                    f"min(birth_date) AS birth_date, min(death_date) AS death_date FROM ({typed_patients}) "
                    f"WHERE regexp_full_match(cpr, {lit(pattern)}) GROUP BY ALL")
        norms = con.execute("SELECT norm FROM _pnorm").to_arrow_table().column(0).to_pylist()
        kinds, births = zip(*(cpr_sql.classify_one(n) for n in norms)) if norms else ((), ())
        ctx.cpr_kinds = dict(Counter(kinds))
        valid = [i for i, kind in enumerate(kinds) if kind != "invalid"]
        digests = [self.pseudonymiser.digest(norms[i]) for i in valid]
        people = pa.table({"norm": pa.array([norms[i] for i in valid], pa.string()),
                           "kind": pa.array([kinds[i] for i in valid], pa.string()),
                           "cpr_birth": pa.array([births[i] for i in valid], pa.date32()),
                           "patient_key": pa.array([patient_key_of(d) for d in digests], pa.int64()),
                           "pseudonym": pa.array([d.hex() for d in digests], pa.string())})
        con.register("_people", people)
        con.execute("CREATE OR REPLACE TEMP TABLE _pmap AS SELECT p.*, k.kind, k.cpr_birth, k.patient_key, "
                    "k.pseudonym FROM _pnorm p JOIN _people k USING (norm)")
        con.unregister("_people")

    def _classify_unlisted(self, chk: str) -> None:
        """The kind of CPRs that are not a listed patient's (few: unknown patients and invalid numbers)."""
        con = self.con
        values = [v for (v,) in con.execute(f"SELECT DISTINCT cpr FROM {chk} WHERE NOT _listed AND cpr <> ''")
                  .fetchall()]
        if not values:
            return
        con.register("_unlisted", pa.table({"cpr": values, "kind": [k for k, _ in cpr_sql.classify(values)]}))
        con.execute(f"UPDATE {chk} c SET _kind = u.kind FROM _unlisted u WHERE c.cpr = u.cpr AND NOT c._listed")
        con.unregister("_unlisted")

    def _check_key_collisions_within(self) -> None:
        found = self.con.execute("SELECT patient_key FROM _pmap GROUP BY patient_key HAVING count(*) > 1 "
                                 "LIMIT 1").fetchone()
        if found:
            raise _collision(found[0])

    def _check_key_collisions_with_vault(self) -> None:
        con = self.con
        # The delivery's known people, for this check and for the vault's update (`_update_vault`). Their keys are
        # found from the key column alone; the wide columns (pseudonym, encrypted name) are read only in the runs
        # of rows that hold them — a practice's patients were added together, so they lie in a few runs, and a
        # national vault is not read in full for every delivery.
        rowids = con.execute("SELECT v.rowid FROM identity_vault v SEMI JOIN _pmap p ON p.patient_key = "
                             "v.patient_key ORDER BY 1").fetchnumpy()["rowid"]
        runs = _runs(rowids)
        known = " UNION ALL ".join(
            "SELECT v.patient_key, v.pseudonym, v.cpr_kind, v.name_enc FROM identity_vault v SEMI JOIN _pmap p ON "
            f"p.patient_key = v.patient_key WHERE v.rowid BETWEEN {first} AND {last}" for first, last in runs
        ) if len(runs) <= MAX_VAULT_RUNS else ("SELECT v.patient_key, v.pseudonym, v.cpr_kind, v.name_enc FROM "
                                               "identity_vault v SEMI JOIN _pmap p ON p.patient_key = v.patient_key")
        con.execute("CREATE OR REPLACE TEMP TABLE _vault_old AS " + (known or
                    "SELECT patient_key, pseudonym, cpr_kind, name_enc FROM identity_vault LIMIT 0"))
        found = con.execute("SELECT o.patient_key FROM _vault_old o JOIN _pmap p USING (patient_key) "
                            "WHERE o.pseudonym <> p.pseudonym LIMIT 1").fetchone()
        if found:
            raise _collision(found[0])

    # ---- inserting ----------------------------------------------------------------------------------------------

    def _insert(self, df: DeliveryFile, ctx: _Context, upsert: bool) -> dict[str, int]:
        con, table = self.con, df.table
        t, loaded = table.name, LOADED[table.name]
        quarantined = ctx.quarantined.get(t, 0)
        good = (f"SELECT * FROM {q('_chk_' + t)} c WHERE NOT EXISTS (SELECT 1 FROM _err e WHERE "
                f"e.table_name = {lit(t)} AND e.row_number = c._row)") if quarantined else f"SELECT * FROM {q('_chk_' + t)}"
        select = []
        for col in loaded.columns:
            if col.source:
                kind = table.columns[col.source].type
                select.append(f"NULLIF({q(col.source)}, '')" if kind == "string" else q(col.source))
            elif col.name == "ydernummer":
                select.append(lit(ctx.manifest.ydernummer))
            elif col.name == "patient_key":
                select.append("_key")
            elif col.name == "delivery_id":
                select.append(lit(ctx.manifest.delivery_id))
            else:  # a derived date
                source = next(f.name for f in table.fields if derived_date(f.name) == col.name and f.name != col.name)
                select.append(f"CAST({q(source)} AS DATE)")
        select = [f"{expr} AS {q(name)}" for expr, name in zip(select, loaded.column_names)]
        names = ", ".join(q(c) for c in loaded.column_names)
        target = q(loaded.name)
        superseded = 0
        if table.per_patient:
            ctx.patients[t] = (ctx.patients[t] if not quarantined else con.execute(
                f"SELECT count(DISTINCT _key) FROM ({good})").fetchone()[0])
        if loaded.kind == "fact":
            good_rows = con.execute(f"INSERT INTO {target} ({names}) SELECT {', '.join(select)} "
                                    f"FROM ({good})").fetchone()[0]
            return {"received": df.entry.rows, "loaded": good_rows, "quarantined": quarantined}
        con.execute(f"CREATE OR REPLACE TEMP TABLE {q('_good_' + t)} AS SELECT {', '.join(select)} FROM ({good})")
        good_rows = con.execute(f"SELECT count(*) FROM {q('_good_' + t)}").fetchone()[0]
        if upsert:
            match = " AND ".join(f"w.{q(k)} = g.{q(k)}" for k in loaded.key)
            con.execute(f"DELETE FROM {target} w USING {q('_good_' + t)} g WHERE {match} AND w.delivery_id IN "
                        f"(SELECT id FROM delivery WHERE ydernummer = ? AND extract_ts <= ?)",
                        [ctx.manifest.ydernummer, ctx.manifest.extract_ts])
            inserted = con.execute(f"INSERT INTO {target} ({names}) SELECT {names} FROM {q('_good_' + t)} g WHERE "
                                   f"NOT EXISTS (SELECT 1 FROM {target} w WHERE {match})").fetchone()[0]
            superseded = good_rows - inserted
        else:
            con.execute(f"INSERT INTO {target} ({names}) SELECT {names} FROM {q('_good_' + t)}")
        counts = {"received": df.entry.rows, "loaded": good_rows - superseded, "quarantined": quarantined}
        if superseded:
            counts["superseded"] = superseded
        return counts

    def _update_vault(self) -> None:
        """Encrypted CPR and name for every patient with a loaded listing; a changed name replaces the old one."""
        con = self.con
        rows = con.execute(
            "SELECT p.patient_key, p.pseudonym, p.kind, p.norm, arg_max(c.name, c.list_start) FROM _pmap p "
            "JOIN (SELECT * FROM _chk_patient c WHERE NOT EXISTS (SELECT 1 FROM _err e WHERE e.table_name = "
            "'patient' AND e.row_number = c._row)) c ON c._key = p.patient_key GROUP BY ALL").fetchall()
        if not rows:
            return
        encrypt = self.cipher.encrypt
        vault = pa.table({
            "patient_key": pa.array([r[0] for r in rows], pa.int64()),
            "pseudonym": [r[1] for r in rows],
            "cpr_kind": [r[2] for r in rows],
            "cpr_enc": pa.array([encrypt("cpr", r[1], r[3]) for r in rows], pa.binary()),
            "name_enc": pa.array([encrypt("name", r[1], r[4]) for r in rows], pa.binary()),
        })
        con.register("_vault_new", vault)
        # a known person's name and kind follow the newest delivery (the encryption is deterministic, so an
        # unchanged name is an equal blob and is left alone); unknown people are added (`VaultClaims` lets one
        # worker at a time add a person, so the key stays unique without an index)
        changed = "SELECT n.* FROM _vault_new n JOIN _vault_old o USING (patient_key) WHERE " \
                  "o.name_enc <> n.name_enc OR o.cpr_kind <> n.cpr_kind"
        if con.execute(f"SELECT count(*) FROM ({changed})").fetchone()[0]:
            con.execute(f"UPDATE identity_vault v SET name_enc = c.name_enc, cpr_kind = c.cpr_kind FROM ({changed}) c "
                        "WHERE v.patient_key = c.patient_key")
        con.execute("INSERT INTO identity_vault (patient_key, pseudonym, cpr_kind, cpr_enc, name_enc) "
                    "SELECT patient_key, pseudonym, cpr_kind, cpr_enc, name_enc FROM _vault_new "
                    "ANTI JOIN _vault_old USING (patient_key)")
        con.unregister("_vault_new")

    def _close_practice_periods(self, ydernummer: str) -> None:
        """SCD2: an open or overlapping period ends the day before the practice's next period begins."""
        self.con.execute(
            "UPDATE practice_period p SET valid_to = n.next_from - 1 FROM (SELECT valid_from, lead(valid_from) "
            "OVER (ORDER BY valid_from) AS next_from FROM practice_period WHERE ydernummer = ?) n "
            "WHERE p.ydernummer = ? AND p.valid_from = n.valid_from AND n.next_from IS NOT NULL AND "
            "(p.valid_to IS NULL OR p.valid_to >= n.next_from)", [ydernummer, ydernummer])

    def _delete_delivery_rows(self, delivery_id: str) -> None:
        for loaded in LOADED.values():
            self.con.execute(f"DELETE FROM {q(loaded.name)} WHERE delivery_id = ?", [delivery_id])


MAX_VAULT_RUNS = 64  # more runs of known people than this: one scan of the whole vault is cheaper


def _runs(rowids: np.ndarray, gap: int = 4096) -> list[tuple[int, int]]:
    """Sorted row ids as runs (first, last), a new run where the next row is more than `gap` rows on."""
    if not len(rowids):
        return []
    breaks = np.flatnonzero(np.diff(rowids) > gap)
    starts = np.concatenate(([0], breaks + 1))
    ends = np.concatenate((breaks, [len(rowids) - 1]))
    return [(int(rowids[a]), int(rowids[b])) for a, b in zip(starts, ends)]


def _collision(key: int) -> WarehouseError:
    return WarehouseError(f"nøglekollision: to forskellige CPR-numre giver samme patient_key ({key}). Leverancen er "
                          "ikke indlæst; kontakt driften (nøglen skal udvides).")


class _Unrecorded(ContractError):
    """A rejection that must not touch the catalogue row of the same id (it belongs to a loaded delivery)."""

    record = False

    def __init__(self, delivery_id: str, message: str):
        super().__init__("manifest.json", message, field="delivery_id")


@dataclass
class _Context:
    manifest: Manifest
    check_results: list = field(default_factory=list)  # (Check, checked, failed)
    fill: dict = field(default_factory=dict)
    latest: dict = field(default_factory=dict)
    patients: dict = field(default_factory=dict)
    cpr_kinds: dict = field(default_factory=dict)
    quarantined: dict = field(default_factory=dict)  # table → rows quarantined

    @property
    def extract_ts(self) -> str:
        return f"TIMESTAMP {lit(self.manifest.extract_ts.isoformat(sep=' '))}"

    @property
    def period(self) -> tuple[str, str]:
        return (f"DATE {lit(self.manifest.period_start.isoformat())}",
                f"DATE {lit(self.manifest.period_end.isoformat())}")


def _with_window(table: str, window: str | None) -> str:
    return f"(SELECT *, {window} FROM {table})" if window else table


def _broken_reason(kind: str, message: str, expected: int) -> str:
    import re

    found = re.search(r"Found:\s*(\d+)", message or "")
    if kind in ("MISSING COLUMNS", "TOO MANY COLUMNS") and found:
        word = "for få" if kind == "MISSING COLUMNS" else "for mange"
        return f"rækken har {word} felter ({found.group(1)}, kontrakten kræver {expected})"
    if kind == "MISSING COLUMNS":
        return f"rækken har for få felter (kontrakten kræver {expected})"
    if kind == "TOO MANY COLUMNS":
        return f"rækken har for mange felter (kontrakten kræver {expected})"
    if kind == "UNQUOTED VALUE":
        return "rækken har et anførselstegn, der ikke er afsluttet korrekt"
    return f"rækken kan ikke læses som CSV ({kind.lower()})"
