"""The published meta-analysis's pooled result beside a view, only where the two compare.

The published result is the dataset's own (``published`` in its description): for the
bundled evidence, Rim et al. 2024, who pooled odds ratios of 2-year OS and 1-year DFS. Beside
a view of the same outcome, measure and time point its number is shown; beside any other
(another time point, a hazard ratio) one line says it is not comparable and what it pooled.
The dataset's note on a published number (e.g. a probable misprint) is returned apart, for
the Overview's details only.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from core import fmt
from core.views.analysis import OutcomeAnalysis

SOURCE = "Published (Rim et al. 2024)"


def source_label(pub: Mapping[str, Any] | None) -> str:
    """'Published (Rim et al. 2024)': the published result's ``label``."""
    label = (pub or {}).get("label")
    return f"Published ({label})" if label else "Published meta-analysis"


@dataclass(frozen=True)
class PublishedComparison:
    """The line to show beside a view, whether it compares, and the number's note ("")."""

    comparable: bool
    text: str
    note: str


def _what(measure: str, years: float | None, outcome: str) -> str:
    """'the OR of 2-year OS', 'the HR of OS' (``outcome``: the outcome's code)."""
    name = measure
    when = "" if measure == "HR" or years is None else f"{fmt.years(years)}-year "
    return f"the {name} of {when}{outcome}"


def _shown(oa: OutcomeAnalysis) -> str:
    """What the view pooled: 'the OR of 3-year OS', or with the studies' endpoint where it
    says more ('the hazard ratio for HCC-related death, multivariable Cox')."""
    if oa.title == oa.short_title:
        return _what(oa.measure, oa.years, oa.words.code)
    return f"the {oa.title[:1].lower()}{oa.title[1:]}"


def published_comparison(
    oa: OutcomeAnalysis, pub: Mapping[str, Any] | None
) -> PublishedComparison | None:
    """The published result for ``oa``'s outcome, labelled as such, when ``oa`` has the same
    measure and time point; else a one-line 'not comparable'. None without a published result
    for the outcome (or without ``pub``: a dataset whose description has none). Results are
    matched by the outcome's code in the description."""
    if not pub:
        return None
    code = oa.words.code
    entry = next((r for r in pub.get("results", []) if r.get("outcome") == code), None)
    if entry is None:
        return None
    measure = "HR" if entry.get("measure") == "HR" else "OR"
    years = entry.get("time_years")
    years = None if years is None else float(years)
    what = _what(measure, years, code)
    if measure == "HR" or years is None or oa.years is None:  # no time point: both lack one
        same_time = measure == "HR" or (years is None and oa.years is None)
    else:
        same_time = math.isclose(years, oa.years)
    if measure != oa.measure or not same_time:
        text = (
            f"{source_label(pub)}: not comparable: the published analysis pooled {what}; this view "
            f"shows {_shown(oa)}."
        )
        return PublishedComparison(False, text, "")
    text = (
        f"{source_label(pub)}: {what[4:]} {entry['estimate']} (95% CI {entry['ci_low']} to "
        f"{entry['ci_high']}), {pub.get('k', '?')} studies, {pub.get('patients', '?')} patients."
    )
    return PublishedComparison(True, text, str(entry.get("note") or ""))
