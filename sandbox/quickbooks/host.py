"""QuickBooks Desktop as the Web Connector meets it: sessions on a company file, and the faults of real life.

Implements :class:`sandbox.qbport.QuickBooksHost`. Fault switches (set on the host, also mid-session):
``not_running`` (BeginSession fails 0x80040408), ``open_file`` ≠ the requested file (0x80040408, UNCONFIRMED
wording), ``lock(id)`` (the next Mod/Del of that record gets 3175), ``slow`` (seconds per request) and
``lose_next_response`` (the document is processed and committed, then the answer is lost: the caller gets
an HRESULT instead — what error recovery exists for) and ``lose_response_to`` (the same, for the next document
whose text holds that string, e.g. ``"<InvoiceAddRq"``: a lost answer can strike any document, and a test
often means one in particular, not the Web Connector's host query that comes first in every session).
Where the captures leave a choice, a switch keeps both behaviours: ``unsupported_elements`` (``"warn"``:
a "not in QBD" element is ignored with 530/Warn, as captured; ``"refuse"``: the whole document refused) and
``missing_lookup`` on the processor (``"500"``, as probed; ``"3120"``, as one qbwc/qbwc fixture shows).
Every request and response is kept in ``history``.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from sandbox.qbport import ConnectionFailed, RequestFailed

from .company import Company
from .processor import Processor, SessionState
from .validate import SUPPORTED_VERSIONS, check, explain

DEFAULT_FILE = "C:\\Users\\Public\\Documents\\Intuit\\QuickBooks\\Company Files\\Rock Castle Construction.qbw"
NOT_RUNNING = ("0x80040408", "Could not start QuickBooks.")
LOST = ("0x80040401", "Could not access QuickBooks: the connection was lost before the response was read.")


@dataclass
class Exchange:
    request: str
    response: str | None
    hresult: str | None = None
    reason: str | None = None  # why a document was refused (QuickBooks itself only says 0x80040400)


@dataclass
class SimulatedQuickBooks:
    company: Company
    company_file: str = DEFAULT_FILE
    versions: tuple[str, ...] = SUPPORTED_VERSIONS
    product: str = "QuickBooks Enterprise Solutions: Contractor 24.0"
    not_running: bool = False
    open_file: str | None = None  # None: ``company_file`` is open
    slow: float = 0.0
    lose_next_response: bool = False
    lose_response_to: str | None = None
    unsupported_elements: str = "warn"  # or "refuse" (see the module docstring)
    history: list[Exchange] = field(default_factory=list)
    sessions_begun: int = 0

    def __post_init__(self) -> None:
        self.lock = threading.RLock()
        self.processor = Processor(self.company, versions=self.versions)
        self.processor.host_info = lambda: {"product": self.product, "major": "34", "minor": "0"}

    def begin_session(self, *, company_file: str, app_name: str, owner_id: str, file_id: str) -> Session:
        if self.not_running:
            raise ConnectionFailed(*NOT_RUNNING)
        open_file = self.open_file or self.company_file
        if company_file and company_file.casefold() != open_file.casefold():
            raise ConnectionFailed(
                "0x80040408",
                "A QuickBooks company data file is already open and it is different from the one requested.",
            )
        if open_file.casefold() != self.company_file.casefold():
            return Session(self, open_file, other=True)
        if owner_id and file_id:
            # "the Web Connector stores this [FileID] as an extension to the company record with a specific
            # OwnerID ... the first time the Web Connector connects to the company" (PG Table 4-1, p.36)
            with self.lock:
                self.company.file_ids.setdefault(owner_id, file_id)
        self.sessions_begun += 1
        return Session(self, open_file)

    def lock_record(self, rid: str) -> None:
        with self.lock:
            self.company.locked.add(rid)

    def unlock_record(self, rid: str) -> None:
        with self.lock:
            self.company.locked.discard(rid)

    def process(self, request_xml: str, state: SessionState | None = None) -> str:
        """One document outside any Web Connector session (the ``--serve`` HTTP face, tests)."""
        return self._process(request_xml, state or SessionState())

    def _process(self, request_xml: str, state: SessionState) -> str:
        if self.slow:
            time.sleep(self.slow)
        with self.lock:
            try:
                doc = check(request_xml, unsupported=self.unsupported_elements)
            except RequestFailed as exc:
                reason = explain(request_xml, unsupported=self.unsupported_elements)
                self.history.append(Exchange(request_xml, None, exc.hresult, reason))
                raise
            response = self.processor.run(doc, state)
            targeted = self.lose_response_to is not None and self.lose_response_to in request_xml
            if self.lose_next_response or targeted:
                if targeted:
                    self.lose_response_to = None
                else:
                    self.lose_next_response = False
                self.history.append(Exchange(request_xml, response, LOST[0], "response lost"))
                raise RequestFailed(*LOST)
            self.history.append(Exchange(request_xml, response))
            return response


class Session:
    """BeginSession … EndSession: iterators live here and die with it."""

    def __init__(self, host: SimulatedQuickBooks, company_file: str, *, other: bool = False) -> None:
        self.host = host
        self._file = company_file
        self.state = SessionState()
        self.closed = False
        self.other = other  # a different company file is open: the app sees that file's (empty) data

    @property
    def company_file(self) -> str:
        return self._file

    def process(self, request_xml: str) -> str:
        if self.closed:
            raise ConnectionFailed("0x80040401", "The QuickBooks session is closed.")
        if self.host.not_running:
            raise RequestFailed(*NOT_RUNNING)
        if self.other:
            check(request_xml, unsupported=self.host.unsupported_elements)
            return self._other_file(request_xml)
        return self.host._process(request_xml, self.state)

    def _other_file(self, request_xml: str) -> str:
        other = SimulatedQuickBooks(
            Company("Sample Company"), company_file=self._file, product=self.host.product
        )
        return other.process(request_xml)

    def close(self) -> None:
        self.closed = True
        self.state.iterators.clear()
