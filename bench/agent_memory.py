#!/usr/bin/env python3
"""Benchmark: the agent's peak memory on the full-size first sync (issue 23; prints figures, asserts none).

The real cloud and the real agent in its own process (``qb-agent run``, as on the QuickBooks PC), paired
the real way (``demo.world``), against the Bitrix24 sandbox and a QuickBooks company of 1,000 customers
(+ jobs), 200 items, 3,000 invoices, 200 estimates and 1,000 payments (``bench/sync.py``'s ``FULL``). It
runs the first sync once per mode and reads the agent's peak resident memory (Linux ``VmHWM``):

* ``streamed``: today's cloud, which takes large answers in pieces (``result.chunks``);
* ``whole``: a cloud from before that feature, which gets every answer in one ``job.result``.

Run from another checkout's folder, the agent is that checkout's (``-m local_agent`` is found in the
current directory first): ``cd ../main && python ../wt/stream/bench/agent_memory.py --modes whole`` gives
the figure of the agent before this change.

    .venv/bin/python bench/agent_memory.py                 # both modes, full size, rate limit off
    .venv/bin/python bench/agent_memory.py --small         # the sample company (quick)
    .venv/bin/python bench/agent_memory.py --json out.json
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sync import FULL, first_sync, landed_once  # noqa: E402  (bench/, this script's folder)

from cloud_app import serve  # noqa: E402
from cloud_app.agents.relay import AgentRelay  # noqa: E402
from demo.world import Sizes, World  # noqa: E402
from sandbox.quickbooks.seed import size  # noqa: E402


def run(mode: str, small: bool) -> dict[str, Any]:
    # ``whole``: the cloud as it was before answers in pieces (it offers no feature)
    serve.AgentRelay = functools.partial(AgentRelay, features=()) if mode == "whole" else AgentRelay  # type: ignore[misc,assignment]
    qb_size = size(1) if small else FULL
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        with World(Path(tmp), Sizes(quickbooks=qb_size), rate_limit=False, plan="professional",
                   agent_process=True) as world:  # fmt: skip
            idle = world.agent_peak_rss_mb()
            figures = first_sync(world)
            problems = landed_once(world)
            answers = world.agent_queue.depth()
            result = {
                "mode": mode,
                "quickbooks": str(qb_size),
                "agent_peak_rss_mb": figures.agent_peak_rss_mb,
                "agent_peak_rss_mb_before_the_sync": idle,
                "agent_cpu_seconds": figures.agent_cpu_seconds,
                "first_sync_seconds": round(figures.wall_seconds, 1),
                "qbxml_bytes": figures.qbxml_bytes,
                "round_trips": figures.round_trips,
                "answers_unacknowledged": answers.get("results", 0),
                "problems": problems,
                "seconds_in_all": round(time.perf_counter() - started, 1),
            }
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--modes", default="whole,streamed", help="whole, streamed or both (default)")
    ap.add_argument("--small", action="store_true", help="the sample company instead of the full size")
    ap.add_argument("--json", help="write the figures here")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    print(f"agent: {os.getcwd()}/local_agent", flush=True)
    runs = []
    for mode in args.modes.split(","):
        runs.append(run(mode, args.small))
        r = runs[-1]
        idle = r["agent_peak_rss_mb_before_the_sync"]
        print(
            f"{mode:>9}: agent peak RSS {r['agent_peak_rss_mb']} MB (idle {idle}"
            f" MB), first sync {r['first_sync_seconds']} s, {r['qbxml_bytes']:,} qbXML bytes,"
            f" {'every record landed once' if not r['problems'] else r['problems']}",
            flush=True,
        )
    if args.json:
        Path(args.json).write_text(json.dumps(runs, indent=2))
    return 1 if any(r["problems"] for r in runs) else 0


if __name__ == "__main__":
    raise SystemExit(main())
