"""Reading a ``.qwc`` file the way the real Web Connector does when a user adds an application.

The rules and error codes are those of Intuit's *QuickBooks Web Connector Programmer's Guide* v2.0
(johnballantyne/qbws ``docs/QBWC_proguide.pdf``): Table 4-1 (p.35–38) for the elements, Appendix A
(p.83–88) for the refusals — QBWC1000 (AppURL and AppSupport on different domains), QBWC1001/QBWC1002 (an
IP-address host), QBWC1010 (AppURL not https off ``localhost``), QBWC1003/QBWC1004 (AppSupport not
reachable when the file is added: :func:`add_application`). Refusing the same files here keeps a generated
``.qwc`` honest before it reaches a customer's Windows box.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import requests
from lxml import etree


class QwcError(ValueError):
    """The ``.qwc`` would be rejected by the Web Connector; the message says which element and why.

    ``code`` is QBWC's own (``QBWC1000``…) where the guide gives one, else ``""``."""

    def __init__(self, message: str, code: str = "") -> None:
        super().__init__(f"{code}: {message}" if code else message)
        self.code = code


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
_LOCAL_HOSTS = ("localhost",)  # PG p.35: "you can specify localhost"; an IP is never loaded (QBWC1001)
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

    app_name = text_of("AppName", required=True)
    app_url = text_of("AppURL", required=True)
    app_support = text_of("AppSupport", required=True)
    _check_urls(app_name, app_url, app_support)
    owner_id = text_of("OwnerID", required=True)
    file_id = text_of("FileID", required=True)
    for name, value in (("OwnerID", owner_id), ("FileID", file_id)):
        if not _GUID.fullmatch(value):
            raise QwcError(f"<{name}> must be a GUID in braces like {{57F3B9B1-86F1-4fcc-B1EE-566DE1813D20}},"
                           f" got {value!r}")
    qb_type = text_of("QBType", required=True)  # PG Table 4-1: required
    personal = text_of("PersonalDataPref", required=False) or "pdpOptional"
    unattended = text_of("UnattendedModePref", required=False) or "umpOptional"
    for name, value, allowed in (("QBType", qb_type, _QB_TYPES), ("PersonalDataPref", personal, _PERSONAL),
                                 ("UnattendedModePref", unattended, _UNATTENDED)):
        if value not in allowed:
            raise QwcError(f"<{name}> must be one of {', '.join(allowed)}, got {value!r}")
    return QwcConfig(
        app_name=app_name,
        app_id=text_of("AppID", required=True, allow_empty=True),
        app_url=app_url,
        app_description=text_of("AppDescription", required=True),  # PG Table 4-1: required
        app_support=app_support,
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


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _check_urls(app_name: str, app_url: str, app_support: str) -> None:
    """PG Appendix A: no IP-address host (QBWC1001/1002), AppURL https unless localhost (QBWC1010), and
    AppURL and AppSupport on the same domain (QBWC1000). The guide allows localhost "for internal
    development and testing" but also says the domains must match "unless you are using localhost"; which
    way QBWC reads that is UNCONFIRMED, so the stricter reading holds: the same host name, localhost too."""
    url, support = urlsplit(app_url), urlsplit(app_support)
    for parts, text, name in ((url, app_url, "AppURL"), (support, app_support, "AppSupport")):
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise QwcError(f"<{name}> must be an http(s) URL with a host name, got {text!r}")
    if _is_ip(url.hostname or ""):
        raise QwcError(f"The application {app_name}'s service URL is an IP Address, it will not be loaded.",
                       "QBWC1001")
    if _is_ip(support.hostname or ""):
        raise QwcError(f"The application {app_name}'s support URL is an IP Address, it will not be loaded.",
                       "QBWC1002")
    if url.scheme != "https" and url.hostname not in _LOCAL_HOSTS:
        raise QwcError(f"Application {app_name} cannot be loaded. For security reasons only SSL (https) based"
                       f" applications are allowed. <AppURL> must use https:// unless the host is localhost,"
                       f" got {app_url!r}", "QBWC1010")
    if (url.hostname or "").lower() != (support.hostname or "").lower():
        raise QwcError(f"The domain names for {app_name}'s service and support URLs do not match.",
                       "QBWC1000")


Fetch = Callable[[str], int]  # GET a URL, return its HTTP status (raises on a transport failure)


def _get_status(url: str) -> int:
    with requests.get(url, timeout=10, allow_redirects=True) as answer:
        return answer.status_code


def add_application(path_or_text: str | Path, *, fetch: Fetch = _get_status) -> QwcConfig:
    """What QBWC does when a user adds the file: read it (all the rules above), then reach AppSupport —
    an answer other than 200 OK or 202 Accepted is QBWC1003, an exception QBWC1004 (PG p.84)."""
    qwc = read_qwc(path_or_text)
    try:
        status = fetch(qwc.app_support)
    except (requests.RequestException, OSError) as exc:
        raise QwcError(f"The application {qwc.app_name}'s support URL (AppSupport) could not be reached."
                       f" {type(exc).__name__}: {exc}", "QBWC1004") from exc
    if status not in (200, 202):
        raise QwcError(f"The application {qwc.app_name}'s support URL (AppSupport) could not be reached."
                       f" HTTP {status} from {qwc.app_support}", "QBWC1003")
    return qwc


def _schedule(root: etree._Element) -> timedelta | None:
    """RunEveryNMinutes or RunEveryNSeconds; with both, the first in the file wins (PG p.37–38)."""
    scheduler = root.find("Scheduler")
    if scheduler is None:
        return None
    units = {"RunEveryNMinutes": "minutes", "RunEveryNSeconds": "seconds"}
    for element in scheduler:
        if not isinstance(element.tag, str) or element.tag not in units:
            continue
        value = (element.text or "").strip()
        if not value.isdigit() or int(value) == 0:
            raise QwcError(f"<{element.tag}> must be a positive whole number, got {value!r}")
        return timedelta(**{units[element.tag]: int(value)})
    return None


def _boolean(name: str, value: str) -> bool:
    if value in ("", "false", "False", "0"):
        return False
    if value in ("true", "True", "1"):
        return True
    raise QwcError(f"<{name}> must be true or false, got {value!r}")
