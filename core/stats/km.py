"""Individual patient data reconstructed from a published Kaplan-Meier curve.

Guyot P, Ades AE, Ouwens MJNM, Welton NJ. Enhanced secondary analysis of survival data:
reconstructing the data from published Kaplan-Meier survival curves. BMC Med Res Methodol
2012;12:9. Input: digitised points (T_k, S_k) of one arm's curve and the numbers at risk
n_i at times t_i printed under the figure. Within each at-risk interval [t_i, t_{i+1}) the
number censored is first approximated by n_i S(t_{i+1}) / S(t_i) - n_{i+1}, spread evenly over
the interval, and the events at each point follow from the curve,
d_k = round(n_k (1 - S_k / S_last)), n_{k+1} = n_k - d_k - c_k; the censored count is adjusted
until the reconstructed number at risk at t_{i+1} equals n_{i+1}. After the last at-risk time
censoring goes on at the average rate of the earlier intervals. Events are placed at the
points' times, censorings halfway between points, everyone left is censored at the curve's
end. The published algorithm is followed step by step (including R's ``round`` half to even
and ``hist`` right-closed bins); it only departs where the published code would divide by
zero or give negative counts.

Digitised points come unsorted, slightly non-monotone and noisy, so ``clean_curve`` first
reads survival as a fraction or a percentage, sorts by time, fits the closest non-increasing
curve (isotonic least squares), merges points at the same time (the lowest survival, after
the drop, is kept) and anchors the curve at S(0) = 1; every change is listed in ``notes``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy.optimize import isotonic_regression

from core.stats.survival import CoxResult, KaplanMeier, cox_two_arms, kaplan_meier

#: Digitising noise tolerated past the axes, as a fraction of the axis (1 = 100%): survival up
#: to 1.01 or down to -0.01, times down to -1% of the last time, are read as 1, 0 and 0.
TOLERANCE = 0.01
#: Largest value read as a fraction; a curve whose values go above this is read in percent.
FRACTION_MAX = 1.5
#: Guyot's censoring adjustment repeats until the numbers at risk match; it stops here.
MAX_ADJUST = 10_000
ARMS = ("rt", "ctl")


class KMInputError(ValueError):
    """Digitised input that cannot be used; the message is one plain line for the user."""


@dataclass(frozen=True)
class Curve:
    """A cleaned digitised curve: strictly increasing ``time`` from 0, non-increasing
    ``survival`` (fractions) from 1, and what cleaning changed."""

    time: np.ndarray
    survival: np.ndarray
    notes: tuple[str, ...]


def _arm(arm: str) -> str:
    return f"arm {arm}: " if arm else ""


def clean_curve(time: object, survival: object, arm: str = "") -> Curve:
    """Digitised points of one curve, cleaned (see the module docstring); raises
    KMInputError for points no cleaning can make usable (survival above 1 or 100%)."""
    t = np.asarray(time, dtype=float).ravel()
    s = np.asarray(survival, dtype=float).ravel()
    who = _arm(arm)
    if t.size == 0 or t.shape != s.shape:
        raise KMInputError(f"{who}the curve has no points")
    if not (np.all(np.isfinite(t)) and np.all(np.isfinite(s))):
        raise KMInputError(f"{who}the curve has a missing or infinite time or survival")
    notes: list[str] = []
    scale = 1.0
    if s.max() > FRACTION_MAX:
        scale = 100.0
        if np.count_nonzero((s > 0) & (s <= 1)) > s.size / 2:
            raise KMInputError(
                f"{who}survival mixes fractions (0-1) and percentages (0-100): use one"
            )
        notes.append(f"{who}survival read as a percentage")
    s = s / scale
    unit = "%" if scale == 100 else ""
    if s.max() > 1 + TOLERANCE:
        raise KMInputError(
            f"{who}survival {s.max() * scale:g}{unit} is above {scale:g}{unit}: "
            "survival cannot exceed 100%"
        )
    if s.min() < -TOLERANCE:
        raise KMInputError(f"{who}survival {s.min() * scale:g}{unit} is below 0")
    if t.min() < -TOLERANCE * max(t.max(), 0.0):
        raise KMInputError(f"{who}time {t.min():g} is negative")
    if np.any((s > 1) | (s < 0) | (t < 0)):
        notes.append(f"{who}points just past the axes (digitising noise) read as on them")
    s, t = np.clip(s, 0, 1), np.clip(t, 0, None)
    if np.any(np.diff(t) < 0):
        notes.append(f"{who}points sorted by time")
    at_zero = t == 0
    if np.any(s[at_zero] < 1 - TOLERANCE):
        notes.append(f"{who}the curve starts at survival 1 at time 0 (a point there was lower)")
    t, s = np.r_[0.0, t[~at_zero]], np.r_[1.0, s[~at_zero]]
    order = np.lexsort((-s, t))
    t, s = t[order], s[order]
    fitted = isotonic_regression(s, increasing=False).x
    moved = int(np.count_nonzero(np.abs(fitted - s) > 1e-12))
    if moved:
        notes.append(f"{who}{moved} point(s) moved to make the curve non-increasing")
    # At equal times keep the last (lowest) point: the value after the drop.
    keep = np.r_[t[1:] != t[:-1], True]
    if not keep.all():
        notes.append(f"{who}{int((~keep).sum())} point(s) at an already used time merged")
    return Curve(t[keep], fitted[keep], tuple(notes))


def check_at_risk(time: object, n_risk: object, arm: str = "") -> tuple[np.ndarray, np.ndarray]:
    """The at-risk table of one arm, sorted by time: a row at time 0, whole numbers that never
    increase, at least two rows (Guyot's censoring needs an interval)."""
    t = np.asarray(time, dtype=float).ravel()
    n = np.asarray(n_risk, dtype=float).ravel()
    who = _arm(arm)
    if not (np.all(np.isfinite(t)) and np.all(np.isfinite(n))):
        raise KMInputError(f"{who}the at-risk table has a missing or infinite value")
    order = np.argsort(t, kind="stable")
    t, n = t[order], n[order]
    if t.size == 0 or t[0] != 0:
        raise KMInputError(f"{who}the at-risk table needs a row at time 0")
    if t.size < 2:
        raise KMInputError(f"{who}the at-risk table needs at least two times (0 and later)")
    same = t[1:][np.diff(t) == 0]
    if same.size:
        raise KMInputError(f"{who}the at-risk table has two rows at time {same[0]:g}")
    if np.any(n != np.round(n)) or np.any(n < 0):
        raise KMInputError(f"{who}numbers at risk must be whole numbers, 0 or more")
    if n[0] == 0:
        raise KMInputError(f"{who}no patients at risk at time 0")
    if np.any(np.diff(n) > 0):
        i = int(np.argmax(np.diff(n) > 0)) + 1
        raise KMInputError(
            f"{who}the number at risk rises from {n[i - 1]:g} to {n[i]:g} at time {t[i]:g}"
        )
    return t, n.astype(int)


@dataclass(frozen=True)
class ReconstructedArm:
    """Reconstructed patients of one arm (``time``, ``event`` 1/0) and the curve they were
    read from (``curve``, with a point added at each at-risk time)."""

    time: np.ndarray
    event: np.ndarray
    curve: Curve

    @property
    def n(self) -> int:
        return int(self.time.size)

    @property
    def events(self) -> int:
        return int(self.event.sum())

    def kaplan_meier(self) -> KaplanMeier:
        """Kaplan-Meier estimate of the reconstructed patients."""
        return kaplan_meier(self.time, self.event)


def _hist_counts(x: np.ndarray, breaks: np.ndarray) -> np.ndarray:
    """R's ``hist(x, breaks)$counts``: right-closed bins (b_j, b_j+1], the first one closed,
    with hist's fuzz of 1e-7 x median bin width."""
    fuzz = 1e-7 * float(np.median(np.diff(breaks)))
    fuzzy = breaks + fuzz
    fuzzy[0] = breaks[0] - fuzz
    idx = np.searchsorted(fuzzy, x, side="left") - 1
    return np.bincount(idx, minlength=breaks.size - 1)[: breaks.size - 1]


def _spread(n_censor: int, t: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """Censorings spread evenly over (t_lo, t_hi), counted per point interval lo..hi-1."""
    j = np.arange(1, n_censor + 1)
    cen_t = t[lo] + j * (t[hi] - t[lo]) / (n_censor + 1)
    return _hist_counts(cen_t, t[lo : hi + 1])


def _with_at_risk_points(curve: Curve, t_risk: np.ndarray, arm: str) -> Curve:
    """``curve`` with a point at each at-risk time (the step value there), checking that
    the table does not go past the curve and the curve not far past the table."""
    who = _arm(arm)
    end = curve.time[-1]
    if t_risk[-1] > end:
        raise KMInputError(
            f"{who}the at-risk table goes past the curve (time {t_risk[-1]:g}, the curve "
            f"ends at {end:g}): digitise the curve to its end or drop the later rows"
        )
    gap = float(np.max(np.diff(t_risk)))
    if end > t_risk[-1] + gap:
        raise KMInputError(
            f"{who}the curve goes on to time {end:g}, past the at-risk table (last row at "
            f"{t_risk[-1]:g}): add the later numbers at risk or cut the curve there"
        )
    new = t_risk[~np.isin(t_risk, curve.time)]
    if new.size == 0:
        return curve
    step = curve.survival[np.searchsorted(curve.time, new, side="right") - 1]
    time = np.r_[curve.time, new]
    order = np.argsort(time, kind="stable")
    return Curve(time[order], np.r_[curve.survival, step][order], curve.notes)


def guyot(curve: Curve, t_risk: np.ndarray, n_risk: np.ndarray, arm: str = "") -> ReconstructedArm:
    """Guyot et al. (2012) reconstruction of one arm from a cleaned curve and its at-risk
    table (``check_at_risk``); without a reported total number of events."""
    who = _arm(arm)
    curve = _with_at_risk_points(curve, t_risk, arm)
    t, s = curve.time, curve.survival
    n_t, n_int = t.size, t_risk.size
    lower = np.searchsorted(t, t_risk, side="left")
    upper = np.r_[lower[1:] - 1, n_t - 1]
    risk = [int(v) for v in n_risk]
    n_censor = [0] * n_int
    n_hat = [risk[0] + 1] * (n_t + 1)
    cen = [0] * n_t
    d = [0] * n_t
    km = [1.0] * n_t
    last_i = [0] * n_int

    def events_at(k: int, last: int) -> None:
        """d_k and S_k of the reconstruction at point k, from the one of the last event."""
        if n_hat[k] <= 0 or km[last] == 0:
            d[k], km[k] = 0, km[last]
            return
        d[k] = min(max(round(n_hat[k] * (1 - s[k] / km[last])), 0), n_hat[k])
        km[k] = km[last] * (1 - d[k] / n_hat[k])

    for i in range(n_int - 1):
        lo, nxt = int(lower[i]), int(lower[i + 1])
        if s[lo] == 0:
            raise KMInputError(
                f"{who}the curve reaches 0 at time {t[lo]:g} while patients remain at risk"
            )
        n_censor[i] = round(risk[i] * s[nxt] / s[lo] - risk[i + 1])
        rounds = 0
        last = last_i[i]
        while n_hat[nxt] > risk[i + 1] or (n_hat[nxt] < risk[i + 1] and n_censor[i] > 0):
            rounds += 1
            if rounds > MAX_ADJUST:
                raise KMInputError(
                    f"{who}the numbers at risk at {t_risk[i]:g} and {t_risk[i + 1]:g} cannot be "
                    "matched to the curve between them"
                )
            if n_censor[i] <= 0:
                cen[lo:nxt] = [0] * (nxt - lo)
                n_censor[i] = 0
            else:
                cen[lo:nxt] = [int(c) for c in _spread(n_censor[i], t, lo, nxt)]
            n_hat[lo] = risk[i]
            last = last_i[i]
            for k in range(lo, nxt):
                if i == 0 and k == lo:
                    d[k], km[k] = 0, 1.0
                else:
                    events_at(k, last)
                n_hat[k + 1] = n_hat[k] - d[k] - cen[k]
                if d[k] != 0:
                    last = k
            n_censor[i] += n_hat[nxt] - risk[i + 1]
        risk[i + 1] = min(risk[i + 1], n_hat[nxt])
        last_i[i + 1] = last

    # Last interval: censoring at the average rate of the earlier intervals.
    lo, hi = int(lower[-1]), int(upper[-1])
    span = t[upper[-2]] - t[lower[0]]
    nc = round(sum(n_censor[:-1]) * (t[hi] - t[lo]) / span) if span > 0 else 0
    nc = min(nc, risk[-1])
    cen[lo:hi] = [int(c) for c in _spread(nc, t, lo, hi)] if nc > 0 else [0] * (hi - lo)
    n_hat[lo] = risk[-1]
    last = last_i[-1]
    for k in range(lo, hi + 1):
        events_at(k, last)
        n_hat[k + 1] = n_hat[k] - d[k] - cen[k]
        if n_hat[k + 1] < 0:
            n_hat[k + 1] = 0
            cen[k] = n_hat[k] - d[k]
        if d[k] != 0:
            last = k

    d_arr, c_arr = np.asarray(d), np.asarray(cen[: n_t - 1])
    rest = int(n_risk[0]) - int(d_arr.sum()) - int(c_arr.sum())
    if rest < 0:
        raise KMInputError(f"{who}the curve and the at-risk table do not fit together")
    time = np.concatenate(
        [np.repeat(t, d_arr), np.repeat((t[:-1] + t[1:]) / 2, c_arr), np.full(rest, t[-1])]
    )
    events = int(d_arr.sum())
    event = np.r_[np.ones(events, dtype=int), np.zeros(time.size - events, dtype=int)]
    return ReconstructedArm(time=time, event=event, curve=curve)


@dataclass(frozen=True)
class Reconstruction:
    """Both arms reconstructed and the Cox hazard ratio of ``rt`` vs ``ctl``."""

    arms: Mapping[str, ReconstructedArm]
    cox: CoxResult

    @property
    def notes(self) -> tuple[str, ...]:
        return tuple(n for arm in ARMS for n in self.arms[arm].curve.notes)


def reconstruct(
    curves: Mapping[str, tuple[object, object]], at_risk: Mapping[str, tuple[object, object]]
) -> Reconstruction:
    """Reconstruct arms ``rt`` and ``ctl`` from ``curves[arm] = (time, survival)`` and
    ``at_risk[arm] = (time, n)`` (same time unit), then fit the Cox model (rt vs ctl)."""
    for what, table in (("curve", curves), ("at-risk table", at_risk)):
        missing = [a for a in ARMS if a not in table]
        if missing:
            raise KMInputError(
                f"the {what} has no arm {', '.join(missing)}: both arms rt and ctl are needed"
            )
    arms = {}
    for arm in ARMS:
        t_risk, n_risk = check_at_risk(*at_risk[arm], arm=arm)
        arms[arm] = guyot(clean_curve(*curves[arm], arm=arm), t_risk, n_risk, arm=arm)
    time = np.r_[arms["rt"].time, arms["ctl"].time]
    event = np.r_[arms["rt"].event, arms["ctl"].event]
    x = np.r_[np.ones(arms["rt"].n), np.zeros(arms["ctl"].n)]
    try:
        cox = cox_two_arms(time, event, x)
    except ValueError as exc:
        raise KMInputError(str(exc)) from None
    return Reconstruction(arms=arms, cox=cox)
