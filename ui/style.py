"""The app's own CSS, in one place, injected once per script run by app.py (``inject``).

Every rule is scoped to Streamlit's stable ``data-testid`` attributes or to containers keyed by
the app (``st-key-...`` classes), never to generated class names. What each rule is for:

- captions: Streamlit draws them in a grey at 60 % opacity (2.7:1 on white), under the WCAG
  2.1 AA contrast of 4.5:1 that axe-core checks; fully opaque at 80 % it is about 6.9:1;
- charts: a Vega chart is never wider than its column: the SVG has a viewBox, so it scales
  down as a whole (the CI column stays in view) and clicks still hit the marks;
- tables: a wide table scrolls inside itself, never the page, its first (key) column staying
  in view (and ``SCROLL_FOCUS_JS`` gives it a tab stop, so it can be scrolled with keys);
- metric tiles (``tiles_...`` containers): their values scale with the window, so "20.2%"
  is not cut to "20.…" beside the sidebar; three to a row, in smaller type, on a phone, where
  Streamlit would otherwise stack them one per row;
- buttons: a long label wraps inside its column instead of running out of it;
- sidebar filter chips: the whole value, on as many lines as it needs, not cut off with "...";
- narrow screens: smaller headings, so a title is not four lines of a phone's screen;
- the element that holds ``SCROLL_FOCUS_JS`` (a script, nothing to see) takes no room: left
  in the page's column it is a zero-height row that still gets the column's gap (1rem) above
  the page, which pushed the presenter view's one-window forest screen 1rem past the window.
"""

from __future__ import annotations

from typing import Final

import streamlit as st

__all__ = ["CSS", "NARROW_PX", "SCROLL_FOCUS_JS", "TILES_PREFIX", "inject"]

NARROW_PX: Final = 640  # Streamlit stacks columns below this width
TILES_PREFIX: Final = "tiles_"  # key prefix of containers of metric tiles

# containers of metric tiles: the app's own (``tiles_...``) and the Present page's row of numbers
TILES: Final = f':is([class*="st-key-{TILES_PREFIX}"], .st-key-present_numbers)'

CSS: Final = f"""
<style>
[data-testid="stElementContainer"]:has(> [data-testid="stHtml"] > script:only-child) {{
  display: none;
}}
[data-testid="stCaptionContainer"] {{ color: rgba(49, 51, 63, 0.8); opacity: 1; }}
.vega-embed {{ max-width: 100%; }}
.vega-embed svg {{ max-width: 100%; height: auto; }}
[data-testid="stTable"] {{ max-width: 100%; overflow-x: auto; }}
[data-testid="stTable"] tr > :first-child {{
  position: sticky; left: 0; z-index: 1; background: #fff;
}}
[data-testid="stMarkdownContainer"] table {{ display: block; max-width: 100%; overflow-x: auto; }}
[data-testid="stDownloadButton"] button, [data-testid="stButton"] button {{ max-width: 100%; }}
[data-testid="stDownloadButton"] button p, [data-testid="stButton"] button p {{
  white-space: normal;
}}
[data-testid="stSidebar"] [data-testid="stMultiSelectTagsContainer"] [data-tag] {{
  height: auto; max-width: 100%;
}}
[data-testid="stSidebar"] [data-testid="stMultiSelectTagsContainer"] [data-tag] > span {{
  max-width: none; overflow: visible; text-overflow: clip; white-space: normal;
  line-height: 1.25; padding-top: 2px; padding-bottom: 2px;
}}
[class*="st-key-{TILES_PREFIX}"] [data-testid="stMetricValue"] {{
  font-size: clamp(1.3rem, 2.2vw, 2.25rem);
}}
@media (max-width: {NARROW_PX}px) {{
  h1 {{ font-size: 1.75rem !important; }}
  h2 {{ font-size: 1.4rem !important; }}
  {TILES} [data-testid="stHorizontalBlock"] {{
    flex-wrap: wrap; flex-direction: row; gap: 0.25rem 0.75rem;
  }}
  {TILES} [data-testid="stColumn"] {{ flex: 1 1 28%; min-width: 28%; width: auto; }}
  {TILES} [data-testid="stMetricValue"] {{ font-size: 1.3rem !important; }}
  {TILES} [data-testid="stMetricLabel"] p {{ font-size: 0.8rem !important; }}
}}
</style>
"""


# A table that scrolls sideways must be reachable with the keyboard to be scrolled (WCAG
# 2.1.1; axe-core's scrollable-region-focusable): give each such box a tab stop and a name.
# Once per browser tab (the flag), again whenever the page changes or the window resizes.
SCROLL_FOCUS_JS: Final = """
<script>
(() => {
  if (window.__explorerScrollFocus) return;
  window.__explorerScrollFocus = true;
  const BOXES = '[data-testid="stTable"] > div, [data-testid="stMarkdownContainer"] table';
  let queued = false;
  const mark = () => {
    queued = false;
    for (const box of document.querySelectorAll(BOXES)) {
      if (box.scrollWidth > box.clientWidth + 1 && !box.hasAttribute("tabindex")) {
        box.tabIndex = 0;
        box.setAttribute("role", "region");
        box.setAttribute("aria-label", "Table (scrolls sideways)");
      }
    }
  };
  const later = () => { if (!queued) { queued = true; requestAnimationFrame(mark); } };
  new MutationObserver(later).observe(document.body, { childList: true, subtree: true });
  window.addEventListener("resize", later);
  later();
})();
</script>
"""


def inject() -> None:
    """Add the app's CSS (and the tab stops for sideways-scrolling tables) to the page, once
    per run, before the page's own elements."""
    st.html(CSS)
    st.html(SCROLL_FOCUS_JS, unsafe_allow_javascript=True)
