"""The application database: organisations, users, grants, sessions, launch vendors, the audit log and usage events.

SQLAlchemy Core tables, one declaration; Alembic migrations (access/migrations) create them. SQLite under KP_HOME by
default (settings.database_url), PostgreSQL in production. `open_appdb(settings)` is the one way in: it migrates to
the newest revision and returns an Engine.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import (
    BigInteger, Boolean, Column, Date, DateTime, ForeignKey, Index, Integer, MetaData, String, Table, Text,
    create_engine, event,
)
from sqlalchemy.engine import Engine

from kvalitetsplatform.settings import Settings

metadata = MetaData(naming_convention={
    "ix": "ix_%(column_0_label)s", "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s", "pk": "pk_%(table_name)s",
})

# --- organisations (synced from the warehouse) -------------------------------------------------------------------

# One row per practice, cluster, region and municipality; `level` says which. `region_code` is the region the unit
# lies in (for a practice: its newest period's region).
org_unit = Table(
    "org_unit", metadata,
    Column("level", String(16), primary_key=True),  # practice | cluster | region | municipality
    Column("code", String(32), primary_key=True),  # ydernummer | cluster_id | region_code | kommune_code
    Column("name", String(200), nullable=False),
    Column("region_code", String(8)),
)

# A practice's cluster, region and municipality over time (from the warehouse's practice_period).
practice_membership = Table(
    "practice_membership", metadata,
    Column("ydernummer", String(6), primary_key=True),
    Column("valid_from", Date, primary_key=True),
    Column("valid_to", Date),  # inclusive; NULL while current
    Column("cluster_id", String(32), nullable=False),
    Column("region_code", String(8), nullable=False),
    Column("kommune_code", String(8), nullable=False),
)

# What a cluster decided: are its practices shown to each other by name or as letters? Not synced: the cluster's own.
cluster_setting = Table(
    "cluster_setting", metadata,
    Column("cluster_id", String(32), primary_key=True),
    Column("peer_display", String(8), nullable=False),  # names | letters
    Column("changed_at", DateTime, nullable=False),
    Column("changed_by", Integer),
)

# The packages a cluster follows: its practices' cockpits show these first (every package when it chose none).
cluster_package = Table(
    "cluster_package", metadata,
    Column("cluster_id", String(32), primary_key=True),
    Column("package", String(64), primary_key=True),
    Column("changed_at", DateTime, nullable=False),
    Column("changed_by", Integer),
)

# One row, its version raised in the transaction of every change to the four tables above (`orgs.py` writes them all),
# so a process can tell whether its copy of the organisation is current by reading one number.
org_version = Table(
    "org_version", metadata,
    Column("id", Integer, primary_key=True),
    Column("version", Integer, nullable=False),
)

# --- users and grants -----------------------------------------------------------------------------------------------

user_account = Table(
    "user_account", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(120), nullable=False, unique=True),
    Column("display_name", String(200), nullable=False),
    Column("password_hash", String(255)),  # argon2id; NULL for users who only come through launch from their LPS
    Column("disabled", Boolean, nullable=False, default=False),
    Column("created_at", DateTime, nullable=False),
)

# A role held over a scope (an org unit, or "national" for public viewers and KiAP administrators). Revoked grants
# stay, with revoked_at, so the history is kept.
role_grant = Table(
    "role_grant", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", Integer, ForeignKey("user_account.id"), nullable=False, index=True),
    Column("role", String(32), nullable=False),
    Column("scope_level", String(16), nullable=False),
    Column("scope_code", String(32), nullable=False),
    Column("granted_at", DateTime, nullable=False),
    Column("granted_by", Integer),
    Column("revoked_at", DateTime),
    Column("revoked_by", Integer),
)

# --- sign-in --------------------------------------------------------------------------------------------------------

web_session = Table(
    "web_session", metadata,
    Column("token_hash", String(64), primary_key=True),  # SHA-256 of the cookie value; the value itself is not kept
    Column("user_id", Integer, ForeignKey("user_account.id"), nullable=False, index=True),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("last_seen", DateTime, nullable=False),
    Column("ended_at", DateTime),
    Column("launch_ydernummer", String(6)),  # a launch from the LPS narrows the session to this practice
    Column("launch_patient_key", BigInteger),
    Column("launch_vendor", String(64)),
)

sign_in_attempt = Table(
    "sign_in_attempt", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(120), nullable=False),
    Column("client", String(64), nullable=False),
    Column("at", DateTime, nullable=False),
    Column("succeeded", Boolean, nullable=False),
    Index("ix_sign_in_attempt_username_at", "username", "at"),
    Index("ix_sign_in_attempt_client_at", "client", "at"),
)

# A practice-system vendor allowed to launch the platform; its public key verifies launch tokens.
launch_vendor = Table(
    "launch_vendor", metadata,
    Column("name", String(64), primary_key=True),  # the token's `iss`
    Column("algorithm", String(8), nullable=False),  # RS256 | ES256
    Column("public_key_pem", Text, nullable=False),
    Column("registered_at", DateTime, nullable=False),
    Column("active", Boolean, nullable=False, default=True),
)

# Launch tokens already used (`jti`), kept until they expire, so a token works once.
launch_token_used = Table(
    "launch_token_used", metadata,
    Column("vendor", String(64), primary_key=True),
    Column("jti", String(200), primary_key=True),
    Column("expires_at", DateTime, nullable=False),
)

# --- audit log and usage --------------------------------------------------------------------------------------------

# Append-only and hash-chained: `entry_hash` = HMAC-SHA256(audit key, prev_hash ‖ canonical content). Triggers refuse
# UPDATE, and DELETE of any entry not covered by a checkpoint (see access/audit.py).
audit_entry = Table(
    "audit_entry", metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("at", DateTime, nullable=False, index=True),
    Column("action", String(32), nullable=False),  # sign_in | sign_in_failed | launch | lookup | worklist | ...
    Column("user_id", Integer),
    Column("username", String(120)),
    Column("role", String(32)),
    Column("ydernummer", String(6)),
    Column("patient_key", BigInteger, index=True),
    Column("purpose", String(8)),  # 42a | 42d
    Column("object", String(400)),
    Column("details", Text),  # canonical JSON
    Column("prev_hash", String(64), nullable=False),
    Column("entry_hash", String(64), nullable=False),
)

# The chain head (one row), signed, so deleting the newest entries is detected too.
audit_head = Table(
    "audit_head", metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", BigInteger, nullable=False),
    Column("entry_hash", String(64), nullable=False),
    Column("signature", String(64), nullable=False),
)

# When expired entries are deleted, the last expired entry's hash is recorded (signed) so the chain stays verifiable.
audit_checkpoint = Table(
    "audit_checkpoint", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("up_to_seq", BigInteger, nullable=False, unique=True),
    Column("last_hash", String(64), nullable=False),
    Column("expired_before", DateTime, nullable=False),
    Column("entries_expired", Integer, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("signature", String(64), nullable=False),
)

usage_event = Table(
    "usage_event", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime, nullable=False),
    Column("month", String(7), nullable=False),  # YYYY-MM, for the monthly count
    Column("user_id", Integer, nullable=False),
    Column("role", String(32), nullable=False),
    Column("region_code", String(8), nullable=False),  # "" for national scopes
    Column("kind", String(32), nullable=False),
    Index("ix_usage_event_month", "month", "role", "region_code"),
)


def make_engine(url: str) -> Engine:
    """An Engine for the app DB; SQLite gets foreign keys on and a busy timeout so concurrent writers wait."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection, _record):  # pragma: no cover - trivial
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the app DB to `revision` with Alembic."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def open_appdb(settings: Settings) -> Engine:
    engine = make_engine(settings.database_url)
    migrate(engine)
    return engine
