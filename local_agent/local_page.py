"""The agent's own page, ``http://localhost:<port>/``: setup without a command line.

It shows the agent's state, takes the pairing code pasted from the app's setup page (the app page links
here with the code filled in: ``/?code=…&server=…``), shows the Web Connector password
once, and offers the ``.qwc`` to add to the Web Connector (``/qb-bitrix24.qwc``). The command line stays
for operators (``qb-agent pair``).

Any web page the bookkeeper visits can reach ``localhost`` too, so the page defends itself: it answers
only to a loopback ``Host`` (DNS rebinding), a pairing POST must come from this very page (its
``Origin`` is this agent's own address, and it carries the page's one-process token), nothing is served
to frames (``X-Frame-Options``, ``frame-ancestors``), and the page runs no script at all. A link fills in
the code only: the app's address it names is filled in only when it is the one this agent is set up for
(``server`` in its config), because a link on any web page could otherwise pair this PC's QuickBooks with
someone else's server in one click. The person types the address shown beside the code.

It speaks the app's languages (:mod:`local_agent.words`): the link's ``lang``, else the browser's.
"""

from __future__ import annotations

import hmac
import html
import json
import secrets
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from . import config as cfg
from . import words
from .pairing import PairingError
from .soap.door import LOOPBACK_HOSTS, hostname

PATHS = ("/", "/pair", "/qb-bitrix24.qwc")
MAX_FORM = 4096
HEADERS = [
    ("Cache-Control", "no-store"),
    ("X-Frame-Options", "DENY"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),  # "no-referrer" makes a browser send "Origin: null" on a POST
    ("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
     "frame-ancestors 'none'"),
]  # fmt: skip
STYLE = (
    "body{font:15px/1.5 'Segoe UI','Open Sans',Arial,sans-serif;color:#333;margin:0;background:#f5f7f8}"
    "main{max-width:640px;margin:0 auto;padding:16px;background:#fff;min-height:100vh}"
    "h1{font-weight:400;font-size:22px}dt{color:#828b95}dd{margin:0 0 8px}"
    "input{font:inherit;width:100%;padding:6px 8px;border:1px solid #c6cdd3;border-radius:6px;"
    "margin:4px 0 12px}"
    "button,.btn{font:inherit;font-weight:600;background:#0075ff;color:#fff;border:0;border-radius:6px;"
    "padding:8px 18px;cursor:pointer;text-decoration:none;display:inline-block}"
    ".ok{background:#f1fbd0;border-left:3px solid #8bc34a;padding:10px 12px}"
    ".err{background:#fff0ef;border-left:3px solid #ff5752;padding:10px 12px}"
    ".note{background:#fff8e1;border-left:3px solid #ffa900;padding:10px 12px}"
    "code{background:#f5f7f8;padding:2px 6px;border-radius:4px;font-size:17px;word-break:break-all}"
)

Start = Callable[..., Any]
App = Callable[[dict[str, Any], Start], Iterable[bytes]]
Paired = Callable[[cfg.AgentConfig], None]
PairFn = Callable[[Path, str, str], tuple[cfg.AgentConfig, str, Path]]


class LocalPage:
    """The page's WSGI app for :data:`PATHS`; ``state()`` gives what it shows of the running agent,
    ``on_paired`` starts the agent's link once a code was accepted."""

    def __init__(
        self,
        home: Path,
        *,
        pair: PairFn,
        state: Callable[[], dict[str, Any]] | None = None,
        on_paired: Paired | None = None,
    ) -> None:
        self.home, self._pair, self._state, self.on_paired = home, pair, state, on_paired
        self.token = secrets.token_urlsafe(24)  # one per process: a page from another site cannot know it
        self._lock = threading.Lock()
        self.paired = threading.Event()

    def __call__(self, environ: dict[str, Any], start_response: Start) -> Iterable[bytes]:
        host = str(environ.get("HTTP_HOST") or "")
        if hostname(host) not in LOOPBACK_HOSTS:
            return _answer(
                start_response, "403 Forbidden", "text/plain", b"This page answers only as localhost."
            )
        path, method = environ.get("PATH_INFO") or "/", environ.get("REQUEST_METHOD", "GET")
        if path == "/qb-bitrix24.qwc" and method == "GET":
            return self._qwc(start_response)
        if path == "/pair" and method == "POST":
            return self._post(environ, host, start_response)
        if path == "/" and method == "GET":
            query = parse_qs(environ.get("QUERY_STRING") or "")
            lang = _lang(environ, (query.get("lang") or [""])[0])
            code, linked = (query.get("code") or [""])[0], (query.get("server") or [""])[0].strip()
            config = self._config()
            known = config.server if config is not None else ""
            server = linked if linked and _same_server(linked, known) else ""
            said = "" if server or not linked else (
                f"<p class='note' id='server-note'>{words.say(lang, 'server_note')}</p>"
            )  # fmt: skip
            return self._page(start_response, lang, code=code[:64], server=server[:300], said=said)
        return _answer(start_response, "405 Method Not Allowed", "text/plain", b"Not here.")

    # -- the page --------------------------------------------------------------------------------------

    def _config(self) -> cfg.AgentConfig | None:
        try:
            return cfg.load(self.home)
        except cfg.ConfigError:
            return None

    def _page(
        self,
        start_response: Start,
        lang: str,
        *,
        code: str = "",
        server: str = "",
        said: str = "",
        status: str = "200 OK",
    ) -> Iterable[bytes]:
        config = self._config()
        e = html.escape

        def w(key: str) -> str:
            return words.say(lang, key)

        parts = [f"<h1>{w('title')}</h1>{said}"]
        if config is not None and config.paired:
            state = self._state() if self._state else {}
            file = state.get("company_file") or config.company_file
            last = str(state.get("last_session_end") or w("none_yet"))
            if state.get("last_session_summary"):
                last += f" — {state['last_session_summary']}"
            link = str(state.get("link") or "starting")
            facts = [  # (id, label, value)
                ("bitrix24", w("portal"), config.portal),
                ("link-to-the-app", w("link"), w(f"link.{link}") if f"link.{link}" in words.EN else link),
                ("quickbooks-company-file", w("company_file"), str(file or w("file_unseen"))),
                ("last-web-connector-run", w("last_run"), last),
                ("last-problem", w("last_problem"), str(state.get("last_error") or w("none"))),
            ]
            shown = "".join(f"<dt>{e(k)}</dt><dd id='state-{i}'>{e(v)}</dd>" for i, k, v in facts)
            parts.append(f"<dl>{shown}</dl>")
            parts.append(
                f"<h2>{w('add_heading')}</h2><p>{w('add_steps')}</p>"
                f"<p><a class='btn' id='qwc' href='/qb-bitrix24.qwc' download>{w('download')}</a></p>"
                f"<p style='color:#828b95'>{w('pair_other')}</p>"
            )
        else:
            parts.append(
                f"<p>{w('unpaired')}</p>"
                "<form method='post' action='/pair'>"
                f"<input type='hidden' name='token' value='{e(self.token)}'>"
                f"<input type='hidden' name='lang' value='{e(lang)}'>"
                f"<label for='code'>{w('code_label')}</label>"
                f"<input id='code' name='code' autocomplete='off' required maxlength='64' value='{e(code)}'>"
                f"<label for='server'>{w('server_label')}</label>"
                f"<input id='server' name='server' required maxlength='300' value='{e(server)}' "
                "placeholder='https://…'>"
                f"<button type='submit' id='pair'>{w('pair_button')}</button></form>"
            )
        body = (
            f"<!doctype html><html lang='{lang}'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width,initial-scale=1'>"
            f"<title>{w('tab_title')}</title><style>{STYLE}</style></head><body><main>"
            + "".join(parts)
            + "</main></body></html>"
        )
        return _answer(start_response, status, "text/html; charset=utf-8", body.encode())

    def _post(self, environ: dict[str, Any], host: str, start_response: Start) -> Iterable[bytes]:
        # a pairing comes from this page only: its own origin, and the token only this page carries
        origin = str(environ.get("HTTP_ORIGIN") or "")
        if origin not in (f"http://{host}", f"https://{host}"):
            return _answer(start_response, "403 Forbidden", "text/plain",
                           b"Pair from the agent's own page (http://localhost:<port>/).")  # fmt: skip
        try:
            size = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            size = MAX_FORM + 1
        if size > MAX_FORM:
            return _answer(start_response, "413 Request Entity Too Large", "text/plain", b"Too long.")
        form = parse_qs(environ["wsgi.input"].read(size).decode("utf-8", "replace"))
        token = (form.get("token") or [""])[0]
        if not hmac.compare_digest(token.encode(), self.token.encode()):
            stale = b"This form is out of date: reload the page and paste the code again."
            return _answer(start_response, "403 Forbidden", "text/plain", stale)
        code, server = (form.get("code") or [""])[0].strip(), (form.get("server") or [""])[0].strip()
        lang = _lang(environ, (form.get("lang") or [""])[0])
        with self._lock:
            config = self._config()
            if config is not None and config.paired:
                said = f"<p class='err'>{words.say(lang, 'paired_already')}</p>"
                return self._page(start_response, lang, said=said, status="409 Conflict")
            try:
                config, password, _ = self._pair(self.home, server, code)
            except PairingError as exc:
                reason = html.escape(words.say(lang, "failed", reason=exc.said(lang)))
                said = f"<p class='err' role='alert' id='error'>{reason}</p>"
                return self._page(
                    start_response, lang, code=code, server=server, said=said, status="400 Bad Request"
                )
        self.paired.set()
        if self.on_paired is not None:
            self.on_paired(config)
        said = (
            "<div class='ok' role='status' id='paired'>"
            f"<p>{html.escape(words.say(lang, 'paired', portal=config.portal))}</p>"
            f"<p>{words.say(lang, 'password_once')}</p>"
            f"<p><code id='password'>{html.escape(password)}</code></p></div>"
        )
        return self._page(start_response, lang, said=said)

    def _qwc(self, start_response: Start) -> Iterable[bytes]:
        path = self.home / "qb-bitrix24.qwc"
        config = self._config()
        if config is None or not config.paired or not path.exists():
            return _answer(start_response, "404 Not Found", "text/plain", b"Pair the agent first.")
        data = path.read_bytes()
        start_response("200 OK", [("Content-Type", "application/xml"),
                                  ("Content-Disposition", 'attachment; filename="qb-bitrix24.qwc"'),
                                  ("Content-Length", str(len(data))), *HEADERS])  # fmt: skip
        return [data]


def _answer(start_response: Start, status: str, kind: str, body: bytes) -> Iterable[bytes]:
    start_response(status, [("Content-Type", kind), ("Content-Length", str(len(body))), *HEADERS])
    return [body]


def _same_server(a: str, b: str) -> bool:
    def norm(url: str) -> str:
        return url.strip().rstrip("/").lower()

    return bool(norm(b)) and norm(a) == norm(b)


def _lang(environ: dict[str, Any], asked: str) -> str:
    return words.pick(asked, str(environ.get("HTTP_ACCEPT_LANGUAGE") or ""))


def with_page(page: LocalPage, other: App) -> App:
    """The page for its paths, ``other`` (the Web Connector endpoint's router) for the rest."""

    def routed(environ: dict[str, Any], start_response: Start) -> Iterable[bytes]:
        if (environ.get("PATH_INFO") or "/") in PATHS:
            return page(environ, start_response)
        return other(environ, start_response)

    return routed


def state_of(status_path: Path) -> dict[str, Any]:
    """What the running agent last wrote about itself (``status.json``)."""
    try:
        return dict(json.loads(status_path.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return {}
