"""Cloud app configuration: defaults → environment (``QBB24_*``) → a JSON file → explicit overrides.

Secrets (client secret, encryption key) are configuration, never code; ``redacted()`` is what may be logged.
"""

from __future__ import annotations

import json
import logging
import os
import stat
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from .proxy import networks

log = logging.getLogger(__name__)

PREFIX = "QBB24_"
OAUTH_SERVERS = ("https://oauth.bitrix.info/rest/", "https://oauth.bitrix24.tech/rest/")
SECRET_FIELDS = ("client_secret", "encryption_key", "session_secret", "operator_token")


class ConfigError(ValueError):
    pass


@dataclass(frozen=True)
class Config:
    public_url: str = "http://127.0.0.1:8700"  # where Bitrix24 and browsers reach the app
    client_id: str = ""
    client_secret: str = ""
    encryption_key: str = ""  # tokens at rest; any string (derived) or a Fernet key
    session_secret: str = ""  # signs frame sessions; defaults to one derived from encryption_key
    database: str = "qb-bitrix24.db"
    host: str = "127.0.0.1"
    port: int = 8700
    agent_port: int = 8701  # the agent WebSocket endpoint (/agent/ws)
    agent_public_url: str = ""  # ws(s)://… the agents dial; default derived from public_url and agent_port
    oauth_servers: tuple[str, ...] = OAUTH_SERVERS  # server_endpoint values we trust for token validation
    scopes: tuple[str, ...] = ("crm", "catalog", "placement", "user")
    reconcile_minutes: float = 15.0  # how often each portal is asked what changed (0: never)
    operator_token: str = ""  # Bearer token for /status and /schema; unset: they answer 404
    trusted_proxies: tuple[str, ...] = ()  # addresses/networks whose X-Forwarded-For is believed
    event_max_age: float = 900.0  # seconds; older events are refused as replays
    extra: dict[str, Any] = field(default_factory=dict)

    def redacted(self) -> dict[str, Any]:
        out = asdict(self)
        for name in SECRET_FIELDS:
            if out.get(name):
                out[name] = "***"
        return out

    def check(self) -> Config:
        missing = [n for n in ("client_id", "client_secret", "encryption_key") if not getattr(self, n)]
        if missing:
            raise ConfigError("missing configuration: " + ", ".join(PREFIX + n.upper() for n in missing))
        if not self.public_url.startswith(("http://", "https://")):
            raise ConfigError(f"{PREFIX}PUBLIC_URL must be an http(s) URL, not {self.public_url!r}")
        try:
            networks(self.trusted_proxies)
        except ValueError as exc:
            raise ConfigError(f"{PREFIX}TRUSTED_PROXIES: {exc}") from exc
        return self


def _convert(name: str, raw: Any) -> Any:
    kind = {f.name: f.type for f in fields(Config)}[name]
    if kind in ("int", "float") and not isinstance(raw, int | float):
        try:
            return int(str(raw)) if kind == "int" else float(str(raw))
        except ValueError as exc:
            raise ConfigError(f"{PREFIX}{name.upper()} must be a number, not {raw!r}") from exc
    if kind.startswith("tuple") and isinstance(raw, str):
        return tuple(x.strip() for x in raw.split(",") if x.strip())
    if kind.startswith("tuple"):
        return tuple(raw)
    return raw


def load(file: str | Path | None = None, env: dict[str, str] | None = None, **overrides: Any) -> Config:
    """Defaults, then the environment, then ``file`` (or ``QBB24_CONFIG``), then ``overrides``."""
    env = dict(os.environ if env is None else env)
    names = {f.name for f in fields(Config)} - {"extra"}
    values: dict[str, Any] = {}
    for name in names:
        if PREFIX + name.upper() in env:
            values[name] = _convert(name, env[PREFIX + name.upper()])
    path = file or env.get(PREFIX + "CONFIG")
    if path:
        _warn_if_readable(Path(path))
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ConfigError(f"cannot read configuration file {path}: {exc}") from exc
        unknown = set(data) - names
        if unknown:
            raise ConfigError(f"unknown settings in {path}: {', '.join(sorted(unknown))}")
        values.update({k: _convert(k, v) for k, v in data.items()})
    values.update({k: _convert(k, v) for k, v in overrides.items() if k in names})
    return replace(Config(), **values)


def _warn_if_readable(path: Path) -> None:
    """A settings file holds the client secret and the encryption key: only its owner should read it."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return  # read_text says what is wrong
    if mode & 0o077:
        log.warning("configuration file %s can be read by other users (mode %o): chmod 600 it", path, mode)
