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
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

from . import config as cfg
from . import qwc
from .memory import give_back_large_blocks
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


def pair_here(
    home: Path, server: str, code: str, *, port: int | None = None, insecure: bool = False
) -> tuple[cfg.AgentConfig, str, Path]:
    """Pair this agent (the CLI's ``pair`` and the local page's form): the config saved, the Web
    Connector password (shown once), the .qwc written. Raises PairingError in the person's words."""
    paired = pair(server, code, version(), verify=not insecure)
    password = new_password()
    config = cfg.update(
        home, server=server.strip().rstrip("/"), agent_id=paired.agent_id, agent_token=paired.agent_token,
        portal=paired.portal, ws_url=paired.ws_url, password_hash=hash_password(password),
        port=port if port is not None else cfg.load_or_new(home).port, verify_tls=not insecure,
    )  # fmt: skip
    return config, password, _write_qwc(home, config, None)


def cmd_pair(args: argparse.Namespace) -> int:
    home = _home(args)
    try:
        config, password, qwc_path = pair_here(
            home, args.server, args.code, port=args.port, insecure=args.insecure
        )
    except PairingError as exc:
        print(f"Pairing failed: {exc}", file=sys.stderr)
        return 1
    print(f"Paired with {config.portal}.")
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


def running_at(url: str, timeout: float = 2.0) -> bool:
    """Whether this agent answers at its Web Connector endpoint now: its WSDL, from loopback (a stopped
    agent leaves ``status.json`` saying what it last knew — "online" — which is no longer true)."""
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url + "?wsdl", timeout=timeout) as answer:  # noqa: S310 (loopback)
            return b"QBWebConnectorSvc" in answer.read(65536)
    except (urllib.error.URLError, OSError, ValueError):
        return False


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
    endpoint = qwc.from_config(config).app_url
    serving = str(status.get("endpoint") or endpoint)  # the port it really took (0 in the config: any)
    loopback = serving.replace("://localhost:", "://127.0.0.1:", 1)
    up = status.get("running") is not False and running_at(loopback)
    link = status.get("link", "not running") if up else "not running"
    detail = status.get("link_detail", "") if up else (
        "the agent is stopped: start it (qb-agent run, or the Windows service)"
        + (f"; last it knew, the link was {status['link']}" if status.get("link") else "")
    )
    report = {
        "agent": "running" if up else "not running",
        "portal": config.portal,
        "endpoint": endpoint,
        "company_file": config.company_file or status.get("company_file") or "(not seen yet)",
        "link": link,
        "link_detail": detail,
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


def wait_for_pairing(home: Path, config: cfg.AgentConfig, stop: threading.Event) -> cfg.AgentConfig | None:
    """An unpaired agent serves only its own page (``http://localhost:<port>/``) until a person pastes
    the pairing code there (or ``stop``); the new config, or None when stopped first."""
    from .local_page import LocalPage, with_page
    from .soap.server import Endpoint

    def not_yet(environ: dict[str, object], start_response: Callable[..., object]) -> list[bytes]:
        body = b"Pair the agent first: open http://localhost:%d/" % endpoint.port
        start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
        return [body]

    # the port this page really took (a config's 0 means any): the .qwc and the running agent keep it
    page = LocalPage(home, pair=lambda h, server, code: pair_here(h, server, code, port=endpoint.port))
    endpoint = Endpoint(not_yet, host=config.host, port=config.port)
    endpoint.server.app = with_page(page, endpoint.server.app)
    endpoint.start()
    print(f"Not paired yet. Open http://localhost:{endpoint.port}/ and paste the pairing code from the app's "
          "setup page (or run: qb-agent pair CODE --server URL).", flush=True)  # fmt: skip
    try:
        while not page.paired.wait(0.5):
            if stop.is_set():
                return None
    finally:
        endpoint.stop()
    return cfg.load(home)


def cmd_run(args: argparse.Namespace) -> int:
    from .agent import Agent

    home = _home(args)
    try:
        config = cfg.load(home)
    except cfg.ConfigError as exc:
        print(exc, file=sys.stderr)
        return 1
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    if not config.paired:  # its own page takes the pairing code: no command line needed
        paired = wait_for_pairing(home, config, stop)
        if paired is None:
            return 1
        config = paired
    try:
        check_ws_url(config.ws_url)
    except UrlError as exc:
        print(f"{exc}. Pair the agent again with the cloud's https:// address.", file=sys.stderr)
        return 1
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if config.log_payloads:  # the switch, and only it, lets request summaries (secrets hidden) through
        logging.getLogger("local_agent.soap.door").setLevel(logging.DEBUG)
    give_back_large_blocks()  # the process's peak memory stays near one page of an answer (memory.py)
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
