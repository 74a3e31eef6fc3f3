"""The database as a fault like any other: what a failed SQLite call means, and a write probe.

SQLite says what went wrong in its result code (Python's ``sqlite_errorname``): ``SQLITE_FULL`` (the disk,
or the page limit, is full), ``SQLITE_READONLY`` (the file or its directory became read-only),
``SQLITE_BUSY``/``SQLITE_LOCKED`` (another process holds the write lock past the busy timeout),
``SQLITE_IOERR``/``SQLITE_CANTOPEN`` (the disk is failing or gone). Each becomes a ``Fault`` with plain
words; ``probe`` measures the room left (the disk's free space, the page limit) and writes and removes a
row, so ``/healthz`` reports what a real write would meet now. Nothing is written for good, and nothing
is lost when a probe fails.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from dataclasses import dataclass

log = logging.getLogger(__name__)

FULL, READ_ONLY, LOCKED, BROKEN = "full", "read-only", "locked", "broken"
PROBE_TIMEOUT_MS = 1000  # the probe waits this long for another writer (the stores wait 5000)
STORE_TIMEOUT_MS = 5000
RESERVE = 1 << 20  # bytes of room below which the database counts as full (a batch of events needs more)

_CODES = {
    "SQLITE_FULL": FULL,
    "SQLITE_READONLY": READ_ONLY,
    "SQLITE_BUSY": LOCKED,
    "SQLITE_LOCKED": LOCKED,
    "SQLITE_IOERR": BROKEN,
    "SQLITE_CANTOPEN": BROKEN,
    "SQLITE_CORRUPT": BROKEN,
    "SQLITE_NOTADB": BROKEN,
}
_WORDS = {  # when the result code is not there (older Pythons, wrapped errors): SQLite's own messages
    "database or disk is full": FULL,
    "readonly database": READ_ONLY,
    "database is locked": LOCKED,
    "disk i/o error": BROKEN,
    "unable to open database": BROKEN,
}

SAY = {
    FULL: "the cloud's disk is full",
    READ_ONLY: "the cloud's database became read-only",
    LOCKED: "the cloud's database is locked by another process",
    BROKEN: "the cloud's disk is failing",
}


@dataclass(frozen=True)
class Fault:
    kind: str  # FULL | READ_ONLY | LOCKED | BROKEN
    detail: str  # SQLite's message (for the operator's log and /healthz; no data in it)

    @property
    def words(self) -> str:
        return SAY[self.kind]


def fault_of(exc: BaseException) -> Fault | None:
    """The storage fault an exception is, or None when it is something else (a bug, bad SQL)."""
    if not isinstance(exc, sqlite3.Error):
        return None
    name = str(getattr(exc, "sqlite_errorname", "") or "")
    for code, kind in _CODES.items():
        if name == code or name.startswith(code + "_"):
            return Fault(kind, str(exc))
    text = str(exc).lower()
    for words, kind in _WORDS.items():
        if words in text:
            return Fault(kind, str(exc))
    return None


def settle(conn: sqlite3.Connection, lock: threading.RLock) -> None:
    """After a failed write: end any transaction it left open, so its lock does not outlive it."""
    with lock:
        if conn.in_transaction:
            try:
                conn.rollback()
            except sqlite3.Error as exc:  # the disk went away under it: the next write fails and says so
                log.warning("database: the failed write's transaction could not be rolled back: %s", exc)


def room(conn: sqlite3.Connection, directory: str | None) -> int:
    """Bytes the database can still grow by: the free space of its disk and what its page limit and
    free pages leave (a write that finds neither fails with SQLITE_FULL)."""
    size = int(conn.execute("PRAGMA page_size").fetchone()[0])
    pages = int(conn.execute("PRAGMA page_count").fetchone()[0])
    limit = int(conn.execute("PRAGMA max_page_count").fetchone()[0])
    free = int(conn.execute("PRAGMA freelist_count").fetchone()[0])
    left = (max(0, limit - pages) + free) * size
    if directory:
        disk = os.statvfs(directory)
        left = min(left, disk.f_bavail * disk.f_frsize)
    return left


def probe(
    conn: sqlite3.Connection, lock: threading.RLock, directory: str | None = None, *, write: bool = True
) -> Fault | None:
    """Is there room to grow (``RESERVE``), and does a write go through? The fault, or None. ``directory``:
    where the database file lives (its disk's free space counts). ``write=False``: the room only (reads
    and a ``statvfs``, no transaction)."""
    with lock:
        settle(conn, lock)
        try:
            left = room(conn, directory)
            if left < RESERVE:
                return Fault(FULL, f"{left} bytes left for the database")
            if not write:
                return None
            conn.execute(f"PRAGMA busy_timeout={PROBE_TIMEOUT_MS}")
            with conn:
                conn.execute("INSERT OR REPLACE INTO health_probe VALUES (1, NULL)")
                conn.execute("DELETE FROM health_probe")
            return None
        except sqlite3.Error as exc:
            settle(conn, lock)
            return fault_of(exc) or Fault(BROKEN, str(exc))
        finally:
            try:
                conn.execute(f"PRAGMA busy_timeout={STORE_TIMEOUT_MS}")
            except sqlite3.Error as exc:
                log.warning("database: the busy timeout could not be set back after the probe: %s", exc)
