"""The agent⇄cloud messages: every type round-trips, every malformed message is refused with a reason."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared import wire

T = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)
PST = timezone(timedelta(hours=-8))

EXAMPLES: list[wire.Message] = [
    wire.Hello(protocol=1, agent_version="1.2.0", agent_id="ag_1", resume=("job_1", "job_2")),
    wire.Welcome(protocol=1, portal="acme.bitrix24.com", server_time=T),
    wire.SessionStarted(
        session_id="s1",
        company_file="C:\\Rock Castle.qbw",
        product="QuickBooks Enterprise 24",
        qb_version="34.0",
        country="US",
        supported_versions=("13.0", "16.0"),
        started_at=T,
        local_time=T.astimezone(PST),
    ),
    wire.SessionEnded(session_id="s1", ended_at=T, requests=12, errors=0, summary="12 requests, 0 errors"),
    wire.QuickBooksUnreachable(
        session_id="s1", hresult="0x80040408", message="Could not start QuickBooks", at=T
    ),
    wire.JobOffer(
        job_id="job_1",
        portal="acme",
        qbxml="<QBXML/>",
        priority=5,
        deadline=T.astimezone(PST),
        purpose="deal 42 → invoice",
    ),
    wire.JobOffer(job_id="job_2", portal="acme", qbxml="<QBXML/>", priority=1, deadline=None, purpose="read"),
    wire.JobAck(job_id="job_1"),
    wire.JobSent(job_id="job_1", session_id="s1", sent_at=T),
    wire.JobResult(
        job_id="job_1", response="<QBXML>é</QBXML>", hresult=None, message=None, received_at=T, processed_at=T
    ),
    wire.JobResult(
        job_id="job_1",
        response=None,
        hresult="0x80040400",
        message="parse error",
        received_at=T,
        processed_at=T,
    ),
    wire.ResultAck(job_id="job_1"),
    wire.WantWork(session_id="s1", max_jobs=10),
    wire.NoWork(session_id="s1"),
    wire.Heartbeat(sent_at=T),
    wire.ErrorMessage(code="bad_message", message="unknown message type", ref=None),
    wire.ResultChunk(job_id="job_1", index=0, text="<QBXML>é\n"),
    wire.ResultEnd(job_id="job_1", chunks=3, size=1200, sha256="ab" * 32, received_at=T, processed_at=T),
]


@pytest.mark.parametrize("message", EXAMPLES, ids=lambda m: type(m).__name__)
def test_every_message_round_trips(message: wire.Message) -> None:
    text = wire.encode(message)
    assert json.loads(text)["v"] == wire.PROTOCOL_VERSION
    assert wire.decode(text) == message
    assert wire.decode(text.encode("utf-8")) == message


@given(qbxml=st.text(), priority=st.integers(-(2**31), 2**31), purpose=st.text(max_size=200))
def test_job_offers_carry_any_text(qbxml: str, priority: int, purpose: str) -> None:
    offer = wire.JobOffer(
        job_id="j", portal="p", qbxml=qbxml, priority=priority, deadline=None, purpose=purpose
    )
    assert wire.decode(wire.encode(offer)) == offer


def _body(**changes: object) -> str:
    body = json.loads(wire.encode(wire.JobAck(job_id="job_1")))
    body.update(changes)
    return json.dumps({k: v for k, v in body.items() if v is not ...})


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("{not json", "not JSON"),
        (b"\xff\xfe", "not JSON"),
        ("[1, 2]", "must be a JSON object"),
        (_body(v=2), "protocol version 2"),
        (_body(v=...), "protocol version None"),
        (_body(type=...), "no type"),
        (_body(type="job.steal"), "unknown message type 'job.steal'"),
        (_body(job_id=...), "missing field job_id"),
        (_body(v=True), "protocol version True"),
        (_body(v=0), "protocol version 0"),
        (_body(job_id=7), "job_id must be a string, got a number"),
        (_body(job_id=""), "job_id must not be empty"),
        (_body(job_id="x" * 65), "longer than 64"),
        (
            '{"v":1,"type":"work.want","session_id":"s","max_jobs":true}',
            "max_jobs must be an integer, got a boolean",
        ),
        ('{"v":1,"type":"heartbeat","sent_at":"2026-11-25T09:30:00"}', "has no UTC offset"),
        ('{"v":1,"type":"heartbeat","sent_at":"yesterday"}', "not an ISO 8601 datetime"),
        (
            '{"v":1,"type":"hello","protocol":1,"agent_version":"1","agent_id":"a","resume":"j1"}',
            "must be a list",
        ),
        (
            '{"v":1,"type":"job.result","job_id":"j","response":null,"hresult":null,"message":null,'
            '"received_at":"2026-11-25T09:30:00Z","processed_at":"2026-11-25T09:30:00Z"}',
            "exactly one of",
        ),
    ],
)
def test_malformed_messages_are_refused_with_a_reason(text: str | bytes, reason: str) -> None:
    with pytest.raises(wire.WireError) as info:
        wire.decode(text)
    assert reason in info.value.reason


def test_oversized_messages_are_refused_before_parsing() -> None:
    with pytest.raises(wire.WireError, match="over the"):
        wire.decode(" " * (wire.MAX_MESSAGE_BYTES + 1))


def test_naive_datetimes_cannot_be_sent() -> None:
    with pytest.raises(wire.WireError, match="timezone-aware"):
        wire.encode(wire.Heartbeat(sent_at=datetime(2026, 11, 25, 9, 30)))


def test_a_result_needs_exactly_one_outcome() -> None:
    with pytest.raises(wire.WireError):
        wire.JobResult(
            job_id="j", response="<x/>", hresult="0x1", message=None, received_at=T, processed_at=T
        )


def test_a_session_start_from_an_agent_that_does_not_report_its_clock_still_decodes() -> None:
    """Older agents send no ``local_time``: the message is read, the clock is simply unknown."""
    body = json.loads(wire.encode(EXAMPLES[2]))
    del body["local_time"]
    decoded = wire.decode(json.dumps(body))
    assert isinstance(decoded, wire.SessionStarted) and decoded.local_time is None


def test_the_pcs_clock_keeps_its_utc_offset_on_the_wire() -> None:
    decoded = wire.decode(wire.encode(EXAMPLES[2]))
    assert isinstance(decoded, wire.SessionStarted) and decoded.local_time is not None
    assert decoded.local_time.utcoffset() == timedelta(hours=-8) and decoded.local_time == T


# -- evolution: what tomorrow's peer sends, today's reads -----------------------------------------------


def test_a_field_added_by_a_newer_peer_is_ignored_and_named() -> None:
    text = _body(job_id="job_1", priority_hint="high", chunks={"size": 1})
    decoded = wire.decode_full(text)
    assert decoded.message == wire.JobAck(job_id="job_1")
    assert decoded.ignored == ("chunks", "priority_hint") and decoded.version == wire.PROTOCOL_VERSION


def test_the_fields_this_side_knows_are_still_checked_beside_added_ones() -> None:
    with pytest.raises(wire.WireError, match="job_id must be a string"):
        wire.decode(_body(job_id=7, added="x"))


def test_hello_is_sent_at_the_oldest_version_so_any_cloud_that_speaks_it_reads_it() -> None:
    hello = wire.Hello(protocol=wire.PROTOCOL_VERSION, min_protocol=wire.MIN_PROTOCOL_VERSION,
                       agent_version="2.0", agent_id="a")  # fmt: skip
    assert json.loads(wire.encode(hello))["v"] == wire.MIN_PROTOCOL_VERSION


@pytest.mark.parametrize(
    ("theirs", "ours", "chosen"),
    [
        ((1, 1), (1, 1), 1),  # today's agent, today's cloud
        ((1, 3), (1, 2), 2),  # a newer agent: the cloud's newest
        ((1, 2), (1, 3), 2),  # an older agent: the agent's newest
        ((None, 2), (1, 3), 2),  # an agent that does not say its oldest speaks only its newest
        ((3, 4), (1, 2), None),  # an agent that dropped what this cloud speaks
        ((None, 1), (2, 3), None),  # an agent older than the cloud still serves
    ],
)
def test_the_version_is_the_newest_both_speak(
    theirs: tuple[int | None, int], ours: tuple[int, int], chosen: int | None
) -> None:
    hello = wire.Hello(protocol=theirs[1], min_protocol=theirs[0], agent_version="x", agent_id="a")
    assert wire.negotiate(hello, lowest=ours[0], highest=ours[1]) == chosen


def test_features_are_used_only_when_both_sides_have_them() -> None:
    assert wire.common_features(("stream", "kick"), ours=("kick", "zip")) == ("kick",)
    assert wire.common_features((), ours=("kick",)) == ()


def test_an_older_hello_without_the_new_fields_still_reads() -> None:
    old = '{"v":1,"type":"hello","protocol":1,"agent_version":"1.0","agent_id":"a","resume":[]}'
    hello = wire.decode(old)
    assert isinstance(hello, wire.Hello) and hello.min_protocol is None and hello.features == ()


# -- chunked results (issue 23) ---------------------------------------------------------------------------


def pieces_of(answer: str, *, block: int, chunk: int) -> list[wire.ResultChunk | wire.ResultEnd]:
    data = answer.encode()
    blocks = [data[i : i + block] for i in range(0, len(data), block)]
    return list(wire.chunked("job_1", blocks, received_at=T, processed_at=T, chunk_bytes=chunk))


def reassembled(messages: list[wire.ResultChunk | wire.ResultEnd], max_bytes: int = 10**9) -> str:
    into = wire.Reassembly("job_1", max_bytes=max_bytes)
    out = bytearray()
    for m in messages:
        if isinstance(m, wire.ResultChunk):
            out += into.add(wire.decode(wire.encode(m)))  # type: ignore[arg-type]
        else:
            into.finish(m)
    return out.decode()


@given(
    answer=st.text(alphabet=st.sampled_from("<>&\"\\\né€𝄞QBXML "), max_size=400),
    block=st.integers(1, 50),
    chunk=st.integers(4, 60),
)
def test_an_answer_cut_into_pieces_anywhere_comes_back_exactly(answer: str, block: int, chunk: int) -> None:
    messages = pieces_of(answer, block=block, chunk=chunk)
    *chunks, end = messages
    assert isinstance(end, wire.ResultEnd) and end.chunks == len(chunks) >= 1
    assert end.size == len(answer.encode())
    assert [c.index for c in chunks if isinstance(c, wire.ResultChunk)] == list(range(len(chunks)))
    assert all(isinstance(c, wire.ResultChunk) and len(c.text.encode()) <= chunk for c in chunks)
    assert reassembled(messages) == answer


def test_an_empty_answer_is_one_empty_piece() -> None:
    messages = pieces_of("", block=10, chunk=10)
    assert [type(m) for m in messages] == [wire.ResultChunk, wire.ResultEnd]
    assert reassembled(messages) == ""


def test_pieces_out_of_order_or_missing_are_refused() -> None:
    messages = pieces_of("<QBXML>" + "x" * 100 + "</QBXML>", block=7, chunk=10)
    swapped = [messages[1], messages[0], *messages[2:]]
    with pytest.raises(wire.ChunkError, match="piece 1 arrived where piece 0 was due"):
        reassembled(swapped)
    with pytest.raises(wire.ChunkError, match="piece 3 arrived where piece 2 was due"):
        reassembled(messages[:2] + messages[3:])
    n = len(messages) - 1  # the pieces, then the end
    assert n == 12  # 115 bytes in pieces of at most 10
    with pytest.raises(wire.ChunkError, match=f"has {n - 1} of its {n} pieces") as missing:
        reassembled(messages[:-2] + messages[-1:])
    assert not missing.value.too_large


def test_an_answer_that_is_not_what_its_end_says_is_refused() -> None:
    *chunks, end = pieces_of("<QBXML>" + "x" * 30 + "</QBXML>", block=7, chunk=10)
    assert isinstance(end, wire.ResultEnd)
    other = wire.ResultEnd(job_id="job_1", chunks=end.chunks, size=end.size, sha256="0" * 64,
                           received_at=T, processed_at=T)  # fmt: skip
    with pytest.raises(wire.ChunkError, match="not what was sent"):
        reassembled([*chunks, other])


def test_an_answer_over_the_limit_is_refused_as_too_large_while_it_arrives() -> None:
    messages = pieces_of("x" * 100, block=100, chunk=10)
    with pytest.raises(wire.ChunkError, match="larger than") as refused:
        reassembled(messages, max_bytes=55)
    assert refused.value.too_large


def test_bytes_that_are_not_utf8_cannot_be_sent_as_text() -> None:
    with pytest.raises(wire.WireError, match="not UTF-8"):
        list(wire.chunked("job_1", [b"<QBXML>\xff</QBXML>"], received_at=T, processed_at=T))
    with pytest.raises(wire.WireError, match="not UTF-8"):
        list(wire.chunked("job_1", ["<QBXML>é".encode()[:-1]], received_at=T, processed_at=T))


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"type": "result.chunk", "job_id": "j", "index": -1, "text": ""}, "index must not be negative"),
        ({"type": "result.chunk", "job_id": "j", "index": 0, "text": 5}, "text must be a string"),
        ({"type": "result.end", "job_id": "j", "chunks": 0, "size": 0, "sha256": "a" * 64,
          "received_at": T.isoformat(), "processed_at": T.isoformat()}, "one piece or more"),
        ({"type": "result.end", "job_id": "j", "chunks": 1, "size": 0, "sha256": "XYZ",
          "received_at": T.isoformat(), "processed_at": T.isoformat()}, "64 lowercase hex"),
    ],
)  # fmt: skip
def test_malformed_pieces_are_refused_with_a_reason(body: dict[str, object], reason: str) -> None:
    with pytest.raises(wire.WireError, match=reason):
        wire.decode(json.dumps({"v": 1, **body}))


def test_this_side_offers_chunked_results() -> None:
    assert wire.CHUNKED_RESULTS in wire.FEATURES
    assert wire.common_features((wire.CHUNKED_RESULTS,)) == (wire.CHUNKED_RESULTS,)
    assert wire.common_features(()) == ()  # an older peer: whole answers


@given(answer=st.text(max_size=300), block=st.integers(1, 40), chunk=st.integers(4, 50))
def test_a_whole_result_written_in_pieces_is_the_same_text_as_written_at_once(
    answer: str, block: int, chunk: int
) -> None:
    data = answer.encode()
    blocks = [data[i : i + block] for i in range(0, len(data), block)]
    pieces = list(
        wire.encode_result_in_pieces("job_1", blocks, received_at=T, processed_at=T, chunk_bytes=chunk)
    )
    whole = wire.JobResult(job_id="job_1", response=answer, hresult=None, message=None, received_at=T,
                           processed_at=T)  # fmt: skip
    assert "".join(pieces) == wire.encode(whole)
    assert wire.decode("".join(pieces)) == whole
