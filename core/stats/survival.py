"""Survival data: the Kaplan-Meier estimate and a Cox proportional-hazards fit of two arms.

Conventions follow R's ``survival`` package so that numbers agree with it:

- Kaplan-Meier: S(t) = prod_{t_j <= t} (1 - d_j / n_j) over the distinct event times t_j,
  d_j events and n_j at risk (alive and uncensored just before t_j; a time censored at t_j is
  still at risk at t_j), as ``survfit(Surv(time, event) ~ 1)``.
- Cox model with one 0/1 covariate x (1 = the RT arm), ties by Efron's method as
  ``coxph(Surv(time, event) ~ x)`` (its default): at an event time with d tied events D,
  the log partial likelihood adds
  beta * sum_D x - sum_{r=0}^{d-1} ln(S0 - (r/d) S0_D),  S0 = sum_{risk set} exp(beta x),
  S0_D = sum_D exp(beta x). Newton-Raphson from beta = 0; SE from the observed information;
  95% CI exp(beta +/- z_0.975 SE) (Wald), as ``summary(coxph(...))$conf.int``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from core.stats.effects import z_two_sided
from core.stats.tidy import one_row_frame

#: Newton-Raphson stops when a step changes beta by less than this (coxph: 1e-9 on loglik).
COX_TOL = 1e-12
COX_MAX_ITER = 50


@dataclass(frozen=True)
class KaplanMeier:
    """The product-limit estimate: ``time`` the distinct event times, ``survival`` S just
    after each, ``n_risk``/``n_event`` there; ``last_time`` is the last time observed (event
    or censored): beyond it S is not estimated."""

    time: np.ndarray
    survival: np.ndarray
    n_risk: np.ndarray
    n_event: np.ndarray
    last_time: float

    def at(self, t: float) -> float | None:
        """S(t) (right-continuous step), or None when t is after the last time observed."""
        if t > self.last_time or t < 0:
            return None
        i = int(np.searchsorted(self.time, t, side="right"))
        return 1.0 if i == 0 else float(self.survival[i - 1])


def _as_survival_data(time: object, event: object) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(time, dtype=float).ravel()
    e = np.asarray(event, dtype=float).ravel()
    if t.shape != e.shape or t.size == 0:
        raise ValueError("time and event must be non-empty and of the same length")
    if not np.all(np.isfinite(t)) or np.any(t < 0):
        raise ValueError("times must be finite and not negative")
    if not np.all(np.isin(e, (0.0, 1.0))):
        raise ValueError("event must be 0 (censored) or 1 (event)")
    return t, e.astype(bool)


def kaplan_meier(time: object, event: object) -> KaplanMeier:
    """Kaplan-Meier estimate of ``Surv(time, event)``, as R's ``survfit``."""
    t, e = _as_survival_data(time, event)
    order = np.argsort(t, kind="stable")
    t, e = t[order], e[order]
    uniq = np.unique(t[e])
    n_risk = t.size - np.searchsorted(t, uniq, side="left")
    n_event = np.array([np.count_nonzero(e & (t == u)) for u in uniq], dtype=int)
    surv = np.cumprod(1.0 - n_event / n_risk)
    return KaplanMeier(uniq, surv, n_risk.astype(int), n_event, float(t[-1]))


@dataclass(frozen=True)
class CoxResult:
    """Cox fit of one 0/1 covariate: ``beta`` = ln HR (x = 1 vs x = 0), ``se``, the HR and its
    Wald CI, the log partial likelihood at beta and the Newton iterations used."""

    beta: float
    se: float
    hr: float
    ci_low: float
    ci_high: float
    loglik: float
    iterations: int
    level: float = 0.95

    def summary_row(self) -> dict[str, Any]:
        """The fit as one record, as R's ``summary(coxph)``: covariate ("rt"), estimate (ln
        HR, ``coef``), se, hr (``exp(coef)``), ci_low, ci_high (of the HR), loglik,
        iterations."""
        cols = ("se", "hr", "ci_low", "ci_high", "loglik", "iterations")
        return {"covariate": "rt", "estimate": self.beta} | {c: getattr(self, c) for c in cols}

    def summary_frame(self) -> pd.DataFrame:
        """:meth:`summary_row` as a one-row frame indexed by the covariate."""
        return one_row_frame(self.summary_row(), "covariate")


def _efron_terms(
    beta: float, groups: list[tuple[float, float, float, float, int]]
) -> tuple[float, float, float]:
    """Log partial likelihood, score and information (Efron ties) for a 0/1 covariate.

    ``groups``: per distinct event time (n0, n1 at risk with x = 0/1; d0, d1 events)."""
    w = math.exp(beta)
    loglik = score = info = 0.0
    for n0, n1, d0, d1, d in groups:
        s0 = n0 + n1 * w
        s1 = n1 * w  # x = x^2 for a 0/1 covariate, so S2 = S1
        s0d, s1d = d0 + d1 * w, d1 * w
        loglik += beta * d1
        score += d1
        for r in range(d):
            f = r / d
            a0, a1 = s0 - f * s0d, s1 - f * s1d
            loglik -= math.log(a0)
            score -= a1 / a0
            info += a1 / a0 - (a1 / a0) ** 2
    return loglik, score, info


def cox_two_arms(time: object, event: object, x: object, level: float = 0.95) -> CoxResult:
    """Cox proportional-hazards fit of ``Surv(time, event) ~ x`` (x: 1 = RT, 0 = control),
    Efron ties, as ``survival::coxph``. Raises ValueError when the HR is not estimable
    (an arm with no patients or no events: the likelihood has no maximum)."""
    t, e = _as_survival_data(time, event)
    g = np.asarray(x, dtype=float).ravel()
    if g.shape != t.shape or not np.all(np.isin(g, (0.0, 1.0))):
        raise ValueError("x must be 0 or 1 for every patient")
    g1 = g == 1
    for arm, mask in (("control", ~g1), ("RT", g1)):
        if not np.any(mask & e):
            raise ValueError(f"no events in the {arm} arm: the hazard ratio is not estimable")
    groups = []
    for u in np.unique(t[e]):
        at_risk = t >= u
        dead = e & (t == u)
        groups.append(
            (
                float(np.count_nonzero(at_risk & ~g1)),
                float(np.count_nonzero(at_risk & g1)),
                float(np.count_nonzero(dead & ~g1)),
                float(np.count_nonzero(dead & g1)),
                int(np.count_nonzero(dead)),
            )
        )
    beta, iterations, step = 0.0, 0, math.inf
    loglik, score, info = _efron_terms(beta, groups)
    while abs(step) >= COX_TOL * max(1.0, abs(beta)):
        iterations += 1
        if iterations > COX_MAX_ITER:
            raise ValueError("the Cox model did not converge (the hazard ratio may be infinite)")
        if not info > 0:
            raise ValueError("the Cox model has no information on the arm effect")
        step = score / info
        # Step halving while the likelihood falls, as coxph does.
        while True:
            new = _efron_terms(beta + step, groups)
            if new[0] >= loglik - 1e-12 * abs(loglik) or abs(step) < COX_TOL:
                break
            step /= 2
        beta += step
        loglik, score, info = new
    se = 1 / math.sqrt(info)
    z = z_two_sided(level)
    return CoxResult(
        beta=beta,
        se=se,
        hr=math.exp(beta),
        ci_low=math.exp(beta - z * se),
        ci_high=math.exp(beta + z * se),
        loglik=loglik,
        iterations=iterations,
        level=level,
    )
