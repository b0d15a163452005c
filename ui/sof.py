"""Summary of findings block: absolute effects, NNT and a GRADE-style certainty per outcome.

The assumed risks without RT and the users' judgements live in the view state, so in the link:
``cr_os``, ``cr_dfs``, ``grade`` (e.g. ``grade=DFS.imprecision.not_serious``) and the reason
for each judgement, ``why`` (e.g. ``why=DFS.imprecision.OIS nearly reached``).
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import streamlit as st

from core import fmt
from core.data.dataset import Dataset
from core.fmt import percent
from core.report.sof import (
    CHOICES,
    DISCLAIMER,
    DOMAIN_HELP,
    DOMAINS,
    EVENTS,
    SofRow,
    control_risks_from_state,
    judgements,
    sof_display,
    sof_frame,
    sof_table,
)
from core.state.grade import with_judgement
from core.state.view import ViewState
from core.views.analysis import Analysis
from core.vocab import SOF_QUALITY_NOTE
from ui import cache, exports, sync
from ui.markup import md as text

AUTO = "auto"


def display_frame(rows: list[SofRow]) -> pd.DataFrame:
    """The table as shown (:func:`core.report.sof.sof_display`), one row per outcome (the index)."""
    return sof_display(rows).set_index("Outcome")


def _commit_risk(field: str, widget: str) -> None:
    value = st.session_state.get(widget)
    sync.commit(sync.current().replace(**{field: None if value is None else float(value)}))


def _store_override(outcome: str, domain: str, rating_key: str, note_key: str) -> None:
    """Put the user's rating and reason for one domain into the link (``grade``, ``why``)."""
    rating = st.session_state.get(rating_key, AUTO)
    reason = str(st.session_state.get(note_key, "") or "")
    judged = None if rating == AUTO else rating
    sync.commit(with_judgement(sync.current(), outcome, domain, judged, reason))


def _risk_input(row: SofRow, state: ViewState, key: str) -> None:
    field = f"cr_{row.outcome.lower()}"
    widget = f"{key}_{field}"
    st.session_state[widget] = state.cr_os if row.outcome == "OS" else state.cr_dfs
    event = row.event or EVENTS[row.outcome]
    when = ""
    if row.years is not None:
        when = f" by {fmt.years(row.years)} year{'' if row.years == 1 else 's'}"
    if (
        row.measure in ("OR", "RR", "RD")
        and row.control is not None
        and row.control.source != "entered by the user"
    ):
        placeholder = f"pooled control arms: {percent(100 * row.control.risk)}"
    elif row.measure in ("OR", "RR", "RD"):
        placeholder = "pooled control arms"
    else:
        placeholder = "enter a risk"
    st.number_input(
        text(f"Assumed risk of {event} {row.untreated}{when} (%)"),
        min_value=0.0,
        max_value=100.0,
        value=None,
        step=1.0,
        format=fmt.PRINTF_ONE_DECIMAL,
        placeholder=placeholder,
        key=widget,
        on_change=_commit_risk,
        args=(field, widget),
        help="Leave empty to use the pooled control arms of the studies in this view (odds "
        "ratio). A hazard ratio needs a risk you enter; it then applies over the same time.",
    )
    if row.control is not None:
        st.caption(f"Assumed risk {percent(100 * row.control.risk)}: {row.control.source}.")


def _rating_label(auto: str) -> Callable[[str], str]:
    """Labels of a domain's rating choices: the AUTO choice names the pre-filled rating."""
    return lambda v: f"aid: {auto}" if v == AUTO else v


def _domains(row: SofRow, state: ViewState, key: str) -> None:
    cert = row.certainty
    assert cert is not None
    code = cache.current_dataset()[1].description.words(row.outcome).code  # TB, not OS
    st.markdown(f"**Certainty: {cert.label}** ({cert.explanation}). {cert.start_reason}.")
    if cert.pending:
        st.warning(cert.pending)
    for d in cert.domains:
        rating_key = f"{key}_{row.outcome}_{d.key}_rating"
        note_key = f"{key}_{row.outcome}_{d.key}_note"
        st.session_state[rating_key] = d.rating if d.overridden else AUTO
        st.session_state[note_key] = d.note
        c1, c2, c3 = st.columns([2.4, 1.6, 1.8])
        mine = " (your judgement)" if d.overridden else ""
        c1.markdown(f"**{DOMAINS[d.key]}: {d.shown}**{mine}", help=DOMAIN_HELP[d.key])
        c1.caption(d.reason)
        c2.selectbox(
            f"{code}: {DOMAINS[d.key]} rating",
            [AUTO, *CHOICES],
            key=rating_key,
            format_func=_rating_label(d.auto_rating or d.auto_state),
            on_change=_store_override,
            args=(row.outcome, d.key, rating_key, note_key),
            label_visibility="collapsed",
            help="Your rating of this domain; it and your reason go into the link.",
        )
        c3.text_input(
            f"{code}: {DOMAINS[d.key]} reason",
            key=note_key,
            placeholder="your reason",
            max_chars=300,
            on_change=_store_override,
            args=(row.outcome, d.key, rating_key, note_key),
            label_visibility="collapsed",
        )


def _sof_rows(analysis: Analysis, state: ViewState, dataset: Dataset) -> tuple[SofRow, ...]:
    """The summary's rows, shared by reruns and sessions that show the same view (dataset and
    state, the user's judgements and reasons included)."""
    if cache.current_dataset()[1] is not dataset:  # not the dataset in use: no view to share
        store, risks = judgements(state), control_risks_from_state(state)
        return tuple(sof_table(analysis, dataset.studies, risks, store))
    return shared_sof_rows(analysis, state, dataset)


def shared_sof_rows(
    analysis: Analysis, state: ViewState, dataset: Dataset, data_key: str | None = None
) -> tuple[SofRow, ...]:
    """The summary's rows of ``dataset`` (its key ``data_key``, default the one in use), once
    per view (also warmed at start-up: ui/warmup.py)."""
    store = judgements(state)
    risks = control_risks_from_state(state)
    return cache.per_view(
        cache.view_key(state, data_key),
        "summary of findings",
        lambda: tuple(sof_table(analysis, dataset.studies, risks, store)),
    )


def summary_rows(
    analysis: Analysis, state: ViewState, dataset: Dataset, outcomes: tuple[str, ...] | None = None
) -> list[SofRow]:
    """The summary's rows of ``outcomes`` (default: every outcome of ``analysis``)."""
    rows = _sof_rows(analysis, state, dataset)
    return [r for r in rows if outcomes is None or r.outcome in outcomes]


def panel_key(key: str, outcome: str) -> str:
    """Session key of the expander holding an outcome's assumed risk and certainty domains."""
    return f"{key}_{outcome}_panel"


def render_sof(
    analysis: Analysis,
    state: ViewState,
    dataset: Dataset,
    *,
    key: str = "sof",
    outcomes: tuple[str, ...] | None = None,
) -> list[SofRow]:
    """Draw the summary of findings for the outcomes of ``analysis`` (all, or ``outcomes``);
    returns its rows. ``key`` prefixes the widget keys (to draw it twice on one page)."""
    st.subheader("Summary of findings")
    st.caption(f"{DISCLAIMER} {SOF_QUALITY_NOTE}")
    words = dataset.description
    rows = summary_rows(analysis, state, dataset, outcomes or words.slots)
    st.table(display_frame(rows))
    events = " or ".join(
        f"{text(words.words(s).event)} ({text(words.words(s).label)})"
        for s in (outcomes or words.slots)
    )
    untreated = rows[0].untreated if rows else words.untreated
    st.caption(
        f"Events: {events}, over the time shown where there is one; fewer is better. Absolute "
        "effects apply the pooled ratio and its CI to the assumed risk "
        f"{text(untreated)}. NNTB/NNTH: number needed to treat for one patient "
        "to benefit/be harmed; where the CI includes no effect it runs through ∞ (Altman 1998)."
    )
    for row in rows:
        if row.message:
            st.info(text(f"{row.title}: {row.message}"))
    for row in rows:
        if row.certainty is not None:
            panel = st.expander(
                text(f"{row.title}: assumed risk and certainty ({row.certainty.label})"),
                key=panel_key(key, row.outcome),
                on_change="rerun",
            )
            if panel.open:  # drawn only when open: a toggle elsewhere does not redraw it
                with panel:
                    _risk_input(row, state, key)
                    _domains(row, state, key)
    exports.downloads("summary-of-findings", None, sof_frame(rows))
    return rows
