"""The leaky bucket and the operating-time limit, on a clock the test moves (contract §5, §12.6)."""

from __future__ import annotations

import requests

from .conftest import World


def test_the_bucket_holds_50_then_503_and_drains_2_per_second(world: World) -> None:
    answers = [world.call("user.current", hook=True).status_code for _ in range(51)]
    assert answers[:50] == [200] * 50
    assert answers[50] == 503
    over = world.call("user.current", hook=True)
    assert over.json() == {"error": "QUERY_LIMIT_EXCEEDED", "error_description": "Too many requests"}
    world.clock.advance(1)  # two requests drain away per second
    assert [world.call("user.current", hook=True).status_code for _ in range(3)] == [200, 200, 503]


def test_a_batch_counts_once_and_an_enterprise_portal_has_250(world: World) -> None:
    cmd = {f"c{i}": "user.current" for i in range(50)}
    for _ in range(50):
        body = requests.post(world.hook + "batch", json={"cmd": cmd}, timeout=10).json()
        assert len(body["result"]["result"]) == 50
    assert world.call("batch", {"cmd": cmd}, hook=True).status_code == 503
    world.portal.plan = "enterprise"
    world.emu.limits.buckets.clear()
    assert all(world.call("user.current", hook=True).status_code == 200 for _ in range(250))
    assert world.call("user.current", hook=True).status_code == 503


def test_operating_time_blocks_one_method_after_the_call_that_crosses_it(world: World) -> None:
    world.emu.limits.costs["crm.deal.update"] = 100.0
    ok = [world.call("crm.deal.update", {"id": 1, "fields": {"TITLE": f"t{i}"}}, hook=True) for i in range(5)]
    assert all(r.status_code == 200 for r in ok)
    assert ok[-1].json()["time"]["operating"] == 500.0  # the crossing call still completed
    blocked = world.call("crm.deal.update", {"id": 1, "fields": {"TITLE": "t"}}, hook=True)
    assert blocked.status_code == 429
    assert blocked.json() == {
        "error": "OPERATION_TIME_LIMIT",
        "error_description": "Method is blocked due to operation time limit.",
    }
    assert world.call("crm.deal.get", {"id": 1}, hook=True).status_code == 200  # other methods still work
    reset_at = ok[-1].json()["time"]["operating_reset_at"]
    world.clock.advance(reset_at - world.clock() + 1)
    assert world.call("crm.deal.update", {"id": 1, "fields": {"TITLE": "t"}}, hook=True).status_code == 200
