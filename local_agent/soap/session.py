"""The Web Connector session as a state machine — every QBWC answer decided here, without SOAP.

Contract: ``../shared/specs/quickbooks-webconnector.md`` §1–§2. The SOAP layer (``service.py``) only
translates envelopes into calls on :class:`Sessions`; the queue and the cloud link sit behind the
:class:`Work` protocol. Decisions worth knowing:

* Success is an **empty** ``hresult``; a non-empty one means QuickBooks refused that one document (e.g.
  0x80040400, a parse failure): the job gets that as its result and the session goes on with the next job.
  A negative percentage is returned only when the session itself is broken (unknown ticket, a response
  nobody asked for), because QBWC then stops the whole update.
* ``authenticate`` compares the user name and a salted scrypt hash of the password in constant time;
  a wrong pair answers ``nvu``. Wrong pairs are braked by one token bucket (``throttle.py``): once it is
  empty every ``authenticate`` answers ``nvu`` at once, unchecked, until it refills.
  While another session is active the answer is ``busy``. With nothing queued
  the answer is ``none`` — except when the agent has never seen this QuickBooks (it needs the host and
  company facts that only a session's first ``sendRequestXML`` carries), or when the cloud says to sync.
* Iterators are continued inside the session (``iterate.py``) and their pages merged into one result;
  the pages wait in the spool the agent gives (temporary files) and the merged answer reaches the queue as
  a stream of text, never whole in memory.
* The company file is pinned on first use; a session on another file does nothing and says why.
* Every call but ``authenticate`` needs a ticket it handed out: an unknown or expired one gets the
  documented answer (``""``, ``-1``, ``"done"``, a fixed text) and changes nothing — no last error, no word
  to the cloud (issue 20: a forged ``connectionError`` set the portal's "Last error").
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

from shared.qbxml.errors import QbxmlError
from shared.qbxml.status import WRONG_FILE, WRONG_FILE_CODE, connection_cause, explain_hresult
from shared.qbxml.xml import parse_xml

from . import iterate
from .throttle import Throttle

SERVER_VERSION = "qb-bitrix24 agent"
NOOP = "NoOp"
NVU = "nvu"  # authenticate [1]: not a valid user
NONE = "none"  # authenticate [1]: no work now
BUSY = "busy"  # authenticate [1]: try later
DONE = "done"  # connectionError: stop trying
UNKNOWN_TICKET = "Unknown or expired ticket; the Web Connector will start a new session."
# QBWC pauses ~5 s after NoOp; a few pauses let the cloud answer "more work?" without stalling an update.
MAX_NOOPS = 3


# -- credentials -------------------------------------------------------------------------------------


def hash_password(password: str, salt: bytes | None = None) -> str:
    """``scrypt$<salt hex>$<hash hex>`` — what the config stores instead of the Web Connector password."""
    salt = salt if salt is not None else os.urandom(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=2**14, r=8, p=1, dklen=32)
    return f"scrypt${salt.hex()}${digest.hex()}"


def check_password(password: str, stored: str) -> bool:
    """Is ``password`` the one hashed in ``stored``? Runs on one dedicated thread (see below)."""
    return _checker.submit(_check_password, password, stored).result()


# scrypt needs a 16 MB block (n=2**14, r=8). glibc gives each thread its own malloc arena and keeps the
# block in every arena that ever ran one: checks from 8 server threads kept ~115 MB for good (measured,
# bench/agent_soap.py). On one thread the block is reused — constant memory however many callers.
_checker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="password-check")


def _check_password(password: str, stored: str) -> bool:
    try:
        scheme, salt_hex, digest_hex = stored.split("$")
        salt = bytes.fromhex(salt_hex)
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    candidate = hash_password(password, salt).split("$")[2]
    return hmac.compare_digest(candidate, digest_hex)


def new_password() -> str:
    """A password a person can type into the Web Connector once (about 80 bits)."""
    return "-".join(secrets.token_hex(2) + secrets.token_hex(1) for _ in range(3)).upper()


# -- what the session works on -----------------------------------------------------------------------


@dataclass(frozen=True)
class Job:
    job_id: str
    qbxml: str


@dataclass(frozen=True)
class HostInfo:
    """What the first ``sendRequestXML`` says about QuickBooks and the open company file."""

    company_file: str
    country: str
    product: str
    qb_version: str
    supported_versions: tuple[str, ...]
    company_name: str = ""


class Work(Protocol):
    """The queue and the cloud as the session sees them."""

    def wants_session(self) -> bool:
        """Is there anything to do (queued jobs, or the cloud asked for a sync)?"""
        ...

    def next_job(self, session_id: str) -> Job | None:
        """The next job for this session (may ask the cloud briefly); None when there is nothing."""
        ...

    def remaining(self) -> int:
        """Jobs known to be waiting, for the percent-done figure."""
        ...

    def follow_up(self, session_id: str) -> bool:
        """Nothing is waiting: ask the cloud (briefly) whether the answer just delivered brings more."""
        ...

    def deliver(
        self, job_id: str, *, response: str | Iterable[str] | None, hresult: str | None, message: str | None
    ) -> None:
        """The job's outcome: exactly one of response (whole, or its text in pieces to store as they
        come) / hresult."""
        ...

    def abandon(self, job_id: str, session_id: str) -> None:
        """The session ended with this job handed to QuickBooks but no answer back."""
        ...

    def session_started(self, session_id: str, info: HostInfo) -> None: ...

    def session_ended(self, session_id: str, summary: str, error: str | None) -> None: ...

    def connection_error(self, session_id: str, hresult: str, message: str) -> None: ...

    def sign_ins_paused(self, message: str) -> None:
        """Wrong passwords emptied the throttle: say so where the bookkeeper looks (status, log)."""
        ...


@dataclass(frozen=True)
class Settings:
    user_name: str
    password_hash: str
    company_file: str | None = None  # pinned company file; None = pin the first one seen
    ticket_ttl: timedelta = timedelta(minutes=30)
    wait_before_next: int | None = None  # authenticate [2]: seconds before the next update
    run_every: int | None = None  # authenticate [3]: run every N seconds (overrides the .qwc)


@dataclass
class _Session:
    ticket: str
    started: datetime
    seen: datetime
    host: HostInfo | None = None
    job: Job | None = None  # the job (its first document) in QuickBooks' hands
    sent_xml: str | None = None  # the document QuickBooks is working on now (a page of ``job``)
    merged: iterate.Pages | None = None  # pages so far, when ``job`` is an iterator read
    waiting: list[iterate.Pending] = field(default_factory=list)
    requests: int = 0
    done: int = 0
    errors: int = 0
    noops: int = 0
    last_error: str = ""
    stop_error: str = ""  # set → sendRequestXML answers "" and getLastError tells why (not NoOp)
    closed: bool = False


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _norm_path(path: str) -> str:
    return path.strip().replace("/", "\\").lower()


class Sessions:
    """All tickets of one agent. Not thread-safe by itself: the SOAP layer serialises calls."""

    def __init__(
        self,
        settings: Settings,
        work: Work,
        *,
        clock: Callable[[], datetime] | None = None,
        throttle: Throttle | None = None,
        spool: Callable[[], iterate.Spool] = iterate.MemorySpool,
    ) -> None:
        self.settings = settings
        self.spool = spool  # where an iterator read's pages wait (the agent: temporary files)
        self.work = work
        self.clock = clock or (lambda: datetime.now(UTC))
        self.throttle = throttle or Throttle()
        self._sessions: dict[str, _Session] = {}
        self.pinned_company_file = settings.company_file
        self.last_host: HostInfo | None = None
        self.last_summary: str = ""
        self.last_error: str = ""

    # -- helpers ----------------------------------------------------------------------------------

    def _expire(self) -> None:
        now = self.clock()
        for s in list(self._sessions.values()):
            if not s.closed and now - s.seen > self.settings.ticket_ttl:
                self._finish(s, error="The Web Connector stopped answering; the session expired.")
            if s.closed and now - s.seen > self.settings.ticket_ttl * 2:
                del self._sessions[s.ticket]

    def _get(self, ticket: str) -> _Session | None:
        self._expire()
        s = self._sessions.get(ticket)
        if s is None or s.closed:
            return None
        s.seen = self.clock()
        return s

    def active(self) -> _Session | None:
        self._expire()
        return next((s for s in self._sessions.values() if not s.closed), None)

    def _drop_pages(self, s: _Session) -> None:
        if s.merged is not None:
            s.merged.close()
            s.merged = None

    def _finish(self, s: _Session, error: str | None = None) -> str:
        self._drop_pages(s)
        if s.job is not None:
            self.work.abandon(s.job.job_id, s.ticket)
            s.job = None
        s.closed = True
        summary = f"{_plural(s.requests, 'request')}, {_plural(s.errors, 'error')}"
        if error or s.stop_error:
            summary += f" — {error or s.stop_error}"
        self.last_summary = summary
        self.work.session_ended(s.ticket, summary, error or s.stop_error or None)
        return summary

    def _progress(self, s: _Session) -> int:
        """After a response: 100 ends the session at once (QBWC calls closeConnection), so before saying
        it, let the cloud answer with follow-up work (a lookup's result often brings the write)."""
        percent = self._percent(s)
        if percent == 100 and not s.waiting and self.work.follow_up(s.ticket):
            percent = self._percent(s)
        return percent

    def _percent(self, s: _Session) -> int:
        left = self.work.remaining() + (1 if s.waiting else 0)
        if left <= 0:
            return 100
        return min(99, int(100 * s.done / (s.done + left)))

    # -- the QBWC operations ----------------------------------------------------------------------

    def server_version(self) -> str:
        return SERVER_VERSION

    def client_version(self, version: str) -> str:
        # Every QBWC 2.x speaks the operations we use; nothing to warn about.
        return ""

    def authenticate(self, user_name: str, password: str) -> list[str]:
        now = self.clock()
        if not self.throttle.allows(now):
            return ["", NVU]  # unchecked: see throttle.py
        user_ok = hmac.compare_digest(user_name.encode("utf-8"), self.settings.user_name.encode("utf-8"))
        password_ok = check_password(password, self.settings.password_hash)
        if not (user_ok and password_ok):
            self.throttle.failed(now)
            self.last_error = "The Web Connector sent a wrong user name or password."
            if not self.throttle.allows(now):
                wait = int(self.throttle.wait(now).total_seconds()) + 1
                self.last_error = (
                    "The Web Connector sent wrong passwords several times in a row; sign-ins are paused "
                    f"for {wait} seconds. Check the password in the Web Connector (or pair again)."
                )
                self.work.sign_ins_paused(self.last_error)
            return ["", NVU]
        if self.active() is not None:
            return ["", BUSY, *self._timing()]
        ticket = str(uuid.uuid4())
        if self.last_host is not None and not self.work.wants_session():
            return [ticket, NONE, *self._timing()]
        now = self.clock()
        self._sessions[ticket] = _Session(ticket=ticket, started=now, seen=now)
        return [ticket, self.pinned_company_file or "", *self._timing()]

    def _timing(self) -> list[str]:
        out: list[str] = []
        if self.settings.wait_before_next is not None or self.settings.run_every is not None:
            out.append(str(self.settings.wait_before_next or 0))
        if self.settings.run_every is not None:
            out.append(str(self.settings.run_every))
        return out

    def send_request_xml(
        self, ticket: str, hcp_response: str, company_file: str, country: str, major: int, minor: int
    ) -> str:
        s = self._get(ticket)
        if s is None:
            return ""  # QBWC asks getLastError next, which says so
        if s.host is None:
            info = host_info(hcp_response, company_file, country, major, minor)
            s.host = info
            self.last_host = info
            if self.pinned_company_file is None:
                self.pinned_company_file = company_file
            elif _norm_path(company_file) != _norm_path(self.pinned_company_file):
                s.stop_error = (
                    f"QuickBooks has {company_file!r} open, but this agent is paired with "
                    f"{self.pinned_company_file!r}. Open that company file in QuickBooks; nothing was sent."
                )
                self.work.connection_error(s.ticket, "wrong-company-file", s.stop_error)
                return ""
            self.work.session_started(s.ticket, info)
        if s.stop_error:
            return ""
        if s.job is not None and s.waiting:  # an iterator to continue
            assert s.sent_xml is not None
            s.sent_xml = iterate.continuation(s.job.qbxml, s.waiting)
            s.requests += 1
            return s.sent_xml
        if s.job is not None:
            # QBWC asked again without answering: the earlier document's fate is unknown.
            self.work.abandon(s.job.job_id, s.ticket)
            s.job = None
        job = self.work.next_job(s.ticket)
        if job is None:
            s.noops += 1
            return ""
        s.noops = 0
        self._drop_pages(s)
        s.job, s.sent_xml, s.waiting = job, job.qbxml, []
        s.requests += 1
        return job.qbxml

    def receive_response_xml(self, ticket: str, response: str, hresult: str, message: str) -> int:
        s = self._get(ticket)
        if s is None:
            return -1
        if s.job is None:
            s.last_error = "A response arrived for no request; the session is out of step."
            return -1
        job = s.job
        if hresult:
            meaning, todo = explain_hresult(hresult)
            s.errors += 1
            s.last_error = f"{meaning} ({hresult}): {message}".strip()
            s.job, s.waiting = None, []
            self._drop_pages(s)
            self.work.deliver(job.job_id, response=None, hresult=hresult, message=message or meaning)
            s.done += 1
            return self._progress(s)
        try:
            more = iterate.pending(response)
            pages = s.merged
            if pages is not None:
                pages.add(response, s.waiting)
            elif more:  # the first page of an iterator read: the rest follow in this session
                pages = s.merged = iterate.Pages(response, self.spool())
        except (QbxmlError, ValueError) as exc:
            s.errors += 1
            s.job, s.waiting = None, []
            self._drop_pages(s)
            self.work.deliver(job.job_id, response=None, hresult="agent-unreadable", message=str(exc))
            s.done += 1
            return self._progress(s)
        if more:
            s.merged, s.waiting = pages, more
            return self._progress(s)
        s.job, s.waiting = None, []
        try:  # the whole answer: one page, or every page merged (streamed from the spool)
            self.work.deliver(job.job_id, response=response if pages is None else pages.pieces(),
                              hresult=None, message=None)  # fmt: skip
        finally:
            self._drop_pages(s)
        s.done += 1
        return self._progress(s)

    def connection_error(self, ticket: str, hresult: str, message: str) -> str:
        s = self._get(ticket)
        if s is None:
            return DONE
        meaning, todo = explain_hresult(hresult)
        text = f"{meaning} ({hresult}). {todo}"
        if connection_cause(hresult, message) == WRONG_FILE:
            # QuickBooks says "not started" for this too; the cloud is told which it is, and which file
            # this agent expects
            expected = self.pinned_company_file or "the company file this agent was paired with"
            text = f"Another company file is open in QuickBooks. Open {expected} and run again."
            hresult, message = WRONG_FILE_CODE, f"{message} Expected: {expected}".strip()
        self.last_error = text
        self.work.connection_error(ticket, hresult, message or meaning)
        s.stop_error = text
        self._finish(s, error=text)
        return DONE

    def get_last_error(self, ticket: str) -> str:
        s = self._get(ticket)
        if s is None:
            return UNKNOWN_TICKET
        if s.stop_error:
            return s.stop_error
        if s.job is None and s.noops and s.noops <= MAX_NOOPS and self.work.wants_session():
            return NOOP  # the cloud may still be sending follow-up work: QBWC pauses and asks again
        if s.last_error:
            return s.last_error
        return "No work is waiting for QuickBooks."

    def close_connection(self, ticket: str) -> str:
        self._expire()
        s = self._sessions.get(ticket)
        if s is None or s.closed:
            return "Unknown or already closed ticket."
        return self._finish(s)

    def get_interactive_url(self, ticket: str, session_id: str) -> str:
        return ""  # interactive mode is not used (Intuit's sample answers "" too)

    def interactive_done(self, ticket: str) -> str:
        return "Done"

    def interactive_rejected(self, ticket: str, reason: str) -> str:
        return "Interactive mode is not used by this application."


# -- the HostQuery/CompanyQuery/PreferencesQuery answers ---------------------------------------------


def host_info(hcp_response: str, company_file: str, country: str, major: int, minor: int) -> HostInfo:
    """Read the first request's ``strHCPResponse``; fall back to the call's own version numbers."""
    product, version, company_name = "", "", ""
    supported: list[str] = []
    if hcp_response.strip():
        try:
            root = parse_xml(hcp_response, max_bytes=4 * 1024 * 1024)
        except QbxmlError:
            root = None
        if root is not None:
            product = root.findtext(".//HostRet/ProductName") or ""
            major_v = root.findtext(".//HostRet/MajorVersion") or ""
            minor_v = root.findtext(".//HostRet/MinorVersion") or ""
            version = f"{major_v}.{minor_v}" if major_v else ""
            supported = [(el.text or "").strip() for el in root.findall(".//HostRet/SupportedQBXMLVersion")]
            supported = [v for v in supported if v]
            company_name = root.findtext(".//CompanyRet/CompanyName") or ""
    if not supported and major:
        supported = [f"{major}.{minor}"]
    return HostInfo(
        company_file=company_file,
        country=country,
        product=product,
        qb_version=version,
        supported_versions=tuple(supported),
        company_name=company_name,
    )
