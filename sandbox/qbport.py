"""How the Web Connector simulator reaches a QuickBooks (simulated) — the COM boundary of the real one.

The real Web Connector talks to QuickBooks through the SDK's request processor: ``OpenConnection``,
``BeginSession(companyFile)``, ``ProcessRequest(ticket, qbXML)``, ``EndSession``. Failures there carry
an HRESULT and a message (``../shared/specs/quickbooks-webconnector.md`` §2), which the Web Connector
passes on through ``connectionError`` or ``receiveResponseXML(hresult, message)``.
"""

from __future__ import annotations

from typing import Protocol


class QuickBooksError(Exception):
    """A failure QuickBooks reports as an HRESULT rather than as a qbXML status code."""

    def __init__(self, hresult: str, message: str) -> None:
        super().__init__(f"{hresult}: {message}")
        self.hresult = hresult
        self.message = message


class ConnectionFailed(QuickBooksError):
    """QuickBooks could not be reached or the company file could not be opened (→ connectionError)."""


class RequestFailed(QuickBooksError):
    """QuickBooks refused the whole request document, e.g. 0x80040400 on a parse failure."""


class QuickBooksSession(Protocol):
    """An open QuickBooks session (BeginSession … EndSession); iterators live only this long."""

    @property
    def company_file(self) -> str: ...

    def process(self, request_xml: str) -> str:
        """Run one qbXML request document; return the response document or raise RequestFailed."""
        ...

    def close(self) -> None: ...


class QuickBooksHost(Protocol):
    """A QuickBooks installation the Web Connector can open sessions on."""

    def begin_session(
        self, *, company_file: str, app_name: str, owner_id: str, file_id: str
    ) -> QuickBooksSession:
        """``company_file`` "" means the file already open; raises ConnectionFailed."""
        ...
