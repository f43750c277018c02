"""The Principal: the person a read is made for, with the grants that are active right now.

Built only from the app DB (`load_principal`), never from request parameters. A session launched from the practice
system is narrowed to that practice's clinical grants.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.engine import Connection

from kvalitetsplatform.access.db import role_grant, user_account
from kvalitetsplatform.access.roles import ROLES, Role


@dataclass(frozen=True, order=True)
class Grant:
    role: Role
    scope_level: str
    scope_code: str

    @property
    def clinical(self) -> bool:
        return ROLES[self.role].clinical


@dataclass(frozen=True)
class Principal:
    user_id: int
    username: str
    grants: tuple[Grant, ...]  # sorted, no duplicates
    launch_ydernummer: str | None = None
    launch_patient_key: int | None = None

    @property
    def clinical_practices(self) -> frozenset[str]:
        """Practices whose patients this person may see at patient level."""
        return frozenset(g.scope_code for g in self.grants if g.clinical)

    def holds(self, *roles: Role) -> bool:
        return any(g.role in roles for g in self.grants)

    def grants_of(self, *roles: Role) -> list[Grant]:
        return [g for g in self.grants if g.role in roles]

    @property
    def scope_key(self) -> str:
        """Identifies what this principal may see (not who they are): equal keys ⇒ equal views. Caches of protected
        views are keyed by it, so no cache entry is ever shared between different scopes."""
        text = "|".join(f"{g.role.value}:{g.scope_level}:{g.scope_code}" for g in self.grants)
        return hashlib.sha256(text.encode()).hexdigest()

    def primary_role(self) -> str:
        return self.grants[0].role.value if self.grants else ""


NOBODY = Principal(0, "", ())
_ROLE_VALUES = {r.value for r in Role}


def load_principal(conn: Connection, user_id: int, launch_ydernummer: str | None = None,
                   launch_patient_key: int | None = None) -> Principal:
    """The user's active grants; a disabled or unknown user gets none (and so sees nothing)."""
    user = conn.execute(select(user_account.c.username, user_account.c.disabled)
                        .where(user_account.c.id == user_id)).first()
    if user is None or user.disabled:
        return NOBODY
    rows = conn.execute(select(role_grant.c.role, role_grant.c.scope_level, role_grant.c.scope_code)
                        .where(role_grant.c.user_id == user_id, role_grant.c.revoked_at.is_(None))).all()
    grants = sorted({Grant(Role(r.role), r.scope_level, r.scope_code) for r in rows if r.role in _ROLE_VALUES})
    if launch_ydernummer is not None:
        grants = [g for g in grants if g.clinical and g.scope_code == launch_ydernummer]
    return Principal(user_id, user.username, tuple(grants), launch_ydernummer,
                     launch_patient_key if grants else None)
