"""Agents, pairing codes and qbXML jobs, every row scoped to its portal (``member_id``).

Tokens and pairing codes are stored as SHA-256 digests: the database alone cannot impersonate an agent.
A job moves ``queued → offered → acked → done`` (or ``unknown`` when the agent lost track of a write);
``offered`` jobs not acknowledged within ``offer_timeout`` are offered again — the agent's queue makes a
repeated offer harmless (it acknowledges again and never runs a job twice).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlite_utils
from sqlite_utils.db import Table

from ..dbfile import connect

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I
CODE_LENGTH = 8
CODE_TTL = timedelta(minutes=15)
MAX_FAILED_PAIRINGS = 10  # per source address per window
PAIRING_WINDOW = timedelta(minutes=10)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat()


DEADLINE_PASSED = "The deadline passed before the Web Connector ran it; nothing was sent to QuickBooks."


class PairingRefused(Exception):
    def __init__(self, status: int, error: str, message: str) -> None:
        super().__init__(message)
        self.status, self.error, self.message = status, error, message


@dataclass(frozen=True)
class AgentRow:
    agent_id: str
    portal: str
    hostname: str
    agent_version: str
    paired_at: str
    revoked: bool
    company_file: str | None = None
    host: dict[str, Any] | None = None
    last_seen: str | None = None
    name: str = ""  # what an admin called it; the hostname until then


@dataclass(frozen=True)
class JobRow:
    job_id: str
    portal: str
    qbxml: str
    purpose: str
    priority: int
    state: str
    created_at: str
    deadline: str | None = None
    response: str | None = None
    hresult: str | None = None
    message: str | None = None
    finished_at: str | None = None
    attempts: int = 0  # times offered to an agent
    sent_at: str | None = None  # when the Web Connector took it to QuickBooks


class AgentStore:
    def __init__(self, path: str, *, clock: Callable[[], datetime] | None = None) -> None:
        # One connection shared by the web workers and the relay thread, serialised by ``_lock``.
        self.db = sqlite_utils.Database(connect(path))
        if path != ":memory:":
            self.db.conn.execute("PRAGMA journal_mode=WAL")
        self.db.conn.execute("PRAGMA busy_timeout=5000")
        self.clock = clock or (lambda: datetime.now(UTC))
        self._lock = threading.RLock()
        self.lock = self._lock  # for the storage probe (cloud_app.storage)
        self._failed: dict[str, list[datetime]] = {}
        self._schema()

    def _schema(self) -> None:
        with self._lock:
            if "pairing_codes" not in self.db.table_names():
                self._table("pairing_codes").create(
                    {"code_hash": str, "portal": str, "expires_at": str, "used_at": str}, pk="code_hash"
                )
            if "agents" not in self.db.table_names():
                self._table("agents").create(
                    {
                        "agent_id": str,
                        "portal": str,
                        "token_hash": str,
                        "hostname": str,
                        "agent_version": str,
                        "paired_at": str,
                        "revoked": int,
                        "company_file": str,
                        "host": str,
                        "last_seen": str,
                    },
                    pk="agent_id",
                )
                self._table("agents").create_index(["token_hash"], unique=True)
                self._table("agents").create_index(["portal"])
            if "jobs" not in self.db.table_names():
                self._table("jobs").create(
                    {
                        "job_id": str,
                        "portal": str,
                        "qbxml": str,
                        "purpose": str,
                        "priority": int,
                        "state": str,
                        "created_at": str,
                        "deadline": str,
                        "offered_at": str,
                        "response": str,
                        "hresult": str,
                        "message": str,
                        "finished_at": str,
                        "seq": int,
                    },
                    pk="job_id",
                )
                self._table("jobs").create_index(["portal", "state"])
            if "name" not in self.db["agents"].columns_dict:  # added after the first release
                self._table("agents").add_column("name", str)
            if "attempts" not in self.db["jobs"].columns_dict:
                self._table("jobs").add_column("attempts", int, not_null_default=0)
                self._table("jobs").add_column("sent_at", str)
            if "applied" not in self.db["jobs"].columns_dict:  # results from before were applied then
                self._table("jobs").add_column("applied", int, not_null_default=0)
                with self.db.conn:
                    self.db.execute("update jobs set applied = 1 where state in ('done', 'failed')")

    def _table(self, name: str) -> Table:
        return Table(self.db, name)  # ``db[name]`` is typed Table | View; this store has no views

    def close(self) -> None:
        self.db.close()

    # -- pairing --------------------------------------------------------------------------------------

    def new_pairing_code(self, portal: str, ttl: timedelta = CODE_TTL) -> str:
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        with self._lock:
            self._table("pairing_codes").insert(
                {
                    "code_hash": _digest(code),
                    "portal": portal,
                    "expires_at": _iso(self.clock() + ttl),
                    "used_at": None,
                }
            )
        return code

    def redeem(
        self,
        code: str,
        *,
        agent_version: str,
        hostname: str,
        source: str = "",
        installed: Callable[[str], bool] | None = None,
    ) -> tuple[str, str, str]:
        """(agent_id, token, portal) for a valid unused code of a portal that is still ``installed``;
        PairingRefused otherwise."""
        now = self.clock()
        with self._lock:
            self._forget_old_failures(now)
            recent = [t for t in self._failed.get(source, []) if now - t < PAIRING_WINDOW]
            self._failed[source] = recent
            if len(recent) >= MAX_FAILED_PAIRINGS:
                raise PairingRefused(
                    429, "too_many_attempts", "Too many wrong pairing codes; wait ten minutes and try again."
                )
            clean = code.strip().upper().replace("-", "").replace(" ", "")
            if len(clean) != CODE_LENGTH or any(c not in CODE_ALPHABET for c in clean):
                recent.append(now)
                raise PairingRefused(
                    400,
                    "bad_code",
                    f"A pairing code is {CODE_LENGTH} letters and digits, as shown on the app's setup page.",
                )
            rows = list(self.db["pairing_codes"].rows_where("code_hash = ?", [_digest(clean)]))
            if not rows:
                recent.append(now)
                raise PairingRefused(
                    404, "unknown_code", "Unknown pairing code; copy it again from the setup page."
                )
            row = rows[0]
            if row["used_at"]:
                raise PairingRefused(410, "used_code", "This pairing code was already used; make a new one.")
            if datetime.fromisoformat(row["expires_at"]) < now:
                raise PairingRefused(410, "expired_code", "This pairing code has expired; make a new one.")
            if installed is not None and not installed(row["portal"]):
                self._table("pairing_codes").delete(row["code_hash"])
                raise PairingRefused(
                    410,
                    "not_installed",
                    "The app is not installed on this Bitrix24 any more; install it, then make a new code.",
                )
            agent_id = "ag_" + uuid.uuid4().hex[:20]
            token = "qbt_" + secrets.token_urlsafe(32)
            self._table("pairing_codes").update(row["code_hash"], {"used_at": _iso(now)})
            self._table("agents").insert(
                {
                    "agent_id": agent_id,
                    "portal": row["portal"],
                    "token_hash": _digest(token),
                    "hostname": hostname[:100],
                    "agent_version": agent_version[:40],
                    "paired_at": _iso(now),
                    "revoked": 0,
                }
            )
            return agent_id, token, row["portal"]

    def _forget_old_failures(self, now: datetime) -> None:
        """Addresses whose wrong codes are all older than the window are dropped: memory stays bounded
        by the addresses seen in the last ten minutes."""
        for source in [
            s for s, times in self._failed.items() if not times or now - times[-1] >= PAIRING_WINDOW
        ]:
            del self._failed[source]

    def active(self, agent_id: str) -> bool:
        """The agent is still paired (not revoked, its portal not uninstalled)."""
        with self._lock:
            row = self.db.execute("select revoked from agents where agent_id = ?", [agent_id]).fetchone()
        return row is not None and not row[0]

    def authenticate(self, token: str) -> AgentRow | None:
        if not token:
            return None
        digest = _digest(token)
        with self._lock:
            rows = list(self.db["agents"].rows_where("token_hash = ?", [digest]))
        if not rows or not hmac.compare_digest(rows[0]["token_hash"], digest) or rows[0]["revoked"]:
            return None
        return _agent(rows[0])

    def revoke(self, portal: str, agent_id: str) -> bool:
        with self._lock:
            rows = list(self.db["agents"].rows_where("portal = ? and agent_id = ?", [portal, agent_id]))
            if not rows:
                return False
            self._table("agents").update(agent_id, {"revoked": 1})
            return True

    def rename(self, portal: str, agent_id: str, name: str) -> bool:
        with self._lock:
            rows = list(self.db["agents"].rows_where("portal = ? and agent_id = ?", [portal, agent_id]))
            if not rows:
                return False
            self._table("agents").update(agent_id, {"name": name[:100]})
            return True

    def agents(self, portal: str) -> list[AgentRow]:
        with self._lock:
            return [
                _agent(r) for r in self.db["agents"].rows_where("portal = ?", [portal], order_by="paired_at")
            ]

    def seen(self, agent_id: str, **facts: Any) -> None:
        changes: dict[str, Any] = {"last_seen": _iso(self.clock())}
        if "host" in facts:
            changes["host"] = json.dumps(facts["host"])
        if facts.get("company_file"):
            changes["company_file"] = facts["company_file"]
        with self._lock:
            self._table("agents").update(agent_id, changes)

    # -- jobs -----------------------------------------------------------------------------------------

    def enqueue(
        self,
        portal: str,
        qbxml: str,
        *,
        purpose: str,
        priority: int = 5,
        deadline: datetime | None = None,
        job_id: str | None = None,
    ) -> str:
        job_id = job_id or "job_" + uuid.uuid4().hex[:24]
        with self._lock:
            seq = (self.db.execute("select coalesce(max(seq), 0) + 1 from jobs").fetchone() or [1])[0]
            self._table("jobs").insert(
                {
                    "job_id": job_id,
                    "portal": portal,
                    "qbxml": qbxml,
                    "purpose": purpose,
                    "priority": priority,
                    "state": "queued",
                    "created_at": _iso(self.clock()),
                    "deadline": _iso(deadline) if deadline else None,
                    "seq": seq,
                }
            )
        return job_id

    def to_offer(
        self,
        portal: str,
        limit: int,
        offer_timeout: timedelta = timedelta(seconds=60),
        *,
        max_priority: int | None = None,
    ) -> list[JobRow]:
        """Jobs to offer the agent, most urgent first; only up to ``max_priority`` when given."""
        stale = _iso(self.clock() - offer_timeout)
        self.expire(portal)
        with self._lock:
            rows = self.db["jobs"].rows_where(
                "portal = ? and (state = 'queued' or (state = 'offered' and offered_at < ?))"
                " and priority <= ?",
                [portal, stale, 2**62 if max_priority is None else max_priority],
                order_by="priority, seq",
                limit=limit,
            )
            return [_job(r) for r in rows]

    def expire(self, portal: str) -> int:
        """Jobs whose deadline passed before QuickBooks saw them fail, saying so (not sent: never run)."""
        with self._lock, self.db.conn:  # a failed write rolls back: no transaction left holding the lock
            cur = self.db.execute(
                "update jobs set state = 'failed', finished_at = ?, message = ? where portal = ? "
                "and deadline is not null and deadline < ? and state in ('queued', 'offered', 'acked')",
                [_iso(self.clock()), DEADLINE_PASSED, portal, _iso(self.clock())],
            )
            return cur.rowcount

    def waiting(self, portal: str, purpose: str) -> bool:
        """A job of this purpose is on its way to QuickBooks or back (queued, offered, acked or sent)."""
        with self._lock:
            row = self.db.execute(
                "select 1 from jobs where portal = ? and purpose = ? "
                "and state in ('queued', 'offered', 'acked', 'sent') limit 1",
                [portal, purpose],
            ).fetchone()
        return row is not None

    def paired(self, portal: str) -> bool:
        """The portal has an agent that is not revoked."""
        return any(not a.revoked for a in self.agents(portal))

    def in_flight(self, portal: str, within: timedelta = timedelta(seconds=60)) -> int:
        """Jobs offered in the last minute and not yet acknowledged by the agent."""
        since = _iso(self.clock() - within)
        with self._lock:
            row = self.db.execute(
                "select count(*) from jobs where portal = ? and state = 'offered' and offered_at >= ?",
                [portal, since],
            ).fetchone()
        return int(row[0])

    def mark(self, portal: str, job_id: str, state: str) -> None:
        """queued → offered (counts an attempt) → acked → sent; never back from an end state, and a
        late ``acked`` never undoes ``sent``."""
        extra = ""
        params: list[Any] = [state]
        if state == "offered":
            extra = ", offered_at = ?, attempts = attempts + 1"
            params.append(_iso(self.clock()))
        elif state == "sent":
            extra = ", sent_at = ?"
            params.append(_iso(self.clock()))
        final = ("done", "failed", "unknown", "sent") if state == "acked" else ("done", "failed", "unknown")
        guard = "(" + ", ".join(f"'{s}'" for s in final) + ")"
        with self._lock, self.db.conn:
            self.db.execute(
                f"update jobs set state = ?{extra} where portal = ? and job_id = ? and state not in {guard}",
                [*params, portal, job_id],
            )

    def reconnected(self, portal: str, held: tuple[str, ...]) -> int:
        """An agent (re)connected holding ``held``: anything offered or acknowledged but neither held nor
        finished is queued again. Safe because the agent never stores or runs a job id twice."""
        with self._lock:
            rows = list(
                self.db["jobs"].rows_where("portal = ? and state in ('offered', 'acked', 'sent')", [portal])
            )
            again = [r["job_id"] for r in rows if r["state"] == "offered" or r["job_id"] not in held]
            for job_id in again:
                self._table("jobs").update(job_id, {"state": "queued"})
            return len(again)

    def record_result(
        self, portal: str, job_id: str, *, response: str | None, hresult: str | None, message: str | None
    ) -> bool:
        """Store a job's outcome once — ``done`` when QuickBooks answered, ``failed`` when it refused the
        document (hresult); False when it was already stored (a re-sent result) or is not this portal's."""
        with self._lock:
            rows = list(self.db["jobs"].rows_where("portal = ? and job_id = ?", [portal, job_id]))
            if not rows or rows[0]["state"] in ("done", "failed"):
                return False
            self._table("jobs").update(
                job_id,
                {
                    "state": "done" if response is not None else "failed",
                    "response": response,
                    "hresult": hresult,
                    "message": message,
                    "finished_at": _iso(self.clock()),
                },
            )
            return True

    def mark_applied(self, portal: str, job_id: str) -> None:
        """The app has acted on the job's result (its hook ran to the end)."""
        with self._lock, self.db.conn:
            self.db.execute("update jobs set applied = 1 where portal = ? and job_id = ?", [portal, job_id])

    def is_applied(self, portal: str, job_id: str) -> bool:
        with self._lock:
            row = self.db.execute(
                "select applied from jobs where portal = ? and job_id = ?", [portal, job_id]
            ).fetchone()
            return bool(row and row[0])

    def unapplied(self, before: datetime) -> list[JobRow]:
        """Results stored before ``before`` that the app never acted on: the process stopped between
        storing (and acknowledging) a result and running what it starts."""
        with self._lock:
            rows = self.db["jobs"].rows_where(
                "state in ('done', 'failed') and applied = 0 and finished_at < ?",
                [_iso(before)],
                order_by="seq",
            )
            return [_job(r) for r in rows]

    def job(self, portal: str, job_id: str) -> JobRow | None:
        with self._lock:
            rows = list(self.db["jobs"].rows_where("portal = ? and job_id = ?", [portal, job_id]))
        return _job(rows[0]) if rows else None

    def jobs(self, portal: str, *, purpose: str) -> list[JobRow]:
        with self._lock:
            rows = self.db["jobs"].rows_where("portal = ? and purpose = ?", [portal, purpose], order_by="seq")
            return [_job(r) for r in rows]

    def forget_portal(self, portal: str, *, clean: bool) -> None:
        """On uninstall: agents are revoked and unused pairing codes deleted at once; with ``clean`` the
        portal's agents and jobs go too."""
        with self._lock, self.db.conn:
            self.db.execute("update agents set revoked = 1 where portal = ?", [portal])
            self.db.execute("delete from pairing_codes where portal = ?", [portal])
            if clean:
                for table in ("jobs", "agents"):
                    self.db.execute(f"delete from {table} where portal = ?", [portal])

    def counts(self, portal: str) -> dict[str, int]:
        with self._lock:
            cur = self.db.execute(
                "select state, count(*) from jobs where portal = ? group by state", [portal]
            )
            return {state: n for state, n in cur.fetchall()}

    def oldest_waiting(self, portal: str) -> datetime | None:
        """When the longest-waiting job not yet in QuickBooks' hands was queued (None: nothing waits)."""
        with self._lock:
            row = self.db.execute(
                "select min(created_at) from jobs where portal = ? "
                "and state in ('queued', 'offered', 'acked')",
                [portal],
            ).fetchone()
        return datetime.fromisoformat(row[0]) if row and row[0] else None

    def counts_all(self) -> dict[str, int]:
        """Jobs by state across portals (operator figures, no portal data)."""
        with self._lock:
            return dict(self.db.execute("select state, count(*) from jobs group by state").fetchall())

    def finished_since(self, seconds: float) -> int:
        since = _iso(self.clock() - timedelta(seconds=seconds))
        with self._lock:
            row = self.db.execute("select count(*) from jobs where finished_at >= ?", [since]).fetchone()
        return int(row[0])


def _agent(r: dict[str, Any]) -> AgentRow:
    return AgentRow(
        agent_id=r["agent_id"],
        portal=r["portal"],
        hostname=r["hostname"] or "",
        agent_version=r["agent_version"] or "",
        paired_at=r["paired_at"],
        revoked=bool(r["revoked"]),
        company_file=r.get("company_file"),
        host=json.loads(r["host"]) if r.get("host") else None,
        last_seen=r.get("last_seen"),
        name=r.get("name") or "",
    )


def _job(r: dict[str, Any]) -> JobRow:
    return JobRow(
        job_id=r["job_id"],
        portal=r["portal"],
        qbxml=r["qbxml"],
        purpose=r["purpose"],
        priority=r["priority"],
        state=r["state"],
        created_at=r["created_at"],
        deadline=r.get("deadline"),
        response=r.get("response"),
        hresult=r.get("hresult"),
        message=r.get("message"),
        finished_at=r.get("finished_at"),
        attempts=int(r.get("attempts") or 0),
        sent_at=r.get("sent_at"),
    )
