"""``python -m sandbox bitrix24 [--port P] [--seed N] [--scale K] [--control [--state FILE]]`` — a seeded
portal on loopback.

Prints the portal URL, a webhook URL (for any Bitrix24 client) and, with ``--app CLIENT_ID:SECRET:URL``,
registers an app whose installer and main page are ``URL``. ``--control`` opens the ``/_sandbox/`` door
(``control.py``: install an app, outages, a held answer, the request log, ``save`` to ``--state``) for a
test that runs the emulator as its own process; ``--plan`` the portal's Bitrix24 plan.
"""

from __future__ import annotations

import argparse
import signal
import threading
from pathlib import Path
from types import FrameType

from .emulator import App, Bitrix24
from .seed import seed_portal
from .server import running


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox bitrix24", description=__doc__)
    parser.add_argument("--port", type=int, default=8791)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--scale", type=int, default=1)
    parser.add_argument("--domain", default="acme.bitrix24.com")
    parser.add_argument("--plan", default="standard")
    parser.add_argument("--app", help="CLIENT_ID:SECRET:URL of an app to register")
    parser.add_argument("--control", action="store_true", help="open the /_sandbox/ control door")
    parser.add_argument("--state", type=Path, help="where /_sandbox/save writes the portals")
    args = parser.parse_args(argv)
    emu = Bitrix24()
    portal = seed_portal(emu, args.domain, seed=args.seed, scale=args.scale, plan=args.plan)
    if args.app:
        client_id, secret, url = args.app.split(":", 2)
        emu.register_app(App(client_id, secret, app_url=url, installer_url=url))
    stop = threading.Event()

    def stopped(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, stopped)
    with running(emu, args.port, control=args.control, state=args.state):
        hook = portal.add_webhook(portal.admin().id)
        print(f"Bitrix24 sandbox: {emu.portal_url(portal)}crm/deal/list/", flush=True)
        print(f"  webhook:  {emu.client_endpoint(portal)}{portal.admin().id}/{hook}/", flush=True)
        print(f"  OAuth:    {emu.server_endpoint()}  (token URL {emu.base_url}/oauth/token/)", flush=True)
        try:
            stop.wait()
        except KeyboardInterrupt:
            pass
    return 0
