"""The one sidebar every page shares: filters and model choices, all mirrored in the URL."""

from __future__ import annotations

import streamlit as st

from core.state.view import DEFAULT_STATE, ViewState
from core.stats.pooling import METHODS
from core.vocab import MODELS as METHOD_LABELS
from ui import cache, saved, sync

INDICATIONS = {
    "PVTT": "Portal vein tumour thrombosis",
    "narrow_margin": "Narrow resection margin",
    "MVI": "Microvascular invasion",
    "other": "Other / unselected HCC",
}
DESIGNS = {
    "RCT": "Randomized (RCT)",
    "PSM": "Propensity-matched (PSM)",
    "prospective-nonrandomized": "Prospective, non-randomized",
    "retrospective": "Retrospective",
}
RT_TYPES = {"external": "External-beam RT", "internal": "Internal (I-131 lipiodol)"}
GROUPS = {"none": "No grouping", "indication": "Indication", "design": "Design"}
OR_YEARS = (0.5, 1.0, 1.5, 2.0, 3.0, 5.0)
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
    "w_ci": "ci",
    "w_pi": "pi",
    "w_group": "group",
    "w_tpoint": "tpoint",
}


def _to_widget(field: str, value: object) -> object:
    if field in ("indication", "design", "rt"):
        return list(value)  # type: ignore[arg-type]
    if field == "scope":
        return value == "rim"
    if field == "qmin":
        return 0 if value is None else min(round(value), QMAX)  # type: ignore[arg-type]
    if field == "tpoint":
        return value == "interp"
    return value


def _from_widget(field: str, value: object) -> object:
    if field in ("indication", "design", "rt"):
        return tuple(value)  # type: ignore[arg-type]
    if field == "scope":
        return "rim" if value else "all"
    if field == "qmin":
        return None if not value else float(value)  # type: ignore[arg-type]
    if field == "tpoint":
        return "interp" if value else "exact"
    return value


def _seed_widgets(state: ViewState) -> None:
    """Give every sidebar widget the state's value before it is drawn, on every run: the
    state (from the link or the session) is the only source. Streamlit may drop or reset a
    widget's own value (a page switch, a run cut short by a download); that never reaches the
    view, because only a user's change (``_changed``) edits the state."""
    for key, field in _KEYS.items():
        st.session_state[key] = _to_widget(field, getattr(state, field))


def _bound(key: str) -> dict:
    """Widget arguments: its key and the callback that turns a user's change into state."""
    return {"key": key, "on_change": _changed, "args": (key,)}


def _changed(key: str) -> None:
    """on_change of a sidebar widget: the user's new value becomes the state (and the link).
    A link value a widget cannot show exactly (qmin=4.5, qmin=10) stays as it is until the
    user touches that widget."""
    field = _KEYS[key]
    state = sync.current()
    sync.commit(_safe_replace(state, {field: _from_widget(field, st.session_state.get(key))}))


def render(state: ViewState, *, single_outcome: bool) -> None:
    """Draw the sidebar for ``state`` (changes arrive through ``_changed`` on the next run)."""
    _seed_widgets(state)
    sb = st.sidebar
    sb.header("Which studies")
    sb.multiselect(
        "Indication", list(INDICATIONS), format_func=INDICATIONS.get, **_bound("w_indication")
    )
    sb.multiselect("Design", list(DESIGNS), format_func=DESIGNS.get, **_bound("w_design"))
    sb.multiselect("Radiotherapy", list(RT_TYPES), format_func=RT_TYPES.get, **_bound("w_rt"))
    sb.slider(
        "Minimum quality score",
        0,
        QMAX,
        **_bound("w_qmin"),
        help="This project's editorial rating (data/quality_rubric.md), 0-7; 0 = no minimum.",
    )
    sb.toggle(
        "Only studies that could be in the published meta-analysis",
        **_bound("w_scope"),
        help="Leaves out studies known not to be in it (e.g. published after its May 2023 search).",
    )
    sb.header("What to pool")
    if single_outcome:
        sb.radio("Outcome", ["OS", "DFS"], **_bound("w_outcome"), horizontal=True)
    sb.radio(
        "Effect measure",
        ["OR", "HR"],
        **_bound("w_measure"),
        horizontal=True,
        format_func={"OR": "Odds ratio at t years", "HR": "Hazard ratio"}.get,
    )
    if state.measure == "OR":
        c1, c2 = sb.columns(2)
        c1.selectbox(
            "t for OS (years)", _years_for(state.t_os), **_bound("w_t_os"), format_func=_years
        )
        c2.selectbox(
            "t for DFS (years)", _years_for(state.t_dfs), **_bound("w_t_dfs"), format_func=_years
        )
        sb.toggle(
            "Also use interpolated rates",
            **_bound("w_tpoint"),
            help="Where a study reports no rate at exactly t, interpolate between the two nearest "
            "reported years (log-linear in survival). Marked as derived (†) wherever used.",
        )
    sb.header("Model")
    sb.selectbox(
        "Model",
        METHODS,
        **_bound("w_method"),
        format_func=lambda m: (
            f"{m}: {METHOD_LABELS[m]}" if m == "EE" else f"Random effects, {m}: {METHOD_LABELS[m]}"
        ),
    )
    sb.radio(
        "Confidence interval",
        ["wald", "hksj"],
        **_bound("w_ci"),
        horizontal=True,
        format_func={"wald": "Wald (z)", "hksj": "Hartung-Knapp"}.get,
    )
    sb.toggle("Prediction interval", **_bound("w_pi"))
    sb.selectbox(
        "Group the forest plot by", list(GROUPS), **_bound("w_group"), format_func=GROUPS.get
    )

    _link_box(state)


def _safe_replace(state: ViewState, changes: dict) -> ViewState:
    try:
        return state.replace(**changes)
    except (TypeError, ValueError):
        return state


def _years_for(t: float) -> list[float]:
    """The usual time points, plus the one a link asked for."""
    return sorted({*OR_YEARS, t})


def _years(t: float) -> str:
    return f"{t:g}"


def _link_box(state: ViewState) -> None:
    sb = st.sidebar
    sb.divider()
    sb.caption("Copy link to this exact view")
    sb.code(sync.share_link(state), language=None, wrap_lines=True)
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
