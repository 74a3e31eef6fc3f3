"""Today's agent against tomorrow's cloud: a cloud release that adds fields to its messages (and offers
features this agent does not have) strands no installed agent — it still pairs, stores and answers jobs.

Tomorrow's cloud is a real websockets server on loopback speaking what a later release would send."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from websockets.asyncio.server import ServerConnection

from shared import wire

from .test_agent import wait
from .test_link import PORTAL, LoopbackCloud, link_to

QBXML = '<?xml version="1.0"?><?qbxml version="13.0"?><QBXML><QBXMLMsgsRq onError="stopOnError">' \
    "<CustomerQueryRq/></QBXMLMsgsRq></QBXML>"  # fmt: skip


class TomorrowCloud(LoopbackCloud):
    """Welcomes with fields and features from a later release and offers one job carrying an added field."""

    def __init__(self) -> None:
        super().__init__()
        self.received: list[dict[str, object]] = []

    async def _handler(self, ws: ServerConnection) -> None:
        hello = json.loads(await ws.recv())
        self.received.append(hello)
        now = datetime.now(UTC).isoformat()
        await ws.send(json.dumps({
            "v": 1, "type": "welcome", "protocol": 1, "portal": PORTAL, "server_time": now,
            "features": [], "region": "eu-1", "limits": {"max_jobs": 50},
        }))  # fmt: skip
        await ws.send(json.dumps({
            "v": 1, "type": "job.offer", "job_id": "job-1", "portal": PORTAL, "qbxml": QBXML, "priority": 5,
            "deadline": None, "purpose": "lookup", "company_file_id": "", "trace": "abc", "chunked": False,
        }))  # fmt: skip
        async for raw in ws:
            self.received.append(json.loads(raw))

    def types(self) -> list[object]:
        return [m.get("type") for m in self.received]


def test_todays_agent_stores_and_acknowledges_a_job_from_tomorrows_cloud(tmp_path: Path) -> None:
    with TomorrowCloud() as cloud:
        link = link_to(cloud.url, tmp_path).start()
        try:
            assert wait(lambda: "job.ack" in cloud.types()), cloud.received
            hello = cloud.received[0]
            assert hello["type"] == "hello" and hello["v"] == wire.MIN_PROTOCOL_VERSION
            assert hello["min_protocol"] == wire.MIN_PROTOCOL_VERSION
            assert hello["protocol"] == wire.PROTOCOL_VERSION
            assert "error" not in cloud.types()  # nothing it sent was refused
            assert link.online and link.status.portal == PORTAL and link.status.connects == 1
            assert [job.job_id for job in link.queue.held_jobs()] == ["job-1"]
            assert link.wire_version == 1 and link.wire_features == ()
        finally:
            link.stop()
            link.queue.close()
