"""Pairing against a little cloud that speaks the pairing contract."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator

import pytest
from flask import Flask, jsonify, request
from flask.typing import ResponseReturnValue
from werkzeug.serving import make_server

from local_agent.pairing import PairingError, check_server, pair

cloud_ws_url: list[dict[str, str]] = []  # the fixture's answer, for a test to change


@pytest.fixture
def cloud() -> Iterator[str]:
    app = Flask("cloud")
    used: set[str] = set()
    ws_url = {"value": "ws://127.0.0.1:1/agent/ws"}
    app.config["ws_url"] = ws_url

    @app.post("/api/agents/pair")
    def pair_route() -> ResponseReturnValue:
        body = request.get_json(silent=True) or {}
        code = body.get("code", "")
        if not code.isalnum():
            return jsonify(error="bad_code", message="That is not a pairing code."), 400
        if code in used:
            return jsonify(error="used", message="This pairing code was already used; make a new one."), 410
        if code != "ABC123":
            return jsonify(error="unknown", message="Unknown pairing code."), 404
        used.add(code)
        return jsonify(agent_id="ag-1", agent_token="tok", portal="acme.bitrix24.com", ws_url=ws_url["value"])

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    cloud_ws_url.append(ws_url)
    yield f"http://127.0.0.1:{server.server_port}"
    cloud_ws_url.clear()
    server.shutdown()
    server.server_close()


def test_pairing_returns_the_token_once(cloud: str) -> None:
    paired = pair(cloud, " ABC123 ", "1.0")
    assert (paired.agent_id, paired.portal) == ("ag-1", "acme.bitrix24.com")
    with pytest.raises(PairingError, match="already used"):
        pair(cloud, "ABC123", "1.0")


@pytest.mark.parametrize(
    ("code", "message"), [("nope!", "not a pairing code"), ("ZZZ", "Unknown"), ("", "empty")]
)
def test_bad_codes_get_the_clouds_words(cloud: str, code: str, message: str) -> None:
    with pytest.raises(PairingError, match=message):
        pair(cloud, code, "1.0")


def test_plain_http_only_for_localhost() -> None:
    assert check_server("http://localhost:8000/") == "http://localhost:8000"
    with pytest.raises(PairingError, match="https"):
        check_server("http://qb.example.com")
    with pytest.raises(PairingError, match="not the app.s address"):
        check_server("qb.example.com")


def test_unreachable_server() -> None:
    with pytest.raises(PairingError, match="Could not reach"):
        pair("http://127.0.0.1:9", "ABC123", "1.0", timeout=2)


def test_a_plain_ws_link_address_to_another_host_is_refused(cloud: str) -> None:
    """Issue 20: the agent used whatever ws:// URL the pairing answer named; the link carries its token."""
    cloud_ws_url[0]["value"] = "ws://qb.example.com/agent/ws"
    with pytest.raises(PairingError, match="wss://"):
        pair(cloud, "ABC123", "1.0")


def _plain_sentence(message: str) -> None:
    """What the local page shows: no exception class names, no Python quoting."""
    assert not re.search(r"[A-Z][a-z]+(Error|Exception)\b|\w+\(|'[^' ]*'", message), message


def test_an_unreachable_server_is_said_in_plain_words() -> None:
    with pytest.raises(PairingError) as caught:
        pair("http://127.0.0.1:9", "ABC123", "1.0", timeout=2)
    assert str(caught.value) == (
        "Could not reach 127.0.0.1:9: check the address and the internet connection, then try again."
    )


def test_a_server_that_does_not_speak_tls_is_said_in_plain_words(cloud: str) -> None:
    with pytest.raises(PairingError) as caught:
        pair(cloud.replace("http://", "https://"), "ABC123", "1.0", timeout=5)
    message = str(caught.value)
    assert message.startswith("Could not connect securely to 127.0.0.1:") and "Check the address" in message
    _plain_sentence(message)


@pytest.mark.parametrize("server", ["qb.example.com", "", "http://qb.example.com/"])
def test_a_wrong_address_is_said_in_plain_words(server: str) -> None:
    with pytest.raises(PairingError) as caught:
        check_server(server)
    _plain_sentence(str(caught.value))
