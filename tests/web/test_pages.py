"""Every page × every role through the whole app (API factory + web pages + the real gate): the status, what must
show, and that what must be hidden is nowhere — in pages, htmx fragments and CSV downloads."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from kvalitetsplatform.access.db import audit_entry
from kvalitetsplatform.access.testing import WORLD_PRACTICES

CPR = re.compile(r"\b(0[1-9]|[12]\d|3[01])(0[1-9]|1[0-2])\d{2}-?\d{4}\b")  # ddmmyy-nnnn
PATIENT_NAMES = ("Karen Hansen", "Jens Nielsen", "Mette Larsen", "Peter Sørensen")
NAME = {y: name for y, (name, _) in WORLD_PRACTICES.items()}

ROLES = ("gp1", "staff2", "coord", "region", "kommune", "public", "admin", "nobody")
# (path, {role: expected status}); a role not named gets 404 (the page's unit is not theirs) unless given
PAGES = {
    "/praksis/000001": {"gp1": 200, "region": 200},
    "/praksis/000002": {"staff2": 200, "region": 200},
    "/praksis/000001/indikator/IHD-1": {"gp1": 200, "region": 200},
    "/praksis/000001/tendenser/ihd": {"gp1": 200, "region": 200},
    "/praksis/000001/diagram/spark-IHD-1.csv": {"gp1": 200, "region": 200},
    "/praksis/000001/indikator/IHD-1/diagram/trend.csv": {"gp1": 200, "region": 200},
    "/praksis/000001/indikator/IHD-1/arbejdsliste": {"gp1": 200, "staff2": 403, "coord": 403, "region": 403,
                                                     "kommune": 403, "public": 403, "admin": 403, "nobody": 403},
    "/klynge/K1": {"gp1": 200, "staff2": 200, "coord": 200, "region": 200},
    "/klynge/K1/diagram/heatmap.csv": {"gp1": 200, "staff2": 200, "coord": 200, "region": 200},
    "/oversigt/region/1082": {"gp1": 200, "staff2": 200, "coord": 200, "region": 200, "kommune": 200, "public": 200},
    "/oversigt/municipality/751": {"region": 200, "kommune": 200},
    "/oversigt/national/DK": {"gp1": 200, "staff2": 200, "coord": 200, "region": 200, "kommune": 200, "public": 200},
    "/oversigt/national/DK/diagram/compare-region.csv": {r: 200 for r in ("gp1", "staff2", "coord", "region",
                                                                           "kommune", "public")},
    "/rapporter": {r: 200 for r in ("gp1", "staff2", "coord", "region", "kommune", "public", "admin", "nobody")},
    "/admin": {"admin": 200, **{r: 403 for r in ROLES if r != "admin"}},
    "/admin/diagram/active-users.csv": {"admin": 200, **{r: 403 for r in ROLES if r != "admin"}},
}


def hidden_for(role: str) -> list[str]:
    """Strings that must never reach this role."""
    out = list(PATIENT_NAMES)
    if role in ("gp1", "staff2", "coord"):  # cluster K1 shows its practices as letters (the default)
        own = {"gp1": "000001", "staff2": "000002"}.get(role)
        out += [NAME[y] for y in ("000001", "000002", "000003") if y != own]
        out += [y for y in ("000002", "000003", "000001") if y != own]
    if role in ("kommune", "public", "admin", "nobody"):
        out += list(NAME.values())
    return out


@pytest.mark.parametrize("role", ROLES)
def test_every_page_for_every_role(platform, role):
    client = platform.client(role)
    for path, expected in PAGES.items():
        response = client.get(path, headers={"HX-Request": "true"} if "tendenser" in path else {})
        want = expected.get(role, 404)
        assert response.status_code == want, f"{role} {path}: {response.status_code} (expected {want})"
        body = response.text
        assert not CPR.search(body), f"{role} {path} shows a CPR number"
        for secret in hidden_for(role):
            if secret in path:  # the page echoes its own address (language links); that is not data
                continue
            pattern = rf"(?<!\d){secret}(?!\d)" if secret.isdigit() else re.escape(secret)
            assert not re.search(pattern, body), f"{role} {path} shows {secret!r}"
        if want == 200 and path.endswith(".csv"):
            assert response.headers["content-type"].startswith("text/csv")
            assert body.startswith("\ufeff") and ";" in body.splitlines()[0]


def test_signed_out_pages_send_to_sign_in_and_fragments_ask_htmx_to(platform):
    client = platform.client(None)
    response = client.get("/praksis/000001")
    assert response.status_code == 303 and response.headers["location"].startswith("/log-ind?next=/praksis/000001")
    fragment = client.get("/praksis/000001/tendenser/ihd", headers={"HX-Request": "true"})
    assert fragment.status_code == 401 and fragment.headers["HX-Redirect"].startswith("/log-ind")
    assert client.get("/praksis/000001/diagram/spark-IHD-1.csv").status_code == 303


def test_sign_in_with_password_and_csrf(platform):
    client = platform.client(None)
    form = client.get("/log-ind")
    assert form.status_code == 200 and 'lang="da"' in form.text and "Log ind" in form.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
    wrong = client.post("/log-ind", data={"username": "gp1", "password": "forkert-kode-123", "csrf_token": token})
    assert wrong.status_code == 401 and "Forkert brugernavn eller adgangskode" in wrong.text
    no_csrf = client.post("/log-ind", data={"username": "gp1", "password": "demo-adgangskode-1", "csrf_token": "x"})
    assert no_csrf.status_code == 401 and "Formularen er udløbet" in no_csrf.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', no_csrf.text).group(1)  # each form has a fresh one
    ok = client.post("/log-ind", data={"username": "gp1", "password": "demo-adgangskode-1", "csrf_token": token,
                                        "next": "//evil.example/"})
    assert ok.status_code == 303 and ok.headers["location"] == "/"  # no open redirect
    assert client.get("/").headers["location"] == "/praksis/000001"
    page = client.get("/praksis/000001")
    assert page.status_code == 200 and "Lægerne i Vestergade" in page.text


def test_cockpit_puts_what_needs_attention_first(platform):
    page = platform.client("gp1").get("/praksis/000001").text
    tiles = re.findall(r'class="tile tile--(\w+)" data-indicator="([^"]+)"', page)
    ihd = [t for t in tiles if t[1].startswith("IHD")]
    statuses = [s for s, _ in ihd]
    assert statuses == sorted(statuses, key=lambda s: {"attention": 0, "none": 1, "met": 2}[s])
    assert "Tal pr. 31.12.2025" in page
    assert re.search(r"\d+,\d\xa0%", page), "Danish percentages: comma decimals, a no-break space before %"


def test_cockpit_shows_the_packages_the_cluster_follows(platform):
    from kvalitetsplatform.access.orgs import set_followed_packages
    from kvalitetsplatform.indicators import load_catalogue

    engine = platform.app.state.services.engine
    known = [p.id for p in load_catalogue().packages]
    client = platform.client("gp1")

    def packages(path: str) -> set[str]:  # the cluster's choice shows at once: kept pages are keyed by it
        return set(re.findall(r'<h2 id="pk-([\w-]+)"', client.get(path).text))

    everything = packages("/praksis/000001")
    assert {"ihd", "t2d", "antibiotics"} <= everything
    set_followed_packages(engine, "K1", ["ihd", "antibiotics"], known)
    try:
        assert packages("/praksis/000001") == {"ihd", "antibiotics"}
        page = client.get("/praksis/000001").text
        assert "Klyngen følger 2 pakker" in page and "?alle=1" in page
        assert packages("/praksis/000001?alle=1") == everything
        with pytest.raises(ValueError, match="ukendt pakke"):
            set_followed_packages(engine, "K1", ["nonsense"], known)
    finally:
        set_followed_packages(engine, "K1", [], known)
    assert packages("/praksis/000001") == everything


def test_cockpit_indicator_and_cluster_page_are_rendered_once_per_scope_and_framed_per_person(platform,
                                                                                               monkeypatch):
    """Two GPs of one practice share the rendered content (kept per scope, results and organisation version); the
    frame around it (name, CSRF token) is each one's own, every request is audit-logged, and a change of the
    organisation renders the page anew. Adds a user."""
    from kvalitetsplatform.access import users
    from kvalitetsplatform.access.orgs import set_peer_display
    from kvalitetsplatform.web import pages
    from kvalitetsplatform.web.app import Kept

    from .web_platform import PASSWORD

    platform.ids["gp1b"] = users.create_user(platform.engine, platform.audit, "gp1b", "Anden Læge", PASSWORD)
    users.grant(platform.engine, platform.audit, "gp1b", "gp", "000001")
    platform.app.state.kp_kept = Kept()
    built = []
    for name in ("build_cockpit", "build_indicator", "build_cluster"):
        original = getattr(pages, name)
        monkeypatch.setattr(pages, name, lambda *a, original=original, **k: built.append(a[1:]) or original(*a, **k))

    def main(html: str) -> str:
        return html[html.index("<main"):html.index("</main>")]

    for path in ("/praksis/000001", "/praksis/000001/indikator/IHD-1", "/klynge/K1?package=ihd"):
        before = len(built)
        first, second = platform.client("gp1"), platform.client("gp1b")
        a, b = first.get(path), second.get(path)
        assert a.status_code == b.status_code == 200 and len(built) == before + 1
        assert main(a.text) == main(b.text) and "31.12.2025" in main(a.text)
        assert first.csrf in a.text and "Gp1" in a.text and second.csrf not in a.text and "Anden Læge" not in a.text
        assert second.csrf in b.text and "Anden Læge" in b.text and first.csrf not in b.text
    with platform.engine.connect() as conn:
        views = conn.execute(select(audit_entry.c.username).where(audit_entry.c.object == "report:cockpit")
                             .order_by(audit_entry.c.seq.desc()).limit(2)).scalars().all()
    assert sorted(views) == ["gp1", "gp1b"]

    lettered = platform.client("gp1").get("/klynge/K1?package=ihd").text
    before = len(built)
    set_peer_display(platform.engine, "K1", "names")
    try:
        named = platform.client("gp1").get("/klynge/K1?package=ihd").text
        assert len(built) == before + 1 and "Lægehuset Øst" in named and "Lægehuset Øst" not in lettered
    finally:
        set_peer_display(platform.engine, "K1", "letters")
    assert "Lægehuset Øst" not in platform.client("gp1").get("/klynge/K1?package=ihd").text  # no stale named page


def test_worklist_reveal_and_export_are_logged(platform):
    client = platform.client("gp1")
    base = "/praksis/000001/indikator/IHD-1/arbejdsliste"
    page = client.get(base)
    assert page.status_code == 200 and not CPR.search(page.text)
    assert "2 af 2 patienter" in page.text  # web_world: patients 2 and 3 are in the denominator only
    # sorting and filtering as fragments
    women = client.get(base, params={"sex": "F"}, headers={"HX-Request": "true"})
    assert "<html" not in women.text and "1 af 2 patienter" in women.text
    bad = client.post(base + "/identiteter", data={"purpose": "42d", "csrf_token": "wrong"})
    assert bad.status_code == 403 and not CPR.search(bad.text)
    before = _lookups(platform)
    shown = client.post(base + "/identiteter", data={"purpose": "42d", "csrf_token": client.csrf},
                        headers={"HX-Request": "true"})
    assert shown.status_code == 200
    assert "010150-1002" in shown.text and "Jens Nielsen" in shown.text and "Karen Hansen" not in shown.text
    lookups = _lookups(platform)[len(before):]
    assert len(lookups) == 2 and {r.purpose for r in lookups} == {"42d"} and {r.ydernummer for r in lookups} == {
        "000001"}
    export = client.post("/praksis/000001/indikator/IHD-1/arbejdsliste.csv",
                         data={"csrf_token": client.csrf, "identified": "1", "purpose": "42a"})
    assert export.status_code == 200 and "010150-1003" in export.text and "Mette Larsen" in export.text
    assert export.text.splitlines()[0].lstrip("\ufeff").startswith("CPR-nummer;Navn;Patient (pseudonym)")
    with platform.engine.connect() as conn:
        actions = [r.action for r in conn.execute(select(audit_entry.c.action).order_by(audit_entry.c.seq))]
    assert actions[-1] == "report_view" and "identity_lookup" in actions[-5:]
    plain = client.post("/praksis/000001/indikator/IHD-1/arbejdsliste.csv", data={"csrf_token": client.csrf})
    assert plain.status_code == 200 and not CPR.search(plain.text) and "Patient (pseudonym)" in plain.text


def _lookups(platform):
    with platform.engine.connect() as conn:
        return conn.execute(select(audit_entry).where(audit_entry.c.action == "identity_lookup")
                            .order_by(audit_entry.c.seq)).all()


def test_other_practice_patients_cannot_be_revealed(platform):
    client = platform.client("gp1")
    response = client.post("/praksis/000002/indikator/IHD-1/arbejdsliste/identiteter",
                           data={"purpose": "42d", "csrf_token": client.csrf})
    assert response.status_code == 403 and not CPR.search(response.text)
    export = client.post("/praksis/000002/indikator/IHD-1/arbejdsliste.csv",
                         data={"csrf_token": client.csrf, "identified": "1"})
    assert export.status_code == 403 and not CPR.search(export.text)


def test_small_counts_are_suppressed_for_the_region(platform):
    """Practice 000005 has one patient aged 80+ (web_world): the region sees "<5", never the count."""
    client = platform.client("region")
    page = client.get("/praksis/000005/indikator/IHD-1")
    assert page.status_code == 200
    csv = client.get("/praksis/000005/indikator/IHD-1/diagram/breakdown.csv").text
    row = next(line for line in csv.splitlines() if line.startswith("80+"))
    assert row.split(";")[2:] == ["<5", "<5"]


def test_english_is_selectable_and_formats_numbers_the_english_way(platform):
    client = platform.client("gp1")
    switched = client.get("/sprog/en", params={"next": "/praksis/000001"})
    assert switched.status_code == 303 and switched.headers["location"] == "/praksis/000001"
    page = client.get("/praksis/000001").text
    assert 'lang="en"' in page and "Figures as of 31 Dec 2025" in page and "Sign out" in page
    assert re.search(r"\d+\.\d%", page) and not re.search(r"\d+,\d\xa0%", page)


def test_nobody_has_no_roles(platform):
    page = platform.client("nobody").get("/")
    assert page.status_code == 200 and "ingen aktive roller" in page.text


def test_library_lists_only_what_the_role_may_open_and_filters(platform):
    gp = platform.client("gp1").get("/rapporter").text
    assert "/praksis/000001/indikator/" in gp and "/klynge/" not in gp and "/oversigt/" not in gp
    kommune = platform.client("kommune").get("/rapporter").text
    assert "/oversigt/municipality/751" in kommune and "/praksis/" not in kommune
    found = platform.client("gp1").get("/rapporter", params={"q": "diabetes"}, headers={"HX-Request": "true"}).text
    assert "<html" not in found and "Type 2-diabetes" in found and "Iskæmisk" not in found


def test_pages_carry_a_strict_content_security_policy(platform):
    response = platform.client("gp1").get("/praksis/000001/indikator/IHD-1")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-eval" not in csp
    assert "<script>" not in response.text  # no inline scripts: chart specs are JSON data blocks


def test_pages_say_in_words_when_there_are_no_results_yet(platform):
    from kvalitetsplatform.compute.store import StoreError

    store = platform.app.state.services.gate.store
    original = store._connect

    def missing():
        raise StoreError("Der er ingen resultater endnu. Kør `kp compute`.")

    store._connect = missing
    platform.app.state.kp_source._cache.clear()
    platform.app.state.services.gate._answers.clear()  # what the gate keeps per results version (here always "1")
    try:
        page = platform.client("coord").get("/klynge/K1?package=t2d")
        assert page.status_code == 503 and "Tallene er ikke klar" in page.text and "kp compute" in page.text
        assert "<html" in page.text
        api = platform.client("coord").get("/api/v1/results", params={"indicator_id": "DM-1a"})
        assert api.status_code == 503 and api.headers["content-type"].startswith("application/json")
    finally:
        store._connect = original


def test_static_pdf_reports_are_in_the_library_for_their_audience_only(platform):
    from kvalitetsplatform.reports.audience import Audience

    library = platform.app.state.kp_source.reports
    entry = library.build(Audience("practice", "000001"), "antibiotics", created_by="test")
    gp = platform.client("gp1")
    listed = gp.get("/rapporter", params={"kind": "pdf"}).text
    assert f"/rapporter/pdf/{entry.id}" in listed and "PDF" in listed
    pdf = gp.get(f"/rapporter/pdf/{entry.id}")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    # the link a subscription's notice e-mail carries leads to the same PDF
    linked = gp.get(f"/rapporter/{entry.id}")
    assert linked.status_code == 303 and gp.get(linked.headers["location"]).content == pdf.content
    for role in ("staff2", "coord", "region", "public", "admin"):
        other = platform.client(role)
        assert f"/rapporter/pdf/{entry.id}" not in other.get("/rapporter").text, role
        refused = other.get(other.get(f"/rapporter/{entry.id}").headers["location"])
        assert refused.status_code == 403 and b"%PDF" not in refused.content, role
    assert platform.client("gp1").get("/rapporter/pdf/practice-000001-antibiotics-1999-01-da-v1").status_code == 403
