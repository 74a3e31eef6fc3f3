"""The Web Connector session machine, call by call, as QBWC drives it (contract §1–§2)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from local_agent.soap.session import NOOP, Job, Sessions, Settings, check_password, hash_password

from .fakes import HCP, MemoryWork, request, response

FILE = "C:\\Company Files\\Rock Castle Construction.qbw"
PASSWORD_HASH = hash_password("s3cret")


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def make(jobs: list[Job] | None = None, **settings: object) -> tuple[Sessions, MemoryWork, Clock]:
    work = MemoryWork(jobs=list(jobs or []))
    clock = Clock()
    opts = {"user_name": "bookkeeper", "password_hash": PASSWORD_HASH, **settings}
    return Sessions(Settings(**opts), work, clock=clock), work, clock  # type: ignore[arg-type]


def customer_query(rid: str = "1") -> Job:
    body = f'<CustomerQueryRq requestID="{rid}"><MaxReturned>5</MaxReturned></CustomerQueryRq>'
    return Job(f"job-{rid}", request(body))


def rs(rid: str, code: str = "0") -> str:
    return response(
        f'<CustomerQueryRs requestID="{rid}" statusCode="{code}" statusSeverity="Info" '
        'statusMessage="Status OK"/>'
    )


def start(sessions: Sessions) -> str:
    ticket, company = sessions.authenticate("bookkeeper", "s3cret")[:2]
    assert company in ("", FILE)
    return ticket


def test_password_hash_is_salted_and_checked() -> None:
    assert hash_password("x") != hash_password("x")
    assert check_password("s3cret", PASSWORD_HASH)
    assert not check_password("s3cret ", PASSWORD_HASH)
    assert not check_password("s3cret", "garbage")


@pytest.mark.parametrize(("user", "password"), [("bookkeeper", "wrong"), ("someone", "s3cret"), ("", "")])
def test_wrong_credentials_answer_nvu(user: str, password: str) -> None:
    sessions, _, _ = make([customer_query()])
    assert sessions.authenticate(user, password) == ["", "nvu"]
    assert "wrong user name or password" in sessions.last_error


def test_a_full_session_success_is_an_empty_hresult() -> None:
    sessions, work, _ = make([customer_query("1"), customer_query("2")])
    ticket = start(sessions)
    assert 'requestID="1"' in sessions.send_request_xml(ticket, HCP, FILE, "US", 16, 0)
    # Answer as QuickBooks does: the response, with hresult and message empty.
    assert sessions.receive_response_xml(ticket, rs("1", code="1"), "", "") == 50
    assert 'requestID="2"' in sessions.send_request_xml(ticket, "", FILE, "US", 16, 0)
    assert sessions.receive_response_xml(ticket, rs("2"), "", "") == 100
    assert sessions.close_connection(ticket) == "2 requests, 0 errors"
    assert [d[0] for d in work.delivered] == ["job-1", "job-2"]
    assert all(d[2] is None for d in work.delivered)
    assert work.started[0].supported_versions == ("12.0", "13.0", "16.0")
    assert work.started[0].company_name == "Rock Castle Construction"
    assert work.ended == [("2 requests, 0 errors", None)]


def test_work_that_follows_an_answer_keeps_the_session_open() -> None:
    """A lookup's answer makes the cloud send the write: 100 would close the session before it came."""
    sessions, work, _ = make([customer_query("lookup")])
    work.follow_ups.append(customer_query("write"))
    ticket = start(sessions)
    assert 'requestID="lookup"' in sessions.send_request_xml(ticket, HCP, FILE, "US", 16, 0)
    assert sessions.receive_response_xml(ticket, rs("lookup"), "", "") == 50
    assert 'requestID="write"' in sessions.send_request_xml(ticket, "", FILE, "US", 16, 0)
    assert sessions.receive_response_xml(ticket, rs("write"), "", "") == 100
    assert sessions.close_connection(ticket) == "2 requests, 0 errors"


def test_hresult_fails_that_job_only_and_the_session_goes_on() -> None:
    sessions, work, _ = make([customer_query("1"), customer_query("2")])
    ticket = start(sessions)
    sessions.send_request_xml(ticket, HCP, FILE, "US", 16, 0)
    percent = sessions.receive_response_xml(
        ticket, "", "0x80040400", "QuickBooks found an error when parsing the provided XML text stream."
    )
    assert 0 <= percent < 100  # not negative: the next job can still run
    assert work.delivered[0][0] == "job-1" and work.delivered[0][1] is None
    assert work.delivered[0][2] == "0x80040400"
    assert "CustomerQueryRq" in sessions.send_request_xml(ticket, "", FILE, "US", 16, 0)
    assert sessions.receive_response_xml(ticket, response(""), "", "") == 100
    assert sessions.close_connection(ticket) == "2 requests, 1 error"


def test_nothing_to_do_answers_none_once_the_host_is_known() -> None:
    sessions, work, _ = make()
    first = sessions.authenticate("bookkeeper", "s3cret")
    assert first[1] == ""  # never seen QuickBooks: open a session to learn its versions and file
    assert sessions.send_request_xml(first[0], HCP, FILE, "US", 16, 0) == ""
    assert sessions.get_last_error(first[0]) == "No work is waiting for QuickBooks."
    sessions.close_connection(first[0])
    second = sessions.authenticate("bookkeeper", "s3cret")
    assert second[1] == "none"
    work.jobs.append(customer_query())
    assert sessions.authenticate("bookkeeper", "s3cret")[1] == FILE  # pinned file from now on


def test_busy_while_another_session_is_active_and_free_after_close() -> None:
    sessions, _, _ = make([customer_query()])
    ticket = start(sessions)
    assert sessions.authenticate("bookkeeper", "s3cret")[:2] == ["", "busy"]
    sessions.close_connection(ticket)
    assert sessions.authenticate("bookkeeper", "s3cret")[1] != "busy"


def test_ticket_reuse_after_close_is_refused() -> None:
    sessions, work, _ = make([customer_query("1"), customer_query("2")])
    ticket = start(sessions)
    sessions.send_request_xml(ticket, HCP, FILE, "US", 16, 0)
    sessions.receive_response_xml(ticket, response(""), "", "")
    sessions.close_connection(ticket)
    assert sessions.send_request_xml(ticket, "", FILE, "US", 16, 0) == ""
    assert "Unknown or expired ticket" in sessions.get_last_error(ticket)
    assert sessions.receive_response_xml(ticket, response(""), "", "") == -1
    assert sessions.close_connection(ticket) == "Unknown or already closed ticket."
    assert [d[0] for d in work.delivered] == ["job-1"]  # job-2 untouched
    assert len(work.jobs) == 1


def test_unknown_ticket() -> None:
    sessions, work, _ = make([customer_query()])
    assert sessions.send_request_xml("not-a-ticket", HCP, FILE, "US", 16, 0) == ""
    assert sessions.receive_response_xml("not-a-ticket", response(""), "", "") == -1
    assert len(work.jobs) == 1 and not work.delivered


def test_a_silent_web_connector_expires_and_the_job_is_abandoned_not_lost() -> None:
    sessions, work, clock = make([customer_query()], ticket_ttl=timedelta(minutes=10))
    ticket = start(sessions)
    sessions.send_request_xml(ticket, HCP, FILE, "US", 16, 0)
    clock.now += timedelta(minutes=11)
    assert sessions.receive_response_xml(ticket, response(""), "", "") == -1
    assert work.abandoned == ["job-1"]
    assert "expired" in (work.ended[0][1] or "")
    assert sessions.authenticate("bookkeeper", "s3cret")[1] != "busy"


def test_another_company_file_is_refused_and_nothing_is_sent() -> None:
    sessions, work, _ = make([customer_query()], company_file=FILE)
    ticket = start(sessions)
    other = "C:\\Company Files\\Sample.qbw"
    assert sessions.send_request_xml(ticket, HCP, other, "US", 16, 0) == ""
    error = sessions.get_last_error(ticket)
    assert "Sample.qbw" in error and "Rock Castle Construction.qbw" in error and error != NOOP
    assert len(work.jobs) == 1 and not work.delivered
    assert work.connection_errors and work.connection_errors[0][0] == "wrong-company-file"


def test_company_file_comparison_ignores_case_and_slashes() -> None:
    sessions, work, _ = make([customer_query()], company_file=FILE)
    ticket = start(sessions)
    assert sessions.send_request_xml(ticket, HCP, FILE.upper().replace("\\", "/"), "US", 16, 0) != ""


def test_connection_error_is_reported_with_its_meaning_and_ends_the_session() -> None:
    sessions, work, _ = make([customer_query()])
    ticket = start(sessions)
    assert sessions.connection_error(ticket, "0x80040408", "Could not start QuickBooks.") == "done"
    assert work.connection_errors == [("0x80040408", "Could not start QuickBooks.")]
    assert "Could not start QuickBooks" in sessions.last_error
    assert len(work.jobs) == 1  # nothing consumed
    assert sessions.authenticate("bookkeeper", "s3cret")[1] != "busy"


def test_noop_while_the_cloud_may_still_send_work() -> None:
    sessions, work, _ = make()
    work.want = True
    ticket = start(sessions)
    assert sessions.send_request_xml(ticket, HCP, FILE, "US", 16, 0) == ""
    assert sessions.get_last_error(ticket) == NOOP
    work.jobs.append(customer_query())
    assert "CustomerQueryRq" in sessions.send_request_xml(ticket, "", FILE, "US", 16, 0)


def test_noop_is_bounded() -> None:
    sessions, work, _ = make()
    work.want = True
    ticket = start(sessions)
    answers = []
    for _ in range(6):
        assert sessions.send_request_xml(ticket, HCP, FILE, "US", 16, 0) == ""
        answers.append(sessions.get_last_error(ticket))
    assert answers[:3] == [NOOP] * 3 and NOOP not in answers[3:]


def _page(ids: range, remaining: int) -> str:
    rets = "".join(f"<CustomerRet><ListID>{i}</ListID></CustomerRet>" for i in ids)
    return response(
        f'<CustomerQueryRs requestID="1" statusCode="0" statusSeverity="Info" statusMessage="Status OK" '
        f'iteratorRemainingCount="{remaining}" iteratorID="{{AB-1}}">{rets}</CustomerQueryRs>'
    )


def test_iterators_continue_inside_the_session_and_arrive_as_one_result() -> None:
    job = Job(
        "job-it",
        request(
            '<CustomerQueryRq requestID="1" iterator="Start"><MaxReturned>2</MaxReturned></CustomerQueryRq>'
        ),
    )
    sessions, work, _ = make([job])
    ticket = start(sessions)
    assert 'iterator="Start"' in sessions.send_request_xml(ticket, HCP, FILE, "US", 16, 0)
    assert sessions.receive_response_xml(ticket, _page(range(0, 2), 3), "", "") < 100
    second = sessions.send_request_xml(ticket, "", FILE, "US", 16, 0)
    assert 'iterator="Continue"' in second and 'iteratorID="{AB-1}"' in second and "<MaxReturned>2<" in second
    assert sessions.receive_response_xml(ticket, _page(range(2, 4), 1), "", "") < 100
    assert sessions.send_request_xml(ticket, "", FILE, "US", 16, 0).count('iterator="Continue"') == 1
    assert sessions.receive_response_xml(ticket, _page(range(4, 5), 0), "", "") == 100
    assert len(work.delivered) == 1
    merged = work.delivered[0][1] or ""
    assert [f"<ListID>{i}</ListID>" in merged for i in range(5)] == [True] * 5
    assert 'iteratorRemainingCount="0"' in merged
    assert sessions.close_connection(ticket) == "3 requests, 0 errors"


def test_a_session_closed_mid_iterator_abandons_the_job() -> None:
    job = Job(
        "job-it",
        request(
            '<CustomerQueryRq requestID="1" iterator="Start"><MaxReturned>2</MaxReturned></CustomerQueryRq>'
        ),
    )
    sessions, work, _ = make([job])
    ticket = start(sessions)
    sessions.send_request_xml(ticket, HCP, FILE, "US", 16, 0)
    sessions.receive_response_xml(ticket, _page(range(0, 2), 3), "", "")
    sessions.close_connection(ticket)
    assert work.abandoned == ["job-it"] and not work.delivered


def test_authenticate_passes_wait_and_run_every() -> None:
    sessions, _, _ = make([customer_query()], wait_before_next=30, run_every=120)
    assert sessions.authenticate("bookkeeper", "s3cret")[2:] == ["30", "120"]


def test_wrong_passwords_pause_sign_ins_even_for_the_right_password_until_the_bucket_refills() -> None:
    """Issue 20: 200 wrong passwords in a row were each checked (15–22/s); now five are, then one per 10 s."""
    sessions, work, clock = make([customer_query()])
    for _ in range(5):
        assert sessions.authenticate("bookkeeper", "guess") == ["", "nvu"]
    assert sessions.authenticate("bookkeeper", "s3cret") == ["", "nvu"]  # not even checked
    assert "paused" in sessions.last_error and "seconds" in sessions.last_error
    assert work.pauses == [sessions.last_error]  # said once, when the pause began
    clock.now += timedelta(seconds=10)
    ticket, company = sessions.authenticate("bookkeeper", "s3cret")[:2]
    assert ticket and company not in ("nvu", "none", "busy")


def test_a_few_typos_are_not_braked() -> None:
    sessions, _, _ = make([customer_query()])
    for _ in range(4):
        assert sessions.authenticate("bookkeeper", "typo")[1] == "nvu"
    assert sessions.authenticate("bookkeeper", "s3cret")[0]


def test_calls_with_an_unknown_ticket_change_nothing() -> None:
    """A forged connectionError once set the portal's "Last error" with any ticket at all."""
    sessions, work, _ = make([customer_query()])
    ticket = start(sessions)
    before = sessions.last_error
    assert sessions.connection_error("forged", "0x80040408", "<script>") == "done"
    assert sessions.send_request_xml("forged", HCP, FILE, "US", 16, 0) == ""
    assert sessions.receive_response_xml("forged", rs("1"), "", "") == -1
    assert sessions.close_connection("forged").startswith("Unknown")
    assert "Unknown or expired ticket" in sessions.get_last_error("forged")
    assert work.connection_errors == [] and work.delivered == [] and work.ended == []
    assert sessions.last_error == before
    # The real session goes on.
    assert "CustomerQueryRq" in sessions.send_request_xml(ticket, HCP, FILE, "US", 16, 0)
