"""The wrong-password brake on its own: five tries, then one per refill, in constant space."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from local_agent.soap.throttle import Throttle

T0 = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


def test_five_tries_then_one_per_ten_seconds() -> None:
    brake = Throttle()
    for _ in range(5):
        assert brake.allows(T0)
        brake.failed(T0)
    assert not brake.allows(T0)
    assert brake.wait(T0) == timedelta(seconds=10)
    assert not brake.allows(T0 + timedelta(seconds=9))
    assert brake.allows(T0 + timedelta(seconds=10))
    brake.failed(T0 + timedelta(seconds=10))
    assert not brake.allows(T0 + timedelta(seconds=19))


def test_it_refills_to_its_capacity_and_no_further() -> None:
    brake = Throttle(capacity=2, refill=timedelta(seconds=1))
    brake.failed(T0)
    brake.failed(T0)
    later = T0 + timedelta(hours=1)
    assert brake.allows(later)
    brake.failed(later)
    brake.failed(later)
    assert not brake.allows(later)


def test_a_clock_that_steps_back_does_not_refill() -> None:
    brake = Throttle(capacity=1)
    brake.failed(T0)
    assert not brake.allows(T0 - timedelta(minutes=5))
    assert not brake.allows(T0 + timedelta(seconds=5))
