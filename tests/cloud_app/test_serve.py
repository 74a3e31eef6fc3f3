"""``python -m cloud_app serve`` as an operator runs it: one command, HTTP and the agent endpoint up, the
secrets kept out of its log, the operator's figures behind its token, a clean stop on SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from cloud_app.agents.store import AgentStore


def installed(db: Path, member_id: str, key: str) -> None:
    """A portal row as an install leaves it (pairing codes pair only to installed portals)."""
    from cloud_app.crypto import Vault
    from cloud_app.portals import PortalStore

    store = PortalStore(str(db), Vault(key))
    store.save_install(
        member_id=member_id, domain=member_id, client_endpoint=f"https://{member_id}/rest/",
        server_endpoint="https://oauth.bitrix.info/rest/", access_token="a", refresh_token="r",
        expires_at=0, scopes=("crm",), application_token="0" * 32,
    )  # fmt: skip
    store.activate(member_id)
    store.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_runs_http_and_the_agent_endpoint_and_stops_cleanly(tmp_path: Path) -> None:
    http_port, agent_port = free_port(), free_port()
    env = {
        **os.environ,
        "QBB24_PORT": str(http_port),
        "QBB24_AGENT_PORT": str(agent_port),
        "QBB24_PUBLIC_URL": f"http://127.0.0.1:{http_port}",
        "QBB24_CLIENT_ID": "app.test",
        "QBB24_CLIENT_SECRET": "very-secret-value",
        "QBB24_ENCRYPTION_KEY": "another-secret-value",
        "QBB24_DATABASE": str(tmp_path / "cloud.db"),
        "QBB24_OPERATOR_TOKEN": "operator-secret-value",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "cloud_app", "serve"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(f"http://127.0.0.1:{http_port}/healthz", timeout=2).json() == {"ok": True}:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline and proc.poll() is None, "the server did not come up"
            time.sleep(0.2)
        status_url = f"http://127.0.0.1:{http_port}/status"
        assert requests.get(status_url, timeout=5).status_code == 401  # the operator's, not the world's
        operator = {"Authorization": "Bearer operator-secret-value"}
        status = requests.get(status_url, headers=operator, timeout=5).json()
        assert status["agents_online"] == 0 and status["jobs"] == {} and status["id_mappings"] == 0
        installed(tmp_path / "cloud.db", "acme.bitrix24.com", "another-secret-value")
        store = AgentStore(str(tmp_path / "cloud.db"))
        code = store.new_pairing_code("acme.bitrix24.com")
        paired = requests.post(
            f"http://127.0.0.1:{http_port}/api/agents/pair", json={"code": code, "hostname": "pc"}, timeout=5
        ).json()
        assert "ws_url" in paired, paired
        assert paired["ws_url"] == f"ws://127.0.0.1:{agent_port}/agent/ws"
        with connect(
            paired["ws_url"], additional_headers={"Authorization": "Bearer " + paired["agent_token"]}
        ):
            pass  # accepted
        try:
            connect(paired["ws_url"], additional_headers={"Authorization": "Bearer wrong"}, open_timeout=5)
            raise AssertionError("a wrong token was accepted")
        except InvalidStatus as refused:
            assert refused.response.status_code == 401
        store.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=20)
    log = out.decode()
    assert proc.returncode == 0, log
    assert f"127.0.0.1:{http_port}" in log and "stopping" in log
    assert "very-secret-value" not in log and "another-secret-value" not in log


def test_serve_without_settings_says_what_is_missing(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QBB24_")}
    done = subprocess.run(
        [sys.executable, "-m", "cloud_app", "serve"], env=env, capture_output=True, text=True, timeout=60,
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode != 0
    assert "QBB24_CLIENT_ID" in done.stderr and "QBB24_ENCRYPTION_KEY" in done.stderr
