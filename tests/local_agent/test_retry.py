"""The link's pure retry rules: the delays between tries and when a refusal means "pair again"."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import islice

from local_agent.retry import Refusals, backoff

T0 = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


def test_backoff_doubles_up_to_a_minute_around_the_middle_of_its_jitter() -> None:
    assert list(islice(backoff(jitter=lambda: 0.5), 9)) == [1, 2, 4, 8, 16, 32, 60, 60, 60]
    low, high = list(islice(backoff(jitter=lambda: 0.0), 3)), list(islice(backoff(jitter=lambda: 1.0), 3))
    assert low == [0.5, 1, 2] and high == [1.5, 3, 6]


def test_one_refusal_is_not_revocation_but_refusals_that_hold_are() -> None:
    refusals = Refusals()  # 5 tries over at least 10 minutes
    assert not any(refusals.refused(T0 + timedelta(seconds=s)) for s in (0, 1, 3, 7, 15, 31, 91))
    assert not refusals.refused(T0 + timedelta(minutes=9))
    assert refusals.refused(T0 + timedelta(minutes=10))


def test_many_quick_refusals_alone_are_not_revocation() -> None:
    refusals = Refusals()
    assert not any(refusals.refused(T0 + timedelta(seconds=s)) for s in range(50))


def test_a_good_connection_starts_the_count_again() -> None:
    refusals = Refusals(tries=2, span=timedelta(minutes=1))
    refusals.refused(T0)
    refusals.connected()
    assert not refusals.refused(T0 + timedelta(minutes=5))
    assert refusals.refused(T0 + timedelta(minutes=6))


def test_the_clouds_revoked_close_then_a_refusal_is_believed_at_once() -> None:
    refusals = Refusals()
    refusals.closed_as_revoked()
    assert refusals.refused(T0)
