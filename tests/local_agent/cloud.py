"""The real cloud pieces an agent talks to — pairing HTTP and the relay WebSocket — on loopback."""

from __future__ import annotations

import http
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask
from websockets.asyncio.server import ServerConnection
from websockets.http11 import Request, Response
from werkzeug.serving import make_server

from cloud_app.agents.http import blueprint
from cloud_app.agents.relay import AgentRelay
from cloud_app.agents.store import AgentRow, AgentStore, JobRow
from shared import wire


class HoldingRelay(AgentRelay):
    """The real relay, except that it can stop acknowledging results (a cloud that fell over), refuse
    the next few handshakes with 401 whatever the token (a cloud mid-deploy, a proxy restarting), and stop
    reading at piece ``hold_at_piece`` of an answer until that connection closes (``held`` is set then).
    ``seen``: the type of every message it handled, in order."""

    drop_acks = False
    refuse_handshakes = 0
    hold_at_piece: int | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.seen: list[str] = []
        self.held = threading.Event()

    async def _handle(self, ws: ServerConnection, agent: AgentRow, message: wire.Message) -> None:
        self.seen.append(message.type)
        if isinstance(message, wire.ResultChunk) and message.index == self.hold_at_piece:
            self.hold_at_piece = None
            self.held.set()
            await ws.wait_closed()  # what the agent sends meanwhile waits unread, then is dropped
            return
        await super()._handle(ws, agent, message)

    def _check(self, connection: ServerConnection, request: Request) -> Response | None:
        if self.refuse_handshakes > 0:
            self.refuse_handshakes -= 1
            return connection.respond(http.HTTPStatus.UNAUTHORIZED, "Unknown or revoked agent token\n")
        return super()._check(connection, request)

    async def _ack(self, ws: ServerConnection, job_id: str) -> None:
        if not self.drop_acks:
            await super()._ack(ws, job_id)


@dataclass
class Cloud:
    store: AgentStore
    relay: HoldingRelay
    url: str
    results: list[JobRow] = field(default_factory=list)
    events: list[wire.Message] = field(default_factory=list)
    got_result: threading.Condition = field(default_factory=threading.Condition)

    def restart_relay(
        self, down_for: float = 0.0, refuse_handshakes: int = 0, features: tuple[str, ...] | None = None
    ) -> None:
        """The cloud process goes away and comes back on the same port, with the same store (and, given
        ``features``, as another release: ``()`` is a cloud from before any feature)."""
        port, hooks = self.relay.port, (self.relay.on_result, self.relay.on_event)
        features = self.relay.features if features is None else features
        self.relay.stop()
        time.sleep(down_for)
        relay = HoldingRelay(self.store, port=port, on_result=hooks[0], on_event=hooks[1], features=features)
        relay.refuse_handshakes = refuse_handshakes
        self.relay = relay.start()

    def wait_results(self, n: int, timeout: float = 10) -> list[JobRow]:
        with self.got_result:
            self.got_result.wait_for(lambda: len(self.results) >= n, timeout=timeout)
        return list(self.results)


@contextmanager
def running_cloud(tmp: Path) -> Iterator[Cloud]:
    store = AgentStore(str(tmp / "cloud.db"))
    cloud: Cloud | None = None

    def on_result(portal: str, job: JobRow) -> None:
        assert cloud is not None
        with cloud.got_result:
            cloud.results.append(job)
            cloud.got_result.notify_all()

    def on_event(portal: str, message: wire.Message) -> None:
        assert cloud is not None
        cloud.events.append(message)

    relay = HoldingRelay(store, on_result=on_result, on_event=on_event).start()
    app = Flask("cloud")
    app.register_blueprint(blueprint(store, lambda: relay.url))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    cloud = Cloud(store, relay, f"http://127.0.0.1:{server.server_port}")
    try:
        yield cloud
    finally:
        server.shutdown()
        server.server_close()
        cloud.relay.stop()
        store.close()
