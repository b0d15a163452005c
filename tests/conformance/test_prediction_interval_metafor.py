"""Prediction intervals by method (``core.stats.pooling.prediction_interval``) on the metafor
reference data (tests/conformance/reference, or METAFOR_FIXTURES).

- ``z`` equals metafor's ``predict`` (pi.lb, pi.ub) of every ``test = "z"`` random-effects fit;
- ``hksj`` equals metafor's ``predict`` of every ``test = "knha"`` fit (t on k-1 df with the
  Hartung-Knapp SE, which is R meta's ``method.predict = "HK"``);
- ``t`` equals the interval worked by hand from metafor's own estimate, SE and tau2:
  estimate +/- qt(0.975, k - 2) sqrt(se^2 + tau2) (Higgins, Thompson & Spiegelhalter 2009);
- none of them for k < 3 or the common-effect model, with the reason.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from core.stats.effects import escalc
from core.stats.pooling import PI_MIN_K, pool, prediction_interval
from core.stats.subgroups import subgroup_analysis

HERE = Path(__file__).resolve().parent
FIXTURES = Path(os.environ.get("METAFOR_FIXTURES", HERE / "reference"))
CLOSED_TOL = 1e-7
ITERATIVE_TOL = 1e-6  # REML, ML, PM, EB: as tests/conformance/test_metafor.py


def _cases() -> list[tuple[str, str, np.ndarray, np.ndarray, dict]]:
    """(file, measure, yi, vi, expected block) for every measure of every reference file."""
    out = []
    for f in sorted(FIXTURES.glob("*.json")):
        case = json.loads(f.read_text())
        data = case["data"]
        for measure, block in case["expected"].items():
            if measure == "GIV":
                y, v = np.asarray(data["yi"], float), np.asarray(data["vi"], float)
            else:
                tables = (
                    data["events_treat"],
                    data["n_treat"],
                    data["events_ctrl"],
                    data["n_ctrl"],
                )
                es = escalc(measure, *tables)
                y, v = es.yi, es.vi
            out.append((f.name, measure, y, v, {**block, "_data": data}))
    return out


CASES = _cases()


def _close(got: float, exp: float, tol: float) -> bool:
    return abs(got - exp) <= tol or abs(got - exp) <= tol * abs(exp)


def _tol(method: str) -> float:
    return ITERATIVE_TOL if method in ("REML", "ML", "PM", "EB") else CLOSED_TOL


def test_the_reference_data_reach_every_case() -> None:
    """z and knha fits with k >= 3 and fits with k < 3 (subgroups) are all there."""
    names = {n for *_, block in CASES for n in block.get("pooled", {})}
    assert {"REML", "DL", "REML_knha", "DL_knha", "EE"} <= names
    small = [
        g
        for *_, block in CASES
        for g in block.get("extras", {}).get("subgroups_REML", {}).get("groups", {}).values()
        if g["df"] + 1 < PI_MIN_K
    ]
    assert small, "no subgroup with fewer than 3 studies in the reference data"


@pytest.mark.parametrize(("name", "measure", "y", "v", "block"), CASES, ids=lambda x: str(x)[:24])
def test_prediction_intervals_match_metafor_and_the_hand_worked_t(name, measure, y, v, block):
    k = len(y)
    compared = 0
    for fit_name, ref in block.get("pooled", {}).items():
        method, _, test = fit_name.partition("_")
        res = pool(y, v, method=method, ci="hksj" if test == "knha" else "wald")
        where = f"{name} {measure} {fit_name}"
        if method == "EE":
            for how in ("t", "z", "hksj"):
                pi = prediction_interval(res, how)
                assert not pi.available and "common-effect" in str(pi.reason), where
            assert ref["pi_lb"] in ([], None), where  # metafor gives none either
            continue
        tol = _tol(method)
        # metafor's own interval: z for test = "z", Hartung-Knapp (t on k - 1) for "knha"
        pi = prediction_interval(res, "hksj" if test == "knha" else "z")
        assert _close(pi.low, ref["pi_lb"], tol) and _close(pi.high, ref["pi_ub"], tol), where
        if test != "knha":
            # t on k - 2 df, worked by hand from metafor's estimate, SE (Wald) and tau2
            q = stats.t.ppf(0.975, k - 2)
            half = q * math.sqrt(ref["se"] ** 2 + ref["tau2"])
            t = prediction_interval(res, "t")
            assert t.df == k - 2, where
            assert _close(t.low, ref["estimate"] - half, tol), where
            assert _close(t.high, ref["estimate"] + half, tol), where
            assert t.low < pi.low and pi.high < t.high  # t is wider than z
        compared += 1
    groups = block.get("extras", {}).get("subgroups_REML", {}).get("groups", {})
    if groups:
        labels = block["_data"]["group"]
        fits = subgroup_analysis(y, v, labels, method="REML").groups
        for label, ref in groups.items():
            res = fits[label]
            pi = prediction_interval(res, "z")
            if res.k < PI_MIN_K:
                for how in ("t", "z", "hksj"):
                    none = prediction_interval(res, how)
                    assert math.isnan(none.low) and math.isnan(none.high)
                    assert none.reason == (
                        f"no prediction interval with fewer than 3 studies (k = {res.k})"
                    )
                continue
            assert _close(pi.low, ref["pi_lb"], ITERATIVE_TOL), (name, label)
            assert _close(pi.high, ref["pi_ub"], ITERATIVE_TOL), (name, label)
            compared += 1
    assert compared > 0 or not block.get("pooled")


def test_t_equals_a_hand_worked_three_study_case() -> None:
    """Three studies, DL by hand: tau2 = (Q - 2) / (sum w - sum w^2 / sum w) and the t(1)
    interval; with 2 studies there is none."""
    y = np.array([-1.0, -0.5, -1.4])
    v = np.array([0.1, 0.2, 0.15])
    w = 1 / v
    mu_ee = (w * y).sum() / w.sum()
    q = (w * (y - mu_ee) ** 2).sum()
    tau2 = max(0.0, (q - 2) / (w.sum() - (w**2).sum() / w.sum()))
    wr = 1 / (v + tau2)
    mu = (wr * y).sum() / wr.sum()
    se2 = 1 / wr.sum()
    half = 12.706204736174694 * math.sqrt(se2 + tau2)  # R: qt(0.975, 1)
    pi = prediction_interval(pool(y, v, method="DL"), "t")
    assert (pi.method, pi.df, pi.reason) == ("t", 1, None)
    assert pi.low == pytest.approx(mu - half, rel=1e-12)
    assert pi.high == pytest.approx(mu + half, rel=1e-12)
    two = prediction_interval(pool(y[:2], v[:2], method="DL"), "t")
    assert not two.available and two.reason.endswith("(k = 2)")
    with pytest.raises(ValueError, match="choose one of"):
        prediction_interval(pool(y, v), "1")
