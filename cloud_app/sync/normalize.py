"""Normal forms used to match records across Bitrix24 and QuickBooks (never written anywhere)."""

from __future__ import annotations

import re
import unicodedata

_SPACE = re.compile(r"\s+")
_PUNCT = re.compile(r"[^\w\s&]")
_LEGAL = re.compile(r"\b(inc|llc|ltd|corp|co|company|corporation|incorporated|limited|ooo|llp|plc)\b\.?$")


def email(value: str | None) -> str | None:
    if not value:
        return None
    v = value.strip().lower()
    return v if "@" in v and "." in v.rsplit("@", 1)[-1] else None


def phone(value: str | None) -> str | None:
    """Digits only; a leading US country code is dropped so +1 775… and (775)… match. Extensions ignored."""
    if not value:
        return None
    main = re.split(r"(?i)\s*(?:ext\.?|x|доб\.?|#)\s*\d+\s*$", value.strip())[0]
    digits = re.sub(r"\D", "", main)
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    return digits if len(digits) >= 7 else None


def name(value: str | None) -> str | None:
    """Case, accents, punctuation, spacing and a trailing legal form do not make two names different."""
    if not value:
        return None
    v = unicodedata.normalize("NFKD", value)
    v = "".join(c for c in v if not unicodedata.combining(c)).casefold()
    v = v.replace("&", " and ")
    v = _PUNCT.sub(" ", v)
    v = _SPACE.sub(" ", v).strip()
    v = _LEGAL.sub("", v).strip()
    return v or None
