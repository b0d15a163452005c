"""Toggle timings taken inside the page, with the page's own clock (performance.now).

Playwright's ``expect`` polls at 100, 250, 500 and 1000 ms intervals, so a wait measured from
Python is late by up to the current interval; here the page records its own times: the
pointerdown of the click, the first frame in which every forest plot shows the toggled
study's new status (checked on every animation frame), and the last change to the page
that the rerun made (a MutationObserver; "settled" once nothing changed for ``QUIET_MS``).
Used by bench_app.py (sync Playwright) and load_test.py (async Playwright).
"""

from __future__ import annotations

QUIET_MS = 500

#: add with ``page.add_init_script`` before the page opens
INIT = """
window.__toggle = {down: 0, redrawn: 0, last: 0};
new MutationObserver(() => { window.__toggle.last = performance.now(); })
  .observe(document, {subtree: true, childList: true, attributes: true, characterData: true});
"""

#: evaluate just before the click: reset the marks, time the next pointerdown
ARM = """() => {
  window.__toggle = {down: 0, redrawn: 0, last: 0};
  document.addEventListener('pointerdown', () => { window.__toggle.down = performance.now(); },
                            {capture: true, once: true});
}"""

#: ``wait_for_function(REDRAWN, arg=[label, status], polling="raf")``: true once every forest
#: plot's clickable row of the study reads "Status: <status>"
REDRAWN = """([label, status]) => {
  const sel = '.vega-embed path[aria-roledescription="rect mark"]'
    + '[aria-label*="Row: ' + label + ';"][aria-label*="Status:"]';
  const rows = [...document.querySelectorAll(sel)];
  const done = rows.length > 0 && rows.every(r => r.getAttribute('aria-label').includes(
    'Status: ' + status));
  if (done && !window.__toggle.redrawn) window.__toggle.redrawn = performance.now();
  return done;
}"""

#: ``wait_for_function(SETTLED, arg=QUIET_MS, polling=50)``: true once the page is quiet
SETTLED = "(quiet) => performance.now() - window.__toggle.last > quiet"

#: evaluate after SETTLED: [click -> redrawn, click -> last change] in ms
TIMES = """() => [window.__toggle.redrawn - window.__toggle.down,
                 window.__toggle.last - window.__toggle.down]"""

#: add with ``page.add_init_script``: the time from the navigation's start (the request) to the
#: first frame in which every one of ``n`` Vega charts has drawn its marks (checked on every
#: animation frame), and how many elements the page had mounted then
OPEN_INIT = """
window.__open = {drawn: 0, nodes: 0};
(function check() {
  const svgs = [...document.querySelectorAll('.vega-embed svg')];
  if (svgs.length >= 2 && svgs.every(s => s.querySelector('.role-mark > *'))) {
    window.__open = {drawn: performance.now(), nodes: document.querySelectorAll('*').length};
    return;
  }
  requestAnimationFrame(check);
})();
"""

#: ``wait_for_function(OPENED)``, then ``evaluate(OPEN_TIMES)``: [ms to both plots, elements]
OPENED = "() => window.__open.drawn > 0"
OPEN_TIMES = "() => [window.__open.drawn, window.__open.nodes]"
