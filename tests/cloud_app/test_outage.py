"""Bitrix24 down — 500s, a gateway's 502 HTML pages, 503 QUERY_LIMIT_EXCEEDED, answers lost after the
portal did the work — is waited out, shown on Health while it lasts, and nothing is doubled or lost
(issue 18, case 3)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from cloud_app.b24 import outage
from cloud_app.b24.errors import B24Error
from cloud_app.b24.retry import OutageTooLong, Retry
from sandbox.bitrix24 import Clock

from .harness import Cloud, running_cloud
from .product import World, a_deal, settled, wait
from .test_resume import FAST, assert_everything_once, counts, finished, scheduled_run, until_finished


@pytest.fixture
def cloud(tmp_path: Path) -> Iterator[Cloud]:
    with running_cloud(tmp_path, Clock(1_795_000_000.0)) as c:
        c.install()
        c.emu.limits.buckets.clear()
        yield c


def test_a_three_hour_outage_is_waited_out_and_shown_while_it_lasts(cloud: Cloud) -> None:
    clock, seen = cloud.emu.clock, []
    start = clock()

    def sleep(seconds: float) -> None:  # the emulator's clock: three hours pass at once
        seen.append(outage.current(cloud.services.portals, cloud.portal.member_id))
        clock.advance(seconds)
        if clock() - start > 3 * 3600:
            cloud.emu.settings.outage = ""

    cloud.emu.settings.outage = "502"
    client = cloud.client(clock=clock, sleep=sleep)
    assert client.call("crm.deal.get", {"id": 2})["ID"] == "2"
    assert clock() - start > 3 * 3600 and len(seen) > 100  # tried all along, no giving up
    assert all(s is not None and s["code"] == "NOT_JSON" for s in seen[1:])
    assert len({s["since"] for s in seen[1:] if s}) == 1  # since when: the outage's first moment
    assert outage.current(cloud.services.portals, cloud.portal.member_id) is None  # cleared by the answer


def test_backoff_is_capped_and_a_permanent_error_fails_at_once(cloud: Cloud) -> None:
    pauses: list[float] = []
    client = cloud.client(clock=cloud.emu.clock, sleep=pauses.append, retry=Retry(base=0.5, cap=60))
    cloud.emu.settings.server_error_next = 12
    assert client.call("crm.deal.get", {"id": 3})["ID"] == "3"
    assert pauses[:4] == [0.5, 1.0, 2.0, 4.0] and max(pauses) == 60
    before = client.calls
    with pytest.raises(B24Error) as info:
        client.call("crm.deal.get", {"id": 999999})
    assert client.calls - before == 1 and info.value.description == "Not found"  # a reason: no retry
    cloud.emu.settings.outage = "500"
    impatient = cloud.client(clock=cloud.emu.clock, sleep=cloud.emu.clock.advance, retry=Retry(patience=30))
    with pytest.raises(OutageTooLong) as too_long:  # a caller with a person waiting hears of it
        impatient.call("crm.deal.get", {"id": 3})
    assert too_long.value.code == "INTERNAL_SERVER_ERROR"


@pytest.mark.parametrize("answer", ["500", "502", "503"])
def test_the_first_sync_waits_out_an_outage_and_lands_every_record_once(world: World, answer: str) -> None:
    """The outage outlasts what the client used to bear (5 retries, ~15 s): the old client gave up and
    the first sync hung; here it waits, Health says so, and nothing is doubled when it ends."""
    before = counts(world)
    world.cloud.services.retry = FAST
    world.cloud.emu.settings.outage = answer
    assert world.api("POST", "/initial-sync").status_code == 202
    world.web_connector_runs()
    # twice what the old client bore (6 tries) — a 503 also empties our bucket model: ~3 s a try
    assert wait(lambda: world.cloud.emu.settings.outage_answers >= 12, timeout=120)
    health = world.api("GET", "/status").json()
    if answer == "503":  # QUERY_LIMIT_EXCEEDED: the portal answers, it is pacing us — no outage shown
        assert health["bitrix24_outage"] is None, health
    else:
        assert health["bitrix24_outage"]["since"], health  # Health: not answering since …
    assert not finished(world)
    world.cloud.emu.settings.outage = ""
    until_finished(world)
    assert_everything_once(world, before)
    assert world.api("GET", "/status").json()["bitrix24_outage"] is None


def test_answers_lost_after_the_smart_invoices_were_made_make_no_second_ones(world: World) -> None:
    before = counts(world)
    world.cloud.services.retry = FAST
    world.cloud.emu.settings.lose_answers_to = ("crm.item.add", "crm.company.add", "crm.contact.add")
    world.cloud.emu.settings.lose_answers = 3  # each one carried out, its answer a 502 page
    assert world.api("POST", "/initial-sync").status_code == 202
    scheduled_run(world)
    until_finished(world)
    assert world.cloud.emu.settings.lose_answers == 0
    assert_everything_once(world, before)


def test_a_502_during_the_deal_write_back_is_retried_and_the_comment_written_once(world: World) -> None:
    world.cloud.services.retry = FAST
    deal = a_deal(world, "Kowalski & Sons", [(1, "Labor", "55.00", "10")])
    sync_id = world.api("POST", f"/deals/{deal}/sync", json={"kind": "Invoice"}).json()["sync_id"]
    world.cloud.emu.settings.lose_answers_to = ("crm.deal.update", "crm.timeline.comment.add")
    world.cloud.emu.settings.lose_answers = 2  # the deal's update and its comment: done, answers lost
    world.cloud.emu.settings.html_error_next = 0
    assert world.web_connector_runs() == "2 requests, 0 errors"
    status = settled(world, sync_id)
    assert status["state"] == "done", status
    outcome = status["outcome"]
    assert re.fullmatch(r"Invoice \d+ created in QuickBooks, 550\.00 USD", outcome), outcome  # no NOT_JSON
    assert world.cloud.emu.settings.lose_answers == 0
    fields = world.cloud.client().call("crm.deal.get", {"id": deal})
    assert fields["UF_CRM_QB_TXN_ID"] and fields["UF_CRM_QB_STATUS"] == "open"
    comments = [c["COMMENT"] for c in world.cloud.portal.store.comments if c["ENTITY_ID"] == deal]
    assert comments == [status["outcome"]]


def test_health_asks_bitrix24_at_most_every_few_seconds_whether_it_is_back(world: World) -> None:
    """An outage recorded by a call that then gave up stays on Health only while Bitrix24 still does not
    answer: /status asks it once (``app.info``, no waiting) — not on every poll of every open page."""
    world.cloud.emu.settings.outage = "502"
    impatient = world.cloud.client()
    impatient.retry = Retry(base=0.01, cap=0.01, patience=0.05)
    with pytest.raises(OutageTooLong):
        impatient.call("crm.deal.get", {"id": 2})
    before = world.cloud.emu.settings.outage_answers
    for _ in range(3):  # three polls in a row: one probe
        assert world.api("GET", "/status").json()["bitrix24_outage"]["code"] == "NOT_JSON"
    assert world.cloud.emu.settings.outage_answers == before + 1
    world.cloud.emu.settings.outage = ""
    world.cloud.services._outage_probed.clear()  # the next check is due (15 s later in real time)
    assert world.api("GET", "/status").json()["bitrix24_outage"] is None
