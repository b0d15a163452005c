"""Heterogeneity as metafor reports it: Cochran's Q = sum w (y - mu)^2 about the weighted
mean mu = sum w y / sum w; I2 = 100 tau2 / (tau2 + s2) and H2 = tau2 / s2 + 1 (metafor's
form: 1, not nan, where s2 is inf), with the
typical within-study variance s2 = (k-1) sum w / ((sum w)^2 - sum w^2), w = 1/vi (Higgins &
Thompson 2002, eq. 9).
"""

from __future__ import annotations

import numpy as np


def typical_variance(v: np.ndarray) -> np.float64:
    """s2 = (k-1) sum w / ((sum w)^2 - sum w^2), w = 1/vi; inf when one weight dwarfs the
    others so far that the denominator cancels to 0."""
    w = 1.0 / v
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return np.float64((v.size - 1) * w.sum()) / (w.sum() ** 2 - (w * w).sum())


def i2_h2(tau2: float, s2: float) -> tuple[float, float]:
    """I2 (percent) and H2 of a fit with between-study variance ``tau2`` and typical
    within-study variance ``s2``."""
    t, s = np.float64(tau2), np.float64(s2)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return float(100.0 * t / (t + s)), float(t / s + 1.0)


def i2_common(q: float, df: float) -> float:
    """I2 (percent) of the common-effect model, 100 max(0, Q - df) / Q; 0 where Q is 0."""
    return max(0.0, 100.0 * (q - df) / q) if q > 0 else 0.0


def cochran_q(y: np.ndarray, w: np.ndarray) -> float:
    """Cochran's Q of estimates ``y`` with weights ``w``: sum w (y - mu)^2, mu = sum w y / sum w."""
    mu = float((w * y).sum() / w.sum())
    return float((w * (y - mu) ** 2).sum())
