"""Users, passwords (argon2id) and role grants. Every change is written to the audit log in the same transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from kvalitetsplatform.access.audit import AuditLog, now_utc
from kvalitetsplatform.access.db import org_unit, role_grant, user_account
from kvalitetsplatform.access.roles import NATIONAL, ROLES, Role, role_of

_hasher = PasswordHasher()  # argon2id with the library's (RFC 9106 low-memory) parameters
MIN_PASSWORD_LENGTH = 12


class UserError(ValueError):
    """A user command cannot be carried out; the message says why in Danish."""


@dataclass(frozen=True)
class GrantRow:
    id: int
    role: Role
    scope_level: str
    scope_code: str
    granted_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True)
class UserRow:
    id: int
    username: str
    display_name: str
    disabled: bool
    has_password: bool
    grants: tuple[GrantRow, ...]

    def as_dict(self) -> dict:
        return {"id": self.id, "username": self.username, "display_name": self.display_name,
                "disabled": self.disabled, "has_password": self.has_password,
                "grants": [{"id": g.id, "role": g.role.value, "scope_level": g.scope_level,
                            "scope_code": g.scope_code, "granted_at": g.granted_at,
                            "revoked_at": g.revoked_at} for g in self.grants]}


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"adgangskoden skal være mindst {MIN_PASSWORD_LENGTH} tegn")
    return _hasher.hash(password)


def password_matches(password_hash: str | None, password: str) -> bool:
    if not password_hash:
        _hasher.hash("timing-equaliser")  # same work whether or not the user has a password
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _user_id(conn: Connection, username: str) -> int:
    found = conn.execute(select(user_account.c.id).where(user_account.c.username == username)).scalar()
    if found is None:
        raise UserError(f"brugeren {username!r} findes ikke")
    return found


def create_user(engine: Engine, audit: AuditLog, username: str, display_name: str, password: str | None = None,
                actor: str = "kp users") -> int:
    username = username.strip()
    if not username or len(username) > 120 or any(c.isspace() for c in username):
        raise UserError("brugernavnet skal være 1–120 tegn uden mellemrum")
    password_hash = hash_password(password) if password else None
    try:
        with engine.begin() as conn:
            user_id = conn.execute(insert(user_account).values(
                username=username, display_name=display_name or username, password_hash=password_hash,
                disabled=False, created_at=now_utc())).inserted_primary_key[0]
            audit.record("user_created", conn=conn, username=actor, object=f"user:{username}")
    except IntegrityError:
        raise UserError(f"brugeren {username!r} findes allerede") from None
    return user_id


def set_password(engine: Engine, audit: AuditLog, username: str, password: str, actor: str = "kp users") -> None:
    password_hash = hash_password(password)
    with engine.begin() as conn:
        user_id = _user_id(conn, username)
        conn.execute(update(user_account).where(user_account.c.id == user_id).values(password_hash=password_hash))
        audit.record("password_set", conn=conn, username=actor, object=f"user:{username}")


def grant(engine: Engine, audit: AuditLog, username: str, role: str, scope_code: str | None = None,
          actor: str = "kp users") -> int:
    spec = ROLES[role_of(role)]
    if spec.scope_level == "national":
        if scope_code not in (None, "", NATIONAL):
            raise UserError(f"rollen {spec.role.value} gælder hele landet og tager intet område (fik {scope_code!r})")
        scope_code = NATIONAL
    elif not scope_code:
        raise UserError(f"rollen {spec.role.value} kræver et område: {spec.scope_level} ({_scope_hint(spec)})")
    with engine.begin() as conn:
        user_id = _user_id(conn, username)
        if spec.scope_level != "national" and conn.execute(select(org_unit.c.code).where(
                org_unit.c.level == spec.scope_level, org_unit.c.code == scope_code)).first() is None:
            raise UserError(f"{_scope_hint(spec)} {scope_code!r} findes ikke i organisationerne "
                            "(synkronisér med `kp users sync-orgs` efter indlæsning)")
        existing = conn.execute(select(role_grant.c.id).where(
            role_grant.c.user_id == user_id, role_grant.c.role == spec.role.value,
            role_grant.c.scope_code == scope_code, role_grant.c.revoked_at.is_(None))).scalar()
        if existing is not None:
            return existing
        grant_id = conn.execute(insert(role_grant).values(
            user_id=user_id, role=spec.role.value, scope_level=spec.scope_level, scope_code=scope_code,
            granted_at=now_utc())).inserted_primary_key[0]
        audit.record("grant", conn=conn, username=actor, role=spec.role.value,
                     ydernummer=scope_code if spec.scope_level == "practice" else None,
                     object=f"user:{username}", details={"scope_level": spec.scope_level, "scope_code": scope_code})
    return grant_id


def _scope_hint(spec) -> str:
    return {"practice": "ydernummer", "cluster": "klynge-id", "region": "regionskode",
            "municipality": "kommunekode"}.get(spec.scope_level, spec.scope_level)


def revoke(engine: Engine, audit: AuditLog, username: str, role: str, scope_code: str | None = None,
           actor: str = "kp users") -> int:
    """Revoke the user's active grants of `role` (only the one for `scope_code` when given); returns how many."""
    spec = ROLES[role_of(role)]
    with engine.begin() as conn:
        user_id = _user_id(conn, username)
        condition = [role_grant.c.user_id == user_id, role_grant.c.role == spec.role.value,
                     role_grant.c.revoked_at.is_(None)]
        if scope_code:
            condition.append(role_grant.c.scope_code == scope_code)
        n = conn.execute(update(role_grant).where(*condition).values(revoked_at=now_utc())).rowcount
        if n == 0:
            raise UserError(f"brugeren {username!r} har ingen aktiv rolle {spec.role.value}"
                            + (f" for {scope_code}" if scope_code else ""))
        audit.record("revoke", conn=conn, username=actor, role=spec.role.value, object=f"user:{username}",
                     details={"scope_code": scope_code, "grants": n})
    return n


def disable(engine: Engine, audit: AuditLog, username: str, actor: str = "kp users") -> None:
    """Disable a user: no sign-in, no launch, and their open sessions stop working at the next request."""
    with engine.begin() as conn:
        user_id = _user_id(conn, username)
        conn.execute(update(user_account).where(user_account.c.id == user_id).values(disabled=True))
        audit.record("user_disabled", conn=conn, username=actor, object=f"user:{username}")


def list_users(engine: Engine, include_revoked: bool = False) -> list[UserRow]:
    with engine.connect() as conn:
        users = conn.execute(select(user_account).order_by(user_account.c.username)).all()
        grants = conn.execute(select(role_grant).order_by(role_grant.c.id)).all()
    by_user: dict[int, list[GrantRow]] = {}
    for g in grants:
        if g.revoked_at is None or include_revoked:
            by_user.setdefault(g.user_id, []).append(GrantRow(g.id, Role(g.role), g.scope_level, g.scope_code,
                                                              g.granted_at, g.revoked_at))
    return [UserRow(u.id, u.username, u.display_name, u.disabled, bool(u.password_hash),
                    tuple(by_user.get(u.id, ()))) for u in users]
