"""``python -m cloud_app serve``: the whole cloud process — the HTTP app under waitress and the agent
WebSocket relay — on two ports of one process.

* HTTP (installer, frames, events, page API, pairing, ``/healthz``, ``/status``, ``/schema``) on
  ``QBB24_HOST:QBB24_PORT`` (default 127.0.0.1:8700);
* the agents' WebSocket ``/agent/ws`` on ``QBB24_HOST:QBB24_AGENT_PORT`` (default 8701);
* every ``QBB24_RECONCILE_MINUTES`` (15), the reconciliation that catches events Bitrix24 never sent.

Behind a TLS reverse proxy both live under one public origin: ``/agent/ws`` goes to the agent port with
the ``Upgrade``/``Connection`` headers passed on, everything else to the HTTP port (see README).
"""

from __future__ import annotations

import logging
import signal
import threading
from datetime import UTC, datetime, timedelta
from types import FrameType

from waitress.server import create_server

from . import customer_sync, offline, qb_changes
from .agents.relay import AgentRelay
from .agents.store import AgentStore
from .config import Config
from .reconcile import Reconciler
from .web import BX24_JS, create_app, services_of

log = logging.getLogger("qb_cloud")
REPLAY_EVERY = 60.0  # seconds


class Running:
    """The started process: stop() shuts both servers down (tests, Ctrl-C, SIGTERM)."""

    def __init__(self, config: Config, *, threads: int = 8, bx24_js: str | None = None) -> None:
        """``bx24_js``: where pages load BX24.js from (the sandbox serves its own; default Bitrix24's)."""
        config.check()
        self.relay = AgentRelay(AgentStore(config.database), host=config.host, port=config.agent_port)
        self.app = create_app(config, relay=self.relay, bx24_js=bx24_js or BX24_JS)
        self.relay.start()
        self.http = create_server(
            self.app, host=config.host, port=config.port, threads=threads, ident="qb-cloud"
        )
        self.port = int(self.http.effective_port)  # type: ignore[union-attr]  # not in types-waitress
        services = services_of(self.app)
        self.reconciler = Reconciler(
            services.portals,
            services.client,
            config.reconcile_minutes,
            after=lambda member_id: qb_changes.poll(services, member_id),
            found=services.worker.kick,
        )
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    def start(self) -> Running:
        self._thread = threading.Thread(target=self.http.run, name="http", daemon=True)
        self._thread.start()
        if self.reconciler.minutes > 0:
            self.reconciler.start()
            assert self.reconciler.supervised is not None
            services_of(self.app).workers.append(self.reconciler.supervised)  # /healthz watches it
        threading.Thread(target=self._replay, name="replay-results", daemon=True).start()
        self._pending_events()
        return self

    def _pending_events(self) -> None:
        """Events a previous process stored but never handled (it was killed first) are handled now:
        Bitrix24 sends each event once, and with the offline queue it wakes us up only once until the
        queue is read — without this nothing would ever come back for them."""
        services = services_of(self.app)
        for portal in services.portals.portals():
            member_id = portal.member_id
            if portal.state == "active" and (
                services.portals.count_events(member_id)
                or services.portals.count_events(member_id, customer_sync.LINKING)  # linked since?
                or offline.enabled(services, member_id)
            ):
                services.worker.kick(member_id)

    def _replay(self) -> None:
        """Every minute, results whose hook did not run to its end (it failed: Bitrix24 refused a search,
        a bug) are applied again — a long job never waits for a restart to carry on."""
        while not self._stopping.wait(REPLAY_EVERY):
            try:
                self.relay.replay(before=datetime.now(UTC) - timedelta(seconds=REPLAY_EVERY))
            except Exception:  # noqa: BLE001 - the loop outlives one bad round
                log.exception("applying stored results again failed")

    def stop(self) -> None:
        self._stopping.set()
        self.reconciler.stop()
        services_of(self.app).stop()
        self.http.close()
        self.relay.stop()
        if self._thread is not None:
            self._thread.join(timeout=10)


def serve(config: Config) -> int:
    running = Running(config)
    log.info(
        "serving HTTP on http://%s:%s and agents on %s (public URL %s)",
        config.host,
        running.port,
        running.relay.url,
        config.public_url,
    )
    log.info("configuration: %s", config.redacted())
    done = threading.Event()

    def stop(signum: int, frame: FrameType | None) -> None:
        done.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    running.start()
    done.wait()
    log.info("stopping")
    running.stop()
    return 0
