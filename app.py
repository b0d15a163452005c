"""Entrypoint: page config, navigation over pages/, the shared sidebar and the disclaimer."""

from __future__ import annotations

import logging
import os

import streamlit as st

from core.state.grade import grade_notices
from core.views.analysis import group_column
from ui import blocks, cache, memory, presenter, saved, sidebar, style, sync, upload

upload.keep_uploads_in_memory(st.get_option("server.maxUploadSize"))
memory.return_freed_memory()
memory.collect_when_session_ends()

st.set_page_config(
    page_title="Perioperative RT for HCC: evidence explorer",
    page_icon="🩻",  # an emoji: drawn by the browser, no request (a :material: icon is fetched)
    layout="wide",
)

PAGES = [
    st.Page("pages/overview.py", title="Overview", icon=":material/forest:", default=True),
    st.Page("pages/studies.py", title="Studies and data", icon=":material/table:"),
    st.Page("pages/sensitivity.py", title="Sensitivity", icon=":material/tune:"),
    st.Page("pages/bias.py", title="Small-study effects", icon=":material/filter_list:"),
    st.Page("pages/presentation.py", title="Present", icon=":material/co_present:"),
]
# Pages that analyse one outcome get the outcome control in the sidebar.
SINGLE_OUTCOME = {"presentation", "sensitivity", "bias"}

state = saved.follow(sync.resolve())
state = sync.adopt_defaults(state, cache.current_dataset()[1].description)
# board=1 (the presenter view): no page menu, sidebar or toolbar; the disclaimer in the footer
page = st.navigation(PAGES, position="hidden" if state.board else "sidebar")
style.inject()
if state.board:
    presenter.hide_chrome()
else:
    sidebar.render(state, single_outcome=page.url_path in SINGLE_OUTCOME)
if saved.problem():
    st.warning(saved.problem(), icon=":material/link_off:")


def about_the_data() -> None:
    """Which data are in use, and what the link held that was ignored (by the link codec, the
    certainty judgements, and the data in use: a ``group`` column it lacks)."""
    data_key, dataset = cache.current_dataset()
    about = saved.in_use()
    if about is not None:
        st.caption(
            f":material/cloud_done: Data in use: the saved dataset of this link (saved "
            f"{about.saved_at}"
            + (f"; note: {blocks.text(about.note)}" if about.note else "")
            + "). Whoever opens this link sees the same data."
        )
    elif data_key != cache.BUNDLED_KEY:
        st.caption(
            f":material/upload_file: Data in use: {blocks.text(dataset.source)} (your upload, "
            "this session only; a shared link opens the same view on the bundled evidence)."
        )
    data = group_column(dataset.studies, state.group)[1]
    for notice in (*sync.notices(), *grade_notices(state), *([data] if data else [])):
        st.caption(f"Ignored in the link: {blocks.text(notice)}")


if not state.board:  # in the presenter view these go to the footer
    about_the_data()
    st.caption(f":material/info: {blocks.DISCLAIMER}")
try:
    page.run()
except Exception:  # the last line of defence: a plain message, never a red traceback
    if os.environ.get("EXPLORER_STRICT") == "1":  # tests: let the error through
        raise
    logging.getLogger("explorer").exception("page %s failed", page.url_path)
    st.error(
        "Part of this view could not be computed for the current settings. Change a setting, "
        "or use 'Reset to the default view' in the sidebar; the rest of the app keeps working."
    )
if state.board:
    presenter.footer(about_the_data)
