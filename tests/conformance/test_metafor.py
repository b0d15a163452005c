"""Every number in every metafor reference file, recomputed with our engine.

The folder comes from METAFOR_FIXTURES (default tests/conformance/reference, in the
repository; any folder of files of the same format can be given). Each file's ``expected`` tree
is walked; every leaf must be matched by the value our engine computes for the same path:
relative or absolute difference <= 1e-7 for closed forms, <= 1e-6 for iterative ones (REML, ML,
PM, EB and what is built on them). A leaf we do not compute
fails the test unless its key is in ALLOWED_UNCOMPARED.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from core.stats import bias, sensitivity, subgroups
from core.stats.effects import escalc
from core.stats.mh import mantel_haenszel, peto
from core.stats.pooling import pool, tau2_ci

HERE = Path(__file__).resolve().parent
FIXTURES = Path(os.environ.get("METAFOR_FIXTURES", HERE / "reference"))

# Keys of a file that hold no number to compare.
ALLOWED_UNCOMPARED: frozenset[str] = frozenset(
    {
        "case",  # the case's name
        "metafor_version",  # provenance of the file
        "data",  # the inputs themselves
    }
)

CLOSED_TOL = 1e-7
ITERATIVE_TOL = 1e-6
_ITERATIVE_TOKENS = {"REML", "ML", "PM", "EB", "rma", "trimfill"}

STATS: dict[str, int] = {"values": 0, "files": 0}
FRESH_STATS: dict[str, int] = {"values": 0, "files": 0}

_POOL_KEYS = {
    "estimate": "estimate",
    "se": "se",
    "ci_lb": "ci_low",
    "ci_ub": "ci_high",
    "stat": "stat",
    "pval": "pvalue",
    "tau2": "tau2",
    "I2": "i2",
    "H2": "h2",
    "Q": "q",
    "Q_pval": "q_pvalue",
    "df": "df",
    "pi_lb": "pi_low",
    "pi_ub": "pi_high",
}


def _fields(obj: Any, keys: dict[str, str]) -> dict[str, Any]:
    return {theirs: getattr(obj, ours) for theirs, ours in keys.items()}


def _pooled(y: np.ndarray, v: np.ndarray, names: list[str]) -> dict[str, Any]:
    out = {}
    for name in names:
        method, _, test = name.partition("_")
        res = pool(y, v, method=method, ci="hksj" if test == "knha" else "wald")
        out[name] = _fields(res, _POOL_KEYS)
    return out


def _extras(y: np.ndarray, v: np.ndarray, data: dict, wanted: dict) -> dict[str, Any]:
    out: dict[str, Any] = {}
    handlers: dict[str, Callable[[], dict[str, Any]]] = {
        "tau2_ci_REML": lambda: _fields(
            tau2_ci(y, v, method="REML"),
            {"tau2_lb": "tau2_low", "tau2_ub": "tau2_high", "I2_lb": "i2_low", "I2_ub": "i2_high"},
        ),
        "leave1out_REML": lambda: _fields(
            sensitivity.leave_one_out(y, v, method="REML"),
            {
                "estimate": "estimate",
                "se": "se",
                "ci_lb": "ci_low",
                "ci_ub": "ci_high",
                "tau2": "tau2",
                "I2": "i2",
                "Q": "q",
            },
        ),
        "influence_REML": lambda: _fields(
            sensitivity.influence(y, v, method="REML"),
            {
                "rstudent": "rstudent",
                "cooks_d": "cooks_d",
                "hat": "hat",
                "dffits": "dffits",
                "cov_r": "cov_r",
                "weight": "weight",
            },
        ),
        "egger_lm": lambda: _fields(
            bias.egger_test(y, v, model="lm"),
            {"stat": "stat", "pval": "pvalue", "df": "df", "limit_estimate": "limit_estimate"},
        ),
        "egger_rma": lambda: _fields(
            bias.egger_test(y, v, model="rma", method="REML"),
            {"stat": "stat", "pval": "pvalue", "limit_estimate": "limit_estimate"},
        ),
        "begg": lambda: _fields(bias.begg_test(y, v), {"tau": "tau", "pval": "pvalue"}),
        "trimfill_REML": lambda: _fields(
            bias.trim_and_fill(y, v, method="REML"),
            {
                "k0": "k0",
                "side": "side",
                "estimate": "estimate",
                "ci_lb": "ci_low",
                "ci_ub": "ci_high",
                "tau2": "tau2",
                "filled_yi": "filled_yi",
                "filled_vi": "filled_vi",
            },
        ),
        "trimfill_EE": lambda: _fields(
            bias.trim_and_fill(y, v, method="EE"),
            {
                "k0": "k0",
                "side": "side",
                "estimate": "estimate",
                "ci_lb": "ci_low",
                "ci_ub": "ci_high",
            },
        ),
        "cumul_REML_by_year": lambda: _cumulative(y, v, data["year"]),
        "subgroups_REML": lambda: _subgroups(y, v, data["group"]),
        "metareg_REML": lambda: _fields(
            subgroups.meta_regression(y, v, np.asarray(data["moderator"], dtype=float)),
            {
                "coef": "coef",
                "se": "se",
                "pval": "pvalue",
                "QM": "qm",
                "QMp": "qm_pvalue",
                "tau2": "tau2",
                "I2": "i2",
                "R2": "r2",
                "QE": "qe",
                "QEp": "qe_pvalue",
            },
        ),
    }
    for key in wanted:
        if key in handlers:
            out[key] = handlers[key]()
    return out


def _cumulative(y: np.ndarray, v: np.ndarray, year: list) -> dict[str, Any]:
    order = np.argsort(np.asarray(year), kind="stable")
    res = sensitivity.cumulative(y, v, order=order, method="REML")
    got = _fields(
        res,
        {"estimate": "estimate", "ci_lb": "ci_low", "ci_ub": "ci_high", "tau2": "tau2", "I2": "i2"},
    )
    got["order"] = [int(i) + 1 for i in res.order]
    return got


def _subgroups(y: np.ndarray, v: np.ndarray, group: list) -> dict[str, Any]:
    res = subgroups.subgroup_analysis(y, v, group, method="REML")
    return {
        "groups": {label: _fields(fit, _POOL_KEYS) for label, fit in res.groups.items()},
        "Q_between": res.q_between,
        "df_between": res.df_between,
        "p_between": res.p_between,
    }


def _compute(case: dict) -> dict[str, Any]:
    data, expected = case["data"], case["expected"]
    got: dict[str, Any] = {}
    for measure, block in expected.items():
        if measure == "GIV":
            y, v = np.asarray(data["yi"], float), np.asarray(data["vi"], float)
            mine: dict[str, Any] = {}
        else:
            tables = (data["events_treat"], data["n_treat"], data["events_ctrl"], data["n_ctrl"])
            es = escalc(measure, *tables)
            y, v = es.yi, es.vi
            mine = {"yi": y, "vi": v}
            if "mantel_haenszel" in block:
                mh = mantel_haenszel(*tables, measure=measure)
                mine["mantel_haenszel"] = _fields(
                    mh,
                    {
                        "estimate": "estimate",
                        "se": "se",
                        "ci_lb": "ci_low",
                        "ci_ub": "ci_high",
                        "pval": "pvalue",
                        "Q": "q",
                        "I2": "i2",
                    },
                )
            if "peto" in block:
                mine["peto"] = _fields(
                    peto(*tables),
                    {
                        "estimate": "estimate",
                        "se": "se",
                        "ci_lb": "ci_low",
                        "ci_ub": "ci_high",
                        "pval": "pvalue",
                        "Q": "q",
                    },
                )
        mine["pooled"] = _pooled(y, v, list(block.get("pooled", {})))
        if "extras" in block:
            mine["extras"] = _extras(y, v, data, block["extras"])
        got[measure] = mine
    return got


def _undefined(x: Any) -> bool:
    if x is None:
        return True
    if isinstance(x, float) and math.isnan(x):
        return True
    return isinstance(x, list | tuple | np.ndarray) and len(x) == 0


def _tolerance(path: str) -> float:
    tokens = set(path.replace(".", "_").split("_"))
    return ITERATIVE_TOL if tokens & _ITERATIVE_TOKENS else CLOSED_TOL


def _compare(path: str, exp: Any, got: Any, problems: list[str]) -> None:
    if isinstance(exp, dict):
        if not isinstance(got, dict):
            problems.append(f"{path}: not computed")
            return
        for key, sub in exp.items():
            if key not in got:
                problems.append(f"{path}.{key}: not computed")
            else:
                _compare(f"{path}.{key}", sub, got[key], problems)
        return
    if _undefined(exp):
        STATS["values"] += 1
        if not _undefined(got) and not (np.ndim(got) == 0 and np.isnan(float(got))):
            problems.append(f"{path}: metafor gives no value, we give {got!r}")
        return
    if isinstance(exp, str):
        STATS["values"] += 1
        if exp != got:
            problems.append(f"{path}: {got!r} != {exp!r}")
        return
    exp_arr = np.atleast_1d(np.asarray(exp, dtype=float))
    got_arr = np.atleast_1d(np.asarray(got, dtype=float))
    if exp_arr.shape != got_arr.shape:
        problems.append(f"{path}: shape {got_arr.shape} != {exp_arr.shape}")
        return
    tol = _tolerance(path)
    STATS["values"] += exp_arr.size
    diff = np.abs(got_arr - exp_arr)
    rel = diff / np.maximum(np.abs(exp_arr), np.finfo(float).tiny)
    bad = ~((diff <= tol) | (rel <= tol))
    if bad.any():
        i = int(np.argmax(bad))
        problems.append(
            f"{path}[{i}]: {got_arr[i]!r} vs metafor {exp_arr[i]!r} (diff {diff[i]:.2e}, "
            f"tolerance {tol:g}; {int(bad.sum())} of {bad.size} off)"
        )


# metafor's meta-regression R2 is (tau2_RE - tau2) / tau2_RE. Where the intercept-only REML
# tau2 sits on the boundary, metafor's Fisher scoring stops at leftovers below its threshold
# (about 1e-13, not 0), so its R2 is the ratio of two rounding leftovers. The exact value is
# 0 (metafor's own rule when tau2_RE is exactly 0): that is what we compare there.
R2_BOUNDARY_TAU2 = 1e-10


def _settle_boundary_r2(case: dict) -> None:
    for block in case["expected"].values():
        reml = block.get("pooled", {}).get("REML", {})
        metareg = block.get("extras", {}).get("metareg_REML")
        if metareg and "R2" in metareg and reml.get("tau2", 1.0) < R2_BOUNDARY_TAU2:
            metareg["R2"] = 0.0


def _check_folder(folder: Path, stats: dict[str, int]) -> list[str]:
    files = sorted(folder.glob("*.json"))
    assert files, f"no reference files in {folder} (set METAFOR_FIXTURES)"
    problems: list[str] = []
    before = STATS["values"]
    for f in files:
        case = json.loads(f.read_text())
        for key in case:
            if key != "expected" and key not in ALLOWED_UNCOMPARED:
                problems.append(f"{f.name}: top-level key {key!r} is not compared")
        _settle_boundary_r2(case)
        try:
            got = _compute(case)
        except Exception as exc:  # report, then fail below with every file's problems
            problems.append(f"{f.name}: {type(exc).__name__}: {exc}")
            continue
        _compare(f.name, case["expected"], got, problems)
        stats["files"] += 1
    if stats is not STATS:  # _compare counts into STATS: move this folder's count over
        stats["values"] += STATS["values"] - before
        STATS["values"] = before
    return problems


def test_every_metafor_value_is_reproduced() -> None:
    problems = _check_folder(FIXTURES, STATS)
    assert not problems, f"{len(problems)} problem(s):\n" + "\n".join(problems[:60])


R_SCRIPT = HERE / "metafor_fixtures.R"


def test_fresh_metafor_cases(tmp_path: Path) -> None:
    """New cases made by metafor on this machine, where R is installed: seed 2 with nine
    synthetic pairs, among them bin_s2_09, where a cumulative REML fit has two likelihood
    maxima and metafor's Fisher scoring path decides which one it reports."""
    if shutil.which("Rscript") is None or not R_SCRIPT.exists():
        if os.environ.get("REQUIRE_R") == "1":
            pytest.fail("REQUIRE_R=1 but Rscript or the fixture script is missing")
        pytest.skip("R (Rscript with metafor) is not installed: apt-get install r-cran-metafor")
    run = subprocess.run(
        ["Rscript", str(R_SCRIPT), str(tmp_path), "2", "9"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    problems = _check_folder(tmp_path, FRESH_STATS)
    assert not problems, f"{len(problems)} problem(s):\n" + "\n".join(problems[:60])
