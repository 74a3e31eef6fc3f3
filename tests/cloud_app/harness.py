"""The real cloud app on loopback, registered with the Bitrix24 emulator and installed the real way."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from flask import Flask
from werkzeug.serving import WSGIRequestHandler, make_server

from cloud_app.agents.relay import AgentRelay
from cloud_app.agents.store import AgentStore
from cloud_app.b24.client import Client
from cloud_app.config import Config, load
from cloud_app.services import Services
from cloud_app.web import create_app, services_of
from sandbox.bitrix24 import App, Bitrix24, Clock, Portal, running, seed_portal

CLIENT_ID = "app.66ba434d853c87.18550109"
SECRET = "market-secret"
OPERATOR_TOKEN = "operator-secret"


class _Quiet(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


@dataclass
class Cloud:
    emu: Bitrix24
    portal: Portal
    other: Portal
    config: Config
    app: Flask
    url: str
    _restart: Callable[[], Flask] | None = None

    def restart(self) -> None:
        """A new cloud process on the same database (the old one dropped without any cleanup, as after a
        kill): its relay on the same port, so the agent finds it again; results the old one stored but
        never acted on are applied by the new one, as at any start."""
        assert self._restart is not None
        self.app = self._restart()

    @property
    def services(self) -> Services:
        return services_of(self.app)

    def install(self, portal: Portal | None = None, *, finish: bool = True) -> None:
        portal = portal or self.portal
        answer = self.emu.install(portal, CLIENT_ID)
        assert answer.status_code == 200, answer.text
        if finish:
            self.emu.install_finish(portal, CLIENT_ID)

    def operator(self, path: str) -> requests.Response:
        """GET one of the operator's pages (``/status``, ``/schema``) with the operator token."""
        headers = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}
        return requests.get(self.url + path, headers=headers, timeout=30)

    def client(self, portal: Portal | None = None, **kw: Any) -> Client:
        return Client(self.services.portals, (portal or self.portal).member_id, CLIENT_ID, SECRET, **kw)


@contextmanager
def running_cloud(tmp: Path, clock: Clock | None = None, *, relay: bool = False) -> Iterator[Cloud]:
    """The emulator with two seeded portals and the cloud app; with ``relay`` the agent endpoint too."""
    emu = Bitrix24(clock or Clock())
    portal = seed_portal(emu, "acme.bitrix24.com")
    other = seed_portal(emu, "globex.bitrix24.com", seed=2)
    holder: dict[str, Flask] = {}
    server = make_server(
        "127.0.0.1", 0, lambda env, start: holder["app"](env, start), threaded=True, request_handler=_Quiet
    )
    url = f"http://127.0.0.1:{server.server_port}"
    with running(emu):
        config = load(
            env={},
            public_url=url,
            client_id=CLIENT_ID,
            client_secret=SECRET,
            encryption_key="test-key",
            database=str(tmp / "cloud.db"),
            oauth_servers=(emu.server_endpoint(),),
            operator_token=OPERATOR_TOKEN,
        )
        agents = AgentRelay(AgentStore(config.database)).start() if relay else None
        holder["app"] = create_app(config, relay=agents, bx24_js=emu.base_url + "/bx24.js")
        relays = [agents]
        apps = [holder["app"]]

        def restart() -> Flask:
            old = relays[-1]
            if old is not None:
                old.stop()
            services_of(holder["app"]).stop()  # the old process's loops end with it
            new = AgentRelay(AgentStore(config.database), port=old.port).start() if old else None
            relays.append(new)
            holder["app"] = create_app(config, relay=new, bx24_js=emu.base_url + "/bx24.js")
            apps.append(holder["app"])
            return holder["app"]
        emu.register_app(App(CLIENT_ID, SECRET, app_url=url + "/app", installer_url=url + "/install"))
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield Cloud(emu, portal, other, config, holder["app"], url, restart)
        finally:
            server.shutdown()
            server.server_close()
            services_of(holder["app"]).stop()
            if relays[-1] is not None:
                relays[-1].stop()
            close_databases(*apps)


def close_databases(*apps: Flask) -> None:
    """Close each app's SQLite connections once its loops have stopped. An open ``sqlite3.Connection`` sits
    in a reference cycle with its own statement cache, so a dropped one keeps its file descriptors (the
    database, its -wal and -shm) until the cyclic garbage collector happens to run: over a few hundred tests
    that held more than 1,024 descriptors, where ``select()`` (waitress) stops working.

    A portal's event handling runs on a thread of its own that ``Services.stop`` does not wait for, and a
    connection closed under a running statement crashes the process: those threads are waited for first,
    and one still busy after a few seconds leaves the connections to the garbage collector, as before."""
    busy = [t for t in threading.enumerate() if t.name.startswith(DATABASE_THREADS)]
    deadline = time.monotonic() + 5
    for thread in busy:
        thread.join(max(0.0, deadline - time.monotonic()))
    if any(t.is_alive() for t in busy):
        return
    for app in apps:
        services = services_of(app)
        services.portals.close()
        services.agents.close()


DATABASE_THREADS = ("events-", "replay-results", "results-")  # cloud_app/worker.py, web.py, agents/relay.py
