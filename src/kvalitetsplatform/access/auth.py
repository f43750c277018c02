"""Sign-in: local accounts (argon2id), server-side sessions, CSRF tokens, rate limiting, and launch from the
practice system ("Klinikkens Cockpit") with a short-lived signed token.

Sessions: a random 256-bit cookie value; only its SHA-256 is stored. Idle timeout 30 minutes, absolute 12 hours
(OWASP ASVS L2). Each session has its own CSRF token, required on every state-changing request.

Launch: the practice system POSTs a JWT signed with its private key (RS256 or ES256) whose public key is registered
here. Required claims: iss (the vendor), aud ("kvalitetsplatform"), sub (the user's username), ydernummer, iat, exp
(at most 5 minutes after iat), jti (used once); optional patient (CPR, pseudonymised at once and never stored).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from kvalitetsplatform.access.audit import AuditLog, now_utc
from kvalitetsplatform.access.db import (
    launch_token_used, launch_vendor, role_grant, sign_in_attempt, user_account, web_session,
)
from kvalitetsplatform.access.roles import ROLES
from kvalitetsplatform.access.users import password_matches

IDLE_TIMEOUT = timedelta(minutes=30)
TOUCH_EVERY = timedelta(minutes=1)  # a session may time out up to this much early, never late
ABSOLUTE_TIMEOUT = timedelta(hours=12)
RATE_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_USER = 5
MAX_FAILURES_PER_CLIENT = 20
LAUNCH_AUDIENCE = "kvalitetsplatform"
LAUNCH_MAX_LIFETIME = timedelta(minutes=5)
LAUNCH_LEEWAY = timedelta(seconds=30)
LAUNCH_ALGORITHMS = ("RS256", "ES256")


class SignInError(PermissionError):
    """Wrong username or password (one message for both)."""


class RateLimited(PermissionError):
    """Too many failed sign-ins; try later."""


class LaunchError(PermissionError):
    """A launch token was refused; the message says why in Danish."""


@dataclass(frozen=True)
class SessionInfo:
    user_id: int
    csrf_token: str
    created_at: datetime
    launch_ydernummer: str | None
    launch_patient_key: int | None


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# --- sessions ---------------------------------------------------------------------------------------------------


def create_session(engine: Engine, user_id: int, launch_ydernummer: str | None = None,
                   launch_patient_key: int | None = None, launch_vendor_name: str | None = None) -> tuple[str, str]:
    """A new session (a fresh token on every sign-in); returns (cookie value, CSRF token)."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    at = now_utc()
    with engine.begin() as conn:
        conn.execute(insert(web_session).values(
            token_hash=_hash(token), user_id=user_id, csrf_token=csrf, created_at=at, last_seen=at,
            launch_ydernummer=launch_ydernummer, launch_patient_key=launch_patient_key,
            launch_vendor=launch_vendor_name))
    return token, csrf


def resolve_session(engine: Engine, token: str | None, now: datetime | None = None) -> SessionInfo | None:
    """The live session for a cookie value, touching its idle timer; None when absent, ended or timed out."""
    if not token:
        return None
    now = now or now_utc()
    with engine.begin() as conn:
        row = conn.execute(select(web_session, user_account.c.disabled)
                           .join(user_account, user_account.c.id == web_session.c.user_id)
                           .where(web_session.c.token_hash == _hash(token))).first()
        if row is None or row.ended_at is not None:
            return None
        if row.disabled or now - row.last_seen > IDLE_TIMEOUT or now - row.created_at > ABSOLUTE_TIMEOUT:
            conn.execute(update(web_session).where(web_session.c.token_hash == row.token_hash).values(ended_at=now))
            return None
        if now - row.last_seen >= TOUCH_EVERY:  # the idle timer in minutes, not a write on every request
            conn.execute(update(web_session).where(web_session.c.token_hash == row.token_hash).values(last_seen=now))
    return SessionInfo(row.user_id, row.csrf_token, row.created_at, row.launch_ydernummer, row.launch_patient_key)


def end_session(engine: Engine, token: str | None) -> None:
    if token:
        with engine.begin() as conn:
            conn.execute(update(web_session).where(web_session.c.token_hash == _hash(token),
                                                   web_session.c.ended_at.is_(None)).values(ended_at=now_utc()))


def csrf_ok(session: SessionInfo, supplied: str | None) -> bool:
    return bool(supplied) and hmac.compare_digest(session.csrf_token, supplied)


# --- sign-in with a password --------------------------------------------------------------------------------------


def sign_in(engine: Engine, audit: AuditLog, username: str, password: str, client: str,
            now: datetime | None = None) -> tuple[int, str, str]:
    """Check the password, with rate limiting per username and per client; returns (user id, token, csrf)."""
    now = now or now_utc()
    username = (username or "").strip()[:120]
    with engine.connect() as conn:
        since = now - RATE_WINDOW
        failures_user = conn.execute(select(func.count()).select_from(sign_in_attempt).where(
            sign_in_attempt.c.username == username, sign_in_attempt.c.at >= since,
            sign_in_attempt.c.succeeded.is_(False))).scalar_one()
        failures_client = conn.execute(select(func.count()).select_from(sign_in_attempt).where(
            sign_in_attempt.c.client == client, sign_in_attempt.c.at >= since,
            sign_in_attempt.c.succeeded.is_(False))).scalar_one()
        user = conn.execute(select(user_account).where(user_account.c.username == username)).first()
    if failures_user >= MAX_FAILURES_PER_USER or failures_client >= MAX_FAILURES_PER_CLIENT:
        audit.record("sign_in_blocked", username=username, details={"client": client})
        raise RateLimited("For mange mislykkede forsøg. Vent 15 minutter, og prøv igen.")
    ok = password_matches(user.password_hash if user else None, password or "") and user is not None \
        and not user.disabled
    with engine.begin() as conn:
        conn.execute(insert(sign_in_attempt).values(username=username, client=client[:64], at=now, succeeded=ok))
    if not ok:
        audit.record("sign_in_failed", username=username, details={"client": client})
        raise SignInError("Forkert brugernavn eller adgangskode.")
    token, csrf = create_session(engine, user.id)
    audit.record("sign_in", user_id=user.id, username=username)
    return user.id, token, csrf


# --- launch from the practice system --------------------------------------------------------------------------------


def register_vendor(engine: Engine, audit: AuditLog, name: str, public_key_pem: str, algorithm: str) -> None:
    if algorithm not in LAUNCH_ALGORITHMS:
        raise ValueError(f"algoritmen skal være en af {', '.join(LAUNCH_ALGORITHMS)}")
    try:
        load_pem_public_key(public_key_pem.encode())
    except ValueError as e:
        raise ValueError(f"den offentlige nøgle kan ikke læses som PEM: {e}") from None
    with engine.begin() as conn:
        conn.execute(delete(launch_vendor).where(launch_vendor.c.name == name))
        conn.execute(insert(launch_vendor).values(name=name, algorithm=algorithm, public_key_pem=public_key_pem,
                                                  registered_at=now_utc(), active=True))
        audit.record("vendor_registered", conn=conn, username="kp users", object=f"vendor:{name}",
                     details={"algorithm": algorithm})


@dataclass(frozen=True)
class Launch:
    user_id: int
    username: str
    vendor: str
    ydernummer: str
    patient_key: int | None

    @property
    def target(self) -> str:
        """The page the launch opens: the patient in the practice, or the practice's overview."""
        if self.patient_key is not None:
            return f"/praksis/{self.ydernummer}/patient/{self.patient_key}"
        return f"/praksis/{self.ydernummer}"


def verify_launch(engine: Engine, audit: AuditLog, token: str, patient_key_of: Callable[[str], int],
                  now: datetime | None = None) -> Launch:
    """Check a launch token completely, or raise LaunchError with the reason. A token is accepted once."""
    now = now or now_utc()
    try:
        unverified = jwt.decode(token, options={"verify_signature": False})
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise LaunchError("Starttokenet kan ikke læses.") from None
    issuer = unverified.get("iss")
    with engine.connect() as conn:
        vendor = conn.execute(select(launch_vendor).where(launch_vendor.c.name == str(issuer),
                                                          launch_vendor.c.active.is_(True))).first()
    if vendor is None:
        raise LaunchError(f"Leverandøren {issuer!r} er ikke registreret til at starte platformen.")
    if header.get("alg") != vendor.algorithm:
        raise LaunchError("Starttokenet er signeret med en anden algoritme end leverandørens registrerede.")
    try:
        claims = jwt.decode(token, vendor.public_key_pem, algorithms=[vendor.algorithm], audience=LAUNCH_AUDIENCE,
                            issuer=vendor.name, leeway=LAUNCH_LEEWAY.total_seconds(),
                            options={"require": ["exp", "iat", "jti", "sub", "iss", "aud"]})
    except jwt.ExpiredSignatureError:
        raise LaunchError("Starttokenet er udløbet. Start platformen igen fra lægesystemet.") from None
    except jwt.InvalidSignatureError:
        raise LaunchError("Starttokenets signatur er ugyldig (ikke udstedt af leverandøren).") from None
    except jwt.PyJWTError as e:
        raise LaunchError(f"Starttokenet er ugyldigt: {e}.") from None
    iat, exp = (datetime.fromtimestamp(claims[k], UTC).replace(tzinfo=None) for k in ("iat", "exp"))
    if exp - iat > LAUNCH_MAX_LIFETIME or exp > now + LAUNCH_MAX_LIFETIME + LAUNCH_LEEWAY:
        raise LaunchError("Starttokenet gælder for længe (højst 5 minutter).")
    if iat > now + LAUNCH_LEEWAY:
        raise LaunchError("Starttokenet er udstedt i fremtiden; tjek urene.")
    ydernummer = str(claims.get("ydernummer", ""))
    if not (len(ydernummer) == 6 and ydernummer.isdigit()):
        raise LaunchError("Starttokenet mangler praksisens ydernummer.")
    with engine.begin() as conn:
        conn.execute(delete(launch_token_used).where(launch_token_used.c.expires_at < now - LAUNCH_LEEWAY))
        try:
            conn.execute(insert(launch_token_used).values(vendor=vendor.name, jti=str(claims["jti"])[:200],
                                                          expires_at=exp))
        except IntegrityError:
            raise LaunchError("Starttokenet er allerede brugt.") from None
    with engine.connect() as conn:
        user = conn.execute(select(user_account).where(user_account.c.username == str(claims["sub"]))).first()
        clinical = [r.value for r in ROLES if ROLES[r].clinical]
        role = None if user is None or user.disabled else conn.execute(select(role_grant.c.role).where(
            role_grant.c.user_id == user.id, role_grant.c.role.in_(clinical), role_grant.c.scope_code == ydernummer,
            role_grant.c.revoked_at.is_(None)).order_by(role_grant.c.role)).scalar()
    if role is None:
        audit.record("launch_refused", username=str(claims["sub"])[:120], ydernummer=ydernummer,
                     details={"vendor": vendor.name})
        raise LaunchError(f"Brugeren har ingen adgang til praksis {ydernummer}.")
    patient_key = None
    if claims.get("patient"):
        try:
            patient_key = patient_key_of(str(claims["patient"]))
        except ValueError:
            raise LaunchError("Patientens CPR-nummer i starttokenet er ugyldigt.") from None
    audit.record("launch_patient" if patient_key is not None else "launch", user_id=user.id, username=user.username,
                 role=role, ydernummer=ydernummer, patient_key=patient_key,
                 purpose="42a" if patient_key is not None else None, details={"vendor": vendor.name})
    return Launch(user.id, user.username, vendor.name, ydernummer, patient_key)
