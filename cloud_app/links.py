"""What is linked to what, and what each "Sync to QuickBooks" click became.

Mappings are keyed by (portal, company file, kind, QuickBooks id) — the same Bitrix24 portal may keep
books in more than one company file — with the Bitrix24 side as (type, id): ``company``/``contact`` for
customers, ``product`` for items, ``deal`` for documents. Every query names its portal. A client billed
in another currency than the company file's home currency has a customer of its own for it (QuickBooks
keeps one currency per customer): its link carries that ``currency``; every other link has ``""``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .portals import PortalStore

COLUMNS = "kind, qb_id, qb_name, b24_type, b24_id, fingerprint, currency"
# a sync in these states may still send (or has sent) its write: no second one for the same deal
ACTIVE = ("looking_up", "sending", "queued", "recovering")


def _marks(values: tuple[str, ...]) -> str:
    return ", ".join("?" * len(values))


@dataclass(frozen=True)
class Link:
    kind: str
    qb_id: str
    qb_name: str
    b24_type: str
    b24_id: str
    fingerprint: str | None = None  # the synced fields as they stand on both sides (echo detection)
    currency: str = ""  # a client's customer in another currency: its code ("" the home currency's)


@dataclass(frozen=True)
class DocSync:
    sync_id: str
    deal_id: str
    kind: str
    state: str  # looking_up | preview | queued | recovering | done | failed | retried
    job_id: str | None
    detail: dict[str, Any]  # what the page shows: reason/fix, the plan's lines, the document's number …
    outcome: str | None  # one line: "Invoice 1043 created, 4,520.00 USD" or the reason it failed


class Links:
    def __init__(self, store: PortalStore) -> None:
        self.store = store  # the tables are the store's migrations 7–10

    # -- mappings -------------------------------------------------------------------------------------

    def link(self, member_id: str, company_file: str, item: Link) -> None:
        with self.store.lock, self.store.db.conn:
            self.store.db.conn.execute(
                """INSERT INTO mappings (member_id, company_file, kind, qb_id, qb_name, b24_type, b24_id,
                   fingerprint, updated_at, currency) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT (member_id, company_file, kind, qb_id) DO UPDATE SET qb_name=excluded.qb_name,
                   b24_type=excluded.b24_type, b24_id=excluded.b24_id, updated_at=excluded.updated_at,
                   fingerprint=coalesce(excluded.fingerprint, fingerprint), currency=excluded.currency""",
                (member_id, company_file, item.kind, item.qb_id, item.qb_name, item.b24_type, item.b24_id,
                 item.fingerprint, self.store.clock(), item.currency),
            )  # fmt: skip

    def claim(self, member_id: str, company_file: str, item: Link) -> Link | None:
        """:meth:`link`, unless the QuickBooks record is linked to another Bitrix24 record: then nothing
        changes and that link is returned — a link is never moved from one record to another by a match."""
        with self.store.lock:
            holder = self.by_qb(member_id, company_file, item.kind, item.qb_id)
            if holder is not None and (holder.b24_type, holder.b24_id) != (item.b24_type, item.b24_id):
                return holder
            self.link(member_id, company_file, item)
        return None

    def by_b24(
        self, member_id: str, company_file: str, b24_type: str, b24_id: str, currency: str = ""
    ) -> Link | None:
        """The record's link — for a client, its customer in ``currency`` ("" the home currency's)."""
        with self.store.lock:
            row = self.store.db.conn.execute(
                f"SELECT {COLUMNS} FROM mappings WHERE member_id=? AND company_file=? AND b24_type=? "
                "AND b24_id=? AND currency=? ORDER BY updated_at DESC LIMIT 1",
                (member_id, company_file, b24_type, str(b24_id), currency),
            ).fetchone()
        return Link(*row) if row else None

    def customers_of(self, member_id: str, company_file: str, b24_type: str, b24_id: str) -> list[Link]:
        """The record's customers, one per currency: the home currency's first, then by currency code."""
        with self.store.lock:
            rows = self.store.db.conn.execute(
                f"SELECT {COLUMNS} FROM mappings WHERE member_id=? AND company_file=? AND kind='customer' "
                "AND b24_type=? AND b24_id=? ORDER BY currency, updated_at DESC",
                (member_id, company_file, b24_type, str(b24_id)),
            ).fetchall()
        found: dict[str, Link] = {}
        for row in rows:  # the latest link of each currency, as by_b24 takes it
            found.setdefault(str(row[6]), Link(*row))
        return list(found.values())

    def by_qb(self, member_id: str, company_file: str, kind: str, qb_id: str) -> Link | None:
        with self.store.lock:
            row = self.store.db.conn.execute(
                f"SELECT {COLUMNS} FROM mappings WHERE member_id=? AND company_file=? AND kind=? AND qb_id=?",
                (member_id, company_file, kind, qb_id),
            ).fetchone()
        return Link(*row) if row else None

    def set_fingerprint(self, member_id: str, company_file: str, kind: str, qb_id: str, value: str) -> None:
        with self.store.lock, self.store.db.conn:
            self.store.db.conn.execute(
                "UPDATE mappings SET fingerprint=? "
                "WHERE member_id=? AND company_file=? AND kind=? AND qb_id=?",
                (value, member_id, company_file, kind, qb_id),
            )

    def unlink(self, member_id: str, company_file: str, kind: str, qb_id: str) -> None:
        """The QuickBooks record is gone (deleted there): nothing is linked to it any more."""
        with self.store.lock, self.store.db.conn:
            self.store.db.conn.execute(
                "DELETE FROM mappings WHERE member_id=? AND company_file=? AND kind=? AND qb_id=?",
                (member_id, company_file, kind, qb_id),
            )

    def total(self) -> int:
        """Across portals, for the operator's figures."""
        with self.store.lock:
            return int(self.store.db.conn.execute("SELECT count(*) FROM mappings").fetchone()[0])

    def by_qb_name(self, member_id: str, company_file: str, kind: str, qb_name: str) -> Link | None:
        """A top-level customer by its full name (a job's invoice shows on its parent's record) — only when
        exactly one link has that name: a name kept from before a rename can be another's name now, and
        a guess would put a document on the wrong company."""
        with self.store.lock:
            rows = self.store.db.conn.execute(
                f"SELECT {COLUMNS} FROM mappings WHERE member_id=? AND company_file=? AND kind=? "
                "AND qb_name=? LIMIT 2",
                (member_id, company_file, kind, qb_name),
            ).fetchall()
        return Link(*rows[0]) if len(rows) == 1 else None

    # -- the conflict log -----------------------------------------------------------------------------

    def log_conflict(
        self, member_id: str, link: Link, field: str, qb_value: Any, b24_value: Any, winner: str
    ) -> None:
        with self.store.lock, self.store.db.conn:
            self.store.db.conn.execute(
                """INSERT INTO conflicts (member_id, at, kind, qb_id, qb_name, b24_type, b24_id, field,
                   qb_value, b24_value, winner) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                (member_id, self.store.clock(), link.kind, link.qb_id, link.qb_name, link.b24_type,
                 link.b24_id, field, json.dumps(qb_value, ensure_ascii=False),
                 json.dumps(b24_value, ensure_ascii=False), winner),
            )  # fmt: skip

    def conflicts(self, member_id: str, limit: int = 200) -> list[dict[str, Any]]:
        """Newest first: which record, which field, both values, which side won and when."""
        with self.store.lock:
            rows = self.store.db.conn.execute(
                "SELECT at, kind, qb_id, qb_name, b24_type, b24_id, field, qb_value, b24_value, winner "
                "FROM conflicts WHERE member_id=? ORDER BY id DESC LIMIT ?",
                (member_id, limit),
            ).fetchall()
        return [
            {"at": r[0], "kind": r[1], "qb_id": r[2], "qb_name": r[3], "b24_type": r[4], "b24_id": r[5],
             "field": r[6], "quickbooks": json.loads(r[7]), "bitrix24": json.loads(r[8]), "winner": r[9]}
            for r in rows
        ]  # fmt: skip

    # -- "Sync to QuickBooks" -------------------------------------------------------------------------

    def start_sync(
        self, member_id: str, sync_id: str, deal_id: str, kind: str, detail: dict[str, Any]
    ) -> str:
        """Record a new sync of the deal — unless one of it is already on its way to QuickBooks: then that
        one's id (a double click, two tabs: one intent, one write). One statement, so two clicks cannot
        both pass the check."""
        now = self.store.clock()
        with self.store.lock, self.store.db.conn:
            self.store.db.conn.execute(
                f"""INSERT INTO doc_syncs (member_id, sync_id, deal_id, kind, state, detail, created_at,
                   updated_at) SELECT ?, ?, ?, ?, 'looking_up', ?, ?, ?
                   WHERE NOT EXISTS (SELECT 1 FROM doc_syncs WHERE member_id=? AND deal_id=?
                                     AND state IN ({_marks(ACTIVE)}))""",
                (member_id, sync_id, str(deal_id), kind, json.dumps(detail, default=str), now, now,
                 member_id, str(deal_id), *ACTIVE),
            )  # fmt: skip
        running = self.active_sync(member_id, deal_id)
        return running.sync_id if running is not None else sync_id

    def active_sync(self, member_id: str, deal_id: str) -> DocSync | None:
        """The deal's sync that is looking QuickBooks up, sending or recovering, if any."""
        with self.store.lock:
            row = self.store.db.conn.execute(
                "SELECT sync_id, deal_id, kind, state, job_id, detail, outcome FROM doc_syncs WHERE "
                f"member_id=? AND deal_id=? AND state IN ({_marks(ACTIVE)}) ORDER BY created_at LIMIT 1",
                (member_id, str(deal_id), *ACTIVE),
            ).fetchone()
        return _sync(row) if row else None

    def syncing_party(self, member_id: str, b24_type: str, b24_id: str) -> bool:
        """Is a deal of this company/contact being synced (its write may add the customer)?"""
        with self.store.lock:
            row = self.store.db.conn.execute(
                "SELECT 1 FROM doc_syncs WHERE member_id=? AND json_extract(detail, '$.party.type')=? AND "
                f"json_extract(detail, '$.party.id')=? AND state IN ({_marks(ACTIVE)}) LIMIT 1",
                (member_id, b24_type, str(b24_id), *ACTIVE),
            ).fetchone()
        return row is not None

    def syncing_parties(self, member_id: str, *, previews_since: float) -> set[tuple[str, str]]:
        """The companies/contacts (type, id) with a deal being synced, or previewed since then."""
        with self.store.lock:
            rows = self.store.db.conn.execute(
                "SELECT DISTINCT json_extract(detail, '$.party.type'), json_extract(detail, '$.party.id') "
                f"FROM doc_syncs WHERE member_id=? AND (state IN ({_marks(ACTIVE)}) OR "
                "(state='preview' AND updated_at>=?))",
                (member_id, *ACTIVE, previews_since),
            ).fetchall()
        return {(str(t), str(i)) for t, i in rows if t and i}

    def unresolved_sync(self, member_id: str, deal_id: str) -> DocSync | None:
        """The deal's failed sync whose write may have landed (its answer was lost and QuickBooks could
        not be asked): checked before the deal gets any other write."""
        with self.store.lock:
            row = self.store.db.conn.execute(
                "SELECT sync_id, deal_id, kind, state, job_id, detail, outcome FROM doc_syncs WHERE "
                "member_id=? AND deal_id=? AND state='failed' AND json_extract(detail, '$.unresolved') "
                "IS NOT NULL ORDER BY created_at DESC LIMIT 1",
                (member_id, str(deal_id)),
            ).fetchone()
        return _sync(row) if row else None

    def move_sync(
        self,
        member_id: str,
        sync_id: str,
        *,
        from_states: tuple[str, ...],
        to: str,
        exclusive: bool = False,
        job_id: str | None = None,
        detail: dict[str, Any] | None = None,
        outcome: str | None = None,
    ) -> bool:
        """Compare-and-set: move the sync to ``to`` only if it is in one of ``from_states`` (and, with
        ``exclusive``, no other sync of its deal is active). False: someone else moved it first — a second
        confirm or Retry of the same intent."""
        guard = (
            f" AND NOT EXISTS (SELECT 1 FROM doc_syncs o WHERE o.member_id=doc_syncs.member_id AND "
            f"o.deal_id=doc_syncs.deal_id AND o.sync_id<>doc_syncs.sync_id AND o.state IN ({_marks(ACTIVE)}))"
            if exclusive
            else ""
        )
        with self.store.lock, self.store.db.conn:  # the lock is re-entrant: read and write as one step
            current = self.sync(member_id, sync_id)
            if current is None or current.state not in from_states:
                return False
            merged = {**current.detail, **(detail or {})}
            moved = self.store.db.conn.execute(
                "UPDATE doc_syncs SET state=?, job_id=coalesce(?, job_id), detail=?, "
                "outcome=coalesce(?, outcome), updated_at=? WHERE member_id=? AND sync_id=? "
                f"AND state IN ({_marks(from_states)}){guard}",
                (to, job_id, json.dumps(merged, default=str), outcome, self.store.clock(), member_id, sync_id,
                 *from_states, *(ACTIVE if exclusive else ())),
            ).rowcount  # fmt: skip
        return moved == 1

    def update_sync(
        self,
        member_id: str,
        sync_id: str,
        *,
        state: str,
        job_id: str | None = None,
        detail: dict[str, Any] | None = None,
        outcome: str | None = None,
    ) -> None:
        current = self.sync(member_id, sync_id)
        if current is None:
            return
        merged = {**current.detail, **(detail or {})}
        with self.store.lock, self.store.db.conn:
            self.store.db.conn.execute(
                "UPDATE doc_syncs SET state=?, job_id=coalesce(?, job_id), detail=?, "
                "outcome=coalesce(?, outcome), updated_at=? WHERE member_id=? AND sync_id=?",
                (
                    state,
                    job_id,
                    json.dumps(merged, default=str),
                    outcome,
                    self.store.clock(),
                    member_id,
                    sync_id,
                ),
            )

    def set_sync_kind(self, member_id: str, sync_id: str, kind: str) -> None:
        """The document type a person chose on the preview."""
        with self.store.lock, self.store.db.conn:
            self.store.db.conn.execute(
                "UPDATE doc_syncs SET kind=? WHERE member_id=? AND sync_id=?", (kind, member_id, sync_id)
            )

    def recent_syncs(
        self, member_id: str, *, state: str | None = None, deal_id: str | None = None, limit: int = 100
    ) -> list[tuple[DocSync, float, float]]:
        """The sync log, newest first, with when each started and last changed."""
        where, args = ["member_id=?"], [member_id]
        if state:
            where.append("state=?")
            args.append(state)
        if deal_id:
            where.append("deal_id=?")
            args.append(str(deal_id))
        with self.store.lock:
            rows = self.store.db.conn.execute(
                "SELECT sync_id, deal_id, kind, state, job_id, detail, outcome, created_at, updated_at "
                f"FROM doc_syncs WHERE {' AND '.join(where)} ORDER BY created_at DESC LIMIT ?",
                (*args, limit),
            ).fetchall()
        return [(_sync(r), float(r[7]), float(r[8])) for r in rows]

    def sync_updated_at(self, member_id: str, sync_id: str) -> float | None:
        """When the sync last changed (a preview: when its plan was made)."""
        with self.store.lock:
            row = self.store.db.conn.execute(
                "SELECT updated_at FROM doc_syncs WHERE member_id=? AND sync_id=?", (member_id, sync_id)
            ).fetchone()
        return float(row[0]) if row else None

    def sync(self, member_id: str, sync_id: str) -> DocSync | None:
        found = self._syncs(member_id, "sync_id=?", sync_id)
        return found[0] if found else None

    def _syncs(self, member_id: str, where: str, value: str) -> list[DocSync]:
        with self.store.lock:
            rows = self.store.db.conn.execute(
                "SELECT sync_id, deal_id, kind, state, job_id, detail, outcome FROM doc_syncs "
                f"WHERE member_id=? AND {where} ORDER BY created_at",
                (member_id, value),
            ).fetchall()
        return [_sync(r) for r in rows]

    def syncs_of_deal(self, member_id: str, deal_id: str) -> list[DocSync]:
        return self._syncs(member_id, "deal_id=?", str(deal_id))

    def documents_of_deal(self, member_id: str, company_file: str, deal_id: str) -> list[Link]:
        """Every QuickBooks document made for the deal, oldest first."""
        with self.store.lock:
            rows = self.store.db.conn.execute(
                f"SELECT {COLUMNS} FROM mappings WHERE member_id=? AND company_file=? AND b24_type='deal' "
                "AND b24_id=? AND kind IN ('invoice', 'estimate', 'salesorder', 'creditmemo') ORDER BY rowid",
                (member_id, company_file, str(deal_id)),
            ).fetchall()
        return [Link(*r) for r in rows]


def _sync(row: Any) -> DocSync:
    return DocSync(row[0], row[1], row[2], row[3], row[4], json.loads(row[5] or "{}"), row[6])
