"""A re-sync decides "deleted in QuickBooks" only when QuickBooks says so (issue 19): 500 and 3120 alike
mean "not there"; any other error means "nobody knows", and then nothing is written — a document taken
for deleted would otherwise be created a second time."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from .product import Intercepted, World, a_deal, connector, settled, wait
from .test_deal_once import invoices_of


def _first_invoice(world: World, company: str) -> dict[str, Any]:
    deal = a_deal(world, company, [(1, "Labor", "55.00", "2")])
    sync = world.api("POST", f"/deals/{deal}/sync", json={}).json()["sync_id"]
    world.web_connector_runs()
    assert settled(world, sync)["state"] == "done"
    [invoice] = invoices_of(world, company)
    return {"deal": deal, **invoice}


def _preview(world: World, deal: int, host: Any) -> dict[str, Any]:
    started = world.api("POST", f"/deals/{deal}/sync", json={"preview": True})
    assert started.status_code == 202, started.text
    sync_id = started.json()["sync_id"]
    assert wait(lambda: world.agent.queue.depth()["pending"] >= 1)
    connector(world.agent, world.home, world.password, host).run_session()
    status: dict[str, Any] = {}
    assert wait(
        lambda: status.update(world.api("GET", f"/syncs/{sync_id}").json()) or status["state"] == "preview"
    ), status
    return status


def test_a_deleted_invoice_answered_with_3120_is_gone_as_with_500(world: World) -> None:
    """qbwc/qbwc test/test_helper.rb: a lookup by ListID can answer 3120/Error (the simulator's
    ``missing_lookup`` switch); the product reads it as the 500 of errata 5."""
    first = _first_invoice(world, "Wayne Enterprises")
    world.qb.process(
        '<?xml version="1.0"?><?qbxml version="13.0"?><QBXML><QBXMLMsgsRq onError="stopOnError">'
        f"<TxnDelRq><TxnDelType>Invoice</TxnDelType><TxnID>{first['TxnID']}</TxnID></TxnDelRq>"
        "</QBXMLMsgsRq></QBXML>"
    )
    world.qb.processor.missing_lookup = "3120"
    shown = _preview(world, first["deal"], world.qb)
    assert shown["detail"]["document_action"] == "create", shown["detail"]
    assert any("no longer in QuickBooks" in n for n in shown["detail"]["notes"])
    assert shown["detail"]["can_send"] is True


def lookup_fails(request_xml: str, process: Callable[[str], str]) -> str:
    """QuickBooks answering the deal's document lookup with an internal error (1000), nothing else changed."""
    return re.sub(
        r'(<InvoiceQueryRs requestID="existing-\d+") statusCode="0" statusSeverity="Info"'
        r' statusMessage="Status OK">.*?</InvoiceQueryRs>',
        r'\1 statusCode="1000" statusSeverity="Error" statusMessage="An internal error occurred."/>',
        process(request_xml),
        flags=re.S,
    )


def test_an_error_on_the_lookup_writes_nothing_rather_than_a_second_invoice(world: World) -> None:
    first = _first_invoice(world, "Oscorp")
    shown = _preview(world, first["deal"], Intercepted(world.qb, lookup_fails))
    assert shown["detail"]["can_send"] is False, shown["detail"]
    assert any("did not say whether" in p for p in shown["detail"]["problems"]), shown["detail"]
    assert len(invoices_of(world, "Oscorp")) == 1
