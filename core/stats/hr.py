"""Hazard ratio (RT vs control) from the summary statistics a trial report prints.

Tierney JF, Stewart LA, Ghersi D, Burdett S, Sydes MR. Practical methods for incorporating
summary time-to-event data into meta-analysis. Trials 2007;8:16; after Parmar MKB, Torri V,
Stewart L. Stat Med 1998;17:2815-34. On the log scale, with V the variance of the log-rank
statistic O - E (observed minus expected events in the RT arm):

- ``ci``: HR and its CI: SE = (ln hi - ln lo) / (2 z_{1-a/2})        (``log_hr_from_ci``)
- ``p``: HR and a two-sided p: SE = |ln HR| / z_{1-p/2}              (``log_hr_from_p``)
- ``o_minus_e``: O - E and V: ln HR = (O - E) / V, SE = 1 / sqrt(V)
- ``logrank_events``: a two-sided log-rank p with events per arm:
  V = O_rt O_ctl / (O_rt + O_ctl), O - E = -/+ z_{1-p/2} sqrt(V), then as ``o_minus_e``
- ``logrank_total``: a two-sided log-rank p with the total events O and patients randomised
  per arm R: V = O R_rt R_ctl / (R_rt + R_ctl)^2 (O / 4 for 1:1), then as above.

A p-value carries no direction: ``favours`` ("rt": HR < 1, or "ctl") gives it. The p-value
methods assume that the reported p is a two-sided log-rank (or Cox) p, not one rounded to a
threshold ("p < 0.05" cannot be used).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from scipy import stats

from core.stats.effects import LogRatio, exp_ratio, log_hr_from_ci, log_hr_from_p, z_two_sided

Favours = Literal["rt", "ctl"]

METHODS = {
    "o_minus_e": "O - E and V of the log-rank test",
    "ci": "the reported HR and its confidence interval",
    "p": "the reported HR and its two-sided p-value",
    "logrank_events": "the two-sided log-rank p-value and the events in each arm",
    "logrank_total": "the two-sided log-rank p-value, the total events and the arm sizes",
}
TIERNEY = "Tierney et al. 2007, Trials 8:16"


@dataclass(frozen=True)
class HazardRatio(LogRatio):
    """ln HR (RT vs control) as ``yi`` with its SE; ``method`` (a key of ``METHODS``) and
    ``derivation`` say how it was obtained."""

    method: str

    @property
    def hr(self) -> float:
        return exp_ratio(self.yi)

    def ci(self, level: float = 0.95) -> tuple[float, float]:
        """Wald CI of the HR: exp(ln HR -/+ z SE)."""
        z = z_two_sided(level)
        return exp_ratio(self.yi - z * self.se), exp_ratio(self.yi + z * self.se)

    @property
    def statement(self) -> str:
        """One line for the user: the method in words and its source."""
        return f"HR from {METHODS[self.method]} ({TIERNEY}): {self.derivation}"


def _from_log_ratio(r: LogRatio, method: str) -> HazardRatio:
    return HazardRatio(yi=r.yi, se=r.se, derivation=r.derivation, method=method)


def hr_from_ci(hr: float, ci_low: float, ci_high: float, level: float = 0.95) -> HazardRatio:
    """The reported HR with its CI (``log_hr_from_ci``)."""
    return _from_log_ratio(log_hr_from_ci(hr, ci_low, ci_high, level), "ci")


def hr_from_p(hr: float, p: float) -> HazardRatio:
    """The reported HR with its two-sided p-value (``log_hr_from_p``)."""
    return _from_log_ratio(log_hr_from_p(hr, p), "p")


def hr_from_o_minus_e(o_minus_e: float, v: float, method: str = "o_minus_e") -> HazardRatio:
    """Peto's one-step estimate: ln HR = (O - E) / V, SE = 1 / sqrt(V)."""
    if not (math.isfinite(o_minus_e) and math.isfinite(v)) or v <= 0:
        raise ValueError(f"need a finite O - E and V > 0, got O - E = {o_minus_e}, V = {v}")
    return HazardRatio(
        yi=o_minus_e / v,
        se=1 / math.sqrt(v),
        derivation=f"ln HR = (O - E) / V = {o_minus_e:g} / {v:g}, SE = 1 / sqrt(V)",
        method=method,
    )


def _o_minus_e(p: float, favours: Favours, v: float) -> float:
    """O - E = -/+ z_{1-p/2} sqrt(V): negative when RT is favoured."""
    if not 0 < p < 1:
        raise ValueError(f"p must lie strictly between 0 and 1, got {p}")
    if favours not in ("rt", "ctl"):
        raise ValueError(f"favours must be 'rt' or 'ctl', not {favours!r}")
    z = float(stats.norm.isf(p / 2))
    return (-z if favours == "rt" else z) * math.sqrt(v)


def hr_from_logrank(p: float, favours: Favours, events_rt: int, events_ctl: int) -> HazardRatio:
    """Two-sided log-rank p with events per arm: V = O_rt O_ctl / (O_rt + O_ctl)."""
    if events_rt <= 0 or events_ctl <= 0:
        raise ValueError("need at least one event in each arm")
    v = events_rt * events_ctl / (events_rt + events_ctl)
    res = hr_from_o_minus_e(_o_minus_e(p, favours, v), v, "logrank_events")
    how = f"V = {events_rt} x {events_ctl} / {events_rt + events_ctl}, O - E from p = {p:g}"
    return HazardRatio(res.yi, res.se, f"{how}; {res.derivation}", res.method)


def hr_from_logrank_total(
    p: float, favours: Favours, events: int, n_rt: int, n_ctl: int
) -> HazardRatio:
    """Two-sided log-rank p with the total events O and the patients randomised per arm:
    V = O n_rt n_ctl / (n_rt + n_ctl)^2."""
    if events <= 0 or n_rt <= 0 or n_ctl <= 0:
        raise ValueError("need events > 0 and patients in both arms")
    v = events * n_rt * n_ctl / (n_rt + n_ctl) ** 2
    res = hr_from_o_minus_e(_o_minus_e(p, favours, v), v, "logrank_total")
    how = f"V = {events} x {n_rt} x {n_ctl} / {n_rt + n_ctl}^2, O - E from p = {p:g}"
    return HazardRatio(res.yi, res.se, f"{how}; {res.derivation}", res.method)


def hr_from_summary(
    *,
    hr: float | None = None,
    ci_low: float | None = None,
    ci_high: float | None = None,
    p: float | None = None,
    favours: Favours | None = None,
    events_rt: int | None = None,
    events_ctl: int | None = None,
    events: int | None = None,
    n_rt: int | None = None,
    n_ctl: int | None = None,
    o_minus_e: float | None = None,
    v: float | None = None,
) -> HazardRatio:
    """The HR from whatever a report gives, by the first method that applies, in Tierney's
    order of preference: O - E and V; HR with CI; HR with p; log-rank p with events per arm;
    log-rank p with total events and arm sizes. ValueError says what is missing."""
    if o_minus_e is not None and v is not None:
        return hr_from_o_minus_e(o_minus_e, v)
    if hr is not None and ci_low is not None and ci_high is not None:
        return hr_from_ci(hr, ci_low, ci_high)
    if hr is not None and p is not None:
        return hr_from_p(hr, p)
    if p is not None and favours is not None:
        if events_rt is not None and events_ctl is not None:
            return hr_from_logrank(p, favours, events_rt, events_ctl)
        if events is not None and n_rt is not None and n_ctl is not None:
            return hr_from_logrank_total(p, favours, events, n_rt, n_ctl)
    raise ValueError(
        "not enough for a hazard ratio: give O - E and V, the HR with its CI or p, or a "
        "log-rank p with the favoured arm and the events per arm (or the total events and "
        "the arm sizes)"
    )
