"""The statistics and data core of the evidence explorer: plain Python, no streamlit.

``from core import pool`` is the small public surface for pooling; the other analyses live in
``core.sensitivity``, ``core.bias`` and ``core.subgroups`` and take the same inputs.
"""

from core.effects import escalc, events_from_rate, log_hr_from_ci, log_hr_from_p
from core.mh import mantel_haenszel, peto
from core.pooling import METHODS, PoolResult, pool, pool_many, tau2_ci

__all__ = [
    "METHODS",
    "PoolResult",
    "escalc",
    "events_from_rate",
    "log_hr_from_ci",
    "log_hr_from_p",
    "mantel_haenszel",
    "peto",
    "pool",
    "pool_many",
    "tau2_ci",
]
