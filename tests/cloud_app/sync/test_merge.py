"""The three-way merge of synced fields: one-sided changes flow across, two-sided ones follow the
configured winner and are reported, and the link's state says what was already decided."""

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from cloud_app.sync.merge import LinkState, Merge, Sending, decided, dumps, given_up, loads, merge, sent

NOW = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
BASE = {"title": "Acme", "phones": ["5125550100"], "emails": ["ap@acme.example"]}


def test_unchanged_on_both_sides_is_a_noop() -> None:
    m = merge(BASE, BASE, dict(BASE), dict(BASE), now=NOW)
    assert m.is_noop and m.conflicts == ()


def test_a_change_on_one_side_wins_over_the_unchanged_other_side() -> None:
    m = merge(BASE, BASE, {**BASE, "emails": ["new@acme.example"]}, {**BASE, "title": "Acme Ltd"}, now=NOW)
    assert m.to_b24 == {"emails": ["new@acme.example"]}
    assert m.to_qb == {"title": "Acme Ltd"}
    assert m.conflicts == ()


def test_both_sides_changed_to_the_same_value_is_no_conflict() -> None:
    m = merge(BASE, BASE, {**BASE, "title": "Acme Ltd"}, {**BASE, "title": "Acme Ltd"}, now=NOW)
    assert m.is_noop and m.conflicts == ()


def test_both_changed_to_different_values_the_configured_winner_takes_both_sides() -> None:
    qb, b24 = {**BASE, "title": "Acme Inc"}, {**BASE, "title": "Acme Ltd"}
    by_qb = merge(BASE, BASE, qb, b24, now=NOW, winner="qb")
    assert by_qb.to_b24 == {"title": "Acme Inc"} and by_qb.to_qb == {}
    (c,) = by_qb.conflicts
    assert (c.field, c.qb_value, c.b24_value, c.winner, c.at, c.initial) == (
        "title", "Acme Inc", "Acme Ltd", "qb", NOW, False)  # fmt: skip
    assert c.lost == "Acme Ltd"
    by_b24 = merge(BASE, BASE, qb, b24, now=NOW, winner="b24")
    assert by_b24.to_qb == {"title": "Acme Ltd"} and by_b24.to_b24 == {}
    assert by_b24.conflicts[0].winner == "b24" and by_b24.conflicts[0].lost == "Acme Inc"


def test_a_per_field_winner_overrides_the_default() -> None:
    qb = {**BASE, "title": "Acme Inc", "phones": ["5125550111"]}
    b24 = {**BASE, "title": "Acme Ltd", "phones": ["5125550122"]}
    m = merge(BASE, BASE, qb, b24, now=NOW, winner="qb", winners={"title": "b24"})
    assert m.to_qb == {"title": "Acme Ltd"} and m.to_b24 == {"phones": ["5125550111"]}
    assert [(c.field, c.winner) for c in m.conflicts] == [("phones", "qb"), ("title", "b24")]


def test_a_field_cleared_on_one_side_is_cleared_on_the_other() -> None:
    m = merge(BASE, BASE, {**BASE, "phones": []}, dict(BASE), now=NOW)
    assert m.to_b24 == {"phones": []} and m.conflicts == ()
    m = merge(BASE, BASE, dict(BASE), {**BASE, "emails": []}, now=NOW)
    assert m.to_qb == {"emails": []} and m.conflicts == ()


def test_a_field_that_never_had_a_synced_value() -> None:
    # one side has a value, the other nothing: the value goes across, nothing is lost
    m = merge(
        None, None, {"title": "Acme", "phones": []}, {"title": "Acme", "phones": ["5125550100"]}, now=NOW
    )
    assert m.to_qb == {"phones": ["5125550100"]} and m.conflicts == ()
    m = merge({"title": "Acme"}, None, {"title": "Acme", "emails": ["a@x"]}, {"title": "Acme"}, now=NOW)
    assert m.to_b24 == {"emails": ["a@x"]} and m.conflicts == ()
    # two different values and no base: the winner, reported as a first difference
    m = merge(None, None, {"title": "Acme Inc"}, {"title": "Acme Ltd"}, now=NOW, winner="b24")
    assert m.to_qb == {"title": "Acme Ltd"} and m.conflicts[0].initial


def test_a_pair_that_started_different_stays_so_until_one_side_changes() -> None:
    base_b24 = {**BASE, "title": "ACME"}
    assert merge(BASE, base_b24, dict(BASE), dict(base_b24), now=NOW).is_noop
    m = merge(BASE, base_b24, dict(BASE), {**base_b24, "title": "Acme Corp"}, now=NOW)
    assert m.to_qb == {"title": "Acme Corp"}


values = st.sampled_from(["", "a", "b", "c"])


@given(values, values, values, st.sampled_from(["qb", "b24"]))
def test_a_change_on_one_side_alone_is_never_overwritten(was: str, q: str, b: str, winner: str) -> None:
    m = merge({"f": was}, {"f": was}, {"f": q}, {"f": b}, now=NOW, winner=winner)  # type: ignore[arg-type]
    after_qb, after_b24 = m.to_qb.get("f", q), m.to_b24.get("f", b)
    assert after_qb == after_b24  # the two sides end the same
    if q == was:
        assert after_b24 == b  # only Bitrix24 changed (or nobody): its value stays
    if b == was:
        assert after_qb == q
    assert bool(m.conflicts) == (q != was and b != was and q != b)


def test_the_state_remembers_what_bitrix24_showed_and_what_is_still_on_its_way() -> None:
    before = LinkState(dict(BASE), dict(BASE), dict(BASE), "h1")
    qb = {**BASE, "emails": ["new@acme.example"]}
    b24 = {**BASE, "title": "Acme Ltd"}
    m = merge(before.qb, before.b24, qb, b24, now=NOW)
    after = decided(before, m, qb, b24, "h2", "17")
    # Bitrix24 will show both edits: its event is recognised as handled
    assert after.seen == {**BASE, "title": "Acme Ltd", "emails": ["new@acme.example"]}
    assert after.handled(after.seen) and not after.handled(b24)
    assert after.sending == Sending(("title",), "17") and after.is_waiting_for(after.seen, "17")
    assert not after.is_waiting_for(after.seen, "18")  # QuickBooks changed since the Mod was built
    # until QuickBooks took it, the title still counts as changed in Bitrix24 (decided again on a 3200)
    again = merge(after.qb, after.b24, qb, after.seen, now=NOW)
    assert again.to_qb == {"title": "Acme Ltd"} and again.to_b24 == {}
    done = sent(after, after.seen, "h3")
    assert done.qb == done.b24 == done.seen and done.sending is None
    assert merge(done.qb, done.b24, done.seen, done.seen, now=NOW) == Merge()
    refused = given_up(after)
    assert merge(refused.qb, refused.b24, qb, refused.seen, now=NOW).is_noop  # not tried again and again


def test_the_state_survives_storage_and_reads_the_older_form() -> None:
    state = LinkState(dict(BASE), {**BASE, "title": "ACME"}, {**BASE, "title": "ACME", "phones": []}, "h",
                      Sending(("phones",), "42", "job_1"))  # fmt: skip
    assert loads(dumps(state)) == state
    older = '{"base": {"title": "Acme", "phones": [], "emails": []}, "b24": {"title": "ACME"}, "qb": "h"}'
    read = loads(older)
    assert read is not None and read.b24["title"] == "ACME" and read.seen == read.b24 and read.sending is None
    assert loads(None) is None and loads("3f2a…") is None  # never synced field by field
