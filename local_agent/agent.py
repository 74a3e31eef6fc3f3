"""One agent process: the queue, the cloud link, the session machine and the QBWC endpoint."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

from . import config as cfg
from . import plan, qwc, support
from .kick import Kicker, KickError, opener_for
from .link import Link
from .local_page import LocalPage, state_of, with_page
from .queue import Queue
from .runtime import Relay, read_only
from .soap.door import LOOPBACK_HOSTS, screen
from .soap.server import Endpoint
from .soap.service import make_app
from .soap.session import Sessions, Settings
from .spool import FileSpool

log = logging.getLogger(__name__)


class Agent:
    def __init__(
        self, home: Path, config: cfg.AgentConfig, *, follow_up_wait: float = 2.0, **link_options: Any
    ) -> None:
        self.home = cfg.private_home(home)
        self.config = config
        self.queue = Queue(home / "queue.db")
        self.relay = Relay(self.queue, None, home / "status.json", follow_up_wait=follow_up_wait)
        self.link = Link(
            config.ws_url, config.agent_token, self.queue, agent_id=config.agent_id,
            agent_version=_version(), proxy=config.proxy, verify_tls=config.verify_tls,
            on_offer=self.relay.offered, on_no_work=self.relay.no_work, on_state=self.relay.link_changed,
            **link_options,
        )  # fmt: skip
        self.relay.link = self.link
        try:
            opener = opener_for(config.kick)
        except KickError as exc:  # a typo in agent.json must not stop the agent: the schedule still runs
            log.warning("%s; the agent waits for the Web Connector's schedule instead", exc)
            opener = None
        self.kicker = Kicker(opener, qwc.from_config(config).app_name)
        self.relay.bulk_seconds = max(1, config.bulk_session_seconds)
        try:
            self.relay.bulk_hours = plan.parse_hours(config.bulk_hours)
        except plan.HoursError as exc:
            log.warning("%s; bulk work runs at any hour", exc)
        self.relay.kicker = self.kicker
        self.sessions = Sessions(
            Settings(user_name=config.user_name, password_hash=config.password_hash,
                     company_file=config.company_file),
            self.relay,
            spool=lambda: FileSpool(self.home),  # an iterator read's pages wait on disk, not in memory
        )  # fmt: skip
        app = make_app(self.sessions, max_body=config.max_request_mb * 1024 * 1024,
                       log_payloads=config.log_payloads, hosts=(config.host,))  # fmt: skip
        hosts = LOOPBACK_HOSTS | {config.host.lower()}
        page = support.make_app(self.support_state, lambda environ: screen(environ, hosts))
        self.endpoint = Endpoint(app, host=config.host, port=config.port, pages={support.SUPPORT_PATH: page})
        # the agent's own page at / (state, the .qwc): beside the Web Connector's endpoint
        self.page = LocalPage(home, pair=_pair_refused, state=lambda: state_of(home / "status.json"))
        self.endpoint.server.app = with_page(self.page, self.endpoint.server.app)

    def support_state(self) -> support.SupportState:
        """What the AppSupport page shows: no secrets, only what ``qb-agent status`` prints."""
        return support.SupportState(
            portal=self.config.portal, link=self.link.status.state, last_session=self.sessions.last_summary,
            last_error=self.sessions.last_error, pending=int(self.queue.depth().get("pending", 0)),
        )  # fmt: skip

    @property
    def endpoint_url(self) -> str:
        return self.endpoint.url

    @property
    def revoked(self) -> bool:
        return self.link.status.state == "revoked"

    @property
    def link_detail(self) -> str:
        return self.link.status.detail

    def start(self) -> Agent:
        # jobs left "sent" were in QuickBooks' hands when the agent stopped: reads run again, a write is
        # reported "answer lost" and the cloud learns from QuickBooks whether it landed
        again, lost = self.queue.recover(read_only)
        if again or lost:
            log.warning("after a restart: %d read(s) queued again, %d write(s) reported unknown", again, lost)
        self.link.start()
        self.endpoint.start()
        self.relay.serving(self.endpoint.url, True)
        return self

    def stop(self) -> None:
        self.endpoint.stop()
        self.link.stop()
        self.relay.serving(self.endpoint.url, False)
        pinned = self.sessions.pinned_company_file
        if pinned and pinned != self.config.company_file:
            self.config = replace(self.config, company_file=pinned)
            cfg.save(self.home, self.config)
        self.queue.close()


def _pair_refused(home: Path, server: str, code: str) -> tuple[cfg.AgentConfig, str, Path]:
    from .pairing import PairingError
    from .words import say

    raise PairingError(say("en", "pair.paired_already"), "pair.paired_already")


def _version() -> str:
    from .cli import version

    return version()
