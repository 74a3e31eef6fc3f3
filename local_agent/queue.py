"""The agent's durable inbox (jobs) and outbox (results) in one SQLite file.

The rules that make "nothing lost, nothing done twice" true across crashes:

* A job offer is stored (committed) **before** the agent acknowledges it; storing is idempotent by job id,
  so an offer repeated after a lost acknowledgement is recognised, even after its result was sent and
  acknowledged (a small *tombstone* of finished job ids is kept for ``TOMBSTONE_DAYS``).
* A job moves ``pending → sent`` when it is handed to QuickBooks and ``sent → done`` in **the same
  transaction** that writes its result to the outbox.
* A result is deleted only when the cloud acknowledged it; until then every (re)connect sends it again.
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
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from shared.wire import ANSWER_LOST, ANSWER_LOST_MESSAGE, JobOffer, JobResult

TOMBSTONE_DAYS = 30


@dataclass(frozen=True)
class StoredJob:
    job_id: str
    qbxml: str
    priority: int
    purpose: str
    state: str  # pending | sent | done
    received_at: datetime
    session_id: str | None = None


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
"""


class Queue:
    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._local = threading.local()
        self._all: list[tuple[threading.Thread, sqlite3.Connection]] = []
        self._lock = threading.Lock()
        _create_private(self.path)
        self._db().executescript(_SCHEMA)  # idempotent; executescript manages its own transaction

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

    def answer_lost(self, job_id: str) -> JobResult:
        """A job that writes and whose answer was lost: never run it again; tell the cloud it is unknown."""
        return self.record_result(job_id, response=None, hresult=ANSWER_LOST, message=ANSWER_LOST_MESSAGE)

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
        self, job_id: str, *, response: str | None, hresult: str | None, message: str | None
    ) -> JobResult:
        """Finish a job and put its result in the outbox, atomically."""
        now = _now()
        with self._tx() as db:
            row = db.execute("select * from jobs where job_id = ?", [job_id]).fetchone()
            if row is None:
                raise KeyError(f"no job {job_id!r} in the queue")
            received = datetime.fromisoformat(row["received_at"])
            result = JobResult(job_id=job_id, response=response, hresult=hresult, message=message,
                               received_at=received, processed_at=now)  # fmt: skip
            db.execute(
                "insert or replace into results"
                " (job_id, response, hresult, message, received_at, processed_at) values (?, ?, ?, ?, ?, ?)",
                [job_id, response, hresult, message, received.isoformat(), now.isoformat()],
            )
            db.execute(
                "update jobs set state = 'done', finished_at = ?, qbxml = '' where job_id = ?",
                [now.isoformat(), job_id],
            )
            return result

    def pending_results(self) -> list[JobResult]:
        """Every result the cloud has not acknowledged (all in memory: for tests and status)."""
        return [r for r in map(self.pending_result, self.pending_result_ids()) if r is not None]

    def pending_result_ids(self) -> list[str]:
        """The unacknowledged results, oldest first — without their answers, which may be megabytes each:
        the link reads and sends them one at a time (:meth:`pending_result`)."""
        rows = self._db().execute("select job_id from results order by processed_at").fetchall()
        return [str(r["job_id"]) for r in rows]

    def pending_result(self, job_id: str) -> JobResult | None:
        r = self._db().execute("select * from results where job_id = ?", [job_id]).fetchone()
        if r is None:
            return None  # acknowledged meanwhile
        return JobResult(job_id=r["job_id"], response=r["response"], hresult=r["hresult"],
                         message=r["message"], received_at=datetime.fromisoformat(r["received_at"]),
                         processed_at=datetime.fromisoformat(r["processed_at"]))  # fmt: skip

    def ack_result(self, job_id: str) -> None:
        """The cloud stored the result: forget it (the job row stays as a tombstone)."""
        with self._tx() as db:
            db.execute("delete from results where job_id = ?", [job_id])
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


def _job(row: sqlite3.Row) -> StoredJob:
    return StoredJob(
        job_id=row["job_id"], qbxml=row["qbxml"], priority=row["priority"], purpose=row["purpose"],
        state=row["state"], received_at=datetime.fromisoformat(row["received_at"]),
        session_id=row["session_id"],
    )  # fmt: skip
