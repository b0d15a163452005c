"""A trial reconstructed from digitised Kaplan-Meier curves: what the CLI prints and the
Studies page shows (survival at chosen years per arm, the Cox HR, the cleaning notes)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from core import fmt
from core.stats.km import ARMS, Reconstruction

MONTHS_PER_YEAR = 12.0
HR_METHOD = (
    "Cox proportional hazards (Efron ties), rt vs ctl, on patient data reconstructed from the "
    "digitised curves and numbers at risk (Guyot et al. 2012)"
)


def parse_years(text: str) -> tuple[float, ...]:
    """'1,2' -> (1.0, 2.0): time points in years, each above 0; ValueError otherwise."""
    try:
        years = tuple(float(p) for p in text.split(","))
    except ValueError:
        years = ()
    if not years or not all(0 < y < 1000 for y in years):
        raise ValueError(
            f"--t-years {text[:40]!r}: give years above 0 separated by commas, e.g. 1,2"
        )
    return years


def km_json(rec: Reconstruction, years: tuple[float, ...]) -> dict:
    """Per arm n, events and survival at each year (None after the arm's last follow-up, with
    a note); the HR with its 95% CI; how it was computed; what cleaning changed."""
    notes = list(rec.notes)
    arms = {}
    for arm in ARMS:
        km = rec.arms[arm].kaplan_meier()
        survival = {}
        for y in years:
            s = km.at(y * MONTHS_PER_YEAR)
            if s is None:
                notes.append(
                    f"arm {arm}: {fmt.years(y)} years is after the last follow-up "
                    f"({fmt.number(km.last_time)} months): survival not estimated"
                )
            survival[f"{y:g}"] = s
        arms[arm] = {
            "n": rec.arms[arm].n,
            "events": rec.arms[arm].events,
            "survival": survival,
            "last_follow_up_months": km.last_time,
        }
    cox = rec.cox.summary_row()
    hr = {
        "estimate": cox["hr"],
        "ci_low": cox["ci_low"],
        "ci_high": cox["ci_high"],
        "log_hr": cox["estimate"],
        "se": cox["se"],
        "method": HR_METHOD,
    }
    return {"arms": arms, "hr": hr, "notes": notes}


def curve_frames(rec: Reconstruction) -> tuple[pd.DataFrame, pd.DataFrame]:
    """What the review chart draws, per arm (columns arm, time_months, survival):
    the Kaplan-Meier step curve of the reconstructed patients (its corners, from (0, 1) to the
    last follow-up) and the cleaned digitised points it was read from (with the points added
    at the at-risk times)."""
    steps, points = [], []
    for arm in ARMS:
        km = rec.arms[arm].kaplan_meier()
        before = np.r_[1.0, km.survival[:-1]]
        t = np.r_[0.0, np.repeat(km.time, 2), km.last_time]
        s = np.r_[1.0, np.column_stack([before, km.survival]).ravel(), km.survival[-1:]]
        steps.append(pd.DataFrame({"arm": arm, "time_months": t, "survival": s}))
        curve = rec.arms[arm].curve
        points.append(
            pd.DataFrame({"arm": arm, "time_months": curve.time, "survival": curve.survival})
        )
    return pd.concat(steps, ignore_index=True), pd.concat(points, ignore_index=True)
