"""Subscriptions: a person asks to hear about each new edition of a package report for one of their audiences
(their practice; as a cluster coordinator, their cluster; as a regional quality unit, their region).

After each monthly compute, `notify_due` builds the reports that are due (one per audience, package, period and
language, shared by every subscriber of that audience) and sends each subscriber an e-mail with a link. The
subscriber's grants are checked again at sending time: someone who has left the audience gets nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Engine

from kvalitetsplatform.access.principal import load_principal
from kvalitetsplatform.access.users import UserError
from kvalitetsplatform.reports.audience import Audience
from kvalitetsplatform.reports.common import ReportError
from kvalitetsplatform.reports.content import Words
from kvalitetsplatform.reports.i18n import check_language
from kvalitetsplatform.reports.library import Library, LibraryEntry
from kvalitetsplatform.reports.mail import Mailer, Notice
from kvalitetsplatform.reports.tables import notification, subscription

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class Subscription:
    id: int
    user_id: int
    kind: str
    scope_code: str
    package: str
    lang: str
    email: str
    created_at: datetime
    active: bool

    @property
    def audience(self) -> Audience:
        return Audience(self.kind, self.scope_code)

    def as_dict(self) -> dict:
        return {**self.__dict__, "created_at": self.created_at.isoformat()}


def _row(r) -> Subscription:
    return Subscription(r.id, r.user_id, r.kind, r.scope_code, r.package, r.lang, r.email, r.created_at, r.active)


def subscribe(engine: Engine, library: Library, user_id: int, audience: Audience, package_id: str, email: str,
              lang: str = "da") -> Subscription:
    """Subscribe a user to a package report for an audience they belong to."""
    check_language(lang)
    if not EMAIL.match(email):
        raise UserError(f"e-mailadressen {email!r} er ikke gyldig")
    package = library.package(package_id)
    if audience.kind not in package.audience:
        raise ReportError(f"pakken {package.id} er ikke lavet til {audience.kind}-rapporter")
    with engine.begin() as conn:
        principal = load_principal(conn, user_id)
        if not audience.admits(principal):
            roles = " eller ".join(r.value for r in audience.roles)
            raise UserError(f"brugeren har ingen rolle ({roles}) for {audience.kind} {audience.code} og kan ikke "
                            "abonnere på dens rapporter")
        existing = conn.execute(select(subscription).where(
            subscription.c.user_id == user_id, subscription.c.kind == audience.kind,
            subscription.c.scope_code == audience.code, subscription.c.package == package.id,
            subscription.c.lang == lang, subscription.c.active.is_(True))).first()
        if existing is not None:
            conn.execute(update(subscription).where(subscription.c.id == existing.id).values(email=email))
            return _row(conn.execute(select(subscription).where(subscription.c.id == existing.id)).first())
        new_id = conn.execute(insert(subscription).values(
            user_id=user_id, kind=audience.kind, scope_code=audience.code, package=package.id, lang=lang,
            email=email, created_at=datetime.now().replace(microsecond=0), active=True)).inserted_primary_key[0]
        return _row(conn.execute(select(subscription).where(subscription.c.id == new_id)).first())


def unsubscribe(engine: Engine, subscription_id: int, user_id: int | None = None) -> None:
    """End a subscription (only the user's own, when `user_id` is given)."""
    with engine.begin() as conn:
        query = update(subscription).where(subscription.c.id == subscription_id, subscription.c.active.is_(True))
        if user_id is not None:
            query = query.where(subscription.c.user_id == user_id)
        done = conn.execute(query.values(active=False, cancelled_at=datetime.now().replace(microsecond=0)))
        if done.rowcount == 0:
            raise UserError(f"abonnement {subscription_id} findes ikke eller er allerede afmeldt")


def subscriptions(engine: Engine, user_id: int | None = None, active: bool = True) -> list[Subscription]:
    query = select(subscription).order_by(subscription.c.id)
    if user_id is not None:
        query = query.where(subscription.c.user_id == user_id)
    if active:
        query = query.where(subscription.c.active.is_(True))
    with engine.connect() as conn:
        return [_row(r) for r in conn.execute(query)]


@dataclass
class Outcome:
    built: list[str]
    sent: list[tuple[int, str, str]]  # (subscription, report, address)
    failed: list[tuple[int, str, str]]  # (subscription, report or "", reason)
    skipped: list[tuple[int, str]]  # (subscription, reason)

    def as_dict(self) -> dict:
        return {"built": self.built, "sent": [{"subscription": s, "report": r, "to": a} for s, r, a in self.sent],
                "failed": [{"subscription": s, "report": r, "reason": e} for s, r, e in self.failed],
                "skipped": [{"subscription": s, "reason": e} for s, e in self.skipped]}


def notice_for(entry: LibraryEntry, sub: Subscription, base_url: str) -> Notice:
    words = Words(sub.lang)
    _ = words._
    link = f"{base_url}/rapporter/{entry.id}"
    subject = _("Ny rapport: {title} pr. {day}").format(title=entry.title, day=words.day(entry.period))
    text = "\n\n".join([
        _("Der er en ny rapport til dig i Kvalitetsplatformens rapportbibliotek:"),
        f"{entry.title}\n" + _("Opgjort pr. {day}, pakkeversion {version}.").format(
            day=words.day(entry.period), version=entry.package_version),
        _("Åbn rapporten her (du skal logge ind): {link}").format(link=link),
        _("Rapporten er ikke vedhæftet: den åbnes kun for dem, den er lavet til."),
        _("Du får denne besked, fordi du abonnerer på pakken. Afmeld i rapportbiblioteket eller med "
          "`kp reports unsubscribe {id}`.").format(id=sub.id),
    ])
    return Notice(sub.email, subject, text)


def notify_due(engine: Engine, library: Library, mailer: Mailer, base_url: str,
               provenance: dict | None = None, now: datetime | None = None) -> Outcome:
    """Build the due reports and send one notice per subscriber and edition (never twice)."""
    outcome = Outcome([], [], [], [])
    subs = subscriptions(engine)
    editions: dict[tuple, LibraryEntry | str] = {}
    pending: list[tuple[Subscription, LibraryEntry]] = []
    for sub in subs:
        with engine.connect() as conn:
            principal = load_principal(conn, sub.user_id)
        if not sub.audience.admits(principal):
            outcome.skipped.append((sub.id, "abonnenten hører ikke længere til rapportens modtagere"))
            continue
        try:
            package = library.package(sub.package)
        except ReportError as e:
            outcome.skipped.append((sub.id, str(e)))
            continue
        period: date | None = library.newest_period(sub.audience, package)
        if period is None:
            outcome.skipped.append((sub.id, "ingen resultater endnu"))
            continue
        key = (sub.kind, sub.scope_code, sub.package, sub.lang, period)
        if key not in editions:
            entry = library.latest(sub.audience, sub.package, sub.lang, period=period)
            if entry is None:
                try:
                    entry = library.build(sub.audience, sub.package, period, sub.lang, created_by="abonnement",
                                          provenance=provenance, now=now)
                    outcome.built.append(entry.id)
                except ReportError as e:
                    editions[key] = str(e)
                    outcome.failed.append((sub.id, "", str(e)))
                    continue
            editions[key] = entry
        entry = editions[key]
        if isinstance(entry, str):
            outcome.failed.append((sub.id, "", entry))
            continue
        with engine.connect() as conn:
            done = conn.execute(select(notification.c.status).where(
                notification.c.subscription_id == sub.id, notification.c.report_id == entry.id)).scalar()
        if done == "sent":
            continue
        pending.append((sub, entry))
    results = mailer.send([notice_for(entry, sub, base_url) for sub, entry in pending])
    stamp = (now or datetime.now()).replace(microsecond=0)
    with engine.begin() as conn:
        for (sub, entry), (notice, error) in zip(pending, results):
            status = "sent" if error is None else "failed"
            values = dict(sent_at=stamp, status=status, detail=error)
            changed = conn.execute(update(notification).where(notification.c.subscription_id == sub.id,
                                                              notification.c.report_id == entry.id).values(**values))
            if changed.rowcount == 0:
                conn.execute(insert(notification).values(subscription_id=sub.id, report_id=entry.id, **values))
            (outcome.sent if error is None else outcome.failed).append(
                (sub.id, entry.id, notice.to if error is None else error))
    return outcome
