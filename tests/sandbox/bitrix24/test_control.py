"""The emulator's control door (``--control``, ``sandbox/bitrix24/control.py``) for a test running it as its
own process: outages as Bitrix24 gives them, a held answer, the request log, the install, a saved state."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from sandbox.bitrix24 import Bitrix24, persist, running, seed_portal
from sandbox.bitrix24.control import Hold

from .conftest import AppServer

DOMAIN = "acme.bitrix24.com"


@pytest.fixture
def door(tmp_path: Path) -> Iterator[tuple[Bitrix24, str, str]]:
    """The emulator with its door open: (emulator, its base URL, a webhook URL)."""
    emu = Bitrix24()
    portal = seed_portal(emu, DOMAIN)
    with running(emu, control=True, state=tmp_path / "b24.state"):
        hook = f"{emu.client_endpoint(portal)}1/{portal.add_webhook(1)}/"
        yield emu, emu.base_url, hook


def outage(base: str, status: int, seconds: float) -> requests.Response:
    return requests.post(base + "/_sandbox/outage", json={"status": status, "seconds": seconds}, timeout=5)


def test_an_outage_answers_each_way_bitrix24_fails_until_it_ends(door: tuple[Bitrix24, str, str]) -> None:
    """503 with Bitrix24's own body (``../shared/specs/bitrix24-platform.md`` §limits: ``{"error":
    "QUERY_LIMIT_EXCEEDED","error_description":"Too many requests"}``, bitrix-tools/b24-rest-docs#193), 500
    ``INTERNAL_SERVER_ERROR`` and a proxy's HTML 502 (the spec's error table and its SHOULD "inject 500,
    non-JSON HTML 502/504") — for every call, however often it is tried, until the outage is over."""
    emu, base, hook = door
    assert outage(base, 503, 600).status_code == 200
    for _ in range(3):
        busy = requests.post(hook + "crm.deal.list", json={}, timeout=5)
        assert busy.status_code == 503
        assert busy.json() == {"error": "QUERY_LIMIT_EXCEEDED", "error_description": "Too many requests"}
    outage(base, 500, 600)
    broken = requests.post(hook + "crm.deal.list", json={}, timeout=5)
    assert (broken.status_code, broken.json()["error"]) == (500, "INTERNAL_SERVER_ERROR")
    outage(base, 502, 600)
    page = requests.post(hook + "crm.deal.list", json={}, timeout=5)
    assert page.status_code == 502 and page.headers["Content-Type"].startswith("text/html")
    outage(base, 0, 0)  # over
    assert requests.post(hook + "crm.deal.list", json={}, timeout=5).status_code == 200
    log = requests.get(base + "/_sandbox/calls", timeout=5).json()
    assert [c["status"] for c in log["calls"]] == [503, 503, 503, 500, 502, 200]
    errors = ["QUERY_LIMIT_EXCEEDED", "INTERNAL_SERVER_ERROR", "HTTP 502", None]
    assert [c["error"] for c in log["calls"]][2:] == errors  # each logged with the error its body carries
    assert log["total"] == 6 and emu.settings.outage_answers == 5
    assert outage(base, 404, 10).status_code == 400  # not an outage Bitrix24 has


def test_an_outage_for_some_seconds_ends_by_itself(door: tuple[Bitrix24, str, str]) -> None:
    emu, base, hook = door
    outage(base, 500, 600)
    assert requests.post(hook + "crm.deal.list", json={}, timeout=5).status_code == 500
    emu.settings.outage_until = time.time() - 1  # its time is up
    assert requests.post(hook + "crm.deal.list", json={}, timeout=5).status_code == 200
    assert emu.settings.outage == "" and emu.settings.outage_answers == 1


def test_a_held_answer_is_done_before_it_is_held(door: tuple[Bitrix24, str, str]) -> None:
    """The window between "Bitrix24 wrote it" and "the caller read the answer" — what a write journal is for:
    the company exists while its caller still waits, and the caller gets the answer once released."""
    emu, base, hook = door
    requests.post(base + "/_sandbox/hold", json={"method": "crm.company.add"}, timeout=5)
    got: list[requests.Response] = []
    caller = threading.Thread(
        target=lambda: got.append(
            requests.post(hook + "crm.company.add", json={"fields": {"TITLE": "Held Ltd"}}, timeout=30)
        )
    )
    caller.start()
    deadline = threading.Event()
    while not requests.get(base + "/_sandbox/hold", timeout=5).json()["held"]:
        assert not deadline.wait(0.05) and caller.is_alive()
    titles = [r.get("TITLE") for r in emu.portal(DOMAIN).store.records[4].values()]
    assert "Held Ltd" in titles and not got  # written; no answer yet
    requests.post(base + "/_sandbox/release", timeout=5)
    caller.join(30)
    assert got[0].status_code == 200 and int(got[0].json()["result"]) > 0
    assert not requests.get(base + "/_sandbox/hold", timeout=5).json()["held"]


def test_a_hold_waits_for_the_method_not_for_its_name_in_a_value(door: tuple[Bitrix24, str, str]) -> None:
    emu, base, hook = door
    requests.post(base + "/_sandbox/hold", json={"method": "crm.deal.add"}, timeout=5)
    named_in_a_value = {"cmd": {"a": "crm.deal.list?filter[TITLE]=crm.deal.add"}}
    assert requests.post(hook + "batch", json=named_in_a_value, timeout=5).status_code == 200  # not held
    assert requests.get(base + "/_sandbox/hold", timeout=5).json()["waiting_for"] == "crm.deal.add"


def test_a_release_before_the_held_answer_waits_lets_it_go(door: tuple[Bitrix24, str, str]) -> None:
    """The request is matched, the test releases it, and only then does its handler wait: it is not kept
    for the hold's limit."""
    emu, _, _ = door
    hold = Hold()
    hold.arm(emu, "crm.deal.add")
    assert hold.matches(emu, "crm.deal.add", {})
    hold.release()
    waiter = threading.Thread(target=hold.wait)
    waiter.start()
    waiter.join(30)
    assert not waiter.is_alive() and not hold.held.is_set()


def test_save_writes_the_portals_where_state_says(door: tuple[Bitrix24, str, str], tmp_path: Path) -> None:
    emu, base, hook = door
    made = requests.post(hook + "crm.company.add", json={"fields": {"TITLE": "Saved Inc"}}, timeout=5)
    assert requests.post(base + "/_sandbox/save", timeout=5).status_code == 200
    again = Bitrix24()
    persist.load(again, tmp_path / "b24.state")
    assert again.portal(DOMAIN).store.records[4][int(made.json()["result"])]["TITLE"] == "Saved Inc"


Door = tuple[Bitrix24, str, str]


def test_install_through_the_door_opens_the_app(door: Door, app_server: AppServer) -> None:
    emu, base, _ = door
    answer = requests.post(
        base + "/_sandbox/install",
        json={"client_id": "app.door.1", "secret": "s3cret", "url": app_server.url},
        timeout=10,
    )
    assert answer.status_code == 200 and "app page" in answer.json()["page"]
    assert answer.json()["member_id"] == emu.portal(DOMAIN).member_id
    assert [r.path for r in app_server.got] == ["/install", "/app"]
    assert emu.portal(DOMAIN).installs["app.door.1"].installed


def test_the_door_is_shut_unless_asked_for() -> None:
    with running(Bitrix24()) as emu:
        shut = requests.post(emu.base_url + "/_sandbox/outage", json={"status": 503}, timeout=5)
        assert shut.status_code == 404
