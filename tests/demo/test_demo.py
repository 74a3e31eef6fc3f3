"""The README's run command and the sync benchmark, in their reduced CI form."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
import requests

from demo.__main__ import main as demo_main
from demo.world import World

ROOT = Path(__file__).resolve().parents[2]


def test_the_demo_reaches_its_summary_with_no_errors_and_the_deal_page_has_the_action(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    pages: list[str] = []

    def keep_pages(world: World) -> None:
        original(world)
        out = capsys.readouterr().out
        print(out)
        pages.extend(re.findall(r"(http://\S+/crm/deal/details/\d+/)", out))
        pages.append(requests.get(pages[0], timeout=10).text)  # while everything still runs

    import demo.__main__ as demo

    original = demo.pages
    monkeypatch.setattr(demo, "pages", keep_pages)
    assert demo_main(["--once", "--data", str(tmp_path / "data"), "--interval", "0.5",
                      "--ports", "0,0,0,0"]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "errors: 0" in out and "customers" in out
    ports = re.search(r"Ports: Bitrix24 sandbox (\d+), cloud app (\d+), agent link \(WebSocket\) (\d+), "
                      r"agent \(Web Connector\) (\d+)\.", out)  # fmt: skip
    assert ports and all(int(p) > 0 for p in ports.groups()), out  # any free ones, and it says which
    matched = re.search(r"^customers\s+(\d+)\s", out, re.M)
    assert matched and int(matched.group(1)) >= 6, out  # the records both sides have are matched
    assert "--once: the servers have stopped" in out
    # every invoice and estimate of the sample company became a smart invoice or quote
    assert re.search(r"30 invoices, 8 estimates\s+—\s+38\s+—", out), out
    assert (tmp_path / "data" / "cloud.db").exists() and (tmp_path / "data" / "agent").is_dir()
    assert pages and "Sync to QuickBooks" in pages[-1]  # the toolbar action on the deal card
    assert "the next run resumes" in out
    before = _saved(tmp_path / "data")

    monkeypatch.setattr(demo, "pages", original)
    assert demo_main(["--once", "--data", str(tmp_path / "data"), "--interval", "0.5"]) == 0
    again = capsys.readouterr().out
    assert "Resuming the demo saved in" in again and "The first sync ran before" in again, again
    assert "errors: 0" in again
    assert "What the first sync did (in an earlier run" in again and "This run so far:" in again
    assert f"Bitrix24 sandbox {ports.group(1)}," in again  # a resumed demo keeps its ports
    assert _saved(tmp_path / "data") == before  # nothing created twice on either side by resuming


def _saved(data: Path) -> tuple[int, int, int]:
    """Companies and contacts in the saved portal, customers in the saved company file."""
    from sandbox.bitrix24 import Bitrix24, Clock
    from sandbox.bitrix24 import persist as bitrix24_state
    from sandbox.quickbooks import persist as quickbooks_state

    emu = Bitrix24(Clock())
    bitrix24_state.load(emu, data / "bitrix24.state")
    store = next(iter(emu.portals.values())).store
    qb = quickbooks_state.load(data / "quickbooks.state")
    customers = sum(1 for r in qb.company.records.values() if r.kind == "Customer")
    return len(store.records[4]), len(store.records[3]), customers


def test_the_sync_benchmark_runs_and_every_record_lands_once(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import sync as bench
    finally:
        sys.path.remove(str(ROOT / "bench"))
    out = tmp_path / "figures.json"
    assert bench.main(["--small", "--clicks", "3", "--json", str(out)]) == 0
    figures = json.loads(out.read_text())
    assert figures["problems"] == []
    initial, quiet, single, burst = figures["runs"]
    # the agent runs as its own process: its memory and CPU are measured apart from the cloud's
    assert initial["agent_peak_rss_mb"] > 10 and initial["agent_cpu_seconds"] > 0
    assert single["click_to_done_median_s"] is not None and burst["click_to_done_max_s"] is not None
    assert figures["parse"]["invoices"] == 2000
    assert [r["records"] for r in figures["parse"]["results"]] == [2000, 2000]  # streamed, then whole
    # each click: the deal, its client, the deal's fields, then its timeline comment through the write
    # journal (written once however often the answer is lost) — four requests, not one per row
    assert burst["bitrix24_requests_by_method"].get("batch", 0) <= 4 * 3
    assert initial["records_written"] > 500 and initial["web_connector_round_trips"] >= 1
    # a no-change run: one Web Connector round trip for every entity, nothing written to Bitrix24
    assert quiet["web_connector_round_trips"] == 1 and quiet["records_written"] == 0


def test_the_screenshot_script_shows_every_page(tmp_path: Path) -> None:
    from demo.screenshots import run

    shots = run(tmp_path)
    names = sorted(p.stem for p in shots)
    assert len(names) == 17 and names[0] == "01-deal-sync-preview" and names[-1] == "12-app-sync-log-narrow"
    for shot in shots:
        data = shot.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000, shot  # a drawn page, not a blank
