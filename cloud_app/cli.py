"""``qb-cloud`` / ``python -m cloud_app`` — the cloud app's command line (thin over library calls)."""

from __future__ import annotations

import argparse
import json
import sys
from importlib import metadata

from shared.qbxml.export import schema_export


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
    args = parser.parse_args(argv)
    if args.command == "schema":
        json.dump(schema_export(), sys.stdout, indent=2)
        sys.stdout.write("\n")
    return 0
