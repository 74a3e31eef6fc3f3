"""``discover``: what a portal holds, read the way the first sync will read it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cloud_app.cli import main
from cloud_app.discover import discover, render

from .harness import CLIENT_ID, SECRET, running_cloud


def test_discover_reports_the_seed_portal_in_a_few_calls(tmp_path: Path) -> None:
    with running_cloud(tmp_path) as cloud:
        cloud.install()
        client = cloud.client()
        report = discover(client)
        store = cloud.portal.store
        assert report.counts == {
            "contacts": 560,
            "companies": 81,
            "leads": 716,
            "deals": 74,
            "smart_invoices": 4,
            "quotes": 0,
            "activities": len(store.activities),
            "users": 41,
            "products": 8,
        }
        assert [p.name for p in report.pipelines] == ["General", "Work Orders", "Subcontractor Projects"]
        assert all(p.stages and p.stages[-1][0].endswith("LOSE") for p in report.pipelines)
        assert report.currencies[0] == "USD"
        assert ("UF_CRM_QB_LIST_ID", "string") in {(c, t) for c, t, _ in report.custom_fields["contact"]}
        # every stage of every pipeline, though crm.status.list pages at 50 and the portal has more
        deal_stages = [st for st in store.statuses if st.entity_id.startswith("DEAL_STAGE")]
        assert sum(len(p.stages) for p in report.pipelines) == len(deal_stages)
        assert len(store.statuses) > 50
        # one batch for everything, one for the statuses' second page, one for the catalogs' products
        assert client.calls == 3
        text = render(report, cloud.portal.domain)
        assert "contacts" in text and "560" in text and "Work Orders:" in text


def test_discover_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with running_cloud(tmp_path) as cloud:
        cloud.install()
        for name, value in {
            "DATABASE": cloud.config.database,
            "CLIENT_ID": CLIENT_ID,
            "CLIENT_SECRET": SECRET,
            "ENCRYPTION_KEY": cloud.config.encryption_key,
        }.items():
            monkeypatch.setenv("QBB24_" + name, value)
        assert main(["discover", cloud.portal.domain, "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["counts"]["deals"] == 74
        assert main(["discover", "nowhere.bitrix24.com"]) == 2
        assert "no installed portal" in capsys.readouterr().err
