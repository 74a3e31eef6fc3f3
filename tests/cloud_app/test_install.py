"""Installing, re-installing and uninstalling the app on the Bitrix24 emulator, the real way."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cloud_app.install import EVENTS, PLACEMENTS, USER_FIELDS

from .harness import CLIENT_ID, Cloud, running_cloud


@pytest.fixture
def cloud(tmp_path: Path) -> Iterator[Cloud]:
    with running_cloud(tmp_path) as c:
        yield c


def test_install_binds_placements_events_and_creates_fields(cloud: Cloud) -> None:
    cloud.install()
    install = cloud.portal.installs[CLIENT_ID]
    assert {p.placement for p in install.placements} == set(PLACEMENTS)
    assert all(p.handler.startswith(cloud.url + "/b24/") for p in install.placements)
    assert {b.event for b in install.bindings if not b.offline} == set(EVENTS)
    names = {(uf.entity_id, uf.field_name) for uf in cloud.portal.store.userfields}
    assert {(f"CRM_{f.entity.upper()}", "UF_CRM_" + f.name) for f in USER_FIELDS} <= names
    stored = cloud.services.portals.portal(cloud.portal.member_id)
    assert stored is not None and stored.state == "active"
    assert stored.client_endpoint == cloud.emu.client_endpoint(cloud.portal)
    raw = cloud.services.portals.db.conn.execute("select access_token from portals").fetchone()[0]
    assert cloud.portal.installs[CLIENT_ID].application_token not in raw and len(raw) > 80  # sealed


def test_reinstalling_and_reopening_changes_nothing(cloud: Cloud) -> None:
    cloud.install()
    before = len(cloud.portal.installs[CLIENT_ID].placements), len(cloud.portal.installs[CLIENT_ID].bindings)
    fields_before = len(cloud.portal.store.userfields)
    cloud.install()  # the installer again: "Handler already binded" is success
    install = cloud.portal.installs[CLIENT_ID]
    assert (len(install.placements), len(install.bindings)) == before
    assert len(cloud.portal.store.userfields) == fields_before
    assert cloud.services.portals.portal(cloud.portal.member_id).state == "active"  # type: ignore[union-attr]
    assert cloud.emu.open_app(cloud.portal, CLIENT_ID, 1).status_code == 200


def test_uninstall_with_clean_removes_the_portals_data(cloud: Cloud) -> None:
    cloud.install()
    cloud.install(cloud.other)
    cloud.services.portals.set_setting(cloud.portal.member_id, "document", "invoice")
    cloud.services.portals.set_setting(cloud.other.member_id, "document", "estimate")
    cloud.emu.uninstall(cloud.portal, CLIENT_ID, clean=True)
    cloud.emu.wait_events()
    assert cloud.services.portals.portal(cloud.portal.member_id) is None
    assert cloud.services.portals.setting(cloud.portal.member_id, "document") is None
    assert cloud.services.portals.setting(cloud.other.member_id, "document") == "estimate"


def test_uninstall_without_clean_drops_tokens_but_keeps_data(cloud: Cloud) -> None:
    cloud.install()
    cloud.services.portals.set_setting(cloud.portal.member_id, "document", "invoice")
    cloud.emu.uninstall(cloud.portal, CLIENT_ID, clean=False)
    cloud.emu.wait_events()
    assert cloud.services.portals.credentials(cloud.portal.member_id) is None
    assert cloud.services.portals.portal(cloud.portal.member_id).state == "uninstalled"  # type: ignore[union-attr]
    assert cloud.services.portals.setting(cloud.portal.member_id, "document") == "invoice"


def test_install_sets_everything_up_in_two_batches(cloud: Cloud) -> None:
    """A batch counts once against the portal's bucket: setup costs two requests, whatever it binds."""
    cloud.install()
    outer = [c.method for c in cloud.emu.calls if c.member_id == cloud.portal.member_id and not c.in_batch]
    assert outer.count("batch") == 2 and set(outer) <= {"batch", "app.info", "user.admin"}, outer


def test_the_fields_a_phone_shows_are_created_once_as_built_in_types_in_both_languages(cloud: Cloud) -> None:
    """The mobile CRM card drops app-registered field types (bitrix-tools/b24-rest-docs #280): the
    balance, overdue amount and last payment of a company or contact are built-in ``money``/``string``
    fields, labelled in English and Russian (``crm.company.userfield.add`` takes a label per language)."""
    cloud.install()
    made = {
        (c.params["fields"]["FIELD_NAME"], c.method): c.params["fields"]
        for c in cloud.emu.calls
        if c.method.endswith(".userfield.add") and c.status == 200
    }
    for entity in ("company", "contact"):
        overdue = made[("QB_OVERDUE", f"crm.{entity}.userfield.add")]
        paid = made[("QB_LAST_PAYMENT", f"crm.{entity}.userfield.add")]
        assert (overdue["USER_TYPE_ID"], paid["USER_TYPE_ID"]) == ("money", "string")
        assert overdue["EDIT_FORM_LABEL"] == {"en": "QuickBooks overdue", "ru": "Просрочено в QuickBooks"}
        assert paid["LIST_COLUMN_LABEL"]["ru"] == "Последний платёж в QuickBooks"
    assert {(uf.entity_id, uf.field_name) for uf in cloud.portal.store.userfields} >= {
        ("CRM_COMPANY", "UF_CRM_QB_OVERDUE"), ("CRM_CONTACT", "UF_CRM_QB_LAST_PAYMENT"),
        ("CRM_DEAL", "UF_CRM_QB_DOC"), ("CRM_DEAL", "UF_CRM_QB_STATUS"),
    }  # fmt: skip
    count = len(cloud.portal.store.userfields)
    added = sum(1 for c in cloud.emu.calls if c.method.endswith(".userfield.add"))
    cloud.install()  # re-install: the fields are found, none is added again
    assert len(cloud.portal.store.userfields) == count
    assert sum(1 for c in cloud.emu.calls if c.method.endswith(".userfield.add")) == added
