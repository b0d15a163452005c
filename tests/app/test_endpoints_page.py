"""Endpoints on the pages (AppTest): the Present page names what the pooled HR measured
(HCC-related death for Wei 2019), and an upload that mixes endpoint definitions gets a plain
warning and a choice that keeps one definition: the pool then holds only its studies, with the
pooled numbers core gives for them, and the link keeps the choice."""

from __future__ import annotations

import functools
import math
import re
from pathlib import Path

from core.data.estimable import estimable
from core.state.view import parse_query
from core.stats.pooling import pool
from core.views.analysis import analyse
from tests.app.conftest import metric_values, open_app
from ui.upload import handle_upload

MIXED = Path(__file__).resolve().parents[1] / "fixtures" / "uploads" / "mixed_endpoints"


@functools.cache
def mixed():
    result = handle_upload([(n, (MIXED / n).read_bytes()) for n in ("studies.csv", "outcomes.csv")])
    assert result.loaded and not result.report.problems
    return result.key, result.dataset


def shown(markdown: str) -> str:
    """The text a reader sees: Markdown's backslash escapes undone."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", markdown)


def texts(at) -> str:
    kinds = ("title", "markdown", "caption", "info", "warning", "subheader")
    return "\n".join(shown(str(e.value)) for k in kinds for e in getattr(at, k))


def warnings(at) -> str:
    return " ".join(shown(w.value) for w in at.warning)


def test_present_page_names_hcc_related_death():
    at = open_app("measure=HR&indication=PVTT", page="presentation")
    assert not at.exception
    assert shown(at.title[0].value) == (
        "Overall survival: hazard ratio for HCC-related death, multivariable Cox"
    )
    page = texts(at)
    assert "a lower hazard of HCC-related death: hazard ratio 0.35 (95% CI 0.23 to 0.54)" in page
    assert "hazard of death" not in page
    assert metric_values(at)["Pooled HR"] == ["0.35"]
    assert "w_endpoint_OS" not in [r.key for r in at.radio]  # one definition: no choice


def test_default_dfs_pool_says_it_mixes_dfs_and_rfs():
    at = open_app("outcome=DFS", page="presentation")
    warning = warnings(at)
    assert "Mixed endpoint definitions" in warning
    assert "DFS (2 studies); RFS (1 study)" in warning
    radio = at.radio(key="w_endpoint_DFS")
    assert radio.value == "all"
    assert radio.options == ["Every definition (3 studies)", "Only DFS (2 studies)",
                             "Only RFS (1 study)"]  # fmt: skip


def _pooled_hr(ids: set[str]) -> float:
    """Core's pooled HR (REML, Wald) of the mixed upload's OS HRs of ``ids``."""
    rows = estimable(mixed()[1], "OS", "HR").rows
    rows = rows[rows["study_id"].isin(ids)]
    res = pool(rows["yi"].to_numpy(float), rows["vi"].to_numpy(float), method="REML", ci="wald")
    return math.exp(res.estimate)


def test_mixed_upload_warns_and_keeping_one_definition_filters_the_pool():
    at = open_app("measure=HR", upload=mixed())
    assert not at.exception
    warning = warnings(at)
    assert "Mixed endpoint definitions" in warning
    assert "HCC-related mortality, multivariable Cox (1 study)" in warning
    assert "OS, unadjusted" not in warning and "OS, univariable (1 study)" in warning
    assert metric_values(at)["Pooled HR"][0] == f"{_pooled_hr({'M1', 'M2', 'M3', 'M4'}):.2f}"
    at.radio(key="w_endpoint_OS").set_value("OS.all-cause-death.adjusted").run()
    assert not at.exception
    kept = at.query_params["endpoint"]
    assert (kept if isinstance(kept, list) else [kept]) == ["OS.all-cause-death.adjusted"]
    want = _pooled_hr({"M2", "M3"})
    assert metric_values(at)["Pooled HR"][0] == f"{want:.2f}"
    assert metric_values(at)["Studies (k)"][0] == "2"
    assert shown(at.subheader[0].value) == "Hazard ratio for death from any cause, adjusted"
    assert "Mixed endpoint definitions" not in warnings(at)
    # core on the same link gives the same pool
    state = parse_query("measure=HR&endpoint=OS.all-cause-death.adjusted").state
    oa = analyse(state, mixed()[1]).outcomes["OS"]
    assert math.exp(oa.pooled.estimate) == want
    assert set(oa.rows["study_id"]) == {"M2", "M3"}
    assert dict(oa.filtered_out)["M1"].startswith("endpoint HCC-related mortality")
    # and back to every definition
    at.radio(key="w_endpoint_OS").set_value("all").run()
    assert "endpoint" not in at.query_params
    assert metric_values(at)["Studies (k)"][0] == "4"


def test_a_link_keeping_an_absent_definition_pools_every_one_and_says_so():
    at = open_app("outcome=DFS&endpoint=DFS.cancer-specific-survival", page="presentation")
    assert not at.exception
    assert "so every definition is pooled" in texts(at)
    assert metric_values(at)["Studies (k)"] == ["3"]
