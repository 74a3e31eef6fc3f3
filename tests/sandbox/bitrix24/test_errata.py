"""The corrections at the top of ``../shared/specs/bitrix24-platform.md`` — each quirk as the emulator
reproduces it, with the source that says so (docs paths are in ``bitrix24/b24restdocs``)."""

from __future__ import annotations

from typing import Any

from .conftest import World


def _batch(world: World, cmd: dict[str, str], token: str | None = None, **outer: Any) -> dict[str, Any]:
    if token is None:
        body = world.call("batch", {"cmd": cmd, **outer}, hook=True)
    else:
        body = world.call("batch", {"cmd": cmd, **outer}, token=token)
    assert body.status_code == 200, body.text
    return dict(body.json()["result"])


def _sub_params(world: World, method: str) -> dict[str, Any]:
    """What the last sub-command calling ``method`` received once its references were substituted."""
    return next(c.params for c in reversed(world.emu.calls) if c.method == method and c.in_batch)


def test_catalog_product_add_and_update_answer_element_and_get_answers_product(world: World) -> None:
    """docs: api-reference/catalog/product/catalog-product-add.md and catalog-product-update.md show
    ``{"result": {"element": {…}}}``; catalog-product-get.md shows ``{"result": {"product": {…}}}``
    (the PHP SDK's ProductResult.php carries a "fix for catalog.product.add" for the same reason)."""
    made = world.call("catalog.product.add", {"fields": {"iblockId": 23, "name": "Gasket"}}, hook=True).json()
    assert set(made["result"]) == {"element"} and made["result"]["element"]["name"] == "Gasket"
    pid = made["result"]["element"]["id"]
    changed = world.call(
        "catalog.product.update", {"id": pid, "fields": {"name": "Gasket, large"}}, hook=True
    ).json()
    assert set(changed["result"]) == {"element"} and changed["result"]["element"]["name"] == "Gasket, large"
    got = world.call("catalog.product.get", {"id": pid}, hook=True).json()
    assert set(got["result"]) == {"product"} and got["result"]["product"]["id"] == pid


def test_crm_status_list_pages_at_50_with_total_and_next(world: World) -> None:
    """docs: api-reference/crm/status/crm-status-list.md — the example answer carries ``total``, and the
    page's own note: "crm.status.list returns a single page (max 50 records)"; ``start`` moves on."""
    everything = len(world.portal.store.statuses)
    assert everything > 50  # a portal's directories and stages together, as on a fresh real portal
    first = world.call("crm.status.list", {"order": {"SORT": "ASC"}}, hook=True).json()
    assert len(first["result"]) == 50 and first["total"] == everything and first["next"] == 50
    rest = world.call("crm.status.list", {"order": {"SORT": "ASC"}, "start": 50}, hook=True).json()
    assert len(rest["result"]) == everything - 50 and "next" not in rest
    ids = [r["ID"] for r in first["result"] + rest["result"]]
    assert len(set(ids)) == everything
    sorts = [int(r["SORT"]) for r in first["result"] + rest["result"]]
    assert sorts == sorted(sorts)  # the order holds across pages
    only = world.call("crm.status.list", {"filter": {"ENTITY_ID": "SMART_INVOICE_STAGE_0"}}, hook=True).json()
    assert only["total"] == 4 and "next" not in only  # or ask for one directory


def test_auth_connector_is_read_from_the_outer_request_not_from_a_sub_command(world: World) -> None:
    """``../shared/specs/bitrix24-platform.md`` errata 3 (:33): sub-calls of a batch inherit the outer
    request's auth and settings, ``auth_connector`` included (as its source, Bitrix24's server code —
    ``CRestProvider::methodsBatch``, ``ProviderOffline::getServerAuthData`` — reads; no doc page says it:
    docs settings/how-to-call-rest-api/batch.md is silent). A connector written inside a sub-command marks
    nothing: the write is queued for the connector like anyone's; one on the batch request itself is not."""
    world.portal.plan = "enterprise"
    token = world.installed()
    bind = {"event": "ONCRMDEALUPDATE", "event_type": "offline", "auth_connector": "qb"}
    assert world.call("event.bind", bind, token=token).json()["result"] is True

    def queued() -> int:
        return int(world.call("event.offline.list", {"auth_connector": "qb"}, token=token).json()["total"])

    _batch(world, {"w": "crm.deal.update?id=5&fields[TITLE]=inside&auth_connector=qb"}, token)
    assert queued() == 1  # the connector inside the command was not read: our write came back
    assert [c.connector for c in world.emu.calls if c.method == "crm.deal.update"][-1] is None
    _batch(world, {"w": "crm.deal.update?id=6&fields[TITLE]=outside"}, token, auth_connector="qb")
    assert queued() == 1  # on the batch request: the sub-command inherits it, nothing is queued
    assert [c.connector for c in world.emu.calls if c.method == "crm.deal.update"][-1] == "qb"
    plain = {"id": 7, "fields": {"TITLE": "plain"}, "auth_connector": "qb"}
    world.call("crm.deal.update", plain, token=token)
    assert queued() == 1  # a plain call's own auth_connector is its request's: read


def test_a_reference_that_reaches_nothing_is_substituted_as_what_it_reached(world: World) -> None:
    """``$result[request_id][response_field]``, a list's row by index (docs
    settings/how-to-call-rest-api/batch.md, "Subqueries are executed sequentially…" and
    ``$result[user_by_name][0][ID]``); a reference that is the whole value becomes what it reached (here the
    empty list ``req`` answered): ``../shared/specs/bitrix24-platform.md`` errata 4 (:36, from
    ``CRestUtil::processBatchElement``).
    UNCONFIRMED (no doc says it): one inside a longer text is replaced only by a number or text and
    otherwise left as written."""
    out = _batch(
        world,
        {
            "req": "crm.requisite.list?filter[ENTITY_TYPE_ID]=4&filter[ENTITY_ID]=999999",
            "addr": "crm.address.list?filter[ENTITY_TYPE_ID]=8&filter[ENTITY_ID]=$result[req][0][ID]",
            "first": "crm.deal.list?order[ID]=ASC&select[]=ID&start=-1",
            "text": "crm.deal.list?filter[%TITLE]=No $result[req][0][ID] here"
            "&filter[>ID]=$result[first][0][ID]",
        },
    )
    assert out["result"]["req"] == []
    assert _sub_params(world, "crm.address.list")["filter"]["ENTITY_ID"] == []  # the empty list itself
    # the address list took the empty array as no condition: every requisite's address came back
    assert len(out["result"]["addr"]) == min(50, len(world.portal.addresses)) > 0
    text = _sub_params(world, "crm.deal.list")["filter"]
    assert text["%TITLE"] == "No $result[req][0][ID] here"  # an array inside text: left as written
    assert text[">ID"] == str(out["result"]["first"][0]["ID"])  # a number: substituted as text


def test_the_empty_array_switch_can_make_such_a_filter_match_nothing(world: World) -> None:
    """What a CRM list does with ``ENTITY_ID => []`` is not documented (docs:
    api-reference/crm/requisites/addresses/crm-address-list.md says nothing of it): a switch,
    ``Settings.empty_array_filter``, defaulting to the stricter "ignored" (tested above)."""
    world.emu.settings.empty_array_filter = "nothing"
    out = _batch(
        world,
        {
            "req": "crm.requisite.list?filter[ENTITY_TYPE_ID]=4&filter[ENTITY_ID]=999999",
            "addr": "crm.address.list?filter[ENTITY_TYPE_ID]=8&filter[ENTITY_ID]=$result[req][0][ID]",
        },
    )
    assert out["result"]["addr"] == []


def test_references_reach_total_next_and_error_and_stop_at_the_first_missing_step(world: World) -> None:
    """UNCONFIRMED (docs settings/how-to-call-rest-api/batch.md documents only ``$result[…]``; the rest is
    read from Bitrix24's server code, ``CRestProvider::methodsBatch`` / ``processBatchElement``, which no
    spec line records): ``$next[…]``, ``$total[…]`` and ``$error[…]`` reach a command's ``result_next``,
    ``result_total`` and ``result_error`` (which batch.md does document); a missing step leaves what was
    reached so far (the whole answer of ``one``)."""
    _batch(
        world,
        {
            "page": "crm.contact.list?select[]=ID",
            "bad": "crm.deal.get?id=999999",
            "one": "crm.deal.get?id=1",
            "use": "crm.deal.list?filter[>ID]=$next[page]&filter[<ID]=$total[page]"
            "&filter[TITLE]=$error[bad][error_description]&filter[COMMENTS]=$result[one][NO_SUCH][X]",
        },
    )
    got = _sub_params(world, "crm.deal.list")["filter"]
    assert got[">ID"] == 50 and got["<ID"] == 560 and got["TITLE"] == "Not found"
    assert isinstance(got["COMMENTS"], dict) and str(got["COMMENTS"]["ID"]) == "1"


def test_batch_tries_a_method_name_lowercased(world: World) -> None:
    """The official Python SDK sends ``crm.contact.List`` inside its fast list
    (b24pysdk/api/callers/call_list_fast.py), so a batch must take it. UNCONFIRMED by any doc that the
    server lowercases the name (docs settings/how-to-call-rest-api/batch.md is silent; Bitrix24's server
    code ``CRestProvider::methodsBatch`` says "try lowercase first, then original")."""
    out = _batch(world, {"a": "crm.contact.List?select[]=ID&start=-1"})
    assert len(out["result"]["a"]) == 50 and out["result_error"] == []
