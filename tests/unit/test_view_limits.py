"""The views' limits on analyses whose cost grows with k (issue 18): just above each limit the
part declines with its plain message, at the limit it is computed."""

from __future__ import annotations

import numpy as np
import pytest

from core.views import bias, sensitivity
from core.views.messages import too_many


def data(k: int) -> tuple[np.ndarray, np.ndarray]:
    """k cheap log ratios and variances (seeded)."""
    rng = np.random.default_rng(k)
    return rng.normal(-0.3, 0.2, k), rng.uniform(0.02, 0.2, k)


def test_gosh_declines_above_its_limit() -> None:
    k = sensitivity.GOSH_MAX_K
    what, why = sensitivity.gosh_plan(k, "DL")
    assert what is not None and why is None
    what, why = sensitivity.gosh_plan(k + 1, "DL")
    assert what is None and why == too_many("A GOSH plot", k, k + 1)


@pytest.mark.parametrize("extra", [0, 1])
def test_trim_and_fill_and_begg_decline_above_rank_limit(extra: int) -> None:
    k = bias.RANK_MAX_K + extra
    y, v = data(k)
    tf = bias.run_trim_and_fill(y, v, "REML")
    tests = bias.asymmetry_tests(y, v, "REML", tf)
    if extra:
        assert tf == too_many("Trim and fill", bias.RANK_MAX_K, k)
        assert tests.begg == too_many("Begg's test", bias.RANK_MAX_K, k)
        assert not isinstance(tests.egger_lm, str)  # the rest is still computed
    else:
        assert not isinstance(tf, str) and not isinstance(tests.begg, str)


@pytest.mark.parametrize("extra", [0, 1])
def test_egger_declines_above_fit_limit(extra: int) -> None:
    k = bias.FIT_MAX_K + extra
    y, v = data(k)
    tests = bias.asymmetry_tests(y, v, "DL", "not run")
    if extra:
        assert tests.egger_lm == too_many("Egger's classical test", bias.FIT_MAX_K, k)
        assert tests.egger_rma == too_many("Egger's mixed test", bias.FIT_MAX_K, k)
    else:
        assert not isinstance(tests.egger_lm, str) and not isinstance(tests.egger_rma, str)


@pytest.mark.parametrize("extra", [0, 1])
def test_leave_one_out_and_influence_decline_above_refit_limit(extra: int) -> None:
    import pandas as pd

    from core.state.view import ViewState

    k = sensitivity.REFIT_MAX_K + extra
    y, v = data(k)
    ids = [f"s{i}" for i in range(k)]
    inc = pd.DataFrame({"study_id": ids, "label": ids, "yi": y, "vi": v})
    state = ViewState(method="DL")
    loo = sensitivity._loo_panel(inc, state)
    inf = sensitivity._influence_panel(inc, state)
    if extra:
        assert loo.frame is None and loo.message == too_many(
            "Leave-one-out", sensitivity.REFIT_MAX_K, k
        )
        assert inf.frame is None and inf.message == too_many(
            "Influence diagnostics", sensitivity.REFIT_MAX_K, k
        )
    else:
        assert loo.frame is not None and len(loo.frame) == k + 1 and loo.message is None
        assert inf.frame is not None and len(inf.frame) == k
