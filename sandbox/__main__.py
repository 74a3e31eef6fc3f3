"""``python -m sandbox [demo|quickbooks|webconnector|bitrix24] ...`` — the simulators from one place.

``python3 dev.py run`` starts ``demo``. Each simulator package has its own ``main(argv)`` in its
``__main__`` module; this only dispatches, so every simulator also runs on its own.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys

SIMULATORS = {
    "quickbooks": "sandbox.quickbooks.__main__",
    "webconnector": "sandbox.webconnector.__main__",
    "bitrix24": "sandbox.bitrix24.__main__",
    "demo": "sandbox.demo",
}


def _available() -> dict[str, bool]:
    found = {}
    for name, module in SIMULATORS.items():
        try:
            found[name] = importlib.util.find_spec(module) is not None
        except ModuleNotFoundError:
            found[name] = False
    return found


def overview() -> int:
    """What runs today, when the full demo is not there yet."""
    from shared.qbxml.schema import load

    schema = load()
    print(f"qbXML schema {schema.qbxml_version}: {len(schema.entities())} entities, "
          f"{len(schema.messages)} request/response messages")
    print("Simulators:")
    for name, ok in _available().items():
        if name != "demo":
            print(f"  python -m sandbox {name:<13} {'ready' if ok else 'not built yet'}")
    print("The product:")
    print("  .venv/bin/qb-cloud serve                 the cloud app (needs QBB24_* settings; see README)")
    print("  .venv/bin/qb-cloud discover PORTAL       what an installed portal holds")
    print("  .venv/bin/qb-agent pair CODE --server URL; .venv/bin/qb-agent run   the agent beside QuickBooks")
    print("Tools:")
    print("  .venv/bin/qbxml schema [ENTITY ...]   the qbXML schema export as JSON")
    print("End to end on the simulators today:")
    print("  .venv/bin/python -m pytest tests/cloud_app/test_deal_sync.py -v")
    return 0


def main(argv: list[str]) -> int:
    name = argv[0] if argv else "demo"
    if name in ("-h", "--help"):
        print(__doc__)
        return 0
    if name not in SIMULATORS:
        print(f"sandbox: unknown simulator {name!r}; choose from {', '.join(SIMULATORS)}", file=sys.stderr)
        return 2
    if not _available()[name]:
        if name == "demo":
            print("The end-to-end demo is not built yet; here is what runs today.\n")
            return overview()
        print(f"sandbox: the {name} simulator is not built yet", file=sys.stderr)
        return 2
    module = importlib.import_module(SIMULATORS[name])
    result: int = module.main(argv[1:])
    return result


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
