"""Protected views kept on disk, so a view is protected once per scope and compute run and survives a restart.

A view is the gate's protected table of one indicator and reference date for one scope, exactly as the gate serves
it, whole or its totals alone. Each is stored under a key that hashes everything it depends on: the scope key (what
the person may see), the indicator, the date, the results store's version, the organisation's fingerprint, the
disclosure policy and the part. A
view is therefore never served to another scope, nor after the results, the organisation (memberships, a cluster's
choice of names or letters) or the policy changed: those give another key. Entries of older results versions are
deleted by `prune` (`kp protect` does it before it fills the store).

SQLite in WAL mode at `$KP_HOME/protected_views.sqlite` (next to the results store): one reader connection per
thread, concurrent writers (the server and `kp protect`'s workers) wait for each other. Views are JSON; the one
date field (`ref_date`) is written as ISO text and read back as a date.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Iterable
from datetime import date
from pathlib import Path

SCHEMA = """CREATE TABLE IF NOT EXISTS protected_view (
    key TEXT PRIMARY KEY,
    results_version TEXT NOT NULL,
    view TEXT NOT NULL
)"""


def view_key(scope_key: str, indicator_id: str, day: date, results_version: str, org_fingerprint: str,
             policy: object, part: str) -> str:
    text = json.dumps([scope_key, indicator_id, day.isoformat(), results_version, org_fingerprint, repr(policy),
                       part])
    return hashlib.sha256(text.encode()).hexdigest()


class ViewStore:
    """Protected views by key. `path=None` keeps them in this process only (tests, a gate without KP_HOME)."""

    def __init__(self, path: Path | None):
        self.path = path
        self._local = threading.local()
        self._memory: dict[str, list[dict]] = {}
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            with self._connect() as con:
                con.execute("PRAGMA journal_mode=WAL")
                con.execute(SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=60, isolation_level=None)

    def _con(self) -> sqlite3.Connection:
        con = getattr(self._local, "con", None)
        if con is None:
            con = self._local.con = self._connect()
            con.execute("PRAGMA synchronous=NORMAL")
        return con

    def get_many(self, keys: Iterable[str]) -> dict[str, list[dict]]:
        keys = list(dict.fromkeys(keys))
        if self.path is None:
            return {k: self._memory[k] for k in keys if k in self._memory}
        out: dict[str, list[dict]] = {}
        con = self._con()
        for i in range(0, len(keys), 500):
            chunk = keys[i:i + 500]
            marks = ",".join("?" * len(chunk))
            for key, text in con.execute(f"SELECT key, view FROM protected_view WHERE key IN ({marks})", chunk):
                out[key] = _decode(text)
        return out

    def put_many(self, views: dict[str, list[dict]], results_version: str) -> None:
        if not views:
            return
        if self.path is None:
            self._memory.update(views)
            return
        con = self._con()
        con.execute("BEGIN IMMEDIATE")
        try:
            con.executemany("INSERT OR REPLACE INTO protected_view VALUES (?, ?, ?)",
                            [(k, results_version, _encode(v)) for k, v in views.items()])
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise

    def prune(self, results_version: str) -> int:
        """Delete the views of every other results version; returns how many."""
        if self.path is None:
            self._memory.clear()
            return 0
        return self._con().execute("DELETE FROM protected_view WHERE results_version != ?",
                                   [results_version]).rowcount

    def count(self, results_version: str | None = None) -> int:
        if self.path is None:
            return len(self._memory)
        if results_version is None:
            return self._con().execute("SELECT count(*) FROM protected_view").fetchone()[0]
        return self._con().execute("SELECT count(*) FROM protected_view WHERE results_version = ?",
                                   [results_version]).fetchone()[0]


def _encode(view: list[dict]) -> str:
    return json.dumps([{**r, "ref_date": r["ref_date"].isoformat()} for r in view], separators=(",", ":"))


def _decode(text: str) -> list[dict]:
    rows = json.loads(text)
    for r in rows:
        r["ref_date"] = date.fromisoformat(r["ref_date"])
    return rows
