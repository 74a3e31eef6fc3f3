"""The agent⇄cloud protocol: typed, versioned messages and their JSON, with nothing dropped silently.

Both the local agent and the cloud import this one module. A message is a frozen dataclass; ``encode``
writes ``{"v": 1, "type": "job.offer", ...}``; ``decode`` returns the dataclass or raises
:class:`WireError` with a reason a person can read (not JSON, unknown type, wrong version, a missing,
mistyped field, a naive datetime, an empty id, too big). Datetimes travel as ISO 8601 with their offset
and must be timezone-aware.

**The protocol evolves without stranding installed agents** (which nobody updates quickly):

* *Added fields* are how a release grows a message. A field this side does not know is ignored (and named in
  :attr:`Decoded.ignored` for a debug log); every field it knows is still validated. A new field must
  therefore have a default here, and its absence must mean what the older peer meant.
* *Versions* change only for what an older peer cannot safely ignore (a field whose absence would mislead,
  a new message type it would refuse). ``hello`` carries the agent's range (``min_protocol`` ..
  ``protocol``) and is always sent at the lowest version the agent speaks; the cloud answers ``welcome`` at
  the highest version both speak (:func:`negotiate`) and both sides then speak it. A message at a version
  this side does not speak is refused.
* *Features* are named capabilities (``hello.features`` / ``welcome.features``): the cloud answers with the
  ones both sides have, and a feature is used only when both said so.

**Chunked results** (feature :data:`CHUNKED_RESULTS`, issue 23): a large answer goes as ``result.chunk``
messages — its text in order, piece ``index`` 0, 1, 2, … — and a ``result.end`` that says how many pieces,
how many UTF-8 bytes and their SHA-256; the cloud stores the answer (as it stores ``job.result``) and
acknowledges it with ``result.ack`` only then. A piece 0 starts the answer again (the agent resends from the
start after a reconnect). :func:`chunked` cuts an answer into those messages and :class:`Reassembly` checks
and puts them back together; both are pure. Without the feature, the whole answer goes in ``job.result``.
"""

from __future__ import annotations

import codecs
import hashlib
import json
import types
import typing
from collections.abc import Iterable, Iterator
from dataclasses import MISSING, dataclass, fields
from datetime import datetime
from typing import Any, ClassVar, Union

PROTOCOL_VERSION = 1  # the newest version this side speaks
MIN_PROTOCOL_VERSION = 1  # the oldest version this side still speaks
CHUNKED_RESULTS = "result.chunks"  # large answers go as result.chunk … result.end (see above)
FEATURES: tuple[str, ...] = (CHUNKED_RESULTS,)  # the optional capabilities this side has
MAX_MESSAGE_BYTES = 64 * 1024 * 1024  # a 20,000-invoice query answer is ~45 MB
CHUNK_BYTES = 256 * 1024  # the UTF-8 bytes of one result.chunk's text, at most
MAX_RESULT_BYTES = MAX_MESSAGE_BYTES  # a chunked answer's size the cloud accepts by default (as whole)
MAX_ID_LENGTH = 64

# A job.result ``hresult`` meaning: QuickBooks had the document but its answer never reached the agent
# (the Web Connector session ended, or the agent stopped). Whether it was applied is unknown.
ANSWER_LOST = "agent:answer-lost"
ANSWER_LOST_MESSAGE = (
    "The Web Connector session ended before QuickBooks' answer reached the agent; "
    "whether the change was applied is unknown."
)

# Fields that identify something: never empty, never longer than MAX_ID_LENGTH.
_ID_FIELDS = frozenset({"job_id", "session_id", "agent_id"})


class WireError(ValueError):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Hello:
    """Agent → cloud, first on every connection; ``resume``: job ids the agent holds (not yet finished).

    ``protocol`` is the newest version the agent speaks and ``min_protocol`` the oldest (an agent that
    does not send it speaks only ``protocol``); ``features``: the capabilities it offers."""

    type: ClassVar[str] = "hello"
    protocol: int
    agent_version: str
    agent_id: str
    resume: tuple[str, ...] = ()
    min_protocol: int | None = None
    features: tuple[str, ...] = ()


@dataclass(frozen=True)
class Welcome:
    """Cloud → agent: the version both sides speak from now on, and the features both have."""

    type: ClassVar[str] = "welcome"
    protocol: int
    portal: str
    server_time: datetime
    features: tuple[str, ...] = ()


@dataclass(frozen=True)
class SessionStarted:
    """A Web Connector session began: what QuickBooks said about itself and the open company file.

    ``local_time`` is the QuickBooks PC's clock as it reads, with that PC's UTC offset: QuickBooks Desktop
    dates documents by it, so it is the company's calendar. Older agents do not send it (None)."""

    type: ClassVar[str] = "session.started"
    session_id: str
    company_file: str
    product: str
    qb_version: str
    country: str
    supported_versions: tuple[str, ...]
    started_at: datetime
    local_time: datetime | None = None


@dataclass(frozen=True)
class SessionEnded:
    type: ClassVar[str] = "session.ended"
    session_id: str
    ended_at: datetime
    requests: int
    errors: int
    summary: str
    error: str | None = None


@dataclass(frozen=True)
class QuickBooksUnreachable:
    """The Web Connector could not reach QuickBooks (``connectionError``), or the wrong file is open."""

    type: ClassVar[str] = "session.connection_error"
    session_id: str
    hresult: str
    message: str
    at: datetime


@dataclass(frozen=True)
class JobOffer:
    type: ClassVar[str] = "job.offer"
    job_id: str
    portal: str
    qbxml: str
    priority: int
    deadline: datetime | None
    purpose: str
    company_file_id: str = ""


@dataclass(frozen=True)
class JobAck:
    """Agent → cloud: the job is stored durably (sent only after the agent's queue committed it)."""

    type: ClassVar[str] = "job.ack"
    job_id: str


@dataclass(frozen=True)
class JobSent:
    """Agent → cloud, best effort: the Web Connector has just taken the job to QuickBooks (for status)."""

    type: ClassVar[str] = "job.sent"
    job_id: str
    session_id: str
    sent_at: datetime


@dataclass(frozen=True)
class JobResult:
    """Exactly one of ``response`` (QuickBooks answered) or ``hresult`` (QuickBooks refused the document)."""

    type: ClassVar[str] = "job.result"
    job_id: str
    response: str | None
    hresult: str | None
    message: str | None
    received_at: datetime
    processed_at: datetime

    def __post_init__(self) -> None:
        if (self.response is None) == (self.hresult is None):
            raise WireError("job.result needs exactly one of response or hresult")


@dataclass(frozen=True)
class ResultAck:
    """Cloud → agent: the result is stored; the agent may forget it."""

    type: ClassVar[str] = "result.ack"
    job_id: str


@dataclass(frozen=True)
class ResultChunk:
    """Agent → cloud, with :data:`CHUNKED_RESULTS`: the ``index``-th piece (from 0) of a job's answer text.
    Piece 0 starts the answer (again, if pieces of it came before)."""

    type: ClassVar[str] = "result.chunk"
    job_id: str
    index: int
    text: str

    def __post_init__(self) -> None:
        if self.index < 0:
            raise WireError("result.chunk: index must not be negative")


@dataclass(frozen=True)
class ResultEnd:
    """Agent → cloud, after a chunked answer's pieces: how many there were, the answer's size in UTF-8
    bytes and its SHA-256 (hex). The cloud stores the answer only when all three match."""

    type: ClassVar[str] = "result.end"
    job_id: str
    chunks: int
    size: int
    sha256: str
    received_at: datetime
    processed_at: datetime

    def __post_init__(self) -> None:
        if self.chunks < 1 or self.size < 0:
            raise WireError("result.end: an answer has one piece or more and no negative size")
        if len(self.sha256) != 64 or any(c not in "0123456789abcdef" for c in self.sha256):
            raise WireError("result.end: sha256 must be 64 lowercase hex digits")


@dataclass(frozen=True)
class WantWork:
    """Agent → cloud during a Web Connector session: anything more? (cloud → agent: please run a session)."""

    type: ClassVar[str] = "work.want"
    session_id: str
    max_jobs: int


@dataclass(frozen=True)
class NoWork:
    type: ClassVar[str] = "work.none"
    session_id: str


@dataclass(frozen=True)
class Heartbeat:
    type: ClassVar[str] = "heartbeat"
    sent_at: datetime


@dataclass(frozen=True)
class ErrorMessage:
    type: ClassVar[str] = "error"
    code: str
    message: str
    ref: str | None = None


Message = Union[  # noqa: UP007 - a runtime value: the decoder walks it
    Hello, Welcome, SessionStarted, SessionEnded, QuickBooksUnreachable, JobOffer, JobAck, JobSent, JobResult,
    ResultAck, WantWork, NoWork, Heartbeat, ErrorMessage, ResultChunk, ResultEnd,
]  # fmt: skip

TYPES: dict[str, type[Any]] = {cls.type: cls for cls in typing.get_args(Message)}


# -- encode -------------------------------------------------------------------------------------------


def _out(value: object) -> object:
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise WireError("datetimes on the wire must be timezone-aware")
        return value.isoformat()
    if isinstance(value, tuple):
        return [_out(v) for v in value]
    return value


def negotiate(
    hello: Hello, *, lowest: int = MIN_PROTOCOL_VERSION, highest: int = PROTOCOL_VERSION
) -> int | None:
    """The newest version both this side (``lowest``..``highest``) and the agent's hello speak, or None."""
    theirs_low = hello.min_protocol if hello.min_protocol is not None else hello.protocol
    chosen = min(highest, hello.protocol)
    return chosen if chosen >= max(lowest, theirs_low) else None


def common_features(theirs: tuple[str, ...], ours: tuple[str, ...] = FEATURES) -> tuple[str, ...]:
    """The features both sides have, in our order."""
    return tuple(f for f in ours if f in theirs)


def encode(message: Message, *, version: int | None = None) -> str:
    """``version``: the negotiated one; by default the oldest this side speaks for ``hello`` (so any cloud
    that speaks it can read it) and the newest otherwise."""
    if version is None:
        version = MIN_PROTOCOL_VERSION if isinstance(message, Hello) else PROTOCOL_VERSION
    body: dict[str, object] = {"v": version, "type": message.type}
    for f in fields(message):
        body[f.name] = _out(getattr(message, f.name))
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


# -- decode -------------------------------------------------------------------------------------------


def _hints(cls: type[Any]) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _value(kind: str, name: str, hint: Any, raw: object) -> object:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (Union, types.UnionType):
        if raw is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _value(kind, name, inner[0], raw)
    if hint is str:
        if not isinstance(raw, str):
            raise WireError(f"{kind}: {name} must be a string, got {_kind(raw)}")
        if name in _ID_FIELDS and not raw:
            raise WireError(f"{kind}: {name} must not be empty")
        if name in _ID_FIELDS and len(raw) > MAX_ID_LENGTH:
            raise WireError(f"{kind}: {name} is longer than {MAX_ID_LENGTH} characters")
        return raw
    if hint is int:
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise WireError(f"{kind}: {name} must be an integer, got {_kind(raw)}")
        return raw
    if hint is datetime:
        if not isinstance(raw, str):
            raise WireError(f"{kind}: {name} must be an ISO 8601 datetime string, got {_kind(raw)}")
        try:
            value = datetime.fromisoformat(raw)
        except ValueError:
            raise WireError(f"{kind}: {name} is not an ISO 8601 datetime: {raw[:40]!r}") from None
        if value.tzinfo is None:
            raise WireError(f"{kind}: {name} has no UTC offset: {raw[:40]!r}")
        return value
    if origin is tuple:
        if not isinstance(raw, list):
            raise WireError(f"{kind}: {name} must be a list, got {_kind(raw)}")
        return tuple(_value(kind, f"{name}[{i}]", args[0], item) for i, item in enumerate(raw))
    raise WireError(f"{kind}: cannot read field {name}")  # pragma: no cover - a new field type


def _kind(raw: object) -> str:
    return {bool: "a boolean", int: "a number", float: "a number", str: "a string", list: "a list",
            dict: "an object", type(None): "null"}.get(type(raw), type(raw).__name__)  # fmt: skip


@dataclass(frozen=True)
class Decoded:
    """A message with the version it came in and the names of fields this side does not know."""

    message: Message
    version: int
    ignored: tuple[str, ...]


def decode(text: str | bytes) -> Message:
    """The message in ``text`` (see :func:`decode_full` for its version and ignored fields)."""
    return decode_full(text).message


def decode_full(text: str | bytes) -> Decoded:
    if len(text) > MAX_MESSAGE_BYTES:
        raise WireError(f"message of {len(text)} bytes is over the {MAX_MESSAGE_BYTES}-byte limit")
    try:
        body = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise WireError(f"not JSON: {exc}") from None
    except RecursionError:  # json's C scanner recurses per level; Python's recursion limit is the cap
        raise WireError("a message nested too deeply") from None
    if not isinstance(body, dict):
        raise WireError(f"a message must be a JSON object, got {_kind(body)}")
    version = body.get("v")
    if isinstance(version, bool) or not isinstance(version, int) or not (
        MIN_PROTOCOL_VERSION <= version <= PROTOCOL_VERSION
    ):
        speaks = (f"{PROTOCOL_VERSION}" if MIN_PROTOCOL_VERSION == PROTOCOL_VERSION
                  else f"{MIN_PROTOCOL_VERSION}–{PROTOCOL_VERSION}")  # fmt: skip
        raise WireError(f"protocol version {version!r} unsupported (this side speaks {speaks})")
    kind = body.get("type")
    if not isinstance(kind, str) or not kind:
        raise WireError("message has no type")
    cls = TYPES.get(kind)
    if cls is None:
        raise WireError(f"unknown message type {kind!r}")
    hints = _hints(cls)
    names = [f.name for f in fields(cls)]
    ignored = tuple(sorted(set(body) - set(names) - {"v", "type"}))  # a newer peer's additions
    values: dict[str, object] = {}
    for f in fields(cls):
        if f.name not in body:
            if f.default is MISSING:
                raise WireError(f"{kind}: missing field {f.name}")
            continue
        values[f.name] = _value(kind, f.name, hints[f.name], body[f.name])
    message: Message = cls(**values)
    return Decoded(message, version, ignored)


# -- chunked results ----------------------------------------------------------------------------------


def chunked(
    job_id: str,
    blocks: Iterable[bytes],
    *,
    received_at: datetime,
    processed_at: datetime,
    chunk_bytes: int = CHUNK_BYTES,
) -> Iterator[ResultChunk | ResultEnd]:
    """An answer's UTF-8 ``blocks`` (any sizes, cut anywhere) as ``result.chunk`` pieces of at most
    ``chunk_bytes`` bytes each — never a character cut in two — and the ``result.end`` that closes them.
    Lazy: one piece in memory at a time. Bytes that are not UTF-8 raise :class:`WireError`."""
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    digest, size, index = hashlib.sha256(), 0, 0
    pending = bytearray()

    def text(data: bytes, final: bool) -> str:
        try:
            return str(decoder.decode(data, final))
        except UnicodeDecodeError as exc:
            raise WireError(f"the answer of {job_id} is not UTF-8 at byte {size + exc.start}") from None

    for block in blocks:
        digest.update(block)
        pending.extend(block)
        while len(pending) > chunk_bytes:  # a byte past the cut tells whether it splits a character
            cut = _boundary(pending, chunk_bytes)
            yield ResultChunk(job_id=job_id, index=index, text=text(bytes(pending[:cut]), False))
            index, size = index + 1, size + cut
            del pending[:cut]
    if pending or index == 0:  # the rest; an empty answer is one empty piece
        yield ResultChunk(job_id=job_id, index=index, text=text(bytes(pending), True))
        index, size = index + 1, size + len(pending)
    else:
        text(b"", True)  # the answer must not end inside a character
    yield ResultEnd(job_id=job_id, chunks=index, size=size, sha256=digest.hexdigest(),
                    received_at=received_at, processed_at=processed_at)  # fmt: skip


def _boundary(data: bytearray, limit: int) -> int:
    """The largest cut at or below ``limit`` that does not split a UTF-8 character (continuation bytes
    are 0b10xxxxxx); ``limit`` itself when the bytes there are not UTF-8 (the decoder then says so)."""
    cut = limit
    while cut > limit - 4 and cut > 0 and (data[cut] & 0xC0) == 0x80:
        cut -= 1
    return cut if cut > 0 else limit


class ChunkError(WireError):
    """A chunked answer that cannot be put together: out of order, a piece missing, or not what its
    ``result.end`` says. ``too_large``: it is over the receiver's size limit (no resending helps)."""

    def __init__(self, reason: str, *, too_large: bool = False) -> None:
        super().__init__(reason)
        self.too_large = too_large


class Reassembly:
    """One chunked answer arriving (pure: the receiver writes what :meth:`add` returns where it keeps it).

    Pieces must come in order from 0; the size is checked against ``max_bytes`` as they come, and
    :meth:`finish` checks the count, size and SHA-256 the ``result.end`` declares."""

    def __init__(self, job_id: str, *, max_bytes: int = MAX_RESULT_BYTES) -> None:
        self.job_id = job_id
        self.max_bytes = max_bytes
        self.next = 0
        self.size = 0
        self._digest = hashlib.sha256()

    def add(self, chunk: ResultChunk) -> bytes:
        """The piece's bytes, once checked."""
        if chunk.job_id != self.job_id:
            raise ChunkError(f"a piece of {chunk.job_id} arrived inside the answer of {self.job_id}")
        if chunk.index != self.next:
            raise ChunkError(
                f"the answer of {self.job_id}: piece {chunk.index} arrived where piece {self.next} was due"
            )
        data = chunk.text.encode("utf-8")
        self.next += 1
        self.size += len(data)
        if self.size > self.max_bytes:
            raise ChunkError(
                f"the answer of {self.job_id} is larger than the {self.max_bytes // (1024 * 1024)} MB "
                "accepted", too_large=True)  # fmt: skip
        self._digest.update(data)
        return data

    def finish(self, end: ResultEnd) -> None:
        if end.job_id != self.job_id:
            raise ChunkError(f"the end of {end.job_id} arrived inside the answer of {self.job_id}")
        if end.chunks != self.next:
            raise ChunkError(f"the answer of {self.job_id} has {self.next} of its {end.chunks} pieces")
        if end.size != self.size or end.sha256 != self._digest.hexdigest():
            raise ChunkError(f"the answer of {self.job_id} is not what was sent (size or SHA-256 differ)")


def encode_result_in_pieces(
    job_id: str,
    blocks: Iterable[bytes],
    *,
    received_at: datetime,
    processed_at: datetime,
    version: int | None = None,
    chunk_bytes: int = CHUNK_BYTES,
) -> Iterator[str]:
    """The ``job.result`` of an answer given as UTF-8 ``blocks``, as JSON text in pieces — joined, exactly
    what :func:`encode` writes for it whole. For a peer without :data:`CHUNKED_RESULTS`: it gets one
    message (sent as WebSocket fragments) while this side holds one piece of the answer at a time."""
    mark = "\ue000"  # a private-use character stands for the answer in the envelope
    envelope = JobResult(job_id=job_id, response=mark, hresult=None, message=None,
                         received_at=received_at, processed_at=processed_at)  # fmt: skip
    whole = encode(envelope, version=version)
    head, tail = whole.split(json.dumps(mark, ensure_ascii=False))
    yield head + '"'
    for piece in chunked(job_id, blocks, received_at=received_at, processed_at=processed_at,
                         chunk_bytes=chunk_bytes):  # fmt: skip
        if isinstance(piece, ResultChunk) and piece.text:
            yield json.dumps(piece.text, ensure_ascii=False)[1:-1]
    yield '"' + tail
