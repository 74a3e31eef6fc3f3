"""``python -m sandbox [quickbooks|webconnector|bitrix24] ...`` — the simulators from one place, each on
its own (``python3 dev.py run`` starts all of them with the product: ``python -m demo``). Each simulator
package has its own ``main(argv)`` in its ``__main__`` module; this only dispatches.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys

SIMULATORS = {
    "quickbooks": "sandbox.quickbooks.__main__",
    "webconnector": "sandbox.webconnector.__main__",
    "bitrix24": "sandbox.bitrix24.__main__",
}


def main(argv: list[str]) -> int:
    name = argv[0] if argv else "--help"
    if name in ("-h", "--help"):
        print(__doc__)
        return 0
    if name not in SIMULATORS:
        print(f"sandbox: unknown simulator {name!r}; choose from {', '.join(SIMULATORS)}", file=sys.stderr)
        return 2
    module = importlib.import_module(SIMULATORS[name])
    result: int = module.main(argv[1:])
    return result


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
