"""Print the conformance count at the end of the run."""

from __future__ import annotations

import sys

import pytest


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for name, module in list(sys.modules.items()):
        if name.rsplit(".", 1)[-1] == "test_metafor" and getattr(module, "STATS", None):
            stats = module.STATS
            if stats["files"]:
                terminalreporter.write_line(
                    f"conformance: {stats['values']} values compared in {stats['files']} files"
                )
            fresh = module.FRESH_STATS
            if fresh["files"]:
                terminalreporter.write_line(
                    f"conformance (fresh metafor cases): {fresh['values']} values compared "
                    f"in {fresh['files']} files"
                )
