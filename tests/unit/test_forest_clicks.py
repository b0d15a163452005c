"""A click in a forest plot toggles exactly the study clicked, on its row or on its label
(ui.blocks.clicked_study), and the plot's text alternative holds the numbers it draws
(core.views.results_table.plot_table)."""

from __future__ import annotations

import math

import pytest

from core.data.dataset import load_bundled
from core.fmt import ratio_with_ci
from core.state.view import parse_query
from core.views.analysis import analyse
from core.views.results_table import PLOT_TABLE_COLUMNS, plot_table
from ui.blocks import FOREST_PARAMS, clicked_study

ROW, LABEL = FOREST_PARAMS


def event(row: tuple[str, ...] = (), label: tuple[str, ...] = ()) -> dict:
    """What Streamlit keeps under the chart's key: each selection's points."""
    points = {ROW: [{"study_id": s} for s in row], LABEL: [{"study_id": s} for s in label]}
    return {"selection": points}


def test_clicks_on_rows_and_labels_each_toggle_the_study_clicked():
    seen: dict = {}
    study, seen = clicked_study(event(label=("Yu2014",)), seen)  # its label: out
    assert study == "Yu2014"
    study, seen = clicked_study(event(row=("Yu2014",), label=("Yu2014",)), seen)  # row: back
    assert study == "Yu2014"
    study, seen = clicked_study(event(row=("Yu2014", "Wei2019"), label=("Yu2014",)), seen)
    assert study == "Wei2019"
    study, seen = clicked_study(event(row=("Yu2014", "Wei2019")), seen)  # Yu's label again
    assert study == "Yu2014"
    assert seen == {ROW: frozenset({"Yu2014", "Wei2019"}), LABEL: frozenset()}


@pytest.mark.parametrize(
    "stored",
    [
        None,  # no event yet
        {"selection": {}},
        {"selection": {ROW: [{"study_id": ""}]}},  # a click on a pooled row
    ],
)
def test_no_study_clicked_toggles_nothing(stored):
    assert clicked_study(stored, {})[0] is None


def test_an_old_selection_restored_by_the_browser_toggles_nothing():
    """Two studies changed at once is not a click: only resync."""
    study, seen = clicked_study(event(row=("Yu2014", "Wei2019")), {})
    assert study is None and seen[ROW] == {"Yu2014", "Wei2019"}


def test_plot_table_holds_the_numbers_the_forest_plot_draws():
    ds = load_bundled()
    state = parse_query("?tpoint=interp&exclude=Yu2014").state
    oa = analyse(state, ds).outcomes["OS"]
    table = plot_table(oa)
    assert tuple(table.columns) == PLOT_TABLE_COLUMNS
    studies = oa.rows.set_index("study_id")
    assert list(table["Study"][:-1]) == list(studies["label"])
    wei = table.iloc[0]
    yi, vi = float(studies.loc["Wei2019", "yi"]), float(studies.loc["Wei2019", "vi"])
    z = 1.959963984540054
    lo, hi = math.exp(yi - z * math.sqrt(vi)), math.exp(yi + z * math.sqrt(vi))
    assert wei["Ratio [95% CI]"] == ratio_with_ci(math.exp(yi), lo, hi)
    assert wei["Status"] == "pooled"  # its 2-year rate is reported
    shi = table[table["Study"] == "Shi 2022"].iloc[0]
    assert shi["Status"] == "pooled; rate interpolated (†)"
    assert (
        bool(studies.loc["Shi2022", "interpolated"]) and not studies.loc["Wei2019", "interpolated"]
    )
    yu = table[table["Study"] == "Yu 2014"].iloc[0]
    assert (yu["Weight"], yu["Status"]) == ("excl.", "excluded by you (not pooled)")
    weights = [float(w.rstrip("%")) for w in table["Weight"][:-1] if w != "excl."]
    assert sum(weights) == pytest.approx(100.0, abs=0.15)
    pooled = table.iloc[-1]
    p = oa.pooled
    assert p is not None and pooled["Status"] == "pooled estimate"
    assert pooled["Ratio [95% CI]"] == ratio_with_ci(
        math.exp(p.estimate), math.exp(p.ci_low), math.exp(p.ci_high)
    )
