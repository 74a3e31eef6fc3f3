"""One error tree for qbXML: what went wrong building, parsing, or in QuickBooks' answer."""

from __future__ import annotations

from dataclasses import dataclass


class QbxmlError(Exception):
    """Base of every qbXML error."""


@dataclass(frozen=True)
class Problem:
    """One validation problem: where (a path like ``CustomerAddRq/CustomerAdd/Name``) and what."""

    path: str
    kind: str  # unknown | too_long | type | missing | choice | not_in_qbd | version | enum | range
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class BuildError(QbxmlError):
    """A request could not be built; ``problems`` lists every problem found, not only the first."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = tuple(problems)
        shown = "; ".join(str(p) for p in problems[:5])
        more = f" (+{len(problems) - 5} more)" if len(problems) > 5 else ""
        super().__init__(f"{len(problems)} problem(s): {shown}{more}")


class ParseError(QbxmlError):
    """A document is not well-formed or not what qbXML allows; the message carries a short excerpt."""
