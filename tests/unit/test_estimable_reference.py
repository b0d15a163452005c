"""core.data.estimable (whole columns at once) gives exactly what the slow row-wise reference
(tests/unit/estimable_reference.py) gives: the same rows, dtypes, estimates, variances,
derivation texts and reasons, in the same order, for every outcome, measure, time point and
rule, on the bundled data, the BCG trials, the edge fixtures and a perturbed larger set."""

from __future__ import annotations

import pytest
from pandas.testing import assert_frame_equal

from core.data.dataset import load_bundled
from core.data.estimable import estimable
from tests.fixtures import edge
from tests.fixtures.big import BCG_DIR, big
from tests.unit import estimable_reference as ref
from ui.upload import handle_upload

YEARS = (None, 0.25, 0.5, 1, 1.5, 2, 2.5, 3, 4, 5, 6, 10)


def datasets() -> dict[str, object]:
    bcg = handle_upload([(n, (BCG_DIR / n).read_bytes()) for n in ("studies.csv", "outcomes.csv")])
    out = {"bundled": load_bundled(), "bcg": bcg.dataset, "big": big(40)[1]}
    out |= {f"edge:{n}": fn()[1] for n, fn in edge.DATASETS.items()}
    return out


@pytest.mark.slow
@pytest.mark.parametrize("outcome", ["OS", "DFS"])
def test_same_as_row_wise_reference(outcome: str) -> None:
    for name, ds in datasets().items():
        combos = [("HR", None, "exact")] + [
            ("OR", t, r) for t in YEARS for r in ("exact", "interp")
        ]
        for measure, years, rule in combos:
            got = estimable(ds, outcome, measure, years, rule)  # type: ignore[arg-type]
            want = ref.estimable(ds, outcome, measure, years, rule)  # type: ignore[arg-type]
            where = (name, outcome, measure, years, rule)
            assert_frame_equal(got.rows, want.rows, check_exact=True, obj=str(where))
            assert got.excluded == want.excluded, where
