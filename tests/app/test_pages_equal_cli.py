"""AppTest: what the Sensitivity and Small-study effects pages show equals the JSON of
``python -m core sensitivity`` and ``bias`` for the same link: the default link, a
non-default one, and the BCG trials uploaded on the page against ``--data`` on the files.

Chart rows are compared as numbers (they are the same floats: to 1e-12 relative), tables
and metrics as the text the page prints from the command's numbers.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import numpy as np
import pandas as pd
import pytest
from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df
from streamlit.testing.v1 import AppTest

from core.data.dataset import load_files
from tests.app.conftest import APP, PAGES, metric_values, open_app, open_panels
from tests.cli_json import cli_json
from ui import blocks, upload

BCG = Path(__file__).resolve().parents[1] / "fixtures" / "bcg"
ALL = (
    "scope=all&design=RCT,PSM,retrospective,prospective-nonrandomized"
    "&indication=PVTT,narrow_margin,MVI,other&rt=external,internal"
)
BCG_ALL = "outcome=DFS&indication=other&" + ALL.replace("&rt=external,internal", "")
SENSITIVITY = {
    "default": ("", None),
    "k5_dl_hksj_quality": (
        ALL + "&tpoint=interp&outcome=DFS&t_dfs=2&method=DL&ci=hksj&order=quality",
        None,
    ),
    "bcg_upload": (BCG_ALL + "&method=PM", BCG),
}
BIAS = {
    "default": ("", None),
    "k5_tf_year": (ALL + "&tpoint=interp&outcome=DFS&t_dfs=2&tf=1&mod=year", None),
    "bcg_upload": (BCG_ALL + "&tf=1&mod=year&ci=hksj", BCG),
}
RTOL = 1e-12


def open_page(link: str, data: Path | None, page: str) -> AppTest:
    """The page on ``link``; with ``data``, its files uploaded as a user would have."""
    if data is None:
        return open_app(link, page)
    files = [(p.name, p.read_bytes()) for p in sorted(data.glob("*.csv"))]
    dataset, report = load_files(dict(files))
    assert dataset is not None, report.text()
    at = open_panels(AppTest.from_file(APP, default_timeout=60))
    at.session_state["upload"] = (upload.dataset_key(files), dataset)
    for key, values in parse_qs(link).items():
        at.query_params[key] = values if len(values) > 1 else values[0]
    at.run()
    at.switch_page(PAGES[page])
    at.run()
    return at


def page_and_cli(page: str, link: str, data: Path | None) -> tuple[AppTest, dict[str, Any]]:
    """The page (no exception) and the JSON of the command of the same name, for ``link``."""
    at = open_page(link, data, page)
    assert not at.exception, [e.value for e in at.exception]
    return at, cli_json(page, link, data)


def datasets_with(at: AppTest, column: str) -> list[pd.DataFrame]:
    """The chart datasets on the page that have ``column``."""
    return [
        frame
        for chart in at.get("vega_lite_chart")
        for d in chart.proto.datasets
        if column in (frame := convert_arrow_bytes_to_pandas_df(d.data.data)).columns
    ]


def chart_data(at: AppTest, column: str) -> pd.DataFrame:
    """The one chart dataset on the page that has ``column``."""
    found = datasets_with(at, column)
    assert len(found) == 1, f"{len(found)} chart datasets have {column!r}"
    return found[0]


def same_numbers(shown: pd.DataFrame, rows: list[dict[str, Any]], columns: list[str]) -> None:
    """``shown`` (chart rows) has the command's ``rows``, column by column."""
    assert len(shown) == len(rows)
    for c in columns:
        want = np.array([np.nan if r[c] is None else r[c] for r in rows], dtype=float)
        np.testing.assert_allclose(shown[c].to_numpy(float), want, rtol=RTOL, err_msg=c)


def ratio_ci(est: float, low: float | None, high: float | None) -> str:
    """The page's 'ratio (low–high)' text of log-scale values."""
    if low is None or high is None:
        return f"{blocks.fmt_ratio(math.exp(est))} (CI not estimable)"
    return f"{blocks.fmt_ratio(math.exp(est))} ({blocks.fmt_ci(math.exp(low), math.exp(high))})"


def num(x: float | None, digits: int = 3) -> str:
    return "–" if x is None else f"{x:.{digits}f}"


# ---------------------------------------------------------------------------------------
# Sensitivity


@pytest.fixture(scope="module", params=list(SENSITIVITY))
def sensitivity(request: pytest.FixtureRequest) -> tuple[AppTest, dict[str, Any]]:
    return page_and_cli("sensitivity", *SENSITIVITY[request.param])


def test_sensitivity_head_and_messages(sensitivity) -> None:
    at, js = sensitivity
    p = js["pooled"]
    head = at.markdown[0].value
    assert f"{ratio_ci(p['estimate'], p['ci_low'], p['ci_high'])}**, k = {p['k']}," in head
    said = [m for m in (js[part]["message"] for part in ("leave_one_out", "cumulative",
            "influence", "estimators", "quality_sweep", "gosh")) if m]  # fmt: skip
    assert [i.value for i in at.info] == said
    if js["k"] == 1:
        assert len(said) == 6 and not at.get("vega_lite_chart")
    if js["gosh"]["subsets"]:
        assert any(f"for {js['gosh']['subsets']} of the" in c.value for c in at.caption)


def test_sensitivity_leave_one_out_equals_cli(sensitivity) -> None:
    at, js = sensitivity
    rows = js["leave_one_out"]["rows"]
    if rows is None:
        return
    numbers = ["k", "estimate", "ci_low", "ci_high", "pvalue", "tau2", "i2", "ratio"]
    shown = chart_data(at, "change_pct")
    same_numbers(shown, rows, [*numbers, "ratio_low", "ratio_high", "change_pct"])
    assert list(shown["reason"]) == [r["reason"] for r in rows]
    table = at.dataframe[0].value
    assert list(table["Omitted"]) == [r["study_id"] or "none (all studies)" for r in rows]
    assert list(table["k"]) == [r["k"] for r in rows]
    ci = [c for c in table.columns if c.endswith("(95% CI)")]
    want = [ratio_ci(r["estimate"], r["ci_low"], r["ci_high"]) for r in rows]
    assert list(table[ci[0]]) == want
    assert list(table["Change"]) == [f"{r['change_pct']:+.1f}%" for r in rows]
    assert list(table["Conclusion changes"]) == [f"⚑ {r['reason']}" if r["reason"] else ""
                                                 for r in rows]  # fmt: skip


def test_sensitivity_cumulative_and_influence_equal_cli(sensitivity) -> None:
    at, js = sensitivity
    cum = js["cumulative"]["rows"]
    if cum is not None:
        shown = chart_data(at, "step")
        same_numbers(shown, cum, ["step", "k", "estimate", "ci_low", "ci_high", "ratio"])
        # the chart adds the ordering value: "+ Study (year 2019)"
        labels = [re.sub(r" \((year|score) [^)]*\)$", "", s) for s in shown["label"]]
        assert labels == [r["label"] for r in cum]
    inf = js["influence"]["rows"]
    if inf is None:
        return
    same_numbers(chart_data(at, "flag"), inf, ["x", "y"])
    table = at.dataframe[1].value
    assert list(table["Study"]) == [r["label"] for r in inf]
    for col, key, digits in (
        ("rstudent", "rstudent", 3), ("dffits", "dffits", 3), ("cook.d", "cook_d", 3),
        ("cov.r", "cov_r", 3), ("tau2.del", "tau2_del", 4), ("QE.del", "qe_del", 3),
        ("hat", "hat", 3), ("weight (%)", "weight", 1),
    ):  # fmt: skip
        assert list(table[col]) == [num(r[key], digits) for r in inf], col
    assert list(table["Influential"]) == ["⚑ yes" if r["influential"] else "" for r in inf]


def test_sensitivity_models_and_quality_sweep_equal_cli(sensitivity) -> None:
    at, js = sensitivity
    est = js["estimators"]
    if est["rows"] is not None:
        shown = chart_data(at, "tau2_text")
        same_numbers(shown, est["rows"], ["estimate", "ci_low", "ci_high", "tau2", "ratio"])
        assert list(shown["model"]) == [r["model"] for r in est["rows"]]
        assert any(f"Here {est['verdict']}." in c.value for c in at.caption)
    sweep = js["quality_sweep"]["rows"]
    if sweep is None:
        return
    shown = chart_data(at, "qmin")
    same_numbers(shown, sweep, ["qmin", "k", "estimate", "ci_low", "ci_high", "ratio"])
    assert list(shown["studies"]) == [r["studies"] for r in sweep]


# ---------------------------------------------------------------------------------------
# Small-study effects


@pytest.fixture(scope="module", params=list(BIAS))
def bias(request: pytest.FixtureRequest) -> tuple[AppTest, dict[str, Any]]:
    return page_and_cli("bias", *BIAS[request.param])


def texts(at: AppTest) -> list[str]:
    return [x.value for x in (*at.info, *at.warning, *at.caption)]


def test_bias_funnel_and_tests_equal_cli(bias) -> None:
    at, js = bias
    said = texts(at)
    # the title as the page writes it: Markdown-escaped (blocks.text), so it shows as text
    assert f"{blocks.text(js['title'])} · k = {js['k']} · " in " ".join(said)
    for message in (js["funnel"]["message"], js["tests_message"], js["low_power"], js["tf_note"]):
        assert message is None or message in said
    points = js["funnel"]["points"]
    if points is None:
        assert datasets_with(at, "ci_text") == []
    else:
        shown = chart_data(at, "ci_text")
        same_numbers(shown, points, ["yi", "sei", "ratio", "ci_low", "ci_high", "weight"])
        assert list(shown["kind"]) == [p["kind"] for p in points]
    tables = [d.value for d in at.dataframe if "Test" in d.value.columns]
    if js["table"] is None:
        assert tables == []
    else:
        assert tables[0].to_dict("records") == js["table"]


def test_bias_meta_regression_equals_cli(bias) -> None:
    at, js = bias
    reg = js["regression"]
    fit = reg["fit"]
    if fit is None:
        assert reg["message"] in texts(at)
        return
    unit = "point" if reg["moderator"] == "quality" else "year"
    shown = metric_values(at)
    name = f"Ratio of {'HR' if js['measure'] == 'HR' else 'OR'}s per {unit}"
    assert shown[name] == [blocks.fmt_ratio(math.exp(fit["coef"][1]))]
    ci = blocks.fmt_ci(math.exp(fit["ci_low"][1]), math.exp(fit["ci_high"][1]))
    assert shown["95% CI"] == [ci]
    assert shown[f"p ({'t' if fit['test'] == 'knha' else 'z'})"] == [blocks.fmt_p(fit["pvalue"][1])]
    assert shown["R²"] == ["–" if fit["r2"] is None else f"{fit['r2']:.1f}%"]
    caption = f"(k = {reg['k']}); residual τ² = {fit['tau2']:.4f};"
    assert any(caption in c.value for c in at.caption)
    assert reg["warning"] is None or reg["warning"] in texts(at)
    same_numbers(chart_data(at, "ratio_text"), reg["points"], ["x", "yi", "sei", "weight"])
