"""What the web pages read, and the one door they read it through.

The pages never touch the warehouse or the results: every figure, worklist row, identity and admin list comes from
a `ReportSource`, and the platform's source (`web.integration.GateSource`) answers each call through the access
gate for the signed-in Principal — scope, grain, disclosure control and audit happen there. Whatever a source
returns is what the viewer may see; the pages only arrange it.

The shapes below are the web's view of the gate's answers: a figure is one result cell (indicator × period × org
unit × stratum) as the viewer may see it, with suppressed counts as None.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from collections.abc import Sequence
from typing import Protocol

from kvalitetsplatform.access.orgs import Organisation
from kvalitetsplatform.access.principal import Principal


@dataclass(frozen=True)
class OrgRef:
    level: str  # practice | cluster | region | municipality | national
    code: str
    label: str  # the name, or the letter the cluster's setting shows instead


@dataclass(frozen=True)
class Figure:
    indicator_id: str
    period: date  # the reference date (a month end)
    unit: OrgRef
    numerator: float | None  # None: suppressed (shown "<5")
    denominator: float | None
    value: float | None  # None: suppressed or no denominator
    ci_low: float | None = None
    ci_high: float | None = None
    percentile: float | None = None  # a practice's place among all practices, 0–100
    cluster_rank: int | None = None
    target_met: bool | None = None
    age_band: str | None = None  # strata; None for the total
    sex: str | None = None
    own: bool = False  # the viewer's own practice

    @property
    def suppressed(self) -> bool:
        return self.value is None and (self.numerator is None or self.denominator is None)


@dataclass(frozen=True)
class WorkItem:
    """A denominator patient who does not meet the numerator, with the fact that decides it."""

    patient_key: int
    age: int
    sex: str  # F | M
    fact_date: date | None
    fact_code: str | None = None  # e.g. NPU01568 (LDL), an ATC code, a ydelseskode
    fact_value: float | None = None
    fact_unit: str | None = None
    fact_text: str | None = None


@dataclass(frozen=True)
class Identity:
    cpr: str
    name: str


@dataclass(frozen=True)
class ReportEntry:
    id: str
    title: str
    package_id: str
    package_title: str
    audience: tuple[str, ...]  # practice | cluster | region | municipality | national
    period: date | None
    version: str
    kind: str  # interactive | pdf
    url: str
    topic: str = ""


@dataclass(frozen=True)
class UserEntry:
    username: str
    display_name: str
    disabled: bool
    grants: tuple[tuple[str, str, str], ...]  # (role, scope level, scope code)


@dataclass(frozen=True)
class PackageEntry:
    id: str
    version: str
    title: str
    indicators: int
    valid: bool
    problems: tuple[str, ...] = ()
    tests_passed: int | None = None
    tests_failed: int | None = None


@dataclass(frozen=True)
class DeliveryEntry:
    id: str
    ydernummer: str
    received: datetime | None
    status: str
    rows: int
    quarantined: int
    quality: dict = field(default_factory=dict)  # the data-quality report


@dataclass(frozen=True)
class ActiveUsers:
    month: str  # YYYY-MM
    role: str
    region_code: str  # "" for national roles
    users: int


class ReportSource(Protocol):
    """Every read a page makes, each for the signed-in Principal, answered through the gate. A source fails closed:
    nothing for a principal without a matching grant."""

    def periods(self, principal: Principal) -> list[date]:
        """The reference dates with results, oldest first."""

    def figures(self, principal: Principal, indicator_id: str, ref_dates: Sequence[date] | None = None,
                level: str | None = None, code: str | None = None, strata: bool = False) -> list[Figure]:
        """The protected results of one indicator the person may see (all dates, or these), totals only unless
        `strata` (then the strata only)."""

    def figures_many(self, principal: Principal, indicator_ids: Sequence[str], ref_dates: Sequence[date] | None = None,
                     level: str | None = None, code: str | None = None,
                     strata: bool = False) -> dict[str, list[Figure]]:
        """`figures` for several indicators at once (one read), by indicator id."""

    def structure(self) -> Organisation:
        """Which practice lies in which cluster, region and municipality (org metadata, no results): used to find
        a unit's parents and members. Labels always come from the figures (the gate letters peers)."""

    def version(self, principal: Principal) -> tuple:
        """Equal for two requests ⇒ every figure and the structure they are given are equal: what the person may
        see, the results and the organisation. Pages keep what they render under it (`Page.render_kept`)."""

    def worklist(self, principal: Principal, ydernummer: str, indicator_id: str) -> list[WorkItem]: ...

    def reveal(self, principal: Principal, ydernummer: str, patient_keys: list[int],
               purpose: str) -> dict[int, Identity]: ...

    def record_export(self, principal: Principal, ydernummer: str, indicator_id: str, rows: int,
                      identified: bool) -> None: ...

    def record_view(self, principal: Principal, page: str, ydernummer: str | None = None) -> None: ...

    def library(self, principal: Principal) -> list[ReportEntry]: ...

    def open_pdf(self, principal: Principal, report_id: str) -> tuple[str, bytes]:
        """A static report from the library (file name, PDF) for a person of its audience; logged. Raises
        AccessDenied for anyone else, whether or not it exists."""

    def users(self, principal: Principal) -> list[UserEntry]: ...

    def package_status(self, principal: Principal) -> list[PackageEntry]: ...

    def deliveries(self, principal: Principal) -> list[DeliveryEntry]: ...

    def active_users(self, principal: Principal) -> list[ActiveUsers]: ...
