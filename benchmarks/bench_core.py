"""Timings of the core engine beside statsmodels and PyMARE (run by hand, not in CI).

    python3 benchmarks/bench_core.py          # writes benchmarks/RESULTS.md

Same data for every library: yi ~ N(-0.4, vi + 0.1), vi ~ U(0.01, 0.4), seed 1. Each
timing is the best of 5 repeats of a loop sized to take ~0.2 s (timeit's autorange).
"""

from __future__ import annotations

import platform
import sys
import timeit
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.results import write_section
from core.stats.pooling import pool
from core.stats.sensitivity import gosh, leave_one_out

KS = (7, 100, 1000, 10000)
SPREAD_SETS = 200


def data(k: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    v = rng.uniform(0.01, 0.4, k)
    return rng.normal(-0.4, np.sqrt(v + 0.1)), v


def best(fn, repeat: int = 5) -> float:
    """Seconds per call (best of ``repeat``)."""
    t = timeit.Timer(fn)
    n, _ = t.autorange()
    return min(t.repeat(repeat=repeat, number=n)) / n


def fmt(s: float | None) -> str:
    if s is None:
        return "n/a"
    if s < 1e-3:
        return f"{s * 1e6:.0f} µs"
    if s < 1:
        return f"{s * 1e3:.2f} ms"
    return f"{s:.2f} s"


def ratio(a: float | None, b: float | None) -> str:
    return "n/a" if a is None or b is None else f"{b / a:.1f}x"


def statsmodels_fn(y, v, method):
    try:
        from statsmodels.stats.meta_analysis import combine_effects
    except ImportError:
        return None
    re = {"DL": "dl", "REML": None}[method]
    if re is None:
        return None  # statsmodels has no REML; its iterated "pm" is the closest
    return lambda: combine_effects(y, v, method_re=re)


def pymare_fn(y, v, method):
    try:
        from pymare import Dataset, estimators
    except ImportError:
        return None
    ds = Dataset(y=y, v=v)  # adds the intercept column
    if method == "DL":
        return lambda: estimators.DerSimonianLaird().fit_dataset(ds).summary()
    return lambda: (
        estimators.VarianceBasedLikelihoodEstimator(method="REML").fit_dataset(ds).summary()
    )


def main() -> None:
    warnings.simplefilter("ignore")
    rows = []
    for k in KS:
        y, v = data(k)
        for label, method, ci in (
            ("DL", "DL", "wald"),
            ("REML", "REML", "wald"),
            ("REML + HKSJ + PI", "REML", "hksj"),
        ):
            ours = best(lambda y=y, v=v, m=method, c=ci: pool(y, v, method=m, ci=c))
            sm = pymare = None
            if ci == "wald":
                f = statsmodels_fn(y, v, method)
                sm = best(f) if f else None
                g = pymare_fn(y, v, method)
                if g is not None and k <= 1000:  # PyMARE's REML is slow at 10000
                    pymare = best(g, repeat=3)
            rows.append((label, k, ours, sm, pymare))
    # one data set can be lucky: REML's path length depends on the data, so also the spread
    spread = np.array(
        [
            best(lambda y=y, v=v: pool(y, v, method="REML", ci="hksj"), repeat=3)
            for y, v in (data(7, seed=1000 + i) for i in range(SPREAD_SETS))
        ]
    )
    y, v = data(1000)
    loo = best(lambda: leave_one_out(y, v, method="REML"), repeat=3)
    y16, v16 = data(16)
    gosh_ee = best(lambda: gosh(y16, v16, method="EE"), repeat=3)
    gosh_dl = best(lambda: gosh(y16, v16, method="DL"), repeat=3)

    lines = [
        f"`python3 benchmarks/bench_core.py` on {platform.processor() or platform.machine()}, "
        f"Python {platform.python_version()}, numpy {np.__version__}. Best of 5 repeats; "
        "ratios are the other library's time over ours (> 1: we are faster). statsmodels "
        "`combine_effects` has DL but no REML; PyMARE times the fit plus `summary()`.",
        "",
        "| analysis | k | core | statsmodels | ratio | PyMARE | ratio |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for label, k, ours, sm, pm in rows:
        lines.append(
            f"| {label} | {k} | {fmt(ours)} | {fmt(sm)} | {ratio(ours, sm)} | "
            f"{fmt(pm)} | {ratio(ours, pm)} |"
        )
    lines += [
        f"| leave-one-out REML | 1000 | {fmt(loo)} | | | | |",
        f"| GOSH common effect, all 65,535 subsets | 16 | {fmt(gosh_ee)} | | | | |",
        f"| GOSH DL, all 65,535 subsets | 16 | {fmt(gosh_dl)} | | | | |",
        "",
        f"REML + HKSJ + PI at k = 7 over {SPREAD_SETS} random data sets (seeds 1000-"
        f"{999 + SPREAD_SETS}; the table's is seed 1): median {fmt(float(np.median(spread)))}, "
        f"90th percentile {fmt(float(np.percentile(spread, 90)))}, slowest "
        f"{fmt(float(spread.max()))}.",
        "",
        "Targets: REML + HKSJ + PI at k = 7 under 100 µs; DL at least as fast as statsmodels; "
        "leave-one-out REML at k = 1000 under 0.2 s; GOSH over 65,535 subsets under 1 s.",
        "",
    ]
    write_section("Core engine", lines)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
