"""The report library, subscriptions and sent notifications in the app DB (created by the Alembic revision
`r001` in access/migrations). Declared on the app DB's metadata so Alembic and the app see one schema."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger, Boolean, Column, Date, DateTime, ForeignKey, Index, Integer, String, Table, UniqueConstraint,
)

from kvalitetsplatform.access.db import metadata

# One row per built PDF. The file lies under KP_HOME/reports/<file>. A report is for one audience (kind + code);
# `version` counts rebuilds of the same audience, package, period and language.
report = Table(
    "report", metadata,
    Column("id", String(80), primary_key=True),
    Column("kind", String(16), nullable=False),  # practice | cluster | region
    Column("scope_code", String(32), nullable=False),  # ydernummer | cluster id | region code
    Column("audience_role", String(32), nullable=False),  # the role it was read as (access.roles.Role)
    Column("package", String(64), nullable=False),
    Column("package_version", String(32), nullable=False),
    Column("period", Date, nullable=False),  # the reference date
    Column("compared_with", Date),  # the earlier period its changes are measured from
    Column("lang", String(2), nullable=False),
    Column("version", Integer, nullable=False),
    Column("title", String(300), nullable=False),
    Column("file", String(400), nullable=False),
    Column("bytes", Integer, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("pages", Integer, nullable=False),
    Column("compute_run", BigInteger),
    Column("created_at", DateTime, nullable=False),
    Column("created_by", String(120), nullable=False),
    UniqueConstraint("kind", "scope_code", "package", "period", "lang", "version", name="uq_report_edition"),
    Index("ix_report_scope", "kind", "scope_code"),
)

# A person's wish to hear about new editions of a package report for one of their audiences.
subscription = Table(
    "report_subscription", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", Integer, ForeignKey("user_account.id"), nullable=False, index=True),
    Column("kind", String(16), nullable=False),
    Column("scope_code", String(32), nullable=False),
    Column("package", String(64), nullable=False),
    Column("lang", String(2), nullable=False),
    Column("email", String(254), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("cancelled_at", DateTime),
)

# Every notification sent (or tried): one per subscription and report edition, so none is sent twice.
notification = Table(
    "report_notification", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("subscription_id", Integer, ForeignKey("report_subscription.id"), nullable=False),
    Column("report_id", String(80), ForeignKey("report.id"), nullable=False),
    Column("sent_at", DateTime, nullable=False),
    Column("status", String(16), nullable=False),  # sent | failed | skipped
    Column("detail", String(400)),
    UniqueConstraint("subscription_id", "report_id", name="uq_report_notification_once"),
)
