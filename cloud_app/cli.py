"""``qb-cloud`` / ``python -m cloud_app`` — the cloud app's command line (thin over library calls)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from dataclasses import asdict
from importlib import metadata

from shared.qbxml.export import schema_export

from .config import Config, ConfigError, load


def _version() -> str:
    try:
        return metadata.version("qb-bitrix24")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="qb-cloud", description="QuickBooks Desktop ⇄ Bitrix24 cloud app")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("schema", help="print the qbXML schema export the app serves at /schema")
    serve = sub.add_parser("serve", help="run the cloud app: HTTP on QBB24_PORT, agents on QBB24_AGENT_PORT")
    serve.add_argument("--config", help="a JSON settings file (else QBB24_CONFIG; QBB24_* variables apply)")
    disc = sub.add_parser(
        "discover", help="report what an installed portal holds (counts, pipelines, fields)"
    )
    disc.add_argument("portal", help="the portal's domain or member_id")
    disc.add_argument("--config")
    disc.add_argument("--json", action="store_true", help="print JSON instead of text")
    args = parser.parse_args(argv)
    if args.command == "schema":
        json.dump(schema_export(), sys.stdout, indent=2)
        sys.stdout.write("\n")
    elif args.command == "serve":
        return _serve(args.config)
    elif args.command == "discover":
        return _discover(args.portal, args.config, as_json=args.json)
    return 0


def _config(file: str | None) -> Config:
    try:
        return load(file).check()
    except ConfigError as exc:
        raise SystemExit(f"qb-cloud: {exc}") from exc


def _serve(file: str | None) -> int:
    from .serve import serve

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return serve(_config(file))


def _discover(portal: str, file: str | None, *, as_json: bool) -> int:
    from .b24.client import Client
    from .b24.errors import B24Error
    from .crypto import Vault
    from .discover import discover, render
    from .portals import PortalStore

    config = _config(file)
    store = PortalStore(config.database, Vault(config.encryption_key))
    found = next((p for p in store.portals() if portal in (p.member_id, p.domain)), None)
    if found is None or found.state == "uninstalled":
        print(f"qb-cloud: no installed portal {portal!r} in {config.database}", file=sys.stderr)
        return 2
    try:
        report = discover(Client(store, found.member_id, config.client_id, config.client_secret))
    except B24Error as exc:
        print(f"qb-cloud: {found.domain} answered {exc.code}: {exc.description}", file=sys.stderr)
        return 1
    if as_json:
        json.dump(asdict(report), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(render(report, found.domain))
    return 0
