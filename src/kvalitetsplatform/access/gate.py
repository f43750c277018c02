"""The gate: every read made for a person passes here, and it fails closed.

Every data function takes a `Principal` (built from the app DB, never from request parameters) and applies, in one
place:
- scope: which org units' rows exist for this person at the reference date (`_scope`); no grant → nothing;
- grain: patient rows (worklists, identities) only for a clinical user of the patient's own practice;
- disclosure control: every aggregate the person does not own is protected as one table per indicator and date,
  with the person's own practice as known cells (`access.disclosure`), totals first and then the strata with the
  totals as published (`TOTALS`, `ALL`); filters only select from the protected view, so no filter, sort key or
  parameter can change what is suppressed;
- letters: peers in a cluster that chose letters are shown to each other as "Praksis A", "Praksis B", …;
- audit and usage: look-ups, worklists, exports and report views are logged.

Nothing else in the platform reads results or patient flags (`access.results` is used only here).
"""

from __future__ import annotations

import hashlib
import hmac
import io
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from threading import Lock

from sqlalchemy.engine import Engine

from kvalitetsplatform.access.audit import AuditLog
from kvalitetsplatform.access.disclosure import CellTable, DisclosureError, DisclosurePolicy, protect
from kvalitetsplatform.access.orgs import (Organisation, organisation_from_rows, organisation_rows,
                                          organisation_version)
from kvalitetsplatform.access.principal import Principal
from kvalitetsplatform.access.results import STRATUM_DIMS, ResultStore
from kvalitetsplatform.access.roles import NATIONAL, ORG_LEVELS, ROLES, Purpose, Role, purpose_of
from kvalitetsplatform.access.usage import UsageRecorder
from kvalitetsplatform.access.views import ViewStore, view_key

OWN, NAMED, LETTERED = 3, 2, 1  # how a unit is shown; a person with several grants gets the most open one
WORKLIST_STATUS = ("all", "missing", "met")
EXPORT_FORMATS = ("csv", "parquet")
DEFAULT_POLICY = DisclosurePolicy()
# A view's two parts. Its totals are protected on their own; its strata then only add to what the totals published
# (they never hide a published total). So a page or report that shows totals only (trends, summaries) needs the
# small totals table alone, and what it shows is exactly the totals of the whole view.
TOTALS, ALL = "total", "all"


class AccessDenied(PermissionError):
    """The person has no grant for what was asked; the message says so in Danish without revealing data."""


class InvalidQuery(ValueError):
    """A filter value is not valid; the message names the field."""


@dataclass(frozen=True)
class Gate:
    engine: Engine  # the app DB
    store: ResultStore
    audit: AuditLog
    letter_key: bytes
    catalogue: object | None = None  # indicators.Catalogue
    reveal: Callable[[list[int]], dict] | None = None  # patient_key → Identity (the identity vault)
    policies: dict | None = None  # Role → DisclosurePolicy; default DisclosurePolicy() for every role
    cache_size: int = 4096  # protected views (and worklists) kept in this process, in front of `views`
    views: ViewStore | None = None  # protected views kept on disk (`access.views`); default: this process only

    def __post_init__(self):
        object.__setattr__(self, "_cache", OrderedDict())
        object.__setattr__(self, "_answers", OrderedDict())  # raw store answers (own figures, worklists) by version
        object.__setattr__(self, "_lock", Lock())
        object.__setattr__(self, "_org", None)
        if self.views is None:
            object.__setattr__(self, "views", ViewStore(None))
        object.__setattr__(self, "usage", UsageRecorder(self.engine))

    # -- scope --------------------------------------------------------------------------------------------------

    def organisation(self) -> Organisation:
        """The organisation as the app DB holds it now: read again only when its version changed."""
        with self.engine.connect() as conn:
            version = organisation_version(conn)
            kept = self._org
            if kept is not None and kept[0] == version:
                return kept[1]
            org = organisation_from_rows(organisation_rows(conn))
        object.__setattr__(self, "_org", (version, org))
        return org

    def version(self, principal: Principal) -> tuple:
        """Equal for two calls ⇒ the gate answers them alike: what the person may see (scope and policy), the results
        and the organisation, as in every protected view's key. The web keeps rendered pages under it."""
        return principal.scope_key, self.store.version(), self.organisation().fingerprint, self._policy(principal)

    def _scope(self, principal: Principal, org: Organisation, day: date) -> dict[tuple[str, str], int]:
        """Org units whose results this person may see on `day`, and how (own, named, lettered)."""
        seen: dict[tuple[str, str], int] = {}

        def show(level: str, code: str, how: int) -> None:
            seen[(level, code)] = max(seen.get((level, code), 0), how)

        def cluster_peers(cluster_id: str) -> None:
            how = LETTERED if org.shows_letters(cluster_id) else NAMED
            for m in org.in_cluster(cluster_id):
                if m.covers(day):
                    show("practice", m.ydernummer, how)
                    show("region", m.region_code, NAMED)
            show("cluster", cluster_id, NAMED)

        for g in principal.grants:
            spec = ROLES[g.role]
            if not spec.sees_results:
                continue
            show("national", NATIONAL, NAMED)
            if g.role in (Role.GP, Role.PRACTICE_STAFF):
                show("practice", g.scope_code, OWN)
                for m in org.of_practice(g.scope_code):
                    if m.covers(day):
                        cluster_peers(m.cluster_id)
            elif g.role == Role.CLUSTER_COORDINATOR:
                cluster_peers(g.scope_code)
            elif g.role == Role.REGIONAL_QUALITY_UNIT:
                show("region", g.scope_code, NAMED)
                for m in org.in_region(g.scope_code):
                    if m.covers(day):
                        show("practice", m.ydernummer, NAMED)
                        show("cluster", m.cluster_id, NAMED)
                for u in org.units_at("municipality"):
                    if u.region_code == g.scope_code:
                        show("municipality", u.code, NAMED)
            elif g.role == Role.MUNICIPALITY:
                show("municipality", g.scope_code, NAMED)
                unit = org.unit("municipality", g.scope_code)
                if unit and unit.region_code:
                    show("region", unit.region_code, NAMED)
            elif g.role == Role.PUBLIC_VIEWER:
                for u in org.units_at("region"):
                    show("region", u.code, NAMED)
        return seen

    def _policy(self, principal: Principal) -> DisclosurePolicy:
        """The strictest policy among the person's roles (one protected view per person)."""
        policies = [(self.policies or {}).get(g.role, DEFAULT_POLICY) for g in principal.grants]
        if not policies:
            return DEFAULT_POLICY
        rounding = [p.round_to for p in policies if p.round_to]
        return DisclosurePolicy(threshold=max(p.threshold for p in policies), round_to=max(rounding, default=None),
                                protection=max((p.width for p in policies), default=None))

    def letter(self, cluster_id: str, org: Organisation) -> dict[str, str]:
        """Stable letters for a cluster's practices, in an order that reveals nothing about their ydernumre."""
        key = ("letters", cluster_id, org.fingerprint)
        with self._lock:
            found = self._answers.get(key)
        if found is None:
            members = sorted({m.ydernummer for m in org.in_cluster(cluster_id)},
                             key=lambda y: hmac.new(self.letter_key, f"{cluster_id}:{y}".encode(),
                                                    hashlib.sha256).hexdigest())
            found = {y: _letters(i) for i, y in enumerate(members)}
            self._remember(key, found)
        return found

    # -- results ------------------------------------------------------------------------------------------------

    def periods(self, principal: Principal, indicator_id: str) -> list[date]:
        if not _possible(indicator_id) or not any(ROLES[g.role].sees_results for g in principal.grants):
            return []
        return self._periods(indicator_id)

    def results(self, principal: Principal, indicator_id: str, ref_date: date | None = None,
                org_level: str | None = None, org_id: str | None = None, stratum_dim: str | None = None,
                stratum: str | None = None, record: bool = True) -> list[dict]:
        """Protected results of one indicator (all its dates, or one) that this person may see, filtered."""
        _check_filters(org_level, stratum_dim)
        if not _possible(indicator_id) or not any(ROLES[g.role].sees_results for g in principal.grants):
            return []
        dates = [ref_date] if ref_date is not None else self._periods(indicator_id)
        org = self.organisation()
        views = self._protected_views(principal, org, [(indicator_id, day) for day in dates], _part(stratum_dim))
        rows = [r for day in dates for r in _select(views[(indicator_id, day)], org_level, org_id, stratum_dim,
                                                    stratum)]
        if record:
            self._log(principal, "results_view", org, object=f"indicator:{indicator_id}",
                      details={"ref_date": ref_date, "org_level": org_level, "org_id": org_id, "rows": len(rows)})
        return rows

    def results_many(self, principal: Principal, indicator_ids: Iterable[str], ref_dates: Iterable[date],
                     org_level: str | None = None, org_id: str | None = None, stratum_dim: str | None = None,
                     stratum: str | None = None) -> dict[tuple[str, date], list[dict]]:
        """For every indicator × date exactly what `results(principal, indicator, date, …, record=False)` gives,
        from one look-up of the kept views and at most one results-store read for the views not yet protected.
        Not logged: the page that asks records one view of itself."""
        _check_filters(org_level, stratum_dim)
        pairs = [(i, d) for i in dict.fromkeys(indicator_ids) for d in dict.fromkeys(ref_dates)]
        if not any(ROLES[g.role].sees_results for g in principal.grants):
            return {pair: [] for pair in pairs}
        views = self._protected_views(principal, self.organisation(), [p for p in pairs if _possible(p[0])],
                                      _part(stratum_dim))
        return {pair: _select(views.get(pair, []), org_level, org_id, stratum_dim, stratum) for pair in pairs}

    def own_results(self, principal: Principal, ydernummer: str, indicator_ids: Iterable[str],
                    ref_dates: Iterable[date], stratum_dim: str | None = None) -> dict[tuple[str, date], list[dict]]:
        """The person's own practice's figures (shown raw: they are never suppressed for their owner), read in one
        query without protecting anyone else's; the rows are those the protected views hold for that practice."""
        _check_filters(None, stratum_dim)
        if not any(g.role in (Role.GP, Role.PRACTICE_STAFF) and g.scope_code == ydernummer
                   for g in principal.grants):
            raise AccessDenied("Du har ikke adgang til denne praksis' egne tal.")
        pairs = [(i, d) for i in dict.fromkeys(indicator_ids) for d in dict.fromkeys(ref_dates)]
        org = self.organisation()
        key = ("own", ydernummer, tuple(pairs), self.store.version(), org.fingerprint)
        with self._lock:
            out = self._answers.get(key)
        if out is None:
            out = {pair: [] for pair in pairs}
            for r in self.store.cells([i for i, _ in pairs if _possible(i)], [d for _, d in pairs],
                                      {"practice": [ydernummer]}):
                pair = (r["indicator_id"], r["ref_date"])
                if pair in out and r["org_level"] == "practice" and r["org_id"] == ydernummer:
                    n, d = int(round(float(r["numerator"] or 0))), int(round(float(r["denominator"] or 0)))
                    out[pair].append(self._shown(r, n, d, OWN, org, {}))
            out = {pair: sorted(rows, key=_order) for pair, rows in out.items()}
            self._remember(key, out)
        return {pair: _select(rows, None, None, stratum_dim, None) for pair, rows in out.items()}

    def protect_views(self, principal: Principal, indicator_ids: Iterable[str], ref_dates: Iterable[date]) -> int:
        """Protect and keep this person's views of these indicators and dates ahead of their first request (`kp
        protect`); returns how many views the scope has. Nothing is shown, so nothing is logged."""
        if not any(ROLES[g.role].sees_results for g in principal.grants):
            return 0
        pairs = [(i, d) for i in dict.fromkeys(indicator_ids) for d in dict.fromkeys(ref_dates)]
        return len(self._protected_views(principal, self.organisation(), pairs, ALL))

    def _periods(self, indicator_id: str) -> list[date]:
        key = ("periods", indicator_id, self.store.version())
        with self._lock:
            found = self._answers.get(key)
        if found is None:
            found = self.store.periods(indicator_id)
            self._remember(key, found)
        return list(found)

    def _remember(self, key: tuple, answer) -> None:
        with self._lock:
            self._answers[key] = answer
            while len(self._answers) > self.cache_size:
                self._answers.popitem(last=False)

    def _protected_views(self, principal: Principal, org: Organisation, pairs: list[tuple[str, date]],
                         part: str) -> dict[tuple[str, date], list[dict]]:
        """The protected view (its `part`: TOTALS or ALL) of each (indicator, date): from this process's cache, else
        the kept views, else protected now (all missing ones from one results-store read) and kept. The key holds
        what the person may see, the indicator and date, the results version, the organisation, the policy and the
        part (`access.views.view_key`): a view is never served to a different scope, nor after a rule or the data
        changed."""
        version = self.store.version()
        policy = self._policy(principal)

        def key(pair, p=part):
            return view_key(principal.scope_key, *pair, version, org.fingerprint, policy, p)

        keys = {pair: key(pair) for pair in pairs}
        out: dict[tuple[str, date], list[dict]] = {}
        with self._lock:
            for pair, k in keys.items():
                if k in self._cache:
                    self._cache.move_to_end(k)
                    out[pair] = self._cache[k]
        missing = [pair for pair in pairs if pair not in out]
        if missing:
            kept = self.views.get_many(keys[pair] for pair in missing)
            out.update({pair: kept[keys[pair]] for pair in missing if keys[pair] in kept})
            missing = [pair for pair in missing if pair not in out]
        built: dict[str, list[dict]] = {}
        if missing:
            views = self._build_views(principal, org, policy, missing, part)
            built = {key(pair, p): view for (pair, p), view in views.items()}
            out.update({pair: views[(pair, part)] for pair in missing})
            if self.store.version() == version:  # not kept if a compute run finished meanwhile
                self.views.put_many(built, version)
        with self._lock:
            for k, view in [*((keys[pair], out[pair]) for pair in pairs), *built.items()]:
                self._cache[k] = view
                self._cache.move_to_end(k)
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return out

    def _build_views(self, principal: Principal, org: Organisation, policy: DisclosurePolicy,
                     pairs: list[tuple[str, date]], part: str) -> dict[tuple[tuple[str, date], str], list[dict]]:
        """Each pair's view of `part`, and with the whole view (ALL) its totals too (made on the way)."""
        scopes = {day: self._scope(principal, org, day) for day in {d for _, d in pairs}}
        by_level: dict[str, set[str]] = {}
        for scope in scopes.values():
            for level, code in scope:
                by_level.setdefault(level, set()).add(code)
        cells: dict[tuple[str, date], list[dict]] = {}
        if by_level:
            for r in self.store.cells({i for i, _ in pairs}, scopes, by_level,
                                      stratum_dim="total" if part == TOTALS else None):
                cells.setdefault((r["indicator_id"], r["ref_date"]), []).append(r)
        hierarchies = {day: self._hierarchy(org, day) for day in scopes}
        views = {}
        for indicator_id, day in pairs:
            scope = scopes[day]
            rows = [r for r in cells.get((indicator_id, day), []) if (r["org_level"], r["org_id"]) in scope]
            for p, view in self._protect_rows(org, hierarchies[day], indicator_id, scope, rows, policy,
                                              part).items():
                views[((indicator_id, day), p)] = view
        return views

    def _hierarchy(self, org: Organisation, day: date) -> _Hierarchy:
        key = ("hierarchy", day, org.fingerprint)
        with self._lock:
            found = self._answers.get(key)
        if found is None:
            found = _Hierarchy(org, day)
            self._remember(key, found)
        return found

    def _protect_rows(self, org: Organisation, hierarchy: _Hierarchy, indicator_id: str, scope: dict,
                      rows: list[dict], policy: DisclosurePolicy, part: str) -> dict[str, list[dict]]:
        """The view's totals protected on their own, and for ALL the whole view with the totals as they published
        (a stratum may be hidden beside them, a published total never). Fails closed: a table that cannot be
        protected is not shown at all."""
        if not rows:
            return {TOTALS: [], ALL: []} if part == ALL else {TOTALS: []}
        kind = rows[0]["kind"] or self._kind(indicator_id)
        totals = [r for r in rows if r["stratum_dim"] == "total"]
        try:
            first = protect(_cell_table(totals, hierarchy, scope, kind), policy)
        except DisclosureError:
            return {TOTALS: [], ALL: []} if part == ALL else {TOTALS: []}
        out = {TOTALS: self._view(org, totals, scope, first)}
        if part == ALL:
            try:
                whole = protect(_cell_table(rows, hierarchy, scope, kind), policy, hidden=first.suppressed,
                                fixed=frozenset(first.published))
                out[ALL] = self._view(org, rows, scope, whole)
            except DisclosureError:
                out[ALL] = out[TOTALS]
        return out

    def _view(self, org: Organisation, rows: list[dict], scope: dict, protection) -> list[dict]:
        letters: dict[str, dict[str, str]] = {}
        view = []
        for r in rows:
            unit = (r["org_level"], r["org_id"])
            s = (r["stratum_dim"], r["stratum"])
            n, d = protection.shown(("n", *unit, *s)), protection.shown(("d", *unit, *s))
            view.append(self._shown(r, n, d, scope[unit], org, letters))
        view.sort(key=_order)
        return view

    def _shown(self, r: dict, n: int | None, d: int | None, how: int, org: Organisation,
               letters: dict[str, dict[str, str]]) -> dict:
        """One result row as shown: counts as published (None when hidden), rates hidden with their counts, a
        lettered peer relabelled."""
        hidden = n is None or d is None
        out = {"indicator_id": r["indicator_id"], "ref_date": r["ref_date"], "org_level": r["org_level"],
               "org_id": r["org_id"], "org_name": self._name(org, (r["org_level"], r["org_id"])),
               "stratum_dim": r["stratum_dim"], "stratum": r["stratum"], "own": how == OWN, "numerator": n,
               "denominator": d, "suppressed": hidden}
        for f in ("rate", "ci_low", "ci_high", "percentile", "cluster_rank", "target_met"):
            out[f] = None if hidden else r[f]
        if not hidden and (n, d) != (r["numerator"], r["denominator"]):  # rounded: rates from rounded counts
            out["rate"] = (r["rate"] * (n * r["denominator"]) / (r["numerator"] * d)
                           if r["numerator"] and d and r["rate"] is not None else (0.0 if d else None))
            out["ci_low"] = out["ci_high"] = None
        if how == LETTERED:
            cluster = next(m.cluster_id for m in org.of_practice(r["org_id"]) if m.covers(r["ref_date"]))
            if cluster not in letters:
                letters[cluster] = self.letter(cluster, org)
            letter = letters[cluster][r["org_id"]]
            out["org_id"], out["org_name"] = letter, f"Praksis {letter}"
        return out

    def _kind(self, indicator_id: str) -> str:
        if self.catalogue is not None:
            for ind in self.catalogue.indicators():
                if ind.id == indicator_id:
                    return ind.kind
        return "proportion"

    @staticmethod
    def _name(org: Organisation, unit: tuple[str, str]) -> str:
        if unit[0] == "national":
            return "Hele landet"
        found = org.unit(*unit)
        return found.name if found else unit[1]

    # -- patient level ------------------------------------------------------------------------------------------

    def _clinical_practice(self, principal: Principal, ydernummer: str | None) -> str:
        practices = principal.clinical_practices
        if ydernummer is None:
            if len(practices) == 1:
                return next(iter(practices))
            if not practices:
                raise AccessDenied("Kun praksisens egne klinikere kan se patienter på lister fra praksis.")
            raise InvalidQuery("ydernummer skal angives: du har adgang til flere praksis")
        if ydernummer not in practices:
            raise AccessDenied("Du har ikke adgang til patienter i denne praksis.")
        return ydernummer

    def worklist(self, principal: Principal, indicator_id: str, ref_date: date | None = None,
                 ydernummer: str | None = None, status: str = "missing",
                 purpose: str = Purpose.QUALITY.value) -> list[dict]:
        """The practice's patients in an indicator's denominator, by pseudonymous key, with the deciding fact."""
        if status not in WORKLIST_STATUS:
            raise InvalidQuery(f"status skal være en af {', '.join(WORKLIST_STATUS)}")
        purpose = purpose_of(purpose).value
        practice = self._clinical_practice(principal, ydernummer)
        if not _possible(indicator_id):
            return []
        key = ("worklist", practice, indicator_id, ref_date, status, self.store.version())
        with self._lock:
            found = self._answers.get(key)
        if found is None:
            rows = self.store.worklist_flags(practice, indicator_id, ref_date,
                                             {"missing": False, "met": True}.get(status))
            day = rows[0]["ref_date"] if rows else ref_date
            if day is None:  # an empty list: the practice's newest date, if it has any
                periods = self.store.flag_periods(practice)
                day = periods[-1] if periods else None
            found = (rows, day)
            self._remember(key, found)
        rows, ref_date = found
        if ref_date is None:
            return []
        out = [{**{k: r[k] for k in ("indicator_id", "ref_date", "age", "sex", "in_numerator", "fact_date",
                                      "fact_code", "fact_value", "fact_text", "fact_unit")},
                "ydernummer": practice, "patient_key": str(r["patient_key"])} for r in rows]
        self._log(principal, "worklist", ydernummer=practice, purpose=purpose, object=f"indicator:{indicator_id}",
                  details={"ref_date": ref_date, "status": status, "patients": len(out)})
        return out

    def identities(self, principal: Principal, patient_keys: Iterable[int | str], purpose: str,
                   ydernummer: str | None = None) -> list[dict]:
        """CPR and name behind pseudonymous keys, for a clinical user of the patients' own practice; each logged."""
        purpose = purpose_of(purpose).value
        practice = self._clinical_practice(principal, ydernummer)
        try:
            keys = sorted({int(k) for k in patient_keys})
        except (TypeError, ValueError):
            raise InvalidQuery("patient_keys skal være heltal") from None
        if not keys or len(keys) > 500:
            raise InvalidQuery("angiv mellem 1 og 500 patientnøgler")
        periods = self.store.flag_periods(practice)
        in_range = [k for k in keys if -2**63 <= k < 2**63]  # anything else is nobody's patient key
        own = self.store.patients_of(practice, in_range, periods[-1]) if periods else set()
        if set(keys) - own:
            self._log(principal, "identity_denied", ydernummer=practice, purpose=purpose,
                      details={"patients": len(keys), "not_own": len(set(keys) - own)})
            raise AccessDenied("Mindst én af patienterne er ikke tilmeldt din praksis; intet er vist.")
        if self.reveal is None:
            raise AccessDenied("Identitetsboksen er ikke tilgængelig.")
        found = self.reveal(keys)
        role = next(g.role.value for g in principal.grants if g.clinical and g.scope_code == practice)
        self.audit.record_many([dict(action="identity_lookup", user_id=principal.user_id,
                                     username=principal.username, role=role, ydernummer=practice, patient_key=k,
                                     purpose=purpose, object="identity_vault") for k in keys])
        self.usage.seen(principal, "identity_lookup", self.organisation)
        return [{"patient_key": str(k), "cpr": f"{found[k].cpr[:6]}-{found[k].cpr[6:]}", "name": found[k].name}
                for k in keys if k in found]

    # -- exports ------------------------------------------------------------------------------------------------

    def export_results(self, principal: Principal, fmt: str, indicator_id: str, **filters) -> bytes:
        rows = self.results(principal, indicator_id, record=False, **filters)
        self._log(principal, "export", object=f"results:{indicator_id}:{fmt}", details={**filters, "rows": len(rows)})
        return _encode(rows, fmt)

    def export_worklist(self, principal: Principal, fmt: str, indicator_id: str, **filters) -> bytes:
        rows = self.worklist(principal, indicator_id, **filters)
        self._log(principal, "export", ydernummer=rows[0]["ydernummer"] if rows else None,
                  object=f"worklist:{indicator_id}:{fmt}", details={"rows": len(rows)})
        return _encode(rows, fmt)

    # -- metadata, deliveries, usage ----------------------------------------------------------------------------

    def packages(self, principal: Principal) -> list:
        if not principal.grants or self.catalogue is None:
            return []
        return list(self.catalogue.packages)

    def deliveries(self, principal: Principal) -> list[dict]:
        if principal.holds(Role.KIAP_ADMIN):
            return self.store.deliveries(None)
        rows = []
        for practice in sorted(principal.clinical_practices):
            rows.extend(self.store.deliveries(practice))
        return rows

    def active_users(self, principal: Principal) -> list[dict]:
        if not principal.holds(Role.KIAP_ADMIN):
            raise AccessDenied("Kun KiAP-administratorer kan se brugen af platformen.")
        return self.usage.active_users()

    def record_report_view(self, principal: Principal, report: str, ydernummer: str | None = None) -> None:
        if not principal.grants:
            raise AccessDenied("Ingen adgang.")
        self._log(principal, "report_view", ydernummer=ydernummer, object=f"report:{report}")

    def _log(self, principal: Principal, action: str, org: Organisation | None = None, **fields) -> None:
        self.audit.record(action, user_id=principal.user_id, username=principal.username,
                          role=principal.primary_role(), **fields)
        self.usage.seen(principal, action, lambda: org or self.organisation())


def gate_for(settings, engine: Engine, catalogue=None, store: ResultStore | None = None, reveal=None) -> Gate:
    """The gate as production wires it: compute's results store, the warehouse's vault, the audit log."""
    from kvalitetsplatform.access.audit import audit_key

    if reveal is None:
        from kvalitetsplatform.warehouse.vault import reveal as vault_reveal

        def reveal(keys):
            return vault_reveal(settings, keys)

    return Gate(engine, store or ResultStore.from_settings(settings), AuditLog(engine,
                audit_key(settings.session_secret)), letter_key=audit_key(settings.session_secret + b":letters"),
                catalogue=catalogue, reveal=reveal, views=ViewStore(views_path(settings)))


def views_path(settings):
    """The kept protected views, next to the results store."""
    return settings.home / "protected_views.sqlite"


def _part(stratum_dim: str | None) -> str:
    """The part of a view a request needs: totals alone, or the whole view."""
    return TOTALS if stratum_dim == "total" else ALL


def _possible(indicator_id: str) -> bool:
    """Whether this could be an indicator's id at all: one with a control character (e.g. NUL, which the SQL layer
    below cannot even quote) has no results, like any unknown id, and is not looked for."""
    return isinstance(indicator_id, str) and indicator_id.isprintable()


def _check_filters(org_level: str | None, stratum_dim: str | None) -> None:
    if org_level is not None and org_level not in ORG_LEVELS:
        raise InvalidQuery(f"org_level skal være en af {', '.join(ORG_LEVELS)}")
    if stratum_dim is not None and stratum_dim not in STRATUM_DIMS:
        raise InvalidQuery(f"stratum_dim skal være en af {', '.join(STRATUM_DIMS)}")


def _select(view: list[dict], org_level: str | None, org_id: str | None, stratum_dim: str | None,
            stratum: str | None) -> list[dict]:
    """The request's filters applied to a protected view: they select rows and change nothing else."""
    return [r for r in view
            if (org_level is None or r["org_level"] == org_level) and (org_id is None or r["org_id"] == org_id)
            and (stratum_dim is None or r["stratum_dim"] == stratum_dim)
            and (stratum is None or r["stratum"] == stratum)]


def _order(v: dict) -> tuple:
    return (ORG_LEVELS.index(v["org_level"]), v["org_id"],
            STRATUM_DIMS.index(v["stratum_dim"]) if v["stratum_dim"] in STRATUM_DIMS else 9, v["stratum"] or "")


def _letters(i: int) -> str:
    """0 → A, 25 → Z, 26 → AA."""
    out = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        out = chr(65 + r) + out
    return out


class _Hierarchy:
    """The organisation on one date as the attacker's relations see it: clusters and their practices, regions and
    their clusters, the municipalities (made once per date, shared by every view of that date)."""

    def __init__(self, org: Organisation, day: date):
        self.clusters: dict[str, list[str]] = {}
        cluster_region: dict[str, str] = {}
        for m in org.members_on(day):
            self.clusters.setdefault(m.cluster_id, []).append(m.ydernummer)
            cluster_region[m.cluster_id] = m.region_code
        self.regions: dict[str, list[str]] = {}
        for c, g in cluster_region.items():
            self.regions.setdefault(g, []).append(c)
        self.clusters_of: dict[str, list[str]] = {}
        for c, practices in self.clusters.items():
            for p in practices:
                self.clusters_of.setdefault(p, []).append(c)
        self.region_of = cluster_region
        self.municipalities = [u.code for u in org.units_at("municipality")]


def _cell_table(rows: list[dict], hierarchy: _Hierarchy, scope: dict, kind: str) -> CellTable:
    """The attacker's world for one indicator and date: visible cells with values, every other cell of the same
    hierarchy as unknown, and the relations between them. Relations among unknown cells only are left out: they
    cannot narrow a visible cell (any non-negative values at their edge extend to their inside)."""
    t = CellTable()
    strata: dict[str, set[str]] = {}
    for r in rows:
        if r["stratum_dim"] != "total":
            strata.setdefault(r["stratum_dim"], set()).add(r["stratum"])
        unit = (r["org_level"], r["org_id"])
        s = (r["stratum_dim"], r["stratum"])
        for part, column in (("n", "numerator"), ("d", "denominator")):
            key = (part, *unit, *s)
            t.value[key] = float(r[column] or 0)
            if scope.get(unit) == OWN:
                t.known.add(key)
    all_strata = [("total", "")] + [(dim, v) for dim in sorted(strata) for v in sorted(strata[dim])]
    clusters, regions, municipalities = hierarchy.clusters, hierarchy.regions, hierarchy.municipalities
    visible = set(t.value)
    # Only a relation with a visible cell is kept, so only the units near a visible one need looking at (a
    # coordinator sees a cluster of the country's 1,600 practices: checking every relation costs more than the LP).
    seen = {(r["org_level"], r["org_id"]) for r in rows}
    near = {c for level, code in seen for c in ((code,) if level == "cluster" else
                                                 hierarchy.clusters_of.get(code, ()) if level == "practice" else ())}
    near_clusters = [(c, clusters[c]) for c in sorted(near) if c in clusters]
    near = {g for level, code in seen for g in ((code,) if level == "region" else
                                                 (hierarchy.region_of.get(code),) if level == "cluster" else ())}
    near_regions = [(g, regions[g]) for g in sorted(near, key=str) if g in regions]

    def relate(total, parts):
        if any(k in visible for k in (total, *parts)):
            t.add_relation(total, list(parts))

    for part in ("n", "d"):
        for s in all_strata:
            for c, practices in near_clusters:
                relate((part, "cluster", c, *s), [(part, "practice", p, *s) for p in practices])
            for g, cs in near_regions:
                relate((part, "region", g, *s), [(part, "cluster", c, *s) for c in cs])
            relate((part, "national", NATIONAL, *s), [(part, "region", g, *s) for g in regions])
            if municipalities:
                relate((part, "national", NATIONAL, *s), [(part, "municipality", k, *s) for k in municipalities])
        for unit in sorted(seen):
            for dim in sorted(strata):
                relate((part, *unit, "total", ""), [(part, *unit, dim, v) for v in sorted(strata[dim])])
    for key in list(t.value):
        if key[0] == "n":
            d_key = ("d", *key[1:])
            if kind == "proportion":
                t.at_most.append((key, d_key))
            if kind == "mean":
                t.follows[key] = d_key
    t.counts = {k for k in t.value if k[0] == "d" or kind != "mean"}
    return t


def _encode(rows: list[dict], fmt: str) -> bytes:
    import pyarrow as pa

    if fmt not in EXPORT_FORMATS:
        raise InvalidQuery(f"format skal være en af {', '.join(EXPORT_FORMATS)}")
    table = pa.Table.from_pylist(rows) if rows else pa.table({})
    buffer = io.BytesIO()
    if fmt == "parquet":
        import pyarrow.parquet as pq

        pq.write_table(table, buffer)
    else:
        import pyarrow.csv as pacsv

        if rows:
            pacsv.write_csv(table, buffer)
    return buffer.getvalue()
