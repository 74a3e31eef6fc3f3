"""The sync choices a portal's administrator makes: every value checked, each problem named."""

from __future__ import annotations

import pytest

from cloud_app import settings


def test_defaults_cover_every_choice_and_match_the_engines_rules() -> None:
    from cloud_app.sync.matching import RULES

    current = settings.current({})
    assert set(current) == set(settings.CHOICES)
    assert tuple(current["matching.rules"]) == RULES and current["paid_stages"] == {}


def test_valid_changes_are_normalised() -> None:
    changes = settings.validate({"matching.rules": ["phone", "email"], "paid_stages": {0: "WON", "3": ""}})
    assert changes == {"matching.rules": ["phone", "email"], "paid_stages": {"0": "WON"}}


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"matching.rules": []}, "matching.rules"),
        ({"matching.rules": ["email", "email"]}, "matching.rules"),
        ({"matching.rules": ["fax"]}, "matching.rules"),
        ({"paid_stages": {"main": "WON"}}, "paid_stages"),
        ({"paid_stages": {"0": "W" * 51}}, "paid_stages"),
        ({"nope": 1}, "nope: no such setting"),
        ({"conflict.winner": "both"}, "conflict.winner"),
    ],
)
def test_a_wrong_value_is_refused_with_its_name(change: dict[str, object], named: str) -> None:
    with pytest.raises(ValueError, match=named.replace(".", r"\.")):
        settings.validate(change)
