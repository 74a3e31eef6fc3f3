"""Create Bitrix24 records exactly once, through lost answers, outages and restarts.

Each record we create carries our origin key (a field Bitrix24 stores and can filter on: see
:mod:`cloud_app.b24.origin`). The journal (:mod:`cloud_app.b24.journal`) records the intent before the
call and the id after it; anything whose outcome is unknown — journaled ``intent`` by an earlier process,
or whose answer was lost now (:class:`~cloud_app.b24.retry.Unsure`) — is looked for by its key (a read,
which waits out an outage) and created only if it is not there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .client import Client
from .journal import Journal
from .retry import Unsure

Command = tuple[str, dict[str, Any]]


@dataclass(frozen=True)
class Create:
    key: str  # the origin key, unique in the portal (journal key)
    add: Command  # the create command
    find: Command  # a read that finds the record by its origin key
    found: Callable[[Any], str | None]  # the record's id from the find's answer (None: not there)
    made: Callable[[Any], str]  # the record's id from the create's answer


def create_once(
    client: Client,
    journal: Journal,
    creates: dict[str, Create],
    record: Callable[[str, str], None],
    *,
    what: str,
    keep: bool = False,
) -> dict[str, str]:
    """Command key → id of each record that now exists (made now, or found made before). ``record(key,
    id)`` stores what the caller keeps (its link) before the journal lets the row go. Refused creates
    are logged by the client and left out. With ``keep`` the rows stay (``done``) as the memory that
    the record was made — a timeline comment has no link to remember it by: the same key is never made
    again, however often the same change is applied."""
    member_id = client.member_id
    ids: dict[str, str] = {}
    for start in range(0, len(creates), 50):
        part = dict(list(creates.items())[start : start + 50])
        ids.update(_part(client, journal, member_id, part, record, what, keep))
    return ids


def _part(
    client: Client,
    journal: Journal,
    member_id: str,
    creates: dict[str, Create],
    record: Callable[[str, str], None],
    what: str,
    keep: bool,
) -> dict[str, str]:
    known = journal.entries(member_id, [c.key for c in creates.values()])
    ids = {k: str(known[c.key].b24_id) for k, c in creates.items() if c.key in known and known[c.key].b24_id}
    unsure = {k for k, c in creates.items() if c.key in known and k not in ids}
    while True:
        if unsure:
            looked = client.batch_all({k: creates[k].find for k in unsure}, what=f"looking for {what}")
            if looked.errors:  # a search refused cannot tell "not there": never create blindly
                raise Unsure("LOOKUP_REFUSED", f"{len(looked.errors)} search(es) refused", 0, "batch")
            found = {k: i for k in unsure if (i := creates[k].found(looked.result.get(k)))}
            journal.done(member_id, {creates[k].key: i for k, i in found.items()})
            ids.update(found)
            unsure = set()
        todo = [k for k in creates if k not in ids]
        if not todo:
            break
        journal.intend(member_id, {creates[k].key: creates[k].add[0] for k in todo})
        try:
            answer = client.batch_all({k: creates[k].add for k in todo}, what=what)
        except Unsure:
            unsure = set(todo)  # some may have been made: look before making them again
            continue
        made = {k: creates[k].made(answer.result[k]) for k in todo if k in answer.result}
        journal.done(member_id, {creates[k].key: i for k, i in made.items()})
        journal.forget(member_id, [creates[k].key for k in todo if k not in made])  # refused: none made
        ids.update(made)
        break
    for k, b24_id in ids.items():
        record(k, b24_id)
    if not keep:
        journal.forget(member_id, [creates[k].key for k in ids])
    return ids
