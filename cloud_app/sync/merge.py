"""Three-way merge of a linked customer's synced fields, and the per-link state it works from (pure).

Each link remembers what each side held after the last sync (``LinkState``). A field that changed on one
side since goes to the other; a field that changed on both sides to different values is a conflict: the
configured winner's value goes to both sides and the loser's value is kept for the conflicts log. A field
that never had a synced value (a pair linked before anything was synced field by field) has no base to
compare with: a value on one side and nothing on the other goes across (nothing is lost); two different
values are a conflict marked ``initial``.

Both directions use the one ``merge``: QuickBooks' change query (with the Bitrix24 record read just before
the decision, so an edit whose event has not been read yet still counts) and a Bitrix24 edit (with the
customer as QuickBooks has it now).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal

Side = Literal["qb", "b24"]
Fields = Mapping[str, Any]

_EMPTY: tuple[Any, ...] = (None, "", [], ())


def _empty(value: Any) -> bool:
    return any(value is e or value == e for e in _EMPTY)


def same(a: Any, b: Any) -> bool:
    """Equal, counting a missing value, an empty text and an empty list as one "nothing"."""
    if _empty(a) and _empty(b):
        return True
    return bool(a == b)


@dataclass(frozen=True)
class Conflict:
    field: str
    qb_value: Any
    b24_value: Any
    winner: Side
    at: datetime
    initial: bool  # no synced value before: the two sides simply started different

    @property
    def lost(self) -> Any:
        """The value that was not kept."""
        return self.b24_value if self.winner == "qb" else self.qb_value


@dataclass(frozen=True)
class Merge:
    to_qb: dict[str, Any] = field(default_factory=dict)  # fields QuickBooks takes from Bitrix24
    to_b24: dict[str, Any] = field(default_factory=dict)  # fields Bitrix24 takes from QuickBooks
    conflicts: tuple[Conflict, ...] = ()

    @property
    def is_noop(self) -> bool:
        return not self.to_qb and not self.to_b24


def merge(
    base_qb: Fields | None,
    base_b24: Fields | None,
    qb: Fields,
    b24: Fields,
    *,
    now: datetime,
    winner: Side = "qb",
    winners: Mapping[str, Side] | None = None,
) -> Merge:
    """Who takes which field. ``base_qb``/``base_b24``: each side's values after the last sync (Bitrix24's
    defaults to QuickBooks' per field: they differ only where a pair started different); ``winner`` and
    ``winners`` (per field) settle the fields both sides changed."""
    to_qb: dict[str, Any] = {}
    to_b24: dict[str, Any] = {}
    conflicts: list[Conflict] = []
    for name in sorted(set(qb) | set(b24)):
        q, b = qb.get(name), b24.get(name)
        if same(q, b):
            continue
        if base_qb is not None and name in base_qb:
            was_q = base_qb[name]
            was_b = base_b24[name] if base_b24 is not None and name in base_b24 else was_q
            changed_q, changed_b = not same(q, was_q), not same(b, was_b)
            if not changed_q and not changed_b:
                continue  # they started different and nobody changed it since
            if not changed_b:
                to_b24[name] = q
                continue
            if not changed_q:
                to_qb[name] = b
                continue
        elif _empty(q):
            to_qb[name] = b  # never synced, only Bitrix24 has a value: nothing is lost
            continue
        elif _empty(b):
            to_b24[name] = q
            continue
        side = (winners or {}).get(name, winner)
        initial = base_qb is None or name not in base_qb
        conflicts.append(Conflict(name, q, b, side, now, initial))
        if side == "qb":
            to_b24[name] = q
        else:
            to_qb[name] = b
    return Merge(to_qb, to_b24, tuple(conflicts))


# -- the link's state ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sending:
    """A CustomerMod on its way to QuickBooks: the fields it carries, the EditSequence it was built on and
    its job (an answer to any other Mod of the link is one a later decision replaced)."""

    fields: tuple[str, ...]
    edit_sequence: str
    job: str | None = None


@dataclass(frozen=True)
class LinkState:
    """What a customer link remembers between syncs (``mappings.fingerprint``, JSON).

    ``qb``/``b24``: the synced fields as each side held them after the last sync (the merge's base);
    ``seen``: Bitrix24's fields as the cloud last read them and decided on — an event whose record still
    shows them is our own write coming back, or an edit already handled; ``qb_only``: a hash of what only
    QuickBooks holds (balance, terms …), so an unchanged customer costs no Bitrix24 read; ``sending``: a
    Mod not yet answered."""

    qb: dict[str, Any]
    b24: dict[str, Any]
    seen: dict[str, Any]
    qb_only: str | None = None
    sending: Sending | None = None

    def handled(self, b24_now: Fields) -> bool:
        """Bitrix24 shows nothing the cloud has not already decided on."""
        return dict(b24_now) == self.seen

    def is_waiting_for(self, b24_now: Fields, edit_sequence: str) -> bool:
        """A Mod is on its way and neither side changed since it was built: it settles the link."""
        return (
            self.sending is not None and self.sending.edit_sequence == edit_sequence and self.handled(b24_now)
        )


def decided(
    before: LinkState | None,
    result: Merge,
    qb_now: Fields,
    b24_now: Fields,
    qb_only: str | None,
    edit_sequence: str,
) -> LinkState:
    """The state once Bitrix24 took ``result.to_b24`` and a Mod with ``result.to_qb`` is on its way.

    QuickBooks' base becomes what it holds now (its changes are in Bitrix24 or lost a conflict).
    Bitrix24's base becomes what it holds after our write, except for the fields still to reach
    QuickBooks: those keep their old base, so they still count as changed in Bitrix24 if the Mod has to
    be decided again (a stale EditSequence)."""
    b24_after = {**dict(b24_now), **result.to_b24}
    b24_base = {k: v for k, v in b24_after.items() if k not in result.to_qb}
    if before is not None:
        for name in result.to_qb:
            if name in before.b24 or name in before.qb:
                b24_base[name] = before.b24.get(name, before.qb.get(name))
    sending = Sending(tuple(sorted(result.to_qb)), edit_sequence) if result.to_qb else None
    return LinkState(dict(qb_now), b24_base, b24_after, qb_only, sending)


def sent(state: LinkState, qb_now: Fields, qb_only: str | None) -> LinkState:
    """The state once QuickBooks took the Mod: both sides hold what the cloud last decided."""
    return LinkState(dict(qb_now), dict(state.seen), dict(state.seen), qb_only, None)


def given_up(state: LinkState) -> LinkState:
    """The Mod was refused for good: each side keeps what it has, and the same values are not tried
    again until one side changes them."""
    return replace(state, b24=dict(state.seen), sending=None)


def loads(text: str | None) -> LinkState | None:
    """The stored state, or None for a link never synced field by field (an old content hash included)."""
    if not text or not text.startswith("{"):
        return None
    raw = json.loads(text)
    qb = dict(raw.get("base") or {})
    b24 = {**qb, **dict(raw.get("b24") or {})}
    seen = {**b24, **dict(raw.get("seen") or {})} if "seen" in raw else dict(b24)
    way = raw.get("sending")
    sending = None
    if way:
        sending = Sending(tuple(way["fields"]), str(way["edit_sequence"]), way.get("job"))
    return LinkState(qb, b24, seen, raw.get("qb"), sending)


def dumps(state: LinkState) -> str:
    """Bitrix24's base and view are kept only where they differ (most pairs hold the same on both)."""
    out: dict[str, Any] = {"base": state.qb, "qb": state.qb_only}
    if state.b24 != state.qb:
        out["b24"] = {k: v for k, v in state.b24.items() if state.qb.get(k, _MISSING) != v}
    if state.seen != state.b24:
        out["seen"] = {k: v for k, v in state.seen.items() if state.b24.get(k, _MISSING) != v}
    if state.sending is not None:
        s = state.sending
        out["sending"] = {"fields": list(s.fields), "edit_sequence": s.edit_sequence, "job": s.job}
    return json.dumps(out, sort_keys=True, ensure_ascii=False)


_MISSING = object()
