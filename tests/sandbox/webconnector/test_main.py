"""The command line: one update end to end, and clear refusals."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from sandbox.webconnector.__main__ import main
from tests.sandbox.webconnector.endpoint import Endpoint

QWC = """<?xml version="1.0"?>
<QBWCXML>
  <AppName>Bitrix24 sync</AppName><AppID></AppID><AppURL>{url}</AppURL>
  <AppDescription>Keeps Bitrix24 and QuickBooks in step</AppDescription>
  <AppSupport>{support}</AppSupport><UserName>agent</UserName>
  <OwnerID>{{57F3B9B1-86F1-4FCC-B1EE-566DE1813D20}}</OwnerID>
  <FileID>{{90A44FB5-33D9-4815-AC85-BC87A7E7D1EB}}</FileID><QBType>QBFS</QBType>
</QBWCXML>"""
FAKE = "tests.sandbox.webconnector.endpoint:FakeQuickBooks"


def write_qwc(tmp_path: Path, url: str) -> str:
    path = tmp_path / "sync.qwc"
    support = url.rsplit("/", 1)[0] + "/support"
    path.write_text(QWC.format(url=url, support=support), encoding="utf-8")
    return str(path)


def test_once_runs_one_update_and_prints_the_status(endpoint: Endpoint, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    endpoint.script("closeConnection", "Synced 1 record")
    code = main(["--qwc", write_qwc(tmp_path, endpoint.url), "--password", "pw", "--once",
                 "--quickbooks", FAKE])
    out = capsys.readouterr().out
    assert code == 0
    assert "Bitrix24 sync: ok: Synced 1 record" in out
    assert "do_authenticate(): Authentication successful" in out
    assert endpoint.ops()[-1] == "closeConnection"


def test_a_failed_update_exits_non_zero(endpoint: Endpoint, tmp_path: Path) -> None:
    endpoint.script("authenticate", ["", "nvu"])
    assert main(["--qwc", write_qwc(tmp_path, endpoint.url), "--password", "bad", "--once",
                 "--quickbooks", FAKE]) == 1


def test_a_refused_qwc_exits_2_with_the_reason(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--qwc", write_qwc(tmp_path, "http://sync.example.com/qbwc"), "--password", "pw", "--once"])
    assert code == 2
    assert "QBWC1010" in capsys.readouterr().err


def test_a_qwc_whose_support_page_cannot_be_reached_is_refused(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """PG Appendix A p.84 (QBWC1004): QBWC reaches AppSupport when the file is added; nothing listens here."""
    code = main(["--qwc", write_qwc(tmp_path, "http://localhost:9/qbwc"), "--password", "pw", "--once"])
    assert code == 2
    assert "QBWC1004" in capsys.readouterr().err


def test_without_the_quickbooks_simulator_it_says_so(endpoint: Endpoint, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "sandbox.quickbooks", None)
    monkeypatch.setitem(sys.modules, "sandbox.quickbooks.host", None)
    code = main(["--qwc", write_qwc(tmp_path, endpoint.url), "--password", "pw", "--once"])
    assert code == 2
    assert "sandbox.quickbooks" in capsys.readouterr().err


def test_the_sandbox_dispatcher_finds_the_simulator(endpoint: Endpoint, tmp_path: Path) -> None:
    from sandbox.__main__ import main as sandbox_main

    assert sandbox_main(["webconnector", "--qwc", write_qwc(tmp_path, endpoint.url), "--password", "pw",
                         "--once", "--quickbooks", FAKE]) == 0
