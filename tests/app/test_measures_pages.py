"""AppTest: every page renders the new effect measures (RR, RD) and 2x2 models (MH, Peto)
without an exception, and the Overview's numbers equal ``python -m core analyze`` for the link.

RD is shown as a proportion (two decimals, null value 0) on a linear forest-plot axis; ratios
as exp(log value). The Sensitivity and Small-study effects pages say plainly why they are not
available for RD and for Mantel-Haenszel/Peto, and their commands print the same message.
"""

from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

from core import fmt
from core.stats.effects import to_shown
from tests.app.conftest import PAGES, metric_values, open_app
from tests.cli_json import cli_json

LINKS = {
    "rr": "v=2&measure=RR",
    "rd": "v=2&measure=RD",
    "mh_or": "v=2&method=MH",
    "mh_rd": "v=2&measure=RD&method=MH&to=all&add=1",
    "peto": "v=2&method=PETO&drop00=0",
    "peto_rr": "v=2&measure=RR&method=PETO&ci=hksj",
    "hr_mh": "v=2&measure=HR&method=MH",
}


def _no_exception(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


@pytest.mark.parametrize("page", list(PAGES))
@pytest.mark.parametrize("name", ["rr", "rd", "mh_or", "peto"])
def test_pages_render(name: str, page: str) -> None:
    _no_exception(open_app(LINKS[name], page))


@pytest.mark.parametrize("name", list(LINKS))
def test_overview_equals_the_cli(name: str) -> None:
    link = LINKS[name]
    at = open_app(link)
    _no_exception(at)
    cli = cli_json("analyze", link)
    shown = metric_values(at)
    measure = cli["OS"]["measure"]
    pooled = [cli[o]["pooled"] for o in ("OS", "DFS") if cli[o]["pooled"] is not None]
    assert pooled
    assert shown[f"Pooled {measure}"] == [
        fmt.effect(measure, to_shown(measure, p["estimate"])) for p in pooled
    ]
    assert shown["95% CI"] == [
        fmt.effect_ci(measure, to_shown(measure, p["ci_low"]), to_shown(measure, p["ci_high"]))
        for p in pooled
    ]
    assert shown["I²"] == [fmt.percent(p["i2"]) for p in pooled]
    assert shown["Studies (k)"] == [str(p["k"]) for p in pooled]
    infos = " ".join(i.value for i in at.info)
    for o in ("OS", "DFS"):
        if cli[o]["model_note"]:  # what stands in for a model that does not apply
            assert cli[o]["model_note"] in infos


def test_risk_difference_is_a_proportion_on_a_linear_axis() -> None:
    at = open_app(LINKS["rd"])
    _no_exception(at)
    cli = cli_json("analyze", LINKS["rd"])
    est = cli["OS"]["pooled"]["estimate"]
    assert -1 < est < 0  # a difference of proportions, not a log ratio
    assert metric_values(at)["Pooled RD"][0] == f"{est:.2f}"
    specs = [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]
    text = json.dumps(specs)
    assert '"type": "linear"' in text and "RD [95% CI]" in text
    assert '"type": "log"' not in text
    assert any("as a proportion" in c.value for c in at.caption)


def test_mantel_haenszel_footer_and_zero_cell_words() -> None:
    at = open_app(LINKS["mh_or"])
    _no_exception(at)
    cli = cli_json("analyze", LINKS["mh_or"])
    p = cli["OS"]["pooled"]
    assert p["method"] == "MH" and p["tau2"] == 0.0 and p["pi_low"] is None
    captions = " ".join(c.value for c in at.caption)
    assert f"Q = {p['q']:.2f} on {p['k'] - 1} df" in captions
    assert "Common effect (Mantel-Haenszel)" in captions
    assert cli["OS"]["zero_cells"] in captions


@pytest.mark.parametrize("page", ["sensitivity", "bias"])
@pytest.mark.parametrize("name", ["rd", "mh_or"])
def test_ratio_pages_say_why_not(name: str, page: str) -> None:
    at = open_app(LINKS[name], page)
    _no_exception(at)
    message = cli_json(page, LINKS[name])["message"]
    assert message in [i.value for i in at.info]
    assert "not available" in message
