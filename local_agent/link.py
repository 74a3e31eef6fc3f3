"""The agent's one outbound WebSocket to the cloud: jobs in, results out, nothing lost or done twice.

Rules (issue 5): a job offer is acknowledged only after the queue has stored it; a result leaves the
outbox only when the cloud acknowledged it; on every (re)connect the agent says which jobs it holds and
re-sends every unacknowledged result. Reconnects back off exponentially with jitter (1 s → 60 s,
``retry.backoff``). A 401/403 at the handshake is tried again; only when it holds (or follows the cloud's
"token revoked" close) does the link stop and say "pair again" (``retry.Refusals``). The URL is ``wss://``
(plain ``ws://`` only to this machine); TLS is verified unless the config says otherwise; an HTTPS proxy is
used when configured (``proxy``) or found in the environment (``HTTPS_PROXY``), as ``websockets`` does.

Whatever the cloud sends cannot leave the link half-dead (issue 20): a frame over the size cap, one that
is not JSON, nested too deeply or not a message we know, and any failure while handling one, closes the
connection; the link says so, backs off and dials again.

Answers stream from disk (issue 23): when the cloud offers the ``result.chunks`` feature, an answer larger
than one piece goes as ``result.chunk`` messages read part by part from the queue, and a ``result.end``
(:func:`shared.wire.chunked`); an older cloud gets ``job.result`` whole, as before — one message, sent in
WebSocket fragments as it is read (:func:`shared.wire.encode_result_in_pieces`). One answer is sent at a
time, each once per connection; after a reconnect every unacknowledged one goes again from its start.

The link runs its asyncio loop in one background thread; the SOAP side talks to it through thread-safe
methods (:meth:`send`, :meth:`results_ready`, :meth:`want_work`).
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from shared import wire

from .queue import AnswerGone, Queue, StoredResult
from .retry import REVOKED_CLOSE_CODE, Refusals, backoff
from .urls import check_ws_url

log = logging.getLogger("qb_agent.link")

HEARTBEAT_SECONDS = 30.0
REVOKED = (
    "The cloud refused this agent's token (it was revoked or the app was removed). "
    "Pair the agent again: qb-agent pair CODE --server URL"
)


class _Broken(Exception):
    """The cloud sent something this agent cannot take; the connection is closed and dialled again."""


@dataclass
class LinkState:
    state: str = "offline"  # offline | connecting | online | revoked | stopped
    detail: str = ""
    portal: str = ""
    since: datetime | None = None
    connects: int = 0


class Link:
    def __init__(
        self,
        url: str,
        token: str,
        queue: Queue,
        *,
        agent_id: str,
        agent_version: str,
        proxy: str | None = None,
        verify_tls: bool = True,
        on_offer: Callable[[wire.JobOffer], None] | None = None,
        on_no_work: Callable[[str], None] | None = None,
        on_state: Callable[[LinkState], None] | None = None,
        delays: Callable[[], Iterator[float]] = backoff,
        refusals: Refusals | None = None,
        max_message: int = wire.MAX_MESSAGE_BYTES,
        chunk_bytes: int = wire.CHUNK_BYTES,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.url = check_ws_url(url)
        self._token = token
        self.queue = queue
        self.agent_id = agent_id
        self.agent_version = agent_version
        self.proxy = proxy
        self.verify_tls = verify_tls
        self.on_offer = on_offer
        self.on_no_work = on_no_work
        self.on_state = on_state
        self.delays = delays
        self.refusals = refusals or Refusals()
        self.max_message = max_message
        self.chunk_bytes = chunk_bytes  # an answer larger than this goes in pieces of this size
        self.clock = clock
        self.status = LinkState()
        self.wire_version: int = wire.MIN_PROTOCOL_VERSION  # negotiated at each connection's welcome
        self.wire_features: tuple[str, ...] = ()
        self.sync_requested = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ws: ClientConnection | None = None
        self._wake: asyncio.Event | None = None
        self._stop: asyncio.Event | None = None
        self._sending: asyncio.Lock | None = None  # one answer's messages at a time, never interleaved
        self._sent: set[str] = set()  # results sent on this connection (not sent again on it)
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()

    # -- lifecycle ----------------------------------------------------------------------------------

    def start(self) -> Link:
        self._thread = threading.Thread(target=self._run, name="cloud-link", daemon=True)
        self._thread.start()
        self._ready.wait(5)
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            try:
                self._loop.call_soon_threadsafe(self._stop.set)
            except RuntimeError:
                pass  # the loop already ended (e.g. the token was revoked)
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        self._loop = asyncio.new_event_loop()
        try:
            self._loop.run_until_complete(self._main())
        finally:
            self._loop.close()

    # -- thread-safe API for the SOAP side ------------------------------------------------------------

    @property
    def online(self) -> bool:
        return self.status.state == "online"

    def send(self, message: wire.Message) -> bool:
        """Send now if connected; False when offline (callers keep durable state themselves)."""
        loop, ws = self._loop, self._ws
        if loop is None or ws is None or not self.online:
            return False
        fut = asyncio.run_coroutine_threadsafe(ws.send(self._encode(message)), loop)
        try:
            fut.result(timeout=5)
        except Exception:  # noqa: BLE001 - a dead socket: the reconnect path re-sends what matters
            return False
        return True

    def post(self, message: wire.Message) -> None:
        """Send without waiting, if connected; for what only informs (a lost one costs nothing)."""
        loop, ws = self._loop, self._ws
        if loop is not None and ws is not None and self.online:
            asyncio.run_coroutine_threadsafe(_quietly(ws.send(self._encode(message))), loop)

    def results_ready(self) -> None:
        """New rows in the outbox: push them (they stay there until the cloud acknowledges them)."""
        if self._loop is not None and self._wake is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    def want_work(self, session_id: str, max_jobs: int = 10) -> bool:
        """Ask for more work — after sending the results we hold, so the cloud has seen them (and what
        they lead to) before it answers; the relay reads one connection's messages in order."""
        loop, ws = self._loop, self._ws
        if loop is None or ws is None or not self.online:
            return False

        async def results_then_ask() -> None:
            await self._send_results(ws)
            await ws.send(self._encode(wire.WantWork(session_id=session_id, max_jobs=max_jobs)))

        try:
            asyncio.run_coroutine_threadsafe(results_then_ask(), loop).result(timeout=5)
        except Exception:  # noqa: BLE001 - a dead socket: the session goes on without follow-up work
            return False
        return True

    # -- the loop -------------------------------------------------------------------------------------

    def _ssl(self) -> ssl.SSLContext | None:
        if not self.url.startswith("wss://"):
            return None
        ctx = ssl.create_default_context()
        if not self.verify_tls:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        return ctx

    def _set(self, state: str, detail: str = "") -> None:
        changed = (state, detail) != (self.status.state, self.status.detail)
        if state != self.status.state:
            self.status.since = datetime.now(UTC)
        self.status.state, self.status.detail = state, detail
        if changed and self.on_state is not None:
            try:
                self.on_state(self.status)
            except Exception:  # noqa: BLE001 - showing the state must never stop the link
                log.exception("could not record the link's state")

    async def _main(self) -> None:
        self._wake, self._stop, self._sending = asyncio.Event(), asyncio.Event(), asyncio.Lock()
        self._ready.set()
        delays = self.delays()
        while not self._stop.is_set():
            self._set("connecting")
            try:
                async with connect(
                    self.url,
                    additional_headers={"Authorization": f"Bearer {self._token}"},
                    proxy=self.proxy if self.proxy else True,
                    ssl=self._ssl(),
                    open_timeout=10,
                    ping_interval=20,
                    ping_timeout=20,
                    max_size=self.max_message,
                    user_agent_header=f"qb-bitrix24-agent/{self.agent_version}",
                ) as ws:
                    delays = self.delays()
                    self.refusals.connected()
                    self.status.connects += 1
                    await self._session(ws)
            except InvalidStatus as exc:
                code = exc.response.status_code
                if code in (401, 403):
                    if self.refusals.refused(self.clock()):
                        self._set("revoked", REVOKED)
                        log.error(self.status.detail)
                        return
                    detail = f"The cloud refused the agent's token (HTTP {code}); trying again."
                    log.warning("%s", detail)
                    self._set("offline", detail)
                else:
                    self._set("offline", f"The server answered HTTP {code}")
            except ConnectionClosed as exc:
                if exc.rcvd is not None and exc.rcvd.code == REVOKED_CLOSE_CODE:
                    self.refusals.closed_as_revoked()
                self._set("offline", f"The connection closed: {exc}"[:200])
            except _Broken as exc:
                log.warning("closed the link to the cloud: %s", exc)
                self._set("offline", f"The cloud sent a message this agent cannot read: {exc}"[:200])
            except (OSError, InvalidHandshake, TimeoutError) as exc:
                self._set("offline", f"{exc.__class__.__name__}: {exc}"[:200])
            except Exception as exc:  # noqa: BLE001 - anything else: never a dead thread behind "online"
                log.exception("the link to the cloud failed; dialling again")
                self._set("offline", f"{exc.__class__.__name__}"[:200])
            finally:
                self._ws = None
            if self.status.state == "online":
                self._set("offline", "The connection closed.")
            if self._stop.is_set():
                break
            try:
                await asyncio.wait_for(self._stop.wait(), timeout=next(delays))
            except TimeoutError:
                pass
        self._set("stopped")

    def _encode(self, message: wire.Message) -> str:
        return wire.encode(message, version=self.wire_version)

    async def _session(self, ws: ClientConnection) -> None:
        assert self._stop is not None and self._wake is not None
        held = tuple(j.job_id for j in self.queue.held_jobs())
        self.wire_version, self.wire_features = wire.MIN_PROTOCOL_VERSION, ()  # until the cloud's welcome
        self._sent = set()  # a new connection: every unacknowledged result goes again
        await ws.send(wire.encode(wire.Hello(
            protocol=wire.PROTOCOL_VERSION, min_protocol=wire.MIN_PROTOCOL_VERSION,
            agent_version=self.agent_version, agent_id=self.agent_id, resume=held,
            features=wire.FEATURES)))  # fmt: skip
        self._ws = ws
        self._set("online")
        self._wake.set()  # push whatever the outbox holds
        receiver = asyncio.ensure_future(self._receive(ws))
        pusher = asyncio.ensure_future(self._push(ws))
        beat = asyncio.ensure_future(self._heartbeat(ws))
        stopper = asyncio.ensure_future(self._stop.wait())
        tasks = {receiver, pusher, beat, stopper}
        done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        for task in done:
            failed = task.exception()
            if task is not stopper and failed is not None:
                raise failed
        if stopper in done:
            await ws.close()

    async def _push(self, ws: ClientConnection) -> None:
        assert self._wake is not None
        while True:
            await self._wake.wait()
            self._wake.clear()
            await self._send_results(ws)

    async def _send_results(self, ws: ClientConnection) -> None:
        """The unacknowledged results not yet sent on this connection, one at a time, each answer read
        from disk (an answer can be megabytes): in pieces when the cloud takes them, whole otherwise."""
        assert self._sending is not None
        async with self._sending:
            for job_id in await asyncio.to_thread(self.queue.pending_result_ids):
                if job_id in self._sent:
                    continue  # the cloud has it, or closes the connection and it goes again
                stored = await asyncio.to_thread(self.queue.stored_result, job_id)
                if stored is None:
                    continue  # acknowledged meanwhile
                chunked = wire.CHUNKED_RESULTS in self.wire_features
                if chunked and stored.size is not None and stored.size > self.chunk_bytes:
                    if not await self._stream(ws, stored):
                        continue
                elif stored.size is not None and stored.size > self.chunk_bytes:
                    await ws.send(self._fragments(stored))  # an older cloud: one message, in fragments
                else:
                    result = await asyncio.to_thread(self.queue.pending_result, job_id)
                    if result is None:
                        continue
                    await ws.send(self._encode(result))
                self._sent.add(job_id)

    async def _fragments(self, stored: StoredResult) -> AsyncIterator[str]:
        """The whole job.result of a large answer, written as it is read from the queue: an older cloud
        reads one message; this side holds one piece of it at a time."""
        pieces = wire.encode_result_in_pieces(
            stored.job_id, self.queue.answer_blocks(stored.job_id), received_at=stored.received_at,
            processed_at=stored.processed_at, version=self.wire_version, chunk_bytes=self.chunk_bytes,
        )  # fmt: skip
        while (piece := await asyncio.to_thread(next, pieces, None)) is not None:
            yield piece

    async def _stream(self, ws: ClientConnection, stored: StoredResult) -> bool:
        """One answer as result.chunk … result.end, each piece read from the queue as it goes out; False
        when it was acknowledged (deleted) meanwhile, the rest unsent."""
        messages = wire.chunked(stored.job_id, self.queue.answer_blocks(stored.job_id),
                                received_at=stored.received_at, processed_at=stored.processed_at,
                                chunk_bytes=self.chunk_bytes)  # fmt: skip
        while True:
            try:
                message = await asyncio.to_thread(next, messages, None)
            except AnswerGone:
                return False
            if message is None:
                return True
            await ws.send(self._encode(message))

    async def _heartbeat(self, ws: ClientConnection) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            await ws.send(self._encode(wire.Heartbeat(sent_at=datetime.now(UTC))))

    async def _receive(self, ws: ClientConnection) -> None:
        async for raw in ws:
            try:
                decoded = wire.decode_full(raw)
            except wire.WireError as exc:
                # Tell the cloud why, then hang up: a peer that sends what we cannot read is out of step,
                # and a fresh connection (Hello, resume) puts both sides back in step.
                error = wire.ErrorMessage(code="bad_message", message=exc.reason[:200], ref=None)
                await _quietly(ws.send(self._encode(error)))
                await ws.close(1007, "bad message")
                raise _Broken(exc.reason[:200]) from None
            if decoded.ignored:  # a newer cloud's additions: their names only, never their values
                names = ", ".join(decoded.ignored)
                log.debug("ignored fields from the cloud in %s: %s", decoded.message.type, names)
            await self._handle(ws, decoded.message)

    async def _handle(self, ws: ClientConnection, message: Any) -> None:
        if isinstance(message, wire.JobOffer):
            # Store first (durable), then acknowledge; a repeated offer is acknowledged again.
            await asyncio.to_thread(self.queue.store_job, message)
            await ws.send(self._encode(wire.JobAck(job_id=message.job_id)))
            if self.on_offer is not None:
                self.on_offer(message)
            assert self._wake is not None
            self._wake.set()  # an offer for a job already done: its result goes out again
        elif isinstance(message, wire.ResultAck):
            await asyncio.to_thread(self.queue.ack_result, message.job_id)
            self._sent.discard(message.job_id)
        elif isinstance(message, wire.Welcome):
            self.status.portal = message.portal
            # from now on both sides speak the version the cloud chose (one this agent offered)
            self.wire_version, self.wire_features = message.protocol, wire.common_features(message.features)
        elif isinstance(message, wire.NoWork):
            if self.on_no_work is not None:
                self.on_no_work(message.session_id)
        elif isinstance(message, wire.WantWork):
            # The cloud asks for a session (it has work, or wants a sync): answer "busy"-free next time.
            self.sync_requested.set()
        elif isinstance(message, wire.Heartbeat):
            pass
        elif isinstance(message, wire.ErrorMessage):
            log.warning("the cloud reported: %s %s", message.code, message.message)
            if message.code == "unsupported_protocol":  # shown by `qb-agent status` until it is fixed
                self._set("offline", message.message[:200])
        else:
            await ws.send(
                self._encode(
                    wire.ErrorMessage(
                        code="unexpected",
                        message=f"an agent does not accept {type(message).__name__}",
                        ref=None,
                    )
                )
            )


async def _quietly(sending: Any) -> None:
    try:
        await sending
    except ConnectionClosed:
        pass
