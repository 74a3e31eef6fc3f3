"""A running emulator with a seeded portal, and a little app server that records what Bitrix24 sends it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
from flask import Flask, request
from werkzeug.serving import make_server

from sandbox.bitrix24 import App, Bitrix24, Clock, Portal, running, seed_portal


@dataclass
class Received:
    path: str
    query: dict[str, str]
    form: dict[str, str]


@dataclass
class AppServer:
    url: str
    got: list[Received] = field(default_factory=list)

    def events(self, name: str | None = None) -> list[dict[str, str]]:
        return [
            r.form for r in self.got if r.path == "/events" and (name is None or r.form.get("event") == name)
        ]


@pytest.fixture
def app_server() -> Iterator[AppServer]:
    flask_app = Flask("app-under-test")
    server_box: dict[str, AppServer] = {}

    @flask_app.route("/<path:path>", methods=["GET", "POST"])
    def anything(path: str) -> str:
        server_box["s"].got.append(Received("/" + path, request.args.to_dict(), request.form.to_dict()))
        return "<html><body>app page</body></html>"

    server = make_server("127.0.0.1", 0, flask_app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    server_box["s"] = AppServer(f"http://127.0.0.1:{server.server_port}")
    try:
        yield server_box["s"]
    finally:
        server.shutdown()


@dataclass
class World:
    emu: Bitrix24
    portal: Portal
    app: App
    clock: Clock
    hook: str  # webhook base URL (admin)

    @property
    def rest(self) -> str:
        return self.emu.client_endpoint(self.portal)

    def call(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        *,
        token: str | None = None,
        hook: bool = False,
    ) -> requests.Response:
        if hook:
            return requests.post(self.hook + method, json=params or {}, timeout=10)
        return requests.post(self.rest + method, json={**(params or {}), "auth": token}, timeout=10)

    def tokens(self, user_id: int = 1) -> dict[str, Any]:
        return self.emu.token_pair(self.portal, self.app.client_id, user_id)

    def installed(self, finish: bool = True) -> str:
        """Install the app (installer POST), optionally finish; return an admin access token."""
        self.emu.install(self.portal, self.app.client_id)
        if finish:
            self.emu.install_finish(self.portal, self.app.client_id)
        return str(self.tokens()["access_token"])


@pytest.fixture
def world(app_server: AppServer) -> Iterator[World]:
    clock = Clock(1_795_000_000.0)
    emu = Bitrix24(clock)
    portal = seed_portal(emu)
    app = emu.register_app(
        App(
            "app.5f1a2b3c4d5e6f.12345678",
            "s3cr3t",
            app_url=app_server.url + "/app",
            installer_url=app_server.url + "/install",
            redirect_uri=app_server.url + "/oauth",
        )
    )
    with running(emu):
        code = portal.add_webhook(1)
        yield World(emu, portal, app, clock, f"{emu.client_endpoint(portal)}1/{code}/")
