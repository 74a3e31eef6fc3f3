"""The disk is a fault like any other (issue 18, case 5): a full, read-only or locked database answers
clear errors to clicks and events (no 500 pages), ``/healthz`` says what is broken with a 503, nothing is
lost, and everything carries on by itself when writes work again — the agent link included.

A full disk is SQLite's ``max_page_count`` set to the pages the file has (SQLite then answers
``SQLITE_FULL`` exactly as on a full disk); read-only is ``PRAGMA query_only`` (``SQLITE_READONLY``);
locked is another connection holding the write lock."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import requests

from cloud_app.services import Services

from .harness import CLIENT_ID, running_cloud
from .product import World, a_deal, connector, settled, wait
from .test_customer_sync import customer, linked_company, quiet


def _connections(services: Services) -> list[tuple[sqlite3.Connection, object]]:
    return [
        (services.portals.db.conn, services.portals.lock),
        (services.agents.db.conn, services.agents.lock),
    ]


def disk_full(services: Services) -> None:
    for conn, lock in _connections(services):
        with lock:  # type: ignore[attr-defined]
            conn.execute("PRAGMA max_page_count = 1")  # SQLite keeps it at the pages the file has
    conn, lock = _connections(services)[0]
    with lock:  # type: ignore[attr-defined]
        try:  # the free pages inside the file go too: not one more row fits
            while True:
                with conn:
                    conn.execute("INSERT INTO filler VALUES (zeroblob(100))")
        except sqlite3.OperationalError as exc:
            assert "full" in str(exc)


def space_again(services: Services) -> None:
    for conn, lock in _connections(services):
        with lock:  # type: ignore[attr-defined]
            conn.execute("PRAGMA max_page_count = 1073741823")


def read_only(services: Services, on: bool) -> None:
    for conn, lock in _connections(services):
        with lock:  # type: ignore[attr-defined]
            conn.execute(f"PRAGMA query_only = {int(on)}")


def all_invoices(world: World) -> list[dict[str, object]]:
    return world.qb_query("<InvoiceQueryRq><MaxReturned>1000</MaxReturned></InvoiceQueryRq>")


def stored_events(services: Services) -> list[tuple[str, str]]:
    with services.portals.lock:
        return [tuple(r) for r in services.portals.db.conn.execute("SELECT event, object_id FROM events")]


def healthz(url: str) -> requests.Response:
    return requests.get(url + "/healthz", timeout=30)


def test_a_full_disk_refuses_clearly_and_everything_carries_on_when_space_returns(world: World) -> None:
    services = world.cloud.services
    with services.portals.lock, services.portals.db.conn:
        services.portals.db.conn.execute("CREATE TABLE filler (x BLOB)")  # what fills the disk
    company, _ = linked_company(world, "Cyberdyne")
    quiet(world)
    first = a_deal(world, "Initech", [(1, "Labor", "55.00", "1")])
    second = a_deal(world, "Umbrella", [(1, "Labor", "60.00", "2")])
    before = len(all_invoices(world))
    sync_id = world.api("POST", f"/deals/{first}/sync", json={}).json()["sync_id"]
    assert wait(lambda: world.agent.queue.depth()["pending"] >= 1)
    assert healthz(world.cloud.url).json() == {"ok": True}

    disk_full(services)
    down = healthz(world.cloud.url)
    assert down.status_code == 503
    assert down.json()["problems"][0]["fault"] == "full"
    click = world.api("POST", f"/deals/{second}/sync", json={})
    assert click.status_code == 503 and click.headers["Retry-After"]
    assert "out of disk space" in click.json()["message"]
    russian = world.api("POST", f"/deals/{second}/sync", json={}, headers={"X-Lang": "ru"})
    assert "закончилось место" in russian.json()["message"]
    # a Bitrix24 edit while full: stored if its row still fits a page, else held (Bitrix24 never sends
    # it again); either way it reaches QuickBooks below
    world.cloud.client().call("crm.company.update", {"id": company, "fields": {"TITLE": "Cyberdyne Systems"}})
    world.cloud.emu.wait_events()
    # the Web Connector runs the first deal's lookup: its result cannot be stored yet; the agent keeps it
    world.web_connector_runs()
    assert world.agent.queue.depth()["results"] >= 1 or world.api("GET", f"/syncs/{sync_id}").ok
    space_again(services)
    with services.portals.lock, services.portals.db.conn:
        services.portals.db.conn.execute("DROP TABLE filler")

    # nobody restarts anything: the watch notices, stores the held event, the agent re-sends its result
    assert wait(lambda: healthz(world.cloud.url).status_code == 200, timeout=30)
    assert wait(lambda: len(services.held) == 0, timeout=30)
    assert wait(lambda: world.agent.queue.depth()["results"] == 0, timeout=30)  # acknowledged
    again = world.api("POST", f"/deals/{second}/sync", json={})
    assert again.status_code == 202  # new syncs flow
    quiet(world)
    assert wait(lambda: world.agent.queue.depth()["pending"] >= 1)
    runs = 0
    while not all(
        world.api("GET", f"/syncs/{s}").json()["state"] == "done" for s in (sync_id, again.json()["sync_id"])
    ):
        assert runs < 4, "the syncs never finished"
        connector(world.agent, world.home, world.password, world.qb).run_session()  # lookup, then the write
        wait(lambda: world.agent.queue.depth()["results"] == 0)
        runs += 1
    assert settled(world, sync_id)["state"] == "done"
    assert settled(world, again.json()["sync_id"])["state"] == "done"
    # the rename's read and write are background work: a session that began with a person's job leaves
    # it for the next scheduled run (local_agent/plan.py), so the Web Connector runs on until it lands
    for _ in range(4):
        if customer(world, "Cyberdyne")["CompanyName"] == "Cyberdyne Systems":
            break
        wait(lambda: world.agent.queue.depth()["pending"] >= 1, timeout=10)
        connector(world.agent, world.home, world.password, world.qb).run_session()
        wait(lambda: world.agent.queue.depth()["results"] == 0)
    assert wait(lambda: customer(world, "Cyberdyne")["CompanyName"] == "Cyberdyne Systems")
    assert len(all_invoices(world)) == before + 2  # each deal's invoice once
    with services.portals.lock:
        assert services.portals.db.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_a_read_only_database_holds_bitrix24_events_and_stores_them_when_writable_again(
    tmp_path: Path,
) -> None:
    with running_cloud(tmp_path) as cloud:
        cloud.install()
        services = cloud.services
        company = cloud.client().call("crm.company.add", {"fields": {"TITLE": "Wayne Enterprises"}})
        cloud.emu.wait_events()
        assert ("ONCRMCOMPANYUPDATE", str(company)) not in stored_events(services)
        read_only(services, True)
        assert healthz(cloud.url).json()["problems"][0]["fault"] == "read-only"
        cloud.client().call("crm.company.update", {"id": company, "fields": {"TITLE": "Wayne Corp"}})
        cloud.emu.wait_events()
        assert len(services.held) == 1  # answered, not lost, not a 500
        page = cloud.emu.open_app(cloud.portal, CLIENT_ID, cloud.portal.admin().id)
        assert page.status_code == 503 and "read-only" in page.text  # the app page says why
        read_only(services, False)
        assert wait(lambda: len(services.held) == 0, timeout=30)  # stored by the watch, by itself
        assert stored_events(services).count(("ONCRMCOMPANYUPDATE", str(company))) == 1
        assert healthz(cloud.url).json() == {"ok": True}


def test_healthz_reports_a_database_locked_by_another_process(tmp_path: Path) -> None:
    with running_cloud(tmp_path) as cloud:
        other = sqlite3.connect(cloud.config.database, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # holds the write lock, as a stuck process would
        try:
            down = healthz(cloud.url)
            assert down.status_code == 503 and down.json()["problems"][0]["fault"] == "locked"
        finally:
            other.execute("ROLLBACK")
            other.close()
        assert healthz(cloud.url).status_code == 200


def test_healthz_asked_often_probes_a_write_once_per_interval_and_still_sees_a_lock(tmp_path: Path) -> None:
    """An orchestrator (or anyone: ``/healthz`` is open) asking every second must not cost two write
    transactions each time: a write is probed once per storage-watch interval, a full disk is still seen
    at once (test above) and a lock within the interval."""
    with running_cloud(tmp_path) as cloud:
        conn = cloud.services.portals.db.conn
        cloud.services.watch.every = 3600.0  # one interval for the whole test
        assert healthz(cloud.url).status_code == 200
        before = conn.total_changes
        for _ in range(20):
            assert healthz(cloud.url).json() == {"ok": True}
        assert conn.total_changes - before < 10, conn.total_changes - before  # a probe: 2 rows each
        cloud.services.watch.every = 0.2
        other = sqlite3.connect(cloud.config.database, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        try:
            assert wait(lambda: healthz(cloud.url).status_code == 503, timeout=30)
            assert healthz(cloud.url).json()["problems"][0]["fault"] == "locked"  # while it lasts: live
        finally:
            other.execute("ROLLBACK")
            other.close()
        assert healthz(cloud.url).status_code == 200  # a known fault is probed live: its end shows at once
