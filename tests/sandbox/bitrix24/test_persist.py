"""A portal kept between runs: its CRM, its installed app and the tokens it issued survive a restart."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from sandbox.bitrix24 import App, Bitrix24, Clock, persist, running, seed_portal  # noqa: I001


def test_a_saved_portal_comes_back_with_its_crm_app_and_credentials(tmp_path: Path) -> None:
    emu = Bitrix24(Clock())
    portal = seed_portal(emu, "saved.bitrix24.com", scale=1)
    emu.register_app(
        App("app.1", "secret", app_url="http://127.0.0.1:9/app", installer_url="http://127.0.0.1:9/i")
    )
    hook = portal.add_webhook(portal.admin().id)
    companies = len(portal.store.records[4])
    path = tmp_path / "bitrix24.state"
    persist.save(emu, path)

    again = Bitrix24(Clock())
    persist.load(again, path)
    restored = again.portal("saved.bitrix24.com")
    assert restored.member_id == portal.member_id and len(restored.store.records[4]) == companies
    assert again.apps["app.1"].installer_url == "http://127.0.0.1:9/i"
    with running(again, 0):
        answer = requests.post(
            f"{again.client_endpoint(restored)}{portal.admin().id}/{hook}/crm.company.add.json",
            json={"fields": {"TITLE": "After the restart"}},
            timeout=10,
        )
        assert answer.status_code == 200, answer.text
        new_id = int(answer.json()["result"])
    assert new_id == companies + 1  # the ids go on where they were
    assert restored.store.records[4][new_id]["DATE_CREATE"].tzinfo is not None  # the store's clock is rebound


def test_a_file_that_is_not_a_saved_emulator_is_refused(tmp_path: Path) -> None:
    import pickle

    path = tmp_path / "other.state"
    path.write_bytes(pickle.dumps(["nope"]))
    with pytest.raises(ValueError, match="not a saved Bitrix24 emulator state"):
        persist.load(Bitrix24(Clock()), path)
