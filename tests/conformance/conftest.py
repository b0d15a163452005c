"""Print the conformance count at the end of the run."""

from __future__ import annotations

import pytest


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    from tests.conformance.test_metafor import STATS

    if STATS["files"]:
        terminalreporter.write_line(
            f"conformance: {STATS['values']} values compared in {STATS['files']} files"
        )
