"""Summary of findings block: absolute effects, NNT and a GRADE-style certainty per outcome.

The assumed risks without RT and the users' domain ratings live in the view state (``cr_os``,
``cr_dfs`` and ``grade``, e.g. ``grade=DFS.imprecision.not_serious``: in the link). The notes
users add to a rating are free text: they stay in the session (kept across pages) and go into
the exports, not into the link.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.data.dataset import Dataset
from core.fmt import count, per_1000, percent
from core.report.sof import (
    CHOICES,
    DOMAINS,
    Override,
    SofRow,
    absolute_text,
    control_risks_from_state,
    relative_text,
    sof_frame,
    sof_table,
)
from core.state.view import ViewState
from core.views.analysis import Analysis
from core.vocab import DISCLAIMER, EVENTS
from ui import cache, exports, sync

NOTES = "sof_notes"
AUTO = "auto"
QUALITY_NOTE = (
    "Risk of bias uses this explorer's own editorial quality rating of the bundled studies "
    "(data/quality_rubric.md), not the published meta-analysis's assessment."
)


def grade_token(outcome: str, domain: str, rating: str) -> str:
    """The link's form of a rating: ``DFS.imprecision.not_serious``."""
    return f"{outcome}.{domain}.{rating.replace(' ', '_')}"


def _rating(token: str) -> tuple[str, str, str] | None:
    """``DFS.imprecision.not_serious`` -> (outcome, domain, rating); None when not valid."""
    outcome, _, rest = token.partition(".")
    domain, _, rating = rest.partition(".")
    rating = rating.replace("_", " ")
    if outcome in EVENTS and domain in DOMAINS and rating in CHOICES:
        return outcome, domain, rating
    return None


def ratings(state: ViewState) -> dict[tuple[str, str], str]:
    """(outcome, domain) -> rating from the link; invalid tokens are ignored (see
    :func:`grade_notices`)."""
    parsed = (_rating(t) for t in getattr(state, "grade", ()))
    return {(o, d): r for o, d, r in (p for p in parsed if p is not None)}


def grade_notices(state: ViewState) -> tuple[str, ...]:
    """One "ignored" notice per invalid ``grade`` token in the link (plain text)."""
    bad = [t for t in getattr(state, "grade", ()) if _rating(t) is None]
    return tuple(
        f"Certainty judgements (grade): {t[:40]}{'…' if len(t) > 40 else ''} is not "
        "OUTCOME.domain.rating (e.g. DFS.imprecision.not_serious); ignored."
        for t in bad
    )


def overrides(state: ViewState) -> dict[tuple[str, str], Override]:
    """The user's judgements: ratings from the link, notes from the session."""
    notes: dict[tuple[str, str], str] = st.session_state.setdefault(NOTES, {})
    rated = ratings(state)
    return {
        key: Override(rated.get(key), notes.get(key, ""))
        for key in {*rated, *(k for k, n in notes.items() if n.strip())}
    }


def display_frame(rows: list[SofRow]) -> pd.DataFrame:
    """The table as shown: one row per outcome (the index), text columns."""
    frame = pd.DataFrame(
        [
            {
                "Outcome": r.title,
                "Studies (patients)": f"{count(r.k)} ({count(r.patients)})",
                "Relative effect": relative_text(r) or "–",
                "Risk without RT": per_1000(None if r.control is None else r.control.risk),
                "Risk with RT (95% CI)": per_1000(r.risk_rt, r.risk_rt_low, r.risk_rt_high),
                "Difference (95% CI)": absolute_text(r) if r.diff is not None else "–",
                "NNT": "–" if r.nnt is None else r.nnt.text,
                "Certainty": "–" if r.certainty is None else r.certainty.label,
            }
            for r in rows
        ]
    )
    return frame.set_index("Outcome")


def _commit_risk(field: str, widget: str) -> None:
    value = st.session_state.get(widget)
    sync.commit(sync.current().replace(**{field: None if value is None else float(value)}))


def _store_override(outcome: str, domain: str, rating_key: str, note_key: str) -> None:
    rating = st.session_state.get(rating_key, AUTO)
    notes: dict[tuple[str, str], str] = st.session_state.setdefault(NOTES, {})
    notes[(outcome, domain)] = str(st.session_state.get(note_key, "") or "")
    state = sync.current()
    prefix = f"{outcome}.{domain}."
    kept = tuple(t for t in getattr(state, "grade", ()) if not t.startswith(prefix))
    if rating != AUTO:
        kept = (*kept, grade_token(outcome, domain, rating))
    sync.commit(state.replace(grade=tuple(sorted(kept))))


def _risk_input(row: SofRow, state: ViewState, key: str) -> None:
    field = f"cr_{row.outcome.lower()}"
    widget = f"{key}_{field}"
    st.session_state[widget] = getattr(state, field, None)
    event = EVENTS[row.outcome]
    when = ""
    if row.years is not None:
        when = f" by {row.years:g} year{'' if row.years == 1 else 's'}"
    if (
        row.measure == "OR"
        and row.control is not None
        and row.control.source != "entered by the user"
    ):
        placeholder = f"pooled control arms: {percent(100 * row.control.risk)}"
    elif row.measure == "OR":
        placeholder = "pooled control arms"
    else:
        placeholder = "enter a risk"
    st.number_input(
        f"Assumed risk of {event} without RT{when} (%)",
        min_value=0.0,
        max_value=100.0,
        value=None,
        step=1.0,
        format="%.1f",
        placeholder=placeholder,
        key=widget,
        on_change=_commit_risk,
        args=(field, widget),
        help="Leave empty to use the pooled control arms of the studies in this view (odds "
        "ratio). A hazard ratio needs a risk you enter; it then applies over the same time.",
    )
    if row.control is not None:
        st.caption(f"Assumed risk {percent(100 * row.control.risk)}: {row.control.source}.")


def _domains(row: SofRow, state: ViewState, key: str) -> None:
    cert = row.certainty
    assert cert is not None
    st.markdown(f"**Certainty: {cert.label}** ({cert.explanation}). {cert.start_reason}.")
    store = overrides(state)
    for d in cert.domains:
        rating_key = f"{key}_{row.outcome}_{d.key}_rating"
        note_key = f"{key}_{row.outcome}_{d.key}_note"
        saved = store.get((row.outcome, d.key))
        st.session_state[rating_key] = (
            AUTO if saved is None or saved.rating is None else saved.rating
        )
        st.session_state[note_key] = "" if saved is None else saved.note
        c1, c2, c3 = st.columns([2.4, 1.6, 1.8])
        changed = " (changed by you)" if d.overridden else ""
        c1.markdown(f"**{DOMAINS[d.key]}: {d.rating}**{changed}")
        c1.caption(d.reason)
        c2.selectbox(
            f"{row.outcome}: {DOMAINS[d.key]} rating",
            [AUTO, *CHOICES],
            key=rating_key,
            format_func=lambda v, a=d.auto_rating: f"auto: {a}" if v == AUTO else v,
            on_change=_store_override,
            args=(row.outcome, d.key, rating_key, note_key),
            label_visibility="collapsed",
        )
        c3.text_input(
            f"{row.outcome}: {DOMAINS[d.key]} note",
            key=note_key,
            placeholder="your reason (optional)",
            max_chars=300,
            on_change=_store_override,
            args=(row.outcome, d.key, rating_key, note_key),
            label_visibility="collapsed",
        )


def _sof_rows(analysis: Analysis, state: ViewState, dataset: Dataset) -> tuple[SofRow, ...]:
    """The summary's rows, shared by reruns and sessions that show the same view (dataset,
    state, the user's judgements and notes)."""
    store = overrides(state)
    if cache.current_dataset()[1] is not dataset:  # not the dataset in use: no view to share
        return tuple(sof_table(analysis, dataset.studies, control_risks_from_state(state), store))
    view = f"{cache.view_key(state)}|{sorted(store.items())!r}"
    return cache.per_view(
        view,
        "summary of findings",
        lambda: tuple(sof_table(analysis, dataset.studies, control_risks_from_state(state), store)),
    )


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
    st.caption(f"{DISCLAIMER} {QUALITY_NOTE}")
    rows = list(_sof_rows(analysis, state, dataset))
    st.table(display_frame(rows))
    st.caption(
        "Events are deaths (overall survival) or recurrences or deaths (disease-free survival) "
        "over the time shown; fewer is better. Absolute effects apply the pooled ratio and its "
        "CI to the assumed risk without RT. NNTB/NNTH: number needed to treat for one patient "
        "to benefit/be harmed; where the CI includes no effect it runs through ∞ (Altman 1998)."
    )
    for row in rows:
        if row.message:
            st.info(f"{row.title}: {row.message}")
    for row in rows:
        if row.certainty is not None:
            panel = st.expander(
                f"{row.title}: assumed risk and certainty ({row.certainty.label})",
                key=panel_key(key, row.outcome),
                on_change="rerun",
            )
            if panel.open:  # drawn only when open: a toggle elsewhere does not redraw it
                with panel:
                    _risk_input(row, state, key)
                    _domains(row, state, key)
    exports.downloads("summary-of-findings", None, sof_frame(rows))
    return rows
