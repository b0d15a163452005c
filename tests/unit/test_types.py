"""The type checker (mypy, pinned in requirements-dev.txt) finds nothing in core/, ui/, pages/
and app.py, and every ``type: ignore`` left in the code names its error and says why."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHECKED = ("core", "ui", "pages", "app.py")
pytestmark = pytest.mark.slow  # a cold mypy run takes tens of seconds


def test_mypy_finds_nothing() -> None:
    api = pytest.importorskip(
        "mypy.api", reason="mypy is not installed (pip install -r requirements-dev.txt)"
    )
    out, err, status = api.run(
        ["--config-file", str(ROOT / "pyproject.toml"), *(str(ROOT / d) for d in CHECKED)]
    )
    assert status == 0, out + err
    assert out.startswith("Success: no issues found"), out


def test_mypy_checks_core_by_default() -> None:
    """A plain ``mypy`` in the project folder checks the same files (pyproject's ``files``)."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    files = re.search(r"^\[tool\.mypy\][^\[]*?^files = \[(.*?)\]", text, re.M | re.S)
    assert files is not None
    assert {f.strip().strip('"') for f in files.group(1).split(",")} >= set(CHECKED)


def test_mypy_is_pinned() -> None:
    pins = (ROOT / "requirements-dev.txt").read_text(encoding="utf-8").splitlines()
    assert any(re.fullmatch(r"mypy==\d+(\.\d+)+", line.strip()) for line in pins)


_IGNORE = re.compile(r"#\s*type:\s*ignore(?P<codes>\[[^\]]*\])?(?P<rest>.*)$")


def _ignores() -> list[tuple[str, int, str]]:
    found = []
    for name in CHECKED:
        top = ROOT / name
        for path in sorted(top.rglob("*.py")) if top.is_dir() else [top]:
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if _IGNORE.search(line):
                    found.append((str(path.relative_to(ROOT)), n, line))
    return found


def _without_reason(line: str) -> bool:
    """Whether a line's ``type: ignore`` lacks an error code or a reason of its own."""
    m = _IGNORE.search(line)
    if m is None:
        return False
    rest = re.sub(r"#\s*noqa(?::\s*[A-Z]+\d+(?:\s*,\s*[A-Z]+\d+)*)?", "", m.group("rest"))
    reason = rest.strip().lstrip("#").strip()
    return not m.group("codes") or len(reason) < 10


@pytest.mark.parametrize(
    ("line", "bad"),
    [
        ("x = f()  # type: ignore", True),
        ("x = f()  # type: ignore[arg-type]", True),
        ("x = f()  # type: ignore[arg-type]  # noqa: E731", True),
        ("x = f()  # type: ignore  # openpyxl has no type hints", True),
        ("x = f()  # type: ignore[misc]  # openpyxl has no type hints", False),
        ("x = f()  # type: ignore[misc]  # noqa: E731  # openpyxl is untyped", False),
        ("x = f()  # a comment", False),
    ],
)
def test_reason_rule(line: str, bad: bool) -> None:
    assert _without_reason(line) is bad


def test_every_type_ignore_names_its_error_and_says_why() -> None:
    bad = [f"{path}:{n}: {line.strip()}" for path, n, line in _ignores() if _without_reason(line)]
    assert not bad, "type: ignore without an error code and a reason:\n" + "\n".join(bad)


def test_view_state_choices_are_the_engines_own() -> None:
    """ViewState's choice types hold the same values as the types the engine accepts, so a
    state's value type-checks where the engine wants its own Literal."""
    from typing import get_args

    from core.data import estimable
    from core.state import view
    from core.stats import effects, pooling

    # Mantel-Haenszel and Peto are pooled by core.stats.mh (view.TABLE_METHODS), not pool();
    # the Bayesian model (core.stats.bayes) is a choice of the view, not an rma estimator
    assert set(get_args(view.Method)) == {*get_args(pooling.Method), *view.TABLE_METHODS, "BAYES"}
    pairs = [
        (view.ZeroTo, effects.ZeroCellRule),
        (view.CiMethod, pooling.CIMethod),
        (view.Outcome, estimable.Outcome),
        (view.Measure, estimable.MeasureName),
        (view.TimePoints, estimable.TimeRule),
    ]
    for ours, theirs in pairs:
        assert set(get_args(ours)) == set(get_args(theirs)), (ours, theirs)
