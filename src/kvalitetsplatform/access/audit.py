"""The audit log: append-only, hash-chained, verifiable, with retention that keeps the chain verifiable.

Each entry's hash is HMAC-SHA256(audit key, previous hash ‖ canonical JSON of the entry, its sequence number
included). The key is derived from KP_SESSION_SECRET and never stored in the database, so someone who edits rows
directly cannot recompute a valid chain. `verify` walks the chain and names every edited, deleted or reordered entry;
a signed head (the newest sequence number and hash) catches deletion of the newest entries.

Retention: `expire` records a signed checkpoint holding the hash of the last expired entry, then deletes the expired
entries (database triggers allow deleting only entries a checkpoint covers, and never UPDATE). Verification starts
from the newest checkpoint, so the remaining chain stays verifiable.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import func, insert, select, text, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError, OperationalError

from kvalitetsplatform.access.db import audit_checkpoint, audit_entry, audit_head, org_unit

GENESIS = "0" * 64
DEFAULT_RETENTION_DAYS = 730  # 2 years, as sundhed.dk's MinLog

# Actions that concern one patient and belong in the patient's own access history.
PATIENT_ACTIONS = ("identity_lookup", "launch_patient", "patient_view")
PURPOSE_DA = {"42a": "Aktuel behandling (sundhedslovens § 42 a)",
              "42d": "Kvalitetsarbejde (sundhedslovens § 42 d)"}
ACTION_DA = {"identity_lookup": "Opslag af CPR-nummer og navn", "launch_patient": "Åbnet fra lægesystemet",
             "patient_view": "Visning af patientdata"}
CONTENT = ("seq", "at", "action", "user_id", "username", "role", "ydernummer", "patient_key", "purpose", "object",
           "details")


def now_utc() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def audit_key(session_secret: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                info=b"kvalitetsplatform audit chain v1").derive(session_secret)


def canonical(entry: dict) -> str:
    values = {k: entry.get(k) for k in CONTENT}
    values["at"] = entry["at"].isoformat(timespec="microseconds")
    return json.dumps(values, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


@dataclass
class Verification:
    ok: bool
    entries: int
    first_seq: int | None
    last_seq: int | None
    checkpoints: int
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return self.__dict__.copy()


class AuditLog:
    def __init__(self, engine: Engine, key: bytes):
        self.engine = engine
        self._key = key

    @classmethod
    def from_settings(cls, engine: Engine, settings) -> AuditLog:
        return cls(engine, audit_key(settings.session_secret))

    def _mac(self, message: str) -> str:
        return hmac.new(self._key, message.encode("utf-8"), hashlib.sha256).hexdigest()

    def entry_hash(self, prev_hash: str, entry: dict) -> str:
        return self._mac(prev_hash + "\n" + canonical(entry))

    # -- writing ------------------------------------------------------------------------------------------------

    def record(self, action: str, *, conn: Connection | None = None, **fields) -> int:
        """Append one entry; returns its sequence number. With `conn`, inside the caller's transaction."""
        return self.record_many([dict(action=action, **fields)], conn=conn)[-1]

    def record_many(self, entries: list[dict], conn: Connection | None = None) -> list[int]:
        if conn is not None:
            return self._append(conn, entries)
        for _attempt in range(50):
            try:
                with self.engine.begin() as c:
                    return self._append(c, entries)
            except (IntegrityError, OperationalError):  # another writer took the sequence number: retry
                continue
        raise RuntimeError("revisionsloggen kunne ikke skrives (for mange samtidige skrivninger)")

    def _append(self, conn: Connection, entries: list[dict]) -> list[int]:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(74201)"))
        head = conn.execute(select(audit_entry.c.seq, audit_entry.c.entry_hash)
                            .order_by(audit_entry.c.seq.desc()).limit(1)).first()
        if head is None:
            checkpoint = self._latest_checkpoint(conn)
            seq, prev = (checkpoint.up_to_seq, checkpoint.last_hash) if checkpoint else (0, GENESIS)
        else:
            seq, prev = head.seq, head.entry_hash
        at = now_utc()
        written = []
        for e in entries:
            seq += 1
            row = {k: e.get(k) for k in CONTENT if k not in ("seq", "at")}
            details = row.get("details")
            row["details"] = None if details is None else json.dumps(details, ensure_ascii=False, sort_keys=True,
                                                                      default=str)
            row.update(seq=seq, at=e.get("at") or at)
            row["entry_hash"] = self.entry_hash(prev, row)
            row["prev_hash"] = prev
            conn.execute(insert(audit_entry).values(**row))
            prev = row["entry_hash"]
            written.append(seq)
        signature = self._mac(f"head:{seq}:{prev}")
        if conn.execute(update(audit_head).where(audit_head.c.id == 1)
                        .values(seq=seq, entry_hash=prev, signature=signature)).rowcount == 0:
            conn.execute(insert(audit_head).values(id=1, seq=seq, entry_hash=prev, signature=signature))
        return written

    # -- verifying ----------------------------------------------------------------------------------------------

    @staticmethod
    def _latest_checkpoint(conn: Connection):
        return conn.execute(select(audit_checkpoint).order_by(audit_checkpoint.c.up_to_seq.desc()).limit(1)).first()

    def _checkpoint_signature(self, up_to_seq: int, last_hash: str, expired_before: datetime, n: int) -> str:
        return self._mac(f"checkpoint:{up_to_seq}:{last_hash}:{expired_before.isoformat()}:{n}")

    def verify(self) -> Verification:
        problems: list[str] = []
        with self.engine.connect() as conn:
            checkpoints = conn.execute(select(audit_checkpoint).order_by(audit_checkpoint.c.up_to_seq)).all()
            entries = conn.execute(select(audit_entry).order_by(audit_entry.c.seq)).mappings().all()
            head = conn.execute(select(audit_head).where(audit_head.c.id == 1)).first()
        for c in checkpoints:
            if c.signature != self._checkpoint_signature(c.up_to_seq, c.last_hash, c.expired_before,
                                                         c.entries_expired):
                problems.append(f"kontrolpunktet til og med post {c.up_to_seq} er ændret (signaturen passer ikke)")
        latest = checkpoints[-1] if checkpoints else None
        expected_seq, expected_prev = (latest.up_to_seq + 1, latest.last_hash) if latest else (1, GENESIS)
        for e in entries:
            if e["seq"] != expected_seq:
                if e["seq"] > expected_seq:
                    missing = (f"post {expected_seq}" if e["seq"] == expected_seq + 1
                               else f"posterne {expected_seq}–{e['seq'] - 1}")
                    problems.append(f"{missing} mangler (slettet)")
                else:
                    problems.append(f"post {e['seq']} står uden for rækkefølgen")
            if e["prev_hash"] != expected_prev:
                problems.append(f"post {e['seq']}: kæden er brudt (forrige hash passer ikke; poster slettet eller "
                                "byttet om)")
            if self.entry_hash(e["prev_hash"], dict(e)) != e["entry_hash"]:
                problems.append(f"post {e['seq']} er ændret (hash passer ikke med indholdet)")
            expected_seq, expected_prev = e["seq"] + 1, e["entry_hash"]
        last_seq = entries[-1]["seq"] if entries else (latest.up_to_seq if latest else 0)
        last_hash = entries[-1]["entry_hash"] if entries else (latest.last_hash if latest else GENESIS)
        if head is None:
            if entries:
                problems.append("loggens signerede hoved mangler")
        elif head.signature != self._mac(f"head:{head.seq}:{head.entry_hash}"):
            problems.append("loggens hoved er ændret (signaturen passer ikke)")
        elif head.seq != last_seq or head.entry_hash != last_hash:
            if head.seq > last_seq:
                problems.append(f"de nyeste poster {last_seq + 1}–{head.seq} mangler (slettet)")
            else:
                problems.append(f"loggens hoved (post {head.seq}) passer ikke med den nyeste post {last_seq}")
        return Verification(not problems, len(entries), entries[0]["seq"] if entries else None,
                            entries[-1]["seq"] if entries else None, len(checkpoints), problems)

    # -- retention ----------------------------------------------------------------------------------------------

    def expire(self, retention_days: int = DEFAULT_RETENTION_DAYS, now: datetime | None = None) -> dict:
        """Delete entries older than the retention period, keeping the chain verifiable with a checkpoint."""
        cutoff = (now or now_utc()) - timedelta(days=retention_days)
        with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(74201)"))
            last = conn.execute(select(audit_entry.c.seq, audit_entry.c.entry_hash).where(audit_entry.c.at < cutoff)
                                .order_by(audit_entry.c.seq.desc()).limit(1)).first()
            if last is None:
                return {"expired": 0, "cutoff": cutoff.isoformat()}
            n = conn.execute(select(func.count()).select_from(audit_entry)
                             .where(audit_entry.c.seq <= last.seq)).scalar_one()
            conn.execute(insert(audit_checkpoint).values(
                up_to_seq=last.seq, last_hash=last.entry_hash, expired_before=cutoff, entries_expired=n,
                created_at=now_utc(), signature=self._checkpoint_signature(last.seq, last.entry_hash, cutoff, n)))
            conn.execute(audit_entry.delete().where(audit_entry.c.seq <= last.seq))
        return {"expired": n, "up_to_seq": last.seq, "cutoff": cutoff.isoformat()}

    # -- reading ------------------------------------------------------------------------------------------------

    def patient_history(self, patient_key: int) -> list[dict]:
        """A patient's own access history for a subject-access request: dates, practice and purpose — never the
        names or ids of the staff who looked."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(audit_entry.c.at, audit_entry.c.action, audit_entry.c.ydernummer,
                                       audit_entry.c.purpose)
                                .where(audit_entry.c.patient_key == patient_key,
                                       audit_entry.c.action.in_(PATIENT_ACTIONS))
                                .order_by(audit_entry.c.seq)).all()
            names = {r.code: r.name for r in conn.execute(select(org_unit.c.code, org_unit.c.name)
                                                          .where(org_unit.c.level == "practice"))}
        return [{"dato": r.at.strftime("%d.%m.%Y"), "tidspunkt": r.at.strftime("%H:%M"),
                 "handling": ACTION_DA.get(r.action, r.action), "ydernummer": r.ydernummer,
                 "praksis": names.get(r.ydernummer, ""), "formål": PURPOSE_DA.get(r.purpose or "", r.purpose or "")}
                for r in rows]
