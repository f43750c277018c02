"""The platform in a real browser (Debian's Chromium through Playwright): sign in as each role and by launch token,
walk the main paths, and check that what must be hidden is nowhere — in the page, in the htmx fragments it loads,
or in its downloads. Every page is photographed for every role into tests/browser/screenshots/."""

from __future__ import annotations

import re
import time
import uuid
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from kvalitetsplatform.access.auth import LAUNCH_AUDIENCE, register_vendor
from kvalitetsplatform.access.testing import WORLD_PRACTICES

SHOTS = Path(__file__).parent / "screenshots"
pytestmark = pytest.mark.browser
CPR = re.compile(r"\b(0[1-9]|[12]\d|3[01])(0[1-9]|1[0-2])\d{2}-?\d{4}\b")
PATIENT_NAMES = ("Karen Hansen", "Jens Nielsen", "Mette Larsen", "Peter Sørensen")
PASSWORD = "demo-adgangskode-1"
NAME = {y: name for y, (name, _) in WORLD_PRACTICES.items()}
# Each role's pages: (short name, path)
WALK = {
    "gp1": [("cockpit", "/praksis/000001"), ("indikator", "/praksis/000001/indikator/IHD-1"),
            ("arbejdsliste", "/praksis/000001/indikator/IHD-1/arbejdsliste"), ("klynge", "/klynge/K1"),
            ("region", "/oversigt/region/1082"), ("rapporter", "/rapporter")],
    "staff2": [("cockpit", "/praksis/000002"), ("indikator", "/praksis/000002/indikator/DM-1a")],
    "coord": [("klynge", "/klynge/K1"), ("klynge-diabetes", "/klynge/K1?package=t2d"), ("rapporter", "/rapporter")],
    "region": [("region", "/oversigt/region/1082"), ("praksis", "/praksis/000005/indikator/IHD-1"),
               ("klynge", "/klynge/K2")],
    "kommune": [("kommune", "/oversigt/municipality/751"), ("rapporter", "/rapporter")],
    "public": [("landet", "/oversigt/national/DK"), ("landet-antibiotika", "/oversigt/national/DK?indicator=AB-1")],
    "admin": [("admin", "/admin"), ("leverance", "/admin/leverancer/000001-2025-12")],
}
LANDING = {"gp1": "/praksis/000001", "staff2": "/praksis/000002", "coord": "/klynge/K1",
           "region": "/oversigt/region/1082", "kommune": "/oversigt/municipality/751",
           "public": "/oversigt/national/DK", "admin": "/admin"}


def hidden_for(role: str) -> list[str]:
    out = list(PATIENT_NAMES)
    if role in ("gp1", "staff2", "coord"):
        own = {"gp1": "000001", "staff2": "000002"}.get(role)
        out += [NAME[y] for y in ("000001", "000002", "000003") if y != own]
    if role in ("kommune", "public", "admin"):
        out += list(NAME.values())
    return out


class Watch:
    """Every response body the page receives (documents, htmx fragments, downloads' sources)."""

    def __init__(self, page):
        self.bodies: list[tuple[str, str]] = []
        self.errors: list[str] = []
        page.on("response", self._response)
        # a 403/404 page the walk asks for on purpose shows as "Failed to load resource"; the URL check above
        # catches what matters (missing assets, server errors)
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error"
                and not m.text.startswith("Failed to load resource") else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))

    def _response(self, response):
        if response.status >= 500 or (response.status == 404 and "/static/" in response.url):
            self.errors.append(f"{response.status} {response.url}")
        kind = response.headers.get("content-type", "")
        if kind.startswith(("text/html", "text/csv", "application/json")):
            try:
                self.bodies.append((response.url, response.text()))
            except Exception:  # noqa: BLE001 - a redirect has no body
                pass


def assert_hidden(role: str, texts: list[tuple[str, str]]) -> None:
    for url, text in texts:
        match = CPR.search(text)
        assert not match, f"{role}: {url} shows a CPR number {match.group(0)}"
        for secret in hidden_for(role):
            assert secret not in text, f"{role}: {url} shows {secret!r}"


def sign_in(page, base: str, username: str) -> None:
    page.goto(base + "/log-ind")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")


def settle(page) -> None:
    """Wait until htmx and Vega are done (charts drawn or failed)."""
    page.wait_for_load_state("networkidle")
    page.wait_for_function("""() => [...document.querySelectorAll('[data-kp-chart]')].every(
        el => el.closest('details:not([open])') || el.classList.contains('kp-chart--ready')
              || el.classList.contains('kp-chart--failed'))""", timeout=60000)


@pytest.mark.parametrize("role", list(WALK))
def test_each_role_signs_in_walks_its_pages_and_sees_nothing_hidden(live, browser, role):
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="da-DK", accept_downloads=True)
    page = context.new_page()
    watch = Watch(page)
    sign_in(page, live.url, role)
    assert page.url == live.url + LANDING[role]
    SHOTS.mkdir(exist_ok=True)
    for name, path in WALK[role]:
        page.goto(live.url + path)
        settle(page)
        assert page.locator("h1").count() == 1, f"{role} {path} has one heading"
        page.screenshot(path=str(SHOTS / f"{role}-{name}.png"), full_page=True)
        assert not page.locator(".kp-chart--failed").count(), f"{role} {path}: a chart failed to draw"
        # every drawn chart offers its data and a text alternative
        for figure in page.locator("figure.chart").all():
            assert figure.get_attribute("aria-labelledby")
        for link in page.locator("a[href$='.csv']").all()[:3]:
            with page.expect_download() as download:
                link.click()
            watch.bodies.append((link.get_attribute("href"), open(download.value.path(), encoding="utf-8").read()))
    assert_hidden(role, watch.bodies + [(page.url, page.content())])
    assert not watch.errors, f"{role}: browser errors {watch.errors}"
    context.close()


def test_gp_main_path_with_worklist_identities_and_export(live, browser):
    context = browser.new_context(viewport={"width": 1280, "height": 800}, accept_downloads=True)
    page = context.new_page()
    watch = Watch(page)
    sign_in(page, live.url, "gp1")
    settle(page)
    # what needs attention first: the first tile of the first package is red or the package has none
    first = page.locator(".package").first.locator(".tile").first
    assert "tile--attention" in first.get_attribute("class") or not page.locator(".tile--attention").count()
    # sparklines came as htmx fragments and were drawn
    page.wait_for_selector("#spark-IHD-1 svg", timeout=60000)
    page.click("a[href$=\"/indikator/IHD-1\"]")
    settle(page)
    assert "/indikator/IHD-1" in page.url
    assert page.locator("figure.chart svg").count() >= 3  # trend, standing, breakdown
    assert re.search(r"\d+,\d\xa0%", page.locator(".tile__value").inner_text())
    page.click("text=Arbejdsliste: patienter uden for målet")
    page.wait_for_load_state("networkidle")
    assert page.locator("tbody tr").count() == 2 and not CPR.search(page.content())
    page.select_option("#f-sex", "F")  # htmx filter
    page.wait_for_function("() => document.querySelectorAll('tbody tr').length === 1")
    assert "sex=F" in page.url
    page.select_option("#f-sex", "")
    page.wait_for_function("() => document.querySelectorAll('tbody tr').length === 2")
    page.select_option("#purpose", "42a")
    page.click("text=Vis CPR og navn (logges)")
    page.wait_for_selector("td.cpr")
    cprs = page.locator("td.cpr").all_inner_texts()
    assert sorted(cprs) == ["010150-1002", "010150-1003"]
    assert "Jens Nielsen" in page.content()
    with page.expect_download() as download:
        page.click("text=Eksportér CSV (logges)")
    exported = open(download.value.path(), encoding="utf-8-sig").read()
    assert exported.startswith("CPR-nummer;Navn;") and "010150-1003" in exported
    page.screenshot(path=str(SHOTS / "gp1-arbejdsliste-identiteter.png"), full_page=True)
    # another practice's worklist is refused, in the browser too
    page.goto(live.url + "/praksis/000002/indikator/IHD-1/arbejdsliste")
    assert "Ingen adgang" in page.content() and not CPR.search(page.content())
    assert not watch.errors, watch.errors
    context.close()


def test_launch_from_the_practice_system_opens_the_practice(live, browser):
    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    register_vendor(live.engine, live.audit, "test-lps", public, "ES256")
    now = int(time.time())
    token = jwt.encode({"iss": "test-lps", "aud": LAUNCH_AUDIENCE, "sub": "gp1", "ydernummer": "000001", "iat": now,
                        "exp": now + 120, "jti": uuid.uuid4().hex}, key, algorithm="ES256")
    context = browser.new_context(viewport={"width": 1024, "height": 768})
    page = context.new_page()
    page.set_content(f'<form method="post" action="{live.url}/launch"><input type="hidden" name="launch_token" '
                     f'value="{token}"><button>Klinikkens Cockpit</button></form>')
    page.click("button")
    page.wait_for_load_state("networkidle")
    assert page.url == live.url + "/praksis/000001"
    assert "åbnet fra lægesystemet" in page.content()
    settle(page)
    page.screenshot(path=str(SHOTS / "gp1-launch-tablet.png"), full_page=False)
    # the token works once
    replay = context.new_page()
    replay.set_content(f'<form method="post" action="{live.url}/launch"><input type="hidden" name="launch_token" '
                       f'value="{token}"><button>igen</button></form>')
    replay.click("button")
    replay.wait_for_load_state("networkidle")
    assert "allerede brugt" in replay.content()
    context.close()


def test_keyboard_and_tablet(live, browser):
    context = browser.new_context(viewport={"width": 768, "height": 1024}, has_touch=True)
    page = context.new_page()
    sign_in(page, live.url, "coord")
    settle(page)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent.trim()")
    assert focused  # focus moves into the main content
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 768 + 1, "no sideways scrolling of the page on a tablet (wide tables scroll in their box)"
    page.screenshot(path=str(SHOTS / "coord-klynge-tablet.png"), full_page=True)
    context.close()


def test_english(live, browser):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    sign_in(page, live.url, "public")
    page.click("text=English")
    settle(page)
    assert page.evaluate("document.documentElement.lang") == "en"
    assert "Whole country" in page.content()
    page.screenshot(path=str(SHOTS / "public-landet-english.png"), full_page=True)
    context.close()
