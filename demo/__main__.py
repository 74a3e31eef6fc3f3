"""``python3 dev.py run`` (``python -m demo``): the whole product on the simulators, on loopback.

Starts the Bitrix24 sandbox (seed-sized portal), the real cloud app, a real local agent paired through
the real pairing flow, the QuickBooks simulator's sample company and the Web Connector simulator polling
every few seconds; installs the app the real way, runs the first sync with a progress bar, prints a
summary and the pages to open. Ctrl-C stops everything.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import signal
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from types import FrameType
from typing import Any

from sandbox.quickbooks.seed import size

from .scheduler import Scheduler
from .world import CLIENT_ID, Sizes, World, resumable

DATA = Path("demo-data")
PHASES = (("state", "customers"), ("items", "items"), ("documents", "invoices and estimates"))


def bar(done: int, total: int, text: str, width: int = 30) -> str:
    filled = width * done // max(total, 1)
    return f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {text[:60]:<60}"


def first_sync(world: World, scheduler: Scheduler, timeout: float) -> dict[str, Any]:
    answer = world.api("POST", "/initial-sync")
    if answer.status_code != 202:
        raise SystemExit(f"the first sync did not start: {answer.status_code} {answer.text}")
    deadline = time.monotonic() + timeout
    while True:
        now = world.api("GET", "/initial-sync").json()
        states = [(label, (now.get(key) or {}).get("state") or "waiting") for key, label in PHASES]
        done = sum(1 for _, s in states if s == "done")
        current = next((f"{label}: {s}" for label, s in states if s != "done"), "done")
        print(bar(done, len(PHASES), f"{current} — Web Connector {scheduler.last}"), end="", flush=True)
        if done == len(PHASES) and world.settled():
            print()
            return dict(now)
        if time.monotonic() > deadline:
            print()
            raise SystemExit(f"the first sync did not finish in {timeout:.0f} s: {states}")
        time.sleep(0.5)


def summary(world: World, scheduler: Scheduler, result: dict[str, Any], *, earlier: bool = False) -> int:
    """Print what the first sync did (``earlier``: in a run before this one, said so) and what this run
    did; the number of errors."""
    customers, items, documents = result["state"], result["items"], result["documents"]
    errors = len(customers.get("failed_in_quickbooks") or []) + len(items.get("failed_in_quickbooks") or [])
    errors += int(documents.get("failed") or 0)
    waiting = int(documents.get("waiting") or 0)  # documents of customers a person still has to match
    rows = [  # "—": that direction does not exist for the entity
        ("customers", customers.get("matched", 0), customers.get("created_in_bitrix24", 0),
         customers.get("created_in_quickbooks", 0)),
        ("vendors → supplier contacts", customers.get("vendors_matched", 0), customers.get("vendors", 0),
         "—"),
        ("items ⇄ products", items.get("matched", 0), items.get("created_in_bitrix24", 0),
         items.get("created_in_quickbooks", 0)),
        (f"{documents.get('invoices', 0)} invoices, {documents.get('estimates', 0)} estimates", "—",
         documents.get("created", 0), "—"),
    ]  # fmt: skip
    if earlier:
        print("\nWhat the first sync did (in an earlier run; nothing was synced twice since):")
    print(f"\n{'':<30}{'matched':>9}{'→ Bitrix24':>12}{'→ QuickBooks':>14}")
    for name, matched, to_b24, to_qb in rows:
        print(f"{name:<30}{matched:>9}{to_b24:>12}{to_qb:>14}")
    review = len(result.get("review") or []) + len(result.get("items_review") or [])
    calls = Counter(c.method for c in world.emu.calls if not c.in_batch)
    top = ", ".join(f"{m} {n}" for m, n in calls.most_common(4))
    print(f"\nfor a person to confirm: {review} ({waiting} documents wait with them)   errors: {errors}")
    print(f"\n{'This run so far' if earlier else 'This run'}: Bitrix24 REST requests {sum(calls.values())}"
          + (f" ({top})" if top else ""))  # fmt: skip
    print(f"  Web Connector: {scheduler.sessions} updates, {scheduler.round_trips} round trips")
    return errors


PORT_NAMES = ("Bitrix24 sandbox", "cloud app", "agent link (WebSocket)", "agent (Web Connector)")
DEFAULT_PORTS = (8790, 8700, 8701, 8765)


def ports_arg(text: str) -> tuple[int, int, int, int]:
    """``--ports 8790,8700,8701,8765`` (0 or "auto": any free one)."""
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 4:
        raise argparse.ArgumentTypeError("four ports, comma-separated: Bitrix24,cloud,agent-link,agent")
    try:
        ports = [0 if p in ("", "0", "auto") else int(p) for p in parts]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a port number: {exc}") from exc
    if any(not 0 <= p <= 65535 for p in ports):
        raise argparse.ArgumentTypeError("ports are 1–65535 (0: any free one)")
    return ports[0], ports[1], ports[2], ports[3]


def say_ports(world: World, wanted: tuple[int, ...]) -> None:
    said = []
    for name, want, got in zip(PORT_NAMES, wanted, world.ports, strict=True):
        why = f" ({want} was taken)" if want and want != got else ""
        said.append(f"{name} {got}{why}")
    print("Ports: " + ", ".join(said) + ".")


def pages(world: World) -> None:
    """Where a person looks next: a deal with products to sync, a linked contact's QuickBooks tab."""
    store, base = world.portal.store, world.emu.portal_url(world.portal)
    deal = next(
        (d for d in store.records[2].values() if d.get("COMPANY_ID") and store.rows.get(("D", d["ID"]))), None
    )
    links = world.services.portals.db.conn.execute(
        "select b24_id from mappings where member_id = ? and kind = 'customer' and b24_type = 'contact' "
        "order by cast(b24_id as integer) limit 1",
        [world.member_id],
    ).fetchone()
    print("\nWhile the demo runs, open in a browser:")
    if deal is not None:
        print(f"  a deal — click “Sync to QuickBooks”:  {base}crm/deal/details/{deal['ID']}/")
    if links is not None:
        print(f"  a contact with its QuickBooks tab:   {base}crm/contact/details/{links[0]}/")
    print(f"  the app page:                        {base}marketplace/app/{CLIENT_ID}/")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python3 dev.py run", description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=DATA, help=f"where the cloud and agent keep data ({DATA})")
    ap.add_argument("--interval", type=float, default=5.0, help="Web Connector auto-run, seconds (5)")
    ap.add_argument("--scale", type=int, default=1, help="QuickBooks sample company × N (1)")
    ap.add_argument("--once", action="store_true", help="stop after the summary (CI)")
    ap.add_argument("--ports", type=ports_arg, default=DEFAULT_PORTS, metavar="B24,CLOUD,LINK,AGENT",
                    help="the four ports (8790,8700,8701,8765; 0 = any free one; a taken one is replaced "
                    "by a free one, and the demo says which)")  # fmt: skip
    ap.add_argument("--fresh", action="store_true", help="start over instead of resuming the saved demo")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("waitress").setLevel(logging.CRITICAL)
    if args.data.exists() and (args.fresh or not resumable(args.data)):
        shutil.rmtree(args.data)  # nothing whole to resume (or asked to start over): from the seeds
    if resumable(args.data):
        print(f"Resuming the demo saved in {args.data}/ (--fresh starts over)…")
    else:
        print(
            f"Starting the Bitrix24 sandbox, the cloud app, the agent and QuickBooks (data in {args.data}/)…"
        )
    stop = threading.Event()

    def interrupted(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, interrupted)
    signal.signal(signal.SIGTERM, interrupted)
    sizes = Sizes(quickbooks=size(args.scale))
    with World(args.data, sizes, plan="professional", ports=args.ports, keep=True, overlap=6) as world:
        say_ports(world, tuple(world.ports) if world.resumed else args.ports)
        if world.resumed:
            print(f"Bitrix24 portal {world.portal.domain} and QuickBooks as they were; agent online again.")
        else:
            print(f"Bitrix24 portal {world.portal.domain} installed the app; agent paired and online.")
        scheduler = Scheduler(world, args.interval).start()
        try:
            done_before = (world.api("GET", "/initial-sync").json().get("documents") or {}).get(
                "state"
            ) == "done"
            if done_before:
                print("The first sync ran before; the Web Connector picks up what changed since.")
                result = world.api("GET", "/initial-sync").json()
            else:
                result = first_sync(world, scheduler, timeout=1800)
            errors = summary(world, scheduler, result, earlier=done_before)
            pages(world)
            if not args.once:
                print("\nThe Web Connector keeps polling. Ctrl-C stops everything.")
                while not stop.wait(1):
                    pass
        finally:
            scheduler.stop()
    if args.once:
        print("\n--once: the servers have stopped, so the pages above do not answer now; run it without "
              "--once to keep them up.")  # fmt: skip
    print(f"Stopped. Saved in {args.data}/: the next run resumes from here.")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
