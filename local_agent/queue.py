"""The agent's durable inbox (jobs) and outbox (results) in one SQLite file.

The rules that make "nothing lost, nothing done twice" true across crashes:

* A job offer is stored (committed) **before** the agent acknowledges it; storing is idempotent by job id,
  so an offer repeated after a lost acknowledgement is recognised, even after its result was sent and
  acknowledged (a small *tombstone* of finished job ids is kept for ``TOMBSTONE_DAYS``).
* A job moves ``pending → sent`` when it is handed to QuickBooks and ``sent → done`` in **the same
  transaction** that writes its result to the outbox.
* A result is deleted only when the cloud acknowledged it; until then every (re)connect sends it again.
* An answer is kept **on disk**, never whole in memory: it is written in parts of at most
  :data:`PART_CHARS` characters (``result_parts``) in the transaction that finishes the job, and read back
  part by part (:meth:`Queue.answer_blocks`) while it is streamed to the cloud (issue 23).
* A job sent to QuickBooks whose answer never came back is not run again blindly: read-only jobs go back
  to ``pending`` (reading twice is harmless); a job that writes gets the result ``hresult`` =
  :data:`shared.wire.ANSWER_LOST`, and the cloud uses qbXML error recovery (or its marker) to learn
  whether it happened.

One connection per thread (SQLite objects are not shared across threads); WAL keeps readers and the
writer from blocking each other. Every method is its own transaction.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from shared.wire import ANSWER_LOST, ANSWER_LOST_MESSAGE, CHUNK_BYTES, JobOffer, JobResult

TOMBSTONE_DAYS = 30
PART_CHARS = CHUNK_BYTES // 4  # a part of an answer: at most this many characters (≤ CHUNK_BYTES in UTF-8)


@dataclass(frozen=True)
class StoredJob:
    job_id: str
    qbxml: str
    priority: int
    purpose: str
    state: str  # pending | sent | done
    received_at: datetime
    session_id: str | None = None


@dataclass(frozen=True)
class StoredResult:
    """A result in the outbox without its answer, which stays on disk (``size``: its UTF-8 bytes; None
    when QuickBooks refused the document and ``hresult`` says why)."""

    job_id: str
    hresult: str | None
    message: str | None
    received_at: datetime
    processed_at: datetime
    size: int | None


class AnswerGone(Exception):
    """The answer being read was deleted meanwhile (the cloud acknowledged it): stop sending it."""


def _create_private(path: str) -> None:
    """Create the database file owner-only (0600) before SQLite opens it: it holds QuickBooks' answers.
    SQLite gives its -wal and -shm files the database file's permissions."""
    if path == ":memory:" or os.path.exists(path):
        return
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))


def _now() -> datetime:
    return datetime.now(UTC)


_SCHEMA = """
create table if not exists jobs (
    job_id text primary key,
    portal text not null,
    qbxml text not null,
    priority integer not null,
    purpose text not null,
    deadline text,
    state text not null,
    seq integer not null,
    received_at text not null,
    session_id text,
    finished_at text
);
create index if not exists jobs_pending on jobs(state, priority, seq);
create table if not exists results (
    job_id text primary key,
    response text,
    hresult text,
    message text,
    received_at text not null,
    processed_at text not null
);
create table if not exists result_parts (
    job_id text not null,
    seq integer not null,
    data blob not null,
    primary key (job_id, seq)
);
"""
# columns added after the first release (an older agent's database gets them on open)
_ADDED = {"results": [("size", "integer"), ("parts", "integer")]}


class Queue:
    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._local = threading.local()
        self._all: list[tuple[threading.Thread, sqlite3.Connection]] = []
        self._lock = threading.Lock()
        _create_private(self.path)
        self._db().executescript(_SCHEMA)  # idempotent; executescript manages its own transaction
        for table, columns in _ADDED.items():
            have = {r[1] for r in self._db().execute(f"pragma table_info({table})")}
            for name, kind in columns:
                if name not in have:
                    self._db().execute(f"alter table {table} add column {name} {kind}")

    # -- plumbing -------------------------------------------------------------------------------------

    def _db(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            db.execute("pragma journal_mode=wal")
            db.execute("pragma synchronous=full")  # an acknowledged job must survive power loss
            db.row_factory = sqlite3.Row
            self._local.db = db
            with self._lock:
                # the SOAP server answers each Web Connector call on a new thread: close the connections
                # of threads that are gone, or every call would keep two file handles open for good
                for _, old in [t for t in self._all if not t[0].is_alive()]:
                    old.close()
                self._all = [t for t in self._all if t[0].is_alive()]
                self._all.append((threading.current_thread(), db))
        return db

    class _Tx:
        def __init__(self, db: sqlite3.Connection) -> None:
            self.db = db

        def __enter__(self) -> sqlite3.Connection:
            self.db.execute("begin immediate")
            return self.db

        def __exit__(self, exc_type: object, *rest: object) -> None:
            self.db.execute("rollback" if exc_type else "commit")

    def _tx(self) -> Queue._Tx:
        return Queue._Tx(self._db())

    def close(self) -> None:
        with self._lock:
            for _, db in self._all:
                db.close()
            self._all.clear()
        self._local = threading.local()

    # -- inbox ----------------------------------------------------------------------------------------

    def store_job(self, offer: JobOffer) -> bool:
        """Store an offered job; False if this job id is already known (stored, done or tombstoned)."""
        with self._tx() as db:
            if db.execute("select 1 from jobs where job_id = ?", [offer.job_id]).fetchone():
                return False
            seq = db.execute("select coalesce(max(seq), 0) + 1 from jobs").fetchone()[0]
            db.execute(
                "insert into jobs (job_id, portal, qbxml, priority, purpose, deadline, state, seq,"
                " received_at) values (?, ?, ?, ?, ?, ?, 'pending', ?, ?)",
                [offer.job_id, offer.portal, offer.qbxml, offer.priority, offer.purpose,
                 offer.deadline.isoformat() if offer.deadline else None, seq, _now().isoformat()],
            )  # fmt: skip
            return True

    def next_job(self, max_priority: int | None = None) -> StoredJob | None:
        """The pending job to run next: lowest priority number first, then arrival order; only up to
        ``max_priority`` when given (a session for people's jobs, bulk work outside its hours)."""
        row = (
            self._db()
            .execute("select * from jobs where state = 'pending' and priority <= ? order by priority, seq"
                     " limit 1", [_NO_LIMIT if max_priority is None else max_priority])
            .fetchone()
        )  # fmt: skip
        return _job(row) if row else None

    def pending(self, max_priority: int | None = None) -> int:
        """Pending jobs, only up to ``max_priority`` when given."""
        limit = _NO_LIMIT if max_priority is None else max_priority
        row = self._db().execute(
            "select count(*) from jobs where state = 'pending' and priority <= ?", [limit]
        ).fetchone()
        return int(row[0])

    def mark_sent(self, job_id: str, session_id: str) -> None:
        with self._tx() as db:
            db.execute(
                "update jobs set state = 'sent', session_id = ? where job_id = ? and state = 'pending'",
                [session_id, job_id],
            )

    def get_job(self, job_id: str) -> StoredJob | None:
        row = self._db().execute("select * from jobs where job_id = ?", [job_id]).fetchone()
        return _job(row) if row else None

    def held_jobs(self) -> list[StoredJob]:
        """Jobs the agent holds and has not finished (what ``hello.resume`` tells the cloud)."""
        rows = (
            self._db()
            .execute("select * from jobs where state in ('pending', 'sent') order by seq")
            .fetchall()
        )
        return [_job(r) for r in rows]

    def retry_job(self, job_id: str) -> None:
        """A read-only job whose answer was lost: run it again."""
        with self._tx() as db:
            db.execute(
                "update jobs set state = 'pending', session_id = null where job_id = ? and state = 'sent'",
                [job_id],
            )

    def answer_lost(self, job_id: str) -> None:
        """A job that writes and whose answer was lost: never run it again; tell the cloud it is unknown."""
        self.record_result(job_id, response=None, hresult=ANSWER_LOST, message=ANSWER_LOST_MESSAGE)

    def recover(self, read_only: Callable[[str], bool]) -> tuple[int, int]:
        """After a restart: jobs left ``sent`` were in QuickBooks' hands when the agent stopped.

        Returns (queued again, reported unknown).
        """
        again = lost = 0
        for job in self.sent_jobs():
            if read_only(job.qbxml):
                self.retry_job(job.job_id)
                again += 1
            else:
                self.answer_lost(job.job_id)
                lost += 1
        return again, lost

    def sent_jobs(self) -> list[StoredJob]:
        rows = self._db().execute("select * from jobs where state = 'sent' order by seq").fetchall()
        return [_job(r) for r in rows]

    # -- outbox ---------------------------------------------------------------------------------------

    def record_result(
        self, job_id: str, *, response: str | Iterable[str] | None, hresult: str | None, message: str | None
    ) -> None:
        """Finish a job and put its result in the outbox, atomically. ``response``: the answer whole, or
        its text in pieces (an iterator read's pages merged from their spool); written in parts as it
        comes, so it is never held whole here."""
        now = _now()
        with self._tx() as db:
            row = db.execute("select * from jobs where job_id = ?", [job_id]).fetchone()
            if row is None:
                raise KeyError(f"no job {job_id!r} in the queue")
            received = datetime.fromisoformat(row["received_at"])
            db.execute("delete from result_parts where job_id = ?", [job_id])
            size = parts = None
            if response is not None:
                size, parts = _write_parts(db, job_id, [response] if isinstance(response, str) else response)
            db.execute(
                "insert or replace into results (job_id, response, hresult, message, received_at,"
                " processed_at, size, parts) values (?, null, ?, ?, ?, ?, ?, ?)",
                [job_id, hresult, message, received.isoformat(), now.isoformat(), size, parts],
            )
            db.execute(
                "update jobs set state = 'done', finished_at = ?, qbxml = '' where job_id = ?",
                [now.isoformat(), job_id],
            )

    def pending_results(self) -> list[JobResult]:
        """Every result the cloud has not acknowledged (all in memory: for tests and status)."""
        return [r for r in map(self.pending_result, self.pending_result_ids()) if r is not None]

    def pending_result_ids(self) -> list[str]:
        """The unacknowledged results, oldest first — without their answers, which may be megabytes each:
        the link reads and sends them one at a time (:meth:`stored_result`, :meth:`answer_blocks`)."""
        rows = self._db().execute("select job_id from results order by processed_at").fetchall()
        return [str(r["job_id"]) for r in rows]

    def stored_result(self, job_id: str) -> StoredResult | None:
        """An unacknowledged result without its answer; None once acknowledged."""
        r = self._db().execute(
            "select job_id, hresult, message, received_at, processed_at, size, response is not null legacy,"
            " length(cast(response as blob)) legacy_size from results where job_id = ?", [job_id]
        ).fetchone()  # fmt: skip
        if r is None:
            return None
        size = r["legacy_size"] if r["legacy"] else r["size"]
        return StoredResult(job_id=r["job_id"], hresult=r["hresult"], message=r["message"],
                            received_at=datetime.fromisoformat(r["received_at"]),
                            processed_at=datetime.fromisoformat(r["processed_at"]), size=size)  # fmt: skip

    def answer_blocks(self, job_id: str) -> Iterator[bytes]:
        """The answer's UTF-8 bytes, one part at a time, each read by its own query (so each step may run
        on another thread). Raises :class:`AnswerGone` when the result is acknowledged meanwhile."""
        first = self._db().execute(
            "select parts, cast(response as blob) legacy from results where job_id = ?", [job_id]
        ).fetchone()
        if first is None:
            raise AnswerGone(job_id)
        if first["legacy"] is not None:  # stored whole by an agent before parts
            yield bytes(first["legacy"])
            return
        for seq in range(int(first["parts"] or 0)):
            row = self._db().execute(
                "select data from result_parts where job_id = ? and seq = ?", [job_id, seq]
            ).fetchone()
            if row is None:
                raise AnswerGone(job_id)
            yield bytes(row["data"])

    def pending_result(self, job_id: str) -> JobResult | None:
        """A result with its answer whole in memory (an older cloud takes it so; tests; status)."""
        meta = self.stored_result(job_id)
        if meta is None:
            return None
        response = None
        if meta.size is not None:
            try:
                response = b"".join(self.answer_blocks(job_id)).decode("utf-8")
            except AnswerGone:
                return None  # acknowledged meanwhile
        return JobResult(job_id=meta.job_id, response=response, hresult=meta.hresult, message=meta.message,
                         received_at=meta.received_at, processed_at=meta.processed_at)  # fmt: skip

    def ack_result(self, job_id: str) -> None:
        """The cloud stored the result: forget it (the job row stays as a tombstone)."""
        with self._tx() as db:
            db.execute("delete from results where job_id = ?", [job_id])
            db.execute("delete from result_parts where job_id = ?", [job_id])
            cutoff = (_now() - timedelta(days=TOMBSTONE_DAYS)).isoformat()
            db.execute(
                "delete from jobs where state = 'done' and finished_at < ? "
                "and job_id not in (select job_id from results)",
                [cutoff],
            )

    def depth(self) -> dict[str, int]:
        rows = self._db().execute("select state, count(*) n from jobs group by state").fetchall()
        out = {"pending": 0, "sent": 0, "unknown": 0, "done": 0}
        out.update({r["state"]: r["n"] for r in rows})
        out["results"] = self._db().execute("select count(*) from results").fetchone()[0]
        return out


_NO_LIMIT = 2**62


def _write_parts(db: sqlite3.Connection, job_id: str, pieces: Iterable[str]) -> tuple[int, int]:
    """Write ``pieces`` as parts of at most :data:`PART_CHARS` characters (small pieces gathered into one
    part, a large one cut); the answer's UTF-8 size and the number of parts."""
    size = seq = 0
    held: list[str] = []
    held_chars = 0

    def flush() -> None:
        nonlocal size, seq, held, held_chars
        data = "".join(held).encode("utf-8")
        db.execute("insert into result_parts (job_id, seq, data) values (?, ?, ?)", [job_id, seq, data])
        size, seq, held, held_chars = size + len(data), seq + 1, [], 0

    for piece in pieces:
        start = 0
        while start < len(piece):
            take = piece[start : start + PART_CHARS - held_chars]
            held.append(take)
            held_chars += len(take)
            start += len(take)
            if held_chars >= PART_CHARS:
                flush()
    if held or seq == 0:  # an empty answer is one empty part
        flush()
    return size, seq


def _job(row: sqlite3.Row) -> StoredJob:
    return StoredJob(
        job_id=row["job_id"], qbxml=row["qbxml"], priority=row["priority"], purpose=row["purpose"],
        state=row["state"], received_at=datetime.fromisoformat(row["received_at"]),
        session_id=row["session_id"],
    )  # fmt: skip
