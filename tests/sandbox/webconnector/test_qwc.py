"""The .qwc reader refuses what the real Web Connector refuses, and reads what it keeps."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from sandbox.webconnector.qwc import QwcError, read_qwc

GOOD = """<?xml version="1.0"?>
<QBWCXML>
  <AppName>Bitrix24 sync</AppName>
  <AppID></AppID>
  <AppURL>https://sync.example.com/qbwc</AppURL>
  <AppDescription>Keeps Bitrix24 and QuickBooks in step</AppDescription>
  <AppSupport>https://sync.example.com/support</AppSupport>
  <UserName>agent</UserName>
  <OwnerID>{57F3B9B1-86F1-4FCC-B1EE-566DE1813D20}</OwnerID>
  <FileID>{90A44FB5-33D9-4815-AC85-BC87A7E7D1EB}</FileID>
  <QBType>QBFS</QBType>
  <Scheduler><RunEveryNMinutes>5</RunEveryNMinutes></Scheduler>
  <IsReadOnly>false</IsReadOnly>
  <PersonalDataPref>pdpNotNeeded</PersonalDataPref>
  <UnattendedModePref>umpRequired</UnattendedModePref>
</QBWCXML>
"""


def with_(old: str, new: str) -> str:
    assert old in GOOD
    return GOOD.replace(old, new)


def test_a_complete_file_is_read_field_by_field() -> None:
    qwc = read_qwc(GOOD)
    assert qwc.app_name == "Bitrix24 sync"
    assert qwc.app_id == ""
    assert qwc.app_url == "https://sync.example.com/qbwc"
    assert qwc.app_description == "Keeps Bitrix24 and QuickBooks in step"
    assert qwc.app_support == "https://sync.example.com/support"
    assert qwc.user_name == "agent"
    assert qwc.owner_id == "{57F3B9B1-86F1-4FCC-B1EE-566DE1813D20}"
    assert qwc.file_id == "{90A44FB5-33D9-4815-AC85-BC87A7E7D1EB}"
    assert qwc.qb_type == "QBFS"
    assert qwc.run_every == timedelta(minutes=5)
    assert qwc.is_read_only is False
    assert qwc.personal_data_pref == "pdpNotNeeded"
    assert qwc.unattended_mode_pref == "umpRequired"


def test_a_file_on_disk_is_read_by_path(tmp_path: Path) -> None:
    path = tmp_path / "sync.qwc"
    path.write_text(GOOD, encoding="utf-8")
    assert read_qwc(path) == read_qwc(str(path)) == read_qwc(GOOD)


def test_run_every_n_seconds_and_no_scheduler() -> None:
    seconds = with_("<RunEveryNMinutes>5</RunEveryNMinutes>", "<RunEveryNSeconds>45</RunEveryNSeconds>")
    assert read_qwc(seconds).run_every == timedelta(seconds=45)
    unscheduled = with_("<Scheduler><RunEveryNMinutes>5</RunEveryNMinutes></Scheduler>", "")
    assert read_qwc(unscheduled).run_every is None


@pytest.mark.parametrize("url", ["http://localhost:8765/qbwc", "http://127.0.0.1:8765/qbwc",
                                 "https://sync.example.com/qbwc", "https://localhost/qbwc"])
def test_https_or_a_local_host_is_accepted(url: str) -> None:
    assert read_qwc(with_("https://sync.example.com/qbwc", url)).app_url == url


@pytest.mark.parametrize("url", ["http://sync.example.com/qbwc", "http://192.168.1.5/qbwc",
                                 "ftp://localhost/qbwc", "sync.example.com/qbwc"])
def test_plain_http_off_the_machine_is_refused(url: str) -> None:
    with pytest.raises(QwcError, match="AppURL.*https"):
        read_qwc(with_("https://sync.example.com/qbwc", url))


@pytest.mark.parametrize("element", ["AppName", "AppID", "AppURL", "AppSupport", "UserName", "OwnerID",
                                     "FileID"])
def test_a_missing_required_element_is_named(element: str) -> None:
    lines = [line for line in GOOD.splitlines() if f"<{element}>" not in line]
    with pytest.raises(QwcError, match=element):
        read_qwc("\n".join(lines))


@pytest.mark.parametrize("guid", ["57F3B9B1-86F1-4FCC-B1EE-566DE1813D20",
                                  "{57F3B9B1-86F1-4FCC-B1EE-566DE1813D2}",
                                  "{57F3B9B1-86F1-4FCC-B1EE-566DE1813DZ0}", "{not a guid}", ""])
def test_a_bad_owner_id_is_refused(guid: str) -> None:
    with pytest.raises(QwcError, match="OwnerID"):
        read_qwc(with_("{57F3B9B1-86F1-4FCC-B1EE-566DE1813D20}", guid))


def test_a_bad_file_id_is_refused() -> None:
    with pytest.raises(QwcError, match="FileID"):
        read_qwc(with_("{90A44FB5-33D9-4815-AC85-BC87A7E7D1EB}", "90A44FB5"))


@pytest.mark.parametrize(("old", "new", "element"), [
    ("<QBType>QBFS</QBType>", "<QBType>QBOE</QBType>", "QBType"),
    ("<IsReadOnly>false</IsReadOnly>", "<IsReadOnly>maybe</IsReadOnly>", "IsReadOnly"),
    ("<RunEveryNMinutes>5</RunEveryNMinutes>", "<RunEveryNMinutes>five</RunEveryNMinutes>",
     "RunEveryNMinutes"),
    ("pdpNotNeeded", "pdpSometimes", "PersonalDataPref"),
])
def test_bad_values_are_refused_with_the_element_name(old: str, new: str, element: str) -> None:
    with pytest.raises(QwcError, match=element):
        read_qwc(with_(old, new))


def test_not_xml_and_a_missing_file_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(QwcError, match="well-formed"):
        read_qwc("<QBWCXML><AppName>x</QBWCXML>")
    with pytest.raises(QwcError, match="cannot read"):
        read_qwc(tmp_path / "absent.qwc")
