"""The browser tests really share one worker under ``--dist loadgroup`` (tests/conftest.py).

pytest-xdist 3.8 groups a test by appending ``@group`` to its node id; pytest 9.2 ignores that
assignment, so the browser tests were spread over both workers (two servers and two Chromiums
on two cores) with nothing to show it. This test fails if the grouping stops working."""

from __future__ import annotations

import pytest


def test_browser_tests_are_grouped_on_one_worker(request: pytest.FixtureRequest) -> None:
    if not hasattr(request.config, "workerinput"):
        pytest.skip("not under pytest-xdist (-n 0): nothing is distributed")
    if request.config.getvalue("loadgroup") is not True:
        pytest.skip("not --dist loadgroup")
    assert request.node.nodeid.endswith("@browser"), request.node.nodeid
