#!/usr/bin/env python3
"""Benchmark: "Sync to QuickBooks" click → invoice in QuickBooks, with and without the kick.

The real cloud and agent (``demo.world``, sample company, Bitrix24 rate limit on) and the Web Connector
simulator running its Auto-Run on the ``.qwc``'s 1-minute schedule (``sandbox.webconnector.autorun``).
Time is simulated where nothing happens: when the Web Connector is idle and a job has waited for it for
``--grace`` seconds, the clock jumps to its next scheduled update, and the jump counts in the click's
latency. Each click lands at a random point of the minute (uniform). With the kick the agent asks the
Web Connector to update now (``qbwc://docontrol/UpdateNow``, the simulator's protocol handler); without
it only the schedule runs the job.

Prints, per mode: click → invoice in QuickBooks and click → done (median, max), updates per click, and
the length of the update that carried the person's job. Asserts nothing about speed; exits 1 if a click
did not end in exactly one invoice.

    .venv/bin/python bench/latency.py              # 10 clicks per mode
    .venv/bin/python bench/latency.py --clicks 3
"""

from __future__ import annotations

import argparse
import logging
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from demo.world import Sizes, World  # noqa: E402
from local_agent.kick import loopback_opener  # noqa: E402
from sandbox.bitrix24.store import Origin  # noqa: E402
from sandbox.quickbooks.seed import size  # noqa: E402
from sandbox.webconnector.autorun import AutoRun, ProtocolHandler, SimulatedTime  # noqa: E402

PERIOD = 60.0
VERBOSE = False  # the .qwc's RunEveryNMinutes = 1


@dataclass
class Mode:
    name: str
    to_invoice: list[float] = field(default_factory=list)
    to_done: list[float] = field(default_factory=list)
    updates: list[int] = field(default_factory=list)
    session_seconds: list[float] = field(default_factory=list)
    waited_for_schedule: int = 0
    problems: list[str] = field(default_factory=list)

    def line(self) -> str:
        def spread(xs: list[float]) -> str:
            return f"{statistics.median(xs):6.1f} s / {max(xs):6.1f} s" if xs else "—"

        return (f"{self.name:<14} click → invoice {spread(self.to_invoice)}"
                f"   click → done {spread(self.to_done)}"
                f"   updates/click {statistics.mean(self.updates) if self.updates else 0:.1f}"
                f"   session {spread(self.session_seconds)}   clicks that waited for the schedule "
                f"{self.waited_for_schedule}/{len(self.to_done)}")


def new_deal(world: World, i: int) -> str:
    """A deal a person made in Bitrix24 for a new company, 3 product rows (not counted)."""
    store, portal = world.portal.store, world.portal
    person = Origin(portal.admin().id)
    company = store.add(4, {"TITLE": f"Latency Customer {i:03d}"}, person)
    deal = store.add(2, {"TITLE": f"Latency deal {i}", "COMPANY_ID": company["ID"]}, person)
    rows = [{"PRODUCT_ID": p["id"], "PRODUCT_NAME": p["name"], "PRICE": "25.00", "QUANTITY": 2}
            for p in list(portal.products.values())[:3]]
    store.set_rows("D", deal["ID"], rows, person)
    return str(deal["ID"])


def invoices(world: World) -> int:
    return sum(1 for _ in world.qb.company.of_kind("Invoice"))


def started_after(autorun: AutoRun, runs: int) -> Callable[[], bool]:
    """An update after the first ``runs`` has begun (or already ended)."""
    return lambda: len(autorun.reports) > runs or not autorun.idle()


def place_in_minute(autorun: AutoRun, clock: SimulatedTime, until_next: float) -> None:
    """Move the clock so that the next scheduled update is ``until_next`` seconds away."""
    while True:
        autorun.wait_idle()
        assert autorun.next_run is not None
        remaining = autorun.next_run - clock.now()
        if remaining >= until_next:
            clock.advance(remaining - until_next)
            return
        runs = len(autorun.reports)  # let that scheduled update pass (nothing waits: "none")
        clock.advance(remaining)
        World.until(started_after(autorun, runs), timeout=60)


def click(world: World, autorun: AutoRun, clock: SimulatedTime, mode: Mode, deal: str, grace: float) -> None:
    before_invoices, before_runs, skipped = invoices(world), len(autorun.reports), clock.skipped
    began = time.monotonic()
    sync_id = world.api("POST", f"/deals/{deal}/sync", json={}).json()["sync_id"]
    waited_since: float | None = None
    to_invoice: float | None = None
    while True:
        now = time.monotonic()
        if to_invoice is None and invoices(world) > before_invoices:
            to_invoice = now - began + (clock.skipped - skipped)
        sync = world.services.links.sync(world.member_id, sync_id)
        if sync is not None and sync.state in ("done", "failed"):
            break
        if now - began > 600:
            mode.problems.append(f"deal {deal}: not done after 600 s")
            return
        if autorun.idle() and world.waiting_for_quickbooks():
            waited_since = waited_since or now
            if now - waited_since >= grace:  # nothing starts the Web Connector: its schedule will
                assert autorun.next_run is not None
                runs = len(autorun.reports)
                clock.advance(max(0.0, autorun.next_run - clock.now()))
                World.until(started_after(autorun, runs), timeout=60)
                waited_since = None
        else:
            waited_since = None
        time.sleep(0.01)
    done = time.monotonic() - began + (clock.skipped - skipped)
    autorun.wait_idle()
    if sync.state != "done" or invoices(world) != before_invoices + 1:
        mode.problems.append(f"deal {deal}: {sync.state}, {invoices(world) - before_invoices} invoice(s)")
        return
    mode.to_done.append(done)
    mode.to_invoice.append(to_invoice if to_invoice is not None else done)
    pairs = zip(autorun.reports[before_runs:], autorun.durations[before_runs:], strict=True)
    worked = [(r, d) for r, d in pairs if r.round_trips]
    mode.updates.append(len(worked))
    mode.session_seconds += [d for _, d in worked]
    if clock.skipped > skipped + 0.5 and worked:
        mode.waited_for_schedule += 1
    if VERBOSE:
        k = world.agent.kicker
        print(f"  deal {deal}: done {done:.1f} s, skipped {clock.skipped - skipped:.1f} s, updates "
              f"{[(r.outcome, r.round_trips) for r in autorun.reports[before_runs:]]}, kicks sent {k.sent} "
              f"failed {k.failed} {k.last_failure!r}, taken {autorun.kicks}", flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clicks", type=int, default=10, help="clicks per mode (default 10)")
    ap.add_argument("--grace", type=float, default=1.0,
                    help="seconds a job waits for an idle Web Connector before the clock jumps (default 1)")
    ap.add_argument("--seed", type=int, default=23)
    ap.add_argument("-v", "--verbose", action="store_true", help="a line per click")
    args = ap.parse_args(argv)
    global VERBOSE
    VERBOSE = args.verbose
    logging.basicConfig(level=logging.ERROR)
    logging.getLogger("waitress").setLevel(logging.CRITICAL)
    rng = random.Random(args.seed)
    modes = [Mode("schedule only"), Mode("with the kick")]
    with tempfile.TemporaryDirectory() as tmp, World(Path(tmp), Sizes(quickbooks=size(1)),
                                                     plan="professional") as world:
        world.drive(lambda: not world.waiting_for_quickbooks() and world.settled(), timeout=120)
        clock = SimulatedTime()
        autorun = AutoRun(world.connector, clock=clock).start()
        handler = ProtocolHandler(autorun).start()
        try:
            number = 0
            for mode in modes:
                world.agent.kicker.opener = loopback_opener(handler.base_url) if "kick" in mode.name else None
                for _ in range(args.clicks):
                    number += 1
                    deal = new_deal(world, number)
                    world.until(world.settled, timeout=120)
                    place_in_minute(autorun, clock, rng.uniform(0, PERIOD))
                    click(world, autorun, clock, mode, deal, args.grace)
                print(mode.line(), flush=True)
        finally:
            handler.stop()
            autorun.stop()
    problems = [p for m in modes for p in m.problems]
    print("\nevery click: one invoice" if not problems else "\nPROBLEMS:\n  " + "\n  ".join(problems))
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
