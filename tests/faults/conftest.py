"""The fault-injection suite (issue 18): the product as separate processes, faults at chosen moments.

The fast part (``@pytest.mark.faults_fast``) runs with every ``pytest``; the whole suite — Bitrix24
outages of 30 s and 10 min, every kill window of the cloud, the disk, QuickBooks closed — runs when
``QBB24_FAULTS=all`` (``docs/reliability.md``). Without it the rest is deselected, not skipped.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from .harness import Product, product

SWITCH = "QBB24_FAULTS"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "faults_fast: a fault scenario of the fast part (runs in CI)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get(SWITCH, "").lower() == "all":
        return
    here = Path(__file__).parent
    chosen: list[pytest.Item] = []
    left: list[pytest.Item] = []
    for item in items:
        inside = Path(str(item.fspath)).is_relative_to(here)
        (left if inside and item.get_closest_marker("faults_fast") is None else chosen).append(item)
    if left:
        config.hook.pytest_deselected(items=left)
        items[:] = chosen


@pytest.fixture
def world(tmp_path: Path) -> Iterator[Product]:
    """Bitrix24, the cloud and the agent running as processes, installed and paired; QuickBooks on disk."""
    with product(tmp_path / "product") as p:
        yield p
