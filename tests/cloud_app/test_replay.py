"""Event freshness and once-only delivery, as plain values (``cloud_app/replay.py``)."""

from __future__ import annotations

from cloud_app.replay import fingerprint, remember_until, why_stale

NOW = 1_800_000_000.0


def test_an_event_older_than_the_window_is_stale_and_says_how_old() -> None:
    assert why_stale(str(int(NOW - 60)), NOW, 900) is None
    assert why_stale(str(int(NOW - 901)), NOW, 900) == "event sent 901 s ago"
    assert why_stale("", NOW, 900) == "event without a time"
    assert why_stale("soon", NOW, 900) == "event without a time"


def test_a_clock_ahead_is_no_replay_but_its_digest_is_kept_until_it_ages_out() -> None:
    ahead = str(int(NOW + 7200))
    assert why_stale(ahead, NOW, 900) is None
    assert remember_until(ahead, NOW, 900) == NOW + 7200 + 900
    assert remember_until(str(int(NOW - 60)), NOW, 900) == NOW + 900


def test_a_delivery_is_fingerprinted_by_every_field_in_any_order() -> None:
    one = fingerprint([("event", "ONCRMDEALADD"), ("data[FIELDS][ID]", "5")])
    assert one == fingerprint([("data[FIELDS][ID]", "5"), ("event", "ONCRMDEALADD")])
    assert one != fingerprint([("event", "ONCRMDEALADD"), ("data[FIELDS][ID]", "6")])
