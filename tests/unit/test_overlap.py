"""Overlapping cohorts (core.views.overlap): studies of one overlap group pooled together are
marked ‡ wherever a pool is shown (rows, forest plot, results table, report, CLI JSON), and
``overlap=one`` keeps one study per group (the pick in ``keep``, else the largest), with the
pooled numbers equal to core's pool of the studies left."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import numpy as np
import pytest

import core.report.document as report
from core.charts.forest import forest_chart
from core.data.dataset import load_bundled
from core.report.narrative import left_out
from core.state.view import ViewState, describe_filters, encode_query, parse_query
from core.stats.pooling import pool
from core.views import overlap as ov
from core.views.analysis import analyse, forest_frame
from core.views.results_table import results_frame
from tests.cli_json import cli_json

BUNDLED = load_bundled()
#: Yu 2014 (RCT, 58 + 61 patients) and Wang WH 2015 (retrospective, 33 + 83) are both of the
#: Beijing centre's overlap group and both report 3-year OS and DFS; Shi 2022 is not in it.
LINK = "scope=all&design=RCT&design=PSM&design=retrospective&t_os=3&t_dfs=3"
POOLED_TOGETHER = ("Yu2014", "WangWH2015")
CREATED = datetime(2025, 5, 1, 10, 30, tzinfo=UTC)


def state_of(query: str) -> ViewState:
    parsed = parse_query(query)
    assert parsed.notices == ()
    return parsed.state


# ------------------------------------------------------------------------- the pure rule


def test_pick_one_keeps_the_largest_then_the_first() -> None:
    groups = {"a": "g", "b": "g", "c": "g", "x": "h", "y": "h"}
    sizes = {"a": 100, "b": 150, "c": 150, "x": None, "y": 20}
    # b and c tie at 150: the first of them in pool order stays; x's size is unknown
    assert ov.pick_one(["a", "b", "c", "x", "y"], groups, sizes) == {"a": "b", "c": "b", "x": "y"}
    assert ov.pick_one(["c", "b"], groups, sizes) == {"b": "c"}


def test_pick_one_follows_the_pick_and_ignores_single_members() -> None:
    groups = {"a": "g", "b": "g", "x": "h"}
    sizes = {"a": 10, "b": 500, "x": 5}
    assert ov.pick_one(["a", "b", "x"], groups, sizes, keep=("a",)) == {"b": "a"}
    # a pick outside the pool (filtered out, excluded by hand) falls back to the largest
    assert ov.pick_one(["a", "b"], groups, sizes, keep=("zz",)) == {"a": "b"}
    assert ov.pick_one(["a", "x"], groups, sizes) == {}
    assert ov.pooled_together(["a", "x"], groups, {}) == ()


def test_groups_of_skips_blank_groups() -> None:
    groups = ov.groups_of(BUNDLED.studies)
    assert groups["Yu2014"] == groups["WangWH2015"] == "beijing_cams"
    assert "Wei2019" not in groups and "Shi2022" not in groups


# ------------------------------------------------------------------------- link keys


def test_link_round_trip_and_old_links() -> None:
    state = state_of(LINK + "&overlap=largest&keep=WangWH2015")
    assert (state.overlap, state.keep) == ("one", ("WangWH2015",))
    query = encode_query(state)
    assert "overlap=one&keep=WangWH2015" in query
    assert parse_query(query).state == state
    # an old link (no overlap key) pools every study, as before; the default is not written
    old = state_of(LINK)
    assert (old.overlap, old.keep) == ("all", ())
    assert "overlap" not in encode_query(old)
    bad = parse_query(LINK + "&overlap=maybe")
    assert bad.state.overlap == "all"
    notice = "Overlapping cohorts (overlap): 'maybe' is not one of all, one; ignored."
    assert bad.notices == (notice,)


def test_filters_name_the_rule() -> None:
    lines = describe_filters(state_of("overlap=one&keep=WangWH2015"))
    assert (
        "Overlapping cohorts: one study per overlap group (your pick, else the largest); "
        "kept by choice: WangWH2015"
    ) in lines
    assert not any("Overlapping" in line for line in describe_filters(ViewState()))


# ------------------------------------------------------------------------- the analysis


@pytest.mark.parametrize("outcome", ["OS", "DFS"])
def test_pooled_together_is_marked(outcome: str) -> None:
    oa = analyse(state_of(LINK), BUNDLED).outcomes[outcome]
    assert oa.overlaps == (
        ov.OverlapSet("beijing_cams", POOLED_TOGETHER, ("Yu 2014", "Wang WH 2015")),
    )
    rows = oa.rows.set_index("study_id")
    assert rows.loc["Yu2014", "label"] == "Yu 2014 ‡"
    assert rows.loc["WangWH2015", "label"] == "Wang WH 2015 ‡"
    assert rows.loc["Shi2022", "label"] == "Shi 2022"
    assert rows["overlap"].to_dict() == {
        "Yu2014": "beijing_cams",
        "Shi2022": "",
        "WangWH2015": "beijing_cams",
    }


def test_default_view_has_no_pair_and_no_mark() -> None:
    for oa in analyse(ViewState(), BUNDLED).outcomes.values():
        assert oa.overlaps == () and oa.overlap_dropped == ()
        assert not any("‡" in label for label in oa.rows["label"])


def test_a_study_excluded_by_hand_leaves_its_partner_unmarked() -> None:
    oa = analyse(state_of(LINK + "&exclude=WangWH2015"), BUNDLED).outcomes["OS"]
    assert oa.overlaps == ()
    assert "Yu 2014" in oa.rows["label"].tolist()


@pytest.mark.parametrize("outcome", ["OS", "DFS"])
def test_largest_drops_the_smaller_and_pools_the_rest(outcome: str) -> None:
    everything = analyse(state_of(LINK), BUNDLED).outcomes[outcome]
    oa = analyse(state_of(LINK + "&overlap=largest"), BUNDLED).outcomes[outcome]
    # Yu 2014 has 119 patients, Wang WH 2015 116
    assert [d.study_id for d in oa.overlap_dropped] == ["WangWH2015"]
    assert oa.overlap_dropped[0].kept == "Yu2014"
    assert oa.rows["study_id"].tolist() == ["Yu2014", "Shi2022"]
    assert oa.overlaps == () and not any("‡" in x for x in oa.rows["label"])
    rest = everything.rows[everything.rows["study_id"] != "WangWH2015"]
    want = pool(rest["yi"].to_numpy(float), rest["vi"].to_numpy(float), method="REML", ci="wald")
    assert oa.pooled is not None and oa.pooled.k == 2
    for name in ("estimate", "se", "ci_low", "ci_high", "pvalue", "tau2", "i2"):
        assert math.isclose(getattr(oa.pooled, name), getattr(want, name), rel_tol=1e-12)
    np.testing.assert_allclose(oa.rows["weight"], np.asarray(want.weights), rtol=1e-12)
    assert oa.patients == 58 + 61 + 38 + 38  # Yu 2014 and Shi 2022
    reason = (
        "one study per overlap group: beijing_cams is represented by Yu 2014 (the largest in "
        "this outcome)"
    )
    assert ("WangWH2015", reason) in oa.excluded()
    assert ("Wang WH 2015", reason) in left_out(oa, BUNDLED.studies)


def test_the_pick_wins_over_the_largest() -> None:
    oa = analyse(state_of(LINK + "&overlap=one&keep=WangWH2015"), BUNDLED).outcomes["DFS"]
    assert oa.rows["study_id"].tolist() == ["Shi2022", "WangWH2015"]
    assert [(d.study_id, d.kept) for d in oa.overlap_dropped] == [("Yu2014", "WangWH2015")]
    assert "(your pick)" in oa.overlap_dropped[0].reason
    # keep without overlap=one changes nothing
    assert analyse(state_of(LINK + "&keep=WangWH2015"), BUNDLED).outcomes["DFS"].k == 3


# ------------------------------------------------------------------------- what shows it


def test_forest_plot_marks_and_explains() -> None:
    state = state_of(LINK)
    oa = analyse(state, BUNDLED).outcomes["OS"]
    spec = forest_chart(forest_frame(oa, state, BUNDLED.studies), measure_label=oa.title)
    text = spec["datasets"]["forest_text"]
    labels = [r["label_text"] for r in text if r["kind"] == "study"]
    assert labels == ["Yu 2014 ‡", "Shi 2022", "Wang WH 2015 ‡"]
    status = {r["study_id"]: r["status"] for r in text if r["kind"] == "study"}
    assert "overlap group (beijing_cams) ‡" in status["Yu2014"]
    assert "overlap" not in status["Shi2022"]
    notes = [n["t"] for n in spec["datasets"]["forest_notes"]]
    assert (
        "‡ Same overlap group (beijing_cams): cohorts that may share patients, pooled together."
        in notes
    )
    plain = analyse(ViewState(), BUNDLED).outcomes["DFS"]
    spec = forest_chart(forest_frame(plain, ViewState(), BUNDLED.studies), measure_label="x")
    assert not any("‡" in n["t"] for n in spec["datasets"]["forest_notes"])


def test_results_table_marks_and_lists_the_dropped() -> None:
    frame = results_frame(analyse(state_of(LINK), BUNDLED).outcomes["OS"])
    studies = frame[frame["row"] == "study"].set_index("study_id")
    assert studies.loc["Yu2014", "label"] == "Yu 2014 ‡"
    assert studies.loc["WangWH2015", "overlap"] == "beijing_cams"
    assert studies.loc["Shi2022", "overlap"] == ""
    frame = results_frame(analyse(state_of(LINK + "&overlap=one"), BUNDLED).outcomes["OS"])
    dropped = frame[frame["study_id"] == "WangWH2015"]
    assert dropped["row"].tolist() == ["not used"]
    assert "represented by Yu 2014" in dropped["note"].iloc[0]


def test_sentence_names_the_studies() -> None:
    oa = analyse(state_of(LINK), BUNDLED).outcomes["OS"]
    sentence = ov.overlap_sentence(oa.overlaps, ov.HOW_IN_LINK)
    assert sentence == (
        "‡ Cohorts that may share patients (one centre, overlapping accrual) are pooled "
        "together: Yu 2014 and Wang WH 2015 (overlap group beijing_cams). Their shared patients "
        "count more than once, so the pooled interval may be too narrow. The link option "
        "overlap=one keeps one study per overlap group."
    )
    assert ov.overlap_sentence(()) is None


def test_report_marks_the_studies() -> None:
    state = state_of(LINK)
    html = report.report_html(analyse(state, BUNDLED), state, BUNDLED, "https://x/", CREATED)
    # the note under each outcome, the study table and the methods
    assert html.count("are pooled together: Yu 2014 and Wang WH 2015 (overlap group") == 2
    assert "Yu 2014 ‡" in html and "Wang WH 2015 ‡" in html and "Shi 2022 ‡" not in html
    assert "were pooled together and are marked ‡" in html
    one = state_of(LINK + "&overlap=one")
    html = report.report_html(analyse(one, BUNDLED), one, BUNDLED, "https://x/", CREATED)
    assert "are pooled together" not in html and "Yu 2014 ‡" not in html
    assert "one study per group was kept" in html
    assert "represented by Yu 2014" in html


def test_cli_json_lists_the_overlap() -> None:
    doc = cli_json("analyze", "?" + LINK)
    for outcome in ("OS", "DFS"):
        assert doc[outcome]["overlap"] == [
            {"group": "beijing_cams", "pooled_together": list(POOLED_TOGETHER), "mark": "‡"}
        ]
    doc = cli_json("analyze", "?" + LINK + "&overlap=largest")
    for outcome in ("OS", "DFS"):
        block = doc[outcome]
        assert block["overlap"] == [
            {"group": "beijing_cams", "kept": "Yu2014", "dropped": ["WangWH2015"]}
        ]
        assert [s["id"] for s in block["studies"]] == ["Yu2014", "Shi2022"]
        assert block["pooled"]["k"] == 2
        assert any(e["id"] == "WangWH2015" for e in block["excluded"])
    assert cli_json("analyze", "?")["OS"]["overlap"] == []


def test_studies_page_trace_says_how_the_study_is_used() -> None:
    from ui import evidence

    state = state_of(LINK)
    use = evidence.use_in_view(analyse(state, BUNDLED), state, BUNDLED.studies, "WangWH2015")
    assert use["Status"].str.endswith("overlap group (beijing_cams) ‡").all()
    one = state_of(LINK + "&overlap=one")
    use = evidence.use_in_view(analyse(one, BUNDLED), one, BUNDLED.studies, "WangWH2015")
    assert use["Status"].tolist() == ["not used", "not used"]
    assert use["How"].str.contains("represented by Yu 2014").all()


@pytest.mark.parametrize("command", ["sensitivity", "bias"])
def test_cli_page_commands_carry_the_overlap(command: str) -> None:
    doc = cli_json(command, "?" + LINK + "&outcome=DFS")
    assert doc["overlap"] == [
        {"group": "beijing_cams", "pooled_together": list(POOLED_TOGETHER), "mark": "‡"}
    ]
    doc = cli_json(command, "?" + LINK + "&outcome=DFS&overlap=one&keep=WangWH2015")
    kept = {"group": "beijing_cams", "kept": "WangWH2015", "dropped": ["Yu2014"]}
    assert doc["overlap"] == [kept]
