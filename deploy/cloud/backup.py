#!/usr/bin/env python3
"""Backup and restore of the cloud app's SQLite store (standard library only).

    python3 backup.py backup  /var/lib/qb-bitrix24/qb-bitrix24.db  /backups/qb-$(date +%F).db
    python3 backup.py restore /backups/qb-2026-12-01.db  /var/lib/qb-bitrix24/qb-bitrix24.db

``backup`` uses SQLite's online backup API: a consistent copy while the app runs (WAL included), checked
with ``PRAGMA integrity_check`` before it is kept. ``restore`` is for a stopped app: it checks the backup,
keeps the current file as ``<db>.before-restore`` and its ``-wal``/``-shm`` aside, then puts the backup in
place. Tokens inside stay sealed with the encryption key: keep the key with (not in) the backups.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import sys
from pathlib import Path


def check(path: Path) -> None:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        result = db.execute("pragma integrity_check").fetchone()[0]
    if result != "ok":
        raise SystemExit(f"{path}: integrity check failed: {result}")


def backup(db: Path, out: Path) -> None:
    if not db.exists():
        raise SystemExit(f"{db}: no such database")
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    partial.unlink(missing_ok=True)
    os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))  # it holds sealed tokens
    with sqlite3.connect(db) as src, sqlite3.connect(partial) as dst:
        src.backup(dst)
    check(partial)
    partial.replace(out)
    print(f"backed up {db} → {out} ({out.stat().st_size} bytes)")


def restore(backup_file: Path, db: Path) -> None:
    check(backup_file)
    if db.exists():
        shutil.copy2(db, db.with_name(db.name + ".before-restore"))
    for suffix in ("-wal", "-shm"):
        side = db.with_name(db.name + suffix)
        if side.exists():
            side.replace(db.with_name(db.name + suffix + ".before-restore"))
    shutil.copy2(backup_file, db)
    os.chmod(db, 0o600)  # only the app's user reads the live database
    check(db)
    print(f"restored {backup_file} → {db} (the previous file is {db.name}.before-restore)")


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[0] not in ("backup", "restore"):
        print(__doc__)
        return 2
    action, a, b = argv[0], Path(argv[1]), Path(argv[2])
    (backup if action == "backup" else restore)(a, b)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
