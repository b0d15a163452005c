"""core.stats.survival: the Kaplan-Meier estimate by hand and against R's survfit, the Cox
model (Efron ties) against R's survival::coxph: fixed values printed by coxph (survival
3.5-3) and, where R is installed, fresh fits of simulated trials with many ties."""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from core.stats.survival import cox_two_arms, kaplan_meier

# 30 patients, integer months (many ties); x = 1 for the RT arm.
TIME = [8, 15, 8, 12, 3, 21, 1, 10, 9, 5, 8, 5, 13, 6, 15, 4, 22, 6, 3, 6, 1, 1, 8, 7, 12, 4]
TIME += [5, 10, 5, 1]
EVENT = [0, 1, 1, 0, 1, 0, 1, 0, 1, 1, 1, 1, 1, 0, 0, 1, 0, 1, 1, 0, 1, 1, 0, 1, 0, 1, 1, 1]
EVENT += [1, 1]
X = [1] * 16 + [0] * 14

# R 4, survival 3.5-3: f <- coxph(Surv(time, event) ~ x); coef(f), sqrt(vcov(f)), f$loglik,
# summary(f)$conf.int[3:4]; summary(survfit(Surv(time, event) ~ x), times = c(6, 12))$surv
COXPH = {
    "beta": -0.526416543048017,
    "se": 0.452965131025693,
    "loglik0": -56.5607617307565,
    "loglik": -55.8921233724183,
    "ci_low": 0.243117141961961,
    "ci_high": 1.43530705224849,
}
SURVFIT = {(0, 6): 0.428571428571429, (0, 12): 0.228571428571429}
SURVFIT |= {(1, 6): 0.687500000000000, (1, 12): 0.471428571428571}


def test_kaplan_meier_by_hand():
    # times 1, 2, 2+, 3, 4+: S(1) = 4/5, S(2) = 4/5 x 3/4, S(3) = 3/5 x 1/2
    km = kaplan_meier([1, 2, 2, 3, 4], [1, 1, 0, 1, 0])
    assert km.time.tolist() == [1, 2, 3]
    assert km.n_risk.tolist() == [5, 4, 2] and km.n_event.tolist() == [1, 1, 1]
    assert km.survival == pytest.approx([0.8, 0.6, 0.3], abs=1e-15)
    assert km.at(0) == 1.0 and km.at(0.99) == 1.0 and km.at(1) == pytest.approx(0.8)
    assert km.at(2.5) == pytest.approx(0.6) and km.at(4) == pytest.approx(0.3)
    # After the last time observed (4) survival is not estimated, nor before 0.
    assert km.at(4.01) is None and km.at(-1) is None


def test_kaplan_meier_equals_survfit():
    t, e, x = np.array(TIME), np.array(EVENT), np.array(X)
    for (arm, month), value in SURVFIT.items():
        km = kaplan_meier(t[x == arm], e[x == arm])
        assert km.at(month) == pytest.approx(value, rel=1e-13)


def test_cox_equals_coxph_efron():
    res = cox_two_arms(TIME, EVENT, X)
    assert res.beta == pytest.approx(COXPH["beta"], rel=1e-10)
    assert res.se == pytest.approx(COXPH["se"], rel=1e-10)
    assert res.loglik == pytest.approx(COXPH["loglik"], rel=1e-12)
    assert res.hr == pytest.approx(math.exp(COXPH["beta"]), rel=1e-10)
    assert res.ci_low == pytest.approx(COXPH["ci_low"], rel=1e-10)
    assert res.ci_high == pytest.approx(COXPH["ci_high"], rel=1e-10)


def test_cox_swapping_arms_negates_beta():
    res = cox_two_arms(TIME, EVENT, X)
    swapped = cox_two_arms(TIME, EVENT, 1 - np.array(X))
    assert swapped.beta == pytest.approx(-res.beta, rel=1e-10)
    assert swapped.se == pytest.approx(res.se, rel=1e-10)


def test_cox_not_estimable():
    with pytest.raises(ValueError, match="no events in the RT arm"):
        cox_two_arms([1, 2, 3, 4], [0, 0, 1, 1], [1, 1, 0, 0])
    with pytest.raises(ValueError, match="no events in the control arm"):
        cox_two_arms([1, 2, 3, 4], [1, 0, 0, 0], [1, 1, 0, 0])
    with pytest.raises(ValueError, match="0 or 1"):
        cox_two_arms([1, 2], [1, 1], [1, 2])
    with pytest.raises(ValueError, match="event must be"):
        cox_two_arms([1, 2], [1, 2], [1, 0])


R_COX = """
suppressPackageStartupMessages(library(survival))
out <- list()
for (f in list.files(pattern = "[.]csv$")) {
  d <- read.csv(f)
  m <- coxph(Surv(time, event) ~ x, data = d)
  out[[basename(f)]] <- c(coef(m), sqrt(vcov(m)), m$loglik[2])
}
cat(jsonlite::toJSON(out, digits = NA))
"""


def no_r(why: str) -> None:
    """Skip for want of R, or fail where R is required (REQUIRE_R=1, as in CI)."""
    if os.environ.get("REQUIRE_R") == "1":
        pytest.fail(f"REQUIRE_R=1 but {why}")
    pytest.skip(f"{why}: apt-get install r-cran-survival r-cran-jsonlite")


def run_r_json(script: str, folder: Path) -> object:
    """Run an R ``script`` in ``folder`` and parse the JSON it prints; skipped where R or
    its survival and jsonlite packages are missing."""
    rscript = shutil.which("Rscript")
    if rscript is None:
        no_r("R is not installed (Rscript not on PATH)")
    (folder / "script.R").write_text(script, encoding="utf-8")
    proc = subprocess.run(
        [str(rscript), "script.R"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    missing = [ln for ln in proc.stderr.splitlines() if "there is no package called" in ln]
    if proc.returncode != 0 and missing:
        no_r(missing[0].strip())
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout)


def test_cox_equals_fresh_coxph(tmp_path):
    """Simulated trials (Weibull times, uniform censoring, times rounded so that many tie):
    beta, SE and log-likelihood agree with coxph to 1e-8."""
    rng = np.random.default_rng(2012)
    data = {}
    for i, (n, shape, digits) in enumerate([(40, 1.0, 0), (120, 0.7, 1), (300, 1.5, 0)]):
        x = (np.arange(n) % 2).astype(float)
        t = rng.weibull(shape, n) * np.where(x == 1, 30.0, 18.0)
        c = rng.uniform(6, 60, n)
        time, event = np.round(np.minimum(t, c), digits), (t <= c).astype(int)
        time = np.maximum(time, 0.1)
        name = f"trial{i}.csv"
        np.savetxt(tmp_path / name, np.c_[time, event, x], delimiter=",", fmt="%.10g",
                   header="time,event,x", comments="")  # fmt: skip
        data[name] = (time, event, x)
    ref = run_r_json(R_COX, tmp_path)
    for name, (time, event, x) in data.items():
        res = cox_two_arms(time, event, x)
        beta, se, loglik = ref[name]
        assert res.beta == pytest.approx(beta, rel=1e-8, abs=1e-10), name
        assert res.se == pytest.approx(se, rel=1e-8), name
        assert res.loglik == pytest.approx(loglik, rel=1e-10), name
