"""Summary of findings: absolute effects, NNT (Altman 1998), OIS and the certainty heuristic."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest

from core.data.dataset import load_bundled
from core.report.sof import (
    DISCLAIMER,
    DOMAINS,
    NOT_ASSESSABLE,
    NOT_JUDGED,
    RULE,
    USER,
    Override,
    certainty,
    control_arm_risk,
    judgements,
    nnt,
    optimal_information_size,
    risk_with_hr,
    risk_with_or,
    sof_frame,
    sof_row,
    sof_table,
)
from core.state.grade import grade_notices, grade_token, why_token
from core.state.view import MAX_TEXT, ViewState, encode_query, parse_query
from core.stats.pooling import pool
from core.views.analysis import OutcomeAnalysis, analyse

WIDE = ViewState(
    design=("RCT", "PSM", "prospective-nonrandomized", "retrospective"),
    indication=("PVTT", "narrow_margin", "MVI", "other"),
    rt=("external", "internal"),
    scope="all",
    tpoint="interp",
)


@pytest.fixture(scope="module")
def ds():
    return load_bundled()


def synthetic(
    yi: list[float],
    vi: list[float],
    designs: list[str],
    scores: list[int | None],
    measure: str = "OR",
    events_ctl: list[int] | None = None,
    n_ctl: list[int] | None = None,
) -> tuple[OutcomeAnalysis, pd.DataFrame]:
    """An outcome analysis of made-up studies (ids S0, S1, ...) and their studies table."""
    k = len(yi)
    ids = [f"S{i}" for i in range(k)]
    p = pool(yi, vi, method="REML")
    rows = pd.DataFrame(
        {
            "study_id": ids,
            "yi": yi,
            "vi": vi,
            "events_ctl": events_ctl or [None] * k,
            "n_ctl": n_ctl or [None] * k,
            "derived": [False] * k,
            "included": [True] * k,
            "weight": p.weights,
        }
    )
    studies = pd.DataFrame(
        {
            "study_id": ids,
            "design": designs,
            "quality_score": pd.array(scores, dtype="Int64"),
            "quality_unknown": pd.array([None] * k, dtype="string"),
            "q_untreated_control": pd.array([1] * k, dtype="Int64"),
        }
    )
    oa = OutcomeAnalysis(
        outcome="DFS",
        measure=measure,
        years=1.0 if measure == "OR" else None,
        rows=rows,
        pooled=p,
        subgroups=None,
        not_estimable=(),
        filtered_out=(),
        excluded_by_user=(),
        patients=100 * k,
        message=None,
    )
    return oa, studies


# ------------------------------------------------------------------ absolute effects


def test_risk_with_or_hand_worked():
    # OR 0.5, r 0.4: 0.5*0.4 / (0.6 + 0.2) = 0.25
    assert risk_with_or(0.5, 0.4) == pytest.approx(0.25)
    assert risk_with_or(1.0, 0.37) == pytest.approx(0.37)
    assert risk_with_or(2.0, 0.5) == pytest.approx(2 / 3)


def test_risk_with_hr_hand_worked():
    # HR 0.5, r 0.4 by t: 1 - 0.6^0.5 = 0.225403
    assert risk_with_hr(0.5, 0.4) == pytest.approx(1 - math.sqrt(0.6))
    assert risk_with_hr(1.0, 0.3) == pytest.approx(0.3)


def test_risk_edges_are_plain_numbers():
    assert risk_with_or(0.5, 0.0) == 0.0
    assert risk_with_or(0.5, 1.0) == 1.0
    assert risk_with_or(math.inf, 0.3) == 1.0
    assert risk_with_or(0.0, 0.3) == 0.0
    assert risk_with_hr(0.5, 0.0) == 0.0
    assert risk_with_hr(0.5, 1.0) == 1.0


def test_nnt_benefit_rounds_up():
    # OR 0.5 at r 0.4: difference -0.15 -> NNT 6.67 -> 7; CI -0.30 to -0.05 -> 4 to 20
    n = nnt(-0.15, -0.30, -0.05)
    assert n.text == "NNTB 7 (95% CI 4 to 20)"
    assert n.point == pytest.approx(-1 / 0.15)


def test_nnt_ci_crossing_no_effect_goes_through_infinity():
    n = nnt(-0.15, -0.30, 0.025)
    assert n.text == "NNTB 7 (95% CI NNTB 4 to ∞ to NNTH 40)"
    assert n.low == pytest.approx(-1 / 0.30) and n.high == pytest.approx(40)
    assert "-" not in n.text


def test_nnt_harm_and_harm_point_with_crossing_ci():
    assert nnt(0.05, 0.02, 0.10).text == "NNTH 20 (95% CI 10 to 50)"
    assert nnt(0.02, -0.05, 0.10).text == "NNTH 50 (95% CI NNTB 20 to ∞ to NNTH 10)"


def test_nnt_no_difference():
    assert nnt(0.0, 0.0, 0.0).text == "NNT ∞ (no difference)"
    assert nnt(-0.1, -0.2, 0.0).text == "NNTB 10 (95% CI 5 to ∞)"


def test_optimal_information_size_hand_worked():
    # r 0.4 -> 0.3: (1.959964 + 0.841621)^2 (0.24 + 0.21) / 0.01 = 353.2 per arm
    z = 1.959963984540054 + 0.8416212335729143
    assert optimal_information_size(0.4) == pytest.approx(2 * z**2 * 0.45 / 0.01)
    assert round(optimal_information_size(0.4)) == 706
    assert math.isnan(optimal_information_size(0.0))


def test_sof_row_or_hand_worked_numbers():
    oa, studies = synthetic([math.log(0.5)], [0.04], ["RCT"], [6])
    row = sof_row(oa, studies, 0.4)
    assert row.ratio == pytest.approx(0.5)
    assert row.risk_rt == pytest.approx(0.25)
    assert row.diff == pytest.approx(-150)
    lo, hi = math.exp(math.log(0.5) - 1.959964 * 0.2), math.exp(math.log(0.5) + 1.959964 * 0.2)
    assert row.ratio_low == pytest.approx(lo, rel=1e-6)
    assert row.diff_low == pytest.approx(1000 * (lo * 0.4 / (0.6 + lo * 0.4) - 0.4), rel=1e-6)
    assert row.diff_high == pytest.approx(1000 * (hi * 0.4 / (0.6 + hi * 0.4) - 0.4), rel=1e-6)
    assert row.nnt is not None and row.nnt.text.startswith("NNTB 7 ")
    assert row.control is not None and row.control.source == "entered by the user"


def test_sof_row_hr_needs_a_risk_and_uses_one():
    oa, studies = synthetic([math.log(0.5)], [0.04], ["RCT"], [6], measure="HR")
    row = sof_row(oa, studies)
    assert row.diff is None and row.nnt is None
    assert "hazard ratio has no time point" in row.message
    row = sof_row(oa, studies, 0.4)
    assert row.risk_rt == pytest.approx(1 - 0.6**0.5)
    assert row.diff == pytest.approx(1000 * (0.6 - 0.6**0.5))
    assert row.nnt.text.startswith("NNTB 6 ")  # 1 / 0.1746 = 5.73


@pytest.mark.parametrize("r", [0.0, 1.0])
def test_zero_and_full_risk_give_plain_text(r):
    oa, studies = synthetic([math.log(0.5)], [0.04], ["RCT"], [6])
    row = sof_row(oa, studies, r)
    assert row.diff is None and row.nnt is None
    assert f"{100 * r:.0f}%" in row.message
    assert "between 0% and 100%" in row.message


def test_control_arm_risk_is_a_simple_proportion():
    rows = pd.DataFrame(
        {
            "events_ctl": [10, 30, None],
            "n_ctl": [20, 60, 50],
            "derived": [False, True, False],
            "included": [True, True, True],
        }
    )
    cr = control_arm_risk(rows)
    assert cr.risk == pytest.approx(40 / 80)
    assert "40/80" in cr.source and "1 of 2 counts derived" in cr.source
    assert control_arm_risk(rows.assign(events_ctl=[None] * 3)) is None


# ------------------------------------------------------------------ certainty


def test_certainty_levels_and_overrides():
    # Two RCTs (score 6 and 3), similar effects, CI excludes 1; 200 patients.
    oa, studies = synthetic([-0.7, -0.6], [0.04, 0.05], ["RCT", "RCT"], [6, 3])
    c = certainty(oa, studies, None)
    assert c.start == "High"
    share = oa.rows["weight"].iloc[0]
    assert c.domain("rob").rating == ("not serious" if share >= 80 else "serious")
    assert c.domain("rob").state == RULE
    ind, pub = c.domain("indirectness"), c.domain("publication")
    assert (ind.state, ind.rating) == (NOT_JUDGED, None)
    assert (pub.state, pub.rating) == (NOT_ASSESSABLE, None)
    assert "k = 2" in pub.reason
    assert c.domain("imprecision").rating == "not serious"
    assert "needs an assumed risk" in c.domain("imprecision").reason
    # two domains without a rating: provisional, and named
    assert c.provisional and [d.key for d in c.missing] == ["indirectness", "publication"]
    assert c.label.endswith(" (provisional)")
    assert "indirectness (not judged) and publication bias (not assessable)" in c.pending
    over = {("DFS", "indirectness"): Override("very serious", "  comparators differ ")}
    c2 = certainty(oa, studies, None, over)
    d = c2.domain("indirectness")
    assert d.rating == "very serious" and d.overridden and d.note == "comparators differ"
    assert d.state == USER and d.auto_state == NOT_JUDGED and d.auto_rating is None
    assert c2.downgrades == c.downgrades + 2
    assert c2.level == ("Low" if c.level == "High" else "Very low")
    assert [x.key for x in c2.missing] == ["publication"]  # still provisional
    # judging every domain without a rating completes it
    done = {**over, ("DFS", "publication"): Override("not serious", "search was broad")}
    c4 = certainty(oa, studies, None, done)
    assert not c4.provisional and c4.pending == "" and "provisional" not in c4.label
    assert c4.level == c2.level
    # an unknown rating is ignored; the reason is kept
    c3 = certainty(oa, studies, None, {("DFS", "rob"): Override("awful", "n")})
    assert c3.domain("rob").rating == c.domain("rob").rating
    assert not c3.domain("rob").overridden and c3.domain("rob").note == "n"
    # a reason alone does not judge a domain
    c5 = certainty(oa, studies, None, {("DFS", "indirectness"): Override(None, "why not")})
    assert c5.domain("indirectness").rating is None and c5.provisional
    # other outcomes' overrides do not apply
    assert certainty(oa, studies, None, {("OS", "rob"): Override("serious")}) == c


def test_not_assessable_never_counts_as_no_concern():
    """One study: inconsistency not assessable, publication bias not assessable, indirectness
    not judged: none of them costs a level, none of them counts as judged."""
    oa, studies = synthetic([-0.7], [0.04], ["RCT"], [6])
    c = certainty(oa, studies, None)
    assert c.domain("inconsistency").state == NOT_ASSESSABLE
    assert c.domain("inconsistency").rating is None
    assert {d.key for d in c.missing} == {"inconsistency", "indirectness", "publication"}
    assert c.provisional
    assert "Provisional: no rating yet for inconsistency (not assessable)" in c.pending


def test_one_study_is_never_high_by_default():
    """A single trial reaching the OIS with a CI excluding 1 is still rated down once for
    imprecision (GRADE Handbook 5.2.4: a single small trial is usually rated down)."""
    oa, studies = synthetic([-0.7], [0.01], ["RCT"], [6], events_ctl=[400], n_ctl=[500])
    oa = dataclasses.replace(oa, patients=1000)
    row = sof_row(oa, studies)
    c = row.certainty
    assert oa.patients >= optimal_information_size(row.control.risk)  # OIS reached
    assert row.ratio_high < 1  # CI excludes 1
    d = c.domain("imprecision")
    assert d.rating == "serious" and "evidence from one study" in d.reason
    assert c.level == "Moderate" and c.level != "High"
    # every domain judged not serious by the user: High, no longer provisional
    over = {("DFS", k): Override("not serious", "judged") for k in DOMAINS}
    c2 = certainty(oa, studies, row.control, over)
    assert c2.level == "High" and not c2.provisional
    # two studies meeting the same conditions are not rated down for imprecision
    oa2, st2 = synthetic([-0.7, -0.7], [0.02, 0.02], ["RCT", "RCT"], [6, 6], [200, 200], [250, 250])
    oa2 = dataclasses.replace(oa2, patients=1000)
    assert certainty(oa2, st2, sof_row(oa2, st2).control).domain("imprecision").rating == (
        "not serious"
    )


def test_judgements_from_the_link_and_back():
    """Ratings (grade) and reasons (why) survive a link round trip, old links keep working."""
    state = ViewState().replace(
        grade=(
            grade_token("OS", "indirectness", "not serious"),
            grade_token("DFS", "publication", "very serious"),
        ),
        why=(
            why_token("OS", "indirectness", "Same patients, same RT. As ours"),
            why_token("DFS", "rob", "Open label\nno blinding"),
        ),
    )
    back = parse_query(encode_query(state))
    assert back.notices == () and back.state == state
    assert judgements(back.state) == {
        ("DFS", "publication"): Override("very serious", ""),
        ("DFS", "rob"): Override(None, "Open label no blinding"),  # one line in a link
        ("OS", "indirectness"): Override("not serious", "Same patients, same RT. As ours"),
    }
    # an old link: ratings only
    old = parse_query("?grade=DFS.imprecision.not_serious").state
    assert judgements(old) == {("DFS", "imprecision"): Override("not serious", "")}
    # unusable values are named, not used
    bad = parse_query("?grade=DFS.imprecision.awful&why=XX.rob.a&why=OS.rob.&grade=OS.rob.serious")
    assert judgements(bad.state) == {("OS", "rob"): Override("serious", "")}
    notes = grade_notices(bad.state)
    assert len(notes) == 3 and "DFS.imprecision.awful" in notes[0]
    assert any("(why): XX.rob.a is not" in n for n in notes)
    assert any("(why): OS.rob. is not" in n for n in notes)
    # a reason with characters a link cannot keep is made one line, never refused
    assert why_token("OS", "rob", "a\x07b\nc") == "OS.rob.a\ufffdb c"
    assert len(why_token("OS", "rob", "x" * 1000)) == MAX_TEXT


def test_link_judgements_reach_the_table(ds):
    link = "?grade=OS.inconsistency.not_serious&why=OS.inconsistency.One+trial:+not+applicable"
    a = analyse(parse_query(link).state, ds)
    os_row = sof_table(a, ds.studies)[0]
    d = os_row.certainty.domain("inconsistency")
    assert (d.state, d.rating, d.note) == (USER, "not serious", "One trial: not applicable")
    assert [m.key for m in os_row.certainty.missing] == ["indirectness", "publication"]


def test_observational_evidence_starts_low_and_floors_at_very_low():
    oa, studies = synthetic(
        [-1.6, -0.2, -0.9, -1.2, -0.5],
        [0.01] * 5,
        ["retrospective", "PSM", "PSM", "retrospective", "RCT"],
        [2, 3, 5, 2, 6],
    )
    c = certainty(oa, studies, None)
    p = oa.pooled
    assert c.start == "Low" and "mostly observational" in c.start_reason
    assert c.domain("rob").rating == "serious"
    # I2 above 50% and a prediction interval crossing 1 while the CI does not
    assert p.i2 > 50 and p.ci_high < 0 < p.pi_high
    assert c.domain("inconsistency").rating == "very serious"
    assert c.level == "Very low"
    assert c.label == "⊕◯◯◯ Very low (provisional)"
    assert c.explanation == "Starts at Low; −1 risk of bias, −2 inconsistency: Very low"


def test_imprecision_ci_and_ois():
    # CI crosses 1 and 200 patients < OIS at r = 0.4 (706): very serious
    oa, studies = synthetic([-0.1, 0.05], [0.04, 0.05], ["RCT", "RCT"], [6, 6])
    c = certainty(oa, studies, sof_row(oa, studies, 0.4).control)
    d = c.domain("imprecision")
    assert d.rating == "very serious"
    assert "crosses 1" in d.reason and "optimal information size of 707" in d.reason


def test_publication_bias_with_ten_studies_uses_egger():
    rng = np.random.default_rng(3)
    v = rng.uniform(0.01, 0.2, 12)
    y = -0.4 + 2.5 * np.sqrt(v) + rng.normal(0, 0.02, 12)  # strong small-study effect
    oa, studies = synthetic(list(y), list(v), ["RCT"] * 12, [6] * 12)
    d = certainty(oa, studies, None).domain("publication")
    assert d.rating == "serious" and "Egger" in d.reason and "k = 12" in d.reason


# ------------------------------------------------------------------ bundled data


def test_bundled_default_view(ds):
    a = analyse(ViewState(), ds)
    rows = sof_table(a, ds.studies)
    assert [r.outcome for r in rows] == ["OS", "DFS"]
    dfs = rows[1]
    p = a.outcomes["DFS"].pooled
    assert dfs.ratio == pytest.approx(math.exp(p.estimate))
    assert dfs.ratio_high == pytest.approx(math.exp(p.ci_high))
    inc = a.outcomes["DFS"].rows
    r = float(inc["events_ctl"].sum() / inc["n_ctl"].sum())
    assert dfs.control.risk == pytest.approx(r) == pytest.approx(96 / 181)
    assert dfs.risk_rt == pytest.approx(risk_with_or(dfs.ratio, r))
    assert dfs.certainty.domain("rob").rating == "not serious"  # 83% from RCTs scoring >= 5
    assert dfs.certainty.domain("imprecision").rating == "serious"  # 359 < OIS 437
    # the default t prediction interval on k - 2 = 1 df, 0.003 to 65, crosses 1 while the CI
    # (0.25 to 0.82) does not: inconsistency serious (with metafor's z interval, 0.21 to 0.97,
    # it was not serious and the rating Moderate; see test_inconsistency_uses_the_chosen_pi)
    inc = dfs.certainty.domain("inconsistency")
    assert inc.rating == "serious" and "0.003 to 65.22 (t on 1 df (k - 2)" in inc.reason
    assert dfs.certainty.level == "Low"
    assert [d.key for d in dfs.certainty.missing] == ["indirectness", "publication"]


@pytest.mark.parametrize(
    ("pi", "rating", "level", "shown"),
    [
        ("t", "serious", "Low", "prediction interval 0.003 to 65.22 (t on 1 df (k - 2)"),
        ("z", "not serious", "Moderate", "prediction interval 0.21 to 0.97 (normal (z)"),
        ("hksj", "serious", "Low", "interval 0.09 to 2.31 (Hartung-Knapp variance, t on 2 df"),
        ("0", "serious", "Low", "prediction interval 0.003 to 65.22 (t on 1 df (k - 2)"),
    ],
)  # fmt: skip
def test_inconsistency_uses_the_chosen_pi(ds, pi, rating, level, shown):
    """The certainty aid reads the chosen prediction interval; hidden (pi=0): the default t
    interval, and the reason says so."""
    dfs = sof_table(analyse(ViewState(pi=pi), ds), ds.studies)[1]
    inc = dfs.certainty.domain("inconsistency")
    assert (inc.rating, dfs.certainty.level) == (rating, level)
    assert shown in inc.reason
    assert ("hidden on the pages, this aid uses the default" in inc.reason) == (pi == "0")


def test_inconsistency_with_two_studies_has_no_pi(ds):
    """k = 2: no prediction interval (fewer than 3 studies), so I² alone is rated."""
    dfs = sof_table(analyse(ViewState(exclude=("Yu2014",)), ds), ds.studies)[1]
    inc = dfs.certainty.domain("inconsistency")
    assert dfs.k == 2 and "no prediction interval with fewer than 3 studies (k = 2)" in inc.reason
    assert "I² alone is rated" in inc.reason


def test_bundled_default_view_os_three_studies(ds):
    """The default view pools 3 studies for 2-year OS (two rates interpolated): weights
    41.1% Wei2019 + 38.6% Yu2014 from RCTs scoring >= 5 is 79.7% < 80%, so risk of bias is
    serious; the CI crosses 1 and 359 patients are below the OIS of 473 (control risk
    92/181 = 50.8%, 25% RRR), so imprecision is very serious: Very low, provisional."""
    a = analyse(ViewState(), ds)
    os_row = sof_table(a, ds.studies)[0]
    assert os_row.k == 3 and os_row.ratio_low < 1 < os_row.ratio_high
    assert os_row.control.risk == pytest.approx(92 / 181)
    rob = os_row.certainty.domain("rob")
    assert rob.rating == "serious" and "79.7% of the weight" in rob.reason
    imp = os_row.certainty.domain("imprecision")
    assert imp.rating == "very serious" and "optimal information size of 473" in imp.reason
    assert os_row.certainty.domain("inconsistency").rating == "not serious"  # I2 = 48%
    assert os_row.certainty.level == "Very low" and os_row.certainty.provisional
    assert [d.key for d in os_row.certainty.missing] == ["indirectness", "publication"]


def test_bundled_exact_view_one_study_not_high(ds):
    """With rates only where reported (tpoint=exact, old links' default) 2-year OS pools one
    trial (Wei2019, 164 patients): never High, and provisional while inconsistency (not
    assessable) is not judged."""
    a = analyse(ViewState(tpoint="exact"), ds)
    for row in sof_table(a, ds.studies):
        if row.k == 1:
            assert row.certainty.level != "High"
            assert row.certainty.provisional
            assert row.certainty.domain("inconsistency").state == NOT_ASSESSABLE
    os_row = sof_table(a, ds.studies)[0]
    assert os_row.k == 1 and os_row.certainty.label == "⊕⊕⊕◯ Moderate (provisional)"
    d = os_row.certainty.domain("imprecision")
    assert d.rating == "serious" and "evidence from one study" in d.reason
    assert {m.key for m in os_row.certainty.missing} == {
        "inconsistency",
        "indirectness",
        "publication",
    }


@pytest.mark.parametrize(
    ("measure", "method"),
    [("OR", "MH"), ("OR", "PETO"), ("OR", "BAYES"), ("RR", "REML"), ("RR", "MH"),
     ("RR", "BAYES"), ("RD", "EE"), ("RD", "MH"), ("RD", "BAYES"), ("HR", "BAYES")],
)  # fmt: skip
def test_one_study_not_high_under_every_measure_and_model(ds, measure, method):
    """The one-trial 2-year OS pool (tpoint=exact: Wei2019) under the risk ratio and
    difference, Mantel-Haenszel, Peto and the Bayesian model: Moderate at most, provisional
    (inconsistency not assessable), imprecision rated down for one study."""
    a = analyse(ViewState(tpoint="exact", measure=measure, method=method), ds)
    os_row = sof_table(a, ds.studies)[0]
    assert os_row.k == 1 and a.outcomes["OS"].pooled.method == method
    cert = os_row.certainty
    assert cert.label == "⊕⊕⊕◯ Moderate (provisional)"
    assert cert.domain("inconsistency").state == NOT_ASSESSABLE
    assert cert.domain("imprecision").rating == "serious"


def test_bundled_user_risk_from_state_and_hr(ds):
    a = analyse(ViewState(measure="HR", cr_dfs=40.0), ds)
    os_row, dfs_row = sof_table(a, ds.studies)
    assert os_row.diff is None and "time point" in os_row.message
    assert dfs_row.control.risk == pytest.approx(0.4)
    assert dfs_row.risk_rt == pytest.approx(1 - 0.6**dfs_row.ratio)
    # an explicit mapping wins over the state
    os_row, _ = sof_table(a, ds.studies, {"OS": 0.5, "DFS": None})
    assert os_row.risk_rt == pytest.approx(1 - 0.5**os_row.ratio)


def test_bundled_wide_view_crossing_ci(ds):
    os_row = sof_table(analyse(WIDE, ds), ds.studies)[0]
    assert os_row.ratio_low < 1 < os_row.ratio_high
    assert "to ∞ to NNTH" in os_row.nnt.text
    assert os_row.certainty.domain("imprecision").rating == "very serious"


def test_nothing_pooled_gives_a_message(ds):
    rows = sof_table(analyse(ViewState(design=()), ds), ds.studies)
    assert all(r.certainty is None and r.message for r in rows)
    frame = sof_frame(rows)
    assert list(frame["studies"]) == [0, 0]


def test_sof_frame_columns(ds):
    rows = sof_table(analyse(ViewState(), ds), ds.studies)
    frame = sof_frame(rows)
    assert len(frame) == 2
    assert frame.loc[1, "difference_per_1000"] == pytest.approx(rows[1].diff)
    assert frame.loc[1, "certainty"] == "Low"  # t prediction interval (see above)
    assert frame.loc[1, "Imprecision"].startswith("serious: ")
    assert frame.loc[1, "Indirectness"].startswith("not judged: ")
    assert frame.loc[1, "Publication bias"].startswith("not assessable: ")
    assert frame["certainty_provisional"].tolist() == [True, True]
    assert frame.loc[0, "certainty_pending"].startswith(
        "Provisional: no rating yet for indirectness (not judged) and publication bias"
    )  # OS pools three studies by default: inconsistency is rated by rule
    assert (frame["disclaimer"] == DISCLAIMER).all()


def test_nnt_with_an_undefined_interval():
    """One study with Hartung-Knapp: the CI is undefined; the NNT says so, no error."""
    res = nnt(-0.2, math.nan, math.nan)
    assert res.text == "NNTB 5 (95% CI not estimable)"
    assert nnt(math.nan, math.nan, math.nan).text == "not estimable"
