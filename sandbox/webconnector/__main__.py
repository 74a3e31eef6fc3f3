"""``python -m sandbox webconnector --qwc FILE --password PW [--once] [--company-file PATH]``.

Thin on purpose: read the ``.qwc``, find a QuickBooks to talk to, run one update or the schedule, print
the log as the real QBWC would show it. The QuickBooks side is the simulated one from
``sandbox.quickbooks`` unless ``--quickbooks module:factory`` names another (a zero-argument callable
returning a ``QuickBooksHost``; tests and experiments use it).
"""

from __future__ import annotations

import argparse
import importlib
import sys
import threading
from collections.abc import Callable

from sandbox.qbport import QuickBooksHost
from sandbox.webconnector.connector import WebConnector
from sandbox.webconnector.qwc import QwcError, add_application


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m sandbox webconnector",
                                     description="Simulate the QuickBooks Web Connector.")
    parser.add_argument("--qwc", required=True, help="the .qwc file the endpoint hands out")
    parser.add_argument("--password", required=True, help="the password entered in the Web Connector")
    parser.add_argument("--once", action="store_true", help="run one update and exit ('Update Selected')")
    parser.add_argument("--company-file", default="", help="company file to open; default: the open one")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for each SOAP answer")
    parser.add_argument("--seed", type=int, default=1, help="seed of the simulated company")
    parser.add_argument("--update-now-port", type=int, default=None, metavar="PORT",
                        help="serve qbwc://docontrol/UpdateNow at http://127.0.0.1:PORT (0: any free port)")
    parser.add_argument("--quickbooks", default="", metavar="MODULE:FACTORY",
                        help="another QuickBooksHost factory instead of the simulated QuickBooks")
    return parser


def _factory(spec: str) -> Callable[[], QuickBooksHost]:
    module_name, _, attribute = spec.partition(":")
    factory: Callable[[], QuickBooksHost] = getattr(importlib.import_module(module_name), attribute)
    return factory


def _simulated_quickbooks(seed: int) -> QuickBooksHost:
    """The simulated QuickBooks with a seeded contractor company (``sandbox.quickbooks``, imported late)."""
    from sandbox.quickbooks.host import SimulatedQuickBooks
    from sandbox.quickbooks.seed import seed_company

    host: QuickBooksHost = SimulatedQuickBooks(seed_company(seed))
    return host


def _auto_run(connector: WebConnector, port: int) -> int:
    """The schedule plus the UpdateNow trigger (``autorun.py``), until Ctrl+C."""
    from sandbox.webconnector.autorun import AutoRun, ProtocolHandler

    autorun = AutoRun(connector).start(first_in=0)
    handler = ProtocolHandler(autorun, port=port).start()
    print(f"qbwc://docontrol/ served at {handler.base_url}/docontrol/ (the agent's kick: {handler.base_url})",
          flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        handler.stop()
        autorun.stop()
    return 0


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    try:
        qwc = add_application(args.qwc)  # as QBWC adds it: the rules, then AppSupport reached
    except QwcError as exc:
        print(f"webconnector: the .qwc was refused: {exc}", file=sys.stderr)
        return 2
    try:
        quickbooks = _factory(args.quickbooks)() if args.quickbooks else _simulated_quickbooks(args.seed)
    except (ImportError, AttributeError) as exc:
        print(f"webconnector: no QuickBooks to talk to ({exc}); the QuickBooks simulator "
              "(sandbox.quickbooks) is needed, or name one with --quickbooks MODULE:FACTORY", file=sys.stderr)
        return 2
    connector = WebConnector(qwc, args.password, quickbooks, company_file=args.company_file,
                             timeout=args.timeout, log=print)
    if args.once:
        report = connector.run_session()
        print(f"{qwc.app_name}: {report.outcome}: {report.status}")
        return 0 if report.outcome in ("ok", "none", "postponed") else 1
    if args.update_now_port is not None:
        return _auto_run(connector, args.update_now_port)
    stop = threading.Event()
    try:
        connector.run_forever(stop)
    except KeyboardInterrupt:
        stop.set()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
