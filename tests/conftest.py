"""Test-wide settings."""

from __future__ import annotations

import os

import pytest
from streamlit import config

# The store tests' fixtures (a throwaway PostgreSQL cluster, fresh stores of each kind).
pytest_plugins = ["tests.unit.store_support"]

# app.py turns an unexpected error into a plain message for users; tests want the error.
os.environ.setdefault("EXPLORER_STRICT", "1")

# Production hides error details from viewers (.streamlit/config.toml); AppTests want them.
config.set_option("client.showErrorDetails", "full")


@pytest.hookimpl(tryfirst=True)  # before xdist reads the marks (tests/e2e/test_grouping.py)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """With pytest-xdist (``-n 2 --dist loadgroup``, pyproject's addopts) the browser tests
    share one worker: each starts its own server and Chromium, and two of them at once on
    two cores would only slow both; unit and page tests fill the other worker."""
    for item in items:
        if "e2e" in item.nodeid.split("/"):
            item.add_marker(pytest.mark.xdist_group("browser"))
