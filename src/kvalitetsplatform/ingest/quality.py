"""The data-quality report kept with every delivery, in the manner of OHDSI's Data Quality Dashboard.

Three categories (Kahn et al.): *completeness* (required fields filled, optional fields' fill rates, the share of
listed patients with any record in each fact table), *conformance* (types, allowed values, formats, codes in the
terminology, units, unique keys, references) and *plausibility* (value ranges per code, dates not in the future,
before birth or after death, start before end, facts inside the delivery's period), plus *freshness* (how old the
newest fact is at extract time). Every check reports rows checked and failed; a category's score is the share of
checked rows that passed, over all its checks.
"""

from __future__ import annotations

from datetime import date

from kvalitetsplatform.contract.delivery import Manifest


def _pct(passed: int, total: int) -> float | None:
    return round(100.0 * passed / total, 2) if total else None


def quality_report(manifest: Manifest, counts: dict, check_results: list, fill: dict, latest: dict,
                   patients: dict, cpr_kinds: dict) -> dict:
    checks = []
    totals = {"completeness": [0, 0], "conformance": [0, 0], "plausibility": [0, 0]}
    for check, checked, failed in check_results:
        totals[check.category][0] += checked
        totals[check.category][1] += failed
        checks.append({"check": check.name, "table": check.table, "field": check.field, "rule": check.rule,
                       "category": check.category, "checked": checked, "failed": failed,
                       "pass_pct": _pct(checked - failed, checked), "quarantines": check.quarantine,
                       "status": "not_applicable" if not checked else ("passed" if not failed else "failed")})
    listed = patients.get("patient", 0)
    extract_day = manifest.extract_ts.date()
    newest: dict[str, str | None] = {}
    for table, dates in latest.items():
        if table in ("patient", "practice", "clinician"):
            continue
        found = [d for d in dates.values() if isinstance(d, date)]
        newest[table] = max(found).isoformat() if found else None
    newest_any = max((date.fromisoformat(d) for d in newest.values() if d), default=None)
    return {
        "summary": {
            "rows_received": sum(c["received"] for c in counts.values()),
            "rows_loaded": sum(c["loaded"] for c in counts.values()),
            "rows_quarantined": sum(c["quarantined"] for c in counts.values()),
            **{f"{cat}_pct": _pct(n - failed, n) for cat, (n, failed) in totals.items()},
            "checks_failed": sum(1 for c in checks if c["status"] == "failed"),
            "checks_run": len(checks),
        },
        "tables": {table: {**c, "fill_pct": {f: _pct(filled, n) for f, (filled, n) in fill.get(table, {}).items()}}
                   for table, c in counts.items()},
        "patients": {
            "listed": listed,
            "with_records": {t: n for t, n in patients.items() if t != "patient"},
            "share_pct": {t: _pct(n, listed) for t, n in patients.items() if t != "patient"},
            "cpr_kinds": cpr_kinds,
        },
        "freshness": {
            "extract_ts": manifest.extract_ts.isoformat(),
            "period_start": manifest.period_start.isoformat(),
            "period_end": manifest.period_end.isoformat(),
            "days_from_period_end_to_extract": (extract_day - manifest.period_end).days,
            "newest_fact": newest,
            "days_since_newest_fact": (extract_day - newest_any).days if newest_any else None,
        },
        "checks": checks,
    }
