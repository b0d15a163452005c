"""The prediction-interval choice: its link key ``pi`` (every value and the old 0/1 links), the
interval of each method whatever the CI method, and what an outcome analysis shows."""

from __future__ import annotations

import math

import numpy as np
import pytest

from core.data.dataset import load_bundled
from core.state.view import DEFAULT_STATE, FIELD_BY_NAME, encode_query, parse_query
from core.stats.pooling import PI_METHODS, pool, pool_many, prediction_interval
from core.views.analysis import analyse, forest_frame

Y = np.array([-1.2, -0.1, -1.4, -0.6, -0.9])
V = np.array([0.2, 0.23, 0.7, 0.1, 0.3])


@pytest.mark.parametrize(
    ("query", "pi", "link"),
    [
        ("", "t", ""),
        ("pi=t", "t", ""),
        ("pi=1", "t", ""),  # old links: "shown" is now the default method
        ("pi=0", "0", "pi=0"),  # old links: hidden stays hidden
        ("pi=z", "z", "pi=z"),
        ("pi=hksj", "hksj", "pi=hksj"),
        ("pi=Z", "z", "pi=z"),
        ("pi=knha", "hksj", "pi=hksj"),
    ],
)
def test_link_round_trip(query: str, pi: str, link: str) -> None:
    """In a link of the current format (v=2; without v, tpoint=exact is added back)."""
    result = parse_query("&".join(("v=2", query)) if query else "v=2")
    assert result.notices == () and result.state.pi == pi
    assert encode_query(result.state) == ("&".join(("v=2", link)) if link else "v=2")
    assert parse_query(encode_query(result.state)).state == result.state


def test_every_value_round_trips() -> None:
    spec = FIELD_BY_NAME["pi"]
    assert spec.allowed == ("t", "z", "hksj", "0") and spec.default == "t"
    for value in spec.allowed:
        state = DEFAULT_STATE.replace(pi=value)
        assert parse_query(encode_query(state)).state == state
    assert parse_query("pi=maybe").notices == (
        "Prediction interval (pi): 'maybe' is not one of t, z, hksj, 0; ignored.",
    )


@pytest.mark.parametrize("method", ["REML", "DL", "PM", "SJ"])
def test_method_not_ci_decides_the_interval(method: str) -> None:
    """t and z use 1/sqrt(sum w), hksj the Hartung-Knapp SE, whichever CI the fit used."""
    wald, hk = pool(Y, V, method=method), pool(Y, V, method=method, ci="hksj")
    assert wald.wald_se == pytest.approx(hk.wald_se, rel=1e-14) == wald.se
    assert hk.hk_se == pytest.approx(wald.hk_se, rel=1e-14) == hk.se
    for how in PI_METHODS:
        a, b = prediction_interval(wald, how), prediction_interval(hk, how)
        assert (a.low, a.high, a.df) == (pytest.approx(b.low), pytest.approx(b.high), b.df)
    # metafor's own predict() is z with a z-test fit and hksj with a Hartung-Knapp fit
    z, h = prediction_interval(wald, "z"), prediction_interval(hk, "hksj")
    assert (z.low, z.high) == (pytest.approx(wald.pi_low), pytest.approx(wald.pi_high))
    assert (h.low, h.high, h.df) == (pytest.approx(hk.pi_low), pytest.approx(hk.pi_high), 4)


def test_both_pooling_paths_give_the_same_standard_errors() -> None:
    tab = pool_many(np.vstack([Y, Y]), np.vstack([V, np.r_[V[:4], np.inf]]), method="REML")
    full, four = pool(Y, V), pool(Y[:4], V[:4])
    assert tab.wald_se[0] == pytest.approx(full.wald_se, rel=1e-12)
    assert tab.hk_se[0] == pytest.approx(full.hk_se, rel=1e-12)
    assert tab.hk_se[1] == pytest.approx(four.hk_se, rel=1e-12)
    assert math.isnan(pool(Y[:1], V[:1]).hk_se)  # one study: no Hartung-Knapp SE


def test_outcome_analysis_shows_the_chosen_interval_and_the_aid_reads_t_when_hidden() -> None:
    ds = load_bundled()
    for pi in ("t", "z", "hksj"):
        oa = analyse(DEFAULT_STATE.replace(pi=pi), ds).outcomes["DFS"]
        assert oa.pi_shown and oa.shown_prediction == oa.prediction
        assert oa.prediction is not None and oa.prediction.method == pi
    hidden = analyse(DEFAULT_STATE.replace(pi="0"), ds).outcomes["DFS"]
    assert not hidden.pi_shown and hidden.shown_prediction is None
    assert hidden.prediction == analyse(DEFAULT_STATE, ds).outcomes["DFS"].prediction
    assert hidden.prediction is not None and hidden.prediction.method == "t"
    # the forest plot: a bar by the chosen method, none when hidden
    frame = forest_frame(analyse(DEFAULT_STATE, ds).outcomes["DFS"], DEFAULT_STATE, ds.studies)
    (bar,) = frame[frame["kind"] == "pi"].itertuples()
    assert bar.low == pytest.approx(math.exp(hidden.prediction.low))
    assert "t on 1 df (k - 2)" in bar.detail
    frame = forest_frame(hidden, DEFAULT_STATE.replace(pi="0"), ds.studies)
    assert not (frame["kind"] == "pi").any()
    # two studies: the row stays, with the reason and no bar
    two = DEFAULT_STATE.replace(exclude=("Yu2014",))
    frame = forest_frame(analyse(two, ds).outcomes["DFS"], two, ds.studies)
    (row,) = frame[frame["kind"] == "pi"].itertuples()
    assert math.isnan(row.low) and row.note == "none (k < 3)"
    assert row.detail == "no prediction interval with fewer than 3 studies (k = 2)"
