"""Workers that die are started again, with backoff, and say so in the log; ``/healthz`` reports one that
keeps dying (issue 18: "Workers that die are restarted")."""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path

import pytest
import requests

from cloud_app.portals import PortalRow
from cloud_app.reconcile import Reconciler
from cloud_app.supervise import BROKEN_AFTER, Supervised

from .harness import running_cloud
from .product import wait


def test_a_worker_that_dies_is_started_again_and_the_log_says_so(caplog: pytest.LogCaptureFixture) -> None:
    runs: list[int] = []
    done = threading.Event()

    def work(stop: threading.Event) -> None:
        runs.append(1)
        if len(runs) < 3:
            raise sqlite3.OperationalError("database or disk is full")
        done.set()
        stop.wait()

    caplog.set_level(logging.INFO, "qb_cloud.supervise")
    worker = Supervised("flaky", work, first_delay=0.01, max_delay=0.05).start()
    try:
        assert done.wait(10)
        assert worker.restarts == 2 and worker.running
        said = [r.getMessage() for r in caplog.records]
        assert any("worker flaky stopped (OperationalError: database or disk is full)" in m for m in said)
        assert any("worker flaky restarted" in m for m in said)
    finally:
        worker.stop()
    assert not worker.running


def test_healthz_reports_a_worker_that_keeps_dying(tmp_path: Path) -> None:
    with running_cloud(tmp_path) as cloud:
        assert requests.get(cloud.url + "/healthz", timeout=10).status_code == 200

        def doomed(stop: threading.Event) -> None:
            raise RuntimeError("bug")

        worker = Supervised("doomed", doomed, first_delay=0.01, max_delay=0.01).start()
        cloud.services.workers.append(worker)
        try:
            assert wait(lambda: worker.deaths >= BROKEN_AFTER)
            down = requests.get(cloud.url + "/healthz", timeout=10)
            assert down.status_code == 503
            (problem,) = down.json()["problems"]
            assert (problem["name"], problem["last_error"]) == ("doomed", "RuntimeError: bug")
            assert problem["deaths"] >= BROKEN_AFTER
        finally:
            worker.stop()


def test_the_reconciler_survives_a_pass_that_raises(tmp_path: Path) -> None:
    """The loop used to die with the first exception outside a portal's own step (the issue: "the
    reconciler thread dies" on a full disk); now the next pass runs."""
    with running_cloud(tmp_path) as cloud:
        services = cloud.services
        passes: list[int] = []
        real = services.portals.portals

        def portals() -> list[PortalRow]:
            passes.append(1)
            if len(passes) == 1:
                raise sqlite3.OperationalError("database or disk is full")
            return real()

        services.portals.portals = portals  # type: ignore[method-assign]
        reconciler = Reconciler(services.portals, services.client, 0.001).start()
        try:
            assert wait(lambda: len(passes) >= 3)
            assert reconciler.supervised is not None and reconciler.supervised.restarts == 1
        finally:
            reconciler.stop()
