"""Which bundled studies are estimable for each outcome and measure, and why the others not."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from core.data.dataset import load_bundled
from core.data.estimable import estimable
from core.data.readers import validate_files


@pytest.fixture(scope="module")
def ds():
    return load_bundled()


def ids(es) -> list[str]:
    return list(es.rows.study_id)


def reasons(es) -> dict[str, str]:
    return dict(es.excluded)


def test_os_or_2y_exact(ds):
    es = estimable(ds, "OS", "OR", years=2, rule="exact")
    assert ids(es) == ["Wei2019"]
    row = es.rows.iloc[0]
    # 27.4% vs 9.4% alive at 2 years of 82 each: deaths 60 vs 74; OR of death well below 1
    assert (row.events_rt, row.n_rt, row.events_ctl, row.n_ctl) == (60, 82, 74, 82)
    assert row.yi == pytest.approx(math.log((60 * 8) / (22 * 74)))
    assert math.exp(row.yi) < 0.5
    assert row.derived and "2-year OS rate: RT 27.4% x n 82 = 60" in row.derivation
    r = reasons(es)
    assert r["Yu2014"] == "no 2-year OS reported (reported at 1, 3, 5 years)"
    assert r["Long2024"] == "lead only: no numbers"
    assert r["PMID35643251"] == "no 2-year OS reported (only an HR)"
    assert len(es.rows) + len(es.excluded) == len(ds.studies)


def test_os_or_2y_interp(ds):
    es = estimable(ds, "OS", "OR", years=2, rule="interp")
    assert ids(es) == ["Wei2019", "Yu2014", "Shi2022"]
    yu = es.rows.set_index("study_id").loc["Yu2014"]
    s_rt = math.exp(0.5 * math.log(96.2) + 0.5 * math.log(72.6))
    assert f"RT {s_rt:.4g}%" in yu.derivation
    assert "interpolated between 1 and 3 years" in yu.derivation
    assert yu.events_rt == round(58 * (1 - s_rt / 100))
    assert "never extrapolated" in reasons(es)["WangWH2015"]


def test_dfs_or_1y(ds):
    for rule in ("exact", "interp"):
        es = estimable(ds, "DFS", "OR", years=1, rule=rule)
        assert ids(es) == ["Wei2019", "Yu2014", "Shi2022"]
        r = reasons(es)
        assert r["WangL2020"].startswith("arm sizes not reported")
        assert r["Kuang2024_RAISE"].startswith("no 1-year DFS reported (reported at 2 years)")


def test_dfs_or_2y_includes_raise(ds):
    es = estimable(ds, "DFS", "OR", years=2)
    assert ids(es) == ["Wei2019", "Kuang2024_RAISE", "I131Lipiodol2014"]


def test_interp_refuses_zero_rate(ds):
    es = estimable(ds, "DFS", "OR", years=3, rule="interp")
    assert "across a 0% rate" in reasons(es)["I131Lipiodol2014"]
    assert ids(es) == ["Yu2014", "Shi2022", "WangWH2015"]


def test_interp_between_equal_rates_is_that_rate():
    """100% at 1.5 and at 3 years is 100% at 2 years (no events), not 100.00000000000004%
    (exp(ln 100) in floats), which made events_from_rate raise ValueError."""
    from tests.fixtures import edge

    ds = edge.load(
        [edge.study("A", 50, 7)],
        [edge.rate("A", 30, 100, t=1.5), edge.rate("A", 30, 100, t=3)],
    )[1]
    a = estimable(ds, "OS", "OR", years=2, rule="interp").rows.iloc[0]
    assert (a.events_rt, a.n_rt, a.events_ctl, a.n_ctl) == (35, 50, 0, 7)  # 30% of 50 alive
    assert a.interpolated


@pytest.mark.parametrize(
    ("outcome", "expected", "no_ci"),
    [
        ("OS", ["Wei2019", "Chung2013"], ["PMID35643251"]),
        ("DFS", ["Wei2019", "Chung2013"], ["PMID35643251", "Tao2024"]),
    ],
)
def test_hr(ds, outcome, expected, no_ci):
    for rule in ("exact", "interp"):
        es = estimable(ds, outcome, "HR", rule=rule)
        assert ids(es) == expected
        r = reasons(es)
        for sid in no_ci:
            assert r[sid] == "HR without CI or p-value"
        assert "Bai2016" in r
    wei = estimable(ds, "OS", "HR").rows.iloc[0]
    if outcome == "OS":
        assert wei.yi == pytest.approx(math.log(0.35))
        assert wei.vi == pytest.approx(((math.log(0.54) - math.log(0.23)) / (2 * 1.959964)) ** 2)
        assert wei.endpoint_as_reported == "HCC-related mortality"


def test_hr_from_p_value():
    studies = b"study_id,n_rt,n_ctl\nA,10,10\n"
    outcomes = b"study_id,outcome,kind,hr,hr_p\nA,OS,hr,0.5,0.01\n"
    r = validate_files({"studies.csv": studies, "outcomes.csv": outcomes})
    es = estimable(r, "OS", "HR")
    assert es.k == 1 and "two-sided p = 0.01" in es.rows.derivation.iloc[0]


def test_result_is_frozen_and_typed(ds):
    es = estimable(ds, "OS", "OR", years=2)
    with pytest.raises(AttributeError):
        es.k = 3  # type: ignore[misc]
    assert es.rows.yi.dtype == "float64"
    assert isinstance(es.rows, pd.DataFrame)


def test_bad_arguments(ds):
    with pytest.raises(ValueError):
        estimable(ds, "PFS", "OR", years=2)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        estimable(ds, "OS", "SMD", years=2)  # type: ignore[arg-type]


@pytest.mark.parametrize("measure", ["RR", "RD"])
def test_rr_rd_from_the_same_tables_as_the_or(ds, measure):
    """RR and RD use the OR's 2x2 tables (same studies, same events) and escalc's formulas."""
    odds = estimable(ds, "OS", "OR", years=2, rule="interp")
    other = estimable(ds, "OS", measure, years=2, rule="interp")
    cols = ["study_id", "events_rt", "n_rt", "events_ctl", "n_ctl"]
    pd.testing.assert_frame_equal(odds.rows[cols], other.rows[cols])
    a, n1, c, n2 = (other.rows[x].to_numpy(dtype=float) for x in cols[1:])
    p1, p2 = a / n1, c / n2
    if measure == "RR":
        np.testing.assert_allclose(other.yi, np.log(p1 / p2), rtol=1e-12)
        np.testing.assert_allclose(other.vi, 1 / a - 1 / n1 + 1 / c - 1 / n2, rtol=1e-12)
    else:
        np.testing.assert_allclose(other.yi, p1 - p2, rtol=1e-12)
        np.testing.assert_allclose(other.vi, p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2, rtol=1e-12)
