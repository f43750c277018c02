"""The report library: building reports for an audience, keeping them, and handing them to those allowed.

Every report is built through the gate as its audience (`audience.Audience.principal`), stored as a file under
KP_HOME/reports with its metadata in the app DB, and listed or opened only for people who belong to its audience;
opening one is audit-logged through the gate.

For the web: `visible_reports(engine, principal)` lists what a person may open; `Library.open(principal, id)`
returns the PDF (or raises `AccessDenied`).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import func, insert, select
from sqlalchemy.engine import Engine

from kvalitetsplatform.access.gate import AccessDenied
from kvalitetsplatform.access.principal import Principal
from kvalitetsplatform.indicators.model import Package
from kvalitetsplatform.reports import cluster, practice, region, render
from kvalitetsplatform.reports.audience import Audience, audiences_of
from kvalitetsplatform.reports.common import ReportError, Request
from kvalitetsplatform.reports.content import read
from kvalitetsplatform.reports.i18n import check_language
from kvalitetsplatform.reports.tables import report

BUILDERS = {"practice": practice.build, "cluster": cluster.build, "region": region.build}


@dataclass(frozen=True)
class LibraryEntry:
    id: str
    kind: str
    scope_code: str
    package: str
    package_version: str
    period: date
    compared_with: date | None
    lang: str
    version: int
    title: str
    file: str
    bytes: int
    sha256: str
    pages: int
    created_at: datetime
    created_by: str

    @property
    def audience(self) -> Audience:
        return Audience(self.kind, self.scope_code)

    def as_dict(self) -> dict:
        return {k: (v.isoformat() if isinstance(v, (date, datetime)) else v) for k, v in self.__dict__.items()}


def entry_of(row) -> LibraryEntry:
    return LibraryEntry(row.id, row.kind, row.scope_code, row.package, row.package_version, row.period,
                        row.compared_with, row.lang, row.version, row.title, row.file, row.bytes, row.sha256,
                        row.pages, row.created_at, row.created_by)


def all_reports(engine: Engine, kind: str | None = None, code: str | None = None) -> list[LibraryEntry]:
    """Every report in the library (for operators: `kp reports list`); people see `visible_reports`."""
    query = select(report).order_by(report.c.kind, report.c.scope_code, report.c.package, report.c.period.desc(),
                                    report.c.version.desc())
    if kind:
        query = query.where(report.c.kind == kind)
    if code:
        query = query.where(report.c.scope_code == code)
    with engine.connect() as conn:
        return [entry_of(r) for r in conn.execute(query)]


def reports_dir(home: Path) -> Path:
    return home / "reports"


def visible_reports(engine: Engine, principal: Principal, package: str | None = None) -> list[LibraryEntry]:
    """The reports this person may open: those made for an audience they belong to; newest first."""
    audiences = audiences_of(principal)
    if not audiences:
        return []
    with engine.connect() as conn:
        rows = conn.execute(select(report).where(report.c.kind.in_({a.kind for a in audiences}),
                                                 report.c.scope_code.in_({a.code for a in audiences}))
                            .order_by(report.c.period.desc(), report.c.created_at.desc(),
                                      report.c.version.desc())).all()
    wanted = {(a.kind, a.code) for a in audiences}
    return [entry_of(r) for r in rows
            if (r.kind, r.scope_code) in wanted and (package is None or r.package == package)]


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-") or "x"


class Library:
    def __init__(self, engine: Engine, home: Path, gate, catalogue):
        self.engine = engine
        self.home = Path(home)
        self.gate = gate
        self.catalogue = catalogue

    def package(self, package_id: str) -> Package:
        try:
            return self.catalogue.package(package_id)
        except KeyError:
            known = ", ".join(p.id for p in self.catalogue.packages)
            raise ReportError(f"ukendt pakke {package_id!r}; kendte pakker: {known}") from None

    def packages_for(self, kind: str) -> list[Package]:
        """The packages whose card names this kind of audience (`audience:` in the package file)."""
        return [p for p in self.catalogue.packages if kind in p.audience]

    def newest_period(self, audience: Audience, package: Package) -> date | None:
        """The newest reference date on which the audience's own unit has results, through the gate (the read is
        the one the report then makes: the gate keeps the views)."""
        figures = read(self.gate, audience.principal(), package.indicators)
        days = [c.day for f in figures for c in f.cells if c.level == audience.kind and c.code == audience.code]
        return max(days, default=None)

    def latest(self, audience: Audience, package_id: str, lang: str, before: date | None = None,
               period: date | None = None) -> LibraryEntry | None:
        """The newest edition for the audience and package (at `period`, or before `before`)."""
        query = select(report).where(report.c.kind == audience.kind, report.c.scope_code == audience.code,
                                     report.c.package == package_id, report.c.lang == lang)
        if before is not None:
            query = query.where(report.c.period < before)
        if period is not None:
            query = query.where(report.c.period == period)
        with self.engine.connect() as conn:
            row = conn.execute(query.order_by(report.c.period.desc(), report.c.version.desc()).limit(1)).first()
        return entry_of(row) if row else None

    def build(self, audience: Audience, package_id: str, period: date | None = None, lang: str = "da",
              created_by: str = "kp reports build", provenance: dict | None = None,
              now: datetime | None = None) -> LibraryEntry:
        """Build one report as its audience sees it, store the PDF and record it in the library."""
        check_language(lang)
        package = self.package(package_id)
        if audience.kind not in package.audience:
            raise ReportError(f"pakken {package.id} er ikke lavet til {audience.kind}-rapporter "
                              f"(pakkens målgruppe: {', '.join(package.audience)})")
        now = (now or datetime.now()).replace(microsecond=0)
        target = period or self.newest_period(audience, package)
        if target is None:
            raise ReportError(f"ingen resultater i pakken {package.id} for {audience.kind} {audience.code}")
        previous = self.latest(audience, package.id, lang, before=target)
        version = self._next_version(audience, package.id, target, lang)
        report_id = f"{audience.kind}-{_slug(audience.code)}-{package.id}-{target:%Y-%m}-{lang}-v{version}"
        request = Request(package, target, previous.period if previous else None, lang, now, provenance, report_id)
        document = BUILDERS[audience.kind](self.gate, audience.principal(), audience.code, request)
        pdf = render.typesetter().pdf(document, now)
        relative = Path(audience.kind) / _slug(audience.code) / package.id / f"{report_id}.pdf"
        path = reports_dir(self.home) / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(pdf)
        tmp.replace(path)
        compared = _compared(document)
        values = dict(id=report_id, kind=audience.kind, scope_code=audience.code, audience_role=audience.role.value,
                      package=package.id, package_version=package.version, period=target, compared_with=compared,
                      lang=lang, version=version, title=document["meta"]["title"], file=str(relative),
                      bytes=len(pdf), sha256=hashlib.sha256(pdf).hexdigest(), pages=_pages(pdf),
                      compute_run=(provenance or {}).get("run_id"), created_at=now, created_by=created_by)
        with self.engine.begin() as conn:
            conn.execute(insert(report).values(**values))
        values.pop("audience_role")
        values.pop("compute_run")
        return LibraryEntry(**values)

    def _next_version(self, audience: Audience, package_id: str, period: date, lang: str) -> int:
        with self.engine.connect() as conn:
            found = conn.execute(select(func.max(report.c.version)).where(
                report.c.kind == audience.kind, report.c.scope_code == audience.code,
                report.c.package == package_id, report.c.period == period, report.c.lang == lang)).scalar()
        return (found or 0) + 1

    def entry(self, report_id: str) -> LibraryEntry | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(report).where(report.c.id == report_id)).first()
        return entry_of(row) if row else None

    def open(self, principal: Principal, report_id: str) -> tuple[LibraryEntry, bytes]:
        """The PDF for a person of its audience; the view is audit-logged. Anyone else gets AccessDenied, whether
        or not the report exists (the answer does not reveal which reports there are)."""
        entry = self.entry(report_id)
        if entry is None or not entry.audience.admits(principal):
            raise AccessDenied("Du har ikke adgang til denne rapport.")
        self.gate.record_report_view(principal, report_id,
                                     ydernummer=entry.scope_code if entry.kind == "practice" else None)
        return entry, (reports_dir(self.home) / entry.file).read_bytes()


def _compared(document: dict) -> date | None:
    return date.fromisoformat(document["compared"]) if document.get("compared") else None


def _pages(pdf: bytes) -> int:
    """Page count from the PDF's page tree (Typst writes one /Type /Pages root with /Count)."""
    counts = [int(m) for m in re.findall(rb"/Type\s*/Pages\b[^>]*?/Count\s+(\d+)", pdf)]
    counts += [int(m) for m in re.findall(rb"/Count\s+(\d+)[^>]*?/Type\s*/Pages\b", pdf)]
    return max(counts, default=0)
