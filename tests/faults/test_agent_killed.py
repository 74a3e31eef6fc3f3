"""kill -9 of the agent (``qb-agent run``) in every window of a deal's write, then ``qb-agent run`` again:
one invoice, the deal updated, nothing waiting, nobody pressing anything (issue 18, case 1)."""

from __future__ import annotations

import pytest

from .checks import assert_whole, scenario_at_start
from .harness import Proc, Product, wait
from .scenario import click_sync, new_deal, queued_in_agent


@pytest.mark.faults_fast
def test_killed_with_the_job_stored_before_quickbooks_saw_it(world: Product) -> None:
    scenario = scenario_at_start(world)
    click_sync(world, new_deal(world, scenario))
    queued_in_agent(world)
    world.restart_agent()  # kill -9, then started again on its home
    world.settle()
    assert_whole(world, scenario)


@pytest.mark.faults_fast
def test_killed_after_quickbooks_committed_the_invoice_before_the_agent_read_the_answer(
    world: Product,
) -> None:
    scenario = scenario_at_start(world)
    click_sync(world, new_deal(world, scenario))
    queued_in_agent(world)
    update = world.web_connector(stop_after="<InvoiceAddRq", wait_done=False)
    assert isinstance(update, Proc)
    wait(update.stopped, 120, "QuickBooks to commit the InvoiceAdd")  # saved in the company file, answer held
    world.agent.kill()
    update.resume()  # the Web Connector hands the answer to an agent that is gone
    assert update.proc is not None and update.proc.wait(120) != 0
    world.start_agent()
    world.settle()
    assert_whole(world, scenario)


@pytest.mark.faults_fast
def test_killed_after_it_stored_the_answer_before_the_cloud_acknowledged_it(world: Product) -> None:
    scenario = scenario_at_start(world)
    click_sync(world, new_deal(world, scenario))
    queued_in_agent(world)
    world.cloud.pause()  # the cloud cannot acknowledge what the agent sends it
    try:
        world.web_connector()
        wait(lambda: world.agent_queue().get("results"), 60, "the answer stored in the agent's outbox")
        world.agent.kill()
    finally:
        world.cloud.resume()
    world.start_agent()  # sends the stored answer on reconnect
    world.settle()
    assert_whole(world, scenario)
