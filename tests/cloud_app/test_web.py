"""The cloud app's HTTP face against the Bitrix24 emulator: events in, frames verified, sessions scoped to
their portal — and everything forged turned away and logged."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from .harness import CLIENT_ID, Cloud, running_cloud


@pytest.fixture
def cloud(tmp_path: Path) -> Iterator[Cloud]:
    with running_cloud(tmp_path) as c:
        c.install()
        c.install(c.other)
        yield c


def session_of(page: requests.Response) -> str:
    found = re.search(r"data-session='([^']+)'", page.text)
    assert found, page.text
    return found.group(1)


# -- events ------------------------------------------------------------------------------------------------


def test_a_crm_change_is_stored_as_an_event_and_answered_at_once(cloud: Cloud) -> None:
    new_id = cloud.client().call("crm.contact.add", {"fields": {"NAME": "Ada", "LAST_NAME": "Lovelace"}})
    cloud.emu.wait_events()
    assert cloud.emu.deliveries[-1].status == 200
    events = cloud.services.portals.events(cloud.portal.member_id)
    assert [(e["event"], e["object_id"], e["has_tokens"]) for e in events] == [
        ("ONCRMCONTACTADD", str(new_id), True)
    ]
    assert cloud.services.portals.events(cloud.other.member_id) == []


def test_a_duplicated_delivery_is_stored_once(cloud: Cloud) -> None:
    cloud.emu.settings.duplicate_events = True
    new_id = cloud.client().call("crm.company.add", {"fields": {"TITLE": "Initech"}})
    cloud.emu.wait_events()
    assert [d.status for d in cloud.emu.deliveries[-2:]] == [200, 200]
    events = cloud.services.portals.events(cloud.portal.member_id)
    assert [(e["event"], e["object_id"]) for e in events] == [("ONCRMCOMPANYADD", str(new_id))]


def test_an_event_without_tokens_from_automation_is_kept(cloud: Cloud) -> None:
    cloud.emu.settings.strip_event_tokens = True
    cloud.client().call("crm.deal.add", {"fields": {"TITLE": "Robot-made"}})
    cloud.emu.wait_events()
    events = cloud.services.portals.events(cloud.portal.member_id)
    assert [(e["event"], e["has_tokens"]) for e in events] == [("ONCRMDEALADD", False)]


def test_an_event_with_a_wrong_application_token_is_refused_and_logged(cloud: Cloud) -> None:
    cloud.emu.settings.wrong_application_token = True
    cloud.client().call("crm.contact.add", {"fields": {"NAME": "Mallory"}})
    cloud.emu.wait_events()
    assert cloud.emu.deliveries[-1].status == 403
    assert cloud.services.portals.events(cloud.portal.member_id) == []
    assert cloud.services.portals.rejected()[-1] == {
        "kind": "event",
        "member_id": cloud.portal.member_id,
        "reason": "application token mismatch on ONCRMCONTACTADD",
    }


def test_events_for_unknown_portals_or_without_a_name_are_refused(cloud: Cloud) -> None:
    forged = {"event": "ONCRMCONTACTADD", "data[FIELDS][ID]": "1", "auth[member_id]": "f" * 32,
              "auth[application_token]": "x"}  # fmt: skip
    assert requests.post(cloud.url + "/b24/events", data=forged, timeout=5).status_code == 403
    assert requests.post(cloud.url + "/b24/events", data=b"\xff\xfe", timeout=5).status_code == 403
    assert [r["reason"] for r in cloud.services.portals.rejected()] == ["unknown portal", "no event name"]


def test_uninstall_event_of_another_portal_cannot_remove_this_one(cloud: Cloud) -> None:
    other_token = cloud.other.installs[CLIENT_ID].application_token
    forged = {"event": "ONAPPUNINSTALL", "data[CLEAN]": "1", "auth[member_id]": cloud.portal.member_id,
              "auth[application_token]": other_token}  # fmt: skip
    assert requests.post(cloud.url + "/b24/events", data=forged, timeout=5).status_code == 403
    assert cloud.services.portals.portal(cloud.portal.member_id).state == "active"  # type: ignore[union-attr]


# -- frames ------------------------------------------------------------------------------------------------


def test_a_verified_frame_gets_a_page_framed_only_by_its_portal(cloud: Cloud) -> None:
    page = cloud.emu.open_app(cloud.portal, CLIENT_ID, cloud.portal.admin().id)
    assert page.status_code == 200
    origin = cloud.emu.base_url
    policy = dict(p.strip().split(" ", 1) for p in page.headers["Content-Security-Policy"].split(";"))
    assert policy["frame-ancestors"] == f"'self' {origin}" and policy["default-src"] == "'none'"
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert session_of(page)


def test_a_frame_with_a_wrong_application_token_is_refused(cloud: Cloud) -> None:
    query, form = cloud.emu.frame_fields(cloud.portal, CLIENT_ID, cloud.portal.admin().id)
    form["APPLICATION_TOKEN"] = "0" * 32
    page = requests.post(cloud.url + "/app", params=query, data=form, timeout=10)
    assert page.status_code == 403 and "data-session" not in page.text
    assert cloud.services.portals.rejected()[-1]["reason"] == "application token mismatch"


def test_a_frame_carrying_another_portals_token_is_refused(cloud: Cloud) -> None:
    """Portal B's user, claiming to be portal A: A's application token leaked, but B's AUTH_ID is not
    accepted by A's own endpoint."""
    _, theirs = cloud.emu.frame_fields(cloud.other, CLIENT_ID, cloud.other.admin().id)
    query, form = cloud.emu.frame_fields(cloud.portal, CLIENT_ID, cloud.portal.admin().id)
    form["AUTH_ID"] = theirs["AUTH_ID"]
    page = requests.post(cloud.url + "/app", params=query, data=form, timeout=10)
    assert page.status_code == 403
    assert cloud.services.portals.rejected()[-1]["reason"] == "the portal did not accept the frame's token"


def test_a_placement_frame_knows_its_record(cloud: Cloud) -> None:
    page = cloud.emu.open_app(
        cloud.portal, CLIENT_ID, cloud.portal.admin().id, "CRM_DEAL_DETAIL_TAB", {"ID": "17"}
    )
    assert page.status_code == 200
    assert "data-page='deal-tab'" in page.text and "data-id='17'" in page.text


# -- portal API with a frame session ----------------------------------------------------------------


def test_a_session_reads_its_own_portal_and_never_another(cloud: Cloud) -> None:
    session = session_of(cloud.emu.open_app(cloud.portal, CLIENT_ID, cloud.portal.admin().id))
    mine = requests.get(
        f"{cloud.url}/api/portals/{cloud.portal.member_id}/status", headers={"X-Session": session}, timeout=5
    )
    assert mine.status_code == 200 and mine.json()["domain"] == cloud.portal.domain
    assert mine.json()["state"] == "active" and mine.json()["agent_online"] is False
    theirs = requests.get(
        f"{cloud.url}/api/portals/{cloud.other.member_id}/status", headers={"X-Session": session}, timeout=5
    )
    assert theirs.status_code == 403 and cloud.other.domain not in theirs.text
    code = requests.post(
        f"{cloud.url}/api/portals/{cloud.other.member_id}/pairing-code",
        headers={"X-Session": session},
        timeout=5,
    )
    assert code.status_code == 403
    assert cloud.services.agents.counts(cloud.other.member_id) == {}


def test_a_forged_or_missing_session_is_unauthorized(cloud: Cloud) -> None:
    url = f"{cloud.url}/api/portals/{cloud.portal.member_id}/status"
    assert requests.get(url, timeout=5).status_code == 401
    assert requests.get(url, headers={"X-Session": "eyJtIjoiYSJ9.forged.sig"}, timeout=5).status_code == 401


def test_only_an_admin_can_make_a_pairing_code_and_the_code_pairs_an_agent(cloud: Cloud) -> None:
    user = next(u for u in cloud.portal.users.values() if not u.admin)
    plain = session_of(cloud.emu.open_app(cloud.portal, CLIENT_ID, user.id))
    url = f"{cloud.url}/api/portals/{cloud.portal.member_id}/pairing-code"
    assert requests.post(url, headers={"X-Session": plain}, timeout=5).status_code == 403
    admin = session_of(cloud.emu.open_app(cloud.portal, CLIENT_ID, cloud.portal.admin().id))
    answer = requests.post(url, headers={"X-Session": admin}, timeout=5)
    assert answer.status_code == 200
    paired = requests.post(
        cloud.url + "/api/agents/pair",
        json={"code": answer.json()["code"], "agent_version": "1.0", "hostname": "QB-PC"},
        timeout=5,
    )
    assert paired.status_code == 200, paired.text
    assert paired.json()["portal"] == cloud.portal.member_id
    assert [a.hostname for a in cloud.services.agents.agents(cloud.portal.member_id)] == ["QB-PC"]
    assert cloud.services.agents.agents(cloud.other.member_id) == []


def test_health_and_schema(cloud: Cloud) -> None:
    assert requests.get(cloud.url + "/healthz", timeout=5).json() == {"ok": True}
    assert requests.get(cloud.url + "/schema", timeout=30).status_code == 401  # the operator's only
    assert "Customer" in str(cloud.operator("/schema").json())[:100000]


def test_status_shows_the_last_web_connector_session_and_error_with_what_to_do(cloud: Cloud) -> None:
    from datetime import UTC, datetime

    from cloud_app.web import record_session
    from shared import wire

    member = cloud.portal.member_id
    now = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)
    record_session(cloud.services, member, wire.SessionStarted(
        session_id="s1", company_file="C:\\Books\\Acme.qbw", product="QuickBooks Enterprise 24.0",
        qb_version="34.0", country="US", supported_versions=("13.0", "16.0"), started_at=now))  # fmt: skip
    record_session(cloud.services, member, wire.QuickBooksUnreachable(
        session_id="s2", hresult="0x80040408", message="Could not start QuickBooks.", at=now))  # fmt: skip
    cloud.services.agents.enqueue(member, "<QBXML/>", purpose="sync")
    session = session_of(cloud.emu.open_app(cloud.portal, CLIENT_ID, cloud.portal.admin().id))
    status = requests.get(
        f"{cloud.url}/api/portals/{member}/status", headers={"X-Session": session}, timeout=5
    ).json()
    assert status["last_session"]["company_file"] == "C:\\Books\\Acme.qbw"
    assert status["last_session"]["qbxml_versions"] == ["13.0", "16.0"]
    assert status["last_error"]["hresult"] == "0x80040408" and status["last_error"]["what_to_do"]
    assert status["queue_depth"] == 1 and status["jobs"] == {"queued": 1}
    other = requests.get(
        f"{cloud.url}/api/portals/{cloud.other.member_id}/status",
        headers={"X-Session": session_of(cloud.emu.open_app(cloud.other, CLIENT_ID, cloud.other.admin().id))},
        timeout=5,
    ).json()
    assert other["last_session"] is None and other["queue_depth"] == 0


def test_an_admin_renames_and_revokes_agents_of_their_portal_only(cloud: Cloud) -> None:
    agents = cloud.services.agents
    mine = agents.redeem(
        agents.new_pairing_code(cloud.portal.member_id), agent_version="1", hostname="QB-PC"
    )[0]
    theirs = agents.redeem(agents.new_pairing_code(cloud.other.member_id), agent_version="1", hostname="X")[0]
    admin = session_of(cloud.emu.open_app(cloud.portal, CLIENT_ID, cloud.portal.admin().id))
    base = f"{cloud.url}/api/portals/{cloud.portal.member_id}/agents"
    headers = {"X-Session": admin}
    assert requests.post(f"{base}/{mine}", json={"name": "Front office"}, headers=headers, timeout=5).ok
    listed = requests.get(base, headers=headers, timeout=5).json()["agents"]
    assert [(a["name"], a["hostname"], a["revoked"]) for a in listed] == [("Front office", "QB-PC", False)]
    assert (
        requests.post(f"{base}/{theirs}", json={"revoke": True}, headers=headers, timeout=5).status_code
        == 404
    )
    assert not agents.agents(cloud.other.member_id)[0].revoked
    assert requests.post(f"{base}/{mine}", json={"revoke": True}, headers=headers, timeout=5).ok
    assert agents.agents(cloud.portal.member_id)[0].revoked
    assert requests.post(f"{base}/{mine}", json={"name": ""}, headers=headers, timeout=5).status_code == 400
    user = next(u for u in cloud.portal.users.values() if not u.admin)
    plain = {"X-Session": session_of(cloud.emu.open_app(cloud.portal, CLIENT_ID, user.id))}
    assert requests.post(f"{base}/{mine}", json={"name": "x"}, headers=plain, timeout=5).status_code == 403


def test_the_page_says_quickbooks_busy_while_a_web_connector_session_runs(cloud: Cloud) -> None:
    from datetime import UTC, datetime, timedelta

    from cloud_app.b24_placement.strings import catalog
    from cloud_app.web import record_session
    from shared import wire

    member = cloud.portal.member_id
    session = session_of(cloud.emu.open_app(cloud.portal, CLIENT_ID, cloud.portal.admin().id))

    def busy() -> bool:
        status = requests.get(
            f"{cloud.url}/api/portals/{member}/status", headers={"X-Session": session}, timeout=5
        ).json()
        return bool(status["quickbooks_busy"])

    def started(at: datetime) -> None:
        record_session(cloud.services, member, wire.SessionStarted(
            session_id="s1", company_file="C:\\Books\\Acme.qbw", product="QuickBooks Enterprise 24.0",
            qb_version="34.0", country="US", supported_versions=("16.0",), started_at=at))  # fmt: skip

    assert not busy()  # no session seen yet
    now = datetime.now(UTC)
    started(now)
    assert busy()
    record_session(cloud.services, member, wire.SessionEnded(
        session_id="s1", ended_at=now + timedelta(seconds=2), requests=2, errors=0,
        summary="2 requests, 0 errors", error=None))  # fmt: skip
    assert not busy()
    started(now - timedelta(hours=1))  # an agent that vanished mid-session does not leave it "busy" for good
    assert not busy()
    assert catalog("ru")[1]["health.qb_busy"] == "QuickBooks занят"
    assert catalog("en")[1]["health.qb_busy"] == "QuickBooks busy"


def test_an_admin_pauses_background_work_from_the_settings(cloud: Cloud) -> None:
    from cloud_app.web import offer_limit

    member = cloud.portal.member_id
    session = session_of(cloud.emu.open_app(cloud.portal, CLIENT_ID, cloud.portal.admin().id))
    url, headers = f"{cloud.url}/api/portals/{member}/settings", {"X-Session": session}
    assert requests.get(url, headers=headers, timeout=5).json()["settings"]["bulk.paused"] is False
    assert offer_limit(cloud.services, member) is None
    assert requests.post(url, json={"bulk.paused": True}, headers=headers, timeout=5).status_code == 200
    assert offer_limit(cloud.services, member) == 2  # people's jobs only (deal syncs, tabs: priority 1)
    assert offer_limit(cloud.services, cloud.other.member_id) is None  # that portal's own choice
    refused = requests.post(url, json={"bulk.paused": "yes"}, headers=headers, timeout=5)
    assert refused.status_code == 400 and "bulk.paused is true or false" in refused.text
