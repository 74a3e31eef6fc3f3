"""The write journal: every record we create in Bitrix24, by its origin key, from before the call until
its link is stored. Bitrix24 has no idempotency key for CRM writes, so this is ours: a row left
``intent`` means the outcome is unknown (the answer was lost, the process died) and the record is looked
for by its key before it is created again; ``done`` holds the id Bitrix24 gave it until the caller has
stored what it made (then the row goes)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ..portals import PortalStore


@dataclass(frozen=True)
class Entry:
    key: str
    method: str
    state: str  # intent | done
    b24_id: str | None


class Journal:
    def __init__(self, store: PortalStore, clock: Callable[[], float] = time.time) -> None:
        self.store, self.clock = store, clock

    def intend(self, member_id: str, writes: dict[str, str]) -> None:
        """Before the call: key → method. A key already journaled keeps its row."""
        now = self.clock()
        with self.store.lock, self.store.db.conn:
            self.store.db.conn.executemany(
                "INSERT OR IGNORE INTO b24_writes (member_id, key, method, state, at) "
                "VALUES (?, ?, ?, 'intent', ?)",
                [(member_id, key, method, now) for key, method in writes.items()],
            )

    def done(self, member_id: str, made: dict[str, str]) -> None:
        """After the answer: key → the id Bitrix24 gave the record."""
        now = self.clock()
        with self.store.lock, self.store.db.conn:
            self.store.db.conn.executemany(
                "UPDATE b24_writes SET state='done', b24_id=?, at=? WHERE member_id=? AND key=?",
                [(b24_id, now, member_id, key) for key, b24_id in made.items()],
            )

    def forget(self, member_id: str, keys: Iterable[str]) -> None:
        """Refused (nothing was made), or made and its link stored: the row has served."""
        with self.store.lock, self.store.db.conn:
            self.store.db.conn.executemany(
                "DELETE FROM b24_writes WHERE member_id=? AND key=?", [(member_id, k) for k in keys]
            )

    def forget_before(self, member_id: str, prefix: str, before: float) -> None:
        """Kept rows (``create_once(keep=True)``) of keys starting with ``prefix`` last touched before
        ``before``: nothing applies a change that old again."""
        with self.store.lock, self.store.db.conn:
            self.store.db.conn.execute(
                "DELETE FROM b24_writes WHERE member_id=? AND state='done' AND substr(key, 1, ?)=? AND at<?",
                (member_id, len(prefix), prefix, before),
            )

    def entries(self, member_id: str, keys: Iterable[str] | None = None) -> dict[str, Entry]:
        with self.store.lock:
            rows = self.store.db.conn.execute(
                "SELECT key, method, state, b24_id FROM b24_writes WHERE member_id=?", (member_id,)
            ).fetchall()
        wanted = None if keys is None else set(keys)
        return {r[0]: Entry(*r) for r in rows if wanted is None or r[0] in wanted}
