"""The deliveries catalogue, read through Ibis: what was delivered, what became of it, and its quality."""

from __future__ import annotations

import json

import ibis

from kvalitetsplatform.settings import Settings
from kvalitetsplatform.warehouse import connect

LIST_COLUMNS = ("id", "ydernummer", "vendor", "extract_ts", "period_start", "period_end", "status", "loaded_at",
                "replaced_by", "rows_received", "rows_loaded", "rows_quarantined", "error")


def _summary(quality: str | None) -> dict:
    return json.loads(quality)["summary"] if quality else {}


def list_deliveries(settings: Settings, ydernummer: str | None = None, status: str | None = None) -> list[dict]:
    """Deliveries, newest extract first, each with the summary of its quality report."""
    backend = connect(settings)
    try:
        t = backend.table("delivery")
        if ydernummer:
            t = t.filter(t.ydernummer == ydernummer)
        if status:
            t = t.filter(t.status == status)
        rows = t.select(*LIST_COLUMNS, "quality").order_by([t.extract_ts.desc(), t.id]).to_pyarrow().to_pylist()
    finally:
        backend.disconnect()
    for row in rows:
        row["quality"] = _summary(row.pop("quality"))
    return rows


def get_delivery(settings: Settings, delivery_id: str, examples: int = 20) -> dict | None:
    """One delivery with its full quality report, row counts per table and a summary of its quarantine."""
    backend = connect(settings)
    try:
        t = backend.table("delivery")
        found = t.filter(t.id == delivery_id).to_pyarrow().to_pylist()
        if not found:
            return None
        row = found[0]
        qt = backend.table("quarantine")
        mine = qt.filter(qt.delivery_id == delivery_id)
        summary = (mine.group_by(["table_name", "field", "rule"]).aggregate(rows=mine.count())
                   .order_by([ibis.desc("rows"), "table_name", "field"]).to_pyarrow().to_pylist())
        first = (mine.order_by(["table_name", "row_number", "field"]).limit(examples)
                 .select("file", "table_name", "row_number", "field", "value", "rule", "reason")
                 .to_pyarrow().to_pylist())
    finally:
        backend.disconnect()
    for name in ("row_counts", "files", "quality"):
        row[name] = json.loads(row[name]) if row[name] else None
    row["quarantine"] = {"by_rule": summary, "examples": first}
    return row
