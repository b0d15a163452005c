"""The forest plot's footer against R's metafor, computed fresh by R during the test: the bcg
fixture's odds ratios pooled by ``rma`` (REML and DL, Wald and Hartung-Knapp, common effect),
tau², I², Q with its p, and z or t with its p agree to 1e-8 and print as the footer prints
them. Skipped where R or metafor is not installed."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from core import fmt
from core.data.dataset import Dataset, load_files
from core.state.view import DEFAULT_STATE
from core.views.analysis import analyse, forest_footer

ROOT = Path(__file__).resolve().parents[2]
BCG = ROOT / "tests" / "fixtures" / "bcg"
R_CODE = r"""
suppressMessages(library(metafor)); suppressMessages(library(jsonlite))
s <- read.csv(file.path(Sys.getenv("BCG"), "studies.csv"))
o <- read.csv(file.path(Sys.getenv("BCG"), "outcomes.csv"))
d <- merge(o, s, by = "study_id")
es <- escalc("OR", ai = events_rt, n1i = n_rt, ci = events_ctl, n2i = n_ctl, data = d)
out <- list()
for (m in c("REML", "DL", "EE")) for (t in c("z", "knha")) {
  if (m == "EE" && t == "knha") next
  f <- rma(yi, vi, data = es, method = m, test = t,
           control = list(threshold = 1e-12, tol = 1e-13, maxiter = 10000, stepadj = 0.5))
  out[[paste(m, t)]] <- list(tau2 = f$tau2, i2 = f$I2, q = f$QE, qp = f$QEp, stat = f$zval,
                             p = f$pval, df = f$k - 1)
}
cat(toJSON(out, digits = NA, auto_unbox = TRUE))
"""


def _r() -> dict:
    if shutil.which("Rscript") is None:
        pytest.skip("R is not installed")
    done = subprocess.run(
        ["Rscript", "-e", R_CODE],
        capture_output=True,
        text=True,
        timeout=120,
        env={"BCG": str(BCG), "PATH": "/usr/bin:/bin:/usr/local/bin"},
    )
    if done.returncode != 0:
        if "metafor" in done.stderr or "jsonlite" in done.stderr:
            pytest.skip("R package metafor or jsonlite is not installed")
        raise AssertionError(done.stderr)
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def bcg() -> Dataset:
    ds, report = load_files({p.name: p.read_bytes() for p in BCG.glob("*.csv")})
    assert ds is not None, report
    return ds


def test_footer_equals_metafor(bcg: Dataset) -> None:
    ref = _r()
    state = DEFAULT_STATE.replace(
        scope="all",
        outcome="DFS",
        design=("RCT", "PSM", "prospective-nonrandomized", "retrospective"),
        indication=("PVTT", "narrow_margin", "MVI", "other"),
    )
    for key, want in ref.items():
        method, test = key.split()
        view = state.replace(method=method, ci="hksj" if test == "knha" else "wald")
        oa = analyse(view, bcg).outcomes["DFS"]
        p = oa.pooled
        assert p is not None and p.k == 13, key
        got = (p.tau2, p.i2, p.q, p.q_pvalue, p.stat, p.pvalue)
        exp = (want["tau2"], want["i2"], want["q"], want["qp"], want["stat"], want["p"])
        assert got == pytest.approx(exp, rel=1e-8, abs=1e-10), key
        het, overall = forest_footer(oa)
        tau2 = "" if method == "EE" else f"τ² = {want['tau2']:.4f}; "
        assert het == (
            f"Heterogeneity: {tau2}I² = {fmt.percent(want['i2'])}; Q = {want['q']:.2f} "
            f"(df = {want['df']}), {fmt.p_equals(want['qp'])}"
        ), key
        dist, df = ("t", f" (df = {want['df']})") if test == "knha" else ("z", "")
        assert overall == (
            f"Test for overall effect: {dist} = {want['stat']:.2f}{df}, {fmt.p_equals(want['p'])}"
        ), key
