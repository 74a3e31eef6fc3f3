"""The sales rep settings are chosen from what QuickBooks has, read live; an unknown one is refused with a
plain reason in the page's language; a rep removed in QuickBooks later does not break every sync."""

from __future__ import annotations

from typing import Any

from .product import World, a_deal, settled, wait


def _reps(world: World, **params: str) -> dict[str, Any]:
    return world.api("GET", "/sales-reps", params=params).json()


def test_the_default_sales_rep_is_chosen_from_quickbooks_and_nothing_else_is_saved(world: World) -> None:
    assert _reps(world) == {"reps": [], "read_at": None, "reading": False, "initials": {}}
    unread = world.api("POST", "/settings", json={"salesrep.default": "80000001-1234567890"})
    assert unread.status_code == 400 and "not been read from QuickBooks" in unread.text
    assert _reps(world, auto="1")["reading"] is True  # opening the settings asks QuickBooks
    assert _reps(world, auto="1")["reading"] is True  # once: one read waits at a time
    world.web_connector_runs()
    assert wait(lambda: not _reps(world)["reading"])
    shown = _reps(world)
    assert shown["read_at"] is not None
    by_initial = {r["initial"]: r for r in shown["reps"]}
    assert {"GS", "DM", "EM"} <= set(by_initial) and by_initial["GS"]["name"]  # initials and names
    assert _reps(world, auto="1")["reading"] is False  # just read: opening again asks nothing

    wrong = world.api("POST", "/settings", json={"salesrep.default": "Dave"})
    assert wrong.status_code == 400 and "QuickBooks has no sales rep “Dave”" in wrong.text
    russian = world.api("POST", "/settings", json={"salesrep.default": "Dave"}, headers={"X-Lang": "ru"})
    assert russian.status_code == 400 and "В QuickBooks нет менеджера «Dave»" in russian.text
    person = world.api("POST", "/settings", json={"salesrep.users": {"1": "not-a-rep"}})
    assert person.status_code == 400 and "not-a-rep" in person.text
    assert world.api("GET", "/settings").json()["settings"]["salesrep.default"] is None  # nothing saved

    dm = by_initial["DM"]["list_id"]
    assert world.api("POST", "/settings", json={"salesrep.default": dm}).status_code == 200
    assert world.api("POST", "/settings", json={"salesrep.default": None}).status_code == 200  # none


def _qb(world: World, body: str) -> str:
    return world.qb.process(
        '<?xml version="1.0"?><?qbxml version="13.0"?><QBXML><QBXMLMsgsRq onError="stopOnError">'
        f"{body}</QBXMLMsgsRq></QBXML>"
    )


def test_a_sales_rep_removed_in_quickbooks_is_left_off_and_the_preview_says_so(world: World) -> None:
    _qb(world, "<OtherNameAddRq><OtherNameAdd><Name>Temp Helper</Name></OtherNameAdd></OtherNameAddRq>"
        "<SalesRepAddRq><SalesRepAdd><Initial>TH</Initial><SalesRepEntityRef><FullName>Temp Helper"
        "</FullName></SalesRepEntityRef></SalesRepAdd></SalesRepAddRq>")  # fmt: skip
    world.api("GET", "/sales-reps", params={"auto": "1"})
    world.web_connector_runs()
    assert wait(lambda: bool(_reps(world)["reps"]))
    th = next(r["list_id"] for r in _reps(world)["reps"] if r["initial"] == "TH")
    assert world.api("POST", "/settings", json={"salesrep.default": th}).status_code == 200
    gone = _qb(world, f"<ListDelRq><ListDelType>SalesRep</ListDelType><ListID>{th}</ListID></ListDelRq>")
    assert 'statusCode="0"' in gone  # the bookkeeper deleted that rep in QuickBooks
    deal = a_deal(world, "Repless Roofing", [(1, "Labor", "55.00", "1")])
    preview = world.api("POST", f"/deals/{deal}/sync", json={"preview": True}).json()["sync_id"]
    world.web_connector_runs()
    status: dict[str, Any] = {}
    assert wait(
        lambda: status.update(world.api("GET", f"/syncs/{preview}").json()) or status["state"] == "preview"
    )
    assert status["detail"]["can_send"] is True and status["detail"]["sales_rep"] is None, status["detail"]
    assert any("“TH” is no longer in QuickBooks" in n for n in status["detail"]["notes"]), status["detail"]
    assert world.api("POST", f"/syncs/{preview}/confirm", json={}).status_code == 202
    world.web_connector_runs()
    done = settled(world, preview)
    assert done["state"] == "done", done
    txn = world.cloud.client().call("crm.deal.get", {"id": deal})["UF_CRM_QB_TXN_ID"]
    invoice = world.qb_query(f"<InvoiceQueryRq><TxnID>{txn}</TxnID></InvoiceQueryRq>")[0]
    assert invoice.get("SalesRepRef") is None
    # the settings page no longer offers it, and the stale choice can be kept or cleared, not re-chosen
    assert th not in {r["list_id"] for r in _reps(world)["reps"]}
    assert world.api("POST", "/settings", json={"salesrep.default": th}).status_code == 200  # unchanged
    assert world.api("POST", "/settings", json={"salesrep.default": None}).status_code == 200
    assert world.api("POST", "/settings", json={"salesrep.default": th}).status_code == 400
