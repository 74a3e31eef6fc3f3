"""``python -m sandbox`` — what ``python3 dev.py run`` starts.

Until the simulators land, the run command shows what the product can already do: the qbXML schema
summary and the command-line tools.
"""

from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    from shared.qbxml.schema import load

    schema = load()
    entities = schema.entities()
    print(f"qbXML schema {schema.qbxml_version}: {len(entities)} entities, "
          f"{len(schema.messages)} request/response messages")
    print("The simulators are not built yet; the demo will run here.")
    print("Commands available now:")
    print("  .venv/bin/qbxml schema            print the qbXML schema export as JSON")
    print("  .venv/bin/qbxml schema Customer   one entity")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
