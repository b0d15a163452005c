"""The presenter view (``board=1``): one outcome per screen, in a fixed order of steps.

A step is an (outcome, screen) pair; ``outcome`` and ``screen`` are in the link, so the link
opens the same screen. Pure functions: what comes before and after a step, its title, the
headline ratio with its CI and the filters in force in one line.

>>> from core.state.view import ViewState
>>> s = step(ViewState(board=True), +1)
>>> (s.outcome, s.screen), step_title(s)
(('OS', 'sof'), 'Overall survival: summary of findings (2 of 4)')
>>> step(s, +1).outcome, step(s, +1).screen
('DFS', 'forest')
"""

from __future__ import annotations

from typing import Final

from core.fmt import ratio, ratio_ci
from core.state.view import Outcome, Screen, ViewState, describe_filters
from core.stats.effects import exp_ratio
from core.views.analysis import OutcomeAnalysis
from core.vocab import OUTCOMES

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
    """'Overall survival: forest plot (1 of 4)'."""
    what = OUTCOMES[state.outcome].capitalize()
    return f"{what}: {SCREEN_NAMES[state.screen]} ({step_index(state) + 1} of {len(STEPS)})"


def headline_ratio(oa: OutcomeAnalysis) -> str | None:
    """'Pooled OR 0.36 (95% CI 0.25–0.52)', or 'OR 0.45 (95% CI 0.25–0.82), one study' when a
    single study is shown (nothing pooled); None when there is no estimate."""
    p = oa.pooled
    if p is None:
        return None
    short = "HR" if oa.measure == "HR" else "OR"
    value = ratio(exp_ratio(p.estimate))
    ci = ratio_ci(exp_ratio(p.ci_low), exp_ratio(p.ci_high))
    if p.k == 1:
        return f"{short} {value} (95% CI {ci}), one study"
    return f"Pooled {short} {value} (95% CI {ci})"


def filters_line(state: ViewState) -> str:
    """The filters and settings in force (:func:`describe_filters`) in one line."""
    return " · ".join(describe_filters(state, max_ids=LINE_IDS))
