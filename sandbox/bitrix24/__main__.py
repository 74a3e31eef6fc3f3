"""``python -m sandbox bitrix24 [--port P] [--seed N] [--scale K]`` — a seeded portal on loopback.

Prints the portal URL, a webhook URL (for any Bitrix24 client) and, with ``--app CLIENT_ID:SECRET:URL``,
registers an app whose installer and main page are ``URL`` and installs it.
"""

from __future__ import annotations

import argparse
import time

from .emulator import App, Bitrix24
from .seed import seed_portal
from .server import running


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox bitrix24", description=__doc__)
    parser.add_argument("--port", type=int, default=8791)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--scale", type=int, default=1)
    parser.add_argument("--domain", default="acme.bitrix24.com")
    parser.add_argument("--app", help="CLIENT_ID:SECRET:URL of an app to register")
    args = parser.parse_args(argv)
    emu = Bitrix24()
    portal = seed_portal(emu, args.domain, seed=args.seed, scale=args.scale)
    if args.app:
        client_id, secret, url = args.app.split(":", 2)
        emu.register_app(App(client_id, secret, app_url=url, installer_url=url))
    with running(emu, args.port):
        hook = portal.add_webhook(portal.admin().id)
        print(f"Bitrix24 sandbox: {emu.portal_url(portal)}crm/deal/list/", flush=True)
        print(f"  webhook:  {emu.client_endpoint(portal)}{portal.admin().id}/{hook}/", flush=True)
        print(f"  OAuth:    {emu.server_endpoint()}  (token URL {emu.base_url}/oauth/token/)", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
    return 0
