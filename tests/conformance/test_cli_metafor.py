"""``python -m core sensitivity`` and ``bias`` against metafor, run on this machine.

For each link (the bundled data, and the BCG trials of ``tests/fixtures/bcg`` through
``--data``), the two commands and ``analyze`` print their JSON; their included studies (2x2
counts, or log hazard ratios and variances) go to ``cli_metafor.R``, which fits them with
metafor: ``rma`` (every estimator, Wald and Knapp-Hartung), ``rma.mh``, ``rma.peto``,
``leave1out``, ``cumul`` (in the order R derives from the years or scores), ``influence``,
``baujat``, ``regtest`` (``model="lm"`` and ``"rma"``), ``ranktest``, ``trimfill`` and the
meta-regression. Every number the commands print for those analyses must equal metafor's.

Tolerance: ``TOL`` = 1e-8 (absolute or relative), closed forms and iterative fits alike: R
runs its iterations to 1e-12 (``ctl`` in the R script), so both sides sit on the same root.
Where the engine departs from metafor on purpose, ``settle`` puts our convention into
metafor's results before comparing (and says why): with one study, I2 and H2 are not
estimable (metafor prints 0% and 1), and a Hartung-Knapp interval on k - 1 = 0 degrees of
freedom does not exist (metafor falls back to the z interval and p there).

The test skips where Rscript is not on PATH and fails there when REQUIRE_R=1 (CI).
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
import pandas as pd
import pytest
from scipy import stats

from core.data.dataset import Dataset, load_bundled, load_files
from core.state.view import parse_query
from core.views.analysis import analyse
from core.views.bias import tf_method
from tests.cli_json import cli_json

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
R_SCRIPT = HERE / "cli_metafor.R"
BCG = ROOT / "tests" / "fixtures" / "bcg"
TOL = 1e-8
Z975 = float(stats.norm.ppf(0.975))

ALL = (
    "scope=all&design=RCT,PSM,retrospective,prospective-nonrandomized"
    "&indication=PVTT,narrow_margin,MVI,other&rt=external,internal"
)
BCG_ALL = "outcome=DFS&indication=other&" + ALL.replace("&rt=external,internal", "")
#: metafor's names of the 2x2 counts -> ours
COUNTS = {"ai": "events_rt", "n1i": "n_rt", "ci": "events_ctl", "n2i": "n_ctl"}
#: name -> (link, --data folder or None for the bundled data)
CASES: dict[str, tuple[str, Path | None]] = {
    "default": ("", None),
    "dfs_k3_tf": ("outcome=DFS&tf=1", None),
    "dfs_k5_dl_hksj_quality_year": (
        ALL + "&tpoint=interp&outcome=DFS&t_dfs=2&method=DL&ci=hksj&order=quality&mod=year",
        None,
    ),
    "os_k4_ee_tf": (ALL + "&tpoint=interp&t_os=3&method=EE&tf=1", None),
    "hr_k2": (ALL + "&measure=HR", None),
    "bcg_reml_year": (BCG_ALL + "&tf=1&mod=year", BCG),
    "bcg_pm_hksj_quality": (BCG_ALL + "&method=PM&ci=hksj&order=quality", BCG),
}


def dataset(data: Path | None) -> Dataset:
    if data is None:
        return load_bundled()
    loaded, report = load_files({p.name: p.read_bytes() for p in sorted(data.glob("*.csv"))})
    assert loaded is not None, report.text()
    return loaded


def _nullable(values: pd.Series) -> list[float | None]:
    return [None if pd.isna(x) else float(x) for x in values]


def r_input(name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the case for the R script, the three commands' JSON) for one link."""
    link, data = CASES[name]
    out = {c: cli_json(c, link, data) for c in ("analyze", "sensitivity", "bias")}
    state = parse_query(link).state
    ds = dataset(data)
    rows = analyse(state, ds).outcomes[state.outcome].rows
    inc = rows[rows["included"]].set_index("study_id")
    studies = out["analyze"][state.outcome]["studies"]
    ids = [s["id"] for s in studies]
    assert ids == list(inc.index)
    meta = ds.studies.set_index("study_id").loc[ids]
    counts = state.measure == "OR"
    (mod,) = state.mod  # the R script fits one moderator (several: test_subgroups_metafor)
    column = {"quality": "quality_score"}.get(mod, mod)
    case = {
        "name": name,
        "ids": ids,
        "labels": list(inc["label"].astype(str)),  # as shown: ‡ marks an overlap group
        "yi": [s["yi"] for s in studies],
        "vi": [s["vi"] for s in studies],
        **{r: [float(x) for x in inc[c]] if counts else None for r, c in COUNTS.items()},
        "method": state.method,
        "test": "knha" if state.ci == "hksj" else "z",
        "tf_method": tf_method(state.method),
        "year": _nullable(pd.to_numeric(meta["year"])),
        "score": _nullable(pd.to_numeric(meta["quality_score"])),
        "moderator": _nullable(pd.to_numeric(meta[column])),
        "order": state.order,
    }
    return case, out


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[dict, dict, dict]]:
    """name -> (R input, the commands' JSON, metafor's results), all cases in one R run."""
    if shutil.which("Rscript") is None:
        if os.environ.get("REQUIRE_R") == "1":
            pytest.fail("REQUIRE_R=1 but Rscript is not on PATH")
        pytest.skip("R (Rscript with metafor) is not installed: apt-get install r-cran-metafor")
    inputs = {name: r_input(name) for name in CASES}
    folder = tmp_path_factory.mktemp("cli_metafor")
    (folder / "in.json").write_text(json.dumps([case for case, _ in inputs.values()]))
    run = subprocess.run(
        ["Rscript", str(R_SCRIPT), str(folder / "in.json"), str(folder / "out.json")],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    ref = json.loads((folder / "out.json").read_text())
    return {name: (case, out, ref[name]) for name, (case, out) in inputs.items()}


class Checker:
    """Collects (path, ours, metafor's) comparisons; ``problems`` lists every mismatch."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.count = 0

    def num(self, path: str, got: Any, exp: Any) -> None:
        g = np.atleast_1d(np.asarray(_nan(got), dtype=float))
        e = np.atleast_1d(np.asarray(_nan(exp), dtype=float))
        if g.shape != e.shape:
            self.problems.append(f"{path}: shape {g.shape} != metafor's {e.shape}")
            return
        self.count += e.size
        both_nan = np.isnan(g) & np.isnan(e)
        diff = np.abs(g - e)
        ok = both_nan | (diff <= TOL) | (diff <= TOL * np.abs(e))
        if not ok.all():
            i = int(np.argmin(ok))
            self.problems.append(f"{path}[{i}]: {g[i]!r} vs metafor {e[i]!r}")

    def same(self, path: str, got: Any, exp: Any) -> None:
        self.count += 1
        if got != exp:
            self.problems.append(f"{path}: {got!r} != metafor's {exp!r}")

    def fields(self, path: str, got: dict, exp: dict, names: list[str]) -> None:
        """``got[name]`` against ``exp[name]`` for every name (one result's fields)."""
        for name in names:
            self.num(f"{path}.{name}", got[name], exp[name])

    def column(self, path: str, rows: list[dict], exp: dict, names: list[str]) -> None:
        """Each ``name`` of ``rows`` (one value a row) against the array ``exp[name]``."""
        for name in names:
            self.num(f"{path}.{name}", [r[name] for r in rows], exp[name])


def _nan(x: Any) -> Any:
    """JSON null (metafor's NA, our NaN) as NaN, in scalars and lists."""
    if x is None:
        return math.nan
    if isinstance(x, list):
        return [_nan(v) for v in x]
    return x


SAME = ["estimate", "se", "ci_low", "ci_high", "pvalue", "tau2", "i2", "k"]
POOLED = [*SAME, "stat", "h2", "q", "q_pvalue", "pi_low", "pi_high", "weights"]


def check_sensitivity(c: Checker, case: dict, sv: dict, ref: dict) -> None:
    k = len(case["yi"])
    full = ref["pooled"]
    c.fields("pooled", sv["pooled"], full, POOLED)
    loo = sv["leave_one_out"]["rows"]
    if k < 3:
        c.same("leave_one_out", loo, None)
        c.same("influence", sv["influence"]["rows"], None)
    else:
        omit = [r for r in loo if r["kind"] == "omit"]
        c.same("leave_one_out.study_id", [r["study_id"] for r in omit], case["ids"])
        c.column("leave_one_out", omit, ref["leave1out"], ["estimate", "ci_low", "ci_high"])
        c.column("leave_one_out", omit, ref["leave1out"], ["pvalue", "tau2", "i2"])
        c.num("leave_one_out.k", [r["k"] for r in omit], [k - 1] * k)
        est = np.asarray(ref["leave1out"]["estimate"], float)
        c.num("leave_one_out.ratio", [r["ratio"] for r in omit], np.exp(est))
        c.num(
            "leave_one_out.change_pct",
            [r["change_pct"] for r in omit],
            100 * (np.exp(est - full["estimate"]) - 1),
        )
        (last,) = [r for r in loo if r["kind"] == "full"]
        c.fields("leave_one_out.full", last, full, ["estimate", "ci_low", "ci_high"])
        inf = sv["influence"]["rows"]
        c.same("influence.study_id", [r["study_id"] for r in inf], case["ids"])
        names = ["rstudent", "dffits", "cook_d", "cov_r", "tau2_del", "qe_del", "hat", "weight"]
        c.column("influence", inf, ref["influence"], names)
        flags = [r["influential"] for r in inf]
        c.same("influence.influential", flags, ref["influence"]["influential"])
        c.column("baujat", inf, ref["baujat"], ["x", "y"])
    cum = sv["cumulative"]["rows"]
    if k < 2:
        c.same("cumulative", cum, None)
        c.same("estimators", sv["estimators"]["rows"], None)
        return
    order = [i - 1 for i in ref["cumul"]["order"]]
    c.same("cumulative.label", [r["label"] for r in cum], [f"+ {case['labels'][i]}" for i in order])
    c.num("cumulative.k", [r["k"] for r in cum], list(range(1, k + 1)))
    c.column("cumulative", cum, ref["cumul"], ["estimate", "ci_low", "ci_high", "pvalue"])
    c.column("cumulative", cum, ref["cumul"], ["tau2", "i2"])
    c.num("cumulative.ratio", [r["ratio"] for r in cum], np.exp(ref["cumul"]["estimate"]))
    panel = {(r["method"], r["ci"]): r for r in sv["estimators"]["rows"]}
    theirs = {
        (m, "hksj" if t == "knha" else "wald"): fit
        for key, fit in ref["estimators"].items()
        for m, _, t in [key.partition(" ")]
    }
    c.same("estimators", sorted(panel), sorted(theirs))
    for key, fit in theirs.items():
        names = [n for n in SAME if n in fit]  # MH and Peto: no tau2
        c.fields(f"estimators{key}", panel[key], fit, names)
    sweep = sv["quality_sweep"]["rows"]
    if "quality_sweep" not in ref:
        c.same("quality_sweep", sweep, None)
        return
    c.same("quality_sweep.rows", len(sweep), len(ref["quality_sweep"]))
    for row, fit in zip(sweep, ref["quality_sweep"], strict=False):
        members = ", ".join(case["ids"][i - 1] for i in np.atleast_1d(fit["members"]))
        c.same(f"quality_sweep[{fit['qmin']}].studies", row["studies"], members)
        names = ["qmin", "k", "estimate", "ci_low", "ci_high", "pvalue", "tau2", "i2"]
        c.fields(f"quality_sweep[{fit['qmin']}]", row, fit, names)


EGGER = ["stat", "pvalue", "slope", "slope_se", "limit_estimate", "limit_ci_low", "limit_ci_high"]
TRIMFILL = [
    "k0", "se_k0", "estimate", "se", "ci_low", "ci_high", "stat", "pvalue", "tau2", "i2", "q",
    "k", "filled_yi", "filled_vi",
]  # fmt: skip
METAREG = [
    "coef", "se", "stat", "pvalue", "ci_low", "ci_high", "qm", "qm_pvalue", "qe", "qe_pvalue",
    "tau2", "i2", "r2", "k",
]  # fmt: skip


def check_bias(c: Checker, case: dict, bv: dict, ref: dict, tf_shown: bool) -> None:
    k = len(case["yi"])
    y = np.asarray(ref.get("escalc", case)["yi"], float)
    se = np.sqrt(np.asarray(ref.get("escalc", case)["vi"], float))
    pts = bv["funnel"]["points"]
    if k < 2:
        c.same("funnel.points", pts, None)
    else:
        study = [p for p in pts if p["kind"] == "study"]
        c.same("funnel.study_id", [p["study_id"] for p in study], case["ids"])
        c.num("funnel.yi", [p["yi"] for p in study], y)
        c.num("funnel.sei", [p["sei"] for p in study], se)
        c.num("funnel.ci_low", [p["ci_low"] for p in study], np.exp(y - Z975 * se))
        c.num("funnel.ci_high", [p["ci_high"] for p in study], np.exp(y + Z975 * se))
        c.num("funnel.weight", [p["weight"] for p in study], ref["pooled"]["weights"])
        c.num("funnel.estimate", bv["funnel"]["estimate"], ref["pooled"]["estimate"])
        filled = [p["yi"] for p in pts if p["kind"] == "filled"]
        want = ref["trimfill"]["filled_yi"] if tf_shown and "trimfill" in ref else []
        c.num("funnel.filled.yi", sorted(filled), sorted(np.atleast_1d(want)))
    tests = bv["tests"]
    if k < 3:
        c.same("tests", tests, None)
    else:
        c.fields("egger_lm", tests["egger_lm"], ref["egger_lm"], [*EGGER, "df"])
        c.fields("egger_rma", tests["egger_rma"], ref["egger_rma"], [*EGGER, "tau2"])
        c.fields("begg", tests["begg"], ref["begg"], ["tau", "pvalue"])
        tf = tests["trim_and_fill"]
        c.same("trim_and_fill.side", tf["side"], ref["trimfill"]["side"])
        c.same("trim_and_fill.method", tf["method"], case["tf_method"])
        c.fields("trim_and_fill", tf, ref["trimfill"], TRIMFILL)
    reg = bv["regression"]
    if "metareg" not in ref:
        c.same("regression.fit", reg["fit"], None)
        return
    mr = ref["metareg"]
    c.fields("regression.fit", reg["fit"], mr, METAREG)
    c.num("regression.points.weight", [p["weight"] for p in reg["points"]], mr["weights"])
    x = np.asarray(case["moderator"], dtype=float)
    c.num("regression.points.x", [p["x"] for p in reg["points"]], x[np.isfinite(x)])


def _one_study(fit: dict, knha: bool) -> None:
    """Our convention for a fit of one study (see the module docstring)."""
    fit.update(i2=None, h2=None)
    if knha:
        fit.update(ci_low=None, ci_high=None, pvalue=None, stat=None)


def settle(ref: dict, case: dict) -> None:
    """metafor's results with the engine's documented conventions for fits of one study."""
    knha = case["test"] == "knha"
    fits = [ref["pooled"], *ref.get("quality_sweep", [])]
    for fit in fits:
        if fit["k"] == 1:
            _one_study(fit, knha)
    if "cumul" in ref and knha:  # its first row pools one study
        for key in ("ci_low", "ci_high", "pvalue"):
            ref["cumul"][key][0] = None


@pytest.mark.parametrize("name", list(CASES))
def test_cli_numbers_equal_metafor(runs: dict, name: str) -> None:
    case, out, ref = runs[name]
    settle(ref, case)
    c = Checker()
    if "escalc" in ref:
        c.num("analyze.yi", case["yi"], ref["escalc"]["yi"])
        c.num("analyze.vi", case["vi"], ref["escalc"]["vi"])
    check_sensitivity(c, case, out["sensitivity"], ref)
    state = parse_query(CASES[name][0]).state
    check_bias(c, case, out["bias"], ref, state.tf)
    assert c.count > 20
    assert not c.problems, f"{len(c.problems)} problem(s):\n" + "\n".join(c.problems[:60])
