"""The company's calendar: the QuickBooks PC's offset (agent first, then QuickBooks' own times), never
silently UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

from cloud_app.sync.company_clock import UNKNOWN_NOTE, company_clock

EVENING = datetime(2026, 12, 3, 2, 30, tzinfo=UTC)  # 18:30 on 2 December in California


def test_the_agents_report_gives_californias_date_on_a_california_evening() -> None:
    clock = company_clock({"local_time": "2026-12-02T09:00:00-08:00"})
    assert clock.source == "agent" and clock.note is None
    assert clock.today(EVENING) == date(2026, 12, 2)
    assert clock.now(EVENING).utcoffset() == timedelta(hours=-8) and clock.now(EVENING) == EVENING


def test_the_agent_wins_over_quickbooks_times_and_those_over_nothing() -> None:
    tokyo = datetime(2026, 12, 1, 10, 0, tzinfo=timezone(timedelta(hours=9)))
    summer = datetime(2026, 7, 1, 10, 0, tzinfo=timezone(timedelta(hours=-7)))
    winter = datetime(2026, 11, 30, 10, 0, tzinfo=timezone(timedelta(hours=-8)))
    assert company_clock({"local_time": tokyo.isoformat()}, [winter]).offset == timedelta(hours=9)
    by_qb = company_clock({"local_time": None}, [summer.isoformat(), winter, "not a time", None])
    assert by_qb.source == "quickbooks" and by_qb.offset == timedelta(hours=-8)  # the newest one
    assert by_qb.today(EVENING) == date(2026, 12, 2)


def test_an_unknown_zone_is_utc_and_says_so() -> None:
    for session in (None, {}, {"local_time": "2026-12-02T09:00:00"}):  # a naive time says nothing
        clock = company_clock(session)
        assert clock.offset is None and clock.note == UNKNOWN_NOTE
        assert clock.today(EVENING) == date(2026, 12, 3)
