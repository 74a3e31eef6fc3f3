"""Names that collide in QuickBooks' shared name space get a stable, readable alternative."""

from hypothesis import given
from hypothesis import strategies as st

from cloud_app.sync.names import (
    COLON_NOTE,
    Choice,
    ListName,
    alternatives,
    choose,
    disambiguate,
    fit_name,
)
from cloud_app.sync.text import Unstorable, storable


def test_free_names_are_kept() -> None:
    assert disambiguate("Acme Supply", "customer", {"Other"}) == "Acme Supply"


def test_collisions_get_a_kind_suffix_then_a_number() -> None:
    taken = {"acme supply"}
    assert disambiguate("Acme Supply", "customer", taken) == "Acme Supply (Customer)"
    taken.add("Acme Supply (Customer)")
    assert disambiguate("Acme Supply", "customer", taken) == "Acme Supply (Customer 2)"


def test_result_always_fits_41_characters_and_is_deterministic() -> None:
    long = "Northern Nevada Residential Construction Services"
    a = disambiguate(long, "customer", {long[:41].casefold()})
    assert len(a) <= 41 and a.endswith("(Customer)")
    assert a == disambiguate(long, "customer", {long[:41].casefold()})


def test_a_name_we_send_has_no_colon_and_says_so() -> None:
    assert fit_name("Acme: West Division") == ListName("Acme - West Division", (COLON_NOTE,))
    assert fit_name("10:30 Service").value == "10-30 Service"
    assert fit_name("Acme West").notes == ()


def test_a_cut_name_is_marked_shortened_and_still_fits() -> None:
    fitted = fit_name("Northern Nevada Residential Construction Services")
    assert fitted.value == "Northern Nevada Residential Construction" and fitted.shortened
    assert any("shortened to 41" in n for n in fitted.notes)
    assert not fit_name("Acme").shortened
    item = fit_name("Монтаж: трубопровода и арматуры", 31, field="item Name")
    assert ":" not in item.value and len(item.value) <= 31 and item.shortened


@given(st.text(max_size=120))
def test_every_fitted_name_is_storable_colon_free_and_within_the_limit(text: str) -> None:
    try:
        fitted = fit_name(text, 31)
    except Unstorable:
        return
    assert ":" not in fitted.value and len(fitted.value) <= 31
    assert all(storable(ch) for ch in fitted.value)


def test_alternatives_are_what_disambiguate_chooses_from() -> None:
    wanted = "Sierra Mountain Landscaping and Snow"
    names = alternatives(wanted)
    assert names[:3] == [
        wanted,
        "Sierra Mountain Landscaping (Customer)",
        "Sierra Mountain Landscaping (Customer 2)",
    ]
    assert all(len(n) <= 41 for n in names)
    for n in range(1, len(names)):
        assert disambiguate(wanted, "customer", names[:n]) == names[n]


def test_a_whole_name_found_unlinked_is_ours() -> None:
    choice = choose(ListName("Acme"), ("80-1", "ACME"), {"ACME"}, linked_elsewhere=False)
    assert choice.is_match and choice.list_id == "80-1" and choice.note is None


def test_a_customer_found_under_a_cut_name_is_a_taken_name() -> None:
    wanted = fit_name("Northern Nevada Residential Construction Services")
    found = ("80-1", "Northern Nevada Residential Construction")
    choice = choose(wanted, found, {found[1]}, linked_elsewhere=False)
    assert not choice.is_match and choice.name == "Northern Nevada Residential (Customer)"
    assert "starts the same way" in (choice.note or "")


def test_a_customer_linked_to_another_record_is_a_taken_name() -> None:
    choice = choose(ListName("Acme"), ("80-1", "Acme"), {"Acme", "Acme (Customer)"}, linked_elsewhere=True)
    assert not choice.is_match and choice.name == "Acme (Customer 2)"
    assert "another Bitrix24 record" in (choice.note or "")


def test_a_name_taken_by_another_list_gets_the_next_free_one() -> None:
    choice = choose(ListName("Acme Supply"), None, {"acme supply"}, linked_elsewhere=False)
    assert choice.name == "Acme Supply (Customer)" and "another list" in (choice.note or "")
    assert choose(ListName("Free"), None, set(), linked_elsewhere=False) == Choice("Free")
