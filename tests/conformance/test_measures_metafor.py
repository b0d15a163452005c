"""Effect measures, zero-cell options and the 2x2 models against metafor, on fresh cases.

``measures_metafor.R`` writes, for hand-made and random 2x2 data with zero cells (every random
set has a double-zero study; one hand-made set has a table with only events in both arms), every
combination of ``add`` (1/2, 1, 0.1), ``to`` (only0, all, if0all, none) and ``drop00``
(FALSE, TRUE): escalc's yi and vi for OR, RR, RD and PETO; rma (REML, DL, EE) on them; rma.mh
for OR, RR and RD and rma.peto with the same options. Each value must agree to 1e-8 (relative or
absolute; REML 1e-6, as the other conformance tests). Runs where R is installed; REQUIRE_R=1
makes it mandatory.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from core.stats.effects import escalc
from core.stats.mh import FixedResult, mantel_haenszel, peto
from core.stats.pooling import pool

R_SCRIPT = Path(__file__).resolve().parent / "measures_metafor.R"
TOL = 1e-8
ITERATIVE_TOL = 1e-6
FIT_KEYS = {
    "estimate": "estimate",
    "se": "se",
    "ci_lb": "ci_low",
    "ci_ub": "ci_high",
    "pval": "pvalue",
    "tau2": "tau2",
    "I2": "i2",
    "H2": "h2",
    "Q": "q",
    "Q_pval": "q_pvalue",
    "k": "k",
}
FIXED_KEYS = {
    "estimate": "estimate",
    "se": "se",
    "ci_lb": "ci_low",
    "ci_ub": "ci_high",
    "pval": "pvalue",
    "I2": "i2",
    "H2": "h2",
    "Q": "q",
    "Q_pval": "q_pvalue",
    "k_yi": "k_yi",
    "weights": "weights",
}


def _close(path: str, exp: Any, got: Any, tol: float, problems: list[str], count: list[int]):
    e = np.atleast_1d(np.asarray([math.nan if x is None else x for x in np.atleast_1d(exp)], float))
    g = np.atleast_1d(np.asarray(got, dtype=float))
    g = np.where(np.isfinite(g), g, np.nan)  # the R script writes Inf as null, as NaN
    if e.shape != g.shape:
        problems.append(f"{path}: shape {g.shape} != metafor {e.shape}")
        return
    count[0] += e.size
    both_nan = np.isnan(e) & np.isnan(g)
    diff = np.abs(g - e)
    ok = both_nan | (diff <= tol) | (diff <= tol * np.abs(e))
    if not ok.all():
        i = int(np.argmin(ok))
        problems.append(f"{path}[{i}]: {g[i]!r} vs metafor {e[i]!r}")


def _fixed(res: FixedResult) -> dict[str, Any]:
    return {k: getattr(res, attr) for k, attr in FIXED_KEYS.items()}


@pytest.fixture(scope="module")
def cases(tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    if shutil.which("Rscript") is None:
        if os.environ.get("REQUIRE_R") == "1":
            pytest.fail("REQUIRE_R=1 but Rscript is missing")
        pytest.skip("R (Rscript with metafor) is not installed: apt-get install r-cran-metafor")
    out = tmp_path_factory.mktemp("measures") / "cases.json"
    run = subprocess.run(
        ["Rscript", str(R_SCRIPT), str(out), "5", "3"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    data = json.loads(out.read_text())["cases"]
    assert len(data) >= 100
    return data


def test_escalc_rma_mh_peto_agree_with_metafor(cases: list[dict]) -> None:
    problems: list[str] = []
    count = [0]
    double_zero = 0
    for case in cases:
        d, name = case["data"], case["name"]
        tables = (d["ai"], d["n1i"], d["ci"], d["n2i"])
        opts = {"add": case["add"], "to": case["to"], "drop00": case["drop00"]}
        double_zero += int(any(a == 0 and c == 0 for a, c in zip(d["ai"], d["ci"], strict=True)))
        for m in ("OR", "RR", "RD", "PETO"):
            es = escalc(m, *tables, **opts)
            _close(f"{name}.{m}.yi", case["escalc"][m]["yi"], es.yi, TOL, problems, count)
            _close(f"{name}.{m}.vi", case["escalc"][m]["vi"], es.vi, TOL, problems, count)
            ok = np.isfinite(es.yi) & np.isfinite(es.vi) & (es.vi > 0)
            for method, exp in (case["rma"].get(m) or {}).items():
                res = pool(es.yi[ok], es.vi[ok], method=method)
                tol = ITERATIVE_TOL if method == "REML" else TOL
                for key, attr in FIT_KEYS.items():
                    if res.k == 1 and key in ("I2", "H2", "Q_pval"):
                        continue  # one study: the app leaves these undefined (metafor: 0, 1, 1)
                    _close(f"{name}.{m}.{method}.{key}", exp[key], getattr(res, attr), tol,
                           problems, count)  # fmt: skip
            exp_mh = (case["mh"] or {}).get(m)
            if exp_mh is not None:
                got = _fixed(mantel_haenszel(*tables, measure=m, **opts))
                for key in FIXED_KEYS:
                    _close(f"{name}.mh.{m}.{key}", exp_mh[key], got[key], TOL, problems, count)
        if case["peto"] is not None:
            got = _fixed(peto(*tables, **opts))
            for key in FIXED_KEYS:
                _close(f"{name}.peto.{key}", case["peto"][key], got[key], TOL, problems, count)
    assert double_zero >= len(cases) // 2
    assert count[0] > 10_000
    assert not problems, f"{len(problems)} problem(s) in {count[0]} values:\n" + "\n".join(
        problems[:40]
    )
