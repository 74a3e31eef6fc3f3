"""The deployment files, checked without a container engine: the Dockerfile's instructions, the entry
point and health check it runs (run here for real), the compose file and proxy, the systemd unit, and the
SQLite backup and restore."""

from __future__ import annotations

import ipaddress
import json
import os
import shlex
import signal
import socket
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import requests
import yaml

ROOT = Path(__file__).resolve().parents[2]
CLOUD = ROOT / "deploy" / "cloud"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    out, pending = [], ""
    for raw in (CLOUD / "Dockerfile").read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line, pending = pending + line, ""
        word, _, rest = line.partition(" ")
        out.append((word.upper(), rest.strip()))
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_dockerfile_is_well_formed_non_root_and_copies_what_exists() -> None:
    steps = instructions()
    known = {"FROM", "ENV", "RUN", "WORKDIR", "COPY", "USER", "VOLUME", "EXPOSE", "HEALTHCHECK", "CMD"}
    assert {word for word, _ in steps} <= known
    assert steps[0] == ("FROM", "python:3.11-slim")
    words = [w for w, _ in steps]
    user = dict(steps)["USER"]
    assert user not in ("root", "0") and words.index("USER") > max(
        i for i, w in enumerate(words) if w == "RUN"
    )
    for word, args in steps:
        if word == "COPY":
            source = args.split()[0]
            assert (ROOT / source).exists(), f"COPY {source}: not in the repository"
    assert dict(steps)["EXPOSE"].split() == ["8700", "8701"]
    assert json.loads(dict(steps)["CMD"]) == ["python", "-m", "cloud_app", "serve"]
    assert "/healthz" in dict(steps)["HEALTHCHECK"]


def test_the_images_entry_point_serves_and_its_health_check_passes(tmp_path: Path) -> None:
    steps = instructions()
    env = {k: v for k, v in os.environ.items() if not k.startswith("QBB24_")}
    for word, args in steps:  # the image's ENV, then what an operator sets
        if word == "ENV":
            env.update(dict(shlex.split(pair)[0].split("=", 1) for pair in shlex.split(args)))
    port, agent_port = free_port(), free_port()
    env.update(
        QBB24_HOST="127.0.0.1", QBB24_PORT=str(port), QBB24_AGENT_PORT=str(agent_port),
        QBB24_DATABASE=str(tmp_path / "cloud.db"), QBB24_CLIENT_ID="app.x", QBB24_CLIENT_SECRET="s",
        QBB24_ENCRYPTION_KEY="k", QBB24_PUBLIC_URL=f"http://127.0.0.1:{port}", QBB24_RECONCILE_MINUTES="0",
    )  # fmt: skip
    cmd = [sys.executable if c == "python" else c for c in json.loads(dict(steps)["CMD"])]
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                time.sleep(0.2)
        health = json.loads(dict(steps)["HEALTHCHECK"].split("CMD", 1)[1])
        check = [sys.executable if c == "python" else c for c in health]
        assert subprocess.run(check, env=env, timeout=10).returncode == 0
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=20)
    assert proc.returncode == 0, out
    assert "change-me" not in out and "k'" not in out  # the secrets are not logged


def test_compose_puts_tls_in_front_and_sends_the_agent_path_to_the_agent_port() -> None:
    compose = yaml.safe_load((CLOUD / "compose.yaml").read_text())
    cloud, proxy = compose["services"]["cloud"], compose["services"]["proxy"]
    assert cloud["build"]["dockerfile"] == "deploy/cloud/Dockerfile"
    assert (CLOUD / cloud["build"]["context"] / "deploy/cloud/Dockerfile").resolve().exists()
    assert cloud["environment"]["QBB24_AGENT_PUBLIC_URL"].startswith("wss://")
    assert "443:443" in proxy["ports"] and any("Caddyfile" in v for v in proxy["volumes"])
    caddy = (CLOUD / "Caddyfile").read_text()
    assert "path /agent/ws" in caddy and "cloud:8701" in caddy and "reverse_proxy cloud:8700" in caddy
    example = dict(
        line.split("=", 1) for line in (CLOUD / "env.example").read_text().splitlines() if "=" in line
    )
    assert {"QBB24_CLIENT_ID", "QBB24_CLIENT_SECRET", "QBB24_ENCRYPTION_KEY", "QBB24_DOMAIN"} <= set(example)


def test_the_systemd_unit_runs_the_same_entry_point_as_a_service_user() -> None:
    unit = (CLOUD / "qb-bitrix24-cloud.service").read_text()
    lines = dict(line.split("=", 1) for line in unit.splitlines() if "=" in line and not line.startswith("#"))
    assert lines["ExecStart"].endswith("-m cloud_app serve") and lines["User"] not in ("root", "0")
    assert lines["Restart"] == "on-failure" and lines["EnvironmentFile"]


def test_a_backup_taken_while_the_app_writes_restores_every_row(tmp_path: Path) -> None:
    db = tmp_path / "live.db"
    live = sqlite3.connect(db)
    live.execute("pragma journal_mode=wal")
    live.execute("create table t (n integer)")
    live.executemany("insert into t values (?)", [(i,) for i in range(1000)])
    live.commit()  # committed rows sit in the WAL: a plain file copy would miss them
    backup = tmp_path / "backups" / "b.db"
    tool = [sys.executable, str(CLOUD / "backup.py")]
    assert subprocess.run([*tool, "backup", str(db), str(backup)], capture_output=True).returncode == 0
    live.executemany("insert into t values (?)", [(i,) for i in range(500)])  # after the backup
    live.commit()
    live.close()
    done = subprocess.run([*tool, "restore", str(backup), str(db)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert sqlite3.connect(db).execute("select count(*) from t").fetchone()[0] == 1000
    assert (tmp_path / "live.db.before-restore").exists()
    broken = tmp_path / "broken.db"
    broken.write_bytes(b"not a database" * 100)
    refused = subprocess.run([*tool, "restore", str(broken), str(db)], capture_output=True, text=True)
    assert refused.returncode != 0
    assert sqlite3.connect(db).execute("select count(*) from t").fetchone()[0] == 1000  # untouched


def test_the_proxy_forwards_the_client_address_and_the_cloud_trusts_only_that_proxy() -> None:
    """Issue 20: the pairing throttle counts per client address, so the proxy must say who the client
    is (overwriting whatever a client sent), and the cloud must believe that only from the proxy."""
    caddy = (CLOUD / "Caddyfile").read_text()
    assert caddy.count("header_up X-Forwarded-For {remote_host}") == 2
    compose = yaml.safe_load((CLOUD / "compose.yaml").read_text())
    proxy_ip = compose["services"]["proxy"]["networks"]["app"]["ipv4_address"]
    assert compose["services"]["cloud"]["environment"]["QBB24_TRUSTED_PROXIES"] == proxy_ip
    subnet = compose["networks"]["app"]["ipam"]["config"][0]["subnet"]
    assert ipaddress.ip_address(proxy_ip) in ipaddress.ip_network(subnet)
    unit = (CLOUD / "qb-bitrix24-cloud.service").read_text()
    assert "QBB24_TRUSTED_PROXIES=127.0.0.1" in unit and "UMask=0077" in unit


def test_a_backup_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    db = tmp_path / "live.db"
    sqlite3.connect(db).execute("create table t (n integer)").connection.commit()
    out = tmp_path / "b.db"
    assert (
        subprocess.run([sys.executable, str(CLOUD / "backup.py"), "backup", str(db), str(out)]).returncode
        == 0
    )
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
