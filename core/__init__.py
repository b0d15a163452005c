"""The statistics and data core of the evidence explorer: plain Python, no streamlit.

``from core import pool`` is the small public surface for pooling; the other analyses live in
``core.stats.sensitivity``, ``core.stats.bias`` and ``core.stats.subgroups`` and take the same
inputs. The folders: ``stats`` (arrays in, results out), ``data`` (schema, loading, estimability,
table export), ``state`` (ViewState and its link), ``views`` (state + data -> result frames),
``charts`` (Altair), ``report`` (HTML/PDF, narrative, summary of findings, R script, figures),
``cli`` (``python -m core``).
"""

from core.stats.effects import escalc, events_from_rate, log_hr_from_ci, log_hr_from_p
from core.stats.mh import mantel_haenszel, peto
from core.stats.pooling import METHODS, PoolResult, pool, pool_many, tau2_ci

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
