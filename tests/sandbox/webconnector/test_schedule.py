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


def test_the_server_wait_overrides_the_qwc_interval(endpoint: Endpoint, quickbooks: FakeQuickBooks) -> None:
    endpoint.script("authenticate", ["TICKET-1", "none", "0"])
    connector = WebConnector(qwc_for(endpoint, run_every=HOUR), "pw", quickbooks)
    stop, timer = stop_soon(5)
    try:
        reports = connector.run_forever(stop, max_sessions=3)
    finally:
        timer.cancel()
    assert [report.outcome for report in reports] == ["none", "none", "none"]
    assert endpoint.ops().count("authenticate") == 3


def test_the_server_run_every_replaces_the_qwc_scheduler(endpoint: Endpoint,
                                                         quickbooks: FakeQuickBooks) -> None:
    endpoint.script("authenticate", ["TICKET-1", "none", "", "0"])
    connector = WebConnector(qwc_for(endpoint, run_every=HOUR), "pw", quickbooks)
    stop, timer = stop_soon(5)
    try:
        reports = connector.run_forever(stop, max_sessions=2)
    finally:
        timer.cancel()
    assert len(reports) == 2
    assert connector.run_every == timedelta(0)


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
