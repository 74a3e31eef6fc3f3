"""The QBWC endpoint on a real HTTP server: ``http://127.0.0.1:<port>/qbwc`` (loopback by default).

The Web Connector runs on the same PC as the agent and accepts plain http only for ``localhost``
(contract §1), so binding to loopback keeps the endpoint off the network without TLS.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

PATH = "/qbwc"


def _route(app: Callable[..., Iterable[bytes]], path: str) -> Callable[..., Iterable[bytes]]:
    def routed(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "").rstrip("/") != path:
            body = b"Not found. The Web Connector endpoint is " + path.encode() + b"\n"
            headers = [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))]
            start_response("404 Not Found", headers)
            return [body]
        return app(environ, start_response)

    return routed


class _QuietHandler(WSGIRequestHandler):
    """No access log on stderr: the agent logs sessions itself, in words a bookkeeper can read."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class Endpoint:
    """A started server; ``url`` is what goes into the ``.qwc`` file's AppURL."""

    def __init__(self, app: Callable[..., Iterable[bytes]], host: str = "127.0.0.1", port: int = 0,
                 path: str = PATH) -> None:
        self.server: BaseWSGIServer = make_server(
            host, port, _route(app, path), threaded=True, request_handler=_QuietHandler
        )
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
