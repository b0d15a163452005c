"""The bundled dataset against the evidence files, published.json, and the bcg user dataset."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.data.dataset import load_bundled, load_files, published
from core.data.estimable import estimable
from core.data.export import export_csv, export_parquet
from core.data.readers import validate_files
from core.data.schema import QUALITY_ITEMS

ROOT = Path(__file__).resolve().parents[2]
EVIDENCE = ROOT.parent / "shared" / "evidence" / "studies_abstract_level.csv"
BCG_JSON = ROOT / "tests" / "conformance" / "reference" / "bcg.json"
BCG_DIR = ROOT / "tests" / "fixtures" / "bcg"

IDS = [
    "Wei2019",
    "Yu2014",
    "Shi2022",
    "WangL2023",
    "PMID35643251",
    "Kuang2024_RAISE",
    "WangWH2015",
    "Tao2024",
    "Long2024",
    "WangL_IOERT",
    "WangL2017",
    "WangL2019",
    "WangL2020",
    "Bai2016",
    "Lau1999",
    "Chung2013",
    "I131Lipiodol2014",
    "I131Lipiodol_IJCO",
]


@pytest.fixture(scope="module")
def ds():
    return load_bundled()


@pytest.fixture(scope="module")
def evidence() -> dict[str, dict[str, str]]:
    if not EVIDENCE.exists():
        pytest.skip(f"evidence file not found at {EVIDENCE}")
    with EVIDENCE.open(encoding="utf-8") as f:
        return {r["study_id"]: r for r in csv.DictReader(f)}


def _rate(ds, sid: str, outcome: str, t: float) -> tuple[float, float] | None:
    o = ds.outcomes
    hit = o[(o.study_id == sid) & (o.outcome == outcome) & (o.kind == "rate")]
    hit = hit[hit.time_years == t]
    return None if hit.empty else (float(hit.rate_rt.iloc[0]), float(hit.rate_ctl.iloc[0]))


def test_bundled_is_clean_and_complete(ds):
    assert ds.report.clean, ds.report.text()
    assert list(ds.studies.study_id) == IDS
    assert ds.studies.n_rt.dtype == "Int64"
    assert ds.outcomes.rate_rt.dtype == "Float64"
    assert ds.studies.study_id.dtype == "string"


def test_wei2019_values(ds):
    s = ds.studies.set_index("study_id").loc["Wei2019"]
    assert (s.n_rt, s.n_ctl) == (82, 82)
    assert _rate(ds, "Wei2019", "OS", 2) == (27.4, 9.4)
    assert _rate(ds, "Wei2019", "OS", 0.5) == (89.0, 81.7)
    assert _rate(ds, "Wei2019", "DFS", 1.5) == (20.3, 5.0)
    o = ds.outcomes
    hr = o[(o.study_id == "Wei2019") & (o.outcome == "OS") & (o.kind == "hr")].iloc[0]
    assert (hr.hr, hr.hr_low, hr.hr_high) == (0.35, 0.23, 0.54)
    assert hr.endpoint_as_reported == "HCC-related mortality"


def test_other_studies(ds):
    assert _rate(ds, "Kuang2024_RAISE", "DFS", 2) == (78.37, 57.43)
    assert _rate(ds, "Yu2014", "OS", 2) is None
    assert _rate(ds, "Yu2014", "OS", 3) == (72.6, 74.5)
    o = ds.outcomes
    assert o[o.study_id == "Bai2016"].empty  # 3-level HRs are not RT vs control
    tao = o[(o.study_id == "Tao2024") & (o.kind == "hr")].iloc[0]
    assert tao.hr == 0.60 and pd.isna(tao.hr_low) and pd.isna(tao.hr_p)
    rfs = o[(o.study_id == "Yu2014") & (o.outcome == "DFS")].endpoint_as_reported
    assert set(rfs) == {"RFS"}


def test_every_outcome_number_matches_evidence(ds, evidence):
    checked = 0
    for r in ds.outcomes.itertuples():
        ev = evidence[r.study_id]
        pre = r.outcome.lower()
        if r.kind == "rate":
            t = float(r.time_years)
            if t not in (1, 2, 3, 5):  # 6- and 18-month rates come from the notes text
                assert f"{r.rate_rt:.1f} vs {r.rate_ctl:.1f}" in ev["notes"]
                continue
            assert float(ev[f"{pre}_{int(t)}y_rt"]) == r.rate_rt
            assert float(ev[f"{pre}_{int(t)}y_ctl"]) == r.rate_ctl
        else:
            assert r.kind == "hr"
            for col, evcol in (("hr", ""), ("hr_low", "_lo"), ("hr_high", "_hi")):
                cell = ev[f"hr_{pre}{evcol}"]
                value = getattr(r, col)
                assert (float(cell) == value) if cell else pd.isna(value)
        checked += 1
    # and every rate/HR cell of the evidence file is in outcomes
    n_ev = sum(
        bool(ev[c])
        for ev in evidence.values()
        for c in ev
        if c.startswith(("os_", "dfs_")) and c.endswith("_rt")
    ) + sum(bool(ev[c]) for ev in evidence.values() for c in ("hr_os", "hr_dfs"))
    assert checked == n_ev


def test_studies_match_evidence(ds, evidence):
    for s in ds.studies.itertuples():
        ev = evidence[s.study_id]
        for col, evcol in (("n_rt", "n_rt"), ("n_ctl", "n_control"), ("year", "year")):
            value = getattr(s, col)
            assert (int(ev[evcol]) == value) if ev[evcol] else pd.isna(value)
        assert s.design == ev["design"] and s.indication == ev["indication"]
        assert s.in_rim2024 == ev["in_rim2024"]
        fu = ev["median_fu_months"]
        assert (float(fu) == s.median_fu_months) if fu else pd.isna(s.median_fu_months)


def test_quality_score_is_sum_of_known_items(ds):
    for s in ds.studies.to_dict("records"):
        known = [s[q] for q in QUALITY_ITEMS if not pd.isna(s[q])]
        unknown = [q for q in QUALITY_ITEMS if pd.isna(s[q])]
        assert s["quality_score"] == sum(known)
        assert (s["quality_unknown"] if not pd.isna(s["quality_unknown"]) else "") == ";".join(
            unknown
        )
    internal = set(ds.studies[ds.studies.rt_type == "internal"].study_id)
    assert internal == {"Lau1999", "Chung2013", "I131Lipiodol2014", "I131Lipiodol_IJCO"}


def test_published():
    p = published()
    assert p["k"] == 7 and p["patients"] == 815 and p["doi"] == "10.1097/JS9.0000000000000914"
    os2 = next(r for r in p["results"] if r["outcome"] == "OS")
    assert (os2["estimate"], os2["ci_low"], os2["ci_high"], os2["time_years"]) == (
        0.371,
        0.293,
        0.576,
        2,
    )
    assert "0.411" in os2["note"]


def test_export_roundtrip(ds):
    again = validate_files(
        {"studies.csv": export_csv(ds.studies), "outcomes.parquet": export_parquet(ds.outcomes)}
    )
    assert again.clean, again.text()
    pd.testing.assert_frame_equal(again.studies, ds.studies)
    pd.testing.assert_frame_equal(again.outcomes, ds.outcomes)


def _bcg_dataset():
    files = {p.name: p.read_bytes() for p in BCG_DIR.glob("*.csv")}
    dataset, report = load_files(files)
    assert dataset is not None and report.clean, report.text()
    return dataset


def test_bcg_effect_sizes_match_metafor():
    if not BCG_JSON.exists():
        pytest.skip(f"metafor reference not found at {BCG_JSON}")
    ref = json.loads(BCG_JSON.read_text())
    es = estimable(_bcg_dataset(), "DFS", "OR")
    assert es.k == 13 and not es.excluded
    np.testing.assert_allclose(es.yi, ref["expected"]["OR"]["yi"], rtol=0, atol=1e-10)
    np.testing.assert_allclose(es.vi, ref["expected"]["OR"]["vi"], rtol=0, atol=1e-10)
    assert list(es.rows.events_rt) == ref["data"]["events_treat"]


def test_bcg_pools_to_metafor_reml():
    if not BCG_JSON.exists():
        pytest.skip(f"metafor reference not found at {BCG_JSON}")
    pooling = pytest.importorskip("core.stats.pooling")
    ref = json.loads(BCG_JSON.read_text())["expected"]["OR"]["pooled"]["REML"]
    es = estimable(_bcg_dataset(), "DFS", "OR")
    res = pooling.pool(es.yi, es.vi, method="REML")
    assert res.estimate == pytest.approx(ref["estimate"], abs=1e-6)
    assert res.tau2 == pytest.approx(ref["tau2"], abs=1e-6)


def test_parquet_export_guards_text_and_keeps_numbers():
    frame = pd.DataFrame(
        {
            "study_id": pd.array(["=cmd|' /C calc'!A0", "Wei2019"], dtype="string"),
            "n_rt": pd.array([82, 58], dtype="Int64"),
        }
    )
    back = pd.read_parquet(io.BytesIO(export_parquet(frame)))
    assert back["study_id"].tolist() == ["'=cmd|' /C calc'!A0", "Wei2019"]
    assert back["n_rt"].tolist() == [82, 58]
