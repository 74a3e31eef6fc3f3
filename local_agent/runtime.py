"""The running agent: the QBWC endpoint, the queue and the cloud link wired together.

:class:`Relay` is the :class:`~local_agent.soap.session.Work` the session machine works on. The QBWC
session never waits on the network for more than ``follow_up_wait`` seconds: it works from the local
queue and, when that is empty, asks the cloud once for follow-up work and waits briefly for an offer.

When a session ends with a job in QuickBooks' hands and no answer (QBWC stopped, timed out, the PC slept),
a read-only job (only ``…QueryRq``) goes back to the queue — reading twice is harmless — while a job that
writes is marked *unknown*: the cloud resolves it with qbXML error recovery (``oldMessageSetID``) rather
than risk adding an invoice twice.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shared import wire

from . import plan
from .config import AgentConfig, private_write
from .kick import PERSON, Kicker
from .link import Link
from .queue import Queue
from .soap.session import HostInfo, Job

log = logging.getLogger("qb_agent")

_WRITE = re.compile(r"<\s*\w+(Add|Mod|Del|Void)Rq\b")


def read_only(qbxml: str) -> bool:
    """True when a document only queries (no Add/Mod/Del/Void request in it)."""
    return _WRITE.search(qbxml) is None


@dataclass
class Status:
    """What ``qb-agent status`` shows; written to ``status.json`` beside the config after each change."""

    link: str = "offline"
    link_detail: str = ""
    last_session_start: str | None = None
    last_session_end: str | None = None
    last_session_summary: str = ""
    company_file: str = ""
    product: str = ""
    supported_versions: tuple[str, ...] = ()
    last_error: str = ""
    endpoint: str = ""  # where the running agent serves the Web Connector (``qb-agent status`` asks it)
    running: bool = False  # False once the agent stopped cleanly


class Relay:
    def __init__(self, queue: Queue, link: Link | None, status_path: Path, *, follow_up_wait: float = 2.0):
        self.queue = queue
        self.link = link
        self.status_path = status_path
        self.follow_up_wait = follow_up_wait
        self.status = Status()
        self._offer = threading.Event()
        self._no_work = threading.Event()
        self._saving = threading.Lock()  # the link thread and the SOAP threads both record the status
        self.sessions_seen = 0
        self.kicker: Kicker | None = None  # asks the Web Connector to update now (kick.py)
        # what a session takes on (plan.py): people's jobs alone, bulk work in short sessions and hours
        self.bulk_seconds = float(AgentConfig.bulk_session_seconds)  # the setting's default, until set
        self.bulk_hours: plan.Hours | None = None
        self.monotonic: Callable[[], float] = time.monotonic
        self._plan: plan.SessionPlan | None = None
        self._plan_session = ""
        # The PC's own clock with its UTC offset (QuickBooks dates documents by it); the cloud takes the
        # company's calendar from it. A test puts the PC in another zone; None reports nothing.
        self.local_clock: Callable[[], datetime] | None = lambda: datetime.now().astimezone()

    # callbacks from the link thread
    def link_changed(self, state: Any) -> None:
        """The link went online/offline/revoked: ``qb-agent status`` shows it at once (a revoked token
        says "pair again" there, not only in the log)."""
        self._save()

    def offered(self, offer: wire.JobOffer) -> None:
        self._offer.set()
        if self.kicker is not None:  # the job is stored by now: the session the kick starts will find it
            self.kicker.work_arrived(offer.priority)

    def no_work(self, session_id: str) -> None:
        self._no_work.set()

    # -- Work --------------------------------------------------------------------------------------

    def _limit(self) -> int | None:
        """The highest priority the current session (or, between sessions, a new one) takes now."""
        if self._plan is not None:
            return self._plan.limit(self.monotonic())
        local = self.local_clock() if self.local_clock is not None else None
        return plan.allowed_now(self.bulk_hours, local)

    def wants_session(self) -> bool:
        if self.queue.pending(self._limit()) > 0:
            return True
        return self.link is not None and self.link.sync_requested.is_set()

    def _ask_cloud(self, session_id: str) -> None:
        """WantWork (sent after the results we hold), then wait briefly for an offer or "no work"."""
        if self.link is None or not self.link.online:
            return
        self._offer.clear()
        self._no_work.clear()
        if self.link.want_work(session_id):
            deadline = self.follow_up_wait
            step = 0.05
            while deadline > 0 and not self._offer.is_set() and not self._no_work.is_set():
                self._offer.wait(step)
                deadline -= step

    def follow_up(self, session_id: str) -> bool:
        self._ask_cloud(session_id)
        return self.remaining() > 0

    def next_job(self, session_id: str) -> Job | None:
        if self._plan_session != session_id:
            self._plan, self._plan_session = None, session_id
        stored = self.queue.next_job(self._limit())
        if stored is None and self.link is not None and self.link.online:
            self._ask_cloud(session_id)
            stored = self.queue.next_job(self._limit())
            if stored is None:  # the cloud was asked and had nothing: its request for a session is met
                self.link.sync_requested.clear()
        if stored is not None and self._plan is None:  # the session's first job decides what it takes on
            self._plan = plan.plan_for(stored.priority, self.monotonic(), bulk_seconds=self.bulk_seconds)
        if stored is None:
            return None
        self.queue.mark_sent(stored.job_id, session_id)
        if self.link is not None:
            self.link.post(
                wire.JobSent(job_id=stored.job_id, session_id=session_id, sent_at=datetime.now(UTC))
            )
        return Job(stored.job_id, stored.qbxml)

    def remaining(self) -> int:
        """Jobs this session would still take (what is left for later does not hold it open)."""
        return self.queue.pending(self._limit())

    def deliver(
        self, job_id: str, *, response: str | Iterable[str] | None, hresult: str | None, message: str | None
    ) -> None:
        self.queue.record_result(job_id, response=response, hresult=hresult, message=message)
        if self.link is not None:
            self.link.results_ready()

    def abandon(self, job_id: str, session_id: str) -> None:
        stored = self.queue.get_job(job_id)
        if stored is None or stored.state != "sent":
            return
        if read_only(stored.qbxml):
            self.queue.retry_job(job_id)
            log.warning("job %s had no answer when the session ended; it is queued again", job_id)
        else:
            self.queue.answer_lost(job_id)
            log.warning("job %s had no answer when the session ended; reported as unknown", job_id)
            if self.link is not None:
                self.link.results_ready()

    def session_started(self, session_id: str, info: HostInfo) -> None:
        self.sessions_seen += 1
        if self.kicker is not None:
            self.kicker.session_started()
        now = datetime.now(UTC)
        self.status.last_session_start = now.isoformat()
        self.status.company_file = info.company_file
        self.status.product = info.product
        self.status.supported_versions = info.supported_versions
        self._save()
        local = self.local_clock() if self.local_clock is not None else None
        self._tell(wire.SessionStarted(
            session_id=session_id, company_file=info.company_file, product=info.product,
            qb_version=info.qb_version, country=info.country, supported_versions=info.supported_versions,
            started_at=now, local_time=local))  # fmt: skip

    def session_ended(self, session_id: str, summary: str, error: str | None) -> None:
        self.recover_unknowns()
        now = datetime.now(UTC)
        self.status.last_session_end = now.isoformat()
        self.status.last_session_summary = summary
        if error:
            self.status.last_error = error
        self._save()
        self._plan, self._plan_session = None, ""
        if self.kicker is not None:
            self.kicker.session_ended(work_left=self.queue.pending(PERSON) > 0)
        requests_, errors = _counts(summary)
        self._tell(
            wire.SessionEnded(
                session_id=session_id,
                ended_at=now,
                requests=requests_,
                errors=errors,
                summary=summary,
                error=error,
            )
        )

    def recover_unknowns(self) -> tuple[int, int]:
        """After every session (as at start): a job still "sent" was handed to QuickBooks by a session that
        is over, and its answer was never stored. Sessions never overlap (a second authenticate is told
        "busy"), so none of them is still in QuickBooks' hands: reads are queued again, writes reported
        "answer lost" so the cloud asks QuickBooks what became of them — never left "sent"."""
        again, lost = self.queue.recover(read_only)
        if again or lost:
            log.warning("after a session: %d read(s) queued again, %d write(s) reported unknown", again, lost)
        if lost and self.link is not None:
            self.link.results_ready()
        return again, lost

    def connection_error(self, session_id: str, hresult: str, message: str) -> None:
        self.status.last_error = f"{hresult}: {message}"
        self._save()
        self._tell(
            wire.QuickBooksUnreachable(
                session_id=session_id or "-", hresult=hresult, message=message, at=datetime.now(UTC)
            )
        )

    def sign_ins_paused(self, message: str) -> None:
        log.warning("%s", message)
        self.status.last_error = message
        self._save()

    # -- helpers -------------------------------------------------------------------------------------

    def _tell(self, message: wire.Message) -> None:
        if self.link is not None:
            self.link.send(message)

    def serving(self, endpoint: str, running: bool) -> None:
        """The agent started (its endpoint) or stopped: status tells the truth about it."""
        self.status.endpoint, self.status.running = endpoint, running
        self._save()

    def _save(self) -> None:
        if self.link is not None:
            self.status.link, self.status.link_detail = self.link.status.state, self.link.status.detail
        data: dict[str, Any] = asdict(self.status)
        with self._saving:
            private_write(self.status_path, json.dumps(data, indent=2))


def _counts(summary: str) -> tuple[int, int]:
    numbers = [int(n) for n in re.findall(r"(\d+) (?:request|error)", summary)]
    return (numbers + [0, 0])[0], (numbers + [0, 0])[1]
