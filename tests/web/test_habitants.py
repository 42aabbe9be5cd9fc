"""The residents' app (``/habitants/``) in headless Chromium on a phone-sized screen.

Real server (the Open311 tests' one, on the test PostGIS), real browser (Debian's chromium via
Playwright), real photo with GPS EXIF. What the resident does in the page is checked in the
database and through the staff API: a report filed with a photo is stored with its event and a
photo without metadata; a report filed offline is sent once when the network returns, even when
the first attempt reached the server but its answer was lost; a status change by staff shows in
"Mes signalements" with the city's note. Screenshots go to ``var/test-artifacts/web/``.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import h3
import httpx
import pytest
from PIL import Image
from playwright.sync_api import Browser, BrowserContext, Page, Request, Route, ViewportSize, expect
from sqlalchemy import Engine, text

from geotranquil.config import Settings
from geotranquil.services import open311 as svc
from tests.open311.conftest import (  # noqa: F401
    Places,
    jpeg_with_gps,
    keys,
    o311_settings,
    o311_url,
    places,
)
from tests.web.test_accessibilite import _axe, _describe

PHONE: ViewportSize = {"width": 390, "height": 844}
REPO = Path(__file__).resolve().parents[2]
MIN_TARGET_PX = 44  # WCAG 2.5.5 / platform guidance for touch targets


@dataclass
class Phone:
    """A phone-sized browser tab on the residents' app, with what it logged."""

    context: BrowserContext
    page: Page
    base: str
    errors: list[str] = field(default_factory=list)
    posts: list[Request] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)

    def open(self, view: str = "") -> None:
        self.page.goto(f"{self.base}/habitants/{'#' + view if view else ''}")
        self.page.wait_for_selector("body[data-app=pret]", timeout=30_000)

    def at(self, lon: float, lat: float) -> None:
        self.context.set_geolocation({"longitude": lon, "latitude": lat, "accuracy": 10})

    def fill_report(
        self, service_name: str, description: str, *, photo: bytes | None = None
    ) -> None:
        """Choose the service, place the pin at my position, describe, attach a photo."""
        page = self.page
        page.get_by_role("radio", name=service_name).check()
        required = page.locator("[data-obligatoire='1'] input").first
        if required.count():
            required.check()
        page.get_by_role("button", name="Utiliser ma position").click()
        page.wait_for_selector("#position-texte:has-text('ma position')")
        page.get_by_label("Description (facultative)").fill(description)
        if photo is not None:
            page.set_input_files(
                "#photo-galerie", {"name": "photo.jpg", "mimeType": "image/jpeg", "buffer": photo}
            )
            page.wait_for_selector("#apercu img")

    def submit(self) -> None:
        self.page.get_by_role("button", name="Envoyer le signalement").click()

    def shot(self, artifacts: Path, name: str) -> None:
        self.page.screenshot(path=str(artifacts / f"habitants-{name}.png"), full_page=True)


def _is_report_post(request: Request) -> bool:
    return request.method == "POST" and "/signalements" in request.url


@pytest.fixture
def phone(browser: Browser, o311_url: str) -> Iterator[Phone]:  # noqa: F811
    context = browser.new_context(
        viewport=PHONE,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="fr-FR",
        timezone_id="Europe/Paris",
        permissions=["geolocation"],
        geolocation={"longitude": 5.3811, "latitude": 43.2965, "accuracy": 10},
    )
    page = context.new_page()
    found = Phone(context, page, o311_url)
    page.on("console", lambda m: found.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: found.errors.append(f"page error: {e}"))
    page.on(
        "request",
        lambda r: (
            found.posts.append(r) if r.method == "POST" and "/signalements" in r.url else None
        ),
    )
    page.on("request", lambda r: found.urls.append(r.url))
    yield found
    context.close()


def _report_rows(engine: Engine, description: str) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT r.service_request_id, r.service_code, r.state, r.idempotency_key, "
                "ST_X(r.geom) AS lon, ST_Y(r.geom) AS lat, e.category, e.h3_r8, "
                "(SELECT count(*) FROM service_request_media m WHERE m.request_id = r.id) "
                "AS photos, k.email "
                "FROM service_requests r JOIN events e ON e.id = r.event_id "
                "LEFT JOIN service_request_contacts k ON k.request_id = r.id "
                "WHERE r.description = :d"
            ),
            {"d": description},
        )
        return [dict(r._mapping) for r in rows]


def _number(page: Page) -> str:
    page.wait_for_selector("#resultat[data-etat=ok]", timeout=30_000)
    found = re.search(r"numéro : (\d{4}-\d{6})", page.locator("#resultat").inner_text())
    assert found, page.locator("#resultat").inner_text()
    return found.group(1)


def test_file_a_report_with_a_photo(
    phone: Phone,
    places: Places,  # noqa: F811
    keys: dict[str, str],  # noqa: F811
    loaded_engine: Engine,
    artifacts: Path,
) -> None:
    lon, lat = places.next()
    phone.at(lon, lat)
    phone.open()
    description = f"Encombrants devant l'école {uuid.uuid4().hex[:8]}"
    phone.fill_report("Dépôts sauvages", description, photo=jpeg_with_gps((1200, 900)))
    phone.page.get_by_text("5. Vos coordonnées (facultatives)").click()
    expect(phone.page.locator("#mention-donnees")).to_contain_text("effacées au bout de 365 jours")
    phone.page.get_by_label("Courriel").fill("habitant.test@example.org")
    phone.shot(artifacts, "formulaire")
    phone.submit()
    number = _number(phone.page)
    phone.shot(artifacts, "envoye")

    rows = _report_rows(loaded_engine, description)
    assert len(rows) == 1
    row = rows[0]
    assert row["service_request_id"] == number
    assert (row["service_code"], row["category"], row["state"]) == (
        "depot_sauvage",
        "depot_sauvage",
        "received",
    )
    assert abs(row["lon"] - lon) < 1e-6 and abs(row["lat"] - lat) < 1e-6
    assert row["h3_r8"] == int(h3.latlng_to_cell(lat, lon, 8), 16)
    assert row["photos"] == 1 and row["email"] == "habitant.test@example.org"
    staff = {"X-API-Key": keys["agent"]}
    photo = httpx.get(f"{phone.base}/signalements/{number}/photo", headers=staff, timeout=30)
    assert photo.status_code == 200 and photo.headers["content-type"] == "image/jpeg"
    image = Image.open(io.BytesIO(photo.content))
    assert image.size == (1200, 900)
    assert dict(image.getexif()) == {} and "exif" not in image.info
    assert b"MarqueSecreteXYZ" not in photo.content
    # the public reading of the same report carries none of the personal data
    public = httpx.get(f"{phone.base}/open311/v2/requests/{number}.json", timeout=30).text
    assert "habitant.test" not in public and description not in public  # not yet published
    # and it is in "Mes signalements" as received
    phone.page.get_by_role("button", name=re.compile("^Mes signalements")).click()
    expect(phone.page.locator(f"#mes-signalements li[data-id='{number}']")).to_contain_text("Reçu")
    assert phone.errors == []


def test_a_report_filed_offline_arrives_once(
    phone: Phone,
    places: Places,  # noqa: F811
    loaded_engine: Engine,
    artifacts: Path,
) -> None:
    lon, lat = places.next()
    phone.at(lon, lat)
    phone.open()
    description = f"Lampadaire éteint, rue sans lumière {uuid.uuid4().hex[:8]}"
    phone.context.set_offline(True)
    phone.page.wait_for_selector("#reseau:not([hidden])")
    phone.fill_report("Éclairage public défaillant", description, photo=jpeg_with_gps())
    phone.submit()
    phone.page.wait_for_selector("#resultat[data-etat=attente]")
    phone.page.wait_for_function("() => document.body.dataset.envois === '1'")
    expect(phone.page.locator("#resultat")).to_contain_text("partira tout seul")
    assert _report_rows(loaded_engine, description) == []
    phone.page.get_by_role("button", name=re.compile("^Mes signalements")).click()
    expect(phone.page.locator("#file-attente")).to_contain_text("En attente d'envoi")
    phone.shot(artifacts, "hors-ligne")

    # back online, the first attempt reaches the server but its answer is lost on the way
    lost: list[str] = []

    def lose_the_answer(route: Route) -> None:
        if not lost:
            route.fetch()  # the server files the report...
            lost.append(route.request.headers.get("idempotency-key", ""))
            route.abort("connectionreset")  # ...but the phone never hears of it
        else:
            route.continue_()

    phone.page.route("**/habitants/signalements", lose_the_answer)
    phone.context.set_offline(False)
    phone.page.wait_for_function("() => document.body.dataset.envois === '0'", timeout=60_000)
    rows = _report_rows(loaded_engine, description)
    assert len(rows) == 1, rows
    keys_sent = [r.headers.get("idempotency-key") for r in phone.posts]
    assert len(keys_sent) >= 2 and len(set(keys_sent)) == 1 and lost == keys_sent[:1]
    assert rows[0]["idempotency_key"] == keys_sent[0] and rows[0]["photos"] == 1
    number = rows[0]["service_request_id"]
    expect(phone.page.locator("#file-attente li")).to_have_count(0)
    expect(phone.page.locator(f"#mes-signalements li[data-id='{number}']")).to_have_count(1)
    phone.shot(artifacts, "retour-reseau")


def test_a_status_change_by_staff_shows_in_my_reports(
    phone: Phone,
    places: Places,  # noqa: F811
    keys: dict[str, str],  # noqa: F811
    artifacts: Path,
) -> None:
    lon, lat = places.next()
    phone.at(lon, lat)
    phone.open()
    phone.fill_report("Tags et graffitis", f"Tag sur la façade de la mairie {uuid.uuid4().hex[:8]}")
    phone.submit()
    number = _number(phone.page)

    note = "Une équipe de nettoyage passera jeudi matin."
    changed = httpx.patch(
        f"{phone.base}/signalements/{number}",
        headers={"X-API-Key": keys["agent"]},
        json={"state": "in_progress", "notes": note},
        timeout=30,
    )
    assert changed.status_code == 200, changed.text

    phone.page.reload()  # the resident opens the app again
    phone.page.wait_for_selector("body[data-app=pret]")
    banner = phone.page.locator("#annonces")
    expect(banner).to_contain_text(re.compile(f"n°\\s{number}"))  # \s: a no-break space
    expect(banner).to_contain_text("En cours de traitement")
    expect(banner).to_contain_text(note)
    expect(phone.page.locator("#badge")).to_have_text("1")
    phone.shot(artifacts, "annonce")
    banner.get_by_role("button", name="Voir mes signalements").click()
    item = phone.page.locator(f"#mes-signalements li[data-id='{number}']")
    for text_shown in ("En cours de traitement", note, "Nouveau"):
        expect(item).to_contain_text(text_shown)
    expect(phone.page.locator("#badge")).to_be_hidden()
    phone.shot(artifacts, "mes-signalements")
    phone.page.screenshot(path=str(artifacts / "habitants-ecran-suivi.png"))
    if os.environ.get("GEOTRANQUIL_UPDATE_DOCS") == "1":  # the README's picture, on demand
        shutil.copyfile(artifacts / "habitants-ecran-suivi.png", REPO / "docs" / "habitants.png")
    # seen once: opened again, nothing new is announced
    phone.page.reload()
    phone.page.wait_for_selector("body[data-app=pret]")
    expect(phone.page.locator("#annonces")).to_have_text("")


def test_the_app_offers_to_follow_an_open_report_nearby(
    phone: Phone,
    places: Places,  # noqa: F811
    keys: dict[str, str],  # noqa: F811
) -> None:
    lon, lat = places.next()
    first = httpx.post(
        f"{phone.base}/open311/v2/requests.json",
        data={
            "api_key": keys["partner"],
            "service_code": "voirie_degradee",
            "lat": str(lat),
            "long": str(lon),
            "description": "Nid-de-poule profond",
            "email": "premier.auteur@example.org",
        },
        timeout=30,
    )
    assert first.status_code == 201, first.text
    existing = first.json()[0]["service_request_id"]
    phone.at(lon + 0.0002, lat)  # about 16 m east
    phone.open()
    phone.page.get_by_role("radio", name="Voirie dégradée").check()
    phone.page.get_by_role("button", name="Utiliser ma position").click()
    offer = phone.page.locator("#doublon")
    expect(offer).to_be_visible()
    expect(offer).to_contain_text("déjà ouvert")
    expect(offer).to_contain_text(re.compile(f"N°\\s{existing}"))
    expect(offer).not_to_contain_text("premier.auteur")
    offer.get_by_role("button", name=f"Suivre ce signalement (n° {existing})").click()
    phone.page.get_by_role("button", name=re.compile("^Mes signalements")).click()
    expect(phone.page.locator(f"#mes-signalements li[data-id='{existing}']")).to_have_count(1)


def test_the_neighbourhood_picture_is_public_aggregated_and_late(
    phone: Phone,
    o311_settings: Settings,  # noqa: F811
    loaded_engine: Engine,
    artifacts: Path,
) -> None:
    """Ten reports 20 days old in one hexagon are drawn (a multiple of 5 in one week: the
    rounding keeps it); seven of 2 days ago are not."""
    old_cell = h3.latlng_to_cell(43.3160, 5.3950, 8)
    new_cell = h3.latlng_to_cell(43.3156, 5.4076, 8)  # the neighbour to the east
    now = datetime.now(UTC)
    paris = ZoneInfo("Europe/Paris")
    for cell, n, age in ((old_cell, 10, 20), (new_cell, 7, 2)):
        lat, lon = h3.cell_to_latlng(cell)
        noon = datetime.combine(
            (now.astimezone(paris) - timedelta(days=age)).date(), time(12), tzinfo=paris
        )
        for i in range(n):
            fields = {"service_code": ["tag_graffiti"], "lat": [str(lat)], "long": [str(lon)]}
            svc.file_request(
                loaded_engine,
                o311_settings,
                svc.parse_submission({**fields, "description": [f"tag {i}"]}, None),
                key_id=None,
                now=noon - timedelta(minutes=i),
            )
    lat, lon = h3.cell_to_latlng(old_cell)
    phone.at(lon, lat)
    phone.open("quartier")
    page = phone.page
    page.wait_for_function("() => document.body.dataset.quartier === 'pret'", timeout=30_000)
    explanation = page.locator("#quartier-explication").inner_text()
    assert "au moins 7 jours" in explanation and "inférieurs à 5" in explanation
    assert "arrondis au hasard à un multiple de 5" in explanation
    counts = page.evaluate(
        """([a, b]) => {
          const out = {};
          const map = window.habitants.quartier.map;
          for (const f of map.queryRenderedFeatures({ layers: ["comptes"] })) {
            const id = f.properties.hex_id;
            if (id === a || id === b) out[id] = f.properties.count ?? null;
          }
          return out;
        }""",
        [old_cell, new_cell],
    )
    assert counts == {old_cell: 10, new_cell: None}
    tiles = [u for u in phone.urls if "/tiles/" in u and "/basemap/" not in u]
    assert tiles and all("/tiles/counts-r8/" in u for u in tiles)
    latest = (now.astimezone(paris) - timedelta(days=7)).date().isoformat()  # the app: Paris
    for url in tiles:
        end = re.search(r"datetime=[^&]*%2F(\d{4}-\d{2}-\d{2})", url)
        assert end and end.group(1) <= latest, url
    # the open reports nearby are listed, without any personal data
    nearby = page.locator("#proches li")
    assert nearby.count() >= 6
    phone.shot(artifacts, "quartier")
    assert phone.errors == []


def test_the_app_is_an_installable_pwa_that_opens_offline(phone: Phone) -> None:
    manifest = httpx.get(f"{phone.base}/habitants/manifest.webmanifest", timeout=30)
    assert manifest.headers["content-type"].startswith("application/manifest+json")
    body = manifest.json()
    assert body["lang"] == "fr" and body["display"] == "standalone"
    assert body["start_url"] == body["scope"] == "/habitants/"
    sizes = set()
    for entry in body["icons"]:
        icon = httpx.get(f"{phone.base}{entry['src']}", timeout=30)
        assert icon.status_code == 200 and icon.headers["content-type"] == entry["type"]
        if entry["type"] == "image/png":
            image = Image.open(io.BytesIO(icon.content))
            assert f"{image.width}x{image.height}" == entry["sizes"]
            sizes.add(entry["sizes"])
    assert {"192x192", "512x512"} <= sizes
    phone.open()
    page = phone.page
    assert (
        page.evaluate("document.querySelector('link[rel=manifest]').href")
        == f"{phone.base}/habitants/manifest.webmanifest"
    )
    scope = page.evaluate("navigator.serviceWorker.ready.then(r => r.scope)")
    assert scope == f"{phone.base}/habitants/"
    page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=30_000)
    page.reload()  # now under the worker: the shell and the map's tiles are kept
    page.wait_for_selector("body[data-app=pret]", timeout=30_000)
    page.wait_for_function(
        "() => caches.open('habitants-v1-tuiles').then(c => c.keys()).then(k => k.length > 0)"
    )
    phone.context.set_offline(True)
    page.reload()
    page.wait_for_selector("body[data-app=pret]", timeout=30_000)
    expect(page.get_by_role("heading", name="Signaler un problème")).to_be_visible()
    expect(page.locator("#reseau")).to_be_visible()
    expect(page.get_by_role("radio", name="Dépôts sauvages")).to_have_count(1)
    phone.context.set_offline(False)


@pytest.mark.parametrize("view", ["signaler", "suivi", "quartier"])
def test_each_view_is_accessible(
    phone: Phone,
    view: str,
    o311_settings: Settings,  # noqa: F811
    loaded_engine: Engine,
) -> None:
    """axe-core finds no serious violation, and every touch target is large enough; an open
    report nearby makes sure the list and its buttons are there to be checked."""
    fields = {"service_code": ["voirie_degradee"], "lat": ["43.2966"], "long": ["5.3812"]}
    svc.file_request(loaded_engine, o311_settings, svc.parse_submission(fields, None), key_id=None)
    phone.open(view)
    page = phone.page
    if view == "quartier":
        page.wait_for_function("() => document.body.dataset.quartier === 'pret'", timeout=30_000)
        assert page.locator("#proches li button").count() >= 1
    found = _axe(page)
    assert found == [], _describe(found)
    small = page.evaluate(
        """(min) => [...document.querySelectorAll(
              'button, .bouton, .categorie, .choix, select, textarea, summary, '
              + 'input:not(.visuellement-cache):not([type=radio]):not([type=checkbox])')]
          .filter((e) => e.offsetParent !== null && !e.closest('.maplibregl-ctrl'))
          .map((e) => [e.id || e.className || e.tagName, e.getBoundingClientRect()])
          .filter(([, r]) => r.height < min || r.width < min)
          .map(([name, r]) => `${name} ${Math.round(r.width)}x${Math.round(r.height)}`)""",
        MIN_TARGET_PX,
    )
    assert small == []
