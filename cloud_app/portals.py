"""Installed portals (keyed by ``member_id``), their sealed tokens, and the durable event inbox.

Every query names its portal. Numbered migrations keep existing databases moving forward.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlite_utils

from .crypto import Vault
from .dbfile import connect

MIGRATIONS: list[str] = [
    """CREATE TABLE portals (
        member_id TEXT PRIMARY KEY, domain TEXT NOT NULL, client_endpoint TEXT NOT NULL,
        server_endpoint TEXT NOT NULL, access_token TEXT, refresh_token TEXT, expires_at REAL,
        scopes TEXT, application_token TEXT, state TEXT NOT NULL DEFAULT 'installing', attention TEXT,
        installed_at REAL, updated_at REAL, token_version INTEGER NOT NULL DEFAULT 0)""",
    """CREATE TABLE events (
        id INTEGER PRIMARY KEY AUTOINCREMENT, member_id TEXT NOT NULL, event TEXT NOT NULL,
        object_id TEXT, payload TEXT NOT NULL, has_tokens INTEGER NOT NULL, received_at REAL NOT NULL,
        state TEXT NOT NULL DEFAULT 'new')""",
    "CREATE INDEX events_portal_state ON events (member_id, state)",
    """CREATE TABLE settings (member_id TEXT NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL,
        PRIMARY KEY (member_id, name))""",
    """CREATE TABLE rejected (id INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL, kind TEXT NOT NULL,
        member_id TEXT, reason TEXT NOT NULL, source TEXT)""",
    "CREATE INDEX events_object ON events (member_id, object_id, event)",  # duplicate check
    # links.py: what is linked to what, and what each "Sync to QuickBooks" became
    """CREATE TABLE mappings (
        member_id TEXT NOT NULL, company_file TEXT NOT NULL, kind TEXT NOT NULL, qb_id TEXT NOT NULL,
        qb_name TEXT NOT NULL, b24_type TEXT NOT NULL, b24_id TEXT NOT NULL, fingerprint TEXT,
        updated_at REAL NOT NULL, PRIMARY KEY (member_id, company_file, kind, qb_id))""",
    "CREATE INDEX mappings_b24 ON mappings (member_id, company_file, b24_type, b24_id)",
    """CREATE TABLE doc_syncs (
        member_id TEXT NOT NULL, sync_id TEXT NOT NULL, deal_id TEXT NOT NULL, kind TEXT NOT NULL,
        state TEXT NOT NULL, job_id TEXT, detail TEXT, outcome TEXT, created_at REAL NOT NULL,
        updated_at REAL NOT NULL, PRIMARY KEY (member_id, sync_id))""",
    "CREATE INDEX doc_syncs_deal ON doc_syncs (member_id, deal_id)",
    # both sides changed the same field: the winner applied, the loser's value kept here for a person
    """CREATE TABLE conflicts (
        id INTEGER PRIMARY KEY AUTOINCREMENT, member_id TEXT NOT NULL, at REAL NOT NULL, kind TEXT NOT NULL,
        qb_id TEXT NOT NULL, qb_name TEXT, b24_type TEXT NOT NULL, b24_id TEXT NOT NULL,
        field TEXT NOT NULL, qb_value TEXT, b24_value TEXT, winner TEXT NOT NULL)""",
    "CREATE INDEX conflicts_portal ON conflicts (member_id, id)",
    # frames.Sessions: a page's session, stored (as a digest) so that uninstall can end it at once
    """CREATE TABLE page_sessions (
        digest TEXT PRIMARY KEY, member_id TEXT NOT NULL, user_id INTEGER NOT NULL, admin INTEGER NOT NULL,
        issued_at REAL NOT NULL, expires_at REAL NOT NULL)""",
    "CREATE INDEX page_sessions_portal ON page_sessions (member_id)",
    # replay.py: digests of the events accepted lately, so the same delivery is not believed twice
    # (``at``: until when the digest is kept)
    """CREATE TABLE seen_events (
        member_id TEXT NOT NULL, digest TEXT NOT NULL, at REAL NOT NULL, PRIMARY KEY (member_id, digest))""",
    # retries.py: a failed step that comes back by itself at ``due`` (Failure.retry_at), one per key
    """CREATE TABLE retries (
        member_id TEXT NOT NULL, key TEXT NOT NULL, kind TEXT NOT NULL, due REAL NOT NULL,
        attempt INTEGER NOT NULL, payload TEXT NOT NULL, reason TEXT, PRIMARY KEY (member_id, key))""",
    "CREATE INDEX retries_due ON retries (due)",
    # storage.probe: /healthz writes a page-sized row here and removes it again
    "CREATE TABLE IF NOT EXISTS health_probe (id INTEGER PRIMARY KEY, pad BLOB)",
    # b24/journal.py: each Bitrix24 create by its origin key — intended (outcome unknown), then done
    """CREATE TABLE b24_writes (
        member_id TEXT NOT NULL, key TEXT NOT NULL, method TEXT NOT NULL, state TEXT NOT NULL,
        b24_id TEXT, at REAL NOT NULL, PRIMARY KEY (member_id, key))""",
    # links.py: a client's customer in another currency than the home one (QuickBooks keeps one currency
    # per customer): "" for the home currency's
    "ALTER TABLE mappings ADD COLUMN currency TEXT NOT NULL DEFAULT ''",
]
# rows removed with the portal on CLEAN=1
PORTAL_TABLES = (
    "events", "settings", "mappings", "doc_syncs", "conflicts", "seen_events", "retries", "b24_writes"
)


@dataclass(frozen=True)
class Credentials:
    member_id: str
    domain: str
    client_endpoint: str
    server_endpoint: str
    access_token: str
    refresh_token: str
    expires_at: float
    version: int = 0  # bumps on every refresh: tells a waiting worker someone else refreshed


@dataclass(frozen=True)
class PortalRow:
    member_id: str
    domain: str
    client_endpoint: str
    server_endpoint: str
    application_token: str
    state: str  # installing | active | attention | uninstalled
    attention: str | None
    scopes: tuple[str, ...]


class PortalStore:
    def __init__(self, path: str, vault: Vault, *, clock: Callable[[], float] = time.time) -> None:
        self.db = sqlite_utils.Database(connect(path))
        if path != ":memory:":
            self.db.conn.execute("PRAGMA journal_mode=WAL")
        self.db.conn.execute("PRAGMA busy_timeout=5000")
        self.vault = vault
        self.clock = clock
        self.lock = threading.RLock()
        self._migrate()

    def _migrate(self) -> None:
        with self.lock, self.db.conn:
            self.db.conn.execute("CREATE TABLE IF NOT EXISTS migrations (version INTEGER PRIMARY KEY)")
            done = {r[0] for r in self.db.conn.execute("SELECT version FROM migrations")}
            for version, sql in enumerate(MIGRATIONS, start=1):
                if version not in done:
                    self.db.conn.execute(sql)
                    self.db.conn.execute("INSERT INTO migrations (version) VALUES (?)", (version,))

    def close(self) -> None:
        self.db.conn.close()

    # -- portals ----------------------------------------------------------------------------------------

    def save_install(
        self,
        *,
        member_id: str,
        domain: str,
        client_endpoint: str,
        server_endpoint: str,
        access_token: str,
        refresh_token: str,
        expires_at: float,
        scopes: tuple[str, ...],
        application_token: str,
    ) -> None:
        now = self.clock()
        with self.lock, self.db.conn:
            existing = self._row(member_id)
            self.db.conn.execute(
                """INSERT INTO portals (member_id, domain, client_endpoint, server_endpoint, access_token,
                       refresh_token, expires_at, scopes, application_token, state, installed_at, updated_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'installing', ?, ?)
                   ON CONFLICT(member_id) DO UPDATE SET domain=excluded.domain,
                       client_endpoint=excluded.client_endpoint, server_endpoint=excluded.server_endpoint,
                       access_token=excluded.access_token, refresh_token=excluded.refresh_token,
                       expires_at=excluded.expires_at, scopes=excluded.scopes,
                       application_token=excluded.application_token, attention=NULL,
                       state=CASE WHEN portals.state='active' THEN 'active' ELSE 'installing' END,
                       updated_at=excluded.updated_at, token_version=portals.token_version+1""",
                (
                    member_id,
                    domain,
                    client_endpoint,
                    server_endpoint,
                    self.vault.seal(access_token),
                    self.vault.seal(refresh_token),
                    expires_at,
                    ",".join(scopes),
                    application_token,
                    existing["installed_at"] if existing else now,
                    now,
                ),
            )

    def set_application_token(self, member_id: str, application_token: str) -> None:
        with self.lock, self.db.conn:
            self.db.conn.execute(
                "UPDATE portals SET application_token=?, updated_at=? WHERE member_id=?",
                (application_token, self.clock(), member_id),
            )

    def activate(self, member_id: str) -> None:
        """Working again: the attention reason goes with the state it explained."""
        with self.lock, self.db.conn:
            self.db.conn.execute(
                "UPDATE portals SET state='active', attention=NULL, updated_at=? WHERE member_id=?",
                (self.clock(), member_id),
            )

    def _row(self, member_id: str) -> dict[str, Any] | None:
        cur = self.db.conn.execute("SELECT * FROM portals WHERE member_id=?", (member_id,))
        row = cur.fetchone()
        if row is None:
            return None
        return dict(zip([d[0] for d in cur.description], row, strict=True))

    def portal(self, member_id: str) -> PortalRow | None:
        with self.lock:
            r = self._row(member_id)
        if r is None:
            return None
        return PortalRow(
            r["member_id"],
            r["domain"],
            r["client_endpoint"],
            r["server_endpoint"],
            r["application_token"] or "",
            r["state"],
            r["attention"],
            tuple(s for s in (r["scopes"] or "").split(",") if s),
        )

    def portals(self) -> list[PortalRow]:
        with self.lock:
            ids = [r[0] for r in self.db.conn.execute("SELECT member_id FROM portals ORDER BY member_id")]
        return [p for p in (self.portal(i) for i in ids) if p is not None]

    def credentials(self, member_id: str) -> Credentials | None:
        with self.lock:
            r = self._row(member_id)
        if r is None or not r["access_token"]:
            return None
        return Credentials(
            r["member_id"],
            r["domain"],
            r["client_endpoint"],
            r["server_endpoint"],
            self.vault.open(r["access_token"]),
            self.vault.open(r["refresh_token"]),
            float(r["expires_at"] or 0),
            int(r["token_version"]),
        )

    def save_tokens(
        self,
        member_id: str,
        access_token: str,
        refresh_token: str,
        expires_at: float,
        client_endpoint: str | None = None,
    ) -> None:
        with self.lock, self.db.conn:
            self.db.conn.execute(
                """UPDATE portals SET access_token=?, refresh_token=?, expires_at=?,
                       client_endpoint=COALESCE(?, client_endpoint), token_version=token_version+1,
                       updated_at=? WHERE member_id=?""",
                (
                    self.vault.seal(access_token),
                    self.vault.seal(refresh_token),
                    expires_at,
                    client_endpoint,
                    self.clock(),
                    member_id,
                ),
            )

    def moved(self, member_id: str, domain: str, client_endpoint: str) -> None:
        """The portal was renamed (302): ``member_id`` stays the identity."""
        with self.lock, self.db.conn:
            self.db.conn.execute(
                "UPDATE portals SET domain=?, client_endpoint=?, updated_at=? WHERE member_id=?",
                (domain, client_endpoint, self.clock(), member_id),
            )

    def needs_attention(self, member_id: str, reason: str) -> None:
        with self.lock, self.db.conn:
            self.db.conn.execute(
                "UPDATE portals SET state='attention', attention=?, updated_at=? WHERE member_id=?",
                (reason, self.clock(), member_id),
            )

    def uninstall(self, member_id: str, *, clean: bool) -> None:
        """Tokens and page sessions go at once; the portal's data too when the user asked (``CLEAN=1``)."""
        with self.lock, self.db.conn:
            self.db.conn.execute("DELETE FROM page_sessions WHERE member_id=?", (member_id,))
            if clean:
                for table in PORTAL_TABLES:
                    self.db.conn.execute(f"DELETE FROM {table} WHERE member_id=?", (member_id,))
                self.db.conn.execute("DELETE FROM portals WHERE member_id=?", (member_id,))
            else:
                self.db.conn.execute(
                    """UPDATE portals SET access_token=NULL, refresh_token=NULL, state='uninstalled',
                           updated_at=? WHERE member_id=?""",
                    (self.clock(), member_id),
                )

    # -- page sessions (frames.Sessions) -----------------------------------------------------------------

    def add_session(self, digest: str, member_id: str, user_id: int, admin: bool, ttl: float) -> None:
        now = self.clock()
        with self.lock, self.db.conn:
            self.db.conn.execute("DELETE FROM page_sessions WHERE expires_at < ?", (now,))
            self.db.conn.execute(
                "INSERT INTO page_sessions (digest, member_id, user_id, admin, issued_at, expires_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (digest, member_id, user_id, int(admin), now, now + ttl),
            )

    def session(self, digest: str) -> tuple[str, int, bool, float] | None:
        """(member_id, user_id, admin, expires_at) of a stored session whose portal is still installed."""
        with self.lock:
            row = self.db.conn.execute(
                "SELECT s.member_id, s.user_id, s.admin, s.expires_at FROM page_sessions s "
                "JOIN portals p ON p.member_id = s.member_id "
                "WHERE s.digest=? AND p.state != 'uninstalled'",
                (digest,),
            ).fetchone()
        return (str(row[0]), int(row[1]), bool(row[2]), float(row[3])) if row else None

    def drop_sessions(self, member_id: str, *, digest: str | None = None, user_id: int | None = None) -> int:
        """End sessions: one (``digest``), one user's, or all of a portal's."""
        sql, params = "DELETE FROM page_sessions WHERE member_id=?", list[object]([member_id])
        if digest is not None:
            sql, params = sql + " AND digest=?", [*params, digest]
        if user_id is not None:
            sql, params = sql + " AND user_id=?", [*params, user_id]
        with self.lock, self.db.conn:
            return int(self.db.conn.execute(sql, params).rowcount)

    # -- settings and events ----------------------------------------------------------------------------

    def set_setting(self, member_id: str, name: str, value: Any) -> None:
        with self.lock, self.db.conn:
            self.db.conn.execute(
                "INSERT OR REPLACE INTO settings (member_id, name, value) VALUES (?, ?, ?)",
                (member_id, name, json.dumps(value)),
            )

    def setting(self, member_id: str, name: str, default: Any = None) -> Any:
        with self.lock:
            row = self.db.conn.execute(
                "SELECT value FROM settings WHERE member_id=? AND name=?", (member_id, name)
            ).fetchone()
        return json.loads(row[0]) if row else default

    def settings_with_prefix(self, member_id: str, prefix: str) -> dict[str, Any]:
        with self.lock:
            rows = self.db.conn.execute(
                "SELECT name, value FROM settings WHERE member_id=? AND substr(name, 1, ?)=?",
                (member_id, len(prefix), prefix),
            ).fetchall()
        return {name[len(prefix) :]: json.loads(value) for name, value in rows}

    def first_sighting(self, member_id: str, digest: str, until: float) -> bool:
        """True the first time this delivery's digest is seen (it is kept until ``until``); False again."""
        now = self.clock()
        with self.lock, self.db.conn:
            self.db.conn.execute("DELETE FROM seen_events WHERE at < ?", (now,))
            cur = self.db.conn.execute(
                "INSERT OR IGNORE INTO seen_events (member_id, digest, at) VALUES (?, ?, ?)",
                (member_id, digest, until),
            )
            return bool(cur.rowcount == 1)

    def events_waiting(self) -> int:
        with self.lock:
            return int(self.db.conn.execute("SELECT count(*) FROM events WHERE state='new'").fetchone()[0])

    def enqueue_event(
        self, member_id: str, event: str, object_id: str | None, payload: dict[str, Any], has_tokens: bool
    ) -> bool:
        """Store an event durably; a duplicate of one still waiting (same event, object and payload) is
        stored once: False. One already handled does not swallow a later edit in the same second."""
        body = json.dumps(payload, sort_keys=True)
        with self.lock, self.db.conn:
            same = self.db.conn.execute(
                "SELECT id FROM events WHERE member_id=? AND event=? AND object_id IS ? AND payload=? "
                "AND state='new'",
                (member_id, event, object_id, body),
            ).fetchone()
            if same:
                return False
            self.db.conn.execute(
                """INSERT INTO events (member_id, event, object_id, payload, has_tokens, received_at)
                   VALUES (?, ?, ?, ?, ?, ?)""",
                (member_id, event, object_id, body, int(has_tokens), self.clock()),
            )
            return True

    def mark_events(self, member_id: str, ids: list[int], state: str) -> None:
        with self.lock, self.db.conn:
            self.db.conn.executemany(
                "UPDATE events SET state=? WHERE member_id=? AND id=?", [(state, member_id, i) for i in ids]
            )

    def count_events(self, member_id: str, state: str = "new") -> int:
        """How many events of the portal are in ``state``, without reading their payloads."""
        with self.lock:
            row = self.db.conn.execute(
                "SELECT COUNT(*) FROM events WHERE member_id=? AND state=?", (member_id, state)
            ).fetchone()
        return int(row[0])

    def events(self, member_id: str, state: str = "new") -> list[dict[str, Any]]:
        with self.lock:
            cur = self.db.conn.execute(
                "SELECT id, event, object_id, payload, has_tokens FROM events WHERE member_id=? AND state=? "
                "ORDER BY id",
                (member_id, state),
            )
            return [
                {
                    "id": r[0],
                    "event": r[1],
                    "object_id": r[2],
                    "payload": json.loads(r[3]),
                    "has_tokens": bool(r[4]),
                }
                for r in cur.fetchall()
            ]

    def reject(self, kind: str, reason: str, member_id: str | None = None, source: str | None = None) -> None:
        with self.lock, self.db.conn:
            self.db.conn.execute(
                "INSERT INTO rejected (at, kind, member_id, reason, source) VALUES (?, ?, ?, ?, ?)",
                (self.clock(), kind, member_id, reason, source),
            )

    def rejected(self) -> list[dict[str, Any]]:
        with self.lock:
            cur = self.db.conn.execute("SELECT kind, member_id, reason FROM rejected ORDER BY id")
            return [{"kind": r[0], "member_id": r[1], "reason": r[2]} for r in cur.fetchall()]
