"""The presenter view (``board=1``): one outcome per screen, in a fixed order of steps.

A step is an (outcome, screen) pair; ``outcome`` and ``screen`` are in the link, so the link
opens the same screen. Pure functions: what comes before and after a step, its title, the
headline ratio with its CI and the filters in force in one line.

>>> from core.state.view import ViewState
>>> s = step(ViewState(board=True), +1)
>>> (s.outcome, s.screen), step_title(s)
(('OS', 'sof'), 'Summary of findings, screen 2 of 4')
>>> step(s, +1).outcome, step(s, +1).screen
('DFS', 'forest')
"""

from __future__ import annotations

import re
from typing import Final

from core import fmt
from core.data.description import Description, layout_filter
from core.fmt import effect, effect_ci
from core.report.narrative import model_phrase
from core.state.view import (
    TABLE_MEASURES,
    TABLE_METHODS,
    Outcome,
    Screen,
    ViewState,
    column_filters,
    describe_measure,
    model_of,
)
from core.stats.effects import to_shown
from core.views.analysis import OutcomeAnalysis
from core.vocab import DESIGNS, GROUPS, INDICATIONS, PI_SHORT, RT_TYPES

#: The presentation, in order: each outcome's forest plot, then its summary of findings.
STEPS: Final[tuple[tuple[Outcome, Screen], ...]] = (
    ("OS", "forest"),
    ("OS", "sof"),
    ("DFS", "forest"),
    ("DFS", "sof"),
)
SCREEN_NAMES: Final[dict[Screen, str]] = {"forest": "forest plot", "sof": "summary of findings"}
#: Excluded study ids named in the one-line filters (the rest are counted).
LINE_IDS: Final = 5


def step_index(state: ViewState) -> int:
    """Position of the state's screen in :data:`STEPS` (0-based)."""
    return STEPS.index((state.outcome, state.screen))


def step(state: ViewState, delta: int) -> ViewState:
    """The state ``delta`` steps on (negative: back), kept within the first and last step."""
    index = min(max(step_index(state) + delta, 0), len(STEPS) - 1)
    outcome, screen = STEPS[index]
    return state.replace(outcome=outcome, screen=screen)


def other_screen(state: ViewState) -> ViewState:
    """The same outcome's other screen (forest plot <-> summary of findings)."""
    return state.replace(screen="sof" if state.screen == "forest" else "forest")


def step_title(state: ViewState) -> str:
    """'Forest plot, screen 1 of 4'."""
    what = SCREEN_NAMES[state.screen].capitalize()
    return f"{what}, screen {step_index(state) + 1} of {len(STEPS)}"


def headline_ratio(oa: OutcomeAnalysis) -> str | None:
    """'Pooled OR 0.36 (95% CI 0.25–0.52)', or 'OR 0.45 (95% CI 0.25–0.82), one study' when a
    single study is shown (nothing pooled); None when there is no estimate."""
    p = oa.pooled
    if p is None:
        return None
    short = str(oa.measure)
    value = effect(short, to_shown(short, p.estimate))
    ci = effect_ci(short, to_shown(short, p.ci_low), to_shown(short, p.ci_high))
    if p.k == 1:
        return f"{short} {value} (95% CI {ci}), one study"
    return f"Pooled {short} {value} (95% CI {ci})"


def _short(label: str) -> str:
    """A label's abbreviation in brackets where it has one: 'randomized (RCT)' -> 'RCT'."""
    found = re.search(r"\(([A-Z]+)\)$", label)
    return found.group(1) if found else re.sub(r" \(e\.g\. .*\)$", "", label)


def _choices(state: ViewState, name: str, names: dict[str, str], what: str) -> str:
    values = getattr(state, name)
    return ", ".join(_short(names[v]) for v in values) if values else f"no {what} selected"


def _own_parts(state: ViewState, words: Description) -> list[str]:
    """The filters a described dataset offers, in its words (the layout's three as the
    bundled line has them when they keep the layout's words)."""
    parts = []
    own = column_filters(state)
    for f in words.filters:
        if f.column in ("indication", "design", "rt_type") and f == layout_filter(f.column):
            name = {"indication": "indication", "design": "design", "rt_type": "rt"}[f.column]
            parts.append(
                _choices(state, name, dict(f.values), f.label.lower())
                + (" RT" if name == "rt" and state.rt else "")
            )
        elif f.column in ("indication", "design", "rt_type"):
            name = {"indication": "indication", "design": "design", "rt_type": "rt"}[f.column]
            values = getattr(state, name)
            parts.append(", ".join(f.value_label(v) for v in values) or f"no {f.label} selected")
        elif f.column in own:
            kept = ", ".join(f.value_label(v) for v in own[f.column])
            parts.append(f"{f.label}: {kept or 'none selected'}")
    if words.published is not None:
        parts.append(
            "only studies that can be in the published meta-analysis"
            if state.scope == "rim"
            else "all studies in the data"
        )
    return parts


def filters_line(state: ViewState, words: Description | None = None, title: str = "") -> str:
    """The filters and settings in force in one short line (the full sentences are
    :func:`describe_filters`): 'PVTT, narrow resection margin · RCT, PSM · external-beam RT ·
    ... · odds ratio of 1-year DFS · random effects, REML · prediction interval t (k-2)'.
    ``words``: the dataset's description (its filters; ``title`` then names the measure)."""
    if words is not None:
        parts = _own_parts(state, words)
    else:
        parts = [
            _choices(state, "indication", INDICATIONS, "indication"),
            _choices(state, "design", DESIGNS, "design"),
            _choices(state, "rt", RT_TYPES, "radiotherapy") + (" RT" if state.rt else ""),
            "only studies that can be in the published meta-analysis"
            if state.scope == "rim"
            else "all studies in the data",
        ]
    if state.qmin is not None:
        parts.append(f"quality score at least {fmt.number(state.qmin)}")
    if state.exclude:
        shown = ", ".join(state.exclude[:LINE_IDS])
        more = len(state.exclude) - LINE_IDS
        parts.append(f"excluded by hand: {shown}" + (f" and {more} more" if more > 0 else ""))
    measure = title or describe_measure(state)
    parts.append(measure[0].lower() + measure[1:])
    model = model_of(state)
    parts.append(model_phrase(model.method, model.ci))
    if model.method not in ("EE", *TABLE_METHODS):
        shown = f"prediction interval {PI_SHORT[state.pi]}"
        parts.append("no prediction interval" if state.pi == "0" else shown)
    if state.group != "none":
        parts.append(f"subgroups {GROUPS[state.group]}")
    if state.measure in TABLE_MEASURES and state.tpoint == "interp":
        parts.append("interpolated rates allowed (marked †)")
    return " · ".join(parts)
