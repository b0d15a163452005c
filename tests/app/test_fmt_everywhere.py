"""One number reads the same everywhere (core.fmt): a pooled hazard ratio of 1500 and of 1e200
(one uploaded study) reads '>999' in the Overview's and the Presentation page's metric tiles,
in the forest plot's spec (drawn on the page and built by core.charts), in the HTML report and
its plain sentence, in the summary of findings and in the Sensitivity page's headline; never
'1500.00' in one place and '>999' in another, never hundreds of digits."""

from __future__ import annotations

import html
from datetime import UTC, datetime

import pytest
from streamlit.testing.v1 import AppTest

from core import fmt
from core.charts.forest import forest_chart
from core.data.dataset import Dataset
from core.report.document import build_report, render_html
from core.report.sof import relative_text, sof_table
from core.state.view import parse_query
from core.views.analysis import analyse, forest_frame
from tests.app.conftest import APP, PAGES, metric_values, open_panels
from tests.fixtures import edge

QUERY = "measure=HR"
BIG = ">999"


def dataset(value: float) -> tuple[str, Dataset]:
    """One study with an OS hazard ratio of ``value`` (95% CI value/1.5 to value*1.5)."""
    return edge.load([edge.study("A")], [edge.hr("A", value, value / 1.5, value * 1.5)])


def page(upload: tuple[str, Dataset], name: str) -> AppTest:
    at = open_panels(AppTest.from_file(APP, default_timeout=60))
    at.query_params["measure"] = "HR"
    at.session_state["upload"] = upload
    at.run()
    if name != "overview":
        at.switch_page(PAGES[name]).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def chart_data(at: AppTest) -> str:
    """The datasets of the page's first chart, as text (Arrow keeps strings as UTF-8)."""
    chart = at.get("vega_lite_chart")[0]
    return " ".join(str(d) for d in chart.proto.datasets)


def pooled_ci_text(spec: dict) -> str:
    """The ratio [95% CI] text of the forest plot's pooled row in a chart spec."""
    for data in spec["datasets"].values():
        for row in data:
            if row.get("kind") == "pooled" and row.get("ci_text"):
                return str(row["ci_text"])
    raise AssertionError("no pooled row")


@pytest.mark.parametrize("value", [1500.0, 1e200])
def test_a_large_ratio_reads_the_same_on_every_surface(value: float) -> None:
    upload = dataset(value)
    state = parse_query(QUERY).state
    analysis = analyse(state, upload[1])
    oa = analysis.outcomes["OS"]
    assert oa.pooled is not None and oa.pooled.k == 1
    shown = fmt.ratio(value)
    assert shown == BIG

    # the metric tiles of the Overview and the Presentation page
    for name in ("overview", "presentation"):
        tiles = metric_values(page(upload, name))
        assert tiles["Pooled HR"] == [BIG], name
        assert tiles["95% CI"] == [f"{BIG}–{BIG}"], name

    # the forest plot: core's chart spec, and the same text in the chart the page draws
    spec = forest_chart(forest_frame(oa, state, upload[1].studies), measure_label=oa.title)
    text = pooled_ci_text(spec.to_dict())
    assert text == f"{BIG} [{BIG}, {BIG}]"
    assert text in chart_data(page(upload, "overview"))

    # the report: its key numbers, and the HTML with the same sentence
    rep = build_report(analysis, state, upload[1], "http://x/?measure=HR", datetime.now(UTC))
    (section,) = [s for s in rep.outcomes if s.numbers]
    numbers = {n.label: n.value for n in section.numbers}
    assert numbers["Pooled HR"] == BIG and numbers["95% CI"] == f"{BIG}–{BIG}"
    assert f"hazard ratio {BIG} (95% CI {BIG} to {BIG})" in section.sentence
    doc = render_html(rep)
    assert f"<dd>{html.escape(BIG)}</dd>" in doc
    assert "1500.00" not in doc and "0" * 20 not in doc

    # the summary of findings (page, report and CSV export share relative_text)
    (row,) = [r for r in sof_table(analysis, upload[1].studies) if r.outcome == "OS"]
    assert relative_text(row) == f"HR {BIG} (95% CI {BIG} to {BIG})"

    # the Sensitivity page's headline
    sens = page(upload, "sensitivity")
    assert any(f"Pooled HR {BIG} ({BIG}–{BIG})" in m.value for m in sens.markdown)
