"""Request bodies capped in size and depth (``cloud_app/bodies.py``)."""

from __future__ import annotations

import pytest

from cloud_app.bodies import MAX_DEPTH, TooDeep, depth, loads_capped


def test_depth_counts_nesting_without_recursion() -> None:
    assert depth(1) == 0 and depth({}) == 1 and depth({"a": [1, {"b": []}]}) == 4
    deep: list[object] = []
    for _ in range(50_000):
        deep = [deep]
    assert depth(deep) == 50_001


def test_json_deeper_than_the_cap_or_recursion_is_refused_as_not_json() -> None:
    assert loads_capped('{"a": [1, 2]}') == {"a": [1, 2]}
    assert loads_capped("[" * MAX_DEPTH + "]" * MAX_DEPTH) is not None
    with pytest.raises(TooDeep):
        loads_capped("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1))
    with pytest.raises(ValueError):
        loads_capped("[" * 100_000 + "]" * 100_000)  # past the interpreter's recursion limit
