"""Failed records say why and what to do, and only what can succeed is retried."""

from datetime import UTC, datetime, timedelta

from cloud_app.sync.failures import MAX_ATTEMPTS, backoff, from_hresult, from_status

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def test_locked_records_retry_with_growing_delays() -> None:
    f = from_status(3175, "Error", "locked", attempt=1, now=NOW)
    assert f.retry_at == NOW + timedelta(minutes=1)
    assert from_status(3175, "Error", "locked", attempt=4, now=NOW).retry_at == NOW + timedelta(minutes=8)
    assert backoff(30) == timedelta(hours=6)


def test_retries_stop_and_ask_a_person_after_the_limit() -> None:
    f = from_status(3170, "Error", "in use", attempt=MAX_ATTEMPTS, now=NOW)
    assert f.waits_for_person and "retry it by hand" in f.fix


def test_stale_edit_sequence_requeries_at_once_then_backs_off() -> None:
    first = from_status(3200, "Error", 'The provided edit sequence "1" is out-of-date.', attempt=1, now=NOW)
    assert first.needs_requery and first.retry_at == NOW
    assert from_status(3200, "Error", "", attempt=2, now=NOW).retry_at == NOW + timedelta(minutes=2)


def test_data_problems_wait_for_a_person_with_the_fix() -> None:
    msg = 'The name "Acme" of the list element is already in use.'
    f = from_status(3100, "Error", msg, attempt=1, now=NOW)
    assert f.waits_for_person and "already in use" in f.reason and "name list" in f.fix


def test_a_rejected_document_is_never_resent_but_quickbooks_closed_is() -> None:
    assert from_hresult("0x80040400", "bad XML", attempt=1, now=NOW).waits_for_person
    closed = from_hresult("0x80040408", "", attempt=1, now=NOW)
    assert closed.retry_at is not None and "Open QuickBooks" in closed.fix
