"""The SOAP endpoint on a real loopback server, called the ways the Web Connector and SOAP tools call it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import zeep
from lxml import etree

from local_agent.soap.server import Endpoint
from local_agent.soap.service import make_app
from local_agent.soap.session import Job, Sessions, Settings, hash_password

from .fakes import HCP, MemoryWork, request, response

NS = "http://developer.intuit.com/"
FILE = "C:\\Company Files\\Rock Castle Construction.qbw"
PUBLISHED_WSDL = Path(__file__).with_name("QBWebConnectorSvc.wsdl")  # Intuit's, as published


@pytest.fixture
def work() -> MemoryWork:
    return MemoryWork(jobs=[Job("job-1", request('<CustomerQueryRq requestID="1"/>'))])


@pytest.fixture
def endpoint(work: MemoryWork) -> Iterator[Endpoint]:
    sessions = Sessions(Settings("bookkeeper", hash_password("s3cret")), work)
    with Endpoint(make_app(sessions, max_body=64 * 1024)) as ep:
        yield ep


def envelope(op: str, **params: str) -> bytes:
    """Shaped like the real Web Connector's: soap prefix, xsi/xsd, the operation in the default namespace."""
    inner = "".join(f"<{k}>{v}</{k}>" for k, v in params.items())
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema">'
        f'<soap:Body><{op} xmlns="{NS}">{inner}</{op}></soap:Body></soap:Envelope>'
    ).encode()


def post(ep: Endpoint, op: str, body: bytes) -> requests.Response:
    headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": f'"{NS}{op}"'}
    return requests.post(ep.url, data=body, headers=headers, timeout=10)


def result(resp: requests.Response, op: str) -> etree._Element:
    root = etree.fromstring(resp.content)
    found = root.find(f".//{{{NS}}}{op}Response/{{{NS}}}{op}Result")
    assert found is not None, resp.text
    return found


def run_session(service: object, work: MemoryWork) -> None:
    svc = service
    assert svc.serverVersion()  # type: ignore[attr-defined]
    assert svc.clientVersion("2.3.0.215") in ("", None)  # type: ignore[attr-defined]
    ticket, company = svc.authenticate("bookkeeper", "s3cret")  # type: ignore[attr-defined]
    assert company in ("", None)
    sent = svc.sendRequestXML(ticket, HCP, FILE, "US", 16, 0)  # type: ignore[attr-defined]
    assert "CustomerQueryRq" in sent
    rs = response('<CustomerQueryRs requestID="1" statusCode="0" statusSeverity="Info" statusMessage="OK"/>')
    assert svc.receiveResponseXML(ticket, rs, "", "") == 100  # type: ignore[attr-defined]
    assert svc.closeConnection(ticket) == "1 request, 0 errors"  # type: ignore[attr-defined]
    assert work.delivered[0][0] == "job-1" and work.delivered[0][1] == rs


def test_zeep_from_the_agents_own_wsdl(endpoint: Endpoint, work: MemoryWork) -> None:
    client = zeep.Client(endpoint.url + "?wsdl")
    run_session(client.service, work)
    assert client.service.getLastError("nope").startswith("Unknown")
    assert client.service.connectionError("nope", "0x80040408", "no QB") == "done"
    assert client.service.getInteractiveURL("t", "s") in ("", None)
    assert client.service.interactiveRejected("t", "no")


def test_zeep_from_intuits_published_wsdl(endpoint: Endpoint, work: MemoryWork) -> None:
    client = zeep.Client(str(PUBLISHED_WSDL))
    service = client.create_service(f"{{{NS}}}QBWebConnectorSvcSoap", endpoint.url)
    run_session(service, work)


def test_raw_envelopes_like_the_real_web_connector(endpoint: Endpoint) -> None:
    login = envelope("authenticate", strUserName="bookkeeper", strPassword="s3cret")
    resp = post(endpoint, "authenticate", login)
    assert resp.status_code == 200
    strings = result(resp, "authenticate").findall(f"{{{NS}}}string")
    assert len(strings) == 2 and len(strings[0].text or "") == 36 and not strings[1].text
    ticket = strings[0].text or ""
    hcp = HCP.replace("&", "&amp;").replace("<", "&lt;")
    resp = post(endpoint, "sendRequestXML", envelope(
        "sendRequestXML", ticket=ticket, strHCPResponse=hcp, strCompanyFileName=FILE, qbXMLCountry="US",
        qbXMLMajorVers="16", qbXMLMinorVers="0"))  # fmt: skip
    assert "<CustomerQueryRq" in (result(resp, "sendRequestXML").text or "")
    resp = post(endpoint, "receiveResponseXML", envelope(
        "receiveResponseXML", ticket=ticket, response="", hresult="0x80040400",
        message="QuickBooks found an error when parsing the provided XML text stream."))  # fmt: skip
    assert result(resp, "receiveResponseXML").text == "100"
    resp = post(endpoint, "closeConnection", envelope("closeConnection", ticket=ticket))
    assert result(resp, "closeConnection").text == "1 request, 1 error"


def test_wrong_password_is_nvu_over_soap(endpoint: Endpoint) -> None:
    resp = post(endpoint, "authenticate", envelope("authenticate", strUserName="bookkeeper", strPassword="x"))
    assert [s.text for s in result(resp, "authenticate")] == [None, "nvu"]


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"<soap:Envelope", 400),  # not XML: refused at the door, before SOAP
        (b"", 400),
        (
            envelope("authenticate", strUserName="\xff".encode("latin-1").decode("latin-1")).replace(
                b"\xc3\xbf", b"\xff"
            ),
            400,
        ),  # fmt: skip
        (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>', 400),
        (envelope("noSuchOperation"), 500),
        (b"x" * (65 * 1024), 413),
    ],
)
def test_bad_requests_get_a_soap_fault_and_change_nothing(
    endpoint: Endpoint, work: MemoryWork, body: bytes, status: int
) -> None:
    resp = post(endpoint, "authenticate", body)
    assert resp.status_code == status
    fault = etree.fromstring(resp.content).find(".//{http://schemas.xmlsoap.org/soap/envelope/}Fault")
    assert fault is not None
    assert len(work.jobs) == 1 and not work.delivered


def test_wsdl_matches_intuits_names(endpoint: Endpoint) -> None:
    wsdl = etree.fromstring(requests.get(endpoint.url + "?wsdl", timeout=10).content)
    assert wsdl.get("targetNamespace") == NS
    ops = {op.get("name") for op in wsdl.iter("{http://schemas.xmlsoap.org/wsdl/}operation")}
    published = etree.parse(str(PUBLISHED_WSDL)).getroot()
    assert {op.get("name") for op in published.iter("{http://schemas.xmlsoap.org/wsdl/}operation")} <= ops
    xs = "{http://www.w3.org/2001/XMLSchema}"
    array = next(t for t in wsdl.iter(f"{xs}complexType") if t.get("name") == "ArrayOfString")
    assert [e.get("name") for e in array.iter(f"{xs}element")] == ["string"]


def test_other_paths_are_404(endpoint: Endpoint) -> None:
    assert requests.get(endpoint.url.replace("/qbwc", "/admin"), timeout=10).status_code == 404
