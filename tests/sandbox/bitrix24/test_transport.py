"""Envelope, parameters and auth errors of the portal REST API (contract §2.4, §2.5, §5.3, §9, §12.1)."""

from __future__ import annotations

import requests

from .conftest import World


def test_success_has_a_time_block_and_params_arrive_every_way(world: World) -> None:
    token = world.installed()
    by_json = world.call("crm.deal.get", {"id": 3}, token=token).json()
    assert set(by_json["time"]) >= {
        "start",
        "finish",
        "duration",
        "processing",
        "date_start",
        "date_finish",
        "operating_reset_at",
        "operating",
    }
    by_query = requests.get(f"{world.rest}crm.deal.get.json?id=3&auth={token}", timeout=5).json()
    by_form = requests.post(world.rest + "crm.deal.get", data={"ID": "3", "auth": token}, timeout=5).json()
    assert by_json["result"] == by_query["result"] == by_form["result"]
    brackets = requests.post(
        world.rest + "crm.deal.list",
        data={"auth": token, "filter[>=ID]": "70", "select[]": ["ID", "TITLE"], "order[ID]": "DESC"},
        timeout=5,
    ).json()
    assert [r["ID"] for r in brackets["result"]] == ["74", "73", "72", "71", "70"]
    assert set(brackets["result"][0]) == {"ID", "TITLE"}


def test_auth_errors_have_their_codes_and_statuses(world: World) -> None:
    token = world.installed()
    missing = world.call("crm.deal.list", {}, token=None)
    assert (missing.status_code, missing.json()["error"]) == (401, "NO_AUTH_FOUND")
    unknown = world.call("crm.deal.list", {}, token="0" * 64)
    assert (unknown.status_code, unknown.json()["error"]) == (401, "invalid_token")
    world.clock.advance(3601)
    expired = world.call("crm.deal.list", {}, token=token)
    assert expired.status_code == 401
    assert expired.json() == {
        "error": "expired_token",
        "error_description": "The access token provided has expired.",
    }
    bad_hook = requests.post(world.hook.replace("/1/", "/2/") + "crm.deal.list", json={}, timeout=5)
    assert (bad_hook.status_code, bad_hook.json()["error"]) == (401, "INVALID_CREDENTIALS")


def test_webhooks_cannot_use_app_only_methods_and_scopes_are_enforced(world: World) -> None:
    denied = world.call(
        "event.bind", {"event": "ONCRMDEALADD", "handler": "https://x.example.com/"}, hook=True
    )
    assert denied.status_code == 403 and denied.json()["error"] == "WRONG_AUTH_TYPE"
    code = world.portal.add_webhook(1, scopes=("user",))
    narrow = requests.post(f"{world.rest}1/{code}/crm.deal.list", json={}, timeout=5)
    assert narrow.status_code == 401 and narrow.json()["error"] == "insufficient_scope"
    assert requests.post(f"{world.rest}1/{code}/user.current", json={}, timeout=5).status_code == 200


def test_unknown_method_and_localized_descriptions(world: World) -> None:
    nope = world.call("crm.deal.frobnicate", hook=True)
    assert nope.status_code == 404 and nope.json()["error"] == "ERROR_METHOD_NOT_FOUND"
    world.emu.settings.russian_errors = True
    token = world.installed()
    gone = world.call("crm.item.get", {"entityTypeId": 2, "id": 99999}, token=token)
    assert gone.json() == {"error": "NOT_FOUND", "error_description": "Элемент не найден"}


def test_faults_500_and_html(world: World) -> None:
    world.emu.settings.server_error_next = 1
    world.emu.settings.html_error_next = 1
    html = world.call("crm.deal.list", hook=True)
    assert html.status_code == 502 and html.headers["Content-Type"].startswith("text/html")
    assert world.call("crm.deal.list", hook=True).status_code == 500
    assert world.call("crm.deal.list", hook=True).status_code == 200


def test_an_outage_answers_every_call_until_it_ends_and_runs_none(world: World) -> None:
    """A portal that is down: 500 ``INTERNAL_SERVER_ERROR`` (``../shared/specs/bitrix24-platform.md`` error
    table, :752), the gateway's non-JSON HTML 502 (its [SHOULD] at :848), and 503 with the limit's own body
    (§5.1, :477, bitrix-tools/b24-rest-docs#193). That an outage answers these for every call, running none,
    is UNCONFIRMED: issue 18, case 3 observed it for 30 s; no doc describes it."""
    before, logged = len(world.portal.store.records[2]), len(world.emu.calls)
    for code, kind in (("500", "application/json"), ("502", "text/html"), ("503", "application/json")):
        world.emu.settings.outage = code
        answer = world.call("crm.deal.add", {"fields": {"TITLE": "x"}}, hook=True)
        assert answer.status_code == int(code) and answer.headers["Content-Type"].startswith(kind)
    assert world.call("crm.deal.list", hook=True).json()["error"] == "QUERY_LIMIT_EXCEEDED"
    assert world.emu.settings.outage_answers == 4
    errors = ["INTERNAL_SERVER_ERROR", "HTTP 502", "QUERY_LIMIT_EXCEEDED", "QUERY_LIMIT_EXCEEDED"]
    assert [c.error for c in world.emu.calls[logged:]] == errors  # each try is in the log
    world.emu.settings.outage = ""
    assert world.call("crm.deal.list", hook=True).status_code == 200
    assert len(world.portal.store.records[2]) == before  # nothing ran while it was down


def test_a_lost_answer_is_a_502_page_after_the_call_ran(world: World) -> None:
    """The gateway gives up after the portal did the work: the next call to the named method runs, and its
    caller sees the HTML 502 page (``../shared/specs/bitrix24-platform.md`` [SHOULD] at :848). That the work
    is done behind a 502 is UNCONFIRMED: issue 18, case 3 observed it (the deal write-back's "NOT_JSON");
    no doc says it."""
    world.emu.settings.lose_answers_to = ("crm.deal.add",)
    world.emu.settings.lose_answers = 1
    assert world.call("crm.deal.list", hook=True).status_code == 200  # not named: answered
    before = len(world.portal.store.records[2])
    lost = world.call("batch", {"cmd": {"a": "crm.deal.add?fields[TITLE]=y"}}, hook=True)
    assert lost.status_code == 502 and lost.headers["Content-Type"].startswith("text/html")
    assert len(world.portal.store.records[2]) == before + 1 and world.emu.settings.lose_answers == 0


def test_a_renamed_portal_answers_302_to_its_new_domain(world: World) -> None:
    old = world.rest
    world.emu.rename_portal(world.portal, "acme-builders.bitrix24.com")
    moved = requests.post(old + "crm.deal.list", json={}, allow_redirects=False, timeout=5)
    assert moved.status_code == 302
    assert "/portal/acme-builders.bitrix24.com/rest/crm.deal.list" in moved.headers["Location"]
    assert world.portal.member_id == world.emu.portal("acme-builders.bitrix24.com").member_id


def test_every_call_is_recorded(world: World) -> None:
    world.call("crm.deal.get", {"id": 1}, hook=True)
    world.call("crm.deal.get", {"id": 999}, hook=True)
    calls = world.emu.calls_to("crm.deal.get")
    assert [(c.status, c.error) for c in calls] == [(200, None), (400, "")]
    assert calls[0].user_id == 1 and calls[0].client_id is None
