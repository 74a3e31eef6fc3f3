"""Status codes tell the sync engine what to do and a person what it means."""

from shared.qbxml.status import CODES, Kind, explain_hresult, lookup


def test_codes_that_drive_decisions() -> None:
    assert lookup(0).kind is Kind.OK and lookup(1).kind is Kind.OK and not lookup(1).is_error
    assert lookup(500).severity == "Warn"
    assert lookup(3200).kind is Kind.STALE and lookup(3200).is_retryable
    assert all(lookup(c).is_retryable for c in (3170, 3175, 3176, 3231))
    assert lookup(3100).kind is Kind.FIX_DATA and "name list" in lookup(3100).action
    assert not lookup(3140).is_retryable and lookup(3260).kind is Kind.SETUP


def test_every_listed_error_tells_a_person_what_to_do() -> None:
    for info in CODES.values():
        if info.is_error:
            assert info.action, info.code


def test_unknown_codes_are_classified_by_range() -> None:
    assert lookup(520).kind is Kind.WARNING
    assert lookup(3999, "Error", "odd").meaning == "odd" and not lookup(3999).is_retryable
    assert lookup(9001).kind is Kind.RETRY


def test_hresults_are_explained() -> None:
    meaning, action = explain_hresult("0X80040400")
    assert "parse" in meaning
    assert "QuickBooks" in explain_hresult("0x8004dead")[0]


def test_a_wrong_company_file_is_told_apart_from_a_closed_quickbooks() -> None:
    """Both come as 0x80040408 through ``connectionError`` (quickbooks-webconnector.md §2); only QuickBooks'
    message says another file is open (the simulator's wording, UNCONFIRMED there)."""
    from shared.qbxml.status import BLOCKED, CLOSED, WRONG_FILE, WRONG_FILE_CODE, connection_cause

    assert connection_cause("0x80040408", "Could not start QuickBooks.") == CLOSED
    assert connection_cause("0x80040401", "") == CLOSED
    wrong = "A QuickBooks company data file is already open and it is different from the one requested."
    assert connection_cause("0x80040408", wrong) == WRONG_FILE
    assert connection_cause(WRONG_FILE_CODE, "QuickBooks has 'x' open") == WRONG_FILE  # the agent's own
    assert connection_cause("0x80040414", "A modal dialog box is showing") == BLOCKED
