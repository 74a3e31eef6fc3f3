"""Three-way merge of synced fields: what changed where since the last sync, and who wins a conflict.

``base`` is what both sides held after the last sync. A field changed on one side flows to the other; a
field changed on both sides to different values is a conflict: the configured winner's value is applied
to both sides and the loser's value is kept in the conflict log for a person to see.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Side = Literal["qb", "b24"]


@dataclass(frozen=True)
class Conflict:
    field: str
    qb_value: Any
    b24_value: Any
    winner: Side
    initial: bool  # no earlier sync: the two sides simply started different


@dataclass
class Merge:
    to_qb: dict[str, Any] = field(default_factory=dict)
    to_b24: dict[str, Any] = field(default_factory=dict)
    conflicts: list[Conflict] = field(default_factory=list)

    @property
    def is_noop(self) -> bool:
        return not self.to_qb and not self.to_b24


def merge(
    base: Mapping[str, Any] | None,
    qb: Mapping[str, Any],
    b24: Mapping[str, Any],
    winners: Mapping[str, Side],
    default_winner: Side = "qb",
    base_b24: Mapping[str, Any] | None = None,
) -> Merge:
    """``base_b24`` is Bitrix24's side of the base where the two started different (a pair matched by
    e-mail, titled differently): a field neither side changed since stays as each side has it."""
    result = Merge()
    for name in sorted(set(qb) | set(b24)):
        q, b = qb.get(name), b24.get(name)
        if _same(q, b):
            continue
        if base is not None and name in base:
            was_q = base[name]
            was_b = base_b24[name] if base_b24 is not None and name in base_b24 else was_q
            if _same(q, was_q) and _same(b, was_b):  # they started different; nobody changed it since
                continue
            if _same(q, was_q):  # only Bitrix24 changed
                result.to_qb[name] = b
                continue
            if _same(b, was_b):  # only QuickBooks changed
                result.to_b24[name] = q
                continue
        winner = winners.get(name, default_winner)
        result.conflicts.append(Conflict(name, q, b, winner, initial=base is None or name not in base))
        if winner == "qb":
            result.to_b24[name] = q
        else:
            result.to_qb[name] = b
    return result


def _same(a: Any, b: Any) -> bool:
    empty = (None, "")
    if a in empty and b in empty:
        return True
    return bool(a == b)
