"""The whole product on loopback for flow tests: the Bitrix24 emulator with the app installed, the cloud
with its agent relay, a real agent paired through the page API, the Web Connector simulator and the
QuickBooks simulator's sample company. The ``world`` fixture (registered in ``conftest.py``)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from local_agent import cli
from local_agent import config as cfg
from local_agent.agent import Agent
from sandbox.quickbooks import SimulatedQuickBooks
from sandbox.quickbooks.seed import seed_company
from shared.qbxml.parser import parse_response

from ..local_agent.test_agent import connector, redial, wait
from .harness import CLIENT_ID, Cloud, running_cloud

__all__ = ["World", "a_deal", "connector", "paid_world", "redial", "settled", "wait", "world"]


@dataclass
class World:
    cloud: Cloud
    agent: Agent
    home: Path
    password: str
    qb: SimulatedQuickBooks
    session: str

    def api(self, method: str, path: str, **kw: Any) -> requests.Response:
        url = f"{self.cloud.url}/api/portals/{self.cloud.portal.member_id}{path}"
        headers = {"X-Session": self.session, **kw.pop("headers", {})}
        return requests.request(method, url, headers=headers, timeout=30, **kw)

    def web_connector_runs(self) -> str:
        report = connector(self.agent, self.home, self.password, self.qb).run_session()
        assert report.outcome == "ok", report
        return report.status

    def qb_query(self, body: str) -> list[dict[str, Any]]:
        doc = (
            '<?xml version="1.0"?><?qbxml version="13.0"?><QBXML><QBXMLMsgsRq onError="stopOnError">'
            f"{body}</QBXMLMsgsRq></QBXML>"
        )
        return [dict(r) for res in parse_response(self.qb.process(doc)).results for r in res.records]


@contextmanager
def _world(tmp_path: Path, capsys: pytest.CaptureFixture[str], plan: str = "standard") -> Iterator[World]:
    with running_cloud(tmp_path, relay=True) as cloud:
        cloud.portal.plan = plan
        cloud.install()
        page = cloud.emu.open_app(cloud.portal, CLIENT_ID, cloud.portal.admin().id)
        session = re.search(r"data-session='([^']+)'", page.text).group(1)  # type: ignore[union-attr]
        code = requests.post(
            f"{cloud.url}/api/portals/{cloud.portal.member_id}/pairing-code",
            headers={"X-Session": session},
            timeout=5,
        ).json()["code"]
        home = tmp_path / "agent"
        assert cli.main(["--home", str(home), "pair", code, "--server", cloud.url, "--port", "0"]) == 0
        password = re.search(r"Web Connector password: (\S+)", capsys.readouterr().out).group(1)  # type: ignore[union-attr]
        agent = Agent(home, cfg.load(home), follow_up_wait=1.0, delays=redial).start()
        try:
            assert wait(lambda: cloud.services.relay.online(cloud.portal.member_id))  # type: ignore[union-attr]
            world = World(cloud, agent, home, password, SimulatedQuickBooks(seed_company()), session)
            # the agent sits on the QuickBooks PC: its clock is the one the company file keeps time by
            agent.relay.local_clock = lambda: world.qb.company.now()
            yield world
        finally:
            agent.stop()


@pytest.fixture
def world(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Iterator[World]:
    with _world(tmp_path, capsys) as w:
        yield w


@pytest.fixture
def paid_world(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Iterator[World]:
    """The same on a Professional plan: offline events, and our writes carry the auth_connector."""
    with _world(tmp_path, capsys, "professional") as w:
        yield w


class Intercepted:
    """The simulated QuickBooks as the Web Connector meets it, with every exchange of a session passed
    through ``through(request_xml, process)`` — where a test loses, rewrites or follows an answer."""

    def __init__(self, qb: SimulatedQuickBooks, through: Callable[[str, Callable[[str], str]], str]) -> None:
        self.qb, self.through = qb, through

    def begin_session(self, **kw: str) -> Any:
        inner, through = self.qb.begin_session(**kw), self.through

        class Session:
            company_file = inner.company_file

            def process(self, request_xml: str) -> str:
                return through(request_xml, inner.process)

            def close(self) -> None:
                inner.close()

        return Session()


def settled(world: World, sync_id: str) -> dict[str, Any]:
    """The sync once the cloud has applied the last result (results arrive a moment after the session)."""
    status: dict[str, Any] = {}

    def done() -> bool:
        status.update(world.api("GET", f"/syncs/{sync_id}").json())
        return status["state"] in ("done", "failed")

    wait(done, timeout=15)
    return status


def a_deal(world: World, company: str, rows: list[tuple[int, str, str, str]]) -> int:
    client = world.cloud.client()
    company_id = client.call("crm.company.add", {"fields": {"TITLE": company}})
    deal_id = client.call(
        "crm.deal.add",
        {"fields": {"TITLE": f"{company} job", "COMPANY_ID": company_id, "CURRENCY_ID": "USD"}},
    )
    client.call(
        "crm.deal.productrows.set",
        {
            "id": deal_id,
            "rows": [
                {"PRODUCT_ID": pid, "PRODUCT_NAME": name, "PRICE": price, "QUANTITY": qty}
                for pid, name, price, qty in rows
            ],
        },
    )
    return int(deal_id)
