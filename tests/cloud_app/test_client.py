"""The Bitrix24 client against the emulator: refresh once under concurrency, needs-attention, staying
inside the bucket, backing off, pausing a method, retries, batch, fast scans, domain renames."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from cloud_app.b24 import outage
from cloud_app.b24.client import Client
from cloud_app.b24.errors import B24Error, NeedsAttention
from cloud_app.b24.retry import OutageTooLong, Retry, Unsure
from sandbox.bitrix24 import Clock

from .harness import CLIENT_ID, Cloud, running_cloud


@pytest.fixture
def cloud(tmp_path: Path) -> Iterator[Cloud]:
    with running_cloud(tmp_path, Clock(1_795_000_000.0)) as c:
        c.install()
        c.emu.limits.buckets.clear()
        yield c


def fake_time(cloud: Cloud) -> dict[str, Any]:
    """The client sleeps on the emulator's clock: limits and expiry play out instantly and exactly."""
    return {"clock": cloud.emu.clock, "sleep": cloud.emu.clock.advance}


def test_an_expired_token_is_refreshed_exactly_once_by_concurrent_workers(cloud: Cloud) -> None:
    cloud.emu.expire_tokens(cloud.portal)
    clients = [cloud.client(**fake_time(cloud)) for _ in range(8)]
    results: list[object] = []
    start = threading.Barrier(len(clients))

    def work(c: Client) -> None:
        start.wait()
        results.append(c.call("crm.deal.get", {"id": 1})["ID"])

    threads = [threading.Thread(target=work, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == ["1"] * 8
    assert sum(c.refreshes for c in clients) == 1
    assert len(cloud.emu.rotated) == 1  # one refresh token spent, none burnt by a race
    assert cloud.services.portals.portal(cloud.portal.member_id).state == "active"  # type: ignore[union-attr]


def test_a_dead_refresh_token_puts_the_portal_in_needs_attention(cloud: Cloud) -> None:
    creds = cloud.services.portals.credentials(cloud.portal.member_id)
    assert creds is not None
    cloud.emu.refresh(CLIENT_ID, "market-secret", creds.refresh_token)  # someone else spent it
    cloud.emu.expire_tokens(cloud.portal)
    client = cloud.client(**fake_time(cloud))
    with pytest.raises(NeedsAttention) as info:
        client.call("crm.deal.get", {"id": 1})
    assert info.value.code == "INVALID_GRANT"
    row = cloud.services.portals.portal(cloud.portal.member_id)
    assert row is not None and row.state == "attention" and "reconnect" in (row.attention or "")
    calls_before = client.calls
    with pytest.raises(NeedsAttention):
        client.call("crm.deal.get", {"id": 1})
    assert client.calls - calls_before <= 1  # no retry storm


def test_a_thousand_calls_never_exceed_the_bucket(cloud: Cloud) -> None:
    client = cloud.client(**fake_time(cloud))
    start = cloud.emu.clock()
    for i in range(1000):
        client.call("crm.deal.get", {"id": i % 74 + 1})
    refused = [c for c in cloud.emu.calls if c.status == 503]
    assert refused == []
    elapsed = cloud.emu.clock() - start
    assert 470 <= elapsed <= 520  # ~2 requests a second once the burst is spent, no slower


def test_backs_off_when_someone_else_drains_the_bucket(cloud: Cloud) -> None:
    client = cloud.client(**fake_time(cloud))
    for _ in range(50):  # another app on the same portal and address eats the bucket
        cloud.emu.limits.take(cloud.portal.member_id, cloud.portal.plan, "127.0.0.1")
    assert client.call("user.current")["ID"] == "1"
    assert any(c.status == 503 for c in cloud.emu.calls)
    assert client.pacer.waited >= 1


def test_operating_limit_pauses_that_method_until_reset(cloud: Cloud) -> None:
    cloud.emu.limits.costs["crm.deal.update"] = 200.0
    client = cloud.client(**fake_time(cloud))
    for i in range(4):
        client.call("crm.deal.update", {"id": 1, "fields": {"TITLE": f"t{i}"}})
    assert [c.status for c in cloud.emu.calls_to("crm.deal.update")].count(429) == 1
    assert client.pacer.blocked["crm.deal.update"] > 0
    assert client.call("crm.deal.get", {"id": 1})["TITLE"] == "t3"


def test_being_paced_by_the_limits_is_not_shown_as_an_outage_but_a_500_is(cloud: Cloud) -> None:
    """A bulk sync meets QUERY_LIMIT_EXCEEDED and OPERATION_TIME_LIMIT all the time: Health must not say
    "Bitrix24 has not answered" for that, only for a portal that is really down."""
    seen: list[object] = []

    def sleep(seconds: float) -> None:
        seen.append(outage.current(cloud.services.portals, cloud.portal.member_id))
        cloud.emu.clock.advance(seconds)

    client = cloud.client(clock=cloud.emu.clock, sleep=sleep)
    for _ in range(50):
        cloud.emu.limits.take(cloud.portal.member_id, cloud.portal.plan, "127.0.0.1")
    assert client.call("user.current")["ID"] == "1"
    cloud.emu.limits.costs["crm.deal.update"] = 200.0
    for i in range(4):
        client.call("crm.deal.update", {"id": 1, "fields": {"TITLE": f"t{i}"}})
    statuses = [c.status for c in cloud.emu.calls]
    assert 503 in statuses and 429 in statuses and seen
    assert all(s is None for s in seen), seen
    seen.clear()
    cloud.emu.settings.server_error_next = 1
    assert client.call("crm.deal.get", {"id": 2})["ID"] == "2"
    assert any(isinstance(s, dict) and s["code"] == "INTERNAL_SERVER_ERROR" for s in seen), seen


@contextmanager
def a_portal_that_never_connects() -> Iterator[str]:
    """A loopback listener whose accept queue is full: a new connection is never made (connect timeout)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port, fillers = listener.getsockname()[1], []
    try:
        while True:
            filler = socket.socket()
            filler.settimeout(0.3)
            fillers.append(filler)
            try:
                filler.connect(("127.0.0.1", port))
            except TimeoutError:
                break
        yield f"http://127.0.0.1:{port}/rest/"
    finally:
        for f in fillers:
            f.close()
        listener.close()


def test_an_add_that_could_not_connect_is_sent_again_not_looked_for(cloud: Cloud) -> None:
    """A connect timeout means the request never reached Bitrix24: the add is simply repeated, it is not
    reported as "may have happened" (which costs a lookup by its origin key)."""
    store, member = cloud.services.portals, cloud.portal.member_id
    with a_portal_that_never_connects() as endpoint:
        store.moved(member, cloud.portal.domain, endpoint)
        client = cloud.client(**fake_time(cloud), timeout=0.3, retry=Retry(patience=2))
        with pytest.raises(OutageTooLong) as info:
            client.call("crm.deal.add", {"fields": {"TITLE": "never sent"}})
    assert not isinstance(info.value, Unsure) and info.value.code == "CONNECTION_REFUSED"
    assert client.calls >= 2  # sent again


def test_retries_5xx_and_html_but_never_what_cannot_succeed(cloud: Cloud) -> None:
    client = cloud.client(**fake_time(cloud))
    cloud.emu.settings.server_error_next = 1
    cloud.emu.settings.html_error_next = 1
    assert client.call("crm.deal.get", {"id": 2})["ID"] == "2"
    before = client.calls
    with pytest.raises(B24Error) as info:
        client.call("crm.deal.get", {"id": 99999})
    assert info.value.code == "ERROR" and info.value.description == "Not found"
    assert client.calls - before == 1
    cloud.emu.settings.russian_errors = True
    with pytest.raises(B24Error) as info:
        client.call("crm.item.get", {"entityTypeId": 2, "id": 99999})
    assert info.value.code == "NOT_FOUND"  # the code decides, whatever the language


def test_batch_keys_errors_and_fast_scan(cloud: Cloud) -> None:
    client = cloud.client(**fake_time(cloud))
    got = client.batch(
        {
            "deal": ("crm.deal.get", {"id": 5}),
            "nope": ("crm.deal.get", {"id": 999999}),
            "list": ("crm.contact.list", {"filter": {">ID": 10}, "select": ["ID"]}),
        }
    )
    assert got.result["deal"]["ID"] == "5" and got.errors["nope"]["error_description"] == "Not found"
    assert got.total["list"] == 550 and got.next["list"] == 50
    with pytest.raises(ValueError):
        client.batch({"0": ("user.current", {})})
    calls = client.calls
    ids = [row["ID"] for row in client.scan("crm.contact.list", {"select": ["ID"]})]
    assert len(ids) == 560 and len(set(ids)) == 560
    assert client.calls - calls == 12  # 11 full pages and a short one, no counting
    items = list(
        client.scan("crm.item.list", {"entityTypeId": 4, "select": ["id"]}, id_field="id", items_key="items")
    )
    assert len(items) == 81


def test_a_renamed_portal_is_followed_and_stored(cloud: Cloud) -> None:
    client = cloud.client(**fake_time(cloud))
    cloud.emu.rename_portal(cloud.portal, "acme-builders.bitrix24.com")
    assert client.call("crm.deal.get", {"id": 3})["ID"] == "3"
    row = cloud.services.portals.portal(cloud.portal.member_id)
    assert row is not None and row.domain == "acme-builders.bitrix24.com"
    assert row.client_endpoint.endswith("/portal/acme-builders.bitrix24.com/rest/")


def test_the_connector_rides_on_the_batch_request_and_paged_lists_are_read_to_the_end(cloud: Cloud) -> None:
    """Bitrix24 reads ``auth_connector`` from the HTTP request (contract errata 3): a batch of writes
    carries it on the batch call, none of its commands does; reads go untagged. ``pages`` follows
    ``next`` (``crm.status.list`` pages at 50, errata 2)."""
    client = cloud.client(connector="qb")
    before = len(cloud.emu.calls)
    got = client.batch({"w": ("crm.deal.update", {"id": 1, "fields": {"TITLE": "tagged"}})})
    assert got.result["w"] is True
    outer = next(c for c in cloud.emu.calls[before:] if c.method == "batch")
    inner = next(c for c in cloud.emu.calls[before:] if c.method == "crm.deal.update")
    assert outer.params.get("auth_connector") == "qb" and "auth_connector" not in inner.params
    assert inner.connector == "qb"
    before = len(cloud.emu.calls)
    client.batch({"r": ("crm.deal.get", {"id": 1})})
    assert all(c.connector is None for c in cloud.emu.calls[before:])
    statuses = client.pages("crm.status.list", {"order": {"SORT": "ASC"}})
    assert len(statuses) == len(cloud.portal.store.statuses) > 50
    categories = client.pages("crm.category.list", {"entityTypeId": 2}, items_key="categories")
    assert [c["name"] for c in categories] == ["General", "Work Orders", "Subcontractor Projects"]
