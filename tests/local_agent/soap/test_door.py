"""The endpoint's door (issue 20): what reaches the log, how big a body may be, who may call at all.

Every test runs the real endpoint on loopback and calls it the way an attacker on the same PC would: a
web page in the bookkeeper's browser, a script posting junk, a flood of wrong passwords.
"""

from __future__ import annotations

import logging
import re
import select
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import requests
from lxml import etree

from local_agent.soap.server import Endpoint
from local_agent.soap.service import make_app
from local_agent.soap.session import Job, Sessions, Settings, hash_password

from .fakes import HCP, MemoryWork, request, response
from .test_service import FILE, NS, envelope, post, result

PASSWORD = "s3cret-Web-Connector-pw"
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
MB = 1024 * 1024


@pytest.fixture
def work() -> MemoryWork:
    return MemoryWork(jobs=[Job("job-1", request('<CustomerQueryRq requestID="1"/>'))])


@pytest.fixture
def sessions(work: MemoryWork) -> Sessions:
    return Sessions(Settings("bookkeeper", hash_password(PASSWORD)), work)


@pytest.fixture
def endpoint(sessions: Sessions) -> Iterator[Endpoint]:
    with Endpoint(make_app(sessions)) as ep:
        yield ep


def login(ep: Endpoint) -> str:
    resp = post(ep, "authenticate", envelope("authenticate", strUserName="bookkeeper", strPassword=PASSWORD))
    ticket = result(resp, "authenticate").findall(f"{{{NS}}}string")[0].text
    assert ticket
    return ticket


# -- case 3: request bodies never reach the log --------------------------------------------------------


def test_a_malformed_authenticate_does_not_write_the_password_to_the_log(
    endpoint: Endpoint, caplog: pytest.LogCaptureFixture
) -> None:
    """A stray ``<`` after ``</strPassword>`` once put the whole body, password and all, in agent.log."""
    body = envelope("authenticate", strUserName="bookkeeper", strPassword=PASSWORD).replace(
        b"</strPassword>", b"</strPassword><"
    )
    with caplog.at_level(logging.DEBUG):
        resp = post(endpoint, "authenticate", body)
    assert resp.status_code == 400
    assert etree.fromstring(resp.content).find(f".//{{{SOAP_ENV}}}Fault") is not None
    assert PASSWORD not in resp.text
    assert PASSWORD not in caplog.text
    assert any("not well-formed" in r.getMessage() for r in caplog.records)  # the refusal is logged, briefly


def test_a_big_malformed_body_adds_one_short_line_to_the_log(
    endpoint: Endpoint, caplog: pytest.LogCaptureFixture
) -> None:
    junk = b"<x>" + b"A" * (4 * MB) + b"<"
    with caplog.at_level(logging.DEBUG):
        resp = post(endpoint, "receiveResponseXML", junk)
    assert resp.status_code == 400
    assert sum(len(r.getMessage()) for r in caplog.records) < 2000


def test_a_broken_request_line_is_not_quoted_in_the_log(
    endpoint: Endpoint, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        answer = _raw(endpoint, f"POST /qbwc?strPassword={PASSWORD} junk HTTP/1.1\r\n\r\n".encode(), [])
    assert b"400" in answer  # http.server's own refusal (to the sender only)
    assert PASSWORD not in caplog.text


def test_payload_summaries_only_when_switched_on_and_without_secrets(
    sessions: Sessions, caplog: pytest.LogCaptureFixture
) -> None:
    body = envelope("authenticate", strUserName="bookkeeper", strPassword=PASSWORD)
    with Endpoint(make_app(sessions, log_payloads=True)) as ep, caplog.at_level(logging.DEBUG):
        ticket = login(ep)
        post(ep, "authenticate", body.replace(b"</strPassword>", b"</strPassword><"))
        post(ep, "closeConnection", envelope("closeConnection", ticket=ticket))
    summaries = [r.getMessage() for r in caplog.records if "request body" in r.getMessage()]
    assert len(summaries) == 3
    assert all("authenticate" in s or "closeConnection" in s for s in summaries)
    assert PASSWORD not in caplog.text and ticket not in caplog.text
    assert all(len(s) < 1500 for s in summaries)


def test_without_the_switch_no_body_is_summarised(
    endpoint: Endpoint, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        login(endpoint)
    assert not [r for r in caplog.records if "request body" in r.getMessage()]
    assert "bookkeeper" not in caplog.text


# -- case 4: a size cap that fits real answers, and bounded memory ------------------------------------


def big_response(size: int) -> str:
    """A CustomerQueryRs of about ``size`` bytes — what 20,000 customers look like in qbXML."""
    one = (
        "<CustomerRet><ListID>80000001-1234567890</ListID><Name>Customer &amp; Sons {i}</Name>"
        "<FullName>Customer &amp; Sons {i}</FullName><IsActive>true</IsActive>"
        "<Balance>1234.56</Balance></CustomerRet>"
    )
    records, total, i = [], 0, 0
    while total < size:
        record = one.format(i=i)
        records.append(record)
        total += len(record)
        i += 1
    return response(
        '<CustomerQueryRs requestID="1" statusCode="0" statusSeverity="Info" statusMessage="Status OK">'
        + "".join(records)
        + "</CustomerQueryRs>"
    )


def test_a_legitimate_12_mb_response_is_accepted(endpoint: Endpoint, work: MemoryWork) -> None:
    """QuickBooks' answer arrives as one escaped text node; libxml2 refused nodes over 10 MB by default."""
    ticket = login(endpoint)
    sent = post(endpoint, "sendRequestXML", envelope(
        "sendRequestXML", ticket=ticket, strHCPResponse=HCP.replace("&", "&amp;").replace("<", "&lt;"),
        strCompanyFileName=FILE, qbXMLCountry="US", qbXMLMajorVers="16", qbXMLMinorVers="0"))  # fmt: skip
    assert "CustomerQueryRq" in (result(sent, "sendRequestXML").text or "")
    answer = big_response(int(12.7 * MB))
    escaped = answer.replace("&", "&amp;").replace("<", "&lt;")
    body = envelope("receiveResponseXML", ticket=ticket, response=escaped, hresult="", message="")
    assert len(body) > 12 * MB
    resp = requests.post(endpoint.url, data=body, timeout=120, headers={
        "Content-Type": "text/xml; charset=utf-8", "SOAPAction": f'"{NS}receiveResponseXML"'})  # fmt: skip
    assert resp.status_code == 200, resp.text[:300]
    assert result(resp, "receiveResponseXML").text == "100"
    assert work.delivered[0][0] == "job-1" and work.delivered[0][1] == answer


def _raw(ep: Endpoint, head: bytes, pieces: list[bytes], timeout: float = 5) -> bytes:
    """Send the head, then the body piece by piece until the agent answers or stops reading; then read its
    answer: to the end of its body (its Content-Length), or until the agent closes or ``timeout`` passes."""
    with socket.create_connection((ep.host, ep.port), timeout=timeout) as sock:
        sock.sendall(head)
        left = b"".join(pieces)
        deadline = time.monotonic() + timeout
        try:
            while left and time.monotonic() < deadline:
                readable, writable, _ = select.select([sock], [sock], [], deadline - time.monotonic())
                if readable:  # the answer has begun: the agent took no more
                    break
                if writable:
                    left = left[sock.send(left[:65536]) :]
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            pass
        answer = b""
        try:
            while not _complete(answer) and (chunk := sock.recv(65536)):
                answer += chunk
        except (ConnectionResetError, TimeoutError):
            pass
    return answer


def _complete(answer: bytes) -> bool:
    """A whole HTTP response: its head and as many body bytes as its Content-Length says."""
    head, sep, body = answer.partition(b"\r\n\r\n")
    if not sep:
        return False
    length = re.search(rb"(?im)^content-length:\s*(\d+)\s*$", head)
    return length is not None and len(body) >= int(length.group(1))


def _head(length: int | None, extra: str = "") -> bytes:
    size = f"Content-Length: {length}\r\n" if length is not None else "Transfer-Encoding: chunked\r\n"
    return (
        "POST /qbwc HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/xml; charset=utf-8\r\n"
        f'SOAPAction: "{NS}receiveResponseXML"\r\n{size}{extra}\r\n'
    ).encode()


def test_a_250_mb_body_is_refused_before_it_is_sent(endpoint: Endpoint, work: MemoryWork) -> None:
    """The announced size alone is enough: the agent answers 413 without waiting for (or holding) the body
    (only its first bytes are ever sent here)."""
    answer = _raw(endpoint, _head(250 * MB), [b"<soap:Envelope"], timeout=5)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b"64 MB" in answer  # the limit is named so the person reading QBWC's log knows it
    assert not work.delivered


def test_a_chunked_body_over_the_cap_is_cut_off_while_streaming(sessions: Sessions, work: MemoryWork) -> None:
    """No Content-Length to go by: the body is read in pieces and refused once past the cap."""
    with Endpoint(make_app(sessions, max_body=1 * MB)) as ep:
        whole = envelope("receiveResponseXML", ticket="t", response="A")
        first = whole[: whole.index(b"<response>") + len(b"<response>")]

        def chunk(piece: bytes) -> bytes:
            return f"{len(piece):x}\r\n".encode() + piece + b"\r\n"

        pieces = [chunk(first)] + [chunk(b"A" * 65536)] * 24 + [b"0\r\n\r\n"]
        answer = _raw(ep, _head(None), pieces, timeout=10)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert not work.delivered


def test_a_flood_of_wrong_passwords_neither_piles_up_threads_nor_slows_the_agent(
    endpoint: Endpoint, sessions: Sessions
) -> None:
    """160 parallel wrong passwords once held 160 threads (and 300 MB) for good; now a handful work."""
    baseline = threading.active_count()
    peak = baseline
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, threading.active_count())
            time.sleep(0.002)

    sampler = threading.Thread(target=sample)
    sampler.start()
    wrong = envelope("authenticate", strUserName="bookkeeper", strPassword="guess")
    answers: list[int] = []
    errors: list[str] = []

    def attacker() -> None:
        try:
            answers.append(post(endpoint, "authenticate", wrong).status_code)
        except requests.RequestException as exc:
            answers.append(0)
            errors.append(repr(exc))

    attackers = [threading.Thread(target=attacker) for _ in range(160)]
    for t in attackers:
        t.start()
    for t in attackers:
        t.join(60)
    done.set()
    sampler.join()
    assert len(answers) == 160 and set(answers) <= {200, 503}, errors[:3]
    # The attackers' own 160 threads are counted too; the endpoint adds only its few workers.
    assert peak - baseline <= 160 + 1 + 8, peak - baseline  # how fast: bench/agent_soap.py measures it


# -- case 5: only the Web Connector gets in ------------------------------------------------------------


BROWSER_LIKE = [
    pytest.param({"Content-Type": "text/plain;charset=UTF-8"}, 415, id="fetch no-cors text/plain"),
    pytest.param({"Content-Type": "application/x-www-form-urlencoded"}, 415, id="html form"),
    pytest.param({"Content-Type": "multipart/form-data; boundary=x"}, 415, id="multipart form"),
    pytest.param({"Content-Type": "text/xml; charset=utf-8"}, 400, id="no SOAPAction"),
    pytest.param(
        {
            "Content-Type": "text/xml; charset=utf-8",
            "SOAPAction": f'"{NS}connectionError"',
            "Origin": "https://evil.example",
        },
        403,
        id="any Origin",
    ),  # fmt: skip
    pytest.param(
        {
            "Content-Type": "text/xml; charset=utf-8",
            "SOAPAction": f'"{NS}connectionError"',
            "Sec-Fetch-Mode": "no-cors",
            "Sec-Fetch-Site": "cross-site",
        },
        403,
        id="Sec-Fetch",
    ),  # fmt: skip
    pytest.param(
        {
            "Content-Type": "text/xml; charset=utf-8",
            "SOAPAction": f'"{NS}connectionError"',
            "Host": "attacker.example:8765",
        },
        403,
        id="DNS rebinding Host",
    ),  # fmt: skip
]


@pytest.mark.parametrize(("headers", "status"), BROWSER_LIKE)
def test_what_a_web_page_can_send_is_refused_even_with_a_real_ticket(
    endpoint: Endpoint, work: MemoryWork, headers: dict[str, str], status: int
) -> None:
    """A page on another origin could POST connectionError as text/plain and set the portal's Last error."""
    ticket = login(endpoint)
    body = envelope("connectionError", ticket=ticket, hresult="0x80040408", message="<b>pwned</b>")
    resp = requests.post(endpoint.url, data=body, headers=headers, timeout=10)
    assert resp.status_code == status
    assert "Access-Control-Allow-Origin" not in resp.headers
    assert work.connection_errors == [] and work.ended == []
    # The real Web Connector's call still works afterwards: the session was not touched.
    ok = post(endpoint, "closeConnection", envelope("closeConnection", ticket=ticket))
    assert result(ok, "closeConnection").text == "0 requests, 0 errors"


def test_a_cors_preflight_is_not_granted(endpoint: Endpoint) -> None:
    resp = requests.options(endpoint.url, timeout=10, headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,soapaction"})  # fmt: skip
    assert resp.status_code == 403
    assert not any(h.lower().startswith("access-control-") for h in resp.headers)


def test_connection_error_with_an_unknown_ticket_changes_nothing(
    endpoint: Endpoint, work: MemoryWork
) -> None:
    body = envelope("connectionError", ticket="any-ticket", hresult="0x80040408", message="forged")
    resp = post(endpoint, "connectionError", body)
    assert result(resp, "connectionError").text == "done"  # QBWC stops; nothing else happens
    assert work.connection_errors == []
    last = post(endpoint, "getLastError", envelope("getLastError", ticket="any-ticket"))
    assert "forged" not in (result(last, "getLastError").text or "")
