"""The emulated Bitrix24 cloud: portals with users and CRM data, the OAuth server, installed apps with their
tokens, placements, event bindings and offline queues, limits, and a record of every call and event.

Nothing here imports the product. Behaviour follows ``../shared/specs/bitrix24-platform.md``; where that
contract says UNCONFIRMED the choice is a switch on :class:`Settings`.
"""

from __future__ import annotations

import hashlib
import json
import queue
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import requests

from .clock import Clock
from .errors import ApiError
from .limits import Limits
from .store import Origin, Store

ACCESS_LIFETIME = 3600
REFRESH_LIFETIME = 180 * 86400
CODE_LIFETIME = 30


@dataclass
class User:
    id: int
    name: str
    last_name: str
    email: str
    admin: bool = False
    active: bool = True
    position: str = ""
    language: str = "en"


@dataclass
class App:
    """An app registered with Bitrix24 (a Market app or a local one): its card."""

    client_id: str
    client_secret: str
    scopes: tuple[str, ...] = ("crm", "catalog", "placement", "user", "basic")
    app_url: str = ""  # main page (PLACEMENT=DEFAULT)
    installer_url: str = ""
    redirect_uri: str = ""
    code: str = "vendor.quickbooks"
    version: int = 1
    status: str = "F"
    # the card's "Can be installed by user without administrative rights" (§1.2); off: admins only
    user_install: bool = False


@dataclass
class Binding:
    id: int
    event: str
    handler: str
    auth_type: int = 0
    offline: bool = False
    auth_connector: str = ""


@dataclass
class Placement:
    placement: str
    handler: str
    title: str = ""
    description: str = ""
    group_name: str = ""
    lang_all: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    user_id: int = 0


@dataclass
class OfflineEvent:
    id: int
    message_id: str
    event: str
    data: dict[str, Any]
    timestamp: datetime
    connector: str
    process_id: str = ""
    error: bool = False


@dataclass
class Install:
    app: App
    application_token: str
    installed: bool = False  # True after installFinish
    options: dict[str, Any] = field(default_factory=dict)
    placements: list[Placement] = field(default_factory=list)
    bindings: list[Binding] = field(default_factory=list)
    offline: list[OfflineEvent] = field(default_factory=list)
    payment_expired: bool = False


@dataclass
class Token:
    member_id: str
    client_id: str
    user_id: int
    expires: float
    kind: str  # access | refresh | code


@dataclass
class Call:
    member_id: str
    user_id: int | None
    client_id: str | None
    method: str
    params: dict[str, Any]
    status: int
    error: str | None
    at: float
    in_batch: bool = False
    connector: str | None = None  # the auth_connector the call was made under (the outer request's)


@dataclass
class Delivery:
    url: str
    event: str
    body: dict[str, str]
    status: int | None
    at: float
    fault: str = ""


@dataclass
class Settings:
    """Switches for behaviour the contract marks UNCONFIRMED, and for faults."""

    refresh_grace: float = 0.0  # seconds an old refresh token still works after rotation (0: single-use)
    scope_status: int = 401  # insufficient_scope: 401 live-tested, 403 in the docs
    russian_errors: bool = False
    drop_events: int = 0  # the next N online deliveries are lost (never retried)
    delay_events: float = 0.0  # seconds before each delivery
    reorder_events: bool = False  # deliver queued events newest first
    duplicate_events: bool = False
    strip_event_tokens: bool = False  # as if made by an automation rule
    wrong_application_token: bool = False
    server_error_next: int = 0  # the next N REST calls answer 500 INTERNAL_SERVER_ERROR
    html_error_next: int = 0  # the next N REST calls answer a 502 HTML page
    # an outage the test turns on and off: while set, every REST call is answered, without being run, by
    # "500" (INTERNAL_SERVER_ERROR JSON), "502" (the gateway's HTML page) or "503" (QUERY_LIMIT_EXCEEDED) …
    outage: str = ""
    outage_until: float = 0.0  # … until this moment on the wall clock (``time.time()``); 0: until cleared
    outage_answers: int = 0  # how many calls the outage has answered so far (tests wait on it)
    lose_answers: int = 0  # the next N REST calls run, then their answer is lost (a 502 page instead) …
    lose_answers_to: tuple[str, ...] = ()  # … only calls to these methods (or batches holding one), if set
    # the next REST request naming this method (or a batch holding it) is processed, then its answer held
    # until released (``sandbox.bitrix24.control``): the caller's "written, answer not read yet" window
    hold_method: str = ""
    count_unbind_twice: bool = True  # placement.unbind count as documented (found + removed)
    # a list filter condition whose value is an empty array (what ``$result[req][0][ID]`` becomes when
    # ``req`` found nothing, CRestUtil::processBatchElement): "ignored" drops the condition, so the list
    # answers as if it had not been given; "nothing" matches no row. UNCONFIRMED which the CRM lists do;
    # "ignored" is the stricter for an app (it returns other records' rows)
    empty_array_filter: str = "ignored"


class Portal:
    def __init__(
        self,
        domain: str,
        member_id: str,
        *,
        plan: str = "standard",
        timezone: str = "Europe/Berlin",
        clock: Clock,
        on_change: Callable[[Portal, str, dict[str, Any], Origin], None],
    ) -> None:
        self.domain = domain
        self.member_id = member_id
        self.plan = plan
        self.tz = ZoneInfo(timezone)
        self.clock = clock
        self.users: dict[int, User] = {}
        self.installs: dict[str, Install] = {}
        self.webhooks: dict[str, tuple[int, tuple[str, ...]]] = {}
        self.products: dict[int, dict[str, Any]] = {}
        self.catalog_iblock = 23
        self.requisites: dict[int, dict[str, Any]] = {}
        self.addresses: dict[tuple[int, int, int], dict[str, Any]] = {}
        self.old_domains: set[str] = set()
        self.store = Store(self.now, lambda e, f, o: on_change(self, e, f, o))

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), self.tz).replace(microsecond=0)

    def admin(self) -> User:
        return next(u for u in self.users.values() if u.admin)

    def add_user(
        self, name: str, last_name: str, email: str, *, admin: bool = False, position: str = ""
    ) -> User:
        user = User(max(self.users, default=0) + 1, name, last_name, email, admin, True, position)
        self.users[user.id] = user
        return user

    def add_webhook(self, user_id: int, scopes: tuple[str, ...] = ("crm", "catalog", "user")) -> str:
        code = secrets.token_hex(8)
        self.webhooks[code] = (user_id, scopes)
        return code


class Bitrix24:
    """The whole cloud. ``base_url`` is where the HTTP face listens (set by the server)."""

    def __init__(self, clock: Clock | None = None, settings: Settings | None = None) -> None:
        self.clock = clock or Clock()
        self.settings = settings or Settings()
        self.portals: dict[str, Portal] = {}  # by member_id
        self.apps: dict[str, App] = {}
        self.tokens: dict[str, Token] = {}
        self.rotated: dict[str, float] = {}  # old refresh token → when it was replaced
        self.limits = Limits(self.clock)
        self.calls: list[Call] = []
        self.deliveries: list[Delivery] = []
        self.lock = threading.RLock()
        self.base_url = "http://127.0.0.1"
        self._outbox: queue.Queue[tuple[str, str, dict[str, str]] | None] = queue.Queue()
        self._held: list[tuple[str, str, dict[str, str]]] = []
        self._sender: threading.Thread | None = None
        self.hold_events = False
        self.kept_options: dict[
            tuple[str, str], dict[str, Any]
        ] = {}  # queue deliveries until flush_events() (for reorder/late tests)

    # -- endpoints --------------------------------------------------------------------------------------

    def client_endpoint(self, portal: Portal) -> str:
        return f"{self.base_url}/portal/{portal.domain}/rest/"

    def server_endpoint(self) -> str:
        return f"{self.base_url}/rest/"

    def portal_url(self, portal: Portal) -> str:
        return f"{self.base_url}/portal/{portal.domain}/"

    # -- set-up -----------------------------------------------------------------------------------------

    def add_portal(self, domain: str, *, member_id: str | None = None, plan: str = "standard") -> Portal:
        mid = member_id or hashlib.md5(domain.encode()).hexdigest()
        portal = Portal(domain, mid, plan=plan, clock=self.clock, on_change=self._changed)
        self.portals[mid] = portal
        return portal

    def portal(self, domain_or_member: str) -> Portal:
        for p in self.portals.values():
            if domain_or_member in (p.domain, p.member_id):
                return p
        raise KeyError(domain_or_member)

    def rename_portal(self, portal: Portal, new_domain: str) -> None:
        portal.old_domains.add(portal.domain)
        portal.domain = new_domain

    def register_app(self, app: App) -> App:
        self.apps[app.client_id] = app
        return app

    # -- tokens -----------------------------------------------------------------------------------------

    def issue(self, portal: Portal, client_id: str, user_id: int, kind: str = "access") -> str:
        lifetime = {"access": ACCESS_LIFETIME, "refresh": REFRESH_LIFETIME, "code": CODE_LIFETIME}[kind]
        value = secrets.token_hex(35) if kind != "code" else secrets.token_hex(20)
        with self.lock:
            self.tokens[value] = Token(portal.member_id, client_id, user_id, self.clock() + lifetime, kind)
        return value

    def token_pair(self, portal: Portal, client_id: str, user_id: int) -> dict[str, Any]:
        access = self.issue(portal, client_id, user_id)
        install = portal.installs[client_id]
        return {
            "access_token": access,
            "refresh_token": self.issue(portal, client_id, user_id, "refresh"),
            "expires": int(self.tokens[access].expires),
            "expires_in": ACCESS_LIFETIME,
            "scope": ",".join(install.app.scopes),
            "domain": self.base_url.split("://", 1)[-1],
            "server_endpoint": self.server_endpoint(),
            "client_endpoint": self.client_endpoint(portal),
            "member_id": portal.member_id,
            "status": install.app.status,
            "user_id": user_id,
        }

    def expire_tokens(self, portal: Portal | None = None) -> None:
        """Every access token (of one portal) expires now — as an hour passing would do."""
        with self.lock:
            for t in self.tokens.values():
                if t.kind == "access" and (portal is None or t.member_id == portal.member_id):
                    t.expires = self.clock() - 1

    def _client_refused(self, client_id: str, client_secret: str) -> tuple[int, dict[str, Any]] | None:
        """The OAuth server's answer to an unknown app (HTTP 200, §2) or a wrong secret; None when fine."""
        app = self.apps.get(client_id)
        if app is None:
            return 200, {"error": "wrong_client"}
        if not secrets.compare_digest(app.client_secret, client_secret or ""):
            return 400, {"error": "invalid_client", "error_description": "Invalid client credentials"}
        return None

    def refresh(self, client_id: str, client_secret: str, refresh_token: str) -> tuple[int, dict[str, Any]]:
        refused = self._client_refused(client_id, client_secret)
        if refused is not None:
            return refused
        if not refresh_token:
            return 400, {
                "error": "invalid_request",
                "error_description": 'No "refresh_token" parameter found',
            }
        with self.lock:
            token = self.tokens.get(refresh_token)
            replaced = self.rotated.get(refresh_token)
            grace = (
                replaced is not None
                and self.settings.refresh_grace > 0
                and self.clock() - replaced <= self.settings.refresh_grace
            )
            if (
                token is None
                or token.kind != "refresh"
                or token.client_id != client_id
                or (token.expires < self.clock())
                or (replaced is not None and not grace)
            ):
                return 400, {"error": "invalid_grant", "error_description": "Invalid grant"}
            portal = self.portals.get(token.member_id)
            install = portal.installs.get(client_id) if portal else None
            if portal is None or install is None:
                return 401, {"error": "NOT_INSTALLED", "error_description": "Application not installed"}
            if install.payment_expired:
                return 401, {"error": "PAYMENT_REQUIRED", "error_description": "Payment required"}
            if not grace:
                self.rotated[refresh_token] = self.clock()
            return 200, self.token_pair(portal, client_id, token.user_id)

    def exchange_code(self, client_id: str, client_secret: str, code: str) -> tuple[int, dict[str, Any]]:
        refused = self._client_refused(client_id, client_secret)
        if refused is not None:
            return refused
        if not code:
            return 400, {"error": "invalid_request", "error_description": 'No "code" parameter found'}
        with self.lock:
            token = self.tokens.pop(code, None)  # single use
        if (
            token is None
            or token.kind != "code"
            or token.expires < self.clock()
            or token.client_id != client_id
        ):
            return 400, {"error": "invalid_grant", "error_description": "Invalid grant"}
        portal = self.portals[token.member_id]
        if client_id not in portal.installs:
            return 401, {"error": "NOT_INSTALLED", "error_description": "Application not installed"}
        return 200, self.token_pair(portal, client_id, token.user_id)

    def authenticate(self, portal: Portal, auth: str) -> Token:
        if not auth or len(auth) < 16 or not auth.isalnum():
            raise ApiError("NO_AUTH_FOUND", "Wrong authorization data", 401)
        token = self.tokens.get(auth)
        if token is None or token.kind != "access":
            raise ApiError("invalid_token", "Unable to get application by token", 401)
        if token.member_id != portal.member_id:
            raise ApiError("invalid_token", "Unable to get application by token", 401)
        if token.expires < self.clock():
            raise ApiError("expired_token", "The access token provided has expired.", 401)
        install = portal.installs.get(token.client_id)
        if install is None:
            raise ApiError("ERROR_OAUTH", "Application not installed", 401)
        if install.payment_expired:
            raise ApiError("PAYMENT_REQUIRED", "Subscription has been ended", 401)
        user = portal.users.get(token.user_id)
        if user is None or not user.active:
            raise ApiError("authorization_error", "Unable to authorize user", 401)
        return token

    # -- lifecycle --------------------------------------------------------------------------------------

    def frame_fields(
        self,
        portal: Portal,
        client_id: str,
        user_id: int,
        placement: str = "DEFAULT",
        options: dict[str, Any] | None = None,
        lang: str = "en",
    ) -> tuple[dict[str, str], dict[str, str]]:
        """(query, form) of the POST Bitrix24 makes to load an app frame (§1.3)."""
        install = portal.installs[client_id]
        pair = self.token_pair(portal, client_id, user_id)
        query = {"DOMAIN": portal.domain, "PROTOCOL": "1", "LANG": lang, "APP_SID": secrets.token_hex(16)}
        form = {
            "AUTH_ID": pair["access_token"],
            "AUTH_EXPIRES": "3600",
            "REFRESH_ID": pair["refresh_token"],
            "SERVER_ENDPOINT": self.server_endpoint(),
            "APPLICATION_TOKEN": install.application_token,
            "APPLICATION_SCOPE": ",".join(install.app.scopes),
            "member_id": portal.member_id,
            "status": install.app.status,
            "PLACEMENT": placement,
        }
        if placement != "DEFAULT":
            form["PLACEMENT_OPTIONS"] = json.dumps(options or {})
        return query, form

    def install(self, portal: Portal, client_id: str, user_id: int | None = None) -> requests.Response:
        """An admin clicks Install: the app gets its installer frame POST (install not finished yet).
        Only an administrator can, unless the card allows users to install (§1.2)."""
        app = self.apps[client_id]
        installer = portal.users[user_id] if user_id is not None else portal.admin()
        if not installer.admin and not app.user_install:
            raise PermissionError(f"{installer.name} is not an administrator: Bitrix24 offers no Install")
        if client_id not in portal.installs:
            kept = self.kept_options.pop((portal.member_id, client_id), {})
            portal.installs[client_id] = Install(app, secrets.token_hex(16), options=kept)
        return self.open_app(portal, client_id, user_id or portal.admin().id)

    def open_app(
        self,
        portal: Portal,
        client_id: str,
        user_id: int,
        placement: str = "DEFAULT",
        options: dict[str, Any] | None = None,
        lang: str = "en",
    ) -> requests.Response:
        install = portal.installs[client_id]
        if placement == "DEFAULT":
            url = (
                install.app.app_url if install.installed else install.app.installer_url or install.app.app_url
            )
        else:
            if not install.installed:
                raise ApiError("", "The application is not fully installed yet", 400)
            found = next((p for p in install.placements if p.placement == placement), None)
            if found is None:
                raise KeyError(placement)
            url = found.handler
        query, form = self.frame_fields(portal, client_id, user_id, placement, options, lang)
        return requests.post(url, params=query, data=form, timeout=30)

    def install_finish(self, portal: Portal, client_id: str) -> None:
        install = portal.installs[client_id]
        if install.installed:
            return
        install.installed = True
        user = portal.admin()
        for b in install.bindings:
            if b.event == "ONAPPINSTALL" and not b.offline:
                pair = self.token_pair(portal, client_id, b.auth_type or user.id)
                data = {
                    "VERSION": str(install.app.version),
                    "ACTIVE": "Y",
                    "INSTALLED": "Y",
                    "LANGUAGE_ID": "en",
                }
                self._send(
                    b.handler, self._payload("ONAPPINSTALL", b, data, self._auth(portal, install, pair))
                )

    def update_app(self, portal: Portal, client_id: str, *, rotate_token: bool = True) -> None:
        """A new app version reaches the portal: ``ONAPPUPDATE`` with full tokens and, perhaps, a new
        ``application_token`` (§1.5)."""
        install = portal.installs[client_id]
        previous = install.app.version
        install.app.version += 1
        if rotate_token:
            install.application_token = secrets.token_hex(16)
        user = portal.admin()
        for b in install.bindings:
            if b.event == "ONAPPUPDATE" and not b.offline and install.installed:
                pair = self.token_pair(portal, client_id, b.auth_type or user.id)
                data = {"VERSION": str(install.app.version), "PREVIOUS_VERSION": str(previous),
                        "LANGUAGE_ID": "en"}
                auth = self._auth(portal, install, pair)
                self._send(b.handler, self._payload("ONAPPUPDATE", b, data, auth))

    def uninstall(self, portal: Portal, client_id: str, *, clean: bool = False) -> None:
        install = portal.installs.pop(client_id)
        for b in install.bindings:
            if b.event == "ONAPPUNINSTALL" and not b.offline:
                data = {"LANGUAGE_ID": "en", "CLEAN": "1" if clean else "0"}
                self._send(
                    b.handler, self._payload("ONAPPUNINSTALL", b, data, self._auth(portal, install, None))
                )
        with self.lock:
            for value, t in list(self.tokens.items()):
                if t.member_id == portal.member_id and t.client_id == client_id:
                    del self.tokens[value]
        if not clean:  # app.option values come back on re-install unless the user asked to delete data
            self.kept_options[(portal.member_id, client_id)] = install.options

    # -- events -----------------------------------------------------------------------------------------

    def _auth(self, portal: Portal, install: Install, pair: dict[str, Any] | None) -> dict[str, str]:
        auth = {
            "domain": portal.domain,
            "server_endpoint": self.server_endpoint(),
            "status": install.app.status,
            "client_endpoint": self.client_endpoint(portal),
            "member_id": portal.member_id,
            "application_token": install.application_token,
        }
        if self.settings.wrong_application_token:
            auth["application_token"] = secrets.token_hex(16)
        if pair is not None and not self.settings.strip_event_tokens:
            auth.update(
                {k: str(pair[k]) for k in ("access_token", "expires", "expires_in", "scope", "user_id")}
            )
            auth["refresh_token"] = str(pair["refresh_token"])
        return auth

    def _payload(
        self, event: str, binding: Binding, data: dict[str, Any], auth: dict[str, str]
    ) -> dict[str, str]:
        body = {"event": event, "event_handler_id": str(binding.id), "ts": str(int(self.clock()))}
        _flatten(body, "data", data)
        _flatten(body, "auth", auth)
        return body

    def _changed(self, portal: Portal, event: str, fields: dict[str, Any], origin: Origin) -> None:
        for client_id, install in portal.installs.items():
            if not install.installed:
                continue  # no events before installFinish (§1.2)
            for b in install.bindings:
                if b.event != event:
                    continue
                if b.offline:
                    if (
                        b.auth_connector
                        and origin.client_id == client_id
                        and origin.auth_connector == b.auth_connector
                    ):
                        continue  # the connector's own write is not queued for it (§4.5)
                    self._queue_offline(portal, install, event, fields, b.auth_connector)
                    continue
                user_id = b.auth_type or origin.user_id
                pair = self.token_pair(portal, client_id, user_id) if user_id else None
                self._send(
                    b.handler, self._payload(event, b, {"FIELDS": fields}, self._auth(portal, install, pair))
                )

    def _queue_offline(
        self, portal: Portal, install: Install, event: str, fields: dict[str, Any], connector: str
    ) -> None:
        now = portal.now()
        for item in install.offline:
            if (
                item.event == event
                and item.data.get("FIELDS", {}).get("ID") == fields.get("ID")
                and item.connector == connector
                and not item.process_id
            ):
                item.timestamp = now  # one record per object, the latest time (§4.5)
                item.data = {"FIELDS": fields}
                return
        next_id = max((i.id for i in install.offline), default=0) + 1
        install.offline.append(
            OfflineEvent(next_id, secrets.token_hex(16), event, {"FIELDS": fields}, now, connector)
        )

    def _send(self, url: str, body: dict[str, str]) -> None:
        item = (url, body["event"], body)
        if self.settings.duplicate_events:
            self._enqueue(item)
        self._enqueue(item)

    def _enqueue(self, item: tuple[str, str, dict[str, str]]) -> None:
        if self.hold_events or self.settings.reorder_events:
            self._held.append(item)
            return
        self._start_sender()
        self._outbox.put(item)

    def flush_events(self) -> None:
        held, self._held = self._held, []
        if self.settings.reorder_events:
            held.reverse()
        self._start_sender()
        for item in held:
            self._outbox.put(item)

    def _start_sender(self) -> None:
        if self._sender is None or not self._sender.is_alive():
            self._sender = threading.Thread(target=self._deliver_loop, name="b24-events", daemon=True)
            self._sender.start()

    def _deliver_loop(self) -> None:
        session = requests.Session()
        while True:
            item = self._outbox.get()
            if item is None:
                return
            url, event, body = item
            if self.settings.delay_events:
                time.sleep(self.settings.delay_events)
            if self.settings.drop_events > 0:
                self.settings.drop_events -= 1
                self.deliveries.append(Delivery(url, event, body, None, self.clock(), "dropped"))
                self._outbox.task_done()
                continue
            try:
                status: int | None = session.post(url, data=body, timeout=5).status_code
            except requests.RequestException:
                status = None  # lost: Bitrix24 never retries (§4.3)
            self.deliveries.append(Delivery(url, event, body, status, self.clock()))
            self._outbox.task_done()

    def wait_events(self, timeout: float = 5.0) -> None:
        """Block until every queued delivery was attempted (tests)."""
        end = time.monotonic() + timeout
        while self._outbox.unfinished_tasks and time.monotonic() < end:
            time.sleep(0.01)

    def stop(self) -> None:
        if self._sender is not None and self._sender.is_alive():
            self._outbox.put(None)
            self._sender.join(timeout=5)

    # -- recording --------------------------------------------------------------------------------------

    def calls_to(self, method: str, portal: Portal | None = None) -> list[Call]:
        return [
            c
            for c in self.calls
            if c.method == method and (portal is None or c.member_id == portal.member_id)
        ]


def _flatten(out: dict[str, str], prefix: str, value: Any) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _flatten(out, f"{prefix}[{k}]", v)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _flatten(out, f"{prefix}[{i}]", v)
    else:
        out[prefix] = "" if value is None else str(value)
