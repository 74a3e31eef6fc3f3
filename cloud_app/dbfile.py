"""Opening the cloud's SQLite file so that only the service's own user can read it.

The file holds sealed Bitrix24 tokens, agent-token digests and every portal's business data: it is created
0600, and an existing file others can read is tightened (SQLite gives its ``-wal``/``-shm`` files the main
file's permissions, so they follow).
"""

from __future__ import annotations

import logging
import os
import sqlite3
import stat

log = logging.getLogger(__name__)
PRIVATE = 0o600


def private_file(path: str) -> None:
    """Create ``path`` empty with mode 0600 if missing; tighten it if group or others may read it.

    No descriptor of an existing file is opened: closing one would drop the POSIX locks SQLite holds on
    it for this process's other connections (SQLite's "close() breaks locks" caveat), and another
    process could then checkpoint the WAL away under them."""
    if path == ":memory:" or path.startswith("file:"):
        return
    try:
        os.close(os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, PRIVATE))
        return
    except FileExistsError:
        pass
    mode = stat.S_IMODE(os.stat(path).st_mode)
    if mode & 0o077:
        os.chmod(path, mode & 0o700)
        log.warning("database %s was readable by other users (mode %o); now %o", path, mode, mode & 0o700)


def connect(path: str) -> sqlite3.Connection:
    """One connection shared by threads (callers serialise it with their own lock)."""
    private_file(path)
    return sqlite3.connect(path, check_same_thread=False)
