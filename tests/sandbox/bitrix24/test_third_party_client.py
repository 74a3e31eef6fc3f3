"""A well-known third-party client, unchanged, against the emulator: it must speak real Bitrix24."""

from __future__ import annotations

import warnings

from fast_bitrix24 import Bitrix

from .conftest import World


def client(world: World) -> Bitrix:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Bitrix(world.hook, verbose=False)


def test_fast_bitrix24_pages_batches_and_reads_by_id(world: World) -> None:
    b = client(world)
    contacts = b.get_all("crm.contact.list", params={"select": ["ID", "NAME"]})
    assert len(contacts) == 560 and len({c["ID"] for c in contacts}) == 560
    deals = b.get_by_ID("crm.deal.get", [1, 2, 3])
    assert {str(k) for k in (deals if isinstance(deals, dict) else {d["ID"]: d for d in deals})} >= {
        "1",
        "2",
        "3",
    }
    made = b.call("crm.contact.add", [{"fields": {"NAME": f"Batch {i}"}} for i in range(3)])
    assert len(made) == 3 and all(int(x) > 560 for x in made)
    back = b.get_by_ID("crm.contact.get", list(made))
    assert sorted(str(v["NAME"]) for v in (back.values() if isinstance(back, dict) else back)) == [
        "Batch 0",
        "Batch 1",
        "Batch 2",
    ]
    assert any(c.method == "batch" for c in world.emu.calls)  # it used batch, as it does on real portals
    # crm.status.list pages at 50 like every list (docs: api-reference/crm/status/crm-status-list.md)
    statuses = b.get_all("crm.status.list")
    assert len(statuses) == len(world.portal.store.statuses) > 50
