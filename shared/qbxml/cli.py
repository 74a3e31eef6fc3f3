"""``qbxml`` — look at the qbXML schema from a shell (thin over ``shared.qbxml.export``)."""

from __future__ import annotations

import argparse
import json
import sys

from .export import schema_export
from .schema import load


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="qbxml", description="The qbXML schema compiled from Intuit's catalogue"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("schema", help="print entities, operations and fields as JSON")
    p.add_argument("entity", nargs="*", help="only these entities (default: the 36 the product uses)")
    p.add_argument("--all", action="store_true", help="every entity in the catalogue")
    args = parser.parse_args(argv)
    if args.command == "schema":
        entities = tuple(load().entities()) if args.all else (tuple(args.entity) or None)
        try:
            doc = schema_export(entities)
        except KeyError as exc:
            print(f"qbxml: {exc.args[0]} (try: qbxml schema --all | less)", file=sys.stderr)
            return 2
        json.dump(doc, sys.stdout, indent=2)
        sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
