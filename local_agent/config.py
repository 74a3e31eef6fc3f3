"""The agent's configuration: one JSON file in the user's app-data folder, readable only by its owner.

Where: ``%APPDATA%\\QB-Bitrix24 Agent\\agent.json`` on Windows,
``$XDG_CONFIG_HOME/qb-bitrix24-agent/agent.json`` (``~/.config/…``) elsewhere; ``QB_AGENT_HOME`` or
``--home`` points somewhere else (tests, several agents on one machine). The queue database and the log
live beside it. The file holds the agent token and the Web Connector password's hash, so it is written
atomically with mode 0600 and never logged.
"""

from __future__ import annotations

import json
import os
import sys
import uuid
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

APP_DIR_WINDOWS = "QB-Bitrix24 Agent"
APP_DIR_XDG = "qb-bitrix24-agent"
DEFAULT_PORT = 8765


class ConfigError(Exception):
    """The config file is missing, unreadable or incomplete — with what to do about it."""


def _guid() -> str:
    return "{" + str(uuid.uuid4()).upper() + "}"


def default_home(env: dict[str, str] | None = None) -> Path:
    env = dict(os.environ) if env is None else env
    if env.get("QB_AGENT_HOME"):
        return Path(env["QB_AGENT_HOME"])
    if sys.platform == "win32" and env.get("APPDATA"):
        return Path(env["APPDATA"]) / APP_DIR_WINDOWS
    base = env.get("XDG_CONFIG_HOME") or str(Path(env.get("HOME", "~")).expanduser() / ".config")
    return Path(base) / APP_DIR_XDG


@dataclass(frozen=True)
class AgentConfig:
    server: str = ""  # the cloud app's base URL, https://…
    agent_id: str = ""
    agent_token: str = ""  # secret: never printed or logged
    portal: str = ""  # the Bitrix24 portal this agent serves (display only)
    ws_url: str = ""
    host: str = "127.0.0.1"  # the QBWC endpoint stays on loopback unless changed on purpose
    port: int = DEFAULT_PORT
    user_name: str = "qb-bitrix24"
    password_hash: str = ""  # scrypt hash of the Web Connector password
    owner_id: str = field(default_factory=_guid)  # stable per install (.qwc OwnerID)
    file_id: str = field(default_factory=_guid)  # stable per install (.qwc FileID)
    company_file: str | None = None  # pinned on the first session
    run_every_minutes: int = 1
    # The .qwc's <RunEveryNSeconds> instead of minutes when > 0: polling as often as that (PG p.37, shown as
    # "Real Time" in the Web Connector). An option, not the default: every poll is a visit to QuickBooks.
    run_every_seconds: int = 0
    # Ask the Web Connector to update now when a person's job arrives (local_agent/kick.py): "auto" (the
    # qbwc:// trigger on Windows, nothing elsewhere), "off", or a simulator's http://127.0.0.1:PORT.
    kick: str = "auto"
    # Bulk work (first sync, background reads) in sessions of at most this many seconds, and only in these
    # hours of the PC's clock ("19-7": 19:00–07:00; "" = any hour). People's jobs run at once, alone.
    bulk_session_seconds: int = 60
    bulk_hours: str = ""
    proxy: str | None = None  # an https proxy for the WebSocket; None = system settings
    verify_tls: bool = True
    # The largest Web Connector request accepted; QuickBooks' answers travel in it (20,000 invoices with
    # lines ≈ 45 MB). Raise it only together with the cloud's message cap.
    max_request_mb: int = 64
    log_payloads: bool = False  # DEBUG summaries of request bodies (secrets hidden, first 1 KB only)

    @property
    def paired(self) -> bool:
        return bool(self.agent_token and self.ws_url and self.password_hash)

    def redacted(self) -> dict[str, Any]:
        out = asdict(self)
        for secret in ("agent_token", "password_hash"):
            if out[secret]:
                out[secret] = "…hidden…"
        return out


def config_path(home: Path) -> Path:
    return home / "agent.json"


def load(home: Path) -> AgentConfig:
    path = config_path(home)
    if not path.exists():
        raise ConfigError(
            f"No agent configuration at {path}. Pair the agent first: qb-agent pair CODE --server URL"
        )
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"The agent configuration {path} cannot be read: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"The agent configuration {path} is not a JSON object")
    known = {f.name for f in fields(AgentConfig)}
    try:
        return AgentConfig(**{k: v for k, v in raw.items() if k in known})
    except TypeError as exc:
        raise ConfigError(f"The agent configuration {path} is incomplete: {exc}") from exc


def load_or_new(home: Path) -> AgentConfig:
    return load(home) if config_path(home).exists() else AgentConfig()


def private_home(home: Path) -> Path:
    """The agent's folder, created owner-only (0700): the queue, status and .qwc files live in it."""
    home.mkdir(parents=True, exist_ok=True)
    if os.name != "nt":
        os.chmod(home, 0o700)
    return home


def private_write(path: Path, text: str) -> Path:
    """Replace ``path`` atomically with ``text``, owner-only (0600) from the moment it exists."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)
    return path


def save(home: Path, config: AgentConfig) -> Path:
    """Write atomically, owner-only (0600 files, 0700 folder)."""
    private_home(home)
    return private_write(config_path(home), json.dumps(asdict(config), indent=2) + "\n")


def update(home: Path, **changes: Any) -> AgentConfig:
    config = replace(load_or_new(home), **changes)
    save(home, config)
    return config
