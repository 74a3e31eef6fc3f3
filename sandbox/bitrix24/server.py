"""The emulator's HTTP face: the OAuth server at the root, each portal under ``/portal/{domain}/``.

``server_endpoint`` is ``{base}/rest/`` (so the token URL derived the documented way is
``{base}/oauth/token/``) and ``client_endpoint`` is ``{base}/portal/{domain}/rest/`` — the app under test
takes
both from what Bitrix24 hands it, exactly as in production.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

from flask import Flask, Response, redirect, request
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Response as BaseResponse

from . import app_methods, crm_methods  # noqa: F401  (registers the methods)
from .control import Hold, register_control, targeted
from .emulator import Bitrix24, Call, Portal
from .errors import ApiError, no_auth
from .phpquery import as_map, parse_pairs, parse_query, php_json
from .registry import METHODS, Ctx, Listed, check_access

MAX_BATCH = 50


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body, ensure_ascii=False), status=status, mimetype="application/json")


# What a portal that is down answers (``Settings.outage``): an error of its own (500 JSON), the gateway's
# page in front of it (502 HTML, not JSON), or the limit's refusal (503 QUERY_LIMIT_EXCEEDED, contract §5)
HTML_502 = "<html><body><h1>502 Bad Gateway</h1></body></html>"  # what the gateway in front answers
OUTAGES: dict[str, Callable[[], Response]] = {
    "500": lambda: _json(
        {"error": "INTERNAL_SERVER_ERROR", "error_description": "Internal server error"}, 500
    ),
    "502": lambda: Response(HTML_502, 502, mimetype="text/html"),
    "503": lambda: _json({"error": "QUERY_LIMIT_EXCEEDED", "error_description": "Too many requests"}, 503),
}


def request_params() -> dict[str, Any]:
    """Query, form, multipart and JSON parameters, PHP-style (§12.1)."""
    params = parse_pairs(parse_qsl(request.query_string.decode("utf-8", "replace"), keep_blank_values=True))
    if request.is_json:
        try:
            body = json.loads(request.get_data(as_text=True) or "{}")
        except json.JSONDecodeError as exc:
            raise ApiError("INVALID_REQUEST", f"Invalid JSON: {exc.msg}", 400) from exc
        if isinstance(body, dict):
            params.update(body)
    elif request.form:
        params.update(parse_pairs(request.form.items(multi=True)))
    return params


class Dispatcher:
    def __init__(self, emu: Bitrix24) -> None:
        self.emu = emu

    def time_block(
        self, portal: Portal, start: float, operating: float = 0.0, reset_at: int | None = None
    ) -> dict[str, Any]:
        took = max(time.time() - start, 0.0)  # measured on the wall clock …
        finish = self.emu.clock()  # … reported on the portal's (which tests may move)
        begun = finish - took
        tz = portal.tz
        return {
            "start": begun,
            "finish": finish,
            "duration": took,
            "processing": took,
            "date_start": datetime.fromtimestamp(begun, tz).replace(microsecond=0).isoformat(),
            "date_finish": datetime.fromtimestamp(finish, tz).replace(microsecond=0).isoformat(),
            "operating_reset_at": reset_at or int(self.emu.clock()) + 600,
            "operating": operating,
        }

    def call(
        self,
        portal: Portal,
        method_name: str,
        params: dict[str, Any],
        *,
        user_id: int,
        client_id: str | None,
        scopes: tuple[str, ...],
        in_batch: bool = False,
        connector: str | None = None,
    ) -> tuple[int, dict[str, Any]]:
        """One method call → (HTTP status, body). Limits are checked by the caller for the outer request.
        ``connector``: the outer HTTP request's ``auth_connector`` (None: read it from ``params``, which
        are the outer request's own)."""
        if not in_batch:
            raw = params.get("auth_connector")
            connector = str(raw) if raw else None
        start = time.time()
        caller = client_id or "webhook"
        meter = self.emu.limits.meter(portal.member_id, caller, method_name)
        status, body, error = 200, {}, None
        try:
            m = METHODS.get(method_name)
            if method_name == "batch":
                if in_batch:
                    raise ApiError(
                        "ERROR_BATCH_METHOD_NOT_ALLOWED", "Method is not allowed for batch usage", 405
                    )
                body = self.batch(
                    portal, params, user_id=user_id, client_id=client_id, scopes=scopes, connector=connector
                )
                body["time"] = self.time_block(portal, start)
                return 200, body
            if m is None:
                raise ApiError("ERROR_METHOD_NOT_FOUND", "Method not found!", 404)
            if self.emu.limits.enabled:
                meter.check(self.emu.clock(), self.emu.limits.limit)
            ctx = Ctx(
                self.emu, portal, portal.users[user_id], client_id, scopes, params, in_batch, connector
            )
            check_access(m, ctx)
            with self.emu.lock:
                result = m.fn(ctx)
            cost = self.emu.limits.costs.get(method_name, time.time() - start)
            meter.add(self.emu.clock(), cost)
            now = self.emu.clock()
            body = {"result": php_json(result.result if isinstance(result, Listed) else result)}
            if isinstance(result, Listed):
                body["total"] = result.total
                if result.next is not None:
                    body["next"] = result.next
            body["time"] = self.time_block(portal, start, meter.used(now), meter.reset_at(now))
        except ApiError as exc:
            status, body, error = exc.status, exc.body(self.emu.settings.russian_errors), exc.code
        finally:
            self.emu.calls.append(
                Call(
                    portal.member_id,
                    user_id,
                    client_id,
                    method_name,
                    params,
                    status,
                    error,
                    self.emu.clock(),
                    in_batch,
                    connector,
                )
            )
        return status, body

    def batch(
        self,
        portal: Portal,
        params: dict[str, Any],
        *,
        user_id: int,
        client_id: str | None,
        scopes: tuple[str, ...],
        connector: str | None = None,
    ) -> dict[str, Any]:
        cmd_raw = params.get("cmd")
        numeric = isinstance(cmd_raw, list)
        cmd = as_map(cmd_raw)
        if not cmd:
            raise ApiError("ERROR_ARGUMENT", "Argument 'cmd' is null or empty", 400)
        halt = str(params.get("halt", "0")).lower() in ("1", "true", "y")
        sections: dict[str, dict[str, Any]] = {
            k: {} for k in ("result", "result_error", "result_total", "result_next", "result_time")
        }
        # what ``$result[…]``, ``$next[…]``, ``$total[…]``, ``$time[…]`` and ``$error[…]`` reach
        done: dict[str, dict[str, Any]] = {k: {} for k in ("result", "next", "total", "time", "error")}
        for index, (key, command) in enumerate(cmd.items()):
            if index >= MAX_BATCH:
                sections["result_error"][key] = {
                    "error": "ERROR_BATCH_LENGTH_EXCEEDED",
                    "error_description": "Max batch length exceeded",
                }
                continue
            method_name, _, query = str(command).partition("?")
            status, body = self.call(
                portal,
                method_name.strip().lower(),  # the method lowercased, as methodsBatch tries it first
                substitute(parse_query(query), done),
                user_id=user_id,
                client_id=client_id,
                scopes=scopes,
                in_batch=True,
                connector=connector,
            )
            if status != 200:
                error = {k: v for k, v in body.items() if k != "time"}
                sections["result_error"][key] = done["error"][key] = error
                if halt:
                    break
                continue
            done["result"][key] = body["result"]
            sections["result"][key] = body["result"]
            if "total" in body:
                sections["result_total"][key] = done["total"][key] = body["total"]
            if "next" in body:
                sections["result_next"][key] = done["next"][key] = body["next"]
            done["time"][key] = body["time"]
            sections["result_time"][key] = {k: v for k, v in body["time"].items()}
        numeric = numeric or all(k.isdigit() for k in cmd)
        out: dict[str, Any] = {}
        for name, section in sections.items():
            if not section:
                out[name] = []
            elif numeric:
                out[name] = (
                    [section[k] for k in sorted(section, key=int)]
                    if all(k.isdigit() for k in section)
                    else section
                )
            else:
                out[name] = section
        return {"result": out}


_REFERENCE = re.compile(r"\$(result|next|total|time|error)(\S*)", re.IGNORECASE)
_STEP = re.compile(r"\[([^\]]+)\]")


def substitute(params: Any, done: dict[str, dict[str, Any]]) -> Any:
    """Every value of a sub-command's (already parsed) parameters with its ``$result[key][path]…``
    references resolved, the way ``CRestUtil::processBatchStructure``/``processBatchElement`` do it."""
    if isinstance(params, dict):
        return {k: substitute(v, done) for k, v in params.items()}
    if isinstance(params, list):
        return [substitute(v, done) for v in params]
    if isinstance(params, str):
        return _element(params, done)
    return params


def _element(value: str, done: dict[str, dict[str, Any]]) -> Any:
    """One value. The path is walked while each step exists; at the first step that does not, the walk
    stops and what it reached so far stands (an empty list, a whole answer, the map of all answers).
    A reference that is the whole value becomes that, whatever its type; one inside a longer text is
    replaced only by a number or text, and otherwise left as it was written."""
    out: Any = value
    for match in _REFERENCE.finditer(value):
        steps = _STEP.findall(match.group(2))
        if not steps:
            continue
        node: Any = done.get(match.group(1))
        for step in steps:
            if isinstance(node, dict) and node.get(step) is not None:
                node = node[step]
            elif isinstance(node, list) and step.isdigit() and int(step) < len(node):
                if node[int(step)] is None:
                    break
                node = node[int(step)]
            else:
                break
        if match.group(0) == value:
            return node
        if isinstance(node, (int, float)) and not isinstance(node, bool):
            node = str(node)
        if isinstance(out, str) and isinstance(node, str):
            out = out.replace(match.group(0), node)
    return out


def make_app(emu: Bitrix24, *, control: bool = False, state: Path | None = None) -> Flask:
    """``control``: the ``/_sandbox/`` door for a test in another process (``control.py``); ``state``: where
    its ``save`` writes the portals."""
    app = Flask("bitrix24-sandbox")
    dispatcher = Dispatcher(emu)
    hold = Hold()

    # -- OAuth server -----------------------------------------------------------------------------------

    @app.route("/oauth/token/", methods=["GET", "POST"])
    def token() -> Response:
        p = {**request.args.to_dict(), **request.form.to_dict()}
        grant = p.get("grant_type", "")
        if grant == "refresh_token":
            status, body = emu.refresh(
                p.get("client_id", ""), p.get("client_secret", ""), p.get("refresh_token", "")
            )
        elif grant == "authorization_code":
            status, body = emu.exchange_code(
                p.get("client_id", ""), p.get("client_secret", ""), p.get("code", "")
            )
        else:
            status, body = 400, {"error": "invalid_request", "error_description": "Unsupported grant_type"}
        return _json(body, status)

    @app.route("/rest/app.info", methods=["GET", "POST"])
    def oauth_app_info() -> Response:
        auth = request.values.get("auth", "")
        t = emu.tokens.get(auth)
        if t is None or t.kind != "access" or t.expires < emu.clock():
            code = "expired_token" if t is not None else "invalid_token"
            return _json({"error": code, "error_description": "The access token provided is invalid."}, 401)
        portal = emu.portals[t.member_id]
        install = portal.installs.get(t.client_id)
        if install is None:
            return _json({"error": "NOT_INSTALLED", "error_description": "Application not installed"}, 401)
        scope = ",".join(install.app.scopes)
        return _json(
            {
                "result": {
                    "client_id": t.client_id,
                    "scope": scope,
                    "expires": datetime.fromtimestamp(t.expires, portal.tz).isoformat(),
                    "install": {
                        "installed": install.installed,
                        "version": install.app.version,
                        "status": install.app.status,
                        "scope": scope,
                        "domain": portal.domain,
                        "uri": emu.portal_url(portal),
                        "client_endpoint": emu.client_endpoint(portal),
                        "member_id": portal.member_id,
                        "member_type": "PORTAL",
                    },
                    "user_id": t.user_id,
                },
                "time": dispatcher.time_block(portal, time.time()),
            }
        )

    # -- portals ----------------------------------------------------------------------------------------

    def find_portal(domain: str) -> Portal | Response:
        for p in emu.portals.values():
            if p.domain == domain:
                return p
            if domain in p.old_domains:
                target = request.full_path.replace(f"/portal/{domain}/", f"/portal/{p.domain}/", 1)
                moved = redirect(emu.base_url + target.rstrip("?"), 302)
                assert isinstance(moved, Response)  # in a request Flask makes its own response class
                return moved
        return _json({"error": "NOT_FOUND", "error_description": "Portal not found"}, 404)

    @app.route("/portal/<domain>/oauth/authorize/")
    def authorize(domain: str) -> BaseResponse:
        portal = find_portal(domain)
        if isinstance(portal, Response):
            return portal
        app_card = emu.apps.get(request.args.get("client_id", ""))
        if app_card is None or app_card.client_id not in portal.installs or not app_card.redirect_uri:
            return Response("The application was not found on this Bitrix24.", 400)
        user = int(request.args.get("user_id") or portal.admin().id)  # the signed-in user
        code = emu.issue(portal, app_card.client_id, user, "code")
        query = urlencode(
            {
                "code": code,
                "state": request.args.get("state", ""),
                "domain": portal.domain,
                "member_id": portal.member_id,
                "scope": ",".join(app_card.scopes),
                "server_domain": emu.base_url.split("://", 1)[-1],
            }
        )
        return redirect(f"{app_card.redirect_uri}?{query}", 302)

    @app.route("/portal/<domain>/rest/<path:rest>", methods=["GET", "POST"])
    def rest(domain: str, rest: str) -> Response:
        portal = find_portal(domain)
        if isinstance(portal, Response):
            return portal
        down = outage_answer(emu, portal, rest.split("/")[-1].removesuffix(".json").lower())
        if down is not None:  # nothing runs while the portal is down
            return down
        if emu.settings.html_error_next > 0:
            emu.settings.html_error_next -= 1
            return OUTAGES["502"]()
        if emu.settings.server_error_next > 0:
            emu.settings.server_error_next -= 1
            return OUTAGES["500"]()
        parts = rest.split("/")
        method_name = parts[-1].removesuffix(".json").lower()
        try:
            params = request_params()
            emu.limits.take(portal.member_id, portal.plan, request.remote_addr or "")
            if len(parts) == 3:  # webhook /rest/{user}/{code}/{method}
                hook = portal.webhooks.get(parts[1])
                if hook is None or str(hook[0]) != parts[0]:
                    raise ApiError("INVALID_CREDENTIALS", "Invalid request credentials", 401)
                user_id, scopes, client_id = hook[0], hook[1], None
            elif len(parts) == 1:
                token = emu.authenticate(
                    portal,
                    str(
                        params.pop("auth", "")
                        or request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
                    ),
                )
                install = portal.installs[token.client_id]
                user_id, scopes, client_id = token.user_id, install.app.scopes, token.client_id
            else:
                raise ApiError("ERROR_METHOD_NOT_FOUND", "Method not found!", 404)
        except ApiError as exc:
            emu.calls.append(
                Call(portal.member_id, None, None, method_name, {}, exc.status, exc.code, emu.clock())
            )
            return _json(exc.body(emu.settings.russian_errors), exc.status)
        status, body = dispatcher.call(
            portal, method_name, params, user_id=user_id, client_id=client_id, scopes=scopes
        )
        if emu.settings.lose_answers > 0 and targeted(emu.settings.lose_answers_to, method_name, params):
            emu.settings.lose_answers -= 1  # done, but the answer never reaches the caller
            return OUTAGES["502"]()
        if hold.matches(emu, method_name, params):
            hold.wait()  # done and recorded; the caller has not read the answer yet
        return _json(body, status)

    @app.errorhandler(404)
    def not_found(_: Exception) -> Response:
        return _json(no_auth().body() | {"error": "NOT_FOUND", "error_description": "Not found"}, 404)

    from .pages import register_pages

    register_pages(app, emu, find_portal)
    if control:
        register_control(app, emu, hold, state)
    return app




def outage_answer(emu: Bitrix24, portal: Portal, method_name: str) -> Response | None:
    """What a REST call gets while ``Settings.outage`` lasts (until ``outage_until`` on the wall clock, if
    set), else None. Each answer is counted (``outage_answers``) and logged with the error its body carries
    (the 502 page has none: ``HTTP 502``), so a test sees the caller keep trying."""
    with emu.lock:
        s = emu.settings
        if s.outage and s.outage_until and time.time() >= s.outage_until:
            s.outage, s.outage_until = "", 0.0  # over
        make = OUTAGES.get(s.outage)
        if make is None:
            return None
        answer = make()
        body = answer.get_json(silent=True)
        error = body["error"] if isinstance(body, dict) else f"HTTP {answer.status_code}"
        s.outage_answers += 1
        emu.calls.append(
            Call(portal.member_id, None, None, method_name, {}, answer.status_code, error, emu.clock())
        )
        return answer


class _Quiet(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


@contextmanager
def running(
    emu: Bitrix24 | None = None,
    port: int = 0,
    *,
    tls: tuple[str, str] | None = None,
    control: bool = False,
    state: Path | None = None,
) -> Iterator[Bitrix24]:
    """The emulator on a free loopback port for the duration of a ``with`` block (tests, the demo).
    ``tls``: (certificate file, key file) to answer HTTPS, as every portal does — for clients that
    only speak ``https://{domain}/rest/`` (the official Python SDK). ``control``: the ``/_sandbox/``
    door (outages, held answers, saved state) for tests that run the emulator as its own process."""
    emu = emu or Bitrix24()
    app = make_app(emu, control=control, state=state)
    server = make_server("127.0.0.1", port, app, threaded=True, request_handler=_Quiet, ssl_context=tls)
    emu.base_url = f"{'https' if tls else 'http'}://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, name="bitrix24-sandbox", daemon=True)
    thread.start()
    try:
        yield emu
    finally:
        server.shutdown()
        server.server_close()
        emu.stop()
