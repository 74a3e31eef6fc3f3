"""First-contact matching: mapping, e-mail, phone, name — and nothing guessed."""

from cloud_app.sync.matching import Ambiguous, Candidate, Matched, Party, Unmatched, match_all

QB = [
    Candidate("80000001-1", "Kowalski & Sons", emails=("office@kowalski.com",), phones=("775-555-0100",)),
    Candidate("80000002-1", "Baker Homes", emails=("info@baker.com",)),
    Candidate("80000003-1", "Baker Homes Inc.", phones=("(775) 555 0199",)),
    Candidate("80000004-1", "Lopez Remodeling"),
]


def test_mapping_then_email_then_phone_then_name() -> None:
    out = match_all(
        [
            Party("CO_1", "Anything", emails=("OFFICE@kowalski.com",)),
            Party("CO_2", "Other name", phones=("+1 775 555 0199",)),
            Party("CO_3", "LOPEZ REMODELING LLC"),
            Party("CO_4", "Nobody"),
            Party("CO_5", "whatever"),
        ],
        QB,
        {"CO_5": "80000009-1"},
    )
    assert out["CO_1"] == Matched("80000001-1", "email")
    assert out["CO_2"] == Matched("80000003-1", "phone")
    assert out["CO_3"] == Matched("80000004-1", "name")
    assert out["CO_4"] == Unmatched()
    assert out["CO_5"] == Matched("80000009-1", "mapping")


def test_two_customers_with_one_name_are_listed_not_guessed() -> None:
    out = match_all([Party("CO_9", "baker homes")], QB, {})
    reason = "2 QuickBooks customers share this name"
    assert out["CO_9"] == Ambiguous(("80000002-1", "80000003-1"), "name", reason)


def test_two_bitrix_records_never_share_one_customer_silently() -> None:
    out = match_all([Party("C_1", "Lopez Remodeling"), Party("CO_2", "Lopez Remodeling")], QB, {})
    assert isinstance(out["C_1"], Ambiguous) and isinstance(out["CO_2"], Ambiguous)


def test_a_customer_already_linked_elsewhere_is_not_matched_again() -> None:
    out = match_all([Party("CO_7", "Lopez Remodeling")], QB, {"CO_1": "80000004-1"})
    assert out["CO_7"] == Unmatched()


def test_the_portals_rules_drop_or_reorder_the_steps() -> None:
    party = Party("C_1", "Kowalski Builders", emails=("a@x.com",))
    by_email = Candidate("80-A", "Someone Else", emails=("A@X.com",))
    by_name = Candidate("80-B", "KOWALSKI  builders")
    assert match_all([party], [by_email, by_name], {})["C_1"] == Matched("80-A", "email")
    assert match_all([party], [by_email, by_name], {}, ("name", "email"))["C_1"] == Matched("80-B", "name")
    assert match_all([party], [by_name], {}, ("email", "phone")) == {"C_1": Unmatched()}  # names not trusted
