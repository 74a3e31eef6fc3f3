"""``create_app(config)``: the Market app's HTTP face — installer, app page, placement frames, the event
handler, agent pairing, status, health and the schema export."""

from __future__ import annotations

import functools
import hashlib
import hmac
import html
import logging
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response, jsonify, request

from shared import wire
from shared.qbxml.export import schema_export

from . import (
    customer_sync,
    deal_sync,
    discover,
    downloads,
    health,
    initial_sync,
    party_tab,
    qb_changes,
    qb_deletions,
    qb_reach,
    sales_reps,
    settings,
    storage,
)
from .agents.http import blueprint as agents_blueprint
from .agents.relay import AgentRelay
from .agents.store import AgentStore
from .b24 import outage
from .b24.client import Client
from .b24.errors import ATTENTION_TEXT, B24Error, NeedsAttention
from .b24.form import nested
from .b24.retry import OutageTooLong
from .b24_placement import shell
from .b24_placement.in_language import in_language
from .b24_placement.strings import catalog
from .bodies import MAX_BODY_BYTES, CappedJSONProvider, depth, refusal
from .config import Config
from .crypto import Vault
from .frames import (
    FrameUser,
    Refused,
    Sessions,
    TokenMismatch,
    verify_frame,
    verify_install,
    verify_update,
)
from .headers import page_headers, secure
from .install import PLACEMENTS, set_up
from .portals import PortalRow, PortalStore
from .proxy import ForwardedFor
from .replay import fingerprint, remember_until, why_stale
from .retries import Retries
from .services import Services
from .supervise import Supervised
from .worker import EventWorker

log = logging.getLogger(__name__)
BX24_JS = "https://api.bitrix24.com/api/v1/"
# attention reasons an administrator's opening of the app cures (it brings fresh tokens of its own)
RECONNECTS = {ATTENTION_TEXT[c] for c in ("INVALID_GRANT", "AUTHORIZATION_ERROR", "USER_ACCESS_ERROR")} | {
    "Bitrix24 no longer accepts this app's authorization. Open the app in Bitrix24 once to reconnect it."
}  # the words stored by earlier versions
APP_VERSION = "b24.app_version"  # the app version (OAuth app.info) the stored application token came with


def _page(
    title: str, body: str, *, frame_origin: str | None = None, bx24_js: str = BX24_JS, script: str = ""
) -> Response:
    nonce = secrets.token_urlsafe(16)
    doc = (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<script src='{html.escape(bx24_js)}'></script></head><body>{body}"
        f"<script nonce='{nonce}'>{script}</script></body></html>"
    )
    resp = Response(doc, mimetype="text/html")
    resp.headers.update(page_headers(frame_origin=frame_origin, script_origin=_origin(bx24_js), nonce=nonce))
    return resp


def _json(status: int, **data: Any) -> Response:
    answer = jsonify(**data)
    answer.status_code = status
    return answer


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def create_app(config: Config, *, relay: AgentRelay | None = None, bx24_js: str = BX24_JS) -> Flask:
    config.check()
    vault = Vault(config.encryption_key)
    secret = config.session_secret or hashlib.sha256(b"session:" + config.encryption_key.encode()).hexdigest()
    agents = relay.store if relay is not None else AgentStore(config.database)
    portals = PortalStore(config.database, vault)
    services = Services(config, portals, agents, Sessions(secret, portals), relay)
    if relay is not None:
        relay.offer_limit = lambda portal: offer_limit(services, portal)
        relay.on_event = _chain(
            relay.on_event, lambda portal, message: record_session(services, portal, message)
        )
        relay.on_result = _chain(
            relay.on_result, lambda portal, job: deal_sync.on_result(services, portal, job)
        )
        relay.on_result = _chain(
            relay.on_result, lambda portal, job: qb_changes.on_result(services, portal, job)
        )
        relay.on_result = _chain(
            relay.on_result, lambda portal, job: customer_sync.on_result(services, portal, job)
        )
        relay.on_result = _chain(
            relay.on_result, lambda portal, job: initial_sync.on_result(services, portal, job)
        )
        relay.on_result = _chain(
            relay.on_result, lambda portal, job: sales_reps.on_result(services, portal, job)
        )
        relay.on_result = _chain(
            relay.on_result, lambda portal, job: party_tab.on_result(services, portal, job)
        )
        relay.on_result = _chain(
            relay.on_result, lambda portal, job: qb_deletions.on_result(services, portal, job)
        )
        relay.on_result = _chain(  # last: after the flows above linked what they found
            relay.on_result,
            lambda portal, job: customer_sync.on_linked(
                services,
                portal,
                job,
                adds=(deal_sync.WRITE, deal_sync.RECOVER, party_tab.CREATE),
                lookups=(party_tab.LOOKUP,),
            ),
        )
        # a previous process may have stored results it never acted on (killed in between)
        threading.Thread(target=relay.replay, name="replay-results", daemon=True).start()
    services.worker = EventWorker(lambda member_id: customer_sync.from_events(services, member_id))
    handlers = {deal_sync.RETRY_KIND: deal_sync.retry_due, customer_sync.RETRY_KIND: customer_sync.retry_due}
    services.retries = Retries(services, handlers)
    services.watch = health.Watch(services)
    services.workers.append(Supervised("storage-watch", services.watch.work).start())
    if relay is not None:  # retries go to QuickBooks: only where an agent can take them
        services.workers.append(Supervised("retries", services.retries.work).start())
        relay.on_hook_error = services.watch.saw
    app = Flask("qb-bitrix24", static_folder=str(shell.STATIC), static_url_path="/static")
    app.extensions["qb"] = services
    # request bodies: size-capped (413), JSON depth-capped, one object per API call (bodies.py)
    app.json = CappedJSONProvider(app)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.register_error_handler(OutageTooLong, lambda exc: _bitrix24_down(services, exc))
    app.before_request(refusal)
    app.after_request(secure)
    app.after_request(in_language)  # the page API's messages in the page's language
    app.register_blueprint(downloads.blueprint)
    app.wsgi_app = ForwardedFor(app.wsgi_app, config.trusted_proxies)  # type: ignore[method-assign]

    @app.errorhandler(B24Error)
    def bitrix24_failed(exc: B24Error) -> Response:
        """Bitrix24 refused or did not answer a call a click needed: say so (503), never a 500 page."""
        _, strings = catalog(request.headers.get("X-Lang", "") or request.args.get("LANG", ""))
        attention = isinstance(exc, NeedsAttention) or exc.attention
        message = strings["b24.attention"] if attention else strings["b24.down"]  # the code: in the log
        log.warning("%s %s: Bitrix24 %s %s", request.method, request.path, exc.code, exc.description)
        if request.path.startswith("/api/"):
            answer = _json(503, error="needs_attention" if attention else "bitrix24", message=message)
        else:
            answer = Response(f"<!doctype html><p>{html.escape(message)}</p>", 503, mimetype="text/html")
        answer.headers["Retry-After"] = str(health.RETRY_AFTER)
        return answer

    @app.errorhandler(sqlite3.Error)
    def storage_failed(exc: sqlite3.Error) -> Response:
        """A full, read-only or locked database: a clear 503 (try again later) instead of a 500 page;
        nothing half-written stays behind (the failed transaction is rolled back)."""
        fault = storage.fault_of(exc)
        services.watch.saw(exc)
        for conn, lock in health.connections(services):
            storage.settle(conn, lock)
        if fault is None:
            raise exc
        log.error("%s %s: %s (%s)", request.method, request.path, fault.words, fault.detail)
        return health.refused(fault, request.path, request.headers.get("X-Lang", ""))

    def ws_url() -> str:
        """What pairing tells an agent to dial: the configured public URL, else the public host on the
        agent port (the relay's real one when it runs here)."""
        if config.agent_public_url:
            return config.agent_public_url
        parts = urlsplit(config.public_url)
        port = relay.port if relay is not None else config.agent_port
        scheme = "wss" if parts.scheme == "https" else "ws"
        return f"{scheme}://{parts.hostname}:{port}/agent/ws"

    def installed(member_id: str) -> bool:
        portal = services.portals.portal(member_id)
        return portal is not None and portal.state != "uninstalled"

    app.register_blueprint(agents_blueprint(services.agents, ws_url, installed))

    def refuse(kind: str, reason: str, member_id: str | None = None) -> Response:
        services.portals.reject(kind, reason, member_id, request.remote_addr)
        log.warning("refused %s from %s: %s", kind, request.remote_addr, reason)
        return Response(
            "This request could not be verified as coming from Bitrix24.", 403, mimetype="text/plain"
        )

    # -- install and app page -----------------------------------------------------------------------------

    @app.post("/install")
    def install() -> Response:
        form = request.form.to_dict()
        try:
            facts = verify_install(
                form, oauth_servers=config.oauth_servers, client_id=config.client_id, http=services.http
            )
        except Refused as exc:
            return refuse("install", str(exc), form.get("member_id"))
        expires_in = int(form["AUTH_EXPIRES"]) if form.get("AUTH_EXPIRES", "").isdigit() else 3600
        services.portals.save_install(
            member_id=facts["member_id"],
            domain=facts["domain"] or request.args.get("DOMAIN", ""),
            client_endpoint=facts["client_endpoint"],
            server_endpoint=form["SERVER_ENDPOINT"],
            access_token=form["AUTH_ID"],
            refresh_token=form.get("REFRESH_ID", ""),
            expires_at=services.portals.clock() + min(expires_in, 86400),
            scopes=facts["scopes"],
            application_token=form.get("APPLICATION_TOKEN", ""),
        )
        services.portals.set_setting(facts["member_id"], APP_VERSION, facts["version"])
        try:
            report = set_up(services.client(facts["member_id"]), config.public_url)
            services.portals.set_setting(facts["member_id"], "b24.offline_events", report.offline_events)
        except B24Error as exc:
            services.portals.needs_attention(
                facts["member_id"], f"Setup failed: {exc.code} {exc.description}"
            )
            return _page(
                "QuickBooks — setup failed",
                f"<p>Setup failed: {html.escape(exc.code)}</p>",
                frame_origin=_origin(facts["client_endpoint"]),
                bx24_js=bx24_js,
            )
        services.portals.activate(facts["member_id"])
        body = (
            f"<h1>QuickBooks for Bitrix24 is installed</h1><p>{report.placements_bound} placements, "
            f"{report.events_bound} event handlers, {report.fields_created} fields set up"
            f"{' (' + str(report.already_there) + ' already there)' if report.already_there else ''}.</p>"
        )
        return _page(
            "QuickBooks — installed",
            body,
            frame_origin=_origin(facts["client_endpoint"]),
            bx24_js=bx24_js,
            script="if (window.BX24) BX24.init(function(){ BX24.installFinish(); });",
        )

    def frame_user() -> FrameUser | Response:
        form = request.form.to_dict()
        try:
            return verify_frame(form, request.args.to_dict(), services.portals, services.http)
        except TokenMismatch as exc:
            if not rekey(form):
                return refuse("frame", str(exc), form.get("member_id"))
        except Refused as exc:
            return refuse("frame", str(exc), form.get("member_id"))
        try:
            return verify_frame(form, request.args.to_dict(), services.portals, services.http)
        except Refused as exc:
            return refuse("frame", str(exc), form.get("member_id"))

    def rekey(form: dict[str, str]) -> bool:
        """A frame with a new application token re-keys its portal only after an update (the OAuth
        server reports a newer app version than the one the token was stored with) and as an install
        would: the OAuth server vouches for its token (our app, this portal) and its user is an
        administrator. So an update whose ONAPPUPDATE was lost heals when an administrator opens the app."""
        portal = services.portals.portal(form.get("member_id", ""))
        if portal is None or portal.state == "uninstalled":
            return False
        try:
            facts = verify_install(form, oauth_servers=config.oauth_servers, client_id=config.client_id,
                                   http=services.http)  # fmt: skip
            if facts["version"] <= services.portals.setting(portal.member_id, APP_VERSION, 0):
                raise Refused("the app was not updated since its token was stored")
        except Refused as exc:
            log.info("portal %s: a frame's new application token not taken: %s", portal.member_id, exc)
            return False
        services.portals.set_application_token(portal.member_id, form["APPLICATION_TOKEN"])
        services.portals.set_setting(portal.member_id, APP_VERSION, facts["version"])
        log.info("portal %s: application token re-keyed from an administrator's frame", portal.member_id)
        return True

    def framed(render: Callable[[FrameUser, PortalRow, str], str]) -> Response:
        """A verified frame's page: ``render`` gets the user, the portal and a fresh page session; the
        page may be framed by that portal only and fits its frame."""
        user = frame_user()
        if isinstance(user, Response):
            return user
        portal = services.portals.portal(user.member_id)
        assert portal is not None
        if portal.state == "attention" and user.admin and portal.attention in RECONNECTS:
            portal = reconnect(portal)
        return _page(
            "QuickBooks",
            render(user, portal, services.sessions.issue(user)),
            frame_origin=_origin(portal.client_endpoint),
            bx24_js=bx24_js,
            script="if (window.BX24) BX24.init(function(){ BX24.fitWindow(); });",
        )

    def reconnect(portal: PortalRow) -> PortalRow:
        """An administrator opened the app while Bitrix24 refused the stored authorization: the frame
        brings that administrator's own tokens (``AUTH_ID``/``REFRESH_ID``, just verified against the
        portal), and the app works on them from now on — what the attention text promises."""
        form = request.form
        if not form.get("AUTH_ID") or not form.get("REFRESH_ID"):
            return portal
        expires = int(form["AUTH_EXPIRES"]) if form.get("AUTH_EXPIRES", "").isdigit() else 3600
        until = services.portals.clock() + min(expires, 86400)
        services.portals.save_tokens(portal.member_id, form["AUTH_ID"], form["REFRESH_ID"], until)
        services.portals.activate(portal.member_id)
        log.info("portal %s reconnected by an administrator opening the app", portal.member_id)
        return services.portals.portal(portal.member_id) or portal

    @app.post("/app")
    def app_page() -> Response:
        return framed(lambda user, portal, token: page_shell("app", user, token))

    @app.post("/b24/<page>")
    def placement(page: str) -> Response:
        if page == "events":
            return events()
        if page not in {p for p, _ in PLACEMENTS.values()}:
            return Response("Not found", 404)
        return framed(lambda user, portal, token: page_shell(page, user, token))

    def page_shell(page: str, user: FrameUser, token: str) -> str:
        record = str(user.options.get("ID") or user.options.get("ENTITY_ID") or "")
        if page != "app" and not record.isdigit():
            record = ""  # the page says the record is unknown instead of asking the API about it
        return shell.render(
            page=page, member_id=user.member_id, record_id=record, session=token, admin=user.admin,
            lang=user.lang,
        )  # fmt: skip

    # -- events -------------------------------------------------------------------------------------------

    def events() -> Response:
        if len(request.form) > 200:  # an event is a dozen fields
            return refuse("event", "too many fields")
        payload = nested(request.form.items(multi=False))
        if depth(payload) > 6:  # Bitrix24's deepest is data[FIELDS][ID]
            return refuse("event", "nested too deep")
        auth = a if isinstance(a := payload.get("auth"), dict) else {}
        event = str(payload.get("event", "")).upper()
        member_id = str(auth.get("member_id", ""))
        portal = services.portals.portal(member_id)
        if portal is None or portal.state == "uninstalled" or not event:
            return refuse("event", "unknown portal" if event else "no event name", member_id or None)
        data = d if isinstance(d := payload.get("data"), dict) else {}
        sent = str(auth.get("application_token", "")).encode()
        matches = hmac.compare_digest(portal.application_token.encode(), sent)
        if event == "ONAPPUNINSTALL":  # no tokens, no freshness: the stored token and Bitrix24's word
            if not matches:
                return refuse("event", f"application token mismatch on {event}", member_id)
            if still_installed(member_id):
                return refuse("event", "Bitrix24 says the app is still installed", member_id)
            uninstall(member_id, clean=str(data.get("CLEAN", "0")) == "1")
            return jsonify(ok=True)
        too_old = why_stale(payload.get("ts"), services.portals.clock(), config.event_max_age)
        if too_old:
            return refuse("event", f"{too_old} on {event}", member_id)
        if not matches:
            if event == "ONAPPUPDATE":
                return rebind(portal, auth)
            return refuse("event", f"application token mismatch on {event}", member_id)
        keep = remember_until(payload.get("ts"), services.portals.clock(), config.event_max_age)
        fields_ = f if isinstance(f := data.get("FIELDS"), dict) else {}
        held = health.Held(member_id, event, str(fields_.get("ID", "")) or None,
                           {"data": data, "ts": payload.get("ts")}, "access_token" in auth)  # fmt: skip
        try:
            digest = fingerprint(request.form.items(multi=False))
            if not services.portals.first_sighting(member_id, digest, keep):
                return jsonify(ok=True, duplicate=True)  # the same delivery again: believed once
            services.portals.enqueue_event(*held)
        except sqlite3.Error as exc:
            # Bitrix24 never delivers an event twice: the database cannot take it now, so it is held
            # in memory and stored once writes work again (the reconciliation finds it after a restart)
            if storage.fault_of(exc) is None or not services.held.hold(held):
                raise
            services.watch.saw(exc)
            log.warning("event %s of %s held in memory: %s", event, member_id, exc)
            return _json(202, ok=True, held=True)
        services.worker.kick(member_id)
        return jsonify(ok=True)

    def rebind(portal: PortalRow, auth: dict[str, Any]) -> Response:
        """ONAPPUPDATE with a new application token (§1.5): believed only with the OAuth server's and the
        portal's word that its tokens are our app's, for this portal, of an administrator."""
        try:
            facts = verify_update(
                auth, oauth_servers=config.oauth_servers, client_id=config.client_id, http=services.http
            )
        except Refused as exc:
            return refuse("event", f"ONAPPUPDATE with a new application token: {exc}", portal.member_id)
        services.portals.save_install(
            member_id=portal.member_id,
            domain=facts["domain"] or portal.domain,
            client_endpoint=facts["client_endpoint"],  # the OAuth server's word, as at install
            server_endpoint=portal.server_endpoint,
            access_token=str(auth["access_token"]),
            refresh_token=str(auth.get("refresh_token", "")),
            expires_at=_expiry(auth.get("expires"), services.portals.clock()),
            scopes=portal.scopes,
            application_token=str(auth["application_token"]),
        )
        services.portals.set_setting(portal.member_id, APP_VERSION, facts["version"])
        services.portals.activate(portal.member_id)
        log.info("portal %s: application token rotated by ONAPPUPDATE", portal.member_id)
        return jsonify(ok=True)

    def still_installed(member_id: str) -> bool:
        """Bitrix24 sends ONAPPUNINSTALL after the app is removed (``docs:api-reference/events/
        safe-event-handlers.md``): our stored token still working means the event is not Bitrix24's.
        Any refusal — or no answer — counts as removed, so a real uninstall is never kept out."""
        try:
            Client(
                services.portals, member_id, config.client_id, config.client_secret,
                http=services.http, retries=0, timeout=10,
            ).call("app.info")  # fmt: skip
        except B24Error:
            return False
        return True

    def uninstall(member_id: str, *, clean: bool) -> None:
        """Everything at once: tokens and page sessions, agent tokens and pairing codes, the agent's open
        link; with ``clean`` the portal's data."""
        services.portals.uninstall(member_id, clean=clean)
        services.agents.forget_portal(member_id, clean=clean)
        if services.relay is not None:
            services.relay.disconnect(member_id, "the app was uninstalled from Bitrix24")
        log.info("portal %s uninstalled (clean=%s)", member_id, clean)

    # -- portal API (frame session) ----------------------

    def session_for(member_id: str) -> tuple[str, int, bool] | Response:
        token = request.headers.get("X-Session", "")  # never from the URL: logs and referrers keep URLs
        try:
            owner, user_id, admin = services.sessions.check(token)
        except Refused as exc:
            return Response(str(exc), 401, mimetype="text/plain")
        if owner != member_id:  # a session is good for its own portal only
            return refuse("session", "session of another portal", member_id)
        return owner, user_id, admin

    def portal_api(admin_only: str = "") -> Callable[[Callable[..., Response]], Callable[..., Response]]:
        """A page API view: a valid session for this very portal first; ``admin_only`` is what a
        non-admin is told when the action needs a Bitrix24 administrator."""

        def wrap(view: Callable[..., Response]) -> Callable[..., Response]:
            @functools.wraps(view)
            def checked(member_id: str, **kw: Any) -> Response:
                who = session_for(member_id)
                if isinstance(who, Response):
                    return who
                if admin_only and not who[2]:
                    return Response(admin_only, 403, mimetype="text/plain")
                return view(member_id, **kw)

            return checked

        return wrap

    @app.get("/api/portals/<member_id>/status")
    @portal_api()
    def portal_status(member_id: str) -> Response:
        portal = services.portals.portal(member_id)
        if portal is None:
            return Response("Not found", 404)
        return jsonify(portal_status_of(services, member_id))

    def started(begin: Callable[[], str]) -> Response:
        """202 with the sync the page follows, or 409 with why it cannot start."""
        try:
            return _json(202, sync_id=begin())
        except deal_sync.Running as exc:  # the same intent is on its way: the page follows that sync
            return _json(409, error="running", message=str(exc), sync_id=exc.sync_id)
        except deal_sync.Refused as exc:
            return _json(409, error="refused", message=str(exc))

    def document_kind(member_id: str, body: dict[str, Any]) -> str | Response:
        kind = str(body.get("kind") or services.portals.setting(member_id, "document_kind", "Invoice"))
        if kind not in ("Invoice", "Estimate", "SalesOrder", "CreditMemo"):
            log.info("deal sync refused: unknown document kind %r", kind)
            return Response(
                "Choose an invoice, estimate, sales order or credit memo.", 400, mimetype="text/plain"
            )
        return kind

    @app.post("/api/portals/<member_id>/deals/<deal_id>/sync")
    @portal_api()
    def sync_deal(member_id: str, deal_id: str) -> Response:
        """Start a deal's sync; ``{"preview": true}`` stops at the plan until it is confirmed."""
        body = request.get_json(silent=True) or {}
        kind = document_kind(member_id, body)
        if isinstance(kind, Response):
            return kind
        preview, another = body.get("preview") is True, body.get("another") is True
        if kind == "CreditMemo" and not preview:  # money owed to the customer: only after they saw it
            return _json(
                400,
                error="refused",
                message="A credit memo is made only from the preview: open “Sync to QuickBooks”, choose "
                "Credit memo, check the amounts, then confirm.",
            )
        return started(
            lambda: deal_sync.start(services, member_id, deal_id, kind, preview=preview, another=another)  # type: ignore[arg-type]
        )

    @app.post("/api/portals/<member_id>/syncs/<sync_id>/confirm")
    @portal_api()
    def confirm_sync(member_id: str, sync_id: str) -> Response:
        body = request.get_json(silent=True) or {}
        kind = document_kind(member_id, body) if body.get("kind") else None
        if isinstance(kind, Response):
            return kind
        another = body.get("another") is True  # a new document besides the deal's own: said explicitly
        return started(lambda: deal_sync.confirm(services, member_id, sync_id, kind, another=another))  # type: ignore[arg-type]

    @app.post("/api/portals/<member_id>/syncs/<sync_id>/retry")
    @portal_api()
    def retry_sync(member_id: str, sync_id: str) -> Response:
        """A failed sync again: one whose write may have landed is checked in QuickBooks first (the same
        sync); any other starts again from the deal as it is now (a new sync the page follows)."""
        if services.links.sync(member_id, sync_id) is None:
            return Response("Not found", 404)
        return started(lambda: deal_sync.retry(services, member_id, sync_id))

    @app.get("/api/portals/<member_id>/syncs")
    @portal_api()
    def sync_log(member_id: str) -> Response:
        """The sync log, newest first; ``?state=failed`` and ``?deal=ID`` filter it."""
        rows = services.links.recent_syncs(
            member_id, state=request.args.get("state") or None, deal_id=request.args.get("deal") or None
        )
        return jsonify(
            syncs=[
                {
                    "sync_id": s.sync_id,
                    "deal_id": s.deal_id,
                    "kind": s.kind,
                    "state": s.state,
                    "outcome": s.outcome,
                    "reason": s.detail.get("reason"),
                    "fix": s.detail.get("fix"),
                    "started_at": started,
                    "updated_at": updated,
                }
                for s, started, updated in rows
            ]  # fmt: skip
        )

    @app.get("/api/portals/<member_id>/parties/<b24_type>/<b24_id>/quickbooks")
    @portal_api()
    def party_quickbooks(member_id: str, b24_type: str, b24_id: str) -> Response:
        """The contact/company tab's data; a stale or missing statement is asked for on the way."""
        if not party_tab.known(b24_type, b24_id):
            return Response("Not found", 404)
        shown = party_tab.view(services, member_id, b24_type, b24_id)
        shown["currency"] = party_tab.home_currency(services, member_id)  # a customer without CurrencyRef
        shown["credit"] = party_tab.credit(shown["statement"])
        as_of = party_tab.as_of(shown)  # one read has every currency's customer
        linked = shown["linked"] or shown["currencies"]
        if linked and not shown["refreshing"] and request.args.get("auto") == "1":
            stale = as_of is None or time.time() - _epoch(as_of) > party_tab.STALE_AFTER
            if stale and party_tab.refresh(services, member_id, b24_type, b24_id):
                shown["refreshing"] = True
        return jsonify(shown)

    @app.post("/api/portals/<member_id>/parties/<b24_type>/<b24_id>/refresh")
    @portal_api()
    def party_refresh(member_id: str, b24_type: str, b24_id: str) -> Response:
        if not party_tab.known(b24_type, b24_id):
            return Response("Not found", 404)
        return _json(202, queued=party_tab.refresh(services, member_id, b24_type, b24_id) is not None)

    @app.post("/api/portals/<member_id>/parties/<b24_type>/<b24_id>/link")
    @portal_api()
    def party_link(member_id: str, b24_type: str, b24_id: str) -> Response:
        """``{"name": "..."}`` links to that QuickBooks customer; ``"create": true`` creates one if absent."""
        if not party_tab.known(b24_type, b24_id):
            return Response("Not found", 404)
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            return Response('Send JSON {"name": "...", "create": false}.', 400, mimetype="text/plain")
        if not services.agents.paired(member_id):
            return _json(409, error="refused", message="No QuickBooks agent is paired yet.")
        name = str(body.get("name") or "")[:209]
        party_tab.link(
            services, member_id, b24_type, b24_id, name=name or None, create=body.get("create") is True
        )
        return _json(202, linking=True)

    @app.get("/api/portals/<member_id>/deals/<deal_id>/quickbooks")
    @portal_api()
    def deal_quickbooks(member_id: str, deal_id: str) -> Response:
        """The deal tab's data: the linked document as QuickBooks last showed it, and the syncs made."""
        syncs = services.links.syncs_of_deal(member_id, deal_id)
        linked = services.links.documents_of_deal(member_id, services.company_file(member_id), deal_id)
        documents = [  # every document of the deal, newest first, as QuickBooks last showed each
            services.portals.setting(member_id, f"doc.{d.qb_id}.qb")
            or {"kind": deal_sync.DOCUMENT_KINDS.get(d.kind, d.kind), "txn_id": d.qb_id, "number": d.qb_name}
            for d in reversed(linked)
        ]
        party = party_tab.of_deal(services, member_id, deal_id, syncs)
        customer = None
        if party is not None:  # the customer's balance and credit limit, read with the party tab's query
            shown = party_tab.view(services, member_id, *party)
            deal_currency = str(services.portals.setting(member_id, f"deal.{deal_id}.currency") or "")
            customer = party_tab.credit_in(shown, deal_currency)  # an EUR deal: the client's EUR customer
            as_of = party_tab.as_of(shown)
            stale = as_of is None or time.time() - _epoch(as_of) > party_tab.STALE_AFTER
            linked = shown["linked"] or shown["currencies"]
            if linked and stale and request.args.get("auto") == "1" and not shown["refreshing"]:
                party_tab.refresh(services, member_id, *party)
        return jsonify(
            document=services.portals.setting(member_id, f"deal.{deal_id}.qb"),
            documents=documents,
            customer=customer,
            currency=services.portals.setting(member_id, f"deal.{deal_id}.currency"),  # the deal's own
            home_currency=party_tab.home_currency(services, member_id),
            refreshing=services.agents.waiting(member_id, qb_changes.PURPOSE),  # QuickBooks is being asked
            bitrix24_outage=services.outage(member_id),
            syncs=[
                {"sync_id": s.sync_id, "kind": s.kind, "state": s.state, "outcome": s.outcome} for s in syncs
            ],
        )

    @app.post("/api/portals/<member_id>/deals/<deal_id>/refresh")
    @portal_api()
    def deal_refresh(member_id: str, deal_id: str) -> Response:
        """Ask QuickBooks for what changed (at a person's priority); the tab shows it after the next run."""
        job_id = qb_changes.poll(services, member_id, priority=1)
        return _json(202, queued=job_id is not None)

    @app.get("/api/portals/<member_id>/syncs/<sync_id>")
    @portal_api()
    def sync_status(member_id: str, sync_id: str) -> Response:
        sync = services.links.sync(member_id, sync_id)
        if sync is None:
            return Response("Not found", 404)
        job = services.agents.job(member_id, sync.job_id) if sync.job_id else None
        session = services.portals.setting(member_id, "qb.session") or {}
        state = sync.state
        if (
            state in ("looking_up", "sending", "queued", "recovering")
            and job is not None
            and job.state == "sent"
        ):
            state = "sent"
        elif state in ("looking_up", "sending", "queued", "recovering"):
            state = "waiting" if job is not None and job.state in ("offered", "acked") else "queued"
        return jsonify(
            sync_id=sync.sync_id,
            deal_id=sync.deal_id,
            kind=sync.kind,
            state=state,
            step="lookup" if sync.state == "looking_up" else "document",
            outcome=sync.outcome,
            detail=sync.detail,
            agent_online=bool(services.relay and services.relay.online(member_id)),
            last_web_connector_run=session.get("ended_at") or session.get("started_at"),
            next_web_connector_run=next_run(session),
            why_waiting=qb_reach.why_waiting(services, member_id, datetime.now(UTC)),
            quickbooks_busy=quickbooks_busy(session),

            bitrix24_outage=services.outage(member_id),
        )

    @app.post("/api/portals/<member_id>/initial-sync")
    @portal_api("Only a Bitrix24 administrator can start the first sync.")
    def initial_sync_start(member_id: str) -> Response:
        """Customers and items, in one Web Connector session when the agent is online."""
        job_id = initial_sync.start(services, member_id)
        items_job = initial_sync.start_items(services, member_id)
        return _json(202, job_id=job_id, items_job_id=items_job)

    @app.get("/api/portals/<member_id>/initial-sync")
    @portal_api()
    def initial_sync_state(member_id: str) -> Response:
        """Progress and counts, and the matches a person has to decide."""
        return jsonify(
            state=services.portals.setting(member_id, "initial.state"),
            review=services.portals.setting(member_id, "initial.review", []),
            items=services.portals.setting(member_id, "initial.items"),
            items_review=services.portals.setting(member_id, "initial.items.review", []),
            documents=services.portals.setting(member_id, "initial.documents"),
            notes=services.portals.setting(member_id, "initial.notes", []),
        )

    @app.post("/api/portals/<member_id>/initial-sync/review")
    @portal_api("Only a Bitrix24 administrator can decide the first sync's matches.")
    def initial_sync_resolve(member_id: str) -> Response:
        """``{"b24": "CO_12", "list_id": "8000…"}``: link a listed record to the candidate a person chose."""
        body = request.get_json(silent=True)
        if not isinstance(body, dict) or not body.get("b24") or not body.get("list_id"):
            return Response('Send JSON {"b24": "...", "list_id": "..."}.', 400, mimetype="text/plain")
        try:
            name = initial_sync.resolve(services, member_id, str(body["b24"]), str(body["list_id"]))
        except ValueError as exc:
            return _json(409, error="refused", message=str(exc))
        return jsonify(ok=True, linked_to=name)

    @app.get("/api/portals/<member_id>/agents")
    @portal_api()
    def list_agents(member_id: str) -> Response:
        relay_ = services.relay
        online = relay_.agent(member_id) if relay_ is not None else None
        return jsonify(
            agents=[
                {
                    "agent_id": a.agent_id,
                    "name": a.name or a.hostname,
                    "hostname": a.hostname,
                    "agent_version": a.agent_version,
                    "paired_at": a.paired_at,
                    "last_seen": a.last_seen,
                    "company_file": a.company_file,
                    "revoked": a.revoked,
                    "online": online is not None and online.agent_id == a.agent_id,
                }
                for a in services.agents.agents(member_id)
            ],
            downloads=downloads.available(),  # the agent builds this server offers (setup step 1)
        )

    @app.post("/api/portals/<member_id>/agents/<agent_id>")
    @portal_api("Only a Bitrix24 administrator can manage agents.")
    def change_agent(member_id: str, agent_id: str) -> Response:
        body = request.get_json(silent=True)
        if not isinstance(body, dict) or not ({"name", "revoke"} & set(body)):
            return Response('Send JSON {"name": "..."} or {"revoke": true}.', 400, mimetype="text/plain")
        if "name" in body:
            name = str(body["name"]).strip()
            if not name or len(name) > 100:
                return Response("A name is 1 to 100 characters.", 400, mimetype="text/plain")
            if not services.agents.rename(member_id, agent_id, name):
                return Response("Not found", 404)
        if body.get("revoke") is True:
            if not services.agents.revoke(member_id, agent_id):
                return Response("Not found", 404)
            relay_ = services.relay
            current = relay_.agent(member_id) if relay_ is not None else None
            if relay_ is not None and current is not None and current.agent_id == agent_id:
                relay_.disconnect(member_id)  # a revoked agent is cut off at once
        return jsonify(ok=True)

    @app.get("/api/portals/<member_id>/settings")
    @portal_api()
    def get_settings(member_id: str) -> Response:
        stored = {n: services.portals.setting(member_id, n) for n in settings.CHOICES}
        return jsonify(
            settings=settings.current({k: v for k, v in stored.items() if v is not None}),
            meaning={n: c.meaning for n, c in settings.CHOICES.items()},
            deleted_deals=(services.portals.setting(member_id, "deleted_deals") or [])[-20:][::-1],
        )

    @app.get("/api/portals/<member_id>/sales-reps")
    @portal_api()
    def sales_rep_list(member_id: str) -> Response:
        """QuickBooks' sales reps for the settings; ``?auto=1`` asks QuickBooks when the list is old."""
        if request.args.get("auto") == "1":
            sales_reps.read_if_stale(services, member_id)
        return jsonify(sales_reps.view(services, member_id))

    @app.get("/api/portals/<member_id>/pipelines")
    @portal_api()
    def deal_pipelines(member_id: str) -> Response:
        """The portal's deal pipelines and their stages (for the paid-stage choice), read from Bitrix24."""
        commands: dict[str, tuple[str, dict[str, Any]]] = {
            "categories": ("crm.category.list", {"entityTypeId": 2}),
            "stages": ("crm.status.list", {"order": {"SORT": "ASC"}}),
        }
        try:
            client = services.client(member_id)
            got = client.batch(commands)
            categories = discover.all_categories(client, got, commands)
            stages = discover.all_stages(client, got, commands)
        except B24Error as exc:
            return _json(502, error=exc.code, message=exc.description)
        found = discover.pipelines(categories, stages)
        return jsonify(pipelines=[{"id": p.id, "name": p.name, "stages": p.stages} for p in found])

    @app.post("/api/portals/<member_id>/settings")
    @portal_api("Only a Bitrix24 administrator can change the sync settings.")
    def change_settings(member_id: str) -> Response:
        try:
            changes = settings.validate(request.get_json(silent=True))
        except ValueError as exc:
            return Response(str(exc), 400, mimetype="text/plain")
        unknown = sales_reps.refused(services, member_id, changes, request.headers.get("X-Lang", ""))
        if unknown:  # a QuickBooks reference is one QuickBooks listed, never free text
            return Response(unknown, 400, mimetype="text/plain")
        for name, value in changes.items():
            services.portals.set_setting(member_id, name, value)
        if changes.get("bulk.paused") is False and services.relay is not None:
            services.relay.notify(member_id)  # what the pause held goes to the agent now
        return jsonify(ok=True, changed=sorted(changes))

    @app.get("/api/portals/<member_id>/conflicts")
    @portal_api()
    def conflict_log(member_id: str) -> Response:
        """Fields both sides changed: the winner's value applied, the loser's kept here."""
        return jsonify(conflicts=services.links.conflicts(member_id))

    @app.post("/api/portals/<member_id>/pairing-code")
    @portal_api("Only a Bitrix24 administrator can pair an agent.")
    def pairing_code(member_id: str) -> Response:
        return jsonify(code=services.agents.new_pairing_code(member_id), expires_in_minutes=15)

    @app.get("/healthz")
    def healthz() -> Response:
        """200 when the database takes a write and every background worker runs; else 503 with what is
        broken (an orchestrator restarts the process on that). Short, no portal data."""
        return health.answer(services)

    def operator() -> Response | None:
        """/status and /schema are the operator's: ``Authorization: Bearer <QBB24_OPERATOR_TOKEN>``;
        without a configured token they do not exist (404)."""
        if not config.operator_token:
            return Response("Not found", 404, mimetype="text/plain")
        sent = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(config.operator_token.encode(), sent.encode()):
            return Response("Operator token required.", 401, mimetype="text/plain")
        return None

    @app.get("/status")
    def overall_status() -> Response:
        """Figures across portals, no portal data: what an operator's monitoring wants."""
        if (denied := operator()) is not None:
            return denied
        relay_ = services.relay
        portals = services.portals.portals()
        return jsonify(
            portals={state: sum(p.state == state for p in portals) for state in {p.state for p in portals}},
            agents_online=relay_.online_count() if relay_ is not None else 0,
            jobs=services.agents.counts_all(),
            jobs_done_24h=services.agents.finished_since(86400),
            id_mappings=services.links.total(),
            events_waiting=services.portals.events_waiting(),
        )

    @app.get("/schema")
    def schema() -> Response:
        if (denied := operator()) is not None:
            return denied
        return jsonify(schema_export())

    return app


def _expiry(expires: Any, now: float) -> float:
    """``auth[expires]`` (Unix time) when it is a sane number, else an hour from now."""
    try:
        value = float(str(expires))
    except ValueError:
        return now + 3600
    return value if now < value < now + 86400 else now + 3600


def next_run(session: dict[str, Any]) -> str | None:
    """When the Web Connector should run next: its last start plus the gap between its last two starts
    (its Auto-Run interval, which only the Web Connector knows); None before two runs were seen."""
    last, before = session.get("started_at"), session.get("previous_started_at")
    if not last or not before:
        return None
    start = datetime.fromisoformat(last)
    gap = start - datetime.fromisoformat(before)
    return (start + gap).isoformat() if gap.total_seconds() > 0 else None


PEOPLES_JOBS = 2  # job priorities up to this one mean someone is waiting (deal sync, a tab, settings)


def offer_limit(services: Services, member_id: str) -> int | None:
    """While background work is paused on the app page only people's jobs go to the agent."""
    return PEOPLES_JOBS if services.portals.setting(member_id, "bulk.paused") else None


# A session the agent never reported closed stops counting as running after the agent's ticket lifetime.
BUSY_FOR_AT_MOST = 30 * 60


def quickbooks_busy(session: dict[str, Any], now: float | None = None) -> bool:
    """Is a Web Connector session running now (started, not ended, not older than a ticket lives)?
    While it runs QuickBooks is busy for the bookkeeper; the page says so."""
    started = session.get("started_at")
    if not started or session.get("ended_at"):
        return False
    age = (time.time() if now is None else now) - _epoch(started)
    return 0 <= age < BUSY_FOR_AT_MOST


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


def _chain(first: Any, second: Any) -> Any:
    def both(portal: str, message: wire.Message) -> None:
        if first is not None:
            first(portal, message)
        second(portal, message)

    return both


def record_session(services: Services, portal: str, message: wire.Message) -> None:
    """What the agent says about Web Connector sessions, kept for the portal's status."""
    store = services.portals
    if isinstance(message, wire.SessionStarted):
        before = store.setting(portal, "qb.session") or {}
        store.set_setting(
            portal,
            "qb.session",
            {
                "previous_started_at": before.get("started_at"),
                "started_at": message.started_at.isoformat(),
                "company_file": message.company_file,
                "product": message.product,
                "qb_version": message.qb_version,
                "country": message.country,
                "qbxml_versions": list(message.supported_versions),
                # the QuickBooks PC's clock and UTC offset: the company's calendar (cloud_app.company_time)
                "local_time": message.local_time.isoformat() if message.local_time else None,
            },
        )
        qb_reach.cleared(services, portal)
    elif isinstance(message, wire.SessionEnded):
        last = store.setting(portal, "qb.session", {})
        last.update(ended_at=message.ended_at.isoformat(), summary=message.summary, errors=message.errors)
        store.set_setting(portal, "qb.session", last)
        if message.error:
            store.set_setting(
                portal, "qb.last_error", {"at": message.ended_at.isoformat(), "message": message.error}
            )
    elif isinstance(message, wire.QuickBooksUnreachable):
        said = qb_reach.reported(services, portal, message)
        store.set_setting(portal, "qb.last_error", {"at": message.at.isoformat(), "hresult": message.hresult,
                                                    **said})  # fmt: skip


def portal_status_of(services: Services, member_id: str) -> dict[str, Any]:
    portal = services.portals.portal(member_id)
    assert portal is not None
    relay_ = services.relay
    jobs = services.agents.counts(member_id)
    return {
        "state": portal.state,
        "attention": portal.attention,
        "domain": portal.domain,
        "agent_online": bool(relay_ and relay_.online(member_id)),
        "agents": len([a for a in services.agents.agents(member_id) if not a.revoked]),
        "last_session": services.portals.setting(member_id, "qb.session"),
        "quickbooks_busy": quickbooks_busy(services.portals.setting(member_id, "qb.session") or {}),
        "last_error": services.portals.setting(member_id, "qb.last_error"),
        "jobs": jobs,
        "queue_depth": sum(n for state, n in jobs.items() if state in ("queued", "offered", "acked")),
        "events_waiting": services.portals.count_events(member_id),
        "last_sync": services.portals.settings_with_prefix(member_id, "sync.last."),
        "why_waiting": qb_reach.why_waiting(services, member_id, datetime.now(UTC)),
        "bitrix24_outage": services.outage(member_id),
    }


def _bitrix24_down(services: Services, exc: Exception) -> Response:
    """A page's request that met a Bitrix24 outage: 503 with since when, in the page's language."""
    _, strings = catalog(request.headers.get("X-Lang", ""))
    member_id = (request.view_args or {}).get("member_id", "")
    since = (outage.current(services.portals, member_id) or {}).get("since", "")
    if since:
        message = strings["outage.b24"].replace("{since}", str(since).replace("T", " ")[:16] + " UTC")
    else:  # no outage on record (this call met the first failure): no "since" to say
        message = strings["outage.b24_now"]
    return _json(503, error="bitrix24_down", message=message + " " + strings["outage.again"])


def services_of(app: Flask) -> Services:
    services: Services = app.extensions["qb"]
    return services


__all__ = ["create_app", "services_of"]
