"""AppTest through app.py: subgroups by any column (group=COLUMN, tau2g) on the Overview and
several moderators on the Small-study effects page; what the pages show equals core's numbers,
and a column the dataset lacks gets a notice, never an exception."""

from __future__ import annotations

import pytest

from core.data.dataset import load_bundled
from core.state.view import parse_query
from core.views.analysis import analyse, subgroup_test_text, subtotal_text
from core.views.bias import bias_view, coefficient_frame
from tests.app.conftest import open_app

ALL = (
    "scope=all&design=RCT,PSM,retrospective,prospective-nonrandomized"
    "&indication=PVTT,narrow_margin,MVI,other&rt=external,internal&tpoint=interp&t_dfs=2"
)


def _captions(at) -> list[str]:
    return [c.value for c in at.caption]


def test_grouping_by_any_column_with_common_tau2_shows_the_test_of_core():
    query = ALL + "&group=publication_type&tau2g=common"
    at = open_app(query)
    assert not at.exception, [e.value for e in at.exception]
    dfs = analyse(parse_query(query).state, load_bundled()).outcomes["DFS"]
    expected = f"{subgroup_test_text(dfs.subgroup_test)} {subtotal_text(dfs)}"
    assert "one τ² common to all subgroups" in expected
    tau2 = dfs.subgroups.tau2_common
    assert f"pooled with one τ² common to all subgroups (τ² = {tau2:.4f}" in expected
    assert expected in [c.replace("\\", "") for c in _captions(at)]  # shown as text (escaped)
    assert at.sidebar.selectbox(key="w_group").value == "publication_type"
    assert at.sidebar.radio(key="w_tau2g").value == "common"
    at.sidebar.radio(key="w_tau2g").set_value("separate").run()
    assert at.query_params.get("tau2g") in (None, [], "")  # the default leaves the link
    assert "each subgroup its own τ²" in "".join(_captions(at))
    shown = "".join(_captions(at)).replace("\\", "")
    assert "Subtotals: each subgroup pooled with its own τ²." in shown


@pytest.mark.parametrize("page", ["overview", "presentation"])
def test_a_column_the_dataset_lacks_gets_a_notice_and_no_subgroups(page: str):
    at = open_app("group=nosuch", page)
    assert not at.exception, [e.value for e in at.exception]
    notice = "Subgroups (group): the dataset has no column 'nosuch'; shown without subgroups."
    shown = [c.replace("\\", "") for c in _captions(at)]
    assert shown.count(f"Ignored in the link: {notice}") == 1
    assert not any("Test for subgroup differences" in c for c in shown)


def test_several_moderators_show_the_coefficients_of_core():
    query = ALL + "&outcome=DFS&mod=year&mod=quality"
    at = open_app(query, "bias")
    assert not at.exception, [e.value for e in at.exception]
    ds = load_bundled()
    state = parse_query(query).state
    reg = bias_view(state, analyse(state, ds).outcomes["DFS"], ds.studies).regression
    assert reg.fit is not None
    want = coefficient_frame(reg.fit, "OR").set_index("Term")
    (table,) = [t.value for t in at.table if "Log scale" in t.value.columns]
    assert list(table.index) == list(want.index)
    assert (table.to_numpy() == want.to_numpy()).all()
    assert at.multiselect(key="w_bias_mod").value == ["year", "quality"]
    assert any(f"residual τ² = {reg.fit.tau2:.4f}" in c for c in _captions(at))
