"""The presenter view for a tumour board (``board=1`` in the link, on any page).

Every page: no sidebar, app menu or toolbar, type scaled to the screen, and the disclaimer in
the footer with a way back. The Present page shows one outcome per screen
(:mod:`core.views.board`): the headline ratio with its CI, the certainty rating, the plain
sentence and the forest plot fill the first screen at 1280x720 and up; the next step is that
outcome's summary of findings. Buttons (and the arrow keys, or a presentation clicker's Page
Down / Page Up) step through the screens; each step is a new link (``outcome``, ``screen``).
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import streamlit as st

from core.data.dataset import Dataset
from core.report.narrative import described_filters, headline, key_numbers
from core.report.sof import DISCLAIMER as SOF_DISCLAIMER
from core.report.sof import DOMAINS, SofRow
from core.state.view import ViewState
from core.views import board
from core.views.analysis import Analysis, OutcomeAnalysis, out_of_range
from core.vocab import SOF_QUALITY_NOTE
from ui import blocks, sync
from ui.sof import display_frame, summary_rows

#: The sidebar, its collapsed control, the header with the app menu and toolbar, and the
#: coloured decoration bar; the main column takes the whole window.
_CHROME = (
    '[data-testid="stSidebar"]',
    '[data-testid="stSidebarCollapsedControl"]',
    '[data-testid="stExpandSidebarButton"]',
    '[data-testid="stHeader"]',
    '[data-testid="stToolbar"]',
    '[data-testid="stDecoration"]',
)


def chrome_css() -> str:
    """Page-wide CSS of the presenter view. The root font size follows the window width
    (16 px at 1280, 21.6 px at 1920, never below 16 or above 30), so all text set in rem,
    Streamlit's own included, scales with it."""
    hidden = ", ".join(_CHROME)
    return f"""<style>
{hidden} {{ display: none !important; }}
html:root {{ font-size: clamp(16px, 0.45rem + 0.75vw, 30px); }}
[data-testid="stMainBlockContainer"] {{
  max-width: none; padding: 0.6rem 2.5vw 0.8rem 2.5vw;
}}
.st-key-board_footer p {{ font-size: 0.8rem; }}
</style>"""


def present_css() -> str:
    """CSS of the Present page's screens. The forest screen is exactly one window high, a
    column whose rows take their natural height while the forest plot takes what is left: its
    SVG (with a viewBox) scales to that box, never cut off and never scrolled, and Vega's
    clicks still hit the study rows."""
    return """<style>
.st-key-board_screen:has(.st-key-board_forest) { min-height: calc(100dvh - 1.4rem);
  max-height: calc(100dvh - 1.4rem); flex-wrap: nowrap; overflow: hidden; }
.st-key-board_screen > [data-testid="stLayoutWrapper"] { flex: 0 0 auto; }
.st-key-board_screen > [data-testid="stLayoutWrapper"]:has(> .st-key-board_forest) {
  flex: 1 1 0; min-height: 6rem; }
.st-key-board_nav h2 { font-size: clamp(1.2rem, 1.7vw, 2.4rem); padding: 0; }
.st-key-board_nav p { font-size: 0.85rem; }
.st-key-board_clicker, [data-testid="stLayoutWrapper"]:has(> .st-key-board_clicker) {
  display: none !important; }
.st-key-board_ratio p { font-size: clamp(1.8rem, 2.9vw, 4.2rem); font-weight: 700;
  line-height: 1.15; }
.st-key-board_numbers p, .st-key-board_certainty p { font-size: 0.95rem; }
.st-key-board_certainty strong { font-size: clamp(1.2rem, 1.6vw, 2.2rem); line-height: 1.2; }
.st-key-board_sentence p { font-size: 1rem; line-height: 1.4; }
.st-key-board_forest { height: 100%; min-height: 0; }
.st-key-board_forest [data-testid="stElementContainer"]:has(.vega-embed) { flex: 1 1 0;
  min-height: 0; }
.st-key-board_forest [data-testid="stFullScreenFrame"],
.st-key-board_forest [data-testid="stFullScreenFrame"] > div,
.st-key-board_forest .vega-embed { height: 100% !important; width: 100% !important; }
.st-key-board_forest .vega-embed { display: block; }
.st-key-board_forest .vega-embed svg.marks { display: block; width: 100% !important;
  height: 100% !important; }
.st-key-board_filters p { font-size: 0.75rem; line-height: 1.3; }
.st-key-board_sof table { font-size: 1rem; }
.st-key-board_sof th, .st-key-board_sof td { padding: 0.35rem 0.6rem; }
.st-key-board_domains p, .st-key-board_domains td, .st-key-board_domains th { font-size: 0.95rem; }
</style>"""


def hide_chrome() -> None:
    """The presenter view's page-wide look (call on every run while ``board=1``)."""
    st.html(chrome_css())


def _go(state: ViewState) -> None:
    """on_click of the presenter's buttons: ``state`` becomes the view (and the link)."""
    sync.commit(state)


def footer(about_the_data: Callable[[], None]) -> None:
    """Below the page: which data are in use (``about_the_data`` draws it), the disclaimer,
    and the way back to the full app."""
    with st.container(key="board_footer"):
        st.divider()
        about_the_data()
        st.caption(f":material/info: {blocks.DISCLAIMER}")
        st.button(
            "Leave the presenter view",
            key="board_exit",
            on_click=_go,
            args=(sync.current().replace(board=False),),
            icon=":material/close_fullscreen:",
            help="Back to the full app with its sidebar (board=0 in the link).",
        )


def _nav(state: ViewState, title: str) -> None:
    """The screen's title and the buttons (arrow keys) that step through the presentation."""
    index = board.step_index(state)
    last = len(board.STEPS) - 1
    flip = board.other_screen(state)
    with st.container(key="board_nav", horizontal=True, vertical_alignment="center"):
        with st.container(width="stretch", gap=None):
            st.subheader(blocks.text(title), anchor=False)
            st.caption(board.step_title(state))
        st.button(
            "Previous",
            key="board_prev",
            icon=":material/arrow_back:",
            shortcut="Left",
            disabled=index == 0,
            on_click=_go,
            args=(board.step(state, -1),),
        )
        st.button(
            "Next",
            key="board_next",
            icon=":material/arrow_forward:",
            shortcut="Right",
            disabled=index == last,
            on_click=_go,
            args=(board.step(state, +1),),
        )
        # presentation clickers send Page Down / Page Up: the same steps, no buttons of their own
        with st.container(key="board_clicker", width="content"):
            for key, shortcut, delta in (
                ("board_pgdn", "PageDown", +1),
                ("board_pgup", "PageUp", -1),
            ):
                st.button(
                    f"{'Next' if delta > 0 else 'Previous'} ({shortcut})",
                    key=key,
                    shortcut=shortcut,
                    on_click=_go,
                    args=(board.step(state, delta),),
                )
        st.button(
            board.SCREEN_NAMES[flip.screen].capitalize(),
            key="board_flip",
            icon=":material/table:" if flip.screen == "sof" else ":material/forest:",
            shortcut="S" if flip.screen == "sof" else "F",
            on_click=_go,
            args=(flip,),
        )


def _certainty(row: SofRow | None) -> None:
    with st.container(key="board_certainty"):
        if row is None or row.certainty is None:
            st.markdown("Certainty: **not rated** (nothing pooled)")
        else:
            st.markdown(f"Certainty of the evidence (GRADE-style aid): **{row.certainty.label}**")


def _forest_screen(
    oa: OutcomeAnalysis, state: ViewState, dataset: Dataset, row: SofRow | None
) -> None:
    with st.container(key="board_head", horizontal=True, vertical_alignment="center", gap="medium"):
        with st.container(key="board_ratio", width="content"):
            ratio = board.headline_ratio(oa)
            st.markdown(blocks.text(ratio) if ratio else "No pooled estimate")
        with st.container(width="content"):
            _certainty(row)
    numbers = [f"{n.label} {n.value}" for n in key_numbers(oa, state)[2:]]
    if numbers:
        with st.container(key="board_numbers"):
            st.markdown(blocks.text(" · ".join(numbers)))
    with st.container(key="board_sentence"):
        st.markdown(blocks.summary(oa, state, dataset.studies))
        plain = oa.message if oa.k > 1 or oa.pooled is None else out_of_range(oa.pooled, oa.measure)
        if plain:
            st.caption(blocks.text(plain))
    with st.container(key="board_forest"):
        if oa.rows.empty:
            st.info(blocks.text(oa.message or "No study to show for this outcome."))
        else:
            blocks.forest(oa, state, dataset.studies, large=True)


def _sof_screen(oa: OutcomeAnalysis, row: SofRow | None) -> None:
    if row is None:
        st.info(blocks.text(oa.message or "No summary of findings for this outcome."))
        return
    table_col, domains_col = st.columns([1, 1.25], gap="large")
    with table_col.container(key="board_sof"):
        frame = display_frame([row]).T  # one outcome: its values down one column
        frame.index.name = None
        st.table(frame)
        if row.message:
            st.info(blocks.text(row.message))
        blocks.published_box(oa)
    with domains_col.container(key="board_domains"):
        _certainty(row)
        cert = row.certainty
        if cert is not None:
            st.table(
                pd.DataFrame(
                    {
                        "Domain": [DOMAINS[d.key] for d in cert.domains],
                        "Rating": [
                            d.shown + (" (judged by you)" if d.overridden else "")
                            for d in cert.domains
                        ],
                        # st.table reads Markdown: a reason from the link stays text
                        "Why": [blocks.text(d.note or d.reason) for d in cert.domains],
                    }
                ).set_index("Domain")
            )
            st.caption(blocks.text(f"{cert.explanation}. {cert.start_reason}. {cert.pending}"))
        st.caption(f"{SOF_DISCLAIMER} {SOF_QUALITY_NOTE}")


def render_present(analysis: Analysis, state: ViewState, dataset: Dataset) -> None:
    """The Present page in the presenter view: the screen of ``state`` (outcome, screen)."""
    st.html(present_css())
    oa = analysis.outcomes[state.outcome]
    rows = summary_rows(analysis, state, dataset, (state.outcome,))
    row = rows[0] if rows else None
    with st.container(key="board_screen", gap="small"):
        _nav(state, headline(oa))
        if state.screen == "forest":
            _forest_screen(oa, state, dataset, row)
        else:
            _sof_screen(oa, row)
        full = "\n".join(f"- {blocks.text(line)}" for line in described_filters(state, [oa]))
        line = board.filters_line(state, dataset.description, oa.title)
        with st.container(key="board_filters"):
            st.markdown(blocks.text(f"Filters: {line}"), help=full)
