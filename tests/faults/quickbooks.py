"""QuickBooks for a Web Connector simulator that runs as its own process, one update at a time.

``python -m sandbox webconnector --once --quickbooks tests.faults.quickbooks:host`` calls :func:`host`,
which reads what to be from the environment (``QBB24_FAULTS_QB``, JSON):

* ``state``: the company file on disk (``sandbox.quickbooks.persist``), with the exchange history beside it
  (``<state>.history``) — loaded at the start and written after every document, as QuickBooks commits to its
  ``.qbw`` as it goes (a killed process loses nothing QuickBooks answered);
* ``not_running``: QuickBooks is closed (BeginSession fails 0x80040408); ``open_file``: another company
  file is open; ``locked``: ids of records someone has open in QuickBooks (a Mod or Del of one answers
  3175, "in use by another user": the QuickBooks simulator's ``locked`` set);
* ``stop_after``: after QuickBooks answered (and committed) the first document holding that text, the Web
  Connector process stops itself (SIGSTOP) before it hands the answer on: the harness sees it stopped, does
  its fault (kills the agent), and lets it go on (SIGCONT).
"""

from __future__ import annotations

import json
import os
import pickle
import signal
from pathlib import Path
from typing import Any

from sandbox.quickbooks import SimulatedQuickBooks, persist
from sandbox.quickbooks.host import Exchange

ENV = "QBB24_FAULTS_QB"


def history_path(state: Path) -> Path:
    return state.with_name(state.name + ".history")


def save(qb: SimulatedQuickBooks, state: Path) -> None:
    persist.save(qb, state)
    with qb.lock:
        rows = [(x.request, x.response, x.hresult, x.reason) for x in qb.history]
    tmp = history_path(state).with_suffix(".tmp")
    tmp.write_bytes(pickle.dumps(rows))
    tmp.replace(history_path(state))


def load(state: Path) -> SimulatedQuickBooks:
    qb = persist.load(state)
    saved = history_path(state)
    if saved.exists():
        qb.history = [Exchange(*row) for row in pickle.loads(saved.read_bytes())]
    return qb


class _Session:
    def __init__(self, inner: Any, qb: SimulatedQuickBooks, state: Path, stop_after: list[str]) -> None:
        self.inner, self.qb, self.state, self.stop_after = inner, qb, state, stop_after

    @property
    def company_file(self) -> str:
        return str(self.inner.company_file)

    def process(self, request_xml: str) -> str:
        try:
            return str(self.inner.process(request_xml))
        finally:
            save(self.qb, self.state)  # committed, whatever becomes of the answer
            if self.stop_after and self.stop_after[0] in request_xml:
                self.stop_after.clear()
                os.kill(os.getpid(), signal.SIGSTOP)  # the harness's moment; SIGCONT goes on

    def close(self) -> None:
        self.inner.close()
        save(self.qb, self.state)


class _Host:
    def __init__(self, qb: SimulatedQuickBooks, state: Path, stop_after: str) -> None:
        self.qb, self.state = qb, state
        self.stop_after = [stop_after] if stop_after else []

    def begin_session(self, **kw: str) -> _Session:
        return _Session(self.qb.begin_session(**kw), self.qb, self.state, self.stop_after)


def host() -> _Host:
    """The factory ``--quickbooks`` names."""
    wanted: dict[str, Any] = json.loads(os.environ[ENV])
    state = Path(wanted["state"])
    qb = load(state)
    qb.not_running = bool(wanted.get("not_running"))
    qb.open_file = wanted.get("open_file") or None
    qb.company.locked = {str(i) for i in wanted.get("locked") or []}
    return _Host(qb, state, str(wanted.get("stop_after") or ""))
