"""Overlapping cohorts on every page (AppTest): a link that pools two studies of one overlap
group (Yu 2014 and Wang WH 2015, both of the Beijing centre) shows the ‡ mark and the sentence
naming them on each page that pools; "one per overlap group" (sidebar, link or the Studies
page's pick) pools what core pools without the smaller or unpicked study."""

from __future__ import annotations

import functools
import math

import pytest
from streamlit.testing.v1 import AppTest

from core.data.dataset import load_bundled
from core.state.view import parse_query
from core.stats.pooling import pool
from core.views.analysis import analyse
from tests.app.conftest import metric_values, open_app
from tests.app.test_pages_equal_cli import datasets_with

LINK = "scope=all&design=RCT&design=PSM&design=retrospective&t_os=3&t_dfs=3"
SENTENCE = (
    "‡ Cohorts that may share patients (one centre, overlapping accrual) are pooled together: "
    "Yu 2014 and Wang WH 2015 (overlap group beijing_cams)."
)
LEGEND = "‡ Same overlap group (beijing_cams): cohorts that may share patients, pooled together."


@functools.cache
def dataset():
    return load_bundled()


def plain(markdown: str) -> str:
    """Markdown as read: the escapes of ui.markup removed."""
    return markdown.replace("\\", "")


def warnings(at: AppTest) -> list[str]:
    return [plain(w.value) for w in at.warning]


def chart_labels(at: AppTest) -> list[list[str]]:
    """The label column of every chart dataset that has one."""
    return [list(f["label"]) for f in datasets_with(at, "label")]


def ok(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.mark.parametrize("page", ["overview", "presentation", "sensitivity", "bias"])
def test_every_pooling_page_marks_the_pair(page: str) -> None:
    at = ok(open_app(LINK, page))
    said = [w for w in warnings(at) if w.startswith(SENTENCE)]
    # the Overview pools both outcomes side by side: one warning under each forest plot
    assert len(said) == (2 if page == "overview" else 1)
    labels = [c for c in chart_labels(at) if any("Shi 2022" in x for x in c)]
    assert labels, "no chart with study labels"
    for column in labels:  # charts of studies (not the models or quality thresholds)
        studies = [x for x in column if "Yu 2014" in x or "Wang WH 2015" in x]
        assert len(studies) == 2 and all("‡" in x for x in studies), column
        assert not any("Shi 2022 ‡" in x for x in column)
    if page in ("overview", "presentation"):
        notes = [n for f in datasets_with(at, "t") for n in f["t"]]
        assert LEGEND in notes
    if page == "overview":  # the include table marks them too
        table = next(d.value for d in at.dataframe if "Include" in d.value)
        study = dict(zip(table["id"], table["Study"], strict=True))
        assert (study["Yu2014"], study["WangWH2015"]) == ("Yu 2014 ‡", "Wang WH 2015 ‡")
        assert study["Shi2022"] == "Shi 2022"
    if page == "sensitivity":  # leave-one-out names the study it omits, marked
        assert [x for x in labels[0] if x.startswith("Omitting")] == [
            "Omitting Yu 2014 ‡",
            "Omitting Shi 2022",
            "Omitting Wang WH 2015 ‡",
        ]


def test_default_view_shows_no_mark() -> None:
    at = ok(open_app(""))
    assert not any("‡" in w for w in warnings(at))
    assert not any("‡" in x for column in chart_labels(at) for x in column)


def _expected_or(query: str, outcome: str, drop: str) -> str:
    """The pooled OR core gives for ``query`` without study ``drop`` (pooled by core.stats)."""
    oa = analyse(parse_query(query).state, dataset()).outcomes[outcome]
    rest = oa.rows[oa.rows["study_id"] != drop]
    fit = pool(rest["yi"].to_numpy(float), rest["vi"].to_numpy(float), method="REML", ci="wald")
    return f"{math.exp(fit.estimate):.2f}"


def test_largest_drops_the_smaller_on_the_overview() -> None:
    at = ok(open_app(LINK + "&overlap=largest"))
    shown = metric_values(at)
    assert shown["Pooled OR"] == [
        _expected_or(LINK, "OS", "WangWH2015"),
        _expected_or(LINK, "DFS", "WangWH2015"),
    ]
    assert shown["Studies (k)"] == ["2", "2"]
    assert not any("‡" in w for w in warnings(at))
    captions = " ".join(plain(c.value) for c in at.caption)
    assert "One study per overlap group: Yu 2014 kept, Wang WH 2015 left out (beijing_cams)." in (
        captions
    )
    # the not-used list says why, in its own group
    assert "One study per overlap group" in " ".join(m.value for m in at.markdown)
    assert at.sidebar.radio(key="w_overlap").value == "one"
    assert at.sidebar.code[0].value.endswith("&overlap=one&t_os=3&t_dfs=3")


def test_present_lists_the_study_left_out() -> None:
    at = ok(open_app(LINK + "&overlap=one&outcome=DFS", "presentation"))
    text = " ".join(plain(m.value) for m in at.markdown)
    assert (
        "Yu 2014: one study per overlap group: beijing_cams is represented by Wang WH 2015"
        not in text
    )
    assert "Wang WH 2015: one study per overlap group: beijing_cams is represented by Yu 2014" in (
        text
    )
    assert metric_values(at)["Pooled OR"] == [_expected_or(LINK, "DFS", "WangWH2015")]


def test_sidebar_choice_goes_into_the_link_and_back() -> None:
    at = ok(open_app(LINK))
    at.sidebar.radio(key="w_overlap").set_value("one").run()
    ok(at)
    assert at.query_params["overlap"] == "one"
    assert metric_values(at)["Studies (k)"] == ["2", "2"]
    at.sidebar.radio(key="w_overlap").set_value("all").run()
    ok(at)
    assert "overlap" not in at.query_params and "keep" not in at.query_params
    assert metric_values(at)["Studies (k)"] == ["3", "3"]


def test_studies_page_pick_keeps_the_chosen_study() -> None:
    at = ok(open_app(LINK, "studies"))
    picker = at.selectbox(key="w_keep_beijing_cams")
    assert picker.value == ""  # the largest, until a study is picked
    picker.set_value("WangWH2015").run()
    ok(at)
    assert at.query_params["overlap"] == "one"
    assert at.query_params["keep"] == "WangWH2015"
    assert at.selectbox(key="w_keep_beijing_cams").value == "WangWH2015"
    # every page now pools Wang WH 2015 instead of Yu 2014
    at.switch_page("pages/overview.py").run()
    ok(at)
    assert metric_values(at)["Pooled OR"] == [
        _expected_or(LINK, "OS", "Yu2014"),
        _expected_or(LINK, "DFS", "Yu2014"),
    ]
