#!/usr/bin/env python3
"""Benchmark: parsing a 20,000-invoice × 5-line InvoiceQueryRs (prints figures; asserts nothing).

Each measurement runs in a fresh subprocess so its peak RSS is its own. Usage:
    .venv/bin/python bench/qbxml_parse.py [--invoices N] [--lines N] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

LINE = ("<InvoiceLineRet><TxnLineID>{i}-{j}</TxnLineID><ItemRef><ListID>80000005-1</ListID>"
        "<FullName>Labor:Framing</FullName></ItemRef><Desc>Framing &amp; drywall, phase {j}</Desc>"
        "<Quantity>2</Quantity><Rate>55.5</Rate><Amount>111.00</Amount>"
        "<SalesTaxCodeRef><ListID>1</ListID><FullName>Tax</FullName></SalesTaxCodeRef></InvoiceLineRet>")


def write_response(path: Path, invoices: int, lines: int) -> None:
    with path.open("w", encoding="utf-8") as fh:
        fh.write('<?xml version="1.0" ?><QBXML><QBXMLMsgsRs><InvoiceQueryRs requestID="1" statusCode="0" '
                 'statusSeverity="Info" statusMessage="Status OK">')
        for i in range(invoices):
            fh.write(
                f"<InvoiceRet><TxnID>{i:X}-1700000000</TxnID><TimeCreated>2026-01-01T09:00:00-08:00</TimeCreated>"
                f"<TimeModified>2026-03-08T03:00:00-07:00</TimeModified><EditSequence>1700000000</EditSequence>"
                f"<TxnNumber>{i}</TxnNumber><CustomerRef><ListID>8000{i:04X}-1</ListID>"
                f"<FullName>Customer {i}:Job</FullName></CustomerRef><TxnDate>2026-01-01</TxnDate>"
                f"<RefNumber>{i}</RefNumber><DueDate>2026-01-31</DueDate><Subtotal>555.00</Subtotal>"
                f"<SalesTaxPercentage>7.75</SalesTaxPercentage><SalesTaxTotal>43.01</SalesTaxTotal>"
                f"<AppliedAmount>0.00</AppliedAmount><BalanceRemaining>598.01</BalanceRemaining>"
                f"<IsPaid>false</IsPaid>"
            )
            fh.write("".join(LINE.format(i=i, j=j) for j in range(lines)))
            fh.write("</InvoiceRet>")
        fh.write("</InvoiceQueryRs></QBXMLMsgsRs></QBXML>")


def measure(mode: str, path: str) -> None:
    """Runs in the child: parse, then print one JSON line of figures."""
    sys.path.insert(0, str(ROOT))
    from shared.qbxml.parser import iter_records, parse_response

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    cpu = time.process_time()
    records = lines = 0
    with open(path, "rb") as fh:
        if mode == "stream":
            for _header, rec in iter_records(fh):
                records += 1
                lines += len(rec.get("InvoiceLineRet", ()))
        else:
            resp = parse_response(fh)
            for r in resp.results:
                records += len(r.records)
                lines += sum(len(x.get("InvoiceLineRet", ())) for x in r.records)
    wall = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"mode": mode, "records": records, "lines": lines, "wall_s": round(wall, 3),
                      "cpu_s": round(time.process_time() - cpu, 3), "peak_rss_mb": round(peak / 1024, 1),
                      "rss_growth_mb": round((peak - before) / 1024, 1)}))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--invoices", type=int, default=20_000)
    ap.add_argument("--lines", type=int, default=5)
    ap.add_argument("--json")
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        measure(*args.child)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "invoices.xml"
        write_response(path, args.invoices, args.lines)
        size_mb = os.path.getsize(path) / 1024 / 1024
        results = []
        for mode in ("stream", "whole"):
            out = subprocess.run([sys.executable, __file__, "--child", mode, str(path)], check=True,
                                 capture_output=True, text=True).stdout
            results.append(json.loads(out.strip().splitlines()[-1]))
    print(f"InvoiceQueryRs: {args.invoices} invoices x {args.lines} lines, {size_mb:.1f} MB of qbXML")
    print(f"{'mode':<8}{'records':>9}{'lines':>9}{'wall s':>9}{'cpu s':>8}{'rec/s':>9}{'peak RSS MB':>13}")
    for r in results:
        rate = r["records"] / r["wall_s"] if r["wall_s"] else 0
        print(f"{r['mode']:<8}{r['records']:>9}{r['lines']:>9}{r['wall_s']:>9}{r['cpu_s']:>8}{rate:>9.0f}"
              f"{r['peak_rss_mb']:>13}")
    print("stream = iter_records (one record at a time); whole = parse_response (all records kept)")
    if args.json:
        Path(args.json).write_text(json.dumps({"size_mb": round(size_mb, 1), "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
