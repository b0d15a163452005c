"""Why a page does not show an analysis for this selection: the texts every view shares."""

from __future__ import annotations

from core import fmt


def too_few(what: str, need: int, k: int) -> str:
    """Why an analysis that needs ``need`` included studies is not shown for ``k``."""
    return (
        f"{what} needs at least {need} included studies; this selection has {k}. "
        "Widen the filters in the sidebar (designs, indications, time point, "
        "interpolated rates) to include more studies."
    )


def too_many(what: str, limit: int, k: int) -> str:
    """Why an analysis whose cost grows with k is not run for ``k`` above ``limit``."""
    return (
        f"{what} is computed for at most {fmt.count(limit)} included studies; this selection has "
        f"{fmt.count(k)}. Narrow the filters in the sidebar to see it."
    )
