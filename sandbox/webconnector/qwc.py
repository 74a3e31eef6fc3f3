"""Reading a ``.qwc`` file the way the real Web Connector does when a user adds an application.

The real QBWC refuses a file with a missing required element, a malformed OwnerID/FileID or a plain-http
AppURL off the local machine; refusing the same files here keeps a generated ``.qwc`` honest before it
reaches a customer's Windows box.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from lxml import etree


class QwcError(ValueError):
    """The ``.qwc`` would be rejected by the Web Connector; the message says which element and why."""


@dataclass(frozen=True)
class QwcConfig:
    """What the Web Connector keeps about one application after the ``.qwc`` is added."""

    app_name: str
    app_id: str
    app_url: str
    app_description: str
    app_support: str
    user_name: str
    owner_id: str
    file_id: str
    qb_type: str = "QBFS"
    run_every: timedelta | None = None
    is_read_only: bool = False
    personal_data_pref: str = "pdpOptional"
    unattended_mode_pref: str = "umpOptional"


_GUID = re.compile(r"\{[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\}")
_LOCAL_HOSTS = ("localhost", "127.0.0.1")
_QB_TYPES = ("QBFS", "QBPOS")
_PERSONAL = ("pdpOptional", "pdpRequired", "pdpNotNeeded")
_UNATTENDED = ("umpOptional", "umpRequired")


def read_qwc(path_or_text: str | Path) -> QwcConfig:
    """Parse a ``.qwc`` given as a path or as the XML text itself (text starts with ``<``)."""
    text = _load(path_or_text)
    parser = etree.XMLParser(resolve_entities=False, no_network=True, remove_comments=True)
    try:
        root = etree.fromstring(text.encode("utf-8"), parser)
    except etree.XMLSyntaxError as exc:
        raise QwcError(f"not well-formed XML: {exc}") from exc
    if root.tag != "QBWCXML":
        raise QwcError(f"root element must be QBWCXML, not {root.tag}")

    def text_of(name: str, *, required: bool, allow_empty: bool = False) -> str:
        element = root.find(name)
        if element is None:
            if required:
                raise QwcError(f"missing required element <{name}>")
            return ""
        value = (element.text or "").strip()
        if required and not value and not allow_empty:
            raise QwcError(f"<{name}> must not be empty")
        return value

    app_url = text_of("AppURL", required=True)
    _check_url("AppURL", app_url)
    owner_id = text_of("OwnerID", required=True)
    file_id = text_of("FileID", required=True)
    for name, value in (("OwnerID", owner_id), ("FileID", file_id)):
        if not _GUID.fullmatch(value):
            raise QwcError(f"<{name}> must be a GUID in braces like {{57F3B9B1-86F1-4fcc-B1EE-566DE1813D20}},"
                           f" got {value!r}")
    qb_type = text_of("QBType", required=False) or "QBFS"
    personal = text_of("PersonalDataPref", required=False) or "pdpOptional"
    unattended = text_of("UnattendedModePref", required=False) or "umpOptional"
    for name, value, allowed in (("QBType", qb_type, _QB_TYPES), ("PersonalDataPref", personal, _PERSONAL),
                                 ("UnattendedModePref", unattended, _UNATTENDED)):
        if value not in allowed:
            raise QwcError(f"<{name}> must be one of {', '.join(allowed)}, got {value!r}")
    return QwcConfig(
        app_name=text_of("AppName", required=True),
        app_id=text_of("AppID", required=True, allow_empty=True),
        app_url=app_url,
        app_description=text_of("AppDescription", required=False),
        app_support=text_of("AppSupport", required=True),
        user_name=text_of("UserName", required=True),
        owner_id=owner_id,
        file_id=file_id,
        qb_type=qb_type,
        run_every=_schedule(root),
        is_read_only=_boolean("IsReadOnly", text_of("IsReadOnly", required=False)),
        personal_data_pref=personal,
        unattended_mode_pref=unattended,
    )


def _load(path_or_text: str | Path) -> str:
    if isinstance(path_or_text, str) and path_or_text.lstrip().startswith("<"):
        return path_or_text
    try:
        return Path(path_or_text).read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise QwcError(f"cannot read {path_or_text}: {exc.strerror}") from exc


def _check_url(name: str, url: str) -> None:
    """https everywhere; plain http only to this machine, as the real QBWC enforces."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and parts.hostname in _LOCAL_HOSTS:
        return
    raise QwcError(f"<{name}> must use https:// unless the host is localhost or 127.0.0.1, got {url!r}")


def _schedule(root: etree._Element) -> timedelta | None:
    scheduler = root.find("Scheduler")
    if scheduler is None:
        return None
    for name, unit in (("RunEveryNMinutes", "minutes"), ("RunEveryNSeconds", "seconds")):
        element = scheduler.find(name)
        if element is not None:
            value = (element.text or "").strip()
            if not value.isdigit() or int(value) == 0:
                raise QwcError(f"<{name}> must be a positive whole number, got {value!r}")
            return timedelta(**{unit: int(value)})
    return None


def _boolean(name: str, value: str) -> bool:
    if value in ("", "false", "False", "0"):
        return False
    if value in ("true", "True", "1"):
        return True
    raise QwcError(f"<{name}> must be true or false, got {value!r}")
