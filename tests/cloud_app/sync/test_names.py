"""Names that collide in QuickBooks' shared name space get a stable, readable alternative."""

from cloud_app.sync.names import disambiguate


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
