from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.sandbox.webconnector.endpoint import Endpoint, FakeQuickBooks, serve_endpoint


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    yield from serve_endpoint()


@pytest.fixture
def quickbooks() -> FakeQuickBooks:
    return FakeQuickBooks()
