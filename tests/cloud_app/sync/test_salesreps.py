"""Sales reps and users map both ways; unmapped users fall back to the setting."""

from cloud_app.sync.salesreps import Rep, User, initials, map_users, rep_for, unknown_choices, user_for

REPS = [Rep("1", "AR", "Ruiz, Anna"), Rep("2", "BK", "Bill Kowalski"), Rep("3", "OLD", "Old Timer", False)]
USERS = [
    User("11", "Anna", "Ruiz"),
    User("12", "Bill", "Kowalski"),
    User("13", "Old", "Timer"),
    User("14", "Nina", "Diaz"),
]


def test_names_match_users_to_active_reps_and_choices_win() -> None:
    # 12 would match rep 2 by name, but a person gave rep 2 to user 14; rep 3 is inactive
    assert map_users(REPS, USERS, {"14": "2"}) == {"14": "2"}
    assert map_users(REPS, USERS, {}) == {"12": "2"}


def test_last_first_entity_names_match_too() -> None:
    # "Ruiz, Anna" and "Anna Ruiz" normalise differently; only an exact normalised match is trusted
    assert "11" not in map_users(REPS, USERS, {})


def test_fallbacks_and_reverse_lookup() -> None:
    mapping = {"12": "2"}
    assert rep_for("12", mapping, "9") == "2" and rep_for("99", mapping, "9") == "9"
    assert user_for("2", mapping, "1") == "12" and user_for("7", mapping, "1") == "1"


def test_initials_are_unique_and_at_most_five_characters() -> None:
    u = User("1", "Анна", "Руиз")
    assert initials(u, []) == "AR"
    assert initials(u, ["AR"]) == "ARUI"
    assert initials(u, ["AR", "ARUI"]) == "AR2"
    assert all(len(initials(u, t)) <= 5 for t in ([], ["AR"], ["AR", "ARUI"]))


def test_a_sales_rep_setting_names_a_rep_quickbooks_listed_or_stays_as_it_was() -> None:
    known = {"R1", "R2"}
    before = {"salesrep.default": "GONE", "salesrep.users": {"7": "GONE2"}}
    assert unknown_choices({"salesrep.default": "R1", "salesrep.users": {"7": "R2"}}, known, before) == []
    assert unknown_choices({"salesrep.default": None, "salesrep.users": {}}, known, before) == []
    assert (
        unknown_choices({"salesrep.default": "GONE", "salesrep.users": {"7": "GONE2"}}, known, before) == []
    )
    assert unknown_choices({"salesrep.default": "Dave", "salesrep.users": {"8": "GONE2"}}, known, before) == [
        "Dave",
        "GONE2",
    ]  # a removed rep cannot be given to someone new
    assert unknown_choices({"salesrep.default": "R1"}, None, {}) == ["R1"]  # never read: nothing is known
    assert unknown_choices({"document_kind": "Invoice"}, None, {}) == []
