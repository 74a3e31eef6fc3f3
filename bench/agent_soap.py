#!/usr/bin/env python3
"""Benchmark: the agent's Web Connector endpoint under big and hostile requests (prints figures only).

Each case runs against a fresh agent endpoint in its own process (the real SOAP app, session machine and
SQLite queue; no cloud link), so the peak resident memory (``VmHWM``) read from ``/proc`` is that case's
alone. Linux only. Usage:

    .venv/bin/python bench/agent_soap.py [--mb 12.7] [--refused-mb 250] [--parallel 160] [--json OUT]

Cases:
  legit      a whole session whose receiveResponseXML body is --mb MB (QuickBooks' answer, escaped)
  refused    a --refused-mb MB body, announced and actually streamed (refused with 413)
  chunked    the same without Content-Length (cut off once past the cap)
  wrong      --parallel wrong passwords at once (throttled; answered nvu or 503)
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

NS = "http://developer.intuit.com/"
USER, PASSWORD = "bookkeeper", "bench-password"
MB = 1024 * 1024


# -- the agent side (child process) --------------------------------------------------------------------


def serve(home: Path) -> None:
    from local_agent.queue import Queue
    from local_agent.runtime import Relay
    from local_agent.soap.server import Endpoint
    from local_agent.soap.service import make_app
    from local_agent.soap.session import Sessions, Settings, hash_password
    from shared import wire

    queue = Queue(home / "queue.db")
    qbxml = (
        '<?xml version="1.0" encoding="utf-8"?><?qbxml version="13.0"?><QBXML><QBXMLMsgsRq '
        'onError="stopOnError"><CustomerQueryRq requestID="1"/></QBXMLMsgsRq></QBXML>'
    )
    queue.store_job(
        wire.JobOffer(
            job_id="job-1",
            portal="bench",
            qbxml=qbxml,
            priority=5,
            deadline=None,
            purpose="bench",
            company_file_id="",
        )
    )
    relay = Relay(queue, None, home / "status.json")
    sessions = Sessions(Settings(USER, hash_password(PASSWORD)), relay)
    endpoint = Endpoint(make_app(sessions)).start()
    print(endpoint.port, flush=True)
    sys.stdin.read()  # until the parent closes our stdin
    endpoint.stop()
    queue.close()


# -- the Web Connector side (this process) -------------------------------------------------------------


def envelope(op: str, **params: str) -> bytes:
    inner = "".join(f"<{k}>{v}</{k}>" for k, v in params.items())
    return (
        '<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/'
        f'envelope/"><soap:Body><{op} xmlns="{NS}">{inner}</{op}></soap:Body></soap:Envelope>'
    ).encode()


def call(port: int, op: str, body: bytes, timeout: float = 300) -> tuple[int, bytes]:
    import requests

    headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": f'"{NS}{op}"'}
    r = requests.post(f"http://localhost:{port}/qbwc", data=body, headers=headers, timeout=timeout)
    return r.status_code, r.content


def escaped(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;")


def answer(size: float) -> str:
    one = (
        "<CustomerRet><ListID>80000001-1234567890</ListID><Name>Customer &amp; Sons {i}</Name>"
        "<FullName>Customer &amp; Sons {i}</FullName><IsActive>true</IsActive>"
        "<Balance>1234.56</Balance></CustomerRet>"
    )
    parts, total, i = [], 0, 0
    while total < size * MB - 600:  # ``size``: the SOAP body's size, the answer escaped inside it
        parts.append(one.format(i=i))
        total += len(escaped(parts[-1]))
        i += 1
    return (
        '<?xml version="1.0" ?><QBXML><QBXMLMsgsRs><CustomerQueryRs requestID="1" statusCode="0" '
        'statusSeverity="Info" statusMessage="Status OK">'
        + "".join(parts)
        + "</CustomerQueryRs></QBXMLMsgsRs></QBXML>"
    )


def legit(port: int, size: float) -> dict[str, object]:
    import re

    status, body = call(
        port, "authenticate", envelope("authenticate", strUserName=USER, strPassword=PASSWORD)
    )
    ticket = re.search(rb"string>([0-9a-f-]{36})</", body)
    assert status == 200 and ticket, body[:300]
    t = ticket.group(1).decode()
    hcp = escaped(
        '<?xml version="1.0" ?><QBXML><QBXMLMsgsRs><HostQueryRs statusCode="0" statusSeverity="Info" '
        'statusMessage="OK"><HostRet><ProductName>QuickBooks Enterprise 24</ProductName><MajorVersion>34'
        "</MajorVersion><MinorVersion>0</MinorVersion><SupportedQBXMLVersion>13.0</SupportedQBXMLVersion>"
        "</HostRet></HostQueryRs></QBXMLMsgsRs></QBXML>"
    )
    status, _ = call(
        port,
        "sendRequestXML",
        envelope(
            "sendRequestXML",
            ticket=t,
            strHCPResponse=hcp,
            strCompanyFileName="C:\\Co.qbw",
            qbXMLCountry="US",
            qbXMLMajorVers="13",
            qbXMLMinorVers="0",
        ),
    )
    assert status == 200
    body = envelope("receiveResponseXML", ticket=t, response=escaped(answer(size)), hresult="", message="")
    started = time.monotonic()
    status, out = call(port, "receiveResponseXML", body)
    took = time.monotonic() - started
    assert status == 200 and b">100<" in out, out[:300]
    return {"body_mb": round(len(body) / MB, 1), "status": status, "seconds": round(took, 2)}


def refused(port: int, size: float, chunked: bool) -> dict[str, object]:
    head = (
        "POST /qbwc HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/xml; charset=utf-8\r\n"
        f'SOAPAction: "{NS}receiveResponseXML"\r\n'
        + ("Transfer-Encoding: chunked\r\n" if chunked else f"Content-Length: {int(size * MB)}\r\n")
        + "\r\n"
    ).encode()
    start = envelope("receiveResponseXML", ticket="t", response="A")
    start = start[: start.index(b"<response>") + len(b"<response>")]
    piece = b"A" * (1 * MB)
    sent, answer_ = 0, b""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(head)
        try:
            for data in [start] + [piece] * int(size):
                sock.sendall(f"{len(data):x}\r\n".encode() + data + b"\r\n" if chunked else data)
                sent += len(data)
        except OSError:
            pass
        try:
            answer_ = sock.recv(4096)
        except OSError:
            pass
    took = time.monotonic() - started
    return {
        "announced_mb": None if chunked else size,
        "sent_mb": round(sent / MB, 1),
        "answer": answer_.split(b"\r\n", 1)[0].decode(errors="replace"),
        "seconds": round(took, 2),
    }


def wrong(port: int, parallel: int, pid: int, peak_threads: list[int]) -> dict[str, object]:
    codes: list[object] = []
    body = envelope("authenticate", strUserName=USER, strPassword="guess")
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak_threads.append(proc(pid)["Threads"])
            time.sleep(0.005)

    def one() -> None:
        try:
            codes.append(call(port, "authenticate", body, timeout=60)[0])
        except Exception as exc:  # noqa: BLE001 - counted, not raised
            codes.append(type(exc).__name__)

    sampler = threading.Thread(target=sample)
    sampler.start()
    threads = [threading.Thread(target=one) for _ in range(parallel)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    took = time.monotonic() - started
    done.set()
    sampler.join()
    return {
        "parallel": parallel,
        "seconds": round(took, 2),
        "answers": {str(c): codes.count(c) for c in set(codes)},
        "peak_threads": max(peak_threads),
    }


def proc(pid: int) -> dict[str, int]:
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM", "Threads"):
            out[key] = int(value.split()[0])
    return out


def run(case: str, args: argparse.Namespace) -> dict[str, object]:
    import tempfile

    with tempfile.TemporaryDirectory() as home:
        child = subprocess.Popen(
            [sys.executable, __file__, "--serve", home],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        try:
            assert child.stdout is not None and child.stdin is not None
            port = int(child.stdout.readline())
            call(port, "serverVersion", envelope("serverVersion"))  # warm: spyne's first call builds caches
            before = proc(child.pid)
            if case == "legit":
                figures = legit(port, args.mb)
            elif case in ("refused", "chunked"):
                figures = refused(port, args.refused_mb, chunked=case == "chunked")
            else:
                figures = wrong(port, args.parallel, child.pid, [])
            time.sleep(0.5)
            after = proc(child.pid)
            figures.update(
                {
                    "rss_before_mb": round(before["VmRSS"] / 1024, 1),
                    "peak_rss_mb": round(after["VmHWM"] / 1024, 1),
                    "rss_after_mb": round(after["VmRSS"] / 1024, 1),
                }
            )
            return figures
        finally:
            if child.stdin is not None:
                child.stdin.close()
            child.wait(30)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--mb", type=float, default=12.7)
    parser.add_argument("--refused-mb", type=float, default=250)
    parser.add_argument("--parallel", type=int, default=160)
    parser.add_argument("--cases", default="legit,refused,chunked,wrong")
    parser.add_argument("--json")
    args = parser.parse_args()
    if args.serve:
        serve(Path(args.serve))
        return 0
    results = {}
    for case in args.cases.split(","):
        results[case] = run(case, args)
        print(f"{case:>8}: {json.dumps(results[case])}", flush=True)
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {"at": datetime.now(UTC).isoformat(), "cpus": os.cpu_count(), "results": results}, indent=2
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
