"""Fixtures of the web tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.web.roomutil import Room, create_room


@pytest.fixture
def classroom(client: TestClient) -> Iterator[tuple[TestClient, Room]]:
    yield client, create_room(client)
