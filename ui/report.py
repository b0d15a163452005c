"""Download buttons for the one-click report of the view (HTML and PDF).

The files are made only when a button is clicked (deferred data, ``on_click="ignore"``), so a
plain rerun never renders a figure. The user's certainty judgements (ratings and reasons,
from the link) are read when the buttons are drawn and go into the report.
"""

from __future__ import annotations

from datetime import UTC, datetime

import streamlit as st

from core.data.dataset import Dataset
from core.report.document import report_html, report_pdf
from core.report.sof import judgements
from core.state.view import ViewState
from core.views.analysis import Analysis

FILE_STEM = "rt-hcc-report"


def render_report_downloads(
    analysis: Analysis, state: ViewState, dataset: Dataset, link: str, *, key: str = "report"
) -> None:
    """'Report (HTML)' and 'Report (PDF)' buttons for ``analysis`` of ``dataset``; ``key``
    prefixes the widget keys (to draw the buttons in two places of one page)."""
    judged = judgements(state)

    def html_bytes() -> bytes:
        created = datetime.now(UTC)
        return report_html(analysis, state, dataset, link, created, overrides=judged).encode()

    def pdf_bytes() -> bytes:
        created = datetime.now(UTC)
        return report_pdf(analysis, state, dataset, link, created, overrides=judged)

    c1, c2 = st.columns(2)
    c1.download_button(
        "Report (HTML)",
        data=html_bytes,
        file_name=f"{FILE_STEM}.html",
        mime="text/html",
        on_click="ignore",
        key=f"{key}_html",
        icon=":material/description:",
        help="One self-contained file: filters, link, results, forest plots, summary of "
        "findings, studies and sources. Opens in any browser, prints well.",
    )
    c2.download_button(
        "Report (PDF)",
        data=pdf_bytes,
        file_name=f"{FILE_STEM}.pdf",
        mime="application/pdf",
        on_click="ignore",
        key=f"{key}_pdf",
        icon=":material/picture_as_pdf:",
        help="The same report as a PDF.",
    )
