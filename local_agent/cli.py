"""``qb-agent`` — pair, run, status, qwc. Thin: every decision lives in the modules it calls.

qb-agent pair CODE --server https://app.example.com   # once: token, Web Connector password, .qwc
qb-agent run                                          # the QBWC endpoint + the cloud link
qb-agent status                                       # link, last session, queue, last error
qb-agent qwc [--out FILE]                             # write the .qwc again (same OwnerID/FileID)
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from importlib import metadata
from pathlib import Path

from . import config as cfg
from . import qwc
from .pairing import PairingError, pair
from .soap.session import hash_password, new_password
from .urls import UrlError, check_ws_url


def version() -> str:
    try:
        return metadata.version("qb-bitrix24")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def _home(args: argparse.Namespace) -> Path:
    return Path(args.home) if args.home else cfg.default_home()


def _write_qwc(home: Path, config: cfg.AgentConfig, out: str | None) -> Path:
    path = Path(out) if out else home / "qb-bitrix24.qwc"
    path.parent.mkdir(parents=True, exist_ok=True)
    return cfg.private_write(path, qwc.render(qwc.from_config(config)))


def cmd_pair(args: argparse.Namespace) -> int:
    home = _home(args)
    try:
        paired = pair(args.server, args.code, version(), verify=not args.insecure)
    except PairingError as exc:
        print(f"Pairing failed: {exc}", file=sys.stderr)
        return 1
    password = new_password()
    config = cfg.update(
        home, server=args.server.rstrip("/"), agent_id=paired.agent_id, agent_token=paired.agent_token,
        portal=paired.portal, ws_url=paired.ws_url, password_hash=hash_password(password),
        port=args.port if args.port is not None else cfg.load_or_new(home).port, verify_tls=not args.insecure,
    )  # fmt: skip
    qwc_path = _write_qwc(home, config, None)
    print(f"Paired with {paired.portal}.")
    print(f"Configuration: {cfg.config_path(home)}")
    print(f"Web Connector file: {qwc_path}")
    print("Add that file in QuickBooks Web Connector (File > Add an application) and enter this password")
    print("when it asks. It is shown only now; `qb-agent pair` again makes a new one.")
    print(f"\n    Web Connector password: {password}\n")
    return 0


def cmd_qwc(args: argparse.Namespace) -> int:
    home = _home(args)
    try:
        config = cfg.load(home)
    except cfg.ConfigError as exc:
        print(exc, file=sys.stderr)
        return 1
    if args.every_seconds is not None:
        if args.every_seconds < 0:
            print("--every-seconds must be 0 (back to the minute schedule) or more", file=sys.stderr)
            return 2
        config = cfg.update(home, run_every_seconds=args.every_seconds)
    print(_write_qwc(home, config, args.out))
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    home = _home(args)
    try:
        config = cfg.load(home)
    except cfg.ConfigError as exc:
        print(exc, file=sys.stderr)
        return 1
    status_file = home / "status.json"
    status = json.loads(status_file.read_text(encoding="utf-8")) if status_file.exists() else {}
    from .queue import Queue

    queue = Queue(home / "queue.db")
    try:
        depth = queue.depth()
    finally:
        queue.close()
    report = {
        "portal": config.portal,
        "endpoint": qwc.from_config(config).app_url,
        "company_file": config.company_file or status.get("company_file") or "(not seen yet)",
        "link": status.get("link", "not running"),
        "link_detail": status.get("link_detail", ""),
        "last_session": status.get("last_session_end"),
        "last_session_summary": status.get("last_session_summary", ""),
        "queue": depth,
        "last_error": status.get("last_error", ""),
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        for key, value in report.items():
            print(f"{key.replace('_', ' '):>22}: {value}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from .agent import Agent

    home = _home(args)
    try:
        config = cfg.load(home)
    except cfg.ConfigError as exc:
        print(exc, file=sys.stderr)
        return 1
    if not config.paired:
        print("This agent is not paired yet: qb-agent pair CODE --server URL", file=sys.stderr)
        return 1
    try:
        check_ws_url(config.ws_url)
    except UrlError as exc:
        print(f"{exc}. Pair the agent again with the cloud's https:// address.", file=sys.stderr)
        return 1
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if config.log_payloads:  # the switch, and only it, lets request summaries (secrets hidden) through
        logging.getLogger("local_agent.soap.door").setLevel(logging.DEBUG)
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    agent = Agent(home, config).start()
    print(f"Web Connector endpoint: {agent.endpoint_url}  (cloud: {config.server})", flush=True)
    try:
        while not stop.wait(1):
            if agent.revoked:
                print(agent.link_detail, file=sys.stderr)
                return 3
    finally:
        agent.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="qb-agent", description="QuickBooks Web Connector agent")
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    parser.add_argument("--home", help="config/queue folder (default: the user's app-data folder)")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("pair", help="exchange a pairing code for this agent's token")
    p.add_argument("code")
    p.add_argument("--server", required=True, help="the cloud app's address, https://…")
    p.add_argument("--port", type=int, help=f"Web Connector endpoint port (default {cfg.DEFAULT_PORT})")
    p.add_argument("--insecure", action="store_true", help="do not verify TLS certificates (testing only)")
    p.set_defaults(fn=cmd_pair)
    r = sub.add_parser("run", help="serve the Web Connector and keep the link to the cloud")
    r.set_defaults(fn=cmd_run)
    s = sub.add_parser("status", help="link, last session, queue depth, last error")
    s.add_argument("--json", action="store_true")
    s.set_defaults(fn=cmd_status)
    q = sub.add_parser("qwc", help="write the .qwc file for the Web Connector again")
    q.add_argument("--out")
    q.add_argument("--every-seconds", type=int, metavar="N",
                   help="poll every N seconds (<RunEveryNSeconds>, shown as Real Time) instead of every"
                        " minute; 0 goes back to minutes. Add the new .qwc to the Web Connector again")
    q.set_defaults(fn=cmd_qwc)
    args = parser.parse_args(argv)
    result: int = args.fn(args)
    return result


if __name__ == "__main__":
    raise SystemExit(main())
