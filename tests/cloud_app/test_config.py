"""Configuration: defaults, then QBB24_* variables, then a JSON file, then explicit values; secrets
redacted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cloud_app.config import Config, ConfigError, load


def test_environment_then_file_then_overrides(tmp_path: Path) -> None:
    file = tmp_path / "settings.json"
    file.write_text(json.dumps({"port": 9000, "client_id": "from-file"}))
    env = {
        "QBB24_PORT": "8800",
        "QBB24_CLIENT_ID": "from-env",
        "QBB24_DATABASE": "/data/qb.db",
        "QBB24_OAUTH_SERVERS": "https://oauth.bitrix.info/rest/, https://oauth.bitrix24.tech/rest/",
    }
    config = load(file, env, client_id="explicit")
    assert config.port == 9000 and config.client_id == "explicit" and config.database == "/data/qb.db"
    assert config.oauth_servers == ("https://oauth.bitrix.info/rest/", "https://oauth.bitrix24.tech/rest/")
    assert config.agent_port == Config().agent_port  # untouched: the default
    assert load(env={"QBB24_CONFIG": str(file)}).port == 9000  # the file named by the environment


@pytest.mark.parametrize(
    ("env", "file_text", "message"),
    [
        ({"QBB24_PORT": "eighty"}, None, "QBB24_PORT must be a number"),
        ({}, '{"prot": 1}', "unknown settings"),
        ({}, "{not json", "cannot read configuration file"),
    ],
)
def test_bad_settings_say_which(
    tmp_path: Path, env: dict[str, str], file_text: str | None, message: str
) -> None:
    file = None
    if file_text is not None:
        file = tmp_path / "settings.json"
        file.write_text(file_text)
    with pytest.raises(ConfigError, match=message):
        load(file, env)


def test_check_names_the_missing_secrets_and_redacted_hides_them() -> None:
    with pytest.raises(ConfigError) as missing:
        load(env={"QBB24_CLIENT_ID": "app.1"}).check()
    assert "QBB24_CLIENT_SECRET" in str(missing.value) and "QBB24_ENCRYPTION_KEY" in str(missing.value)
    config = load(env={}, client_id="app.1", client_secret="s3cret", encryption_key="k3y").check()
    shown = json.dumps(config.redacted())
    assert "s3cret" not in shown and "k3y" not in shown and "app.1" in shown
    with pytest.raises(ConfigError, match="PUBLIC_URL"):
        load(env={}, client_id="a", client_secret="b", encryption_key="c", public_url="ftp://x").check()


def test_agents_are_told_the_public_host_on_the_agent_port(tmp_path: Path) -> None:
    from cloud_app.web import create_app

    from .test_serve import installed

    installed(tmp_path / "x.db", "p", "c")
    base = {"client_id": "a", "client_secret": "b", "encryption_key": "c", "database": str(tmp_path / "x.db")}
    for public, expected in [
        ("https://qb.example.com", "wss://qb.example.com:8701/agent/ws"),
        ("http://127.0.0.1:8700", "ws://127.0.0.1:8701/agent/ws"),
    ]:
        app = create_app(load(env={}, public_url=public, **base))
        code = app.extensions["qb"].agents.new_pairing_code("p")
        answer = app.test_client().post("/api/agents/pair", json={"code": code}).get_json()
        assert answer["ws_url"] == expected
    app = create_app(load(env={}, agent_public_url="wss://qb.example.com/agent/ws", **base))
    code = app.extensions["qb"].agents.new_pairing_code("p")
    assert app.test_client().post("/api/agents/pair", json={"code": code}).get_json()["ws_url"] == (
        "wss://qb.example.com/agent/ws"
    )


def test_a_settings_file_others_can_read_is_warned_about(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """It holds the client secret and the encryption key (issue 20: configuration 0600)."""
    path = tmp_path / "settings.json"
    path.write_text('{"client_secret": "s"}')
    path.chmod(0o644)
    with caplog.at_level("WARNING", logger="cloud_app.config"):
        load(path, env={})
    assert "chmod 600" in caplog.text and 's"' not in caplog.text
    caplog.clear()
    path.chmod(0o600)
    with caplog.at_level("WARNING", logger="cloud_app.config"):
        load(path, env={})
    assert caplog.text == ""
