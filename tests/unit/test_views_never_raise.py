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
from core.charts.bias import bubble_chart, funnel_chart
from core.charts.forest import forest_chart
from core.charts.sensitivity import (
    baujat_chart,
    cumulative_chart,
    estimator_chart,
    leave_one_out_chart,
    quality_sweep_chart,
)
from core.data.dataset import Dataset
from core.data.estimable import estimable
from core.report.document import build_report
from core.report.narrative import key_numbers, summary_sentence
from core.report.rscript import r_script
from core.report.sof import sof_table
from core.state.view import ViewState
from core.stats.effects import is_ratio
from core.views import bias, sensitivity
from core.views.analysis import (
    SENSITIVITY_ANALYSES,
    analyse,
    forest_footer,
    forest_frame,
    frequentist_view,
    prior_sensitivity_line,
    ratio_pages_unavailable,
)
from core.views.board import headline_ratio
from core.views.plain import plain
from core.views.results_table import results_frame
from core.views.sensitivity import gosh_frame, gosh_plan
from tests.fixtures import edge

Z = 1.959963984540054
METHODS = ("REML", "ML", "DL", "PM", "EB", "HS", "SJ", "HE", "EE", "MH", "PETO", "BAYES")
CREATED = datetime(2026, 1, 1, tzinfo=UTC)
#: arm sizes: one patient, two, ordinary, large
SIZES = st.sampled_from([0, 1, 2, 7, 50, 400, 100_000])


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
    log_v = draw(st.one_of(st.sampled_from([-18.0, -12.0, -6.0, 0.0, 3.0, 6.0]), st.floats(-18, 6)))
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
    table = draw(st.sampled_from(["events", "events", "rate", "rates_around", None]))
    if table == "events":
        e_rt, e_ctl = draw(_events(n_rt, n_ctl))
        rows.append(edge.events(sid, e_rt, e_ctl, outcome, t))
    elif table == "rate":
        r = st.sampled_from([0.0, 100.0, 50.0, 0.1, 99.9])
        rows.append(edge.rate(sid, draw(r), draw(r), outcome, t))
    elif table == "rates_around":
        r = st.sampled_from([0.0, 100.0, 50.0, 30.0])
        rows.append(edge.rate(sid, draw(r), draw(r), outcome, t - 0.5))
        rows.append(edge.rate(sid, draw(r), draw(r), outcome, t + 1))
    if draw(st.sampled_from([True, True, False])):
        rows.append(draw(_hr(sid, outcome)))
    return rows


@st.composite
def datasets(draw: st.DrawFn) -> Dataset:
    """0 to 8 studies that pass the default filters (some outside them), each with rows for
    OS and DFS; with ``identical`` every study repeats the first study's numbers."""
    k = draw(st.sampled_from([0, 1, 2, 3, 4, 5, 6, 8]))
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
                year=draw(st.sampled_from([2010, 2015, 2020, None])),
                quality_score=draw(st.sampled_from([None, 0, 3, 7])),
                design=draw(st.sampled_from(["RCT", "PSM", "RCT", "PSM", "retrospective"])),
                indication=draw(st.sampled_from(["PVTT", "narrow_margin"])),
                overlap_group=draw(st.sampled_from([None, None, "G"])),
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
    return edge.load(studies, outcomes, ("overlap_group",))[1]


states = st.builds(
    ViewState,
    method=st.sampled_from(METHODS),
    measure=st.sampled_from(["OR", "RR", "RD", "HR"]),
    ci=st.sampled_from(["wald", "hksj"]),
    outcome=st.sampled_from(["OS", "DFS"]),
    pi=st.sampled_from(["t", "z", "hksj"]),
    to=st.sampled_from(["only0", "all", "if0all", "none"]),
    drop00=st.sampled_from(["auto", "0", "1"]),
    tau2g=st.sampled_from(["separate", "common"]),
    tpoint=st.sampled_from(["interp", "interp", "exact"]),
    order=st.sampled_from(["year", "quality"]),
    mod=st.sampled_from([("quality",), ("year",), ("quality", "year")]),
    tf=st.booleans(),
    exclude=st.sets(st.sampled_from([f"S{i}" for i in range(8)]), max_size=2).map(tuple),
    qmin=st.sampled_from([None, None, None, 3.0]),
    t_os=st.sampled_from([2.0, 2.0, 2.0, 1.0, 3.0]),
    t_dfs=st.sampled_from([1.0, 1.0, 1.0, 2.0]),
    add=st.sampled_from([0.5, 0.5, 0.0, 1.0]),
    tau_prior=st.sampled_from([0.5, 0.01, 10.0]),
    sort=st.sampled_from(["data", "weight", "effect", "year", "quality", "label"]),
    scope=st.sampled_from(["rim", "all"]),
    overlap=st.sampled_from(["all", "one"]),
    keep=st.sampled_from([(), ("S1",)]),
    cr_os=st.sampled_from([None, 0.0, 100.0, 50.0]),
    cr_dfs=st.sampled_from([None, 0.0, 100.0]),
    group=st.sampled_from(["none", "none", "design", "indication"]),
)


def _json(value: object) -> str:
    """As the command line prints it (no NaN allowed)."""
    return json.dumps(plain(value), allow_nan=False, default=str)


def run_views(state: ViewState, ds: Dataset) -> None:
    """What the Overview, Present, Sensitivity and Small-study pages and the command line
    (``analyze``, ``sensitivity``, ``bias``, ``rscript``) compute for ``state``, charts and
    the report aside: each returns, with messages, or this raises."""
    for view in (cli._analysis, cli._sensitivity, cli._bias):
        _json(view(state, ds))
    analysis = analyse(state, ds)
    for oa in analysis.outcomes.values():
        forest_frame(oa, state, ds.studies)
        results_frame(oa, ds.studies, state.sort)
        summary_sentence(oa, state, ds.studies)
        key_numbers(oa, state, always_pi=True)
        headline_ratio(oa)
        prior_sensitivity_line(oa, oa.measure)
    r_script(analysis, ds)
    sof_table(analysis, ds.studies)
    fstate = frequentist_view(state, SENSITIVITY_ANALYSES)[0]
    if ratio_pages_unavailable(fstate) is None:  # GOSH, on the Sensitivity page's button
        oa = analyse(fstate, ds).outcomes[fstate.outcome]
        inc = oa.rows[oa.rows["included"]].reset_index(drop=True)
        method = "EE" if fstate.method == "EE" else "DL"
        if oa.pooled is not None and gosh_plan(len(inc), method)[0] is not None:
            gosh_frame(inc, method)


def page_charts(state: ViewState, ds: Dataset) -> None:
    """The forest plots and the report (which draws them), and the Sensitivity and
    Small-study pages' charts, built as the pages build them (Altair's to_dict validates)."""
    analysis = analyse(state, ds)
    for oa in analysis.outcomes.values():
        if not oa.rows.empty:  # as ui.blocks.forest draws it
            frame = forest_frame(oa, state, ds.studies)
            linear = not is_ratio(oa.measure)
            footer = forest_footer(oa)
            forest_chart(
                frame, measure_label=oa.short_title, linear=linear, footer=footer
            ).to_dict()
    build_report(analysis, state, ds, "http://localhost/?", CREATED)
    fstate = frequentist_view(state, SENSITIVITY_ANALYSES)[0]
    if ratio_pages_unavailable(fstate) is not None:
        return
    oa = analyse(fstate, ds).outcomes[fstate.outcome]
    sv = sensitivity.sensitivity_view(fstate, oa, ds.studies, lambda *a: estimable(ds, *a))
    label = sv.title
    if sv.leave_one_out.plot is not None:
        leave_one_out_chart(sv.leave_one_out.plot, measure_label=label, treatment="RT").to_dict()
    if sv.cumulative.plot is not None:
        cumulative_chart(
            sv.cumulative.plot, measure_label=label, key_title="year", treatment="RT"
        ).to_dict()
    if sv.influence.frame is not None and sv.influence.plot is not None:
        baujat_chart(sv.influence.frame).to_dict()
    if sv.estimators.frame is not None and sv.estimators.plot is not None:
        current = (fstate.method, fstate.ci)
        estimator_chart(
            sv.estimators.frame, measure_label=label, current=current, treatment="RT"
        ).to_dict()
    if sv.quality.message is None and sv.pooled is not None:
        quality_sweep_chart(
            sv.quality.frame, measure_label=label, current=fstate.qmin, treatment="RT"
        ).to_dict()
    bv = bias.bias_view(fstate, oa, ds.studies)
    if bv.funnel is not None and bv.points is not None:
        adjusted = None if bv.shown_tf is None else bv.shown_tf.estimate
        funnel_chart(bv.points, bv.funnel, measure_label=bv.title, adjusted=adjusted).to_dict()
    reg = bv.regression
    if reg is not None and reg.fit is not None and reg.points is not None and reg.line is not None:
        bubble_chart(reg.points, reg.line, x_title=reg.title, measure_label=bv.title).to_dict()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(datasets(), states)
def test_views_never_raise(ds: Dataset, state: ViewState) -> None:
    run_views(state, ds)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(datasets(), states)
def test_charts_and_report_never_raise(ds: Dataset, state: ViewState) -> None:
    """Charts cost ~1 s a view (Altair's to_dict): fewer examples."""
    page_charts(state, ds)


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


@pytest.mark.parametrize(
    ("estimates", "method"), [((0.3, -0.5, 1.0), "REML"), ((0.3, 0.3, 0.3), "DL")]
)
def test_one_variance_near_zero_on_the_small_study_page(estimates, method) -> None:
    """Three HRs, the second with a CI of ±2e-9 on the log scale (vi ~1e-18): Egger's mixed
    test used to raise ZeroDivisionError (I2 of the regression, tr(P) rounding to 0)."""
    se = (1.0, 1e-9, 1.0)
    ds = edge.load(
        [edge.study(f"S{i}") for i in range(3)],
        [
            edge.hr(f"S{i}", math.exp(b), math.exp(b - Z * s), math.exp(b + Z * s))
            for i, (b, s) in enumerate(zip(estimates, se, strict=True))
        ],
    )[1]
    doc = cli._bias(ViewState(measure="HR", method=method), ds)
    assert doc["k"] == 3 and set(doc["tests"]["egger_rma"]) >= {"stat", "pvalue"}
    _json(doc)
