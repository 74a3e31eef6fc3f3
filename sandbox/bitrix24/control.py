"""The emulator's control door for another process (``python -m sandbox bitrix24 --control``): what a test
that runs the emulator as its own OS process needs to reach inside it — off unless asked for.

Under ``/_sandbox/`` on the emulator's own port, JSON in and out:

* ``POST install`` ``{"client_id", "secret", "url"}``: register an app whose installer is ``url/install``
  and main page ``url/app``, click Install as the admin, finish the install, open the app page; answers
  ``{"install": status, "page": the app page's HTML}``;
* ``POST outage`` ``{"status": 500 | 502 | 503, "seconds": s}``: every portal REST call answers that way for
  ``s`` seconds (none or 0: until status 0 ends it): 500 ``INTERNAL_SERVER_ERROR``, 502 the HTML page a
  proxy shows, 503 ``QUERY_LIMIT_EXCEEDED`` (``Settings.outage`` and ``outage_until``);
* ``POST hold`` ``{"method"}``: the next REST request naming that method is processed and its answer held
  (``GET hold`` says ``{"held": true}`` once one is); ``POST release`` lets it go;
* ``GET calls?since=N``: the request log from entry ``N`` on (method, status, error, in a batch) and its
  ``total`` length;
* ``POST save``: the portals written to the ``--state`` file (``persist.save``), to be read by the test.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

from flask import Flask, Response, request

from . import persist
from .emulator import App, Bitrix24
from .phpquery import as_map

HOLD_LIMIT = 600.0  # seconds a held answer waits for its release at most


def targeted(methods: tuple[str, ...], method_name: str, params: dict[str, Any]) -> bool:
    """No methods named: every call; else a call to one of them, or a batch with one among its commands."""
    if not methods:
        return True
    if method_name == "batch":
        commands = as_map(params.get("cmd")) or {}
        return any(str(c).split("?", 1)[0].lower() in methods for c in commands.values())
    return method_name in methods


class Hold:
    """One held answer at a time: the REST handler waits in :meth:`wait`."""

    def __init__(self) -> None:
        self.held = threading.Event()
        self.released = threading.Event()

    def arm(self, emu: Bitrix24, method: str) -> None:
        """Hold the next request naming ``method``; a release from now on lets it go, even one that comes
        before the request is held."""
        with emu.lock:
            self.released.clear()
            emu.settings.hold_method = method.lower()

    def matches(self, emu: Bitrix24, method: str, params: dict[str, Any]) -> bool:
        with emu.lock:
            wanted = emu.settings.hold_method
            found = bool(wanted) and targeted((wanted,), method, params)
            if found:
                emu.settings.hold_method = ""  # one request
            return found

    def wait(self) -> None:
        self.held.set()
        self.released.wait(HOLD_LIMIT)
        self.held.clear()

    def release(self) -> None:
        self.released.set()


def register_control(app: Flask, emu: Bitrix24, hold: Hold, state: Path | None) -> None:
    def answer(body: Any, status: int = 200) -> Response:
        return Response(json.dumps(body), status=status, mimetype="application/json")

    @app.route("/_sandbox/install", methods=["POST"])
    def install() -> Response:
        p = request.get_json(force=True)
        url = str(p["url"]).rstrip("/")
        emu.register_app(
            App(p["client_id"], p["secret"], app_url=url + "/app", installer_url=url + "/install")
        )
        portal = next(iter(emu.portals.values()))
        installed = emu.install(portal, p["client_id"])
        if installed.status_code != 200:
            return answer({"install": installed.status_code, "page": installed.text[:2000]}, 502)
        emu.install_finish(portal, p["client_id"])
        page = emu.open_app(portal, p["client_id"], portal.admin().id)
        return answer({"install": installed.status_code, "page": page.text, "member_id": portal.member_id})

    @app.route("/_sandbox/outage", methods=["POST"])
    def outage() -> Response:
        p = request.get_json(force=True)
        status, seconds = int(p.get("status") or 0), float(p.get("seconds") or 0)
        if status not in (0, 500, 502, 503):
            return answer({"error": "status is 500, 502 or 503"}, 400)
        with emu.lock:
            emu.settings.outage = str(status) if status else ""
            emu.settings.outage_until = time.time() + seconds if status and seconds > 0 else 0.0
            return answer({"status": status, "until": emu.settings.outage_until})

    @app.route("/_sandbox/hold", methods=["GET", "POST"])
    def hold_method() -> Response:
        if request.method == "POST":
            hold.arm(emu, str(request.get_json(force=True)["method"]))
        return answer({"held": hold.held.is_set(), "waiting_for": emu.settings.hold_method})

    @app.route("/_sandbox/release", methods=["POST"])
    def release() -> Response:
        emu.settings.hold_method = ""
        hold.release()
        return answer({"released": True})

    @app.route("/_sandbox/calls")
    def calls() -> Response:
        since = int(request.args.get("since") or 0)
        with emu.lock:
            rows = [
                {"method": c.method, "status": c.status, "error": c.error, "in_batch": c.in_batch}
                for c in emu.calls[since:]
            ]
            total = len(emu.calls)
        return answer({"calls": rows, "next": since + len(rows), "total": total})

    @app.route("/_sandbox/save", methods=["POST"])
    def save() -> Response:
        if state is None:
            return answer({"error": "started without --state"}, 409)
        persist.save(emu, state)
        return answer({"path": str(state)})
