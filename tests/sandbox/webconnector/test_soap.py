"""Reading the endpoint's answers: results of each shape, nulls, faults, and transport failures."""

from __future__ import annotations

import socket

import pytest

from sandbox.webconnector.soap import SoapClient, SoapFault, TransportError, envelope, parse_response

SOAP = "http://schemas.xmlsoap.org/soap/envelope/"


def answer(inner: str) -> bytes:
    return f'<soap:Envelope xmlns:soap="{SOAP}"><soap:Body>{inner}</soap:Body></soap:Envelope>'.encode()


def test_result_shapes() -> None:
    strings = answer('<authenticateResponse xmlns="http://developer.intuit.com/"><authenticateResult>'
                     "<string>T</string><string /><string>30</string>"
                     "</authenticateResult></authenticateResponse>")
    assert parse_response("authenticate", strings) == ["T", "", "30"]
    number = answer('<receiveResponseXMLResponse xmlns="http://developer.intuit.com/">'
                    "<receiveResponseXMLResult>-101</receiveResponseXMLResult></receiveResponseXMLResponse>")
    assert parse_response("receiveResponseXML", number) == -101
    text = answer('<sendRequestXMLResponse xmlns="http://developer.intuit.com/"><sendRequestXMLResult>'
                  "&lt;QBXML/&gt;</sendRequestXMLResult></sendRequestXMLResponse>")
    assert parse_response("sendRequestXML", text) == "<QBXML/>"


def test_a_null_result_reads_as_empty() -> None:
    nil = answer('<clientVersionResponse xmlns="http://developer.intuit.com/" '
                 'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
                 '<clientVersionResult xsi:nil="true" /></clientVersionResponse>')
    assert parse_response("clientVersion", nil) == ""
    missing = answer('<clientVersionResponse xmlns="http://developer.intuit.com/" />')
    assert parse_response("clientVersion", missing) == ""


def test_a_fault_carries_code_and_text() -> None:
    fault = answer("<soap:Fault><faultcode>soap:Client</faultcode><faultstring>bad ticket</faultstring>"
                   "</soap:Fault>")
    with pytest.raises(SoapFault) as caught:
        parse_response("getLastError", fault)
    assert (caught.value.code, caught.value.text) == ("soap:Client", "bad ticket")


@pytest.mark.parametrize("body", [b"<html>oops</html>", b"not xml", answer("<other />")])
def test_answers_that_are_not_the_operation_response_are_refused(body: bytes) -> None:
    with pytest.raises(TransportError):
        parse_response("closeConnection", body)


def test_the_wrong_namespace_is_refused() -> None:
    with pytest.raises(TransportError):
        parse_response("closeConnection", answer("<closeConnectionResponse><closeConnectionResult>OK"
                                                 "</closeConnectionResult></closeConnectionResponse>"))


def test_parameters_go_in_wsdl_order_and_unknown_ones_are_refused() -> None:
    params = {"message": "m", "hresult": "h", "ticket": "t", "response": ""}
    body = envelope("receiveResponseXML", params).decode()
    assert "<ticket>t</ticket><response /><hresult>h</hresult><message>m</message>" in body
    with pytest.raises(ValueError, match="strTicket"):
        envelope("closeConnection", {"strTicket": "t"})


def test_nobody_listening_is_a_transport_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with SoapClient(f"http://127.0.0.1:{port}/qbwc", timeout=2) as client, pytest.raises(TransportError):
        client.call("serverVersion")
