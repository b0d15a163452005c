"""Edit the data in use on the Studies page: two editable tables, checked on every change by
:func:`core.data.edit.check_edits`, used only when the whole edit passes.

The editors keep the user's changes across reruns (their widget state) until they are used or
discarded, so a bad edit loses nothing; the data in use stay as they are meanwhile.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import streamlit as st

from core import fmt
from core.data.dataset import Dataset, outcomes_in_codes
from core.data.edit import EditCheck, check_edits, edit_key
from core.data.schema import ValidationReport
from ui import memory, upload

EDITORS = {"outcomes": "edit_outcomes", "studies": "edit_studies"}
#: the dataset key the editors were opened on; another dataset in use resets them
OPENED_ON = "edit_opened_on"
#: tables larger than this are edited in a file and uploaded (the editor sends every cell)
MAX_EDIT_ROWS = 2_000
WHERE_HELP = {
    "source_url": "Where the numbers were read: a DOI, PubMed or publisher link",
    "note": "Where in the source: 'Table 2', 'Fig. 3 at 24 months', 'abstract'",
    "source_urls": "Where the study's details were read: DOI, PubMed or publisher links",
}


def _reset() -> None:
    for k in EDITORS.values():
        st.session_state.pop(k, None)


def use(check: EditCheck, on_used: Callable[[], None] | None) -> None:
    """Make the edited data the data in use (as an upload is), then reopen the editors on it."""
    dataset = check.dataset
    if dataset is None:  # the button is disabled then; a stale click changes nothing
        return
    key = edit_key(dataset)
    st.session_state["upload"] = (key, dataset)
    memory.trim_when_released(dataset)
    st.session_state[OPENED_ON] = key
    _reset()
    if on_used is not None:
        on_used()


def _table(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    config = {c: st.column_config.Column(help=text) for c, text in WHERE_HELP.items() if c in frame}
    return st.data_editor(
        frame,
        key=EDITORS[name],
        num_rows="dynamic",
        hide_index=True,
        width="stretch",
        column_config=config,
    )


def draw(key: str, dataset: Dataset, on_used: Callable[[], None] | None = None) -> None:
    """The editors, what the check finds as you type, and the button that uses the edit.
    ``on_used()`` runs after the edited data become the data in use."""
    st.header("Edit the data")
    rows = max(len(dataset.studies), len(dataset.outcomes))
    if rows > MAX_EDIT_ROWS:
        st.caption(
            f"A table of {fmt.count(rows)} rows is edited more easily in a spreadsheet: download "
            "it "
            "below, edit it and load it again (the editor here takes up to "
            f"{fmt.count(MAX_EDIT_ROWS)})."
        )
        return
    if st.session_state.get(OPENED_ON) != key:  # other data in use: start from them
        _reset()
        st.session_state[OPENED_ON] = key
    st.markdown(
        "Change a cell, add a row (the **+** under a table) or delete rows (select them, then "
        "the bin). Each change is checked at once by the rules an upload is checked by; a new "
        "or changed row needs where its numbers were read (`source_url` and, for outcomes, "
        "`note`: 'Table 2', 'Fig. 3 at 24 months'). A changed row keeps the source it had: "
        "check that it says where the new numbers come from. The data in use change only when "
        "you press **Use the edited data**; save them then to share them."
    )
    outcomes_tab, studies_tab = st.tabs(["Outcomes", "Studies"])
    with outcomes_tab:
        outcomes = _table("outcomes", outcomes_in_codes(dataset))
    with studies_tab:
        studies = _table("studies", dataset.studies)
    check = check_edits(dataset, studies, outcomes)
    if not check.edited:
        st.caption("No changes yet.")
        return
    errors = [p for p in check.problems if p.severity == "error"]
    if errors:
        st.error(
            f"Edits: {check.summary}. {len(errors)} problem(s) to fix before the data can be "
            "used (rows as shown in the editor, the first row is row 1); the data in use are "
            "unchanged.",
            icon=":material/error:",
        )
    else:
        st.success(f"Edits: {check.summary}. They pass every check.", icon=":material/check:")
    if check.problems:
        report = ValidationReport(check.problems, None, None)
        st.dataframe(upload.report_frame(report), hide_index=True, width="stretch")
    left, right = st.columns(2)
    left.button(
        "Use the edited data",
        type="primary",
        disabled=check.dataset is None,
        on_click=use,
        args=(check, on_used),
        icon=":material/done:",
    )
    right.button("Discard the edits", on_click=_reset, icon=":material/undo:")
