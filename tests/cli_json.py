"""What ``python -m core COMMAND LINK [--data PATH]`` prints, run in this process and parsed."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from typing import Any

from core.cli import main


def cli_json(command: str, link: str, data: Path | None = None) -> dict[str, Any]:
    """The JSON the command prints for ``link`` (on ``data``, else the bundled dataset)."""
    argv = [command, link] + ([] if data is None else ["--data", str(data)])
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(argv) == 0
    return json.loads(out.getvalue())
