"""The .qwc reader refuses what the real Web Connector refuses, and reads what it keeps."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from sandbox.webconnector.qwc import QwcError, add_application, read_qwc

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


def with_urls(app_url: str, support: str) -> str:
    text = with_("https://sync.example.com/qbwc", app_url)
    return text.replace("https://sync.example.com/support", support)


@pytest.mark.parametrize(("url", "support"), [
    ("http://localhost:8765/qbwc", "http://localhost:8765/support"),
    ("https://localhost/qbwc", "http://localhost:8765/support"),
    ("https://sync.example.com/qbwc", "https://sync.example.com/help"),
])
def test_https_or_localhost_on_one_domain_is_accepted(url: str, support: str) -> None:
    """PG Table 4-1 (p.35): https, or http on localhost; AppURL and AppSupport on one domain."""
    qwc = read_qwc(with_urls(url, support))
    assert (qwc.app_url, qwc.app_support) == (url, support)


@pytest.mark.parametrize(("url", "support", "code"), [
    ("http://sync.example.com/qbwc", "https://sync.example.com/support", "QBWC1010"),
    ("http://192.168.1.5/qbwc", "https://sync.example.com/support", "QBWC1001"),
    ("http://127.0.0.1:8765/qbwc", "http://localhost:8765/support", "QBWC1001"),
    ("https://[::1]/qbwc", "http://localhost:8765/support", "QBWC1001"),
    ("http://localhost:8765/qbwc", "http://127.0.0.1:8765/support", "QBWC1002"),
    ("https://sync.example.com/qbwc", "https://support.example.org/help", "QBWC1000"),
    ("http://localhost:8765/qbwc", "https://sync.example.com/support", "QBWC1000"),
])
def test_the_web_connectors_own_refusals(url: str, support: str, code: str) -> None:
    """PG Appendix A (p.83–87): QBWC1000 domains differ, QBWC1001/1002 an IP-address host (127.0.0.1 too;
    only the name localhost is allowed), QBWC1010 http off localhost."""
    with pytest.raises(QwcError) as caught:
        read_qwc(with_urls(url, support))
    assert caught.value.code == code
    assert "Bitrix24 sync" in str(caught.value)


@pytest.mark.parametrize("url", ["ftp://localhost/qbwc", "sync.example.com/qbwc"])
def test_a_url_that_is_not_http_is_refused(url: str) -> None:
    with pytest.raises(QwcError, match="AppURL"):
        read_qwc(with_("https://sync.example.com/qbwc", url))


def test_adding_the_file_reaches_the_support_page() -> None:
    """PG p.84: QBWC1003 when AppSupport answers neither 200 nor 202, QBWC1004 when reaching it raises."""
    asked: list[str] = []

    def support(url: str) -> int:
        asked.append(url)
        return 202

    assert add_application(GOOD, fetch=support).app_name == "Bitrix24 sync"
    assert asked == ["https://sync.example.com/support"]
    with pytest.raises(QwcError) as refused:
        add_application(GOOD, fetch=lambda url: 404)
    assert refused.value.code == "QBWC1003"

    def unreachable(url: str) -> int:
        raise OSError("connection refused")

    with pytest.raises(QwcError) as failed:
        add_application(GOOD, fetch=unreachable)
    assert failed.value.code == "QBWC1004"


def test_with_both_intervals_the_first_in_the_file_wins() -> None:
    """PG p.37–38: "the web connector will simply pick the first one in the QWC and use that one"."""
    both = with_("<RunEveryNMinutes>5</RunEveryNMinutes>",
                 "<RunEveryNSeconds>45</RunEveryNSeconds><RunEveryNMinutes>5</RunEveryNMinutes>")
    assert read_qwc(both).run_every == timedelta(seconds=45)
    assert read_qwc(GOOD).run_every == timedelta(minutes=5)


@pytest.mark.parametrize("element", ["AppName", "AppID", "AppURL", "AppDescription", "AppSupport", "UserName",
                                     "OwnerID", "FileID", "QBType"])
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
