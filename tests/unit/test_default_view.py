"""The default view (link format v2: a rate at t where reported, else interpolated between the
two nearest reported years of the same study) on the bundled data: which studies each outcome
pools, how their events were derived, and the pooled numbers, against values worked by hand
and by metafor (not copied from the app's output).

Hand and metafor check (R 4, metafor; ``ctl`` as in tests/conformance/cli_metafor.R)::

    s <- function(a, b) sqrt(a * b)               # S(2) = S(1)^0.5 x S(3)^0.5 (log-linear)
    ev <- function(n, r) floor(round(n * (100 - r) / 100, 9) + 0.5)
    n1 <- c(82, 58, 38); n2 <- c(82, 61, 38)      # Wei2019, Yu2014, Shi2022
    r1 <- c(27.4, s(96.2, 72.6), s(100, 89.5)); r2 <- c(9.4, s(89.6, 74.5), s(100, 68.4))
    es <- escalc("OR", ai = ev(n1, r1), n1i = n1, ci = ev(n2, r2), n2i = n2)
    rma(yi, vi, data = es, method = "REML")       # and predict() for the z-based PI
"""

from __future__ import annotations

import math

import pytest

from core.data.dataset import load_bundled
from core.state.view import DEFAULT_STATE, parse_query
from core.views.analysis import analyse, to_json
from tests.cli_json import cli_json

#: metafor's rma(method="REML") on the 2x2 counts below (log scale), printed to 12 decimals
METAFOR = {
    "OS": {
        "estimate": -0.806960963772,
        "se": 0.447204411831,
        "ci_low": -1.683465504688,
        "ci_high": 0.069543577143,
        "pvalue": 0.071159752994,
        "tau2": 0.285712512265,
        "i2": 48.069748970930,
    },
    "DFS": {
        "estimate": -0.792934548676,
        "se": 0.306408549519,
        "ci_low": -1.393484270288,
        "ci_high": -0.192384827064,
        "pvalue": 0.009658143293,
        "tau2": 0.059153740106,
        "i2": 20.171560059000,
    },
}
#: (events RT, n RT, events control, n control) per study, worked by hand from the rates
COUNTS = {
    "OS": {
        # reported 2-year rates 27.4% / 9.4%: 82 x 0.726 = 59.5 -> 60; 82 x 0.906 = 74.3 -> 74
        "Wei2019": (60, 82, 74, 82),
        # sqrt(96.2 x 72.6) = 83.57%: 58 x 0.1643 = 9.5 -> 10; sqrt(89.6 x 74.5) = 81.70%:
        # 61 x 0.1830 = 11.2 -> 11
        "Yu2014": (10, 58, 11, 61),
        # sqrt(100 x 89.5) = 94.60%: 38 x 0.054 = 2.05 -> 2; sqrt(100 x 68.4) = 82.70%:
        # 38 x 0.173 = 6.6 -> 7
        "Shi2022": (2, 38, 7, 38),
    },
    "DFS": {  # all three report a 1-year rate: nothing interpolated
        "Wei2019": (55, 82, 70, 82),
        "Yu2014": (13, 58, 17, 61),
        "Shi2022": (3, 38, 9, 38),
    },
}
INTERPOLATED = {"OS": {"Yu2014", "Shi2022"}, "DFS": set()}


@pytest.fixture(scope="module")
def analysis():
    return analyse(DEFAULT_STATE, load_bundled())


def test_the_default_is_interpolation_and_the_bare_link_opens_it():
    assert DEFAULT_STATE.tpoint == "interp"
    assert parse_query("").state == DEFAULT_STATE
    assert parse_query("?outcome=DFS").state.tpoint == "exact"  # an old (v1) link


@pytest.mark.parametrize("outcome", ["OS", "DFS"])
def test_default_view_pools_three_studies_per_outcome(analysis, outcome):
    oa = analysis.outcomes[outcome]
    used = oa.rows[oa.rows["included"]].set_index("study_id")
    assert list(used.index) == list(COUNTS[outcome])
    assert oa.pooled is not None and oa.pooled.k == 3
    for sid, (e1, n1, e2, n2) in COUNTS[outcome].items():
        row = used.loc[sid]
        assert (row.events_rt, row.n_rt, row.events_ctl, row.n_ctl) == (e1, n1, e2, n2)
        # escalc("OR"): ln[(a/(n1-a)) / (c/(n2-c))], variance 1/a + 1/b + 1/c + 1/d
        assert row.yi == pytest.approx(math.log(e1 * (n2 - e2) / ((n1 - e1) * e2)), abs=1e-12)
        assert row.vi == pytest.approx(1 / e1 + 1 / (n1 - e1) + 1 / e2 + 1 / (n2 - e2), 1e-12)
        assert bool(row.interpolated) == (sid in INTERPOLATED[outcome])
        assert bool(row.derived)  # events from rates: always marked as derived


def test_default_view_equals_metafor(analysis):
    out = to_json(analysis)
    for outcome, want in METAFOR.items():
        pooled = out[outcome]["pooled"]
        assert pooled["k"] == 3 and pooled["method"] == "REML"
        for key, value in want.items():
            assert pooled[key] == pytest.approx(value, abs=1e-8), (outcome, key)


def test_interpolated_rates_carry_their_arithmetic():
    """The CLI's studies say which numbers are derived and how: the two reported years of the
    same study, each arm's two reported rates, the interpolated rate and the events."""
    out = cli_json("analyze", "")
    assert out["query"]["tpoint"] == "interp" and out["notices"] == []
    yu = {s["id"]: s for s in out["OS"]["studies"]}["Yu2014"]
    assert yu["derived"] and yu["interpolated"]
    assert yu["derivation"] == (
        "events from 2-year OS rate interpolated between 1 and 3 years (log-linear in "
        "survival: S(2) = S(1)^0.5 x S(3)^0.5, from RT 96.2% and 72.6%, control 89.6% and "
        "74.5%): RT 83.57% x n 58 = 10; control 81.7% x n 61 = 11"
    )
    assert f"{math.sqrt(96.2 * 72.6):.4g}" == "83.57" and f"{math.sqrt(89.6 * 74.5):.4g}" == "81.7"
    wei = {s["id"]: s for s in out["OS"]["studies"]}["Wei2019"]
    assert wei["derived"] and not wei["interpolated"]
    assert (
        wei["derivation"]
        == "events from 2-year OS rate: RT 27.4% x n 82 = 60; control 9.4% x n 82 = 74"
    )
    # never extrapolated: a study with a rate on one side of t only stays out, with the reason
    reasons = {e["id"]: e["reason"] for e in out["OS"]["excluded"]}
    assert reasons["WangL2023"].endswith(
        "interpolation needs reported years on both sides, never extrapolated"
    )


def test_an_old_link_keeps_the_exact_rule():
    """A version-1 link without tpoint (here the default filters spelled out) pools what it
    pooled before v2: 2-year OS from Wei2019 alone."""
    out = cli_json("analyze", "?design=RCT&design=PSM")
    assert out["query"]["tpoint"] == "exact"
    assert [s["id"] for s in out["OS"]["studies"]] == ["Wei2019"]
    assert [s["id"] for s in out["DFS"]["studies"]] == ["Wei2019", "Yu2014", "Shi2022"]
    assert "no 2-year OS reported (reported at 1, 3, 5 years)" in {
        e["reason"] for e in out["OS"]["excluded"]
    }
