"""The views the pages and the command line call never raise on hostile data ("never a red
traceback"): small datasets (k = 0 to 8 studies per outcome; no events, all events, equal
arms; identical estimates; sampling variances from 1e-18 to 1e6; hazard ratios only; one
study) loaded as a user's upload, under every model, measure and CI. What cannot be computed
is a message; the JSON the command line prints is valid (no NaN)."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, given, settings

from core import cli, vocab
from core.data.dataset import Dataset
from core.report.document import build_report
from core.report.narrative import key_numbers, summary_sentence
from core.report.sof import sof_table
from core.state.view import ViewState
from core.views.analysis import analyse, forest_frame
from core.views.plain import plain
from core.views.results_table import results_frame
from tests.fixtures import edge

Z = 1.959963984540054
METHODS = ("REML", "ML", "DL", "PM", "EB", "HS", "SJ", "HE", "EE", "MH", "PETO", "BAYES")
CREATED = datetime(2026, 1, 1, tzinfo=UTC)
#: arm sizes: one patient, two, ordinary, large
SIZES = st.sampled_from([1, 2, 7, 50, 400, 100_000])


@st.composite
def _events(draw: st.DrawFn, n_rt: int, n_ctl: int) -> tuple[int, int]:
    """Events per arm: none, all, half, equal counts, or any."""
    pick = draw(st.sampled_from(["zero", "all", "equal", "any", "zero_one"]))
    if pick == "zero":
        return 0, 0
    if pick == "all":
        return n_rt, n_ctl
    if pick == "zero_one":
        return 0, draw(st.integers(0, n_ctl))
    if pick == "equal":
        e = draw(st.integers(0, min(n_rt, n_ctl)))
        return e, e
    return draw(st.integers(0, n_rt)), draw(st.integers(0, n_ctl))


@st.composite
def _hr(draw: st.DrawFn, sid: str, outcome: str) -> dict:
    """An HR whose log has sampling variance 1e-18 to 1e6: from a CI (up to ~1e5, where the
    bounds stay finite) or from a p-value alone."""
    log_hr = draw(st.sampled_from([0.0, -0.5, 0.3, -3.0, 5.0]))
    log_v = draw(st.floats(-18, 6))
    se = math.sqrt(10.0**log_v)
    hr = math.exp(log_hr)
    if log_v < 5 and draw(st.booleans()):
        return edge.hr(sid, hr, hr * math.exp(-Z * se), hr * math.exp(Z * se), outcome=outcome)
    z = abs(log_hr) / se if log_hr else 0.0
    p = math.erfc(z / math.sqrt(2)) if z else 1.0
    p = min(max(p, 5e-324), 1.0)
    return edge.hr(sid, hr, p=p, outcome=outcome)


@st.composite
def _outcome_rows(draw: st.DrawFn, sid: str, outcome: str, n_rt: int, n_ctl: int) -> list[dict]:
    """One study's rows for one outcome: counts, rates (at t or either side of it), an HR."""
    t = 2.0 if outcome == "OS" else 1.0
    rows: list[dict] = []
    kinds = draw(st.sets(st.sampled_from(["events", "rate", "rates_around", "hr"]), max_size=2))
    if "events" in kinds:
        e_rt, e_ctl = draw(_events(n_rt, n_ctl))
        rows.append(edge.events(sid, e_rt, e_ctl, outcome, t))
    elif "rate" in kinds:
        r = st.sampled_from([0.0, 100.0, 50.0, 0.1, 99.9])
        rows.append(edge.rate(sid, draw(r), draw(r), outcome, t))
    elif "rates_around" in kinds:
        r = st.sampled_from([0.0, 100.0, 50.0, 30.0])
        rows.append(edge.rate(sid, draw(r), draw(r), outcome, t - 0.5))
        rows.append(edge.rate(sid, draw(r), draw(r), outcome, t + 1))
    if "hr" in kinds:
        rows.append(draw(_hr(sid, outcome)))
    return rows


@st.composite
def datasets(draw: st.DrawFn) -> Dataset:
    """0 to 8 studies that pass the default filters (some outside them), each with rows for
    OS and DFS; with ``identical`` every study repeats the first study's numbers."""
    k = draw(st.integers(0, 8))
    identical = draw(st.booleans())
    studies, outcomes = [], []
    first: dict[str, list[dict]] = {}
    for i in range(k):
        sid = f"S{i}"
        n_rt, n_ctl = (50, 50) if identical else (draw(SIZES), draw(SIZES))
        studies.append(
            edge.study(
                sid,
                n_rt,
                n_ctl,
                year=draw(st.sampled_from([2010, 2015, 2020])),
                quality_score=draw(st.sampled_from([None, 0, 3, 7])),
                design=draw(st.sampled_from(["RCT", "PSM", "RCT", "retrospective"])),
                indication=draw(st.sampled_from(["PVTT", "narrow_margin"])),
            )
        )
        for outcome in ("OS", "DFS"):
            if identical and i > 0:
                rows = [r | {"study_id": sid} for r in first[outcome]]
            else:
                rows = draw(_outcome_rows(sid, outcome, n_rt, n_ctl))
                first.setdefault(outcome, rows)
            outcomes += rows
    if not studies:  # an upload needs a study; none of it pools
        studies.append(edge.study("X", design="retrospective"))
    return edge.load(studies, outcomes)[1]


states = st.builds(
    ViewState,
    method=st.sampled_from(METHODS),
    measure=st.sampled_from(["OR", "RR", "RD", "HR"]),
    ci=st.sampled_from(["wald", "hksj"]),
    outcome=st.sampled_from(["OS", "DFS"]),
    pi=st.sampled_from(["t", "z", "hksj"]),
    to=st.sampled_from(["only0", "all", "if0all", "none"]),
    drop00=st.sampled_from(["auto", "0", "1"]),
    group=st.sampled_from(["none", "none", "design"]),
    tau2g=st.sampled_from(["separate", "common"]),
    tpoint=st.sampled_from(["interp", "exact"]),
    order=st.sampled_from(["year", "quality"]),
    mod=st.sampled_from([("quality",), ("year",), ("quality", "year")]),
    tf=st.booleans(),
)


def _json(value: object) -> str:
    """As the command line prints it (no NaN allowed)."""
    return json.dumps(plain(value), allow_nan=False, default=str)


def run_views(state: ViewState, ds: Dataset) -> None:
    """What the Overview, Present, Sensitivity and Small-study pages and the command line
    (``analyze``, ``sensitivity``, ``bias``) compute for ``state``: each returns, with
    messages, or this raises."""
    for view in (cli._analysis, cli._sensitivity, cli._bias):
        _json(view(state, ds))
    analysis = analyse(state, ds)
    for oa in analysis.outcomes.values():
        forest_frame(oa, state, ds.studies)
        results_frame(oa, ds.studies, state.sort)
        summary_sentence(oa, state, ds.studies)
        key_numbers(oa, state)
    sof_table(analysis, ds.studies)
    build_report(analysis, state, ds, "http://localhost/?", CREATED)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(datasets(), states)
def test_views_never_raise(ds: Dataset, state: ViewState) -> None:
    run_views(state, ds)


# --- what the search found, one example each ----------------------------------------------


def test_mantel_haenszel_odds_ratio_of_zero_is_a_message() -> None:
    """No events in the RT arm of any table: the MH odds ratio is 0 (metafor's rma.mh gives
    NA); the analysis says so instead of raising ValueError."""
    ds = edge.load(
        [edge.study(s) for s in "AB"], [edge.events("A", 0, 44), edge.events("B", 0, 30)]
    )[1]
    state = ViewState(method="MH")
    oa = analyse(state, ds).outcomes["OS"]
    assert oa.pooled is None and oa.rows["included"].sum() == 2
    assert oa.message == (
        "Mantel-Haenszel cannot pool these studies: the Mantel-Haenszel odds ratio is 0 or "
        "infinite for these tables. Choose the common-effect (EE) or a random-effects model "
        "in the sidebar to pool the studies' own estimates instead."
    )
    run_views(state, ds)


def test_peto_without_events_is_a_message() -> None:
    ds = edge.load([edge.study(s) for s in "AB"], [edge.events("A", 0, 0), edge.events("B", 0, 0)])[
        1
    ]
    oa = analyse(ViewState(method="PETO", drop00="0"), ds).outcomes["OS"]
    assert oa.pooled is None and oa.rows["included"].sum() == 2
    assert "Peto's odds ratio needs at least one table with events and non-events" in str(
        oa.message
    )


def test_mantel_haenszel_risk_difference_of_variance_zero_pools() -> None:
    """All events in both arms: the MH risk difference 0 with SE 0 and no z (rma.mh: 0, 0,
    NaN); it used to raise ZeroDivisionError."""
    ds = edge.load([edge.study("A", 400, 50)], [edge.events("A", 400, 50)])[1]
    state = ViewState(measure="RD", method="MH", drop00="0")
    oa = analyse(state, ds).outcomes["OS"]
    assert oa.pooled is not None
    assert (oa.pooled.estimate, oa.pooled.se) == (0.0, 0.0) and math.isnan(oa.pooled.pvalue)
    run_views(state, ds)


@pytest.mark.parametrize("method", ["MH", "PETO"])
def test_table_methods_with_hazard_ratios_fit_common_effect_on_the_ratio_pages(method) -> None:
    """MH and Peto need 2x2 tables; with HRs the common-effect model stands in (model_of),
    on the Sensitivity and Small-study pages too (they used to pass "MH" to the cumulative
    fit: ValueError 'unknown method')."""
    ds = edge.no_variation()[1]
    state = ViewState(measure="HR", method=method)
    sens = cli._sensitivity(state, ds)
    common = cli._sensitivity(state.replace(method="EE"), ds)
    assert sens["method"] == "EE" and sens["notices"] == [
        f"{vocab.MODELS[method]} needs 2x2 tables (events per arm), which hazard ratios do not "
        "have: the common-effect inverse-variance model is used instead."
    ]
    assert sens["leave_one_out"] == common["leave_one_out"]
    assert len(sens["cumulative"]["rows"]) == 4
    bias_doc = cli._bias(state, ds)
    assert bias_doc["method"] == "EE" and bias_doc["notices"] == sens["notices"]
    assert bias_doc["tests"] == cli._bias(state.replace(method="EE"), ds)["tests"]
