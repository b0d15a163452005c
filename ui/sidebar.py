"""The one sidebar every page shares: filters and model choices, all mirrored in the URL."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd
import streamlit as st

from core import fmt, vocab
from core.data.description import FilterWords
from core.state.view import (
    DEFAULT_STATE,
    TABLE_MEASURES,
    TABLE_METHODS,
    ViewState,
    column_filters,
    with_column_filter,
)
from core.stats.pooling import METHODS
from core.views.analysis import LAYOUT_FILTERS, group_choices
from ui import cache, saved, sync
from ui.markup import link_code

OR_YEARS = (0.5, 1.0, 1.5, 2.0, 3.0, 5.0)
OVERLAP_CHOICES = {"all": "Pool all, marked ‡", "one": "One per overlap group"}
QMAX = 7

# widget key -> ViewState field
_KEYS = {
    "w_indication": "indication",
    "w_design": "design",
    "w_rt": "rt",
    "w_scope": "scope",
    "w_qmin": "qmin",
    "w_outcome": "outcome",
    "w_measure": "measure",
    "w_t_os": "t_os",
    "w_t_dfs": "t_dfs",
    "w_method": "method",
    "w_tau_prior": "tau_prior",
    "w_ci": "ci",
    "w_pi": "pi",
    "w_group": "group",
    "w_tau2g": "tau2g",
    "w_tpoint": "tpoint",
    "w_overlap": "overlap",
    "w_add": "add",
    "w_to": "to",
    "w_drop00": "drop00",
}
#: Values offered for metafor's ``add`` (a link may carry another: it is added to the list).
ADD_CHOICES = (0.5, 0.25, 0.1, 0.01, 1.0)


def _to_widget(field: str, state: ViewState) -> object:
    """The value the widget of ``field`` shows for ``state``."""
    if field == "indication":
        return list(state.indication)
    if field == "design":
        return list(state.design)
    if field == "rt":
        return list(state.rt)
    if field == "scope":
        return state.scope == "rim"
    if field == "qmin":
        return 0 if state.qmin is None else min(round(state.qmin), QMAX)
    if field == "tpoint":
        return state.tpoint == "interp"
    return getattr(state, field)


def _from_widget(field: str, value: Any) -> object:
    """The state's value for what a widget holds (``value``: the widget's own, any type;
    ViewState validates the result)."""
    if field in ("indication", "design", "rt"):
        return tuple(value)
    if field == "scope":
        return "rim" if value else "all"
    if field == "qmin":
        return None if not value else float(value)
    if field == "tpoint":
        return "interp" if value else "exact"
    return value


def _labels(names: Mapping[str, str]) -> Callable[[str], str]:
    """A widget's ``format_func``: the vocabulary's label of a code, capitalised."""
    return lambda code: vocab.title(names[code])


def _seed_widgets(state: ViewState) -> None:
    """Give every sidebar widget the state's value before it is drawn, on every run: the
    state (from the link or the session) is the only source. Streamlit may drop or reset a
    widget's own value (a page switch, a run cut short by a download); that never reaches the
    view, because only a user's change (``_changed``) edits the state."""
    for key, field in _KEYS.items():
        st.session_state[key] = _to_widget(field, state)


def _bound(key: str) -> dict:
    """Widget arguments: its key and the callback that turns a user's change into state."""
    return {"key": key, "on_change": _changed, "args": (key,)}


def _changed(key: str) -> None:
    """on_change of a sidebar widget: the user's new value becomes the state (and the link).
    A link value a widget cannot show exactly (qmin=4.5, qmin=10) stays as it is until the
    user touches that widget."""
    field = _KEYS[key]
    state = sync.current()
    changes = {field: _from_widget(field, st.session_state.get(key))}
    if changes == {"overlap": "all"}:  # the picks mean nothing while every study is pooled
        changes["keep"] = ()
    sync.commit(_safe_replace(state, changes))


def _own_filter(state: ViewState, offered: FilterWords, studies: pd.DataFrame) -> None:
    """A multiselect for a filter the description offers on the dataset's own column (every
    value it records; all kept unless the link's ``filter=COLUMN.value`` says otherwise)."""
    if offered.column not in studies.columns:
        return
    recorded = studies[offered.column].dropna().astype(str)
    values = list(dict.fromkeys([*dict(offered.values), *sorted(set(recorded))]))
    values = [v for v in values if v in set(recorded)]
    if not values:
        return
    kept = column_filters(state).get(offered.column)
    key = f"w_filter_{offered.column}"
    st.session_state[key] = values if kept is None else [v for v in kept if v in values]
    st.sidebar.multiselect(
        offered.label,
        values,
        format_func=offered.value_label,
        key=key,
        on_change=_own_filter_changed,
        args=(offered.column, tuple(values)),
    )


def _own_filter_changed(column: str, values: tuple[str, ...]) -> None:
    """on_change of an own-column filter: every value kept = no filter in the link."""
    chosen = list(st.session_state.get(f"w_filter_{column}") or [])
    kept = None if set(chosen) >= set(values) else chosen
    sync.commit(with_column_filter(sync.current(), column, kept))


def render(state: ViewState, *, single_outcome: bool) -> None:
    """Draw the sidebar for ``state`` (changes arrive through ``_changed`` on the next run)."""
    _seed_widgets(state)
    dataset = cache.current_dataset()[1]
    words = dataset.description
    sb = st.sidebar
    sb.header("Which studies")
    # the filters the dataset's description offers, in its words
    for column, names, key in (
        ("indication", vocab.INDICATIONS, "w_indication"),
        ("design", vocab.DESIGNS, "w_design"),
        ("rt_type", vocab.RT_TYPES, "w_rt"),
    ):
        offered = words.filter(column)
        if offered is None:
            continue
        labels = {**names, **dict(offered.values)}
        sb.multiselect(offered.label, list(names), format_func=_labels(labels), **_bound(key))
    for offered in words.filters:
        if offered.column not in LAYOUT_FILTERS:
            _own_filter(state, offered, dataset.studies)
    if dataset.studies["quality_score"].notna().any():
        sb.slider(
            "Minimum quality score",
            0,
            QMAX,
            **_bound("w_qmin"),
            help="This project's editorial rating (data/quality_rubric.md), 0-7; 0 = no minimum.",
        )
    if words.published is not None:
        sb.toggle(
            "Only studies that could be in the published meta-analysis",
            **_bound("w_scope"),
            help="Leaves out studies known not to be in it (e.g. published after its search).",
        )
    sb.radio(
        "Overlapping cohorts",
        list(OVERLAP_CHOICES),
        **_bound("w_overlap"),
        format_func=OVERLAP_CHOICES.__getitem__,
        help="Studies of one overlap group (one centre, overlapping accrual years) may report "
        "some of the same patients. Pooled together they are marked ‡ everywhere; or keep one "
        "study per group: the largest in each outcome, or the one you pick on the Studies page.",
    )
    sb.header("What to pool")
    if single_outcome:
        sb.radio(
            "Outcome",
            list(words.slots),
            **_bound("w_outcome"),
            horizontal=True,
            format_func=lambda slot: words.words(slot).code,
        )
    sb.radio(
        "Effect measure",
        list(vocab.MEASURES),
        **_bound("w_measure"),
        horizontal=True,
        format_func=_labels(vocab.MEASURES),
    )
    timed = [
        (slot, key, t)
        for slot, key, t in (("OS", "w_t_os", state.t_os), ("DFS", "w_t_dfs", state.t_dfs))
        if slot in words.slots and words.words(slot).time_points
    ]
    if state.measure in TABLE_MEASURES and timed:
        for c, (slot, key, t) in zip(sb.columns(len(timed)), timed, strict=True):
            points = words.words(slot).time_points
            c.selectbox(
                f"t for {words.words(slot).code} (years)",
                _years_for(t, points),
                **_bound(key),
                format_func=_years,
            )
        sb.toggle(
            "Also use interpolated rates",
            **_bound("w_tpoint"),
            help="On by default. Where a study reports no rate at exactly t, interpolate between "
            "the same study's two nearest reported years, in each arm (log-linear in survival; "
            "never extrapolated). Marked as derived (†) wherever used, with the arithmetic in "
            "the tooltip. Off: only rates reported at exactly t are used.",
        )
    sb.header("Model")
    # Mantel-Haenszel and Peto pool 2x2 tables (Peto odds ratios only); a link may still ask
    # for them elsewhere: then they stay listed and the page says what stands in
    models = [*METHODS, *(m for m in TABLE_METHODS if _offers(m, state))]
    sb.selectbox(
        "Model",
        [*models, "BAYES"],
        **_bound("w_method"),
        format_func=vocab.model_label,
        help=None
        if state.measure == "OR"
        else "Mantel-Haenszel needs 2x2 tables; Peto gives odds ratios only."
        if state.measure in TABLE_MEASURES
        else "Mantel-Haenszel and Peto need 2x2 tables (events per arm): not available with "
        "hazard ratios.",
    )
    if state.method == "BAYES":
        sb.number_input(
            "Prior scale of τ (half-normal)",
            min_value=0.01,
            max_value=10.0,
            step=0.25,
            **_bound("w_tau_prior"),
            help="Scale of the half-normal prior on τ, the between-study SD of the log ratios "
            "(0.5 by default; Röver et al. 2021). The page shows the results under 0.25, 0.5 "
            "and 1 as a prior-sensitivity line.",
        )
    sb.radio(
        "Confidence interval",
        list(vocab.CI_SHORT),
        **_bound("w_ci"),
        horizontal=True,
        format_func=vocab.CI_SHORT.__getitem__,
    )
    sb.selectbox(
        "Prediction interval",
        list(vocab.PI_SHORT),
        **_bound("w_pi"),
        format_func=vocab.PI_SHORT.__getitem__,
        help=vocab.STAT_HELP["95% prediction interval"],
    )
    if state.measure in TABLE_MEASURES:
        _zero_cells(state)
    groups = list(group_choices(cache.current_dataset()[1].studies, state.group))
    named = [vocab.GROUPS[g] for g in groups if g in vocab.GROUPS and g != "none"]
    sb.selectbox(
        "Subgroups in the forest plot",
        groups,
        **_bound("w_group"),
        format_func=lambda g: vocab.title(vocab.GROUPS[g]) if g in vocab.GROUPS else g,
        help=vocab.title(
            (", ".join(named) + ", or " if named else "")
            + "by any categorical column of the studies table."
        ),
    )
    if state.group != "none":
        sb.radio(
            "Between-study variance (τ²) in subgroups",
            list(vocab.TAU2_GROUPS),
            **_bound("w_tau2g"),
            horizontal=True,
            format_func=vocab.TAU2_GROUPS.__getitem__,
            help="Separate: each subgroup its own τ² (RevMan, meta); the subtotals are the "
            "subgroups' own fits and the test compares them. Common: one τ² for all "
            "subgroups, as metafor's rma(yi, vi, mods = ~ factor(group)): the test is its QM "
            "and each subtotal pools its subgroup with that τ² (meta's tau.common = TRUE).",
        )

    _link_box(state)


def _offers(method: str, state: ViewState) -> bool:
    """Whether the model list offers ``method``: MH with 2x2 measures, Peto with the odds
    ratio; either when the state has it already (from a link)."""
    if state.method == method:
        return True
    return state.measure == "OR" if method == "PETO" else state.measure in TABLE_MEASURES


def _zero_cells(state: ViewState) -> None:
    """metafor's zero-cell options (add, to, drop00) in a closed expander."""
    with st.sidebar.expander("Zero cells (2x2 tables)"):
        st.selectbox(
            "Added to each cell",
            sorted({*ADD_CHOICES, state.add}),
            **_bound("w_add"),
            format_func=fmt.number,
            help="metafor's add (default 1/2): added to the four cells of the tables chosen "
            "below, for the per-study estimates (with Mantel-Haenszel and Peto, only those "
            "and the heterogeneity statistics; the pooled estimate uses the raw tables).",
        )
        st.selectbox(
            "Tables corrected",
            list(vocab.ZERO_TO),
            **_bound("w_to"),
            format_func=_labels(vocab.ZERO_TO),
            help="metafor's to (default only0: the tables with a zero cell).",
        )
        st.selectbox(
            "Tables without events (or only events) in both arms",
            list(vocab.DROP00),
            **_bound("w_drop00"),
            format_func=_labels(vocab.DROP00),
            help="metafor's drop00: FALSE by default for escalc and rma, TRUE for rma.mh and "
            "rma.peto; 'metafor's default' follows the model chosen.",
        )


def _safe_replace(state: ViewState, changes: dict) -> ViewState:
    try:
        return state.replace(**changes)
    except (TypeError, ValueError):
        return state


def _years_for(t: float, points: tuple[float, ...] = OR_YEARS) -> list[float]:
    """The outcome's time points (the description's), plus the one a link asked for."""
    return sorted({*points, t})


def _years(t: float) -> str:
    return fmt.years(t)


def _link_box(state: ViewState) -> None:
    sb = st.sidebar
    sb.divider()
    sb.caption("Copy link to this exact view")
    sb.markdown(link_code(sync.share_link(state)))
    if saved.in_use() is not None:
        sb.caption("The link carries the saved dataset in use (`data=`).")
    elif cache.current_dataset()[0] != cache.BUNDLED_KEY:
        sb.warning(
            "This link does not carry your uploaded data: whoever opens it sees the bundled "
            'evidence, not your data. To share the data, use "Save and get a link" on the '
            "Studies page.",
            icon=":material/link_off:",
        )
    # the default view of the data in use: a saved dataset stays in the link
    default = DEFAULT_STATE.replace(data=state.data)
    if state != default and sb.button("Reset to the default view"):
        sync.commit(default)
        st.rerun()
