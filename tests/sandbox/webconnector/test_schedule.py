"""run_forever: the next update comes when the server's [2]/[3] or the .qwc scheduler says."""

from __future__ import annotations

import threading
from datetime import timedelta

from sandbox.webconnector.connector import WebConnector
from tests.sandbox.webconnector.endpoint import Endpoint, FakeQuickBooks, qwc_for

HOUR = timedelta(hours=1)


def stop_soon(seconds: float) -> tuple[threading.Event, threading.Timer]:
    """A stop event that fires by itself, so a wrong schedule fails the test instead of hanging it."""
    stop = threading.Event()
    timer = threading.Timer(seconds, stop.set)
    timer.start()
    return stop, timer


def test_the_server_wait_postpones_the_update_and_overrides_the_qwc_interval(
    endpoint: Endpoint, quickbooks: FakeQuickBooks
) -> None:
    """PG p.62: authRet[2] "the current update process is discontinued and will resume after" that many
    seconds; "0" postpones nothing."""
    endpoint.script("authenticate", ["TICKET-1", "", "1"])
    connector = WebConnector(qwc_for(endpoint, run_every=HOUR), "pw", quickbooks)
    stop, timer = stop_soon(10)
    try:
        reports = connector.run_forever(stop, max_sessions=3)
    finally:
        timer.cancel()
    assert [report.outcome for report in reports] == ["postponed"] * 3
    assert reports[0].status == "Update postponed by application"
    assert endpoint.ops().count("authenticate") == 3 and quickbooks.opened == []


def test_the_server_run_every_is_a_lower_bound_on_the_interval(endpoint: Endpoint,
                                                               quickbooks: FakeQuickBooks) -> None:
    """PG p.62–63 (Example 2): Every_Min is set to authRet[3] only "if the previous Every_Min value is
    lesser"; a smaller [3] leaves the interval alone."""
    endpoint.script("authenticate", ["TICKET-1", "none", "", "2"], ["TICKET-2", "none", "", "0"])
    raised = WebConnector(qwc_for(endpoint, run_every=timedelta(seconds=1)), "pw", quickbooks)
    raised.run_session()
    assert raised.run_every == timedelta(seconds=2)
    kept = WebConnector(qwc_for(endpoint, run_every=HOUR), "pw", quickbooks)
    kept.run_session()
    assert kept.run_every == HOUR


def test_without_auto_run_the_server_timing_is_ignored(endpoint: Endpoint,
                                                       quickbooks: FakeQuickBooks) -> None:
    """PG p.62 (IMPORTANT): authRet[2] and [3] take effect only with Auto Run enabled."""
    endpoint.script("authenticate", ["TICKET-1", "", "60", "7200"])
    connector = WebConnector(qwc_for(endpoint, run_every=HOUR), "pw", quickbooks, auto_run=False)
    report = connector.run_session()
    assert report.outcome == "ok" and connector.run_every == HOUR


def test_without_a_schedule_one_update_runs(endpoint: Endpoint, quickbooks: FakeQuickBooks) -> None:
    reports = WebConnector(qwc_for(endpoint), "pw", quickbooks).run_forever(threading.Event())
    assert [report.outcome for report in reports] == ["ok"]


def test_setting_the_stop_event_ends_the_wait(endpoint: Endpoint, quickbooks: FakeQuickBooks) -> None:
    stop, timer = stop_soon(0.2)
    try:
        reports = WebConnector(qwc_for(endpoint, run_every=HOUR), "pw", quickbooks).run_forever(stop)
    finally:
        timer.cancel()
    assert [report.outcome for report in reports] == ["ok"]
    assert stop.is_set()
