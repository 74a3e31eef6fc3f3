"""``python -m sandbox quickbooks [--serve [--port P] | --request FILE] [--seed N] [--scale K]``.

``--serve`` answers qbXML over HTTP on loopback: POST a request document to ``/qbxml``; the answer is the
response document, or HTTP 422 with the HRESULT and message when QuickBooks would refuse the document.
``--request FILE`` processes one document and prints the response.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable
from typing import Any

from sandbox.qbport import QuickBooksError

from .host import SimulatedQuickBooks
from .seed import seed_company


def wsgi(qb: SimulatedQuickBooks) -> Callable[..., Iterable[bytes]]:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != "/qbxml" or environ.get("REQUEST_METHOD") != "POST":
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"POST a qbXML request document to /qbxml\n"]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length)
        try:
            out = qb.process(body.decode("utf-8", errors="replace")).encode("utf-8")
            start_response("200 OK", [("Content-Type", "text/xml; charset=utf-8")])
        except QuickBooksError as exc:
            out = f"{exc.hresult}: {exc.message}\n".encode()
            start_response("422 Unprocessable Entity", [("Content-Type", "text/plain; charset=utf-8")])
        return [out]

    return app


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox quickbooks", description=__doc__)
    parser.add_argument("--serve", action="store_true")
    parser.add_argument("--port", type=int, default=8790)
    parser.add_argument("--request", help="a qbXML request document to process once")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--scale", type=int, default=1)
    args = parser.parse_args(argv)
    qb = SimulatedQuickBooks(seed_company(args.seed, args.scale))
    if args.request:
        with open(args.request, "rb") as fh:
            try:
                print(qb.process(fh.read().decode("utf-8")))
            except QuickBooksError as exc:
                print(f"{exc.hresult}: {exc.message}", file=sys.stderr)
                return 1
        return 0
    if args.serve:
        from werkzeug.serving import make_server

        server = make_server("127.0.0.1", args.port, wsgi(qb), threaded=True)
        print(f"QuickBooks simulator: POST qbXML to http://127.0.0.1:{server.server_port}/qbxml", flush=True)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
        return 0
    parser.print_help()
    return 2
