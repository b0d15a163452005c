"""The start-up warm-up's import list (ui/warmup.py) and the link shown to copy
(ui/markup.link_code)."""

from __future__ import annotations

import sys
from pathlib import Path

from ui import warmup
from ui.markup import link_code


def test_script_imports_lists_modules_and_from_imports(tmp_path: Path):
    one = tmp_path / "one.py"
    one.write_text(
        "from __future__ import annotations\nimport os, json as j\n"
        "from ui import blocks\nfrom core.fmt import ratio\nfrom . import local\n"
        "def f():\n    import csv\n",
        encoding="utf-8",
    )
    two = tmp_path / "two.py"
    two.write_text("import os\nfrom ui import cache\n", encoding="utf-8")
    assert warmup.script_imports([one, two]) == (
        "os",
        "json",
        "ui",
        "ui.blocks",
        "core.fmt",
        "core.fmt.ratio",
        "ui.cache",
    )  # top level only (not csv), absolute only (not .local), no __future__


def test_import_all_imports_modules_and_skips_attributes():
    names = ("core.fmt", "core.fmt.ratio", "core.report", "core.report.sof", "os.path")
    # core.fmt.ratio is a function; os is a module, not a package: os.path is its attribute
    assert warmup.import_all(names) == 3
    assert {"core.fmt", "core.report", "core.report.sof"} <= set(sys.modules)


def test_the_pages_scripts_are_the_entry_point_and_every_page():
    names = {p.name for p in warmup.SCRIPTS}
    assert {"app.py", "overview.py", "presentation.py", "studies.py"} <= names


def test_link_code_shows_the_link_verbatim_as_inline_code():
    link = "http://localhost:8501/?design=RCT&exclude=Yu2014&why=DFS.imprecision.OIS%20met"
    assert link_code(link) == f"`{link}`"
    assert link_code("a`b") == "`` a`b ``"  # a backtick (never in an encoded link) widens it
