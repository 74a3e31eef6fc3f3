"""SQLite's own failures read as storage faults (``cloud_app.storage``), on real connections."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from cloud_app import storage


def _error(run: object) -> sqlite3.Error:
    with pytest.raises(sqlite3.Error) as info:
        run()  # type: ignore[operator]
    return info.value


def test_full_read_only_and_locked_are_told_apart(tmp_path: Path) -> None:
    path = str(tmp_path / "db.sqlite")
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("CREATE TABLE t (x BLOB)")
    conn.execute("CREATE TABLE health_probe (id INTEGER PRIMARY KEY, pad BLOB)")  # as the migrations make it
    conn.execute("PRAGMA max_page_count = 1")
    full = _error(lambda: conn.execute("INSERT INTO t VALUES (zeroblob(100000))"))
    assert storage.fault_of(full) == storage.Fault(storage.FULL, str(full))
    conn.execute("PRAGMA max_page_count = 100000")
    conn.execute("PRAGMA query_only = 1")
    ro = _error(lambda: conn.execute("INSERT INTO t VALUES (1)"))
    assert storage.fault_of(ro) is not None and storage.fault_of(ro).kind == storage.READ_ONLY  # type: ignore[union-attr]
    conn.execute("PRAGMA query_only = 0")
    other = sqlite3.connect(path, isolation_level=None, timeout=0)
    conn.execute("BEGIN IMMEDIATE")
    locked = _error(lambda: other.execute("BEGIN IMMEDIATE"))
    assert storage.fault_of(locked).kind == storage.LOCKED  # type: ignore[union-attr]
    assert storage.probe(other, threading.RLock()).kind == storage.LOCKED  # type: ignore[union-attr]
    conn.execute("ROLLBACK")
    assert storage.probe(other, threading.RLock()) is None
    assert storage.fault_of(_error(lambda: conn.execute("SELEC 1"))) is None  # a bug is not a disk fault
