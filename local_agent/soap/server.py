"""The QBWC endpoint on a real HTTP server: ``http://127.0.0.1:<port>/qbwc`` (loopback by default).

The Web Connector runs on the same PC as the agent and accepts plain http only for ``localhost``
(contract §1), so binding to loopback keeps the endpoint off the network without TLS.

The server has brakes (issue 20): at most :data:`WORKERS` requests are served at once — the Web Connector
makes one call at a time — and further connections wait in the kernel's listen queue (no thread, no
memory of ours) for up to :data:`SLOT_WAIT` seconds, then get 503. Before a connection is closed, what
the client still sends is read and dropped for a moment ("lingering close"), so a client whose body was
refused early still receives the refusal instead of a reset.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from werkzeug.serving import BaseWSGIServer, ThreadedWSGIServer, WSGIRequestHandler

log = logging.getLogger(__name__)

WORKERS = 8  # the Web Connector needs one; a WSDL fetch or a SOAP tool beside it must not wait
SLOT_WAIT = 5.0
# werkzeug closes every connection after one request (no keep-alive), so this only bounds each read from a
# client that stalls mid-request: it holds a worker at most this long per read.
IDLE_SECONDS = 30
LINGER_SECONDS = 1.0
LINGER_BYTES = 1024 * 1024
_BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nRetry-After: 5\r\nConnection: close\r\n\r\n"
)

PATH = "/qbwc"


def _route(
    app: Callable[..., Iterable[bytes]], path: str, pages: Mapping[str, Callable[..., Iterable[bytes]]]
) -> Callable[..., Iterable[bytes]]:
    def routed(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        page = pages.get(environ.get("PATH_INFO", "").rstrip("/"))
        if page is not None:  # e.g. /support, the .qwc's AppSupport (local_agent/support.py)
            return page(environ, start_response)
        if environ.get("PATH_INFO", "").rstrip("/") != path:
            body = b"Not found. The Web Connector endpoint is " + path.encode() + b"\n"
            headers = [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))]
            start_response("404 Not Found", headers)
            return [body]
        return app(environ, start_response)

    return routed


class _QuietHandler(WSGIRequestHandler):
    """No access log on stderr: the agent logs sessions itself, in words a bookkeeper can read."""

    timeout = IDLE_SECONDS

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass

    def log_error(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's signature
        # http.server's errors quote the raw request line (up to 64 KB of whatever was sent): log only that
        # it happened.
        log.warning("refused a request that is not HTTP the Web Connector speaks (%s)", str(args[0])[:3])


class _BoundedServer(ThreadedWSGIServer):
    request_queue_size = 256

    def __init__(self, host: str, port: int, app: Callable[..., Iterable[bytes]], workers: int) -> None:
        super().__init__(host, port, app, handler=_QuietHandler)
        self._slots = threading.BoundedSemaphore(workers)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(timeout=SLOT_WAIT):
            try:
                request.sendall(_BUSY)
            except OSError:
                pass
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def shutdown_request(self, request: Any) -> None:
        try:
            request.shutdown(socket.SHUT_WR)
            request.settimeout(LINGER_SECONDS)
            deadline, dropped = time.monotonic() + LINGER_SECONDS, 0
            while dropped < LINGER_BYTES and time.monotonic() < deadline:
                piece = request.recv(65536)
                if not piece:
                    break
                dropped += len(piece)
        except OSError:
            pass
        self.close_request(request)


class Endpoint:
    """A started server; ``url`` is what goes into the ``.qwc`` file's AppURL."""

    def __init__(
        self,
        app: Callable[..., Iterable[bytes]],
        host: str = "127.0.0.1",
        port: int = 0,
        path: str = PATH,
        workers: int = WORKERS,
        pages: Mapping[str, Callable[..., Iterable[bytes]]] | None = None,
    ) -> None:
        self.server: BaseWSGIServer = _BoundedServer(host, port, _route(app, path, pages or {}), workers)
        self.host = host
        self.port = self.server.server_port
        self.path = path
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host = "localhost" if self.host in ("127.0.0.1", "localhost") else self.host
        return f"http://{host}:{self.port}{self.path}"

    def start(self) -> Endpoint:
        self._thread = threading.Thread(target=self.server.serve_forever, name="qbwc-endpoint", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> Endpoint:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
