"""What text QuickBooks Desktop (US) can store, and our stated policy for what it cannot.

QuickBooks Desktop stores text in a Windows single-byte code page (``../shared/specs/
quickbooks-webconnector.md`` §9); what happens to other characters differs by version, and one bad
character can fail a whole request document. Bitrix24 data is often Cyrillic. Policy:

* Cyrillic is transliterated to Latin (a readable BGN/PCGN-style table);
* other letters outside the code page are decomposed and their accents dropped (``ő`` → ``o``);
* what still cannot be stored (emoji, CJK, symbols) is removed;
* over-long values are cut to QuickBooks' limit.

Every change is returned as a note a person can see next to the record. A value that would become empty
is refused instead, with a message saying what to do.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from .field_words import words

CODEPAGE = "cp1252"

_CYRILLIC = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "yo", "ж": "zh", "з": "z", "и": "i",
    "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t",
    "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "", "ы": "y",
    "ь": "", "э": "e", "ю": "yu", "я": "ya", "є": "ye", "і": "i", "ї": "yi", "ґ": "g", "ў": "u",
}  # fmt: skip
# Latin letters with strokes do not decompose into letter + accent.
_CYRILLIC.update({"ł": "l", "đ": "d", "ħ": "h", "ı": "i", "ŧ": "t", "ŀ": "l"})


class Unstorable(ValueError):
    """The value has nothing QuickBooks could store; the message says what to do."""


@dataclass(frozen=True)
class Fitted:
    value: str
    notes: tuple[str, ...] = ()

    @property
    def changed(self) -> bool:
        return bool(self.notes)


def storable(ch: str) -> bool:
    try:
        ch.encode(CODEPAGE)
    except UnicodeEncodeError:
        return False
    return True


def _translit(ch: str) -> str:
    low = ch.lower()
    if low in _CYRILLIC:
        out = _CYRILLIC[low]
        return out.capitalize() if ch != low and out else out
    return ch


def to_codepage(text: str) -> tuple[str, list[str]]:
    """``text`` with every character QuickBooks can store; notes say what was changed."""
    notes: list[str] = []
    out: list[str] = []
    translit = dropped = decomposed = False
    for ch in text:
        if storable(ch):
            out.append(ch)
            continue
        latin = _translit(ch)
        if latin != ch:
            out.append(latin)
            translit = True
            continue
        base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
        if base and all(storable(c) for c in base):
            out.append(base)
            decomposed = True
            continue
        dropped = True
    if translit:
        notes.append("transliterated to Latin letters (QuickBooks cannot store them as written)")
    if decomposed:
        notes.append("accents QuickBooks cannot store were removed")
    if dropped:
        notes.append("characters QuickBooks cannot store (emoji, symbols, other scripts) were removed")
    return "".join(out), notes


def fit(text: str, max_length: int | None, *, field: str = "value") -> Fitted:
    """``text`` made storable and cut to ``max_length``; raises Unstorable when nothing would remain."""
    value, notes = to_codepage(text)
    value = " ".join(value.split()) if value != text else value
    if not value.strip() and text.strip():
        raise Unstorable(
            f"the {words(field)} “{text}” has no characters QuickBooks can store; enter it in Latin letters"
        )
    if max_length is not None and len(value) > max_length:
        cut = value[: max_length + 1]
        space = cut.rfind(" ")
        # end on a whole word when that keeps most of the text; a half word reads as a typo
        value = cut[:space].rstrip() if space >= max_length * 2 // 3 else value[:max_length].rstrip()
        kept = f"the most QuickBooks keeps for the {words(field)}"
        notes.append(f"shortened to {max_length} characters ({kept})")
    return Fitted(value, tuple(notes))
