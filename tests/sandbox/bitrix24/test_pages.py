"""The clickable portal: cards embed installed placements as form-POSTed iframes; the app page is the
installer until installFinish (contract §1.2, §1.3, §3)."""

from __future__ import annotations

import html
import json
import re

import requests

from sandbox.bitrix24 import Bitrix24, seed_portal

from .conftest import AppServer, World


def forms(page: str) -> list[tuple[str, dict[str, str]]]:
    out = []
    for action, body in re.findall(
        r'<form id="[^"]+" method="post" action="([^"]+)"[^>]*>(.*?)</form>', page
    ):
        fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', body))
        out.append((html.unescape(action), {k: html.unescape(v) for k, v in fields.items()}))
    return out


def test_deal_card_shows_the_tab_and_toolbar_only_after_install_finish(
    world: World, app_server: AppServer
) -> None:
    token = world.installed(finish=False)
    world.call(
        "placement.bind",
        {"PLACEMENT": "CRM_DEAL_DETAIL_TAB", "HANDLER": app_server.url + "/tab", "TITLE": "QuickBooks"},
        token=token,
    )
    world.call(
        "placement.bind",
        {
            "PLACEMENT": "CRM_DEAL_DETAIL_TOOLBAR",
            "HANDLER": app_server.url + "/sync",
            "TITLE": "Sync to QuickBooks",
        },
        token=token,
    )
    url = f"{world.emu.portal_url(world.portal)}crm/deal/details/7/"
    assert forms(requests.get(url, timeout=5).text) == []
    app_page = requests.get(
        f"{world.emu.portal_url(world.portal)}marketplace/app/{world.app.client_id}/", timeout=5
    )
    assert forms(app_page.text)[0][0].startswith(app_server.url + "/install?")  # still the installer
    finish = requests.post(
        f"{world.emu.portal_url(world.portal)}_app/{world.app.client_id}/installFinish", timeout=5
    )
    assert finish.status_code == 204
    page = requests.get(url, timeout=5).text
    found = forms(page)
    assert sorted(a.split("?")[0] for a, _ in found) == [app_server.url + "/sync", app_server.url + "/tab"]
    action, fields = next(f for f in found if "/tab?" in f[0])
    assert "DOMAIN=acme.bitrix24.com" in action and "APP_SID=" in action
    assert fields["PLACEMENT"] == "CRM_DEAL_DETAIL_TAB" and fields["member_id"] == world.portal.member_id
    options = json.loads(fields["PLACEMENT_OPTIONS"])
    assert options["ID"] == "7" and options["URI"] == "/crm/deal/details/7/"
    assert world.call("crm.deal.get", {"id": 7}, token=fields["AUTH_ID"]).status_code == 200
    assert "Sync to QuickBooks" in page and "openSlider" in page
    app_page = requests.get(
        f"{world.emu.portal_url(world.portal)}marketplace/app/{world.app.client_id}/", timeout=5
    )
    assert forms(app_page.text)[0][0].startswith(app_server.url + "/app?")


def test_the_bridge_script_is_served() -> None:
    from sandbox.bitrix24 import running

    with running(Bitrix24()) as emu:
        js = requests.get(emu.base_url + "/bx24.js", timeout=5)
    assert js.headers["Content-Type"].startswith("application/javascript")
    for call in (
        "init",
        "fitWindow",
        "resizeWindow",
        "getAuth",
        "refreshAuth",
        "closeApplication",
        "installFinish",
        "placement",
        "callMethod",
    ):
        assert call in js.text


def test_seed_is_deterministic_and_scales() -> None:
    a, b = seed_portal(Bitrix24(), seed=7), seed_portal(Bitrix24(), seed=7)
    counts = {t: len(r) for t, r in a.store.records.items()}
    assert counts == {1: 716, 2: 74, 3: 560, 4: 81, 7: 0, 31: 4}
    assert len(a.users) == 41 and len(a.products) == 8 and len(a.requisites) == 81
    assert [r["TITLE"] for r in a.store.records[2].values()] == [
        r["TITLE"] for r in b.store.records[2].values()
    ]
    assert {r["CATEGORY_ID"] for r in a.store.records[2].values()} == {0, 1, 2}
    assert all(a.store.rows[("D", d)] for d in a.store.records[2])
    big = seed_portal(Bitrix24(), scale=3)
    assert len(big.store.records[3]) == 1680
