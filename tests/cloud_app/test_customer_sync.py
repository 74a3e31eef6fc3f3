"""Linked customers both ways through the real agent and Web Connector: an edit in QuickBooks reaches
Bitrix24 and does not come back; an edit in Bitrix24 reaches QuickBooks with the current EditSequence,
also when someone changed the customer in between (3200); and an edit on each side before either was
read keeps both (issue 17, case 5)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from cloud_app import customer_sync
from cloud_app.links import Link
from cloud_app.sync.merge import dumps

from .product import World, a_deal, connector, settled, wait

QB = (
    '<?xml version="1.0"?><?qbxml version="13.0"?><QBXML><QBXMLMsgsRq onError="stopOnError">{}'
    "</QBXMLMsgsRq></QBXML>"
)


def linked_company(world: World, title: str) -> tuple[int, dict[str, Any]]:
    """A company that became a QuickBooks customer through a deal's "Sync to QuickBooks"."""
    deal = a_deal(world, title, [(1, "Labor", "55.00", "1")])
    sync_id = world.api("POST", f"/deals/{deal}/sync", json={}).json()["sync_id"]
    world.web_connector_runs()
    assert settled(world, sync_id)["state"] == "done"
    company = int(world.cloud.client().call("crm.deal.get", {"id": deal})["COMPANY_ID"])
    return company, customer(world, title)


def customer(world: World, name: str) -> dict[str, Any]:
    return world.qb_query(f"<CustomerQueryRq><FullName>{name}</FullName></CustomerQueryRq>")[0]


def quiet(world: World) -> None:
    """Every event handled and every result applied."""
    world.cloud.emu.wait_events()
    assert world.cloud.services.worker.idle.wait(15)


def customer_jobs(world: World) -> int:
    """Jobs that read or changed a customer because of a Bitrix24 edit."""
    db = world.cloud.services.agents.db
    return int(db.execute("select count(*) from jobs where purpose like 'customer-%'").fetchone()[0])


def queued(world: World) -> dict[str, int]:
    counts = world.cloud.services.agents.counts(world.cloud.portal.member_id)
    return {k: v for k, v in counts.items() if k not in ("done", "failed")}


def test_an_edit_in_quickbooks_reaches_bitrix24_and_is_not_echoed_back(world: World) -> None:
    company, ret = linked_company(world, "Stark Industries")
    quiet(world)
    world.qb.process(QB.format(
        f"<CustomerModRq><CustomerMod><ListID>{ret['ListID']}</ListID><EditSequence>{ret['EditSequence']}"
        "</EditSequence><Phone>415-555-0199</Phone><Email>ap@stark.example.com</Email></CustomerMod>"
        "</CustomerModRq>"))  # fmt: skip
    edited = customer(world, "Stark Industries")["EditSequence"]
    world.api("POST", "/deals/0/refresh")
    world.web_connector_runs()
    client = world.cloud.client()
    assert wait(lambda: [p["VALUE"] for p in client.call("crm.company.get", {"id": company})["PHONE"] or []]
                == ["415-555-0199"])  # fmt: skip
    record = client.call("crm.company.get", {"id": company})
    assert [e["VALUE"] for e in record["EMAIL"]] == ["ap@stark.example.com"]
    assert record["UF_CRM_QB_LIST_ID"] == ret["ListID"] and record["UF_CRM_QB_BALANCE"] == "55.00|USD"
    quiet(world)  # our own write came back as ONCRMCOMPANYUPDATE …
    assert customer_jobs(world) == 0 and queued(world) == {}  # … and nothing went back to QuickBooks
    assert customer(world, "Stark Industries")["EditSequence"] == edited


def test_an_edit_in_bitrix24_reaches_quickbooks_with_the_current_edit_sequence(world: World) -> None:
    company, ret = linked_company(world, "Cyberdyne")
    quiet(world)
    world.cloud.client().call(
        "crm.company.update",
        {
            "id": company,
            "fields": {
                "TITLE": "Cyberdyne Systems",
                "PHONE": [{"VALUE": "650-555-0142", "VALUE_TYPE": "WORK"}],
            },
        },
    )
    quiet(world)
    assert sum(queued(world).values()) == 1  # the read of the current EditSequence, on its way
    assert world.web_connector_runs() == "2 requests, 0 errors"  # the read, then the Mod, one session
    assert wait(lambda: customer(world, "Cyberdyne")["CompanyName"] == "Cyberdyne Systems")
    assert customer(world, "Cyberdyne")["Phone"] == "650-555-0142"
    quiet(world)
    assert queued(world) == {}


class EditsInBetween:
    """QuickBooks where a bookkeeper edits the customer just before our CustomerMod arrives."""

    def __init__(self, world: World, list_id: str) -> None:
        self.world, self.list_id, self.done = world, list_id, False

    def begin_session(self, **kw: str) -> Any:
        inner, outer = self.world.qb.begin_session(**kw), self

        class Session:
            company_file = inner.company_file

            def process(self, request_xml: str) -> str:
                if "<CustomerModRq" in request_xml and not outer.done:
                    outer.done = True
                    now = outer.world.qb_query(
                        f"<CustomerQueryRq><ListID>{outer.list_id}</ListID></CustomerQueryRq>"
                    )[0]
                    edit = (
                        f"<CustomerModRq><CustomerMod><ListID>{outer.list_id}</ListID><EditSequence>"
                        f"{now['EditSequence']}</EditSequence><Fax>650-555-0000</Fax></CustomerMod>"
                        "</CustomerModRq>"
                    )
                    outer.world.qb.process(QB.format(edit))
                return inner.process(request_xml)

            def close(self) -> None:
                inner.close()

        return Session()


def test_a_stale_edit_sequence_is_decided_again_on_the_record_it_carries_and_applied_once(
    world: World,
) -> None:
    company, ret = linked_company(world, "Tyrell Corp")
    quiet(world)
    world.cloud.client().call(
        "crm.company.update", {"id": company, "fields": {"TITLE": "Tyrell Corporation"}}
    )
    quiet(world)
    qb = EditsInBetween(world, ret["ListID"])
    report = connector(world.agent, world.home, world.password, qb).run_session()
    # read, Mod (3200, with the customer as it is now: errata 8), Mod — no second read
    assert report.status == "3 requests, 0 errors"
    now = customer(world, "Tyrell Corp")
    assert now["CompanyName"] == "Tyrell Corporation" and now["Fax"] == "650-555-0000"  # both edits kept


def synced_once(world: World, title: str) -> tuple[int, dict[str, Any]]:
    """A linked company whose fields were synced field by field once (a QuickBooks edit came across)."""
    company, ret = linked_company(world, title)
    quiet(world)
    world.qb.process(QB.format(
        f"<CustomerModRq><CustomerMod><ListID>{ret['ListID']}</ListID><EditSequence>{ret['EditSequence']}"
        "</EditSequence><Phone>212-555-0100</Phone></CustomerMod></CustomerModRq>"))  # fmt: skip
    world.api("POST", "/deals/0/refresh")
    world.web_connector_runs()
    client = world.cloud.client()
    assert wait(lambda: (client.call("crm.company.get", {"id": company})["PHONE"] or [{}])[0].get("VALUE")
                == "212-555-0100")  # fmt: skip
    quiet(world)
    return company, customer(world, title)


def both_rename(world: World, company: int, ret: dict[str, Any], in_qb: str, in_b24: str) -> None:
    world.qb.process(QB.format(
        f"<CustomerModRq><CustomerMod><ListID>{ret['ListID']}</ListID><EditSequence>{ret['EditSequence']}"
        f"</EditSequence><CompanyName>{in_qb}</CompanyName></CustomerMod></CustomerModRq>"))  # fmt: skip
    world.cloud.client().call("crm.company.update", {"id": company, "fields": {"TITLE": in_b24}})
    quiet(world)


def test_both_sides_edited_the_configured_winner_applies_and_the_loser_is_logged(world: World) -> None:
    company, ret = synced_once(world, "Wayne Enterprises")
    assert world.api("GET", "/conflicts").json()["conflicts"] == []
    both_rename(world, company, ret, "Wayne Enterprises Inc", "Wayne Ent.")
    world.web_connector_runs()
    client = world.cloud.client()
    # QuickBooks wins by default: Bitrix24 takes its name, nothing is sent to QuickBooks
    assert wait(lambda: client.call("crm.company.get", {"id": company})["TITLE"] == "Wayne Enterprises Inc")
    quiet(world)
    assert customer(world, "Wayne Enterprises")["CompanyName"] == "Wayne Enterprises Inc"
    logged = world.api("GET", "/conflicts").json()["conflicts"]
    assert [(c["field"], c["quickbooks"], c["bitrix24"], c["winner"]) for c in logged] == [
        ("title", "Wayne Enterprises Inc", "Wayne Ent.", "qb")
    ]
    assert queued(world) == {}  # the write that settled it is not echoed back

    # a person decides Bitrix24 wins names: the next conflict goes the other way
    changed = world.api("POST", "/settings", json={"conflict.winners": {"title": "b24"}})
    assert changed.status_code == 200, changed.text
    ret = customer(world, "Wayne Enterprises")
    both_rename(world, company, ret, "Wayne Holdings", "Wayne Industries")
    world.web_connector_runs()
    assert wait(lambda: customer(world, "Wayne Enterprises")["CompanyName"] == "Wayne Industries")
    assert client.call("crm.company.get", {"id": company})["TITLE"] == "Wayne Industries"
    logged = world.api("GET", "/conflicts").json()["conflicts"]
    assert (logged[0]["field"], logged[0]["quickbooks"], logged[0]["winner"]) == (
        "title",
        "Wayne Holdings",
        "b24",
    )


def test_settings_are_validated_and_only_admins_change_them(world: World) -> None:
    bad = world.api("POST", "/settings", json={"conflict.winner": "both", "colour": "red"})
    assert bad.status_code == 400
    assert (
        "conflict.winner is qb (QuickBooks) or b24 (Bitrix24)" in bad.text and "colour: no such" in bad.text
    )
    assert world.api("GET", "/settings").json()["settings"]["conflict.winner"] == "qb"  # nothing stored


def test_with_offline_events_our_own_writes_cost_no_reads_and_a_persons_edit_still_arrives(
    paid_world: World,
) -> None:
    world = paid_world
    emu = world.cloud.emu
    company, ret = linked_company(world, "Wayne Enterprises")
    quiet(world)
    world.qb.process(QB.format(
        f"<CustomerModRq><CustomerMod><ListID>{ret['ListID']}</ListID><EditSequence>{ret['EditSequence']}"
        "</EditSequence><Phone>415-555-0177</Phone></CustomerMod></CustomerModRq>"))  # fmt: skip
    before = len(emu.calls)
    world.api("POST", "/deals/0/refresh")
    world.web_connector_runs()
    client = world.cloud.client()  # the harness's client: a person's edits, without our auth_connector
    assert wait(lambda: [p["VALUE"] for p in client.call("crm.company.get", {"id": company})["PHONE"] or []]
                == ["415-555-0177"])  # fmt: skip
    quiet(world)
    calls = emu.calls[before:]
    # the update went out with the connector, came back as an online event (a wake-up call) and the
    # queue, empty of our own write, was read: the one batched crm.company.get is the read before the
    # merge; none follows to recognise the echo (on a plan without the queue there are two)
    # the connector rides on the batch request itself, where Bitrix24 reads it (contract errata 3)
    assert any(c.method == "crm.company.update" and c.connector for c in calls)
    assert not any(c.params.get("auth_connector") for c in calls if c.in_batch)
    assert any(c.method == "event.offline.get" for c in calls)
    assert len([c for c in calls if c.method == "crm.company.get" and c.in_batch]) == 1
    assert customer_jobs(world) == 0 and queued(world) == {}

    client.call("crm.company.update", {"id": company, "fields": {"TITLE": "Wayne Enterprises Inc"}})
    quiet(world)
    assert sum(queued(world).values()) == 1  # a person's edit came through the queue
    assert world.web_connector_runs() == "2 requests, 0 errors"
    assert wait(lambda: customer(world, "Wayne Enterprises")["CompanyName"] == "Wayne Enterprises Inc")


def jobs_of(world: World, prefix: str) -> int:
    db = world.cloud.services.agents.db
    return int(db.execute("select count(*) from jobs where purpose like ?", [prefix + "%"]).fetchone()[0])


def edit_in_quickbooks(world: World, name: str, body: str) -> None:
    now = customer(world, name)
    world.qb.process(QB.format(
        f"<CustomerModRq><CustomerMod><ListID>{now['ListID']}</ListID><EditSequence>{now['EditSequence']}"
        f"</EditSequence>{body}</CustomerMod></CustomerModRq>"))  # fmt: skip


def any_session(world: World) -> None:
    """A Web Connector run, also when it finds nothing to do."""
    connector(world.agent, world.home, world.password, world.qb).run_session()


def quickbooks_changes_first(world: World) -> None:
    """QuickBooks' change query runs and is applied while Bitrix24's events are still on their way."""
    world.api("POST", "/deals/0/refresh")
    world.web_connector_runs()
    assert wait(lambda: jobs_of(world, "qb-changes") and not world.cloud.services.agents.waiting(
        world.cloud.portal.member_id, "qb-changes"))  # fmt: skip
    assert world.cloud.services.worker.idle.wait(15)


@pytest.mark.parametrize("plan", ["world", "paid_world"])
def test_issue_17_case_5_a_bitrix24_edit_not_yet_read_is_not_reverted_by_a_quickbooks_edit(
    plan: str, request: pytest.FixtureRequest
) -> None:
    """The reported sequence: a person renames a linked company and adds a phone in Bitrix24; the
    bookkeeper changes the customer's e-mail in QuickBooks; QuickBooks' change query is applied before
    the cloud read the Bitrix24 event. Both edits survive on both sides, nothing is a conflict, and the
    event that arrives afterwards sends nothing more — with online events, and with the offline queue
    (paid plans) where the person's edit waits in the queue."""
    world: World = request.getfixturevalue(plan)
    company, _ = linked_company(world, "Initech")
    quiet(world)
    client, emu = world.cloud.client(), world.cloud.emu
    emu.hold_events = True  # the person's event is late (5–6 s in the demo)
    edit = {"TITLE": "Initech Software", "PHONE": [{"VALUE": "512-555-0147", "VALUE_TYPE": "WORK"}]}
    client.call("crm.company.update", {"id": company, "fields": edit})
    edit_in_quickbooks(world, "Initech", "<Email>ap@initech.example.com</Email>")
    quickbooks_changes_first(world)
    emu.hold_events = False
    emu.flush_events()  # now Bitrix24's event arrives: already handled
    quiet(world)
    any_session(world)  # whatever is still to go to QuickBooks goes (if it did not in the last one)
    assert wait(lambda: customer(world, "Initech")["CompanyName"] == "Initech Software")
    quiet(world)
    record = client.call("crm.company.get", {"id": company})
    assert record["TITLE"] == "Initech Software"
    assert [p["VALUE"] for p in record["PHONE"]] == ["512-555-0147"]
    assert [e["VALUE"] for e in record["EMAIL"]] == ["ap@initech.example.com"]
    now = customer(world, "Initech")
    assert (now["Phone"], now["Email"]) == ("512-555-0147", "ap@initech.example.com")
    assert world.api("GET", "/conflicts").json()["conflicts"] == []
    # one CustomerMod carried the Bitrix24 edit; the late event read nothing from QuickBooks again
    assert jobs_of(world, "customer-mod") == 1 and jobs_of(world, "customer-read") == 0
    any_session(world)
    quiet(world)
    assert queued(world) == {} and jobs_of(world, "customer-mod") == 1  # and nothing echoed back


def test_issue_17_case_5_the_same_field_changed_on_both_sides_goes_to_the_winner_and_is_logged(
    world: World,
) -> None:
    """Both sides renamed the customer before either change was read: the configured winner's name is on
    both sides and the other name is in the conflicts log, whichever setting is chosen."""
    company, _ = linked_company(world, "Hooli")
    quiet(world)
    client, emu = world.cloud.client(), world.cloud.emu
    for in_b24, in_qb, winner in (("Hooli XYZ", "Hooli Inc", "qb"), ("Hooli Labs", "Hooli Group", "b24")):
        if winner == "b24":
            assert world.api("POST", "/settings", json={"conflict.winner": "b24"}).status_code == 200
        emu.hold_events = True
        client.call("crm.company.update", {"id": company, "fields": {"TITLE": in_b24}})
        edit_in_quickbooks(world, "Hooli", f"<CompanyName>{in_qb}</CompanyName>")
        quickbooks_changes_first(world)
        emu.hold_events = False
        emu.flush_events()
        quiet(world)
        any_session(world)
        won = in_qb if winner == "qb" else in_b24

        def arrived(won: str = won) -> bool:
            return bool(customer(world, "Hooli")["CompanyName"] == won)

        assert wait(arrived)
        quiet(world)
        assert client.call("crm.company.get", {"id": company})["TITLE"] == won
        logged = world.api("GET", "/conflicts").json()["conflicts"][0]
        assert (logged["field"], logged["quickbooks"], logged["bitrix24"], logged["winner"]) == (
            "title", in_qb, in_b24, winner)  # fmt: skip
    assert len(world.api("GET", "/conflicts").json()["conflicts"]) == 2


def test_a_customer_linked_on_the_tab_starts_from_both_sides_as_they_were_so_a_later_edit_goes_across(
    world: World,
) -> None:
    """A person links a contact to an existing customer whose phone differs: both keep their own values,
    and the person's later phone edit in Bitrix24 reaches QuickBooks instead of being taken as a first
    difference QuickBooks wins."""
    client = world.cloud.client()
    olga = customer(world, "Abercrombie, Olga")
    phone = [{"VALUE": "650-555-0000", "VALUE_TYPE": "WORK"}]
    contact = client.call(
        "crm.contact.add", {"fields": {"NAME": "Olga", "LAST_NAME": "Abercrombie", "PHONE": phone}}
    )
    world.api("POST", f"/parties/contact/{contact}/link", json={"name": "Abercrombie, Olga"})
    world.web_connector_runs()
    assert wait(
        lambda: world.api("GET", f"/parties/contact/{contact}/quickbooks").json()["linked"] is not None
    )
    quiet(world)
    edit = {"PHONE": [{"ID": client.call("crm.contact.get", {"id": contact})["PHONE"][0]["ID"],
                       "VALUE": "650-555-0001", "VALUE_TYPE": "WORK"}]}  # fmt: skip
    client.call("crm.contact.update", {"id": contact, "fields": edit})
    quiet(world)
    any_session(world)
    assert wait(lambda: customer(world, "Abercrombie, Olga")["Phone"] == "650-555-0001")
    quiet(world)
    assert customer(world, "Abercrombie, Olga")["Email"] == olga["Email"]  # QuickBooks' own e-mail stays
    record = client.call("crm.contact.get", {"id": contact})
    assert [p["VALUE"] for p in record["PHONE"]] == ["650-555-0001"]
    assert world.api("GET", "/conflicts").json()["conflicts"] == []


# -- the decision alone (no I/O): customer_sync.plan ----------------------------------------------------

NOW = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)


def a_link() -> Link:
    """A company linked and synced once: "Initech", no phone, no e-mail on either side."""
    base = {"title": "Initech", "phones": [], "emails": []}
    return Link("customer", "80000001-1", "Initech", "company", "7", customer_sync.state(base, None))


def test_the_plan_sends_each_sides_own_change_to_the_other_in_one_round() -> None:
    ret = {"ListID": "80000001-1", "EditSequence": "5", "Name": "Initech", "CompanyName": "Initech",
           "Email": "ap@initech.example.com"}  # fmt: skip
    record = {"ID": "7", "TITLE": "Initech Software", "PHONE": [{"ID": "1", "VALUE": "512-555-0147"}]}
    p = customer_sync.plan(a_link(), ret, record, now=NOW, winner="qb", winners={})
    assert p.result.conflicts == ()
    assert p.update is not None and "TITLE" not in p.update and "PHONE" not in p.update
    assert p.update["EMAIL"] == [{"VALUE": "ap@initech.example.com", "VALUE_TYPE": "WORK"}]
    assert p.mod is not None and p.mod["EditSequence"] == "5"
    assert (p.mod["CompanyName"], p.mod["Phone"]) == ("Initech Software", "512-555-0147")
    assert "Email" not in p.mod  # QuickBooks keeps its own e-mail
    assert p.state.seen == {"title": "Initech Software", "phones": ["5125550147"],
                            "emails": ["ap@initech.example.com"]}  # fmt: skip
    # the same decision a moment later, before the Mod was answered: nothing more to send
    again = customer_sync.plan(replace(a_link(), fingerprint=dumps(p.state)), ret,
                               {**record, "EMAIL": [{"ID": "2", "VALUE": "ap@initech.example.com"}],
                                "UF_CRM_QB_LIST_ID": "80000001-1"},
                               now=NOW, winner="qb", winners={})  # fmt: skip
    assert again.mod is None and again.update is None and again.result.is_noop


class LosesTheModsAnswer(EditsInBetween):
    """QuickBooks that applies our first CustomerMod and then loses its answer (the Web Connector reports
    an HRESULT instead)."""

    def begin_session(self, **kw: str) -> Any:
        inner, outer = self.world.qb.begin_session(**kw), self

        class Session:
            company_file = inner.company_file

            def process(self, request_xml: str) -> str:
                if "<CustomerModRq" in request_xml and not outer.done:
                    outer.done = True
                    outer.world.qb.lose_next_response = True
                return inner.process(request_xml)

            def close(self) -> None:
                inner.close()

        return Session()


def test_a_mod_whose_answer_was_lost_is_decided_again_on_quickbooks_as_it_is_and_not_sent_twice(
    world: World,
) -> None:
    company, ret = linked_company(world, "Soylent")
    quiet(world)
    world.cloud.client().call("crm.company.update", {"id": company, "fields": {"TITLE": "Soylent Green"}})
    quiet(world)
    qb = LosesTheModsAnswer(world, ret["ListID"])
    connector(world.agent, world.home, world.password, qb).run_session()
    assert customer(world, "Soylent")["CompanyName"] == "Soylent Green"  # it landed; we were not told
    assert wait(lambda: jobs_of(world, "customer-read") == 2)  # so QuickBooks is read again …
    any_session(world)
    assert wait(lambda: queued(world) == {})
    quiet(world)
    assert jobs_of(world, "customer-mod") == 1  # … and, holding the name already, gets no second Mod
    assert world.api("GET", "/conflicts").json()["conflicts"] == []
    link = world.cloud.services.links.by_b24(world.cloud.portal.member_id, world.cloud.services.company_file(
        world.cloud.portal.member_id), "company", str(company))  # fmt: skip
    assert link is not None and '"sending"' not in (link.fingerprint or "")
