"""Fixtures of the registry tests (helpers in ``registry_fixtures``)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from registry.registry_fixtures import Registry, start_registry


@pytest.fixture
async def registry(env) -> AsyncIterator[Registry]:
    """The registry app started on the test's infrastructure, called as an operator."""
    async for started in start_registry(env):
        yield started
