"""Cached data and effect sizes: loaded or computed once, shared by every rerun.

Datasets are immutable by convention; ``st.cache_resource`` hands out the same object
(no copy per rerun). What is computed from the bundled evidence is shared by every session.
An uploaded dataset lives in its session, and so does everything computed from it: a
session-scoped cache (at most ``SESSION_ENTRIES`` results), released as soon as the tab's
connection closes, so memory returns to its baseline when the tabs close.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import streamlit as st

from core.data.dataset import Dataset, load_bundled, published
from core.data.estimable import EstimableSet, ZeroCells, estimable
from core.state.view import Measure, Outcome, TimePoints, ViewState
from core.views.analysis import Analysis, EstimableFn, analyse
from core.views.bias import BiasView, bias_view
from core.views.sensitivity import SensitivityView, sensitivity_view

BUNDLED_KEY = "bundled"
SESSION_ENTRIES = 64
T = TypeVar("T")


@st.cache_resource(show_spinner=False, scope="session", max_entries=SESSION_ENTRIES)
def _session_cached(key: tuple[object, ...], _make: Callable[[], T]) -> T:
    return _make()


def _in_session(key: tuple[object, ...], make: Callable[[], T]) -> T:
    """``make()`` once per ``key`` in this session's cache (Streamlit's session scope: at most
    ``SESSION_ENTRIES``, released when the tab's connection closes)."""
    return _session_cached(key, make)


@st.cache_resource(show_spinner=False)
def bundled() -> Dataset:
    return load_bundled()


@st.cache_resource(show_spinner=False)
def published_results() -> dict:
    return published()


@st.cache_resource(show_spinner=False, max_entries=256)
def _effects(
    dataset_key: str,
    _dataset: Dataset,
    outcome: Outcome,
    measure: Measure,
    years: float | None,
    rule: TimePoints,
    zero: ZeroCells,
) -> EstimableSet:
    return estimable(_dataset, outcome, measure, years, rule, zero)


def current_dataset() -> tuple[str, Dataset]:
    """(key, dataset): the session's upload if there is one, else the bundled evidence."""
    upload = st.session_state.get("upload")
    if upload is not None:
        return upload
    return BUNDLED_KEY, bundled()


def effects_fn(key: str, dataset: Dataset) -> EstimableFn:
    """``effects(outcome, measure, years, rule, zero)`` for ``core.views.analysis``, cached (an
    upload's in its session)."""
    if key != BUNDLED_KEY:
        return lambda o, m, t, r, z: _in_session(
            ("effects", key, o, m, t, r, z),
            lambda: estimable(dataset, o, m, t, r, z),
        )
    return lambda o, m, t, r, z: _effects(key, dataset, o, m, t, r, z)


@st.cache_resource(show_spinner=False, max_entries=256)
def _per_view(view: str, part: str, _make: Callable[[], T]) -> T:
    return _make()


def per_view(view: str, part: str, make: Callable[[], T]) -> T:
    """``make()`` once per ``view`` (``view_key``) and ``part`` of a page, shared by reruns and
    sessions: many users opening one shared link, or a study toggled back, cost nothing. What
    it returns is read-only (specs are drawn with ``st.vega_lite_chart``, which copies).
    Views of an upload are kept in the session instead (:func:`_in_session`)."""
    if not view.startswith(BUNDLED_KEY + "|"):
        return _in_session(("view", view, part), make)
    return _per_view(view, part, make)


def view_key(state: ViewState, data_key: str | None = None) -> str:
    """The view a page draws: the dataset (``data_key``, default the one in use) and the state
    (the link), less what only changes how it is shown (the presenter view and its screen):
    stepping through a presentation reuses the numbers and figures already made."""
    return f"{current_dataset()[0] if data_key is None else data_key}|{computed(state)!r}"


def computed(state: ViewState) -> ViewState:
    """``state`` less its presenter settings: what the numbers and figures are made from (so a
    cached result is the same whichever way its view was first shown)."""
    return state.replace(board=False, screen="forest")


def display_spec(view: str, part: str, spec: dict) -> dict:
    """``spec`` as ``st.vega_lite_chart`` sends it, once per view: its named datasets already
    Arrow IPC bytes (Streamlit's own conversion, which it skips for bytes). Converting the
    rows on every rerun took a third of the server's time under load. ``spec`` itself keeps
    its rows (exports need them)."""
    from streamlit import dataframe_util

    def make() -> dict:
        rows = spec.get("datasets", {})
        arrow = {
            name: dataframe_util.convert_anything_to_arrow_bytes(r) for name, r in rows.items()
        }
        return {**spec, "datasets": arrow}

    return per_view(view, f"{part} (display)", make)


def analysis(state: ViewState, data: tuple[str, Dataset] | None = None) -> Analysis:
    """``core.views.analysis.analyse`` of this view on ``data`` ((key, dataset); default the
    dataset in use), once per view."""
    key, dataset = current_dataset() if data is None else data
    effects = effects_fn(key, dataset)
    return per_view(
        view_key(state, key), "analysis", lambda: analyse(computed(state), dataset, effects)
    )


def sensitivity(state: ViewState) -> SensitivityView:
    """``core.views.sensitivity.sensitivity_view`` of this view, once per view."""
    key, dataset = current_dataset()
    effects = effects_fn(key, dataset)

    def make() -> SensitivityView:
        oa = analysis(state).outcomes[state.outcome]
        return sensitivity_view(computed(state), oa, dataset.studies, effects)

    return per_view(view_key(state), "sensitivity", make)


def bias(state: ViewState) -> BiasView:
    """``core.views.bias.bias_view`` of this view, once per view."""
    dataset = current_dataset()[1]
    return per_view(
        view_key(state),
        "bias",
        lambda: bias_view(
            computed(state), analysis(state).outcomes[state.outcome], dataset.studies
        ),
    )
