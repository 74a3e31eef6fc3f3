"""Errors are data: every failed record gets a plain reason, a fix, and a retry decision (pure).

One classifier for the QuickBooks boundary: a qbXML status (``shared.qbxml.status``) or a Web Connector
HRESULT becomes a ``Failure``. Retryable failures come back after a backoff that grows per attempt; the
rest wait for a person. The caller supplies ``now`` and the attempt count — nothing here reads a clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.qbxml.status import Kind, explain_hresult, lookup

BASE_DELAY = timedelta(minutes=1)
MAX_DELAY = timedelta(hours=6)
MAX_ATTEMPTS = 8


@dataclass(frozen=True)
class Failure:
    code: str  # "3100", "0x80040400", …
    reason: str  # what happened, in plain words
    fix: str  # what a person can do
    retry_at: datetime | None  # None: waits for a person
    needs_requery: bool = False  # stale EditSequence: read the record again first

    @property
    def waits_for_person(self) -> bool:
        return self.retry_at is None


def backoff(attempt: int) -> timedelta:
    """1, 2, 4 … minutes, capped at 6 hours (attempt counts from 1)."""
    factor: int = 2 ** max(0, attempt - 1)
    return min(MAX_DELAY, BASE_DELAY * factor)


def from_status(code: int, severity: str, message: str, *, attempt: int, now: datetime) -> Failure:
    info = lookup(code, severity, message)
    reason = message or info.meaning
    if info.kind is Kind.STALE:
        # re-read and re-apply once at once; a second stale answer waits like any retry
        retry = now if attempt <= 1 else now + backoff(attempt)
        return Failure(str(code), reason, info.action, retry, needs_requery=True)
    if info.is_retryable and attempt < MAX_ATTEMPTS:
        return Failure(str(code), reason, info.action, now + backoff(attempt))
    fix = info.action or "See the message from QuickBooks."
    if info.is_retryable:
        fix = f"{fix} It failed {attempt} times; retry it by hand when the cause is fixed."
    return Failure(str(code), reason, fix, None)


def from_hresult(hresult: str, message: str, *, attempt: int, now: datetime) -> Failure:
    meaning, action = explain_hresult(hresult)
    if hresult.lower() == "0x80040400":
        # QuickBooks refused the document itself: sending it again cannot help
        return Failure(hresult, f"{meaning}. {message}".strip(), action, None)
    if attempt < MAX_ATTEMPTS:
        return Failure(hresult, message or meaning, action, now + backoff(attempt))
    return Failure(hresult, message or meaning, action, None)
