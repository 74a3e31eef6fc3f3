"""One update session against a real endpoint on 127.0.0.1: call order and every return value of §2."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sandbox.qbport import ConnectionFailed, RequestFailed
from sandbox.webconnector.connector import WebConnector
from tests.sandbox.webconnector.endpoint import (
    CANNED_REQUEST,
    CANNED_RESPONSE,
    FILE,
    Endpoint,
    FakeQuickBooks,
    Fault,
    Slow,
    qwc_for,
)

OTHER_FILE = "C:\\Company Files\\Other.qbw"


def connector(endpoint: Endpoint, quickbooks: FakeQuickBooks, **options: object) -> WebConnector:
    options.setdefault("noop_pause", 0)
    return WebConnector(qwc_for(endpoint), "s3cret", quickbooks, **options)  # type: ignore[arg-type]


def test_a_normal_session_calls_in_the_order_of_the_contract(endpoint: Endpoint,
                                                             quickbooks: FakeQuickBooks) -> None:
    endpoint.script("receiveResponseXML", 50, 100)
    endpoint.script("closeConnection", "Synced 2 records")
    report = connector(endpoint, quickbooks).run_session()
    assert endpoint.ops() == ["serverVersion", "clientVersion", "authenticate", "sendRequestXML",
                              "receiveResponseXML", "sendRequestXML", "receiveResponseXML", "closeConnection"]
    assert report.outcome == "ok"
    assert report.status == "Synced 2 records"
    assert report.percents == (50, 100)
    assert report.round_trips == 2
    assert report.calls == tuple(endpoint.ops())
    assert report.server_version == "endpoint 1.0"
    assert quickbooks.requests[1:] == [CANNED_REQUEST, CANNED_REQUEST]
    assert quickbooks.closed == 1
    assert endpoint.of("clientVersion")[0].params == (("strVersion", "2.3.0.215"),)
    assert endpoint.of("authenticate")[0].params == (("strUserName", "agent"), ("strPassword", "s3cret"))
    assert all(call.param("ticket") == "TICKET-1" for call in endpoint.calls[3:])


def test_the_envelope_is_shaped_like_the_dotnet_client(endpoint: Endpoint,
                                                       quickbooks: FakeQuickBooks) -> None:
    endpoint.script("authenticate", ["", "nvu"])
    WebConnector(qwc_for(endpoint), "a<b&c", quickbooks).run_session()
    call = endpoint.of("authenticate")[0]
    assert call.headers["SOAPAction"] == '"http://developer.intuit.com/authenticate"'
    assert call.headers["Content-Type"] == "text/xml; charset=utf-8"
    assert call.body.decode() == (
        '<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"'
        ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema">'
        '<soap:Body><authenticate xmlns="http://developer.intuit.com/"><strUserName>agent</strUserName>'
        "<strPassword>a&lt;b&amp;c</strPassword></authenticate></soap:Body></soap:Envelope>"
    )
    assert call.param("strPassword") == "a<b&c"


def test_hcp_response_goes_with_the_first_send_request_only(endpoint: Endpoint,
                                                            quickbooks: FakeQuickBooks) -> None:
    endpoint.script("receiveResponseXML", 30, 100)
    connector(endpoint, quickbooks).run_session()
    first, second = endpoint.of("sendRequestXML")
    assert [name for name, _ in first.params] == ["ticket", "strHCPResponse", "strCompanyFileName",
                                                  "qbXMLCountry", "qbXMLMajorVers", "qbXMLMinorVers"]
    hcp = first.param("strHCPResponse")
    assert "<HostQueryRs" in hcp and "<CompanyQueryRs" in hcp and "<PreferencesQueryRs" in hcp
    assert second.param("strHCPResponse") == ""
    for call in (first, second):
        assert call.param("strCompanyFileName") == quickbooks.open_file
        assert call.param("qbXMLCountry") == "US"
        assert (call.param("qbXMLMajorVers"), call.param("qbXMLMinorVers")) == ("16", "0")
    host_query = quickbooks.requests[0]
    assert host_query.count("<QBXML>") == 1
    assert "<?qbxml version=" in host_query
    assert all(f"<{rq}" in host_query for rq in ("HostQueryRq", "CompanyQueryRq", "PreferencesQueryRq"))


def test_qbxml_version_is_the_highest_quickbooks_supports(endpoint: Endpoint) -> None:
    quickbooks = FakeQuickBooks(versions=["1.0", "2.0", "13.0", "12.1", "CA13.0"])
    connector(endpoint, quickbooks).run_session()
    call = endpoint.of("sendRequestXML")[0]
    assert (call.param("qbXMLMajorVers"), call.param("qbXMLMinorVers")) == ("13", "0")


@pytest.mark.parametrize("flag", ["none", "nvu", "busy"])
def test_none_nvu_busy_stop_before_quickbooks_is_opened(endpoint: Endpoint, quickbooks: FakeQuickBooks,
                                                        flag: str) -> None:
    """PG p.21: after "none" or "nvu" QBWC "will display a message, call closeConnection, and stop"."""
    endpoint.script("authenticate", ["TICKET-1", flag])
    report = connector(endpoint, quickbooks).run_session()
    closing = ["closeConnection"] if flag in ("none", "nvu") else []
    assert endpoint.ops() == ["serverVersion", "clientVersion", "authenticate", *closing]
    assert report.outcome == flag
    assert report.status
    assert quickbooks.opened == []


def test_server_given_wait_and_run_every_are_reported(endpoint: Endpoint, quickbooks: FakeQuickBooks) -> None:
    endpoint.script("authenticate", ["TICKET-1", "busy", "120", "900"])
    report = connector(endpoint, quickbooks).run_session()
    assert report.wait_before_next == timedelta(seconds=120)
    assert report.run_every == timedelta(seconds=900)


def test_wait_values_are_absent_when_the_server_gives_none(endpoint: Endpoint,
                                                           quickbooks: FakeQuickBooks) -> None:
    report = connector(endpoint, quickbooks).run_session()
    assert (report.wait_before_next, report.run_every) == (None, None)


def test_success_is_an_empty_hresult_and_failure_an_empty_response(endpoint: Endpoint,
                                                                   quickbooks: FakeQuickBooks) -> None:
    parse_error = RequestFailed("0x80040400", "QuickBooks found an error when parsing")
    quickbooks.process_failures = [None, parse_error]
    endpoint.script("receiveResponseXML", 50, 100)
    report = connector(endpoint, quickbooks).run_session()
    ok, failed = endpoint.of("receiveResponseXML")
    assert ok.params == (("ticket", "TICKET-1"), ("response", CANNED_RESPONSE), ("hresult", ""),
                         ("message", ""))
    assert failed.params == (("ticket", "TICKET-1"), ("response", ""), ("hresult", "0x80040400"),
                             ("message", "QuickBooks found an error when parsing"))
    assert report.outcome == "ok"


def test_connection_error_done_stops(endpoint: Endpoint, quickbooks: FakeQuickBooks) -> None:
    quickbooks.begin_failures = [ConnectionFailed("0x80040408", "Could not start QuickBooks")]
    report = connector(endpoint, quickbooks).run_session()
    assert endpoint.ops() == ["serverVersion", "clientVersion", "authenticate", "connectionError"]
    assert endpoint.of("connectionError")[0].params == (("ticket", "TICKET-1"), ("hresult", "0x80040408"),
                                                        ("message", "Could not start QuickBooks"))
    assert report.outcome == "connection_error"
    assert "Could not start QuickBooks" in report.status
    assert quickbooks.closed == 0


def test_connection_error_path_retries_once_with_that_file(endpoint: Endpoint,
                                                           quickbooks: FakeQuickBooks) -> None:
    quickbooks.begin_failures = [ConnectionFailed("0x80040410", "wrong mode"), None]
    endpoint.script("connectionError", OTHER_FILE)
    report = connector(endpoint, quickbooks).run_session()
    assert quickbooks.opened == ["", OTHER_FILE]
    assert endpoint.ops()[3:] == ["connectionError", "sendRequestXML", "receiveResponseXML",
                                  "closeConnection"]
    assert endpoint.of("sendRequestXML")[0].param("strCompanyFileName") == OTHER_FILE
    assert report.outcome == "ok"
    assert report.company_file == OTHER_FILE


def test_connection_error_is_asked_again_until_it_answers_done(endpoint: Endpoint,
                                                                quickbooks: FakeQuickBooks) -> None:
    """PG p.22: QBWC "uses the pathname string returned from connectionError to retry the connection until
    the connectionError callback tells it to stop" (errata 3)."""
    failure = ConnectionFailed("0x80040422", "Another application has the file in single-user mode")
    quickbooks.begin_failures = [failure, failure, failure]
    endpoint.script("connectionError", OTHER_FILE, OTHER_FILE, "done")
    report = connector(endpoint, quickbooks).run_session()
    assert quickbooks.opened == ["", OTHER_FILE, OTHER_FILE]
    assert endpoint.ops()[3:] == ["connectionError"] * 3
    assert report.outcome == "connection_error"


def test_a_server_that_never_says_done_is_stopped_by_the_loop_guard(endpoint: Endpoint,
                                                                    quickbooks: FakeQuickBooks) -> None:
    failure = ConnectionFailed("0x80040408", "Could not start QuickBooks.")
    quickbooks.begin_failures = [failure] * 50
    endpoint.script("connectionError", *[OTHER_FILE] * 50)
    report = WebConnector(qwc_for(endpoint), "pw", quickbooks, max_calls=12).run_session()
    assert report.outcome == "error" and "loop guard" in report.status


def test_every_call_carries_the_captured_dotnet_headers(endpoint: Endpoint,
                                                        quickbooks: FakeQuickBooks) -> None:
    """consolibyte/quickbooks-php 740d2f8 QuickBooks/dev/quickbooks_log.txt (a 2008 QBWC's requests)."""
    connector(endpoint, quickbooks).run_session()
    for call in endpoint.calls:
        assert call.headers["User-Agent"] == (
            "Mozilla/4.0 (compatible; MSIE 6.0; MS Web Services Client Protocol 2.0.50727.1433)"
        )
        assert call.headers["Content-Type"] == "text/xml; charset=utf-8"
        assert call.headers["SOAPAction"] == f'"http://developer.intuit.com/{call.op}"'


def test_authenticate_path_opens_that_company_file(endpoint: Endpoint, quickbooks: FakeQuickBooks) -> None:
    endpoint.script("authenticate", ["TICKET-1", OTHER_FILE])
    connector(endpoint, quickbooks).run_session()
    assert quickbooks.opened == [OTHER_FILE]


def test_empty_request_asks_get_last_error_and_stops_with_its_text(endpoint: Endpoint,
                                                                   quickbooks: FakeQuickBooks) -> None:
    endpoint.script("sendRequestXML", "")
    endpoint.script("getLastError", "Nothing queued for this company")
    report = connector(endpoint, quickbooks).run_session()
    assert endpoint.ops()[3:] == ["sendRequestXML", "getLastError", "closeConnection"]
    assert report.outcome == "error"
    assert report.status == "Nothing queued for this company"
    assert quickbooks.closed == 1


def test_noop_pauses_and_asks_again(endpoint: Endpoint, quickbooks: FakeQuickBooks) -> None:
    endpoint.script("sendRequestXML", "", CANNED_REQUEST)
    endpoint.script("getLastError", "NoOp")
    pauses: list[float] = []
    report = connector(endpoint, quickbooks, noop_pause=5, sleep=pauses.append).run_session()
    assert endpoint.ops()[3:] == ["sendRequestXML", "getLastError", "sendRequestXML", "receiveResponseXML",
                                  "closeConnection"]
    assert pauses == [5]
    first, again = endpoint.of("sendRequestXML")
    assert first.param("strHCPResponse") != "" and again.param("strHCPResponse") == ""
    assert report.outcome == "ok"


def test_negative_percent_asks_get_last_error_then_closes(endpoint: Endpoint,
                                                          quickbooks: FakeQuickBooks) -> None:
    endpoint.script("receiveResponseXML", -1)
    endpoint.script("getLastError", "3100: the name is already in use")
    report = connector(endpoint, quickbooks).run_session()
    assert endpoint.ops()[3:] == ["sendRequestXML", "receiveResponseXML", "getLastError", "closeConnection"]
    assert report.outcome == "error"
    assert report.status == "3100: the name is already in use"
    assert report.percents == (-1,)


def test_a_slow_endpoint_times_out_and_quickbooks_is_still_closed(endpoint: Endpoint,
                                                                  quickbooks: FakeQuickBooks) -> None:
    endpoint.script("receiveResponseXML", Slow(3, 100))
    report = connector(endpoint, quickbooks, timeout=0.3).run_session()
    assert report.outcome == "timeout"
    assert "receiveResponseXML" in report.status
    assert endpoint.ops()[-1] == "receiveResponseXML"
    assert quickbooks.closed == 1


def test_a_soap_fault_ends_the_session_with_its_text(endpoint: Endpoint, quickbooks: FakeQuickBooks) -> None:
    endpoint.script("authenticate", Fault("soap:Server", "database is down"))
    report = connector(endpoint, quickbooks).run_session()
    assert report.outcome == "error"
    assert "database is down" in report.status


def test_an_endpoint_that_never_finishes_is_cut_off(endpoint: Endpoint, quickbooks: FakeQuickBooks) -> None:
    endpoint.script("receiveResponseXML", 10)
    report = connector(endpoint, quickbooks, max_calls=20).run_session()
    assert report.outcome == "error"
    assert len(endpoint.calls) == 20
    assert quickbooks.closed == 1


@pytest.mark.parametrize(("answer", "goes_on"), [("", True), ("W:Please upgrade soon", True),
                                                 ("E:This version is no longer supported", False),
                                                 ("O:2.1.0.30", False), ("O:2.4.0.1", False)])
def test_client_version_answers(endpoint: Endpoint, quickbooks: FakeQuickBooks, answer: str,
                                goes_on: bool) -> None:
    """PG p.21: QBWC goes on to authenticate unless the answer starts with "E:" or "O:" (errata 2)."""
    endpoint.script("clientVersion", answer)
    report = connector(endpoint, quickbooks).run_session()
    assert ("authenticate" in endpoint.ops()) is goes_on
    assert report.outcome == ("ok" if goes_on else "error")


def test_each_step_is_logged(endpoint: Endpoint, quickbooks: FakeQuickBooks) -> None:
    lines: list[str] = []
    connector(endpoint, quickbooks, log=lines.append).run_session()
    text = "\n".join(lines)
    assert "QBWebConnector.SOAPWebService.do_authenticate(): Authentication successful" in text
    assert "s3cret" not in text
    assert any("do_closeConnection" in line for line in lines)


def test_a_failed_host_query_sends_an_empty_hcp_and_the_newest_version(endpoint: Endpoint,
                                                                      quickbooks: FakeQuickBooks) -> None:
    quickbooks.host_query_fails = True
    report = connector(endpoint, quickbooks).run_session()
    call = endpoint.of("sendRequestXML")[0]
    assert call.param("strHCPResponse") == ""
    assert (call.param("qbXMLMajorVers"), call.param("qbXMLMinorVers")) == ("16", "0")
    assert report.outcome == "ok"


def test_a_fault_mid_session_still_closes_quickbooks(endpoint: Endpoint, quickbooks: FakeQuickBooks) -> None:
    endpoint.script("receiveResponseXML", Fault("soap:Server", "crashed"))
    report = connector(endpoint, quickbooks).run_session()
    assert report.outcome == "error"
    assert quickbooks.closed == 1
    assert "closeConnection" not in endpoint.ops()


def test_a_timeout_before_authenticate_never_opens_quickbooks(endpoint: Endpoint,
                                                              quickbooks: FakeQuickBooks) -> None:
    endpoint.script("serverVersion", Slow(3, "1.0"))
    report = connector(endpoint, quickbooks, timeout=0.2).run_session()
    assert report.outcome == "timeout"
    assert report.calls == ("serverVersion",)
    assert quickbooks.opened == []


def test_the_hcp_response_comes_from_quickbooks_with_request_ids_0_1_2(endpoint: Endpoint) -> None:
    """qbwc/qbwc test/test_helper.rb (SEND_REQUEST_PARAMS): a real strHCPResponse holds HostQueryRs,
    CompanyQueryRs and PreferencesQueryRs with requestID 0, 1 and 2; the CompanyRet carries the FileID."""
    from sandbox.quickbooks import Company, SimulatedQuickBooks

    WebConnector(qwc_for(endpoint), "pw", SimulatedQuickBooks(Company())).run_session()
    hcp = endpoint.of("sendRequestXML")[0].param("strHCPResponse")
    for rid, rs in enumerate(("HostQueryRs", "CompanyQueryRs", "PreferencesQueryRs")):
        assert f'<{rs} requestID="{rid}" statusCode="0"' in hcp
    stamp = f"<DataExtName>FileID</DataExtName><DataExtType>STR255TYPE</DataExtType><DataExtValue>{FILE}"
    assert stamp in hcp
