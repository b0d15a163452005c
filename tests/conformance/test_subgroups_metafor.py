"""The test for subgroup differences (separate and common tau2) and meta-regression with
several moderators, against cases metafor makes on this machine during the test
(tests/conformance/subgroups_metafor.R, fresh seeds): separate rma fits per group then
``rma(est, sei = se, method = "FE")``'s QE; ``rma(yi, vi, mods = ~ factor(group))``'s QM (z and
knha); the subtotals with a common tau2, ``rma(yi, vi, mods = ~ factor(group) - 1)``'s
coefficients (z and knha) with each group's Q, I2 and H2 from ``rma(tau2 = common tau2)``;
``rma(yi, vi, mods = ~ ablat + year)``, ``~ ablat + factor(alloc)`` and ``~ ablat + year +
factor(alloc)`` on dat.bcg, four estimators, z and knha."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from core.stats.subgroups import (
    factor_columns,
    meta_regression,
    subgroup_analysis,
    subgroup_test,
)

HERE = Path(__file__).resolve().parent
R_SCRIPT = HERE / "subgroups_metafor.R"
TOL = 1e-6  # iterative tau2 estimators (REML, ML, PM), as tests/conformance/test_metafor.py
TIGHT = 1e-8  # the common-tau2 subtotals, every estimator (R converged to 1e-12)


def _fresh(tmp_path: Path, seed: int, cases: int) -> dict[str, Any]:
    if shutil.which("Rscript") is None:
        if os.environ.get("REQUIRE_R") == "1":
            pytest.fail("REQUIRE_R=1 but Rscript is missing")
        pytest.skip("R (Rscript with metafor) is not installed: apt-get install r-cran-metafor")
    out = tmp_path / "cases.json"
    run = subprocess.run(
        ["Rscript", str(R_SCRIPT), str(out), str(seed), str(cases)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    return json.loads(out.read_text())


@pytest.fixture(scope="module")
def cases(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return _fresh(tmp_path_factory.mktemp("subgroups"), seed=20261206, cases=16)


def _close(got: float | None, want: float) -> bool:
    return got is not None and abs(got - want) <= TOL * max(1.0, abs(want))


def test_subgroup_differences_with_separate_and_common_tau2(cases: dict[str, Any]) -> None:
    checked = 0
    for case in cases["subgroups"]:
        y, v = np.array(case["yi"]), np.array(case["vi"])
        g, method = case["group"], case["method"]
        for mode, ci, want in (
            ("separate", "wald", case["separate"]),
            ("common", "wald", case["common"]),
            ("common", "hksj", case["common_knha"]),
        ):
            got = subgroup_test(y, v, g, method=method, ci=ci, tau2=mode)
            where = f"{method} {mode} {ci} groups {sorted(set(g))}"
            assert got.reason is None, where
            assert got.df == want["df"], where
            assert _close(got.q, want["q"]), (where, got.q, want["q"])
            assert _close(got.p, want["p"]), (where, got.p, want["p"])
            if mode == "common":
                assert _close(got.tau2_common, want["tau2"]), where
                assert got.statistic == ("F" if ci == "hksj" else "Q")
                assert got.df2 == want.get("df2"), where
            checked += 1
    assert checked == 3 * len(cases["subgroups"]) == 48


def test_subtotals_with_a_common_tau2_are_the_factor_models_coefficients(
    cases: dict[str, Any],
) -> None:
    """Each subtotal under tau2g=common equals the coefficient of its group in
    ``rma(yi, vi, mods = ~ factor(group) - 1)`` (z, and knha for Hartung-Knapp), to 1e-8."""
    methods = set()
    for case in cases["subgroups"]:
        y, v = np.array(case["yi"]), np.array(case["vi"])
        g, method = case["group"], case["method"]
        for ci, want in (("wald", case["subtotals_z"]), ("hksj", case["subtotals_knha"])):
            got = subgroup_analysis(y, v, g, method=method, ci=ci, tau2="common")
            where = f"{method} {ci} groups {sorted(set(g))}"
            assert (got.tau2, got.note) == ("common", None), where
            assert got.tau2_common == pytest.approx(want["tau2"], rel=TIGHT, abs=TIGHT), where
            fits = [got.groups[lab] for lab in got.labels]
            assert list(got.labels) == sorted(want["weights"])
            for ours, theirs in (
                ([f.estimate for f in fits], "estimate"),
                ([f.se for f in fits], "se"),
                ([f.ci_low for f in fits], "ci_lb"),
                ([f.ci_high for f in fits], "ci_ub"),
                ([f.pvalue for f in fits], "pval"),
                ([f.stat for f in fits], "zval"),
                ([f.q for f in fits], "Q"),
                ([f.i2 for f in fits], "I2"),
                ([f.h2 for f in fits], "H2"),
                ([f.tau2 for f in fits], "tau2"),
            ):
                np.testing.assert_allclose(
                    ours, want[theirs], rtol=TIGHT, atol=TIGHT, err_msg=f"{where} {theirs}"
                )
            assert [f.k for f in fits] == want["k"], where
            for lab, f in zip(got.labels, fits, strict=True):
                np.testing.assert_allclose(f.weights, want["weights"][lab], rtol=TIGHT)
            if ci == "wald":  # Q between the common-tau2 subtotals is the factor model's QM
                assert got.q_between == pytest.approx(case["common"]["q"], rel=TIGHT), where
        methods.add(method)
    assert methods == {"REML", "DL", "PM", "ML", "EB", "HE", "SJ", "HS"}


def test_meta_regression_with_several_moderators_on_bcg(cases: dict[str, Any]) -> None:
    bcg = cases["bcg"]
    y, v = np.array(bcg["yi"]), np.array(bcg["vi"])
    alloc, alloc_names = factor_columns(bcg["alloc"], "factor(alloc)")
    designs = {
        "ablat + year": (np.column_stack([bcg["ablat"], bcg["year"]]), ["ablat", "year"]),
        "ablat + factor(alloc)": (
            np.column_stack([bcg["ablat"], alloc]),
            ["ablat", *alloc_names],
        ),
        "ablat + year + factor(alloc)": (
            np.column_stack([bcg["ablat"], bcg["year"], alloc]),
            ["ablat", "year", *alloc_names],
        ),
    }
    for want in cases["regressions"]:
        x, names = designs[want["mods"]]
        fit = meta_regression(y, v, x, method=want["method"], names=names, test=want["test"])
        where = f"{want['mods']} {want['method']} {want['test']}"
        assert list(fit.names) == want["names"], where
        for ours, theirs in (
            (fit.coef, "coef"),
            (fit.se, "se"),
            (fit.pvalue, "pval"),
            (fit.ci_low, "ci_lb"),
            (fit.ci_high, "ci_ub"),
        ):
            np.testing.assert_allclose(ours, want[theirs], rtol=TOL, atol=TOL, err_msg=where)
        for ours_v, theirs in (
            (fit.qm, "QM"),
            (fit.qm_pvalue, "QMp"),
            (fit.qe, "QE"),
            (fit.qe_pvalue, "QEp"),
            (fit.tau2, "tau2"),
            (fit.i2, "I2"),
            (fit.r2, "R2"),
        ):
            assert _close(ours_v, want[theirs]), (where, theirs, ours_v, want[theirs])
        qmdf = want["QMdf"] if isinstance(want["QMdf"], list) else [want["QMdf"]]
        assert fit.qm_df == qmdf[0], where
    assert len(cases["regressions"]) == 24  # 3 designs x REML, DL, PM, ML x z, knha
