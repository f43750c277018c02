"""Usage events and the headline adoption figure: active users per month by role and region."""

from __future__ import annotations

import threading
from collections.abc import Callable

from sqlalchemy import func, insert, select
from sqlalchemy.engine import Engine

from kvalitetsplatform.access.audit import now_utc
from kvalitetsplatform.access.db import usage_event
from kvalitetsplatform.access.orgs import Organisation
from kvalitetsplatform.access.principal import Principal


def grant_region(level: str, code: str, org: Organisation) -> str:
    """The region a grant's scope lies in ("" for national grants)."""
    if level == "region":
        return code
    if level == "national":
        return ""
    unit = org.unit(level, code)
    return (unit.region_code or "") if unit else ""


class UsageRecorder:
    """Usage events feed the active-users-per-month figure, so a person's use of one kind is recorded once a day
    (per process), not at every request: the audit log keeps every request."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self._recorded: set[tuple] = set()
        self._day = None
        self._lock = threading.Lock()

    def seen(self, principal: Principal, kind: str, organisation: Callable[[], Organisation]) -> None:
        """One event per role and region the person acts in (a person with two roles counts under both); the
        organisation is read only when the event is new today."""
        if not principal.grants:
            return
        at = now_utc()
        marker = (principal.user_id, kind, principal.scope_key)
        with self._lock:
            if self._day != at.date():
                self._day, self._recorded = at.date(), set()
            if marker in self._recorded:
                return
        org = organisation()
        rows = {(g.role.value, grant_region(g.scope_level, g.scope_code, org)) for g in principal.grants}
        with self.engine.begin() as conn:
            conn.execute(insert(usage_event), [dict(at=at, month=at.strftime("%Y-%m"), user_id=principal.user_id,
                                                    role=role, region_code=region, kind=kind)
                                               for role, region in sorted(rows)])
        with self._lock:
            self._recorded.add(marker)

    def active_users(self) -> list[dict]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(usage_event.c.month, usage_event.c.role, usage_event.c.region_code,
                                       func.count(usage_event.c.user_id.distinct()).label("users"))
                                .group_by(usage_event.c.month, usage_event.c.role, usage_event.c.region_code)
                                .order_by(usage_event.c.month, usage_event.c.role, usage_event.c.region_code)).all()
        return [{"month": r.month, "role": r.role, "region_code": r.region_code, "active_users": r.users}
                for r in rows]
