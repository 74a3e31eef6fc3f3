"""Where the agent keeps its settings, and that its secrets stay private."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from local_agent import config as cfg


def test_default_home_per_platform(monkeypatch: pytest.MonkeyPatch) -> None:
    assert cfg.default_home({"QB_AGENT_HOME": "/x"}) == Path("/x")
    assert cfg.default_home({"XDG_CONFIG_HOME": "/cfg", "HOME": "/h"}) == Path("/cfg/qb-bitrix24-agent")
    assert cfg.default_home({"HOME": "/h"}) == Path("/h/.config/qb-bitrix24-agent")
    monkeypatch.setattr(cfg.sys, "platform", "win32")
    appdata = "C:\\Users\\bk\\AppData\\Roaming"
    assert cfg.default_home({"APPDATA": appdata}) == Path(appdata) / "QB-Bitrix24 Agent"


def test_saved_config_is_owner_only_and_round_trips(tmp_path: Path) -> None:
    home = tmp_path / "agent"
    config = cfg.update(home, agent_token="tok-secret", ws_url="wss://x/agent/ws", password_hash="scrypt$a$b")
    path = cfg.config_path(home)
    if os.name != "nt":
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(home.stat().st_mode) == 0o700
    assert cfg.load(home) == config
    assert "tok-secret" not in str(config.redacted())


def test_owner_and_file_ids_are_stable_guids(tmp_path: Path) -> None:
    first = cfg.update(tmp_path, portal="a.bitrix24.com")
    second = cfg.update(tmp_path, portal="b.bitrix24.com")
    assert first.owner_id == second.owner_id and first.file_id == second.file_id
    owner = first.owner_id
    assert owner.startswith("{") and owner.endswith("}") and owner.upper() == owner and len(owner) == 38


def test_missing_or_broken_config_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(cfg.ConfigError, match="qb-agent pair"):
        cfg.load(tmp_path)
    cfg.config_path(tmp_path).write_text("[1, 2]")
    with pytest.raises(cfg.ConfigError, match="not a JSON object"):
        cfg.load(tmp_path)
    cfg.config_path(tmp_path).write_text("{not json")
    with pytest.raises(cfg.ConfigError, match="cannot be read"):
        cfg.load(tmp_path)
