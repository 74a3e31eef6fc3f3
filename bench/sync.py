#!/usr/bin/env python3
"""Benchmark: the first sync and a no-change incremental sync, end to end on the simulators.

The real cloud and the real agent, paired and installed the real way (``demo.world``), against the
Bitrix24 sandbox (seed-sized portal) and a QuickBooks company of the size asked for. Prints, per run:
Bitrix24 REST requests by method and the commands inside batches, records written per request, Web
Connector round trips, qbXML bytes, wall time and the process's peak memory; then checks that every record
landed once. Asserts nothing about speed; exits 1 if a record is missing or doubled.

    .venv/bin/python bench/sync.py                      # ≥1,000 customers, 200 items, 3,000 invoices
    .venv/bin/python bench/sync.py --small              # the sample company (CI)
    .venv/bin/python bench/sync.py --json figures.json  # also write the figures
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from demo.world import Sizes, World  # noqa: E402
from sandbox.bitrix24.store import Origin  # noqa: E402
from sandbox.quickbooks.seed import SeedSize, size  # noqa: E402

WRITES = ("add", "update", "set", "delete")
FULL = SeedSize(customers=1000, invoices=3000, estimates=200, payments=1000, materials=190)


@dataclass
class Figures:
    name: str
    wall_seconds: float = 0.0
    requests: Counter[str] = field(default_factory=Counter)  # HTTP requests to Bitrix24 by method
    commands: Counter[str] = field(default_factory=Counter)  # commands inside batches by method
    records_written: int = 0
    round_trips: int = 0
    sessions: int = 0
    qbxml_bytes: int = 0
    peak_rss_mb: float = 0.0  # this process: the cloud and the simulators
    cpu_seconds: float = 0.0  # this process: the cloud and the simulators
    agent_peak_rss_mb: float | None = None  # the agent's own process
    agent_cpu_seconds: float | None = None
    click_to_done: list[float] = field(default_factory=list)  # seconds, per click

    @property
    def total_requests(self) -> int:
        return sum(self.requests.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "wall_seconds": round(self.wall_seconds, 2),
            "bitrix24_requests": self.total_requests,
            "bitrix24_requests_by_method": dict(self.requests.most_common()),
            "batch_commands_by_method": dict(self.commands.most_common()),
            "records_written": self.records_written,
            "records_per_request": round(self.records_written / self.total_requests, 1)
            if self.total_requests
            else 0,
            "bound_requests": math.ceil(self.records_written / 50),
            "web_connector_sessions": self.sessions,
            "web_connector_round_trips": self.round_trips,
            "qbxml_bytes": self.qbxml_bytes,
            "peak_rss_mb": round(self.peak_rss_mb, 1),
            "cpu_seconds": round(self.cpu_seconds, 2),
            "cpu_seconds_per_1000_records": round(1000 * self.cpu_seconds / self.records_written, 2)
            if self.records_written
            else None,
            "agent_peak_rss_mb": self.agent_peak_rss_mb,
            "agent_cpu_seconds": None if self.agent_cpu_seconds is None else round(self.agent_cpu_seconds, 2),
            "click_to_done_median_s": round(statistics.median(self.click_to_done), 1)
            if self.click_to_done
            else None,
            "click_to_done_max_s": round(max(self.click_to_done), 1) if self.click_to_done else None,
            "naive_requests": self.records_written,  # one call per record written
            "naive_seconds_at_2_per_s": max(0.0, (self.records_written - 50) / 2),
        }


def _written(method: str) -> bool:
    return method.rsplit(".", 1)[-1] in WRITES or method == "crm.timeline.comment.add"


def measure(world: World, name: str, start: Any, done: Any) -> Figures:
    calls, history = len(world.emu.calls), len(world.qb.history)
    began, cpu, agent_cpu = time.perf_counter(), time.process_time(), world.agent_cpu_seconds()
    start()
    reports = world.drive(done, timeout=3600)
    world.until(world.settled, timeout=120)
    figures = Figures(name, wall_seconds=time.perf_counter() - began, cpu_seconds=time.process_time() - cpu)
    for call in world.emu.calls[calls:]:
        if call.in_batch:
            figures.commands[call.method] += 1
        else:
            figures.requests[call.method] += 1
        if _written(call.method) and call.status == 200:
            figures.records_written += 1
    figures.sessions = len(reports)
    figures.round_trips = sum(r.round_trips for r in reports)
    figures.qbxml_bytes = sum(
        len(x.request.encode()) + len((x.response or "").encode()) for x in world.qb.history[history:]
    )
    figures.peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    figures.agent_peak_rss_mb = world.agent_peak_rss_mb()
    after = world.agent_cpu_seconds()
    if after is not None and agent_cpu is not None:
        figures.agent_cpu_seconds = after - agent_cpu
    return figures


def first_sync(world: World) -> Figures:
    def done() -> bool:
        now = world.api("GET", "/initial-sync").json()
        return all(bool(now.get(k)) and now[k]["state"] == "done" for k in ("state", "items", "documents"))

    def start() -> None:
        answer = world.api("POST", "/initial-sync")
        if answer.status_code != 202:
            raise RuntimeError(f"initial sync refused: {answer.status_code} {answer.text}")

    return measure(world, "initial", start, done)


def incremental(world: World, name: str) -> Figures:
    """What the periodic step does: ask QuickBooks what changed, and Bitrix24 what changed."""
    return measure(world, name, world.cloud.reconciler.run_once, lambda: not world.waiting_for_quickbooks())


def clicks(world: World, n: int) -> tuple[Figures, list[str]]:
    """``n`` people press "Sync to QuickBooks" on ``n`` new deals at once (3 product rows each)."""
    store, portal = world.portal.store, world.portal
    person = Origin(portal.admin().id)
    products = list(portal.products.values())[:3]
    deals = []
    for i in range(n):  # made by people in Bitrix24 before the clicks, not counted
        company = store.add(4, {"TITLE": f"Click Customer {i + 1:03d}"}, person)
        deal = store.add(2, {"TITLE": f"Click deal {i + 1}", "COMPANY_ID": company["ID"]}, person)
        rows = [
            {"PRODUCT_ID": p["id"], "PRODUCT_NAME": p["name"], "PRICE": "25.00", "QUANTITY": 2}
            for p in products
        ]
        store.set_rows("D", deal["ID"], rows, person)
        deals.append(deal["ID"])
    world.until(world.settled, timeout=120)
    syncs: list[str] = []

    def start() -> None:
        for d in deals:
            answer = world.api("POST", f"/deals/{d}/sync", json={})
            syncs.append(answer.json()["sync_id"])

    def done() -> bool:
        states = [world.services.links.sync(world.member_id, s) for s in syncs]
        return len(syncs) == n and all(s is not None and s.state in ("done", "failed") for s in states)

    figures = measure(world, f"{n} click{'s' if n != 1 else ''}", start, done)
    for sync, started, updated in world.services.links.recent_syncs(world.member_id, limit=n + 10):
        if sync.sync_id in syncs and sync.state == "done":
            figures.click_to_done.append(updated - started)  # the page's click to "done"
    failed = [
        f"{s.deal_id}: {s.outcome}"
        for s in (world.services.links.sync(world.member_id, x) for x in syncs)
        if s is not None and s.state != "done"
    ]
    made = sum(1 for _ in world.qb.company.of_kind("Invoice"))
    print(f"{figures.name}: {n - len(failed)} invoices created ({made} in QuickBooks now)", flush=True)
    return figures, failed


def landed_once(world: World) -> list[str]:
    """Every QuickBooks record on the Bitrix24 side once (and the other way), or what is wrong."""
    problems: list[str] = []
    db = world.services.portals.db.conn
    qb = world.qb.company

    def count(kind: str) -> tuple[int, int]:
        row = db.execute(
            "select count(*), count(distinct b24_type || b24_id) from mappings where kind = ?", [kind]
        ).fetchone()
        return int(row[0]), int(row[1])

    state = world.api("GET", "/initial-sync").json()
    review = len(state.get("review") or [])
    waiting = {str(c) for r in state.get("review") or [] for c in r.get("candidates") or []}  # a person's
    customers = [r for r in qb.of_kind("Customer") if not r.text("Sublevel") or r.text("Sublevel") == "0"]
    links, distinct = count("customer")
    linked = {str(r[0]) for r in db.execute("select qb_id from mappings where kind = 'customer'").fetchall()}
    if links != distinct:
        problems.append(f"customers: {links} links but {distinct} distinct Bitrix24 records")
    lost = {c.id for c in customers} - linked - waiting
    if lost:
        problems.append(f"customers: {len(lost)} neither linked nor waiting for a person: {sorted(lost)[:3]}")
    store = world.portal.store
    parties = len(store.records[4]) + sum(
        1 for c in store.records[3].values() if not c.get("COMPANY_ID") and c.get("TYPE_ID") != "SUPPLIER"
    )
    if links + review < parties:
        problems.append(f"Bitrix24: {parties} companies/contacts, {links} linked, {review} in review")

    def waits(document: Any) -> bool:
        """A document of a customer (or of a job of one) that waits for a person to confirm its match."""
        customer = qb.get(str(document.el.findtext("CustomerRef/ListID")))
        ids = {customer.id, str(customer.el.findtext("ParentRef/ListID"))} if customer is not None else set()
        return bool(ids & waiting)

    for kind, entity in (("Invoice", 31), ("Estimate", 7)):
        expected = {r.id for r in qb.of_kind(kind) if not waits(r)}
        rows = db.execute(
            "select qb_id, b24_id from mappings where kind = ? and member_id = ?",
            [kind.lower(), world.member_id],
        ).fetchall()
        there = {qb_id for qb_id, b24_id in rows if int(b24_id) in store.records[entity]}
        if len(rows) != len({b for _, b in rows}):
            problems.append(f"{kind}: two QuickBooks documents share one Bitrix24 record")
        if there != expected:
            problems.append(f"{kind}: {len(expected)} in QuickBooks, {len(there)} in Bitrix24")
    stamped = [str(r.get("XML_ID") or "") for r in store.records[31].values()]
    stamped = [x for x in stamped if x.startswith("QB:")]
    if len(stamped) != len(set(stamped)):
        problems.append(f"smart invoices: {len(stamped) - len(set(stamped))} doubled")
    items = sum(
        1
        for k in ("ItemService", "ItemNonInventory", "ItemInventory", "ItemOtherCharge")
        for _ in qb.of_kind(k)
    )
    links, distinct = count("item")
    item_review = len(state.get("items_review") or [])
    if links != distinct or links + item_review < items:
        problems.append(f"items: {items} in QuickBooks, {links} links ({distinct} distinct products)")
    return problems


def table(runs: list[Figures]) -> str:
    rows = [("", *(r.name for r in runs))]
    for label, key in (
        ("wall time, s", "wall_seconds"),
        ("Bitrix24 HTTP requests", "bitrix24_requests"),
        ("records written", "records_written"),
        ("records per request", "records_per_request"),
        ("⌈records/50⌉", "bound_requests"),
        ("Web Connector sessions", "web_connector_sessions"),
        ("Web Connector round trips", "web_connector_round_trips"),
        ("qbXML bytes", "qbxml_bytes"),
        ("peak RSS, cloud + simulators, MB", "peak_rss_mb"),
        ("CPU s, cloud + simulators", "cpu_seconds"),
        ("CPU s per 1,000 records", "cpu_seconds_per_1000_records"),
        ("agent: peak RSS (own process), MB", "agent_peak_rss_mb"),
        ("agent: CPU s", "agent_cpu_seconds"),
        ("click → done, median s", "click_to_done_median_s"),
        ("click → done, max s", "click_to_done_max_s"),
        ("naive: requests (1 per record)", "naive_requests"),
        ("naive: s at 2 requests/s", "naive_seconds_at_2_per_s"),
    ):
        rows.append((label, *(str(r.as_dict()[key]) for r in runs)))
    width = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, width, strict=True)) for r in rows)


def parse(invoices: int) -> dict[str, Any]:
    """``bench/qbxml_parse.py``: an N-invoice × 5-line InvoiceQueryRs, streamed and whole, each in its own
    process (its peak memory its own)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "parse.json"
        script = Path(__file__).with_name("qbxml_parse.py")
        shown = subprocess.run(
            [sys.executable, str(script), "--invoices", str(invoices), "--json", str(out)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        print("\n" + shown.rstrip())
        return dict(json.loads(out.read_text()), invoices=invoices)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--small", action="store_true", help="the sample company (40 customers) instead")
    ap.add_argument("--scale", type=int, help="the sample company and the seed portal × N instead")
    ap.add_argument("--clicks", type=int, default=0, help="then N deals' Sync to QuickBooks at once")
    ap.add_argument("--no-rate-limit", action="store_true", help="Bitrix24's 2 requests/s limit off")
    ap.add_argument(
        "--plan",
        default="professional",
        choices=("standard", "professional"),
        help="the portal's plan; professional has the offline event queue (default)",
    )
    ap.add_argument("--json", help="write the figures here")
    ap.add_argument(
        "--parse",
        type=int,
        help="also parse an N-invoice InvoiceQueryRs (default 20,000; --small 2,000; 0: no)",
    )
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    logging.getLogger("waitress").setLevel(logging.CRITICAL)
    qb_size = size(args.scale) if args.scale else size(1) if args.small else FULL
    with tempfile.TemporaryDirectory() as tmp:
        print(
            f"QuickBooks: {qb_size}; Bitrix24: the seed portal × {args.scale or 1}, {args.plan} plan",
            flush=True,
        )
        sizes = Sizes(quickbooks=qb_size, bitrix24=args.scale or 1)
        # QuickBooks' clock starts 3 hours back so that "hours later" can be simulated for it; the cloud
        # keeps real time (QuickBooks ends 45 minutes behind it, inside the tolerated clock difference)
        with World(
            Path(tmp),
            sizes,
            rate_limit=not args.no_rate_limit,
            qb_behind=timedelta(hours=3),
            plan=args.plan,
            agent_process=True,  # as on the QuickBooks PC: its memory and CPU are its own
        ) as world:
            runs = [first_sync(world)]
            print(f"first sync done in {runs[0].wall_seconds:.1f} s", flush=True)
            # the first look at Bitrix24 only notes the time; the next one re-reads the overlap windows
            # (5 minutes in Bitrix24, 65 in QuickBooks, for clock and DST safety) once
            incremental(world, "warm-up")
            world.later(2 * 3600)
            incremental(world, "warm-up")
            world.later(15 * 60)  # the next periodic step, nothing changed on either side
            runs.append(incremental(world, "no change"))
            problems = landed_once(world)
            if args.clicks:
                for n in (1, args.clicks):  # one click alone (its latency), then the burst
                    burst, failed = clicks(world, n)
                    runs.append(burst)
                    problems += [f"click failed: {f}" for f in failed]
    print(table(runs))
    for r in runs:
        d = r.as_dict()
        print(f"\n{r.name}: Bitrix24 requests by method {d['bitrix24_requests_by_method']}")
        print(f"{r.name}: commands inside batches {d['batch_commands_by_method']}")
    print("\nevery record landed once" if not problems else "\nPROBLEMS:\n  " + "\n  ".join(problems))
    invoices = args.parse if args.parse is not None else 2000 if args.small else 20_000
    parsed = parse(invoices) if invoices else None
    if args.json:
        Path(args.json).write_text(
            json.dumps({"runs": [r.as_dict() for r in runs], "problems": problems, "parse": parsed}, indent=2)
        )
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
