"""The agent WebSocket endpoint (``/agent/ws``): offers each portal's jobs to its agent, takes results.

One connection per agent, authenticated by ``Authorization: Bearer <agent token>`` at the handshake (401
for a missing, unknown or revoked token — the agent stops retrying on that). The first message must be
``Hello`` with our protocol version. Then: queued jobs are offered (and re-offered after a reconnect until
acknowledged); every ``JobResult`` is stored once and always acknowledged (a re-sent result is acknowledged
again so the agent can drop it); ``WantWork`` during a Web Connector session gets more offers or
``NoWork``. Everything is scoped to the agent's portal: an agent can neither see nor answer another
portal's jobs.

Large answers arrive in pieces when both sides have the ``result.chunks`` feature (issue 23): each
connection puts an answer back together in a temporary file (:class:`shared.wire.Reassembly` checks the
order, the size limit and the SHA-256), stores it as a ``job.result`` is stored, and acknowledges only then.
Pieces out of order or missing close the connection (the agent reconnects and sends the answer again from
its start; nothing is stored or acted on from a broken one); an answer over ``max_result_bytes`` fails its
job with words that say so, once. A partly received answer is dropped when its connection ends.

Runs its own asyncio loop in a thread (``start``/``stop``); the web app calls :meth:`notify` after
queueing jobs.
"""

from __future__ import annotations

import asyncio
import http
import logging
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import asdict
from datetime import UTC, datetime
from queue import SimpleQueue
from typing import IO, Any, Self

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from shared import wire

from .store import AgentRow, AgentStore, JobRow

log = logging.getLogger("qb_cloud.relay")

PATH = "/agent/ws"
REVOKED = 4001  # close code: the agent's token was revoked (or its portal uninstalled)
BROKEN = 1011  # close code: the cloud failed on a message; the agent reconnects and re-sends
HELLO_TIMEOUT = 10.0
OFFER_BATCH = 20
PROTOCOL = wire.PROTOCOL_VERSION
MIN_PROTOCOL = wire.MIN_PROTOCOL_VERSION  # the oldest agent protocol still served (see shared/wire.py)
OUT_OF_STEP = 1002  # close code: an answer's pieces came out of order; the agent sends it again from 0
MAX_OPEN_ANSWERS = 4  # answers arriving in pieces at once on one connection (the agent sends one at a time)
TOO_LARGE = "cloud:answer-too-large"  # the hresult of a job whose answer was over the size limit


def too_large_message(limit: int) -> str:
    return (
        f"QuickBooks' answer was larger than the {limit // (1024 * 1024)} MB this app takes in one piece, "
        "so it was not used. Nothing was changed; ask for less at a time (the app's operator can raise "
        "the limit)."
    )

ResultHook = Callable[[str, JobRow], None]
EventHook = Callable[[str, wire.Message], None]


def _bearer(headers: Headers) -> str:
    value = headers.get("Authorization", "")
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


class AgentRelay:
    def __init__(
        self,
        store: AgentStore,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        on_result: ResultHook | None = None,
        on_event: EventHook | None = None,
        features: tuple[str, ...] = wire.FEATURES,
        max_result_bytes: int = wire.MAX_RESULT_BYTES,
        spool_dir: str | None = None,
    ) -> None:
        self.store = store
        self.features = features  # what this cloud offers agents (() : today's whole answers only)
        self.max_result_bytes = max_result_bytes
        self.spool_dir = spool_dir  # where answers arriving in pieces are put together (None: the temp dir)
        self.host, self.port = host, port
        self.on_result = on_result
        self.on_event = on_event
        self.on_hook_error: Callable[[BaseException], None] | None = None  # told of every failed hook
        # portal → the highest job priority to offer now (None: all); the app page's "pause background
        # work" holds bulk jobs here, in the cloud, until it is lifted
        self.offer_limit: Callable[[str], int | None] | None = None
        self.started_at = _now()  # results stored before this were a previous process's (see replay)
        self._applying: set[str] = set()  # job ids whose hook runs now
        self._applying_lock = threading.Lock()
        self._appliers: dict[str, _Lane] = {}  # portal → the one thread its results run on
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: Server | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stopped: asyncio.Event | None = None
        self._connections: dict[str, ServerConnection] = {}  # portal → live agent connection
        self._agents: dict[str, AgentRow] = {}  # portal → agent on that connection

    # -- lifecycle ------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}{PATH}"

    def start(self) -> Self:
        self._thread = threading.Thread(target=self._run, name="agent-relay", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the agent relay did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stopped is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._stopped.set)
        if self._thread is not None:
            self._thread.join(timeout=10)
        with self._applying_lock:
            lanes, self._appliers = list(self._appliers.values()), {}
        for lane in lanes:
            lane.stop()  # after what it holds: a result being applied is finished, not cut

    def _run(self) -> None:
        self._loop = asyncio.new_event_loop()
        try:
            self._loop.run_until_complete(self._main())
        finally:
            self._loop.close()

    async def _main(self) -> None:
        self._stopped = asyncio.Event()
        async with serve(
            self._handler, self.host, self.port, process_request=self._check, max_size=wire.MAX_MESSAGE_BYTES
        ) as server:
            self._server = server
            self.port = next(iter(server.sockets)).getsockname()[1]
            self._ready.set()
            await self._stopped.wait()
            server.close()
            await server.wait_closed()

    # -- thread-safe API ------------------------------------------------------------------------------

    def online(self, portal: str) -> bool:
        return portal in self._connections

    def online_count(self) -> int:
        return len(self._connections)

    def agent(self, portal: str) -> AgentRow | None:
        return self._agents.get(portal)

    def notify(self, portal: str) -> None:
        """New jobs for ``portal``: offer them now if its agent is connected."""
        loop = self._loop
        if loop is None or loop.is_closed() or not loop.is_running():
            return  # stopped (or not started): the next connection's hello offers what waits
        offer = self._offer(portal)
        try:
            asyncio.run_coroutine_threadsafe(offer, loop)
        except RuntimeError:  # the loop closed between the check and the call
            offer.close()

    def disconnect(self, portal: str, reason: str = "token revoked", *, wait: float = 2.0) -> None:
        """Drop the portal's agent (after revoking its token), waiting up to ``wait`` seconds for the
        close so that nothing more is read from it once this returns."""
        ws = self._connections.get(portal)
        if ws is not None and self._loop is not None:
            done = asyncio.run_coroutine_threadsafe(ws.close(REVOKED, reason), self._loop)
            try:
                done.result(timeout=wait)
            except Exception:  # noqa: BLE001 - closed already, or the loop stopped: it is gone either way
                log.debug("closing the link of %s", portal, exc_info=True)

    # -- handshake ------------------------------------------------------------------------------------

    def _check(self, connection: ServerConnection, request: Request) -> Response | None:
        if request.path.split("?")[0] != PATH:
            return connection.respond(http.HTTPStatus.NOT_FOUND, "Not found\n")
        agent = self.store.authenticate(_bearer(request.headers))
        if agent is None:
            return connection.respond(http.HTTPStatus.UNAUTHORIZED, "Unknown or revoked agent token\n")
        connection.agent = agent  # type: ignore[attr-defined]
        return None

    # -- one agent ------------------------------------------------------------------------------------

    async def _send(self, ws: ServerConnection, message: wire.Message) -> None:
        """In the version negotiated with this agent (before the hello: the oldest we speak)."""
        version: int = getattr(ws, "wire_version", MIN_PROTOCOL)
        await ws.send(wire.encode(message, version=version))

    async def _handler(self, ws: ServerConnection) -> None:
        agent: AgentRow = ws.agent  # type: ignore[attr-defined]
        portal = agent.portal
        try:
            first = await asyncio.wait_for(ws.recv(), timeout=HELLO_TIMEOUT)
            hello = wire.decode(first)
        except (TimeoutError, ConnectionClosed):
            return
        except wire.WireError as exc:
            await self._send(ws, wire.ErrorMessage(code="bad_hello", message=exc.reason, ref=None))
            await ws.close(1002, "protocol error")
            return
        if not isinstance(hello, wire.Hello):
            await self._send(
                ws, wire.ErrorMessage(code="bad_hello", message="expected hello first", ref=None)
            )
            await ws.close(1002, "protocol error")
            return
        version = wire.negotiate(hello, lowest=MIN_PROTOCOL, highest=PROTOCOL)
        if version is None:
            await self._send(
                ws,
                wire.ErrorMessage(
                    code="unsupported_protocol",
                    message=(
                        "This agent is older than the cloud app still serves: update the agent."
                        if hello.protocol < MIN_PROTOCOL
                        else "This agent is newer than the cloud app: install the agent version the app"
                        " page offers, or ask the app's operator to update the cloud."
                    ),
                    ref=None,
                ),
            )
            await ws.close(1002, "unsupported protocol")
            return
        if not await asyncio.to_thread(self.store.active, agent.agent_id):
            await ws.close(REVOKED, "token revoked")  # revoked between the handshake and the hello
            return
        old = self._connections.get(portal)
        if old is not None and old is not ws:
            await old.close(4000, "replaced by a newer connection")
        self._connections[portal], self._agents[portal] = ws, agent
        await asyncio.to_thread(self.store.seen, agent.agent_id)
        await asyncio.to_thread(self.store.reconnected, portal, hello.resume)
        features = wire.common_features(hello.features, self.features)
        ws.wire_version, ws.wire_features = version, features  # type: ignore[attr-defined]
        answers: dict[str, _Answer] = {}  # job id → its answer arriving in pieces on this connection
        ws.answers = answers  # type: ignore[attr-defined]
        welcome = wire.Welcome(protocol=version, portal=portal, server_time=_now(), features=features)
        await self._send(ws, welcome)
        await self._offer(portal)
        # Messages are read as they come and handled in order by another task: a slow result hook (one
        # that waits for Bitrix24's rate limit) must not stop the reading, or the websocket's backpressure
        # stops answering the agent's pings and the agent drops the link.
        inbox: asyncio.Queue[str | bytes] = asyncio.Queue()
        consumer = asyncio.create_task(self._consume(ws, agent, inbox))
        # a consumer that stops for any reason takes the link with it: never online but deaf
        consumer.add_done_callback(lambda task: task.cancelled() or asyncio.ensure_future(ws.close(BROKEN)))
        try:
            async for raw in ws:
                inbox.put_nowait(raw)
        except ConnectionClosed:
            pass
        finally:
            consumer.cancel()  # an unhandled result is not acknowledged: the agent sends it again
            for answer in answers.values():
                answer.close()  # a partly received answer is dropped: the agent sends it again whole
            answers.clear()
            if self._connections.get(portal) is ws:
                del self._connections[portal]
                self._agents.pop(portal, None)

    async def _consume(
        self, ws: ServerConnection, agent: AgentRow, inbox: asyncio.Queue[str | bytes]
    ) -> None:
        """Handle messages in order. A message that cannot be read is answered ``bad_message`` and the
        link goes on; a failure while handling one closes the link (1011), so the agent reconnects and
        re-sends what was not acknowledged. Only a still-paired agent is listened to."""
        while True:
            raw = await inbox.get()
            try:
                try:
                    decoded = wire.decode_full(raw)
                    message = decoded.message
                    if decoded.ignored:  # a newer agent's additions: names only, never values
                        log.debug("%s from agent %s: ignored field(s) %s", message.type, agent.agent_id,
                                  ", ".join(decoded.ignored))  # fmt: skip
                except wire.WireError as exc:
                    await self._send(ws, wire.ErrorMessage(code="bad_message", message=exc.reason, ref=None))
                    continue
                except (RecursionError, ValueError, TypeError):  # e.g. JSON nested thousands deep
                    reason = "the message could not be read (nested too deep or malformed)"
                    await self._send(ws, wire.ErrorMessage(code="bad_message", message=reason, ref=None))
                    continue
                if not await asyncio.to_thread(self.store.active, agent.agent_id):
                    await ws.close(REVOKED, "token revoked")
                    return
                await self._handle(ws, agent, message)
            except ConnectionClosed:
                return
            except Exception:  # noqa: BLE001 - whatever went wrong, the link must not stay half-dead
                log.exception(
                    "agent %s of %s: handling a message failed; closing", agent.agent_id, agent.portal
                )
                await ws.close(BROKEN, "the cloud failed on a message; reconnect")
                return

    async def _offer(self, portal: str, *, session_id: str | None = None) -> int:
        ws = self._connections.get(portal)
        if ws is None:
            return 0
        limit = await asyncio.to_thread(self.offer_limit, portal) if self.offer_limit is not None else None
        jobs = await asyncio.to_thread(self.store.to_offer, portal, OFFER_BATCH, max_priority=limit)
        for job in jobs:
            offer = wire.JobOffer(
                job_id=job.job_id,
                portal=portal,
                qbxml=job.qbxml,
                priority=job.priority,
                deadline=datetime.fromisoformat(job.deadline) if job.deadline else None,
                purpose=job.purpose,
                company_file_id="",
            )
            try:
                await self._send(ws, offer)
            except ConnectionClosed:
                return 0
            await asyncio.to_thread(self.store.mark, portal, job.job_id, "offered")
        return len(jobs)

    async def _handle(self, ws: ServerConnection, agent: AgentRow, message: wire.Message) -> None:
        portal = agent.portal
        if isinstance(message, wire.JobAck):
            await asyncio.to_thread(self.store.mark, portal, message.job_id, "acked")
        elif isinstance(message, wire.JobSent):
            await asyncio.to_thread(self.store.mark, portal, message.job_id, "sent")
        elif isinstance(message, wire.JobResult):
            await self._store_result(ws, portal, message.job_id, message.response, message.hresult,
                                     message.message)  # fmt: skip
        elif isinstance(message, wire.ResultChunk | wire.ResultEnd):
            if wire.CHUNKED_RESULTS not in getattr(ws, "wire_features", ()):
                await self._send(ws, wire.ErrorMessage(
                    code="unexpected", message="answers in pieces were not agreed on this connection",
                    ref=message.job_id))  # fmt: skip
                return
            answers: dict[str, _Answer] = ws.answers  # type: ignore[attr-defined]
            try:  # on the loop itself (a piece is a small write to a temporary file): no race with the close
                if isinstance(message, wire.ResultChunk):
                    self._piece(answers, message)
                    return
                answer = answers.pop(message.job_id, None)
                if answer is None:
                    raise wire.ChunkError(f"the end of {message.job_id} arrived without its pieces")
                try:
                    text = answer.finish(message)
                finally:
                    answer.close()
            except wire.ChunkError as exc:
                log.warning("agent %s of %s: %s; closing so that it sends the answer again", agent.agent_id,
                            portal, exc.reason)  # fmt: skip
                await self._send(ws, wire.ErrorMessage(code="result_out_of_step", message=exc.reason,
                                                       ref=message.job_id))  # fmt: skip
                await ws.close(OUT_OF_STEP, "an answer's pieces came out of order; send it again")
                return
            if text is None:  # over the limit: the job fails, once, with words that say why
                log.warning("agent %s of %s: the answer of %s was over %d bytes; its job fails",
                            agent.agent_id, portal, message.job_id, self.max_result_bytes)  # fmt: skip
                await self._store_result(ws, portal, message.job_id, None, TOO_LARGE,
                                         too_large_message(self.max_result_bytes))  # fmt: skip
            else:
                await self._store_result(ws, portal, message.job_id, text, None, None)
        elif isinstance(message, wire.WantWork):
            offered = await self._offer(portal, session_id=message.session_id)
            # an offer already on its way (made by notify a moment ago) is work too: no "nothing more"
            if offered == 0 and await asyncio.to_thread(self.store.in_flight, portal) == 0:
                await self._send(ws, wire.NoWork(session_id=message.session_id))
        elif isinstance(message, wire.SessionStarted):
            await asyncio.to_thread(
                self.store.seen,
                agent.agent_id,
                host=_jsonable(asdict(message)),
                company_file=message.company_file,
            )
            await asyncio.to_thread(self._event, portal, message)  # never on the event loop
        elif isinstance(message, wire.SessionEnded | wire.QuickBooksUnreachable):
            await asyncio.to_thread(self.store.seen, agent.agent_id)
            await asyncio.to_thread(self._event, portal, message)  # never on the event loop
        elif isinstance(message, wire.Heartbeat):
            await self._send(ws, wire.Heartbeat(sent_at=_now()))
        elif isinstance(message, wire.ErrorMessage):
            log.warning("agent %s reported %s: %s", agent.agent_id, message.code, message.message)
        else:
            await self._send(
                ws,
                wire.ErrorMessage(
                    code="unexpected", message=f"the cloud does not accept {type(message).__name__}", ref=None
                ),
            )

    async def _store_result(
        self, ws: ServerConnection, portal: str, job_id: str, response: str | None, hresult: str | None,
        message: str | None,
    ) -> None:
        """Store a result once, acknowledge it (again, when re-sent), then act on it once."""
        new = await asyncio.to_thread(self.store.record_result, portal, job_id, response=response,
                                      hresult=hresult, message=message)  # fmt: skip
        await self._ack(ws, job_id)
        if new and self.on_result is not None:
            job = self.store.job(portal, job_id)
            if job is not None:  # on the portal's own thread: a hook waiting out an outage holds
                applying = self._applier(portal).submit(self._apply, portal, job)
                # shielded: the agent hanging up right after the acknowledgement must not cancel it
                await asyncio.shield(asyncio.wrap_future(applying))

    def _piece(self, answers: dict[str, _Answer], chunk: wire.ResultChunk) -> None:
        """One piece, written where its answer is put together; piece 0 starts it (again)."""
        if chunk.index == 0:
            old = answers.pop(chunk.job_id, None)
            if old is not None:
                old.close()  # sent again from the start (the agent reconnected, or re-sent it)
            while len(answers) >= MAX_OPEN_ANSWERS:
                answers.pop(next(iter(answers))).close()  # the oldest, abandoned by the agent
            answers[chunk.job_id] = _Answer(chunk.job_id, self.max_result_bytes, self.spool_dir)
        answer = answers.get(chunk.job_id)
        if answer is None:
            raise wire.ChunkError(
                f"piece {chunk.index} of {chunk.job_id} arrived without the pieces before it"
            )
        try:
            answer.add(chunk)
        except wire.ChunkError:
            answers.pop(chunk.job_id, None)
            answer.close()
            raise

    async def _ack(self, ws: ServerConnection, job_id: str) -> None:
        """After the result is stored — and again for a re-sent one, so the agent can forget it."""
        await self._send(ws, wire.ResultAck(job_id=job_id))

    def _applier(self, portal: str) -> _Lane:
        """The portal's own thread for acting on results (in order), so one portal whose hook waits (a
        Bitrix24 outage, for hours) never takes the shared pool's threads from the others."""
        with self._applying_lock:
            if portal not in self._appliers:
                self._appliers[portal] = _Lane(f"results-{portal[:8]}")
            return self._appliers[portal]

    @property
    def running(self) -> bool:
        """The relay's thread (its event loop) is alive."""
        return self._thread is not None and self._thread.is_alive()

    def _apply(self, portal: str, job: JobRow) -> None:
        with self._applying_lock:
            if job.job_id in self._applying:
                return  # being applied now (a hook waiting out a Bitrix24 outage): not a second time
            self._applying.add(job.job_id)
        try:
            if self.store.is_applied(portal, job.job_id):
                return  # acted on since it was read (by its lane, or by an earlier replay): not twice
            if self.on_result is not None and self._hook(self.on_result, portal, job):
                self.store.mark_applied(portal, job.job_id)
        finally:
            with self._applying_lock:
                self._applying.discard(job.job_id)

    def replay(self, before: datetime | None = None) -> int:
        """Act on the results a stopped process stored but never acted on (it died between storing one
        and running its hook): a deal's write is then recovered, a first sync carries on from its last
        durable step. ``before`` (default: this process's start): also results whose handling failed
        here (a full disk, a refused search); one being applied now is not applied a second time."""
        jobs = self.store.unapplied(before or self.started_at)
        # on each portal's own lane, behind what it is doing now: in order, and never beside it
        waiting = [self._applier(job.portal).submit(self._apply, job.portal, job) for job in jobs]
        for done in waiting:
            done.result()
        if jobs:
            log.info("applied %d result(s) stored before a restart", len(jobs))
        return len(jobs)

    def _event(self, portal: str, message: wire.Message) -> None:
        self._hook(self.on_event, portal, message)

    def _hook(self, hook: Callable[[str, Any], None] | None, portal: str, value: Any) -> bool:
        """What the app does with a result or session event runs after the result is stored and
        acknowledged; its failure is logged and never costs the agent its connection. True: it ran."""
        if hook is None:
            return False
        try:
            hook(portal, value)
        except Exception as exc:  # noqa: BLE001 - a hook's bug must not drop the agent's link
            log.exception("handling %s for %s failed", type(value).__name__, portal)
            if self.on_hook_error is not None:
                self.on_hook_error(exc)
            return False
        return True


class _Answer:
    """One answer arriving in pieces, put together in a temporary file (deleted when closed)."""

    def __init__(self, job_id: str, max_bytes: int, folder: str | None) -> None:
        self.check = wire.Reassembly(job_id, max_bytes=max_bytes)
        self.too_large = False
        self._file: IO[bytes] | None = tempfile.TemporaryFile(dir=folder, prefix="answer-")

    def add(self, chunk: wire.ResultChunk) -> None:
        if self.too_large:  # the rest is not kept, only counted and checked
            if chunk.index != self.check.next:
                raise wire.ChunkError(f"the answer of {chunk.job_id}: piece {chunk.index} arrived where "
                                      f"piece {self.check.next} was due")  # fmt: skip
            self.check.next += 1
            return
        try:
            data = self.check.add(chunk)
        except wire.ChunkError as exc:
            if not exc.too_large:
                raise
            self.too_large = True
            self.close()
            return
        assert self._file is not None
        self._file.write(data)

    def finish(self, end: wire.ResultEnd) -> str | None:
        """The whole answer's text, or None when it was over the limit."""
        if self.too_large:
            if end.chunks != self.check.next:
                raise wire.ChunkError(f"the answer of {end.job_id} has {self.check.next} of its "
                                      f"{end.chunks} pieces")  # fmt: skip
            return None
        self.check.finish(end)
        assert self._file is not None
        self._file.seek(0)
        return self._file.read().decode("utf-8")

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


_Work = tuple[Future[Any], Callable[..., Any], tuple[Any, ...]]


class _Lane:
    """One daemon thread running what is submitted, in order (a process stopping never waits for it)."""

    def __init__(self, name: str) -> None:
        self._todo: SimpleQueue[_Work | None] = SimpleQueue()
        threading.Thread(target=self._run, name=name, daemon=True).start()

    def stop(self) -> None:
        """The thread ends once what was submitted before has run."""
        self._todo.put(None)

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        done: Future[Any] = Future()
        self._todo.put((done, fn, args))
        return done

    def _run(self) -> None:
        while (item := self._todo.get()) is not None:
            done, fn, args = item
            if done.set_running_or_notify_cancel():
                try:
                    done.set_result(fn(*args))
                except BaseException as exc:  # noqa: BLE001 - handed to the waiter, the lane goes on
                    done.set_exception(exc)
            del item, done, fn, args  # an idle lane holds nothing of the last job (nor the relay)


def _now() -> datetime:
    return datetime.now(UTC)


def _jsonable(data: dict[str, object]) -> dict[str, object]:
    return {
        k: (v.isoformat() if isinstance(v, datetime) else list(v) if isinstance(v, tuple) else v)
        for k, v in data.items()
    }
