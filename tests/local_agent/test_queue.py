"""The agent's inbox/outbox: stored before acknowledged, removed only when acknowledged, across restarts."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from local_agent.queue import Queue
from local_agent.runtime import read_only
from shared.wire import ANSWER_LOST, JobOffer

READ = (
    '<?qbxml version="13.0"?><QBXML><QBXMLMsgsRq onError="stopOnError">'
    "<CustomerQueryRq/></QBXMLMsgsRq></QBXML>"
)
WRITE = READ.replace("<CustomerQueryRq/>", "<InvoiceAddRq><InvoiceAdd/></InvoiceAddRq>")


def offer(job_id: str, qbxml: str = READ, priority: int = 5) -> JobOffer:
    return JobOffer(job_id=job_id, portal="acme", qbxml=qbxml, priority=priority, deadline=None, purpose="t")


def reopen(q: Queue) -> Queue:
    q.close()
    return Queue(q.path)


def test_jobs_run_by_priority_then_arrival_and_survive_restart(tmp_path: Path) -> None:
    q = Queue(tmp_path / "queue.db")
    assert q.store_job(offer("a")) and q.store_job(offer("b", priority=1)) and q.store_job(offer("c"))
    q = reopen(q)
    order = []
    while (job := q.next_job()) is not None:
        order.append(job.job_id)
        q.mark_sent(job.job_id, "s1")
        q.record_result(job.job_id, response="<r/>", hresult=None, message=None)
        q = reopen(q)
    assert order == ["b", "a", "c"]
    q.close()


def test_a_repeated_offer_is_not_stored_twice_even_after_it_finished(tmp_path: Path) -> None:
    q = Queue(tmp_path / "queue.db")
    assert q.store_job(offer("a"))
    assert not q.store_job(offer("a"))
    q.mark_sent("a", "s1")
    q.record_result("a", response="<r/>", hresult=None, message=None)
    q.ack_result("a")
    assert not q.store_job(offer("a"))  # the tombstone remembers it
    assert q.next_job() is None
    q.close()


def test_results_stay_until_acknowledged(tmp_path: Path) -> None:
    q = Queue(tmp_path / "queue.db")
    q.store_job(offer("a"))
    q.mark_sent("a", "s1")
    q.record_result("a", response=None, hresult="0x80040400", message="parse error")
    q = reopen(q)
    [result] = q.pending_results()
    assert (result.job_id, result.response, result.hresult, result.message) == (
        "a", None, "0x80040400", "parse error")  # fmt: skip
    assert q.depth()["results"] == 1 and q.depth()["done"] == 1
    q.ack_result("a")
    q = reopen(q)
    assert q.pending_results() == []
    q.close()


def test_lost_answers_rerun_reads_and_report_writes_as_unknown(tmp_path: Path) -> None:
    q = Queue(tmp_path / "queue.db")
    q.store_job(offer("read", READ))
    q.store_job(offer("write", WRITE))
    q.mark_sent("read", "s1")
    q.mark_sent("write", "s1")
    q = reopen(q)
    assert q.recover(read_only) == (1, 1)
    assert q.next_job() is not None and q.next_job().job_id == "read"  # type: ignore[union-attr]
    [lost] = q.pending_results()
    assert lost.job_id == "write" and lost.hresult == ANSWER_LOST and lost.response is None
    assert q.get_job("write").state == "done"  # type: ignore[union-attr]
    q.close()


def test_read_only_detection() -> None:
    assert read_only(READ)
    assert not read_only(WRITE)
    assert not read_only(READ.replace("CustomerQueryRq", "TxnDelRq"))


CHILD = """
import os, signal, sys
sys.path.insert(0, {root!r})
import pytest

from local_agent.queue import Queue
from shared.wire import JobOffer
q = Queue({db!r})
step = sys.argv[1]
if step == "store":
    q.store_job(JobOffer(job_id="j1", portal="acme", qbxml="<x/>", priority=5, deadline=None, purpose="t"))
    print("stored", flush=True)   # the moment the agent would send job.ack
elif step == "result":
    q.mark_sent("j1", "s1")
    q.record_result("j1", response="<done/>", hresult=None, message=None)
    print("recorded", flush=True)  # QBWC has delivered; the cloud has not acknowledged yet
os.kill(os.getpid(), signal.SIGKILL)
"""


def _run_and_kill(tmp_path: Path, step: str) -> str:
    script = tmp_path / "child.py"
    root = str(Path(__file__).resolve().parents[2])
    script.write_text(textwrap.dedent(CHILD.format(root=root, db=str(tmp_path / "queue.db"))))
    proc = subprocess.run([sys.executable, str(script), step], capture_output=True, text=True, timeout=30)
    assert proc.returncode == -signal.SIGKILL
    return proc.stdout.strip()


def test_sigkill_after_store_loses_nothing(tmp_path: Path) -> None:
    assert _run_and_kill(tmp_path, "store") == "stored"
    q = Queue(tmp_path / "queue.db")
    job = q.next_job()
    assert job is not None and job.job_id == "j1"
    assert not q.store_job(offer("j1"))  # the cloud re-offers (no ack arrived): not stored twice
    q.close()


def test_sigkill_after_result_before_ack_resends_and_never_reruns(tmp_path: Path) -> None:
    _run_and_kill(tmp_path, "store")
    assert _run_and_kill(tmp_path, "result") == "recorded"
    q = Queue(tmp_path / "queue.db")
    assert [r.job_id for r in q.pending_results()] == ["j1"]
    assert q.next_job() is None  # done: not run again
    assert q.recover(read_only) == (0, 0)
    q.close()
    assert os.path.exists(tmp_path / "queue.db")


def test_calls_from_short_lived_threads_do_not_keep_files_open(tmp_path: Path) -> None:
    """The SOAP server answers every Web Connector call on a new thread; a day of calls must not run
    the agent out of file handles."""
    import threading

    q = Queue(tmp_path / "queue.db")

    def open_files() -> int:
        return len(os.listdir("/proc/self/fd"))

    def one_call() -> None:
        q.depth()

    for _ in range(5):
        t = threading.Thread(target=one_call)
        t.start()
        t.join()
    before = open_files()
    for _ in range(200):
        t = threading.Thread(target=one_call)
        t.start()
        t.join()
    assert open_files() <= before + 2  # one thread's connection at most, not 200
    q.close()


def test_an_answer_is_kept_on_disk_in_parts_and_read_back_exactly(tmp_path: Path) -> None:
    from local_agent.queue import PART_CHARS, AnswerGone

    answer = "<QBXML>" + "Кузнецов & Sons € 𝄞 " * (PART_CHARS // 5) + "</QBXML>"
    q = Queue(tmp_path / "queue.db")
    in_pieces = iter([answer[:10], answer[10:70000], answer[70000:]])  # an iterator read's merged pages
    for job_id, given in (("whole", answer), ("pieces", in_pieces)):
        q.store_job(offer(job_id))
        q.mark_sent(job_id, "s1")
        q.record_result(job_id, response=given, hresult=None, message=None)
    q = reopen(q)
    for job_id in ("whole", "pieces"):
        stored = q.stored_result(job_id)
        assert stored is not None and stored.size == len(answer.encode())
        blocks = list(q.answer_blocks(job_id))
        assert len(blocks) == -(-len(answer) // PART_CHARS) and max(map(len, blocks)) <= 4 * PART_CHARS
        assert b"".join(blocks).decode() == answer
        assert q.pending_result(job_id).response == answer  # type: ignore[union-attr]
    reading = q.answer_blocks("whole")
    next(reading)
    q.ack_result("whole")  # the cloud acknowledged it meanwhile
    with pytest.raises(AnswerGone):
        next(reading)
    assert q.stored_result("whole") is None and q.depth()["results"] == 1
    q.close()


def test_an_answer_an_older_agent_stored_whole_is_still_sent(tmp_path: Path) -> None:
    q = Queue(tmp_path / "queue.db")
    q.store_job(offer("old"))
    q._db().execute(  # as the agent before parts wrote it
        "insert into results (job_id, response, hresult, message, received_at, processed_at)"
        " values ('old', '<QBXML>é</QBXML>', null, null, '2026-12-01T10:00:00+00:00',"
        " '2026-12-01T10:00:01+00:00')"
    )
    q = reopen(q)
    assert q.stored_result("old").size == len("<QBXML>é</QBXML>".encode())  # type: ignore[union-attr]
    assert list(q.answer_blocks("old")) == ["<QBXML>é</QBXML>".encode()]
    assert q.pending_result("old").response == "<QBXML>é</QBXML>"  # type: ignore[union-attr]
    q.close()
