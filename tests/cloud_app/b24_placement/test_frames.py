"""The placement pages as Bitrix24 frames them: forged frames get an error page and no data, every page
is scoped to its portal and to what its user may do, and its strings come in the frame's language."""

from __future__ import annotations

import json
import re

import pytest
import requests

from cloud_app.b24_placement.strings import CATALOGS, EN, catalog

from ..harness import CLIENT_ID, Cloud
from ..test_web import cloud  # two installed portals

__all__ = ["cloud"]

PAGES = {
    "DEFAULT": "/app",
    "CRM_DEAL_DETAIL_TOOLBAR": "/b24/deal-sync",
    "CRM_DEAL_DETAIL_TAB": "/b24/deal-tab",
    "CRM_CONTACT_DETAIL_TAB": "/b24/contact-tab",
    "CRM_COMPANY_DETAIL_TAB": "/b24/company-tab",
    "CRM_DEAL_LIST_MENU": "/b24/deal-sync",
}


def _frame(cloud: Cloud, placement: str, **change: str | None) -> requests.Response:
    query, form = cloud.emu.frame_fields(
        cloud.portal, CLIENT_ID, cloud.portal.admin().id, placement, {"ID": "5"}
    )
    for key, value in change.items():
        if value is None:
            form.pop(key, None)
        else:
            form[key] = value
    return requests.post(cloud.url + PAGES[placement], params=query, data=form, timeout=10)


@pytest.mark.parametrize("placement", sorted(PAGES))
def test_every_page_refuses_forged_frames_with_an_error_page_and_no_data(
    cloud: Cloud, placement: str
) -> None:
    good = _frame(cloud, placement)
    assert good.status_code == 200 and "data-session=" in good.text
    forged: dict[str, dict[str, str | None]] = {
        "a made-up AUTH_ID": {"AUTH_ID": "f" * 32},
        "another portal's member_id": {"member_id": cloud.other.member_id},
        "no APPLICATION_TOKEN": {"APPLICATION_TOKEN": None},
        "an unknown portal": {"member_id": "0" * 32},
    }
    for what, change in forged.items():
        page = _frame(cloud, placement, **change)
        assert page.status_code == 403, what
        assert "could not be verified" in page.text, what
        assert "data-session" not in page.text and cloud.portal.domain not in page.text, what
    assert len(cloud.services.portals.rejected()) >= len(forged)


def test_a_record_id_that_is_not_a_number_never_reaches_the_page(cloud: Cloud) -> None:
    query, form = cloud.emu.frame_fields(
        cloud.portal, CLIENT_ID, cloud.portal.admin().id, "CRM_DEAL_DETAIL_TAB"
    )
    form["PLACEMENT_OPTIONS"] = json.dumps({"ID": "1'><script>alert(1)</script>"})
    page = requests.post(cloud.url + "/b24/deal-tab", params=query, data=form, timeout=10)
    assert page.status_code == 200
    assert "<script>alert" not in page.text and "data-id=''" in page.text


def _session(cloud: Cloud, admin: bool) -> str:
    user = cloud.portal.admin() if admin else next(u for u in cloud.portal.users.values() if not u.admin)
    page = cloud.emu.open_app(cloud.portal, CLIENT_ID, user.id)
    return re.search(r"data-session='([^']+)'", page.text).group(1)  # type: ignore[union-attr]


def test_a_non_admin_reads_but_cannot_change_settings_pair_agents_or_run_the_first_sync(cloud: Cloud) -> None:
    base = f"{cloud.url}/api/portals/{cloud.portal.member_id}"
    plain = {"X-Session": _session(cloud, admin=False)}
    assert requests.get(base + "/settings", headers=plain, timeout=5).status_code == 200
    assert requests.get(base + "/status", headers=plain, timeout=5).status_code == 200
    refused = [
        ("POST", "/settings", {"conflict.winner": "b24"}),
        ("POST", "/pairing-code", None),
        ("POST", "/agents/a1", {"revoke": True}),
        ("POST", "/initial-sync", None),
        ("POST", "/initial-sync/review", {"b24": "CO_1", "list_id": "1"}),
    ]
    for method, path, body in refused:
        answer = requests.request(method, base + path, headers=plain, json=body, timeout=5)
        assert answer.status_code == 403, path
        assert "administrator" in answer.text, path
    after = requests.get(base + "/settings", headers=plain, timeout=5).json()["settings"]
    assert after["conflict.winner"] == "qb"  # unchanged
    admin = {"X-Session": _session(cloud, admin=True)}
    assert requests.post(base + "/settings", headers=admin, json={"conflict.winner": "b24"}, timeout=5).ok


def test_every_page_api_is_scoped_to_the_sessions_portal(cloud: Cloud) -> None:
    session = {"X-Session": _session(cloud, admin=True)}
    theirs = f"{cloud.url}/api/portals/{cloud.other.member_id}"
    for method, path in [
        ("GET", "/deals/1/quickbooks"),
        ("POST", "/deals/1/sync"),
        ("GET", "/syncs"),
        ("POST", "/syncs/sync_x/confirm"),
        ("POST", "/syncs/sync_x/retry"),
        ("GET", "/parties/company/1/quickbooks"),
        ("POST", "/parties/company/1/link"),
        ("GET", "/initial-sync"),
        ("GET", "/conflicts"),
        ("GET", "/agents"),
    ]:
        answer = requests.request(method, theirs + path, headers=session, json={}, timeout=5)
        assert answer.status_code == 403, path


def test_the_frames_language_picks_the_strings_and_english_fills_the_rest(cloud: Cloud) -> None:
    ru = cloud.emu.open_app(cloud.portal, CLIENT_ID, cloud.portal.admin().id, lang="ru")
    assert "data-lang='ru'" in ru.text and "Синхронизировать с QuickBooks" in ru.text
    de = cloud.emu.open_app(cloud.portal, CLIENT_ID, cloud.portal.admin().id, lang="de")
    assert "data-lang='en'" in de.text and "Sync to QuickBooks" in de.text
    assert catalog("xx")[0] == "en"


@pytest.mark.parametrize("lang", sorted(set(CATALOGS) - {"en"}))
def test_each_translation_has_every_string_with_the_same_placeholders(lang: str) -> None:
    other = CATALOGS[lang]
    assert set(other) == set(EN), set(EN) ^ set(other)
    for key, text in EN.items():
        assert set(re.findall(r"{(\w+)}", text)) == set(re.findall(r"{(\w+)}", other[key])), key


def test_the_strings_cannot_end_the_script_element_early() -> None:
    from cloud_app.b24_placement.shell import render

    EN["tmp.evil"] = "</script><script>alert(1)</script>"
    try:
        body = render(page="app", member_id="m", record_id="", session="s", admin=False, lang="en")
    finally:
        del EN["tmp.evil"]
    assert "</script><script>alert" not in body
    strings = re.search(r"type='application/json'>(.*?)</script>", body, re.S).group(1)  # type: ignore[union-attr]
    assert json.loads(strings)["tmp.evil"] == "</script><script>alert(1)</script>"
