"""The agent WebSocket endpoint, spoken to by a bare WebSocket client: portal scoping, authentication,
protocol negotiation, one connection per agent, and jobs that survive a dropped connection."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect
from websockets.sync.connection import Connection

from cloud_app.agents.relay import AgentRelay
from cloud_app.agents.store import AgentStore, JobRow
from shared import wire
from tests.local_agent.test_agent import wait

A, B = "acme.bitrix24.com", "globex.bitrix24.com"
QBXML = '<?xml version="1.0"?><?qbxml version="13.0"?><QBXML><QBXMLMsgsRq onError="stopOnError">' \
    "<CustomerQueryRq/></QBXMLMsgsRq></QBXML>"  # fmt: skip


@pytest.fixture
def relay(tmp_path: Path) -> Iterator[AgentRelay]:
    store = AgentStore(str(tmp_path / "cloud.db"))
    relay = AgentRelay(store).start()
    try:
        yield relay
    finally:
        relay.stop()
        store.close()


def paired(store: AgentStore, portal: str) -> str:
    return store.redeem(store.new_pairing_code(portal), agent_version="1.0", hostname="pc")[1]


def agent(
    relay: AgentRelay, token: str, *, resume: tuple[str, ...] = (), protocol: int = 1
) -> ClientConnection:
    ws = connect(relay.url, additional_headers={"Authorization": f"Bearer {token}"}, open_timeout=5)
    ws.send(wire.encode(wire.Hello(protocol=protocol, agent_version="1.0", agent_id="x", resume=resume)))
    return ws


def receive(ws: Connection, timeout: float = 5) -> wire.Message:
    return wire.decode(ws.recv(timeout=timeout))


def welcome(ws: Connection) -> wire.Welcome:
    message = receive(ws)
    assert isinstance(message, wire.Welcome), message
    return message


def offered(ws: Connection, job_id: str, *, ack: bool = False) -> None:
    """The next message is the offer of ``job_id`` (acknowledged, as a real agent does once stored)."""
    offer = receive(ws)
    assert isinstance(offer, wire.JobOffer) and offer.job_id == job_id, offer
    if ack:
        ws.send(wire.encode(wire.JobAck(job_id=job_id)))


def offers_until_no_work(ws: Connection) -> list[str]:
    """Ask for work and collect the offers up to the cloud's "nothing more" (which never comes while an
    offer is unacknowledged: it may still be on its way)."""
    ws.send(wire.encode(wire.WantWork(session_id="s", max_jobs=10)))
    seen: list[str] = []
    while True:
        message = receive(ws)
        if isinstance(message, wire.NoWork):
            return seen
        if isinstance(message, wire.JobOffer):
            seen.append(message.job_id)


def result(job_id: str) -> str:
    now = datetime.now(UTC)
    return wire.encode(
        wire.JobResult(
            job_id=job_id, response="<QBXML/>", hresult=None, message=None, received_at=now, processed_at=now
        )  # fmt: skip
    )


def test_an_agent_sees_and_answers_only_its_own_portals_jobs(relay: AgentRelay) -> None:
    token_a, _ = paired(relay.store, A), paired(relay.store, B)
    theirs = relay.store.enqueue(B, QBXML, purpose="sync")
    mine = relay.store.enqueue(A, QBXML, purpose="sync")
    with agent(relay, token_a) as ws:
        assert welcome(ws).portal == A
        offered = [receive(ws)]
        assert [m.job_id for m in offered if isinstance(m, wire.JobOffer)] == [mine]
        ws.send(wire.encode(wire.JobAck(job_id=mine)))
        assert offers_until_no_work(ws) == []
        ws.send(result(theirs))  # a forged answer to portal B's job
        assert isinstance(receive(ws), wire.ResultAck)
    job = relay.store.job(B, theirs)
    assert job is not None and job.state == "queued" and job.response is None
    assert relay.store.job(A, theirs) is None


@pytest.mark.parametrize("header", ["Bearer qbt_not-a-token", "Basic abc", ""])
def test_unknown_tokens_are_refused_without_detail(relay: AgentRelay, header: str) -> None:
    headers = {"Authorization": header} if header else {}
    with pytest.raises(InvalidStatus) as refused:
        connect(relay.url, additional_headers=headers, open_timeout=5)
    assert refused.value.response.status_code == 401
    assert b"token" in refused.value.response.body and A.encode() not in refused.value.response.body


def test_a_revoked_agent_is_disconnected_and_cannot_come_back(relay: AgentRelay) -> None:
    token = paired(relay.store, A)
    with agent(relay, token) as ws:
        welcome(ws)
        agent_id = relay.store.agents(A)[0].agent_id
        assert relay.store.revoke(A, agent_id)
        relay.disconnect(A)
        with pytest.raises(ConnectionClosed):
            receive(ws)
    with pytest.raises(InvalidStatus):
        connect(relay.url, additional_headers={"Authorization": f"Bearer {token}"}, open_timeout=5)


def test_an_old_protocol_is_told_to_update(relay: AgentRelay) -> None:
    with agent(relay, paired(relay.store, A), protocol=0) as ws:
        message = receive(ws)
        assert isinstance(message, wire.ErrorMessage) and message.code == "unsupported_protocol"
        assert "update the agent" in message.message
        with pytest.raises(ConnectionClosed):
            receive(ws)
    assert not relay.online(A)


def test_a_second_connection_replaces_the_first(relay: AgentRelay) -> None:
    token = paired(relay.store, A)
    with agent(relay, token) as first:
        welcome(first)
        with agent(relay, token) as second:
            welcome(second)
            with pytest.raises(ConnectionClosed) as closed:
                receive(first)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4000
            assert offers_until_no_work(second) == []
            assert relay.online(A)


def test_a_job_offered_into_a_dropped_connection_is_offered_again_and_done_once(relay: AgentRelay) -> None:
    token = paired(relay.store, A)
    job_id = relay.store.enqueue(A, QBXML, purpose="sync")
    with agent(relay, token) as ws:  # the connection dies before the agent stored the job
        welcome(ws)
        offered(ws, job_id)
    with agent(relay, token) as ws:
        welcome(ws)
        offered(ws, job_id, ack=True)
        assert offers_until_no_work(ws) == []
    with agent(relay, token, resume=(job_id,)) as ws:  # holding it: not offered a third time
        welcome(ws)
        assert offers_until_no_work(ws) == []
        ws.send(result(job_id))
        assert receive(ws) == wire.ResultAck(job_id=job_id)
    with agent(relay, token) as ws:  # the result is re-sent after a drop before its ack: stored once
        welcome(ws)
        ws.send(result(job_id).replace("<QBXML/>", "<QBXML><changed/></QBXML>"))
        assert receive(ws) == wire.ResultAck(job_id=job_id)
    job = relay.store.job(A, job_id)
    assert job is not None and job.state == "done" and job.response == "<QBXML/>"


def test_a_job_the_agent_stored_but_lost_is_queued_again(relay: AgentRelay) -> None:
    """Acknowledged, then the agent comes back without it (its disk was restored): offered again."""
    token = paired(relay.store, A)
    job_id = relay.store.enqueue(A, QBXML, purpose="sync")
    with agent(relay, token) as ws:
        welcome(ws)
        offered(ws, job_id, ack=True)
        assert offers_until_no_work(ws) == []
    with agent(relay, token, resume=()) as ws:
        welcome(ws)
        offered(ws, job_id)


def test_malformed_messages_are_answered_with_a_reason_and_the_link_stays(relay: AgentRelay) -> None:
    with agent(relay, paired(relay.store, A)) as ws:
        welcome(ws)
        ws.send('{"type": "job.result", "job_id": 7}')
        message = receive(ws)
        assert isinstance(message, wire.ErrorMessage) and message.code == "bad_message" and message.message
        ws.send(wire.encode(wire.Heartbeat(sent_at=datetime.now(UTC))))
        assert isinstance(receive(ws), wire.Heartbeat)


def test_a_job_shows_when_quickbooks_got_it_and_how_often_it_was_offered(relay: AgentRelay) -> None:
    token = paired(relay.store, A)
    job_id = relay.store.enqueue(A, QBXML, purpose="sync")
    with agent(relay, token) as ws:
        welcome(ws)
        receive(ws)  # offered, then the line drops
    with agent(relay, token) as ws:
        welcome(ws)
        receive(ws)
        ws.send(wire.encode(wire.JobAck(job_id=job_id)))
        ws.send(wire.encode(wire.JobSent(job_id=job_id, session_id="s", sent_at=datetime.now(UTC))))
        ws.send(wire.encode(wire.JobAck(job_id=job_id)))  # a late duplicate ack does not undo "sent"
        assert offers_until_no_work(ws) == []
    job = relay.store.job(A, job_id)
    assert job is not None and job.state == "sent" and job.sent_at and job.attempts == 2


def test_a_job_past_its_deadline_fails_unsent_and_is_never_offered(relay: AgentRelay) -> None:
    token = paired(relay.store, A)
    late = relay.store.enqueue(A, QBXML, purpose="click", deadline=datetime(2020, 1, 1, tzinfo=UTC))
    fresh = relay.store.enqueue(A, QBXML, purpose="sync", deadline=datetime(2999, 1, 1, tzinfo=UTC))
    with agent(relay, token) as ws:
        welcome(ws)
        offered(ws, fresh, ack=True)
        assert offers_until_no_work(ws) == []
    job = relay.store.job(A, late)
    assert job is not None and job.state == "failed" and "deadline passed" in (job.message or "")
    assert job.attempts == 0


def test_no_work_is_not_said_while_an_offer_is_unacknowledged(relay: AgentRelay) -> None:
    token = paired(relay.store, A)
    job_id = relay.store.enqueue(A, QBXML, purpose="sync")
    with agent(relay, token) as ws:
        welcome(ws)
        assert isinstance(receive(ws), wire.JobOffer)
        ws.send(wire.encode(wire.WantWork(session_id="s", max_jobs=10)))
        with pytest.raises(TimeoutError):
            receive(ws, timeout=0.5)
        ws.send(wire.encode(wire.JobAck(job_id=job_id)))
        assert offers_until_no_work(ws) == []


def test_a_failing_result_handler_costs_neither_the_result_nor_the_link(relay: AgentRelay) -> None:
    def broken(portal: str, job: object) -> None:
        raise RuntimeError("a bug in what the app does with results")

    relay.on_result = broken
    token = paired(relay.store, A)
    job_id = relay.store.enqueue(A, QBXML, purpose="sync")
    with agent(relay, token) as ws:
        welcome(ws)
        offered(ws, job_id, ack=True)
        ws.send(result(job_id))
        assert receive(ws) == wire.ResultAck(job_id=job_id)
        ws.send(wire.encode(wire.Heartbeat(sent_at=datetime.now(UTC))))
        assert isinstance(receive(ws), wire.Heartbeat)  # still connected
    stored = relay.store.job(A, job_id)
    assert stored is not None and stored.state == "done"


def test_a_slow_result_handler_does_not_stop_the_pongs_that_keep_the_agent_connected(
    relay: AgentRelay,
) -> None:
    """A handler waiting on Bitrix24's rate limit while the agent sends more than the websocket's
    queue holds: pings are still answered (the agent drops a link whose pongs stop)."""
    import threading

    release = threading.Event()

    def slow(portal: str, job: JobRow) -> None:
        release.wait(20)

    relay.on_result = slow
    token = paired(relay.store, A)
    jobs = [relay.store.enqueue(A, QBXML, purpose="sync") for _ in range(3)]
    try:
        with agent(relay, token) as ws:
            welcome(ws)
            for job_id in jobs:
                offered(ws, job_id, ack=True)
            ws.send(result(jobs[0]))  # its handler now blocks
            for _ in range(40):  # more than the 16 messages the websocket queues before pausing reads
                ws.send(wire.encode(wire.Heartbeat(sent_at=datetime.now(UTC))))
            assert ws.ping().wait(3)  # answered while the handler still waits
            release.set()
            ws.send(result(jobs[1]))
            seen = [receive(ws, timeout=10) for _ in range(42)]
            assert wire.ResultAck(job_id=jobs[1]) in seen  # and everything is handled, in order
    finally:
        release.set()


# -- evolution: tomorrow's agent, today's cloud ----------------------------------------------------------


def tomorrows_hello(ws: Connection, **fields: object) -> None:
    body = {"v": 1, "type": "hello", "protocol": 2, "min_protocol": 1, "agent_version": "9.0",
            "agent_id": "x", "resume": [], "features": ["stream", "kick"], "os": "Windows 11"}  # fmt: skip
    ws.send(json.dumps({**body, **fields}))


def test_tomorrows_agent_is_answered_in_the_newest_version_both_speak_and_its_results_are_kept(
    relay: AgentRelay,
) -> None:
    token = paired(relay.store, A)
    job_id = relay.store.enqueue(A, QBXML, purpose="sync")
    with connect(relay.url, additional_headers={"Authorization": f"Bearer {token}"}, open_timeout=5) as ws:
        tomorrows_hello(ws)
        hello_back = welcome(ws)
        assert hello_back.protocol == wire.PROTOCOL_VERSION and hello_back.features == ()
        offered(ws, job_id)
        now = datetime.now(UTC).isoformat()
        ws.send(json.dumps({"v": 1, "type": "job.ack", "job_id": job_id, "stored_in": "queue.db"}))
        ws.send(json.dumps({"v": 1, "type": "job.result", "job_id": job_id, "response": "<QBXML/>",
                            "hresult": None, "message": None, "received_at": now, "processed_at": now,
                            "bytes": 8, "chunks": 1}))  # fmt: skip
        assert isinstance(receive(ws), wire.ResultAck)
    job = relay.store.job(A, job_id)
    assert job is not None and job.state == "done" and job.response == "<QBXML/>"


def test_an_agent_that_no_longer_speaks_this_clouds_versions_is_told_to_update(relay: AgentRelay) -> None:
    token = paired(relay.store, A)
    with connect(relay.url, additional_headers={"Authorization": f"Bearer {token}"}, open_timeout=5) as ws:
        tomorrows_hello(ws, protocol=4, min_protocol=3)
        message = receive(ws)
        assert isinstance(message, wire.ErrorMessage) and message.code == "unsupported_protocol"
        assert "newer than the cloud app" in message.message
    assert not relay.online(A)


# -- answers in pieces (issue 23) --------------------------------------------------------------------------

ANSWER = '<?xml version="1.0" ?><QBXML><QBXMLMsgsRs><CustomerQueryRs requestID="1" statusCode="0">' + "".join(
    f"<CustomerRet><Name>Кузнецов &amp; Sons {i}</Name></CustomerRet>" for i in range(300)
) + "</CustomerQueryRs></QBXMLMsgsRs></QBXML>"  # fmt: skip


@pytest.fixture
def acting(tmp_path: Path) -> Iterator[tuple[AgentRelay, list[str]]]:
    """A relay whose result hook records the answers it acted on."""
    store = AgentStore(str(tmp_path / "cloud.db"))
    acted: list[str] = []
    relay = AgentRelay(store, on_result=lambda portal, job: acted.append(job.response or job.hresult or ""),
                       max_result_bytes=len(ANSWER.encode()) + 10).start()  # fmt: skip
    try:
        yield relay, acted
    finally:
        relay.stop()
        store.close()


def streaming_agent(relay: AgentRelay, token: str) -> ClientConnection:
    """An agent that can stream, welcomed by a cloud that can take it."""
    ws = streaming_agent_to_old(relay, token)
    assert welcome(ws).features == (wire.CHUNKED_RESULTS,)
    return ws


def pieces(job_id: str, answer: str = ANSWER) -> list[wire.ResultChunk | wire.ResultEnd]:
    now = datetime.now(UTC)
    data = answer.encode()
    return list(wire.chunked(job_id, [data], received_at=now, processed_at=now, chunk_bytes=1024))


def send(ws: Connection, messages: list[wire.ResultChunk | wire.ResultEnd]) -> None:
    for m in messages:
        ws.send(wire.encode(m))


def said(ws: Connection) -> wire.Message:
    """The relay's next word about results (the offers of the job it makes on each connection aside)."""
    while isinstance(message := receive(ws), wire.JobOffer):
        pass
    return message


def next_after_heartbeat(ws: Connection) -> wire.Message:
    """What the relay says after the messages sent so far (it handles one connection's in order)."""
    ws.send(wire.encode(wire.Heartbeat(sent_at=datetime.now(UTC))))
    return said(ws)


def with_job(relay: AgentRelay) -> tuple[str, str]:
    token = paired(relay.store, A)
    return token, relay.store.enqueue(A, QBXML, purpose="sync")


def test_an_answer_in_pieces_is_acknowledged_only_when_whole_and_acted_on_once(
    acting: tuple[AgentRelay, list[str]],
) -> None:
    relay, acted = acting
    token, job_id = with_job(relay)
    *chunks, end = pieces(job_id)
    assert len(chunks) > 10
    with streaming_agent(relay, token) as ws:
        offered(ws, job_id, ack=True)
        send(ws, chunks)
        assert isinstance(next_after_heartbeat(ws), wire.Heartbeat)  # all pieces in: not acknowledged yet
        assert relay.store.job(A, job_id).state == "acked"  # type: ignore[union-attr]
        send(ws, [end])
        ack = said(ws)
        assert isinstance(ack, wire.ResultAck) and ack.job_id == job_id
        send(ws, pieces(job_id))  # sent again (the acknowledgement was lost): acknowledged, not acted on
        assert isinstance(said(ws), wire.ResultAck)
    job = relay.store.job(A, job_id)
    assert job is not None and job.state == "done" and job.response == ANSWER
    assert wait(lambda: acted == [ANSWER])  # acted on after the acknowledgement, once


def test_an_answer_started_again_from_its_first_piece_is_put_together_from_the_new_start(
    acting: tuple[AgentRelay, list[str]],
) -> None:
    relay, acted = acting
    token, job_id = with_job(relay)
    with streaming_agent(relay, token) as ws:
        send(ws, pieces(job_id)[:5])  # then the agent restarted and sends it all again
        send(ws, pieces(job_id))
        assert isinstance(said(ws), wire.ResultAck)
    assert wait(lambda: acted == [ANSWER])  # acted on after the acknowledgement, once


@pytest.mark.parametrize(
    "broken",
    [
        pytest.param(lambda p: [p[1], p[0], *p[2:]], id="out of order"),
        pytest.param(lambda p: p[:3] + p[4:], id="a piece missing"),
        pytest.param(lambda p: p[3:], id="no start"),
        pytest.param(lambda p: [*p[:-1], wire.ResultEnd(
            job_id=p[-1].job_id, chunks=p[-1].chunks, size=p[-1].size, sha256="0" * 64,
            received_at=p[-1].received_at, processed_at=p[-1].processed_at)], id="not what was sent"),
    ],
)  # fmt: skip
def test_pieces_out_of_step_are_refused_the_link_closes_and_the_answer_sent_again_is_kept_once(
    acting: tuple[AgentRelay, list[str]], broken: Any
) -> None:
    relay, acted = acting
    token, job_id = with_job(relay)
    ws: Connection = streaming_agent(relay, token)
    try:
        send(ws, broken(pieces(job_id)))
    except ConnectionClosed:
        pass  # the relay hung up while the rest was still being sent
    refused = said(ws)
    assert isinstance(refused, wire.ErrorMessage) and refused.code == "result_out_of_step"
    assert refused.ref == job_id
    with pytest.raises(ConnectionClosed):
        while True:  # whatever it still had in flight, then the close
            said(ws)
    assert relay.store.job(A, job_id).state != "done" and acted == []  # type: ignore[union-attr]
    assert wait(lambda: not relay.online(A))
    with streaming_agent(relay, token) as ws:  # the agent reconnects and sends it from the start
        send(ws, pieces(job_id))
        assert isinstance(said(ws), wire.ResultAck)
    assert wait(lambda: acted == [ANSWER])  # acted on after the acknowledgement, once


def test_an_answer_over_the_limit_fails_its_job_once_with_words_that_say_so(
    acting: tuple[AgentRelay, list[str]],
) -> None:
    relay, acted = acting
    token, job_id = with_job(relay)
    too_big = ANSWER.replace("</QBXML>", "<!--" + "x" * 100 + "--></QBXML>")
    with streaming_agent(relay, token) as ws:
        send(ws, pieces(job_id, too_big))
        assert isinstance(said(ws), wire.ResultAck)  # the agent may forget it: resending cannot help
        send(ws, pieces(job_id, too_big))
        assert isinstance(said(ws), wire.ResultAck)
    job = relay.store.job(A, job_id)
    assert job is not None and job.state == "failed" and job.response is None
    assert job.hresult == "cloud:answer-too-large"
    assert job.message is not None and "larger than" in job.message and "ask for less" in job.message
    assert wait(lambda: acted == ["cloud:answer-too-large"])  # acted on once


def test_a_partly_sent_answer_is_dropped_with_its_connection_and_nothing_is_kept(
    acting: tuple[AgentRelay, list[str]],
) -> None:
    relay, acted = acting
    token, job_id = with_job(relay)
    ws = streaming_agent(relay, token)
    send(ws, pieces(job_id)[:-1])  # everything but the end
    assert isinstance(next_after_heartbeat(ws), wire.Heartbeat)  # all of it read by the relay
    ws.close_socket()  # then the link drops
    assert wait(lambda: not relay.online(A))  # the agent dials again after its back-off
    ws = streaming_agent(relay, token)
    assert isinstance(next_after_heartbeat(ws), wire.Heartbeat)
    send(ws, [pieces(job_id)[-1]])  # an end without its pieces on this connection
    refused = said(ws)
    assert isinstance(refused, wire.ErrorMessage) and refused.code == "result_out_of_step"
    ws.close_socket()
    assert relay.store.job(A, job_id).state != "done" and acted == []  # type: ignore[union-attr]


def test_an_agent_without_the_feature_sends_whole_answers_and_pieces_are_not_taken_from_it(
    acting: tuple[AgentRelay, list[str]],
) -> None:
    relay, acted = acting
    token, job_id = with_job(relay)
    with agent(relay, token) as ws:  # today's agent before pieces: no features in its hello
        assert welcome(ws).features == ()
        send(ws, pieces(job_id)[:1])
        refused = said(ws)
        assert isinstance(refused, wire.ErrorMessage) and refused.code == "unexpected"
        ws.send(result(job_id))
        assert isinstance(said(ws), wire.ResultAck)
    assert wait(lambda: acted == ["<QBXML/>"])


def test_a_cloud_without_the_feature_does_not_offer_it(tmp_path: Path) -> None:
    store = AgentStore(str(tmp_path / "cloud.db"))
    relay = AgentRelay(store, features=()).start()  # an older cloud, as far as the agent can tell
    try:
        with streaming_agent_to_old(relay, paired(store, A)) as ws:
            assert welcome(ws).features == ()
    finally:
        relay.stop()
        store.close()


def streaming_agent_to_old(relay: AgentRelay, token: str) -> ClientConnection:
    """An agent that can stream, its hello sent; the caller reads the welcome."""
    ws = connect(relay.url, additional_headers={"Authorization": f"Bearer {token}"}, open_timeout=5)
    ws.send(wire.encode(wire.Hello(protocol=1, agent_version="2.0", agent_id="x",
                                   features=(wire.CHUNKED_RESULTS,))))  # fmt: skip
    return ws
