"""qbXML status codes: severity, meaning, whether retrying can help, and what a person should do.

Sources: ``../shared/specs/quickbooks-webconnector.md`` §5 and §7 (Intuit's messages as quoted there, and
how consolibyte's server treats them); 1000 and 3150 from the open-source servers' handling. Codes we do
not list are classified by range, so an unknown code still gets an honest answer. Decisions are made on
codes, never on message text (QuickBooks' wording varies by version).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Kind(Enum):
    OK = "ok"  # nothing to do
    WARNING = "warning"  # processed; look at what came back
    RETRY = "retry"  # transient: the same request later can succeed
    STALE = "stale"  # re-read the record and apply the change again
    FIX_DATA = "fix_data"  # a person (or the mapping) must change the data
    SETUP = "setup"  # QuickBooks settings or permissions must change


@dataclass(frozen=True)
class StatusInfo:
    code: int
    severity: str  # Info | Warn | Error
    meaning: str
    kind: Kind
    action: str  # plain-language advice for the person who sees the error

    @property
    def is_retryable(self) -> bool:
        return self.kind in (Kind.RETRY, Kind.STALE)

    @property
    def is_error(self) -> bool:
        return self.severity == "Error"


def _s(code: int, severity: str, meaning: str, kind: Kind, action: str) -> StatusInfo:
    return StatusInfo(code, severity, meaning, kind, action)


CODES: dict[int, StatusInfo] = {
    s.code: s
    for s in (
        _s(0, "Info", "Status OK", Kind.OK, ""),
        _s(1, "Info", "A query request did not find a matching object in QuickBooks", Kind.OK,
           "Nothing matched; this is not an error."),
        _s(500, "Warn", "The query was only partly completed: some requested objects were not found",
           Kind.WARNING, "Use what came back; the missing records may have been deleted in QuickBooks."),
        _s(530, "Warn", "The request was processed but some returned data was dropped", Kind.WARNING,
           "The record was saved; refresh it from QuickBooks to see all of its fields."),
        _s(1000, "Error", "QuickBooks reported an internal error", Kind.RETRY,
           "Try again later. If it keeps happening, run File > Utilities > Verify Data in QuickBooks."),
        _s(3000, "Error", "The given object ID in a field is invalid", Kind.FIX_DATA,
           "A linked record no longer exists in QuickBooks. Re-link it (or let the next sync re-read it)."),
        _s(3020, "Error", "A value could not be converted (amount, quantity or date)", Kind.FIX_DATA,
           "Correct the number or date named in the message."),
        _s(3040, "Error", "A value is out of the range QuickBooks accepts", Kind.FIX_DATA,
           "Correct the amount or date named in the message; it is too large or too small."),
        _s(3070, "Error", "A string is too long for its QuickBooks field", Kind.FIX_DATA,
           "Shorten the text named in the message (QuickBooks limits, e.g. names to 41 characters)."),
        _s(3100, "Error", "The name of the list element is already in use", Kind.FIX_DATA,
           "Customers, vendors, employees and other names share one name list in QuickBooks. "
           "Link to the existing record or rename one of them."),
        _s(3120, "Error", "The object specified in the request cannot be found", Kind.FIX_DATA,
           "The record was deleted or merged in QuickBooks. Re-link it."),
        _s(3140, "Error", "There is an invalid reference to a QuickBooks list record in the transaction",
           Kind.FIX_DATA, "Create or link the customer, item, terms or sales rep named in the message."),
        _s(3150, "Error", "A required element is missing", Kind.FIX_DATA,
           "Fill in the field named in the message."),
        _s(3170, "Error", "The record could not be modified: it is in use", Kind.RETRY,
           "Someone has the record open in QuickBooks. It will be retried automatically."),
        _s(3175, "Error", "The record is locked by another user", Kind.RETRY,
           "Another QuickBooks user is editing it. It will be retried automatically."),
        _s(3176, "Error", "The record is being modified by another user", Kind.RETRY,
           "Another QuickBooks user is editing it. It will be retried automatically."),
        _s(3180, "Error", "QuickBooks could not save the record", Kind.FIX_DATA,
           "QuickBooks rejected the change; its reason follows in the message."),
        _s(3200, "Error", "The provided edit sequence is out-of-date", Kind.STALE,
           "The record changed in QuickBooks after it was read; it is re-read and applied again."),
        _s(3210, "Error", "A field has an invalid value or a QuickBooks business rule failed", Kind.FIX_DATA,
           "Correct the value named in the message (for example an over-applied payment)."),
        _s(3231, "Error", "The request was not processed because an earlier request failed", Kind.RETRY,
           "It will be sent again on its own."),
        _s(3250, "Error", "This feature is not enabled or not available in this QuickBooks", Kind.SETUP,
           "Turn the feature on in QuickBooks (Edit > Preferences) or switch this sync off in settings."),
        _s(3260, "Error", "Insufficient permission level to perform this action", Kind.SETUP,
           "The QuickBooks user the Web Connector runs as needs more rights (Company > Users)."),
        _s(3261, "Error", "The application has no permission to access personal data", Kind.SETUP,
           "In QuickBooks, Edit > Preferences > Integrated Applications: allow access to personal data."),
    )
}  # fmt: skip


def lookup(code: int, severity: str | None = None, message: str = "") -> StatusInfo:
    """The facts for ``code``; unknown codes are classified by their range."""
    known = CODES.get(code)
    if known is not None:
        return known
    text = message or f"QuickBooks status {code}"
    if 0 <= code < 500:
        return StatusInfo(code, severity or "Info", text, Kind.OK, "")
    if 500 <= code < 1000:
        return StatusInfo(code, severity or "Warn", text, Kind.WARNING, "Processed with a warning; check it.")
    if 9000 <= code:
        return StatusInfo(
            code, severity or "Error", text, Kind.RETRY,
            "QuickBooks had an internal problem. Try again later; if it persists, run Verify Data.",
        )  # fmt: skip
    return StatusInfo(code, severity or "Error", text, Kind.FIX_DATA, "See QuickBooks' message.")


# HRESULTs QuickBooks/QBWC report instead of a qbXML status (§2 of the contract).
HRESULTS: dict[str, tuple[str, str]] = {
    "0x80040400": ("QuickBooks could not parse the request (element order, unknown element, bad value, "
                   "too long, or a character it cannot store)", "This is a bug in the request; report it."),
    "0x80040401": ("Could not access QuickBooks", "Make sure QuickBooks is running on this PC."),
    "0x80040408": ("Could not start QuickBooks", "Open QuickBooks and the company file, then run again."),
    "0x80040410": ("The company file is open in a different mode (single/multi-user)",
                   "Switch QuickBooks to the mode the Web Connector expects, or close other users."),
    "0x80040414": ("A dialog box is open in QuickBooks", "Close the open window in QuickBooks."),
    "0x80040418": ("This application has not accessed this company file before",
                   "Log in to QuickBooks as Admin and authorize the application."),
    "0x8004041A": ("This application is not allowed to access this company file",
                   "In QuickBooks, Edit > Preferences > Integrated Applications: allow it."),
    "0x80040420": ("The QuickBooks user denied access", "Authorize the application in QuickBooks."),
    "0x80040422": ("Another application has the file open in single-user mode",
                   "Close the other application or switch to multi-user mode."),
    "0x80040424": ("QuickBooks did not finish starting", "Wait a moment; it will be retried."),
}  # fmt: skip


def explain_hresult(hresult: str) -> tuple[str, str]:
    """(meaning, what to do) for an HRESULT like ``0x80040400`` (case-insensitive)."""
    key = hresult.strip()
    for k, v in HRESULTS.items():
        if k.lower() == key.lower():
            return v
    return (f"QuickBooks connection error {hresult}", "Check that QuickBooks is running with the right file.")


# Why the Web Connector could not get into QuickBooks (``connectionError``), as the agent reports it and
# the pages explain it. ``WRONG_FILE_CODE`` is the agent's own code for "another company file is open":
# QuickBooks answers that with 0x80040408, the same HRESULT as "not running", and only its message tells
# them apart (quickbooks-webconnector.md §2: the WC passes QuickBooks' message on; the simulator's wording
# is marked UNCONFIRMED there, so the test is for the words "different" and "file" together).
WRONG_FILE_CODE = "wrong-company-file"
CLOSED, WRONG_FILE, BLOCKED = "closed", "wrong_file", "blocked"


def connection_cause(hresult: str, message: str) -> str:
    """``CLOSED`` (QuickBooks is not running or not reachable), ``WRONG_FILE`` (another company file is
    open) or ``BLOCKED`` (QuickBooks runs but refuses: a dialog, permissions, single-user mode…)."""
    code, text = hresult.strip().lower(), (message or "").lower()
    if code == WRONG_FILE_CODE or ("different" in text and "file" in text):
        return WRONG_FILE
    if code in ("0x80040401", "0x80040408"):
        return CLOSED
    return BLOCKED
