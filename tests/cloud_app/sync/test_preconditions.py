"""A deal's write is checked against QuickBooks' answers in its own lookup: the closing date and the
sales reps as they are now."""

from __future__ import annotations

from datetime import date

from cloud_app.sync import preconditions
from sandbox.quickbooks import SimulatedQuickBooks
from sandbox.quickbooks.seed import seed_company
from shared.qbxml.builder import MessageSet, build
from shared.qbxml.parser import parse_response


def _answers(qb: SimulatedQuickBooks) -> dict:
    asked = build(MessageSet(preconditions.requests(), on_error="continueOnError"), version="13.0").xml
    return preconditions.read(parse_response(qb.process(asked)).results)


def test_the_lookup_reads_the_closing_date_and_every_sales_rep() -> None:
    qb = SimulatedQuickBooks(seed_company())
    assert _answers(qb)["closing_date"] is None
    qb.company.closing_date = date(2026, 11, 30)
    fresh = _answers(qb)
    assert fresh["closing_date"] == "2026-11-30"
    initials = {r["initial"] for r in fresh["sales_reps"]}
    assert {"GS", "DM", "EM"} <= initials and all(r["list_id"] for r in fresh["sales_reps"])


def test_a_fresh_answer_wins_over_the_last_known_closing_date() -> None:
    assert preconditions.closing_date({"closing_date": None}, "2026-11-30") is None  # reopened
    assert preconditions.closing_date({}, "2026-11-30") == "2026-11-30"  # not answered this time
    assert preconditions.closing_date(None, None) is None


def test_a_document_dated_on_or_before_the_closing_date_is_a_problem() -> None:
    assert preconditions.closed_period("2026-11-30", date(2026, 12, 1)) is None
    assert "closed through 2026-11-30" in (
        preconditions.closed_period("2026-11-30", date(2026, 11, 30)) or ""
    )
    assert preconditions.closed_period(None, date(2026, 11, 30)) is None


def test_a_sales_rep_quickbooks_no_longer_has_is_left_off_with_a_note() -> None:
    fresh = {"sales_reps": [{"list_id": "R1", "initial": "GS", "name": "", "active": True},
                            {"list_id": "R2", "initial": "OLD", "name": "", "active": False}]}  # fmt: skip
    assert preconditions.usable_rep("R1", fresh, {}) == ("R1", None)
    rep, note = preconditions.usable_rep("R9", fresh, {"R9": "XY"})
    assert rep is None and note is not None and "“XY” is no longer in QuickBooks" in note
    rep, note = preconditions.usable_rep("R2", fresh, {})
    assert rep is None and note is not None and "inactive" in note
    assert preconditions.usable_rep("R9", {}, {}) == ("R9", None)  # not read this time: as chosen
    assert preconditions.usable_rep(None, fresh, {}) == (None, None)
