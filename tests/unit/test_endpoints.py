"""What the pooled studies measured (core.data.endpoints and its use in core): the endpoint and
adjustment read from the data, mixed definitions named, the ``endpoint`` link key keeping one
(pooled numbers then equal core's pool of the kept studies), the CLI JSON and the report."""

from __future__ import annotations

import functools
import html
import json
import math
from datetime import UTC, datetime
from pathlib import Path

import pytest

import core.report.document as report
from core.cli import main
from core.data.dataset import load_bundled, published
from core.data.endpoints import (
    adjustment_of,
    definitions,
    effect_words,
    endpoint_of,
    matches,
)
from core.data.estimable import estimable
from core.report.narrative import described_filters, summary_sentence
from core.report.sof import sof_table
from core.state.view import ViewState, describe_filters, encode_query, parse_query
from core.stats.pooling import pool
from core.views.analysis import analyse
from core.views.published import published_comparison
from core.views.results_table import results_frame
from ui.upload import handle_upload

MIXED = Path(__file__).resolve().parents[1] / "fixtures" / "uploads" / "mixed_endpoints"
BUNDLED = load_bundled()


@functools.cache
def mixed():
    files = [(n, (MIXED / n).read_bytes()) for n in ("studies.csv", "outcomes.csv")]
    result = handle_upload(files)
    assert result.loaded and not result.report.problems
    return result.dataset


# --- reading the data ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("outcome", "reported", "slug", "event"),
    [
        ("OS", "OS", "all-cause-death", "death from any cause"),
        ("OS", " Overall_Survival ", "all-cause-death", "death from any cause"),
        ("OS", None, "all-cause-death", "death from any cause"),  # empty: the column's own
        ("OS", "HCC-related mortality", "hcc-related-death", "HCC-related death"),
        ("DFS", "DFS", "dfs", "recurrence or death"),
        ("DFS", "", "dfs", "recurrence or death"),
        ("DFS", "Recurrence-free survival", "rfs", "an RFS event (recurrence-free survival)"),
        ("DFS", "HCC recurrence", "hcc-recurrence", "HCC recurrence"),
        ("OS", "Cancer-specific survival", "cancer-specific-survival",
         "Cancer-specific survival (as reported)"),
    ],
)  # fmt: skip
def test_endpoint_of(outcome: str, reported: str | None, slug: str, event: str) -> None:
    ep = endpoint_of(outcome, reported)
    assert (ep.slug, ep.event) == (slug, event)


@pytest.mark.parametrize(
    ("text", "cls", "phrase"),
    [
        ("multivariable Cox; endpoint = HCC-related mortality", "adjusted", "multivariable Cox"),
        ("multivariable (CI not given in abstract)", "adjusted", "multivariable"),
        ("PSM-matched Cox (also 0.60 multivariable); CI not given", "adjusted", "PSM-matched Cox"),
        ("univariable", "unadjusted", "univariable"),
        ("Unadjusted Cox", "unadjusted", "Unadjusted Cox"),
        ("not stated (trial HR summary); RFS", "not-stated", "adjustment not stated"),
        ("", "not-stated", "adjustment not stated"),
        (None, "not-stated", "adjustment not stated"),
        ("Cox", "not-stated", "Cox"),  # a model without its covariates: not stated
    ],
)
def test_adjustment_of(text: str | None, cls: str, phrase: str) -> None:
    assert adjustment_of(text) == (cls, phrase)


def test_definitions_group_studies_and_keys_match_link_values() -> None:
    defs = definitions(
        "OS",
        "HR",
        ["A", "B", "C", "D"],
        ["HCC-related mortality", "OS", "overall survival", "OS"],
        ["multivariable Cox", "multivariable Cox", "multivariable", "univariable"],
    )
    assert [(d.key, d.studies, d.phrase) for d in defs] == [
        ("OS.hcc-related-death.adjusted", ("A",), "multivariable Cox"),
        ("OS.all-cause-death.adjusted", ("B", "C"), "adjusted"),  # phrases differ: the class
        ("OS.all-cause-death.unadjusted", ("D",), "univariable"),
    ]
    assert effect_words(defs[:1], "HR", None) == (
        "Hazard ratio for HCC-related death, multivariable Cox"
    )
    assert effect_words(defs, "HR", None) == (
        "Hazard ratio for HCC-related mortality or OS (mixed endpoint definitions)"
    )
    # OUTCOME.endpoint keeps every adjustment; the outcome must match
    assert [matches(d, ["OS.all-cause-death"]) for d in defs] == [False, True, True]
    assert [matches(d, ["OS.all-cause-death.unadjusted"]) for d in defs] == [False, False, True]
    assert not any(matches(d, ["DFS.all-cause-death"]) for d in defs)
    # an odds ratio (from counts) has no adjustment: only its endpoint defines it
    ors = definitions("DFS", "OR", ["A", "B"], ["DFS", "RFS"], ["PSM", None])
    assert [d.key for d in ors] == ["DFS.dfs", "DFS.rfs"]
    assert matches(ors[1], ["DFS.rfs.adjusted"])
    assert effect_words(ors, "OR", 1.0) == (
        "Odds ratio of 1-year DFS or RFS (mixed endpoint definitions)"
    )
    # the risk ratio and risk difference name their own measure
    rr = definitions("OS", "RR", ["A"], ["OS"], [None])
    assert effect_words(rr, "RR", 2.0) == "Risk ratio of 2-year OS"
    assert effect_words(ors, "RD", 1.0) == (
        "Risk difference of 1-year DFS or RFS (mixed endpoint definitions)"
    )


# --- the bundled data -------------------------------------------------------------------------


def test_bundled_hr_for_pvtt_is_hcc_related_death_from_a_multivariable_cox_model() -> None:
    state = parse_query("measure=HR&indication=PVTT").state
    analysis = analyse(state, BUNDLED)
    assert analysis.outcomes["OS"].title == "Hazard ratio for HCC-related death, multivariable Cox"
    assert analysis.outcomes["DFS"].title == "Hazard ratio for HCC recurrence, multivariable Cox"
    s = summary_sentence(analysis.outcomes["OS"], state, BUNDLED.studies)
    assert "a lower hazard of HCC-related death: hazard ratio 0.35" in s
    assert "hazard of death" not in s


def test_bundled_hr_pool_with_internal_rt_mixes_hcc_related_and_all_cause_death() -> None:
    query = "measure=HR&indication=PVTT&indication=other&rt=external&rt=internal"
    oa = analyse(parse_query(query).state, BUNDLED).outcomes["OS"]
    assert oa.mixed and [d.key for d in oa.definitions] == [
        "OS.hcc-related-death.adjusted",  # Wei 2019
        "OS.all-cause-death.not-stated",  # Chung 2013: "not stated (trial HR summary)"
    ]
    kept = analyse(parse_query(query + "&endpoint=OS.hcc-related-death").state, BUNDLED)
    oa = kept.outcomes["OS"]
    assert not oa.mixed and list(oa.rows["study_id"]) == ["Wei2019"]
    assert dict(oa.filtered_out)["Chung2013"] == (
        "endpoint OS, adjustment not stated; only HCC-related mortality, multivariable Cox kept"
    )


def test_keeping_one_definition_pools_exactly_the_kept_studies() -> None:
    oa = analyse(parse_query("outcome=DFS&endpoint=DFS.dfs").state, BUNDLED).outcomes["DFS"]
    rows = estimable(BUNDLED, "DFS", "OR", 1.0).rows
    kept = rows[rows["study_id"].isin(["Wei2019", "Shi2022"])]
    want = pool(kept["yi"].to_numpy(float), kept["vi"].to_numpy(float))
    assert list(oa.rows["study_id"]) == ["Wei2019", "Shi2022"]
    assert oa.pooled.estimate == want.estimate and oa.pooled.ci_low == want.ci_low
    assert oa.title == "Odds ratio of 1-year DFS"
    assert "Yu2014" in dict(oa.filtered_out)


def test_mixed_upload_hr_kept_definition_equals_core_pool() -> None:
    state = parse_query("measure=HR&endpoint=OS.all-cause-death.adjusted").state
    oa = analyse(state, mixed()).outcomes["OS"]
    rows = estimable(mixed(), "OS", "HR").rows
    kept = rows[rows["study_id"].isin(["M2", "M3"])]
    want = pool(kept["yi"].to_numpy(float), kept["vi"].to_numpy(float))
    assert (oa.pooled.estimate, oa.pooled.se, oa.pooled.tau2) == (want.estimate, want.se, want.tau2)
    assert oa.title == "Hazard ratio for death from any cause, adjusted"


def test_old_links_are_unchanged_and_the_key_round_trips() -> None:
    old = "design=RCT&exclude=Yu2014&method=DL"
    assert parse_query(old).state.endpoint == ()
    # written back in the current format: v=2, and the old time-point rule kept explicitly
    assert encode_query(parse_query(old).state) == f"v=2&{old}&tpoint=exact"
    state = ViewState(endpoint=("OS.hcc-related-death.adjusted", "DFS.rfs"))
    query = encode_query(state)
    assert query == "v=2&endpoint=DFS.rfs&endpoint=OS.hcc-related-death.adjusted"
    assert parse_query(query) == (state, ())
    assert "Endpoint definitions kept: DFS.rfs, OS.hcc-related-death.adjusted" in (
        describe_filters(state)
    )
    bad = parse_query("endpoint=../x")
    assert bad.state.endpoint == () and bad.notices


# --- where an effect is named -------------------------------------------------------------------


def test_cli_json_carries_the_endpoint_description(capsys) -> None:
    assert main(["analyze", "?measure=HR&indication=PVTT"]) == 0
    doc = json.loads(capsys.readouterr().out)
    ep = doc["OS"]["endpoint"]
    assert ep["description"] == "Hazard ratio for HCC-related death, multivariable Cox"
    assert ep["mixed"] is False and ep["kept"] == [] and ep["note"] is None
    assert ep["definitions"] == [
        {
            "key": "OS.hcc-related-death.adjusted",
            "endpoint": "HCC-related mortality",
            "event": "HCC-related death",
            "adjustment": "adjusted",
            "adjustment_words": "multivariable Cox",
            "studies": ["Wei2019"],
        }
    ]
    assert doc["DFS"]["endpoint"]["description"] == (
        "Hazard ratio for HCC recurrence, multivariable Cox"
    )
    assert main(["analyze", "?outcome=DFS"]) == 0
    dfs = json.loads(capsys.readouterr().out)["DFS"]["endpoint"]
    assert dfs["mixed"] is True and dfs["choices"] == ["DFS.dfs", "DFS.rfs"]
    assert [d["studies"] for d in dfs["definitions"]] == [["Wei2019", "Shi2022"], ["Yu2014"]]


def test_report_names_the_endpoint() -> None:
    state = parse_query("measure=HR&indication=PVTT").state
    created = datetime(2025, 5, 1, tzinfo=UTC)
    doc = html.unescape(
        report.report_html(analyse(state, BUNDLED), state, BUNDLED, "https://x.org/", created)
    )
    assert "Overall survival: hazard ratio for HCC-related death, multivariable Cox" in doc
    assert "a lower hazard of HCC-related death" in doc
    assert "hazard of death" not in doc


def test_results_csv_names_the_pool_and_each_study_endpoint() -> None:
    oa = analyse(parse_query("measure=HR&indication=PVTT").state, BUNDLED).outcomes["OS"]
    frame = results_frame(oa)
    assert set(frame["analysis"]) == {"Hazard ratio for HCC-related death, multivariable Cox"}
    wei = frame[frame["study_id"] == "Wei2019"].iloc[0]
    assert wei["endpoint"] == "HCC-related mortality, multivariable Cox"
    assert math.isclose(wei["ratio"], 0.35, rel_tol=1e-12)


def test_summary_of_findings_names_the_endpoint_and_its_event() -> None:
    state = parse_query("measure=HR&indication=PVTT").state
    rows = {r.outcome: r for r in sof_table(analyse(state, BUNDLED), BUNDLED.studies)}
    assert (
        rows["OS"].title
        == "Overall survival (hazard ratio for HCC-related death, multivariable Cox)"
    )
    assert "enter the risk of HCC-related death without RT" in rows["OS"].message
    default = {r.outcome: r for r in sof_table(analyse(ViewState(), BUNDLED), BUNDLED.studies)}
    assert default["OS"].title == "2-year overall survival (odds ratio)"
    assert default["DFS"].title == (
        "1-year disease-free survival (odds ratio; DFS or RFS, mixed endpoint definitions)"
    )


def test_filter_lists_and_published_line_name_the_endpoint() -> None:
    state = parse_query("measure=HR&indication=PVTT").state
    analysis = analyse(state, BUNDLED)
    lines = described_filters(state, list(analysis.outcomes.values()))
    assert "Hazard ratio of OS; hazard ratio of DFS" not in lines
    assert (
        "Hazard ratio for HCC-related death, multivariable Cox; "
        "hazard ratio for HCC recurrence, multivariable Cox"
    ) in lines
    assert [x for x in lines if "ratio" not in x] == [
        x for x in describe_filters(state, ("OS", "DFS")) if "ratio" not in x
    ]
    line = published_comparison(analysis.outcomes["OS"], published()).text
    assert line.endswith(
        "this view shows the hazard ratio for HCC-related death, multivariable Cox."
    )
    assert described_filters(ViewState(), [analyse(ViewState(), BUNDLED).outcomes["OS"]]) == (
        describe_filters(ViewState())
    )  # an odds ratio of the outcome's own endpoint: the same words as before
