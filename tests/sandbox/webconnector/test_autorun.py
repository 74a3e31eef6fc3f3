"""Auto-Run and qbwc://docontrol/UpdateNow (Web Connector Programmer's Guide v2.0, ch. 6, p.43–46)."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest

from sandbox.webconnector.autorun import AutoRun, ProtocolHandler, SimulatedTime
from sandbox.webconnector.connector import WebConnector
from tests.sandbox.webconnector.endpoint import CANNED_REQUEST, Endpoint, FakeQuickBooks, Slow, qwc_for

HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def until(predicate: Callable[[], object], timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return False


@pytest.fixture
def hourly(endpoint: Endpoint, quickbooks: FakeQuickBooks) -> Iterator[tuple[AutoRun, ProtocolHandler]]:
    """A running Web Connector whose schedule would not update for an hour."""
    autorun = AutoRun(WebConnector(qwc_for(endpoint, run_every=HOUR), "pw", quickbooks, noop_pause=0)).start()
    handler = ProtocolHandler(autorun).start()
    try:
        yield autorun, handler
    finally:
        handler.stop()
        autorun.stop()


def test_update_now_begins_an_update_at_once_on_a_running_scheduler(
    endpoint: Endpoint, hourly: tuple[AutoRun, ProtocolHandler]
) -> None:
    """PG p.46: UpdateNow "Begin an update immediately for the named web service. Takes one parameter:
    AppName." Without async=true the caller is held until the update is done (p.44)."""
    autorun, handler = hourly
    status, text = get(f"{handler.base_url}/docontrol/UpdateNow?AppName=Bitrix24%20sync")
    assert (status, text) == (200, "Updatestatus=ok: OK")
    assert endpoint.ops().count("authenticate") == 1 and endpoint.ops()[-1] == "closeConnection"
    assert [r.outcome for r in autorun.reports] == ["ok"]


def test_async_answers_at_once_with_a_url_to_ping_until_the_update_is_done(
    endpoint: Endpoint, hourly: tuple[AutoRun, ProtocolHandler]
) -> None:
    """PG p.44–45: async=true "frees up the web browser"; the answer is a URL to ping, 202 while the update
    runs and 200 when it is done. The guide writes the parameter both ways (``AppName=X?async=true`` on
    p.44, ``async=true&AppName=X`` on p.45); both are read."""
    _, handler = hourly
    endpoint.script("sendRequestXML", Slow(0.5, CANNED_REQUEST))
    status, ping = get(f"{handler.base_url}/docontrol/UpdateNow?AppName=Bitrix24%20sync?async=true")
    assert status == 202 and ping.startswith(handler.base_url + "/docontrol/UpdateStatus?id=")
    assert get(ping)[0] == 202
    assert until(lambda: get(ping)[0] == 200)
    assert get(ping) == (200, "Updatestatus=ok: OK")


def test_update_now_for_another_app_name_changes_nothing(
    endpoint: Endpoint, hourly: tuple[AutoRun, ProtocolHandler]
) -> None:
    """PG p.46: AppName names the web service (the .qwc's AppName); WSExists answers whether it was added.
    The answer for a name that was not added is UNCONFIRMED (404 here)."""
    autorun, handler = hourly
    assert get(f"{handler.base_url}/docontrol/WSExists?AppName=Bitrix24%20sync") == (200, "true")
    assert get(f"{handler.base_url}/docontrol/WSExists?AppName=Other") == (200, "false")
    status, text = get(f"{handler.base_url}/docontrol/UpdateNow?AppName=Other")
    assert status == 404 and "Other" in text
    assert autorun.kicks == 0 and endpoint.calls == []


def test_update_now_during_an_update_is_served_after_it_and_never_beside_it(
    endpoint: Endpoint, hourly: tuple[AutoRun, ProtocolHandler]
) -> None:
    """UNCONFIRMED what QBWC does with UpdateNow while the same application updates; here the requests
    made meanwhile become one update, run when the current one has closed (PG p.37: the interval is "a
    minimum time between connections" — one connection at a time)."""
    autorun, handler = hourly
    endpoint.script("sendRequestXML", Slow(0.5, CANNED_REQUEST), CANNED_REQUEST)
    url = f"{handler.base_url}/docontrol/UpdateNow?async=true&AppName=Bitrix24%20sync"
    assert get(url)[0] == 202
    assert until(lambda: autorun.running)
    assert get(url)[0] == 202 and get(url)[0] == 202  # two more while the first update runs
    assert until(lambda: len(autorun.reports) == 2 and autorun.idle())
    ops = endpoint.ops()
    assert ops.count("authenticate") == 2
    first_close = ops.index("closeConnection")
    second = ops.index("authenticate", ops.index("authenticate") + 1)
    assert second > first_close  # the second update began after the first one closed
    assert autorun.kicks == 3


def test_the_schedule_still_runs_on_a_simulated_clock(endpoint: Endpoint, quickbooks: FakeQuickBooks) -> None:
    """The .qwc's RunEveryNMinutes (PG p.37) starts updates without any UpdateNow; a simulated clock lets
    a benchmark skip the idle minute."""
    clock = SimulatedTime()
    web_connector = WebConnector(qwc_for(endpoint, run_every=MINUTE), "pw", quickbooks)
    autorun = AutoRun(web_connector, clock=clock).start()
    try:
        assert autorun.next_run is not None and autorun.next_run - clock.now() > 55
        assert autorun.reports == []
        clock.advance(60)
        assert until(lambda: len(autorun.reports) == 1 and autorun.idle())
        assert autorun.next_run - clock.now() > 55  # the next one a minute after this one
    finally:
        autorun.stop()


def test_with_auto_run_off_nothing_runs_on_the_schedule_only_when_asked(
    endpoint: Endpoint, quickbooks: FakeQuickBooks
) -> None:
    """PG p.62–63: the schedule (and [2]/[3]) act only when the application's Auto-Run box is ticked; with it
    off an update happens when someone asks for one. Whether UpdateNow serves such an application is
    UNCONFIRMED: here it does, as "Update Selected" would."""
    clock = SimulatedTime()
    web_connector = WebConnector(qwc_for(endpoint, run_every=MINUTE), "pw", quickbooks, auto_run=False)
    autorun = AutoRun(web_connector, clock=clock).start()
    try:
        assert autorun.next_run is None
        clock.advance(3600)
        assert autorun.wait_idle() and autorun.reports == []  # an hour on the clock, no update
        kick = autorun.update_now("Bitrix24 sync")
        assert kick is not None and kick.done.wait(10)
        assert [r.outcome for r in autorun.reports] == ["ok"] and autorun.next_run is None
    finally:
        autorun.stop()
