"""What a pool's studies measured, on the page: a plain warning when the pooled studies mix
endpoint definitions (all-cause vs HCC-related death, DFS vs RFS, adjusted vs unadjusted HRs)
and the choice to pool one definition only, kept in the link (``endpoint=``)."""

from __future__ import annotations

import streamlit as st

from core.data.endpoints import Definition, matches
from core.state.view import ViewState
from core.views.analysis import OutcomeAnalysis
from ui import sync
from ui.markup import md

ALL = "all"
AS_LINKED = "link"


def _count(n: int) -> str:
    return f"{n} {'study' if n == 1 else 'studies'}"


def current_choice(oa: OutcomeAnalysis) -> str:
    """The option the choice shows for ``oa``: every definition, the one definition the link
    keeps, or (several kept) the link's own choice."""
    if not oa.kept or oa.endpoint_note:
        return ALL
    keys = [d.key for d in oa.available if matches(d, oa.kept)]
    return keys[0] if len(keys) == 1 else AS_LINKED


def with_choice(state: ViewState, outcome: str, choice: str) -> ViewState:
    """``state`` keeping only definition ``choice`` for ``outcome`` (``ALL``: every one);
    the other outcome's choice is left as it is."""
    others = tuple(v for v in state.endpoint if v.split(".", 1)[0] != outcome)
    if choice == ALL:
        return state.replace(endpoint=others)
    if choice == AS_LINKED:
        return state
    return state.replace(endpoint=(*others, choice))


def _changed(key: str, outcome: str) -> None:
    state = sync.current()
    sync.commit(with_choice(state, outcome, str(st.session_state.get(key, ALL))))


def _label(defs: dict[str, Definition], oa: OutcomeAnalysis):
    total = sum(len(d.studies) for d in oa.available)

    def label(option: str) -> str:
        if option == ALL:
            return f"Every definition ({_count(total)})"
        if option == AS_LINKED:
            return f"As the link keeps: {', '.join(oa.kept)}"
        d = defs[option]
        return f"Only {d.words} ({_count(len(d.studies))})"

    return label


def render(oa: OutcomeAnalysis, *, key_prefix: str = "w_endpoint") -> None:
    """The endpoint warning and choice for one outcome (nothing when its estimable studies
    share one definition and the link keeps none)."""
    if oa.endpoint_note:
        st.info(md(oa.endpoint_note))
    if len(oa.available) < 2:
        return
    if oa.mixed:
        parts = "; ".join(f"{d.words} ({_count(len(d.studies))})" for d in oa.definitions)
        st.warning(
            md(
                f"Mixed endpoint definitions: the pooled studies measured {parts}. "
                "The pooled ratio assumes RT acts alike on each; keep one to check."
            ),
            icon=":material/warning:",
        )
    defs = {d.key: d for d in oa.available}
    options = [ALL, *defs]
    current = current_choice(oa)
    if current == AS_LINKED:
        options.append(AS_LINKED)
    key = f"{key_prefix}_{oa.outcome}"
    st.session_state[key] = current  # the state is the only source (as the sidebar's widgets)
    st.radio(
        "Endpoint definitions pooled",
        options,
        format_func=_label(defs, oa),
        key=key,
        on_change=_changed,
        args=(key, oa.outcome),
        help="Studies define the endpoint differently (as reported in the data's "
        "endpoint_as_reported and adjustment columns). Keep one definition to pool only the "
        "studies that measured it; the others are listed as outside your filters. The choice "
        "is kept in the link (endpoint=).",
    )
