"""A company file on disk: what the simulator keeps between runs (the demo resumes from it).

Real QuickBooks keeps everything in its ``.qbw`` file; here the records (each ``…Ret`` element as XML), the
counters that number new lists and transactions, the deleted-records log and the preferences go into one
pickle, written to a temporary file and renamed so that a crash leaves the previous state whole. The
saved answer of the last message set (error recovery) goes with it, as QuickBooks keeps it in the file.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from lxml import etree

from ..files import write_atomically
from .company import Company, Record
from .host import SimulatedQuickBooks

FORMAT = 1
NOT_SAVED = ("clock", "schema")  # rebuilt: the caller's clock, the schema from the package


def save(qb: SimulatedQuickBooks, path: Path) -> None:
    with qb.lock:
        company = qb.company
        state = {k: v for k, v in vars(company).items() if k not in NOT_SAVED and k != "records"}
        records = [(r.kind, r.id, etree.tostring(r.el), r.seq, r.data_ext) for r in company.records.values()]
        saved_sets = {k: etree.tostring(v) for k, v in qb.processor.saved_sets.items()}
        data = {"format": FORMAT, "company": state, "records": records, "saved_sets": saved_sets,
                "company_file": qb.company_file}  # fmt: skip
    write_atomically(path, pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL))


def load(path: Path, *, clock: Callable[[], datetime] | None = None) -> SimulatedQuickBooks:
    """The simulator as it was saved; ValueError when the file is not one of ours."""
    with open(path, "rb") as f:
        data: dict[str, Any] = pickle.load(f)  # our own file, written by save()
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError(f"{path} is not a saved QuickBooks simulator state")
    company = Company(clock=clock)
    vars(company).update(data["company"])
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    for kind, rid, xml, seq, data_ext in data["records"]:
        company.records[rid] = Record(kind, rid, etree.fromstring(xml, parser), seq, data_ext)
    qb = SimulatedQuickBooks(company, company_file=data["company_file"])
    qb.processor.saved_sets = {k: etree.fromstring(v, parser) for k, v in data["saved_sets"].items()}
    return qb
