"""Reconciliation: what Bitrix24 changed but never told us about becomes an event, once."""

from __future__ import annotations

from pathlib import Path

from cloud_app.reconcile import Reconciler, reconcile

from .harness import running_cloud


def test_changes_whose_events_were_lost_are_found_once(tmp_path: Path) -> None:
    with running_cloud(tmp_path) as cloud:
        cloud.install()
        cloud.install(cloud.other)
        store, member = cloud.services.portals, cloud.portal.member_id
        client = cloud.client()
        cloud.emu.clock.advance(3600)  # the seed is an hour old when the app first looks
        assert reconcile(client, store, member) == dict.fromkeys(
            ("contact", "company", "deal", "smart_invoice"), 0
        )
        cloud.emu.clock.advance(60)
        cloud.emu.settings.drop_events = 3  # Bitrix24 sends once and never again
        contact = client.call("crm.contact.add", {"fields": {"NAME": "Lost", "LAST_NAME": "Event"}})
        client.call("crm.deal.update", {"id": 5, "fields": {"TITLE": "Renamed quietly"}})
        client.call("crm.item.update", {"entityTypeId": 31, "id": 2, "fields": {"title": "SI quietly"}})
        cloud.emu.wait_events()
        assert store.events(member) == []
        found = reconcile(client, store, member)
        assert found == {"contact": 1, "company": 0, "deal": 1, "smart_invoice": 1}
        events = {(e["event"], e["object_id"]) for e in store.events(member)}
        assert events == {
            ("ONCRMCONTACTUPDATE", str(contact)),
            ("ONCRMDEALUPDATE", "5"),
            ("ONCRMDYNAMICITEMUPDATE", "2"),
        }
        cloud.emu.clock.advance(60)
        assert (
            sum(reconcile(client, store, member).values()) == 0
        )  # the overlap finds them again: stored once
        assert store.events(cloud.other.member_id) == []


def test_one_portals_trouble_does_not_stop_the_others(tmp_path: Path) -> None:
    with running_cloud(tmp_path) as cloud:
        cloud.install()
        cloud.install(cloud.other)
        services = cloud.services
        reconciler = Reconciler(services.portals, services.client, 15)
        first = reconciler.run_once()
        assert set(first) == {cloud.portal.member_id, cloud.other.member_id}
        cloud.emu.uninstall(cloud.other, "app.66ba434d853c87.18550109")  # tokens die; the event is lost
        cloud.emu.settings.drop_events = 0
        services.portals.activate(cloud.other.member_id)
        again = reconciler.run_once()
        assert cloud.portal.member_id in again and cloud.other.member_id not in again
