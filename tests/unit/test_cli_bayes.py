"""``python -m core analyze "method=BAYES..."``: the pooled block carries the Bayesian model's
posterior median, 95% credible interval, tau_median and p_benefit, recomputed here from the
studies the JSON lists (core.stats.bayes, itself checked in test_bayes.py)."""

from __future__ import annotations

import json
import math

import pytest

from core.cli import main
from core.fmt import probability
from core.stats.bayes import bayes_meta
from core.views.analysis import plain_benefit


def analyze(capsys: pytest.CaptureFixture[str], query: str) -> dict:
    assert main(["analyze", query]) == 0
    out = capsys.readouterr().out
    return json.loads(out, parse_constant=lambda c: pytest.fail(f"{c} in the JSON"))


@pytest.mark.parametrize(
    ("query", "scale"),
    [
        ("method=BAYES&scope=all&tpoint=interp", 0.5),
        ("v=2&method=bayesian&tau_prior=1&scope=all", 1.0),
        ("method=BAYES&measure=HR&tau_prior=0.25&scope=all", 0.25),
        ("method=BAYES", 0.5),  # OS: one study
    ],
)
def test_pooled_is_the_posterior(capsys: pytest.CaptureFixture[str], query: str, scale: float):
    doc = analyze(capsys, query)
    assert doc["query"]["method"] == "BAYES" and doc["query"]["tau_prior"] == scale
    seen = 0
    for outcome in ("OS", "DFS"):
        block = doc[outcome]
        pooled = block["pooled"]
        if pooled is None:
            continue
        seen += 1
        y = [s["yi"] for s in block["studies"]]
        v = [s["vi"] for s in block["studies"]]
        want = bayes_meta(y, v, tau_prior=scale)
        assert pooled["method"] == "BAYES" and pooled["ci"] == "credible"
        assert pooled["k"] == len(y)
        for key, value in (
            ("estimate", want.mu_median),
            ("ci_low", want.mu_low),
            ("ci_high", want.mu_high),
            ("se", want.mu_sd),
            ("tau_median", want.tau_median),
            ("tau_low", want.tau_low),
            ("tau_high", want.tau_high),
            ("p_benefit", want.p_benefit),
            ("tau2", want.tau_median**2),
        ):
            assert pooled[key] == pytest.approx(value, rel=1e-12, abs=1e-12), key
        if len(y) >= 3:
            assert pooled["pi_low"] == pytest.approx(want.pred_low, rel=1e-12)
            assert pooled["pi_high"] == pytest.approx(want.pred_high, rel=1e-12)
        else:  # with one or two studies the predictive interval would be mostly the prior
            assert pooled["pi_low"] is None and pooled["pi_high"] is None
            assert "prior on τ" in pooled["pi_note"]
        assert pooled["pvalue"] is None  # no p-value for a posterior
        assert pooled["pi_method"] == ("bayes" if len(y) >= 3 else None)
        assert 0.0 < pooled["p_benefit"] < 1.0
        assert sum(s["weight"] for s in block["studies"]) == pytest.approx(100.0)
        if len(y) == 1:
            assert pooled["i2"] is None
            assert "prior alone" in block["message"]
        assert f"scale {scale:g}" in block["message"]
    assert seen >= 1


def test_hartung_knapp_is_said_not_to_apply(capsys: pytest.CaptureFixture[str]) -> None:
    doc = analyze(capsys, "method=BAYES&ci=hksj&scope=all&tpoint=interp")
    assert "Hartung-Knapp CI is a frequentist method" in doc["OS"]["message"]
    assert doc["OS"]["pooled"]["ci"] == "credible"


def test_plain_sentence_and_probability_words(capsys: pytest.CaptureFixture[str]) -> None:
    from core.data.dataset import load_bundled
    from core.state.view import parse_query
    from core.views.analysis import analyse

    state = parse_query("method=BAYES&scope=all&tpoint=interp").state
    oa = analyse(state, load_bundled()).outcomes["OS"]
    assert oa.bayes is not None
    sentence = plain_benefit(oa)
    shown = probability(oa.bayes.p_benefit)
    assert (
        sentence
        == f"Probability that perioperative RT lowers the odds of death by 2 years: {shown}"
    )
    hr = analyse(state.replace(measure="HR"), load_bundled()).outcomes["DFS"]
    assert hr.bayes is not None
    assert str(plain_benefit(hr)).startswith(
        "Probability that perioperative RT lowers the hazard of recurrence or death: "
    )


@pytest.mark.parametrize(
    ("p", "shown"),
    [(0.98, "98%"), (0.5, "50%"), (0.995, "99.5%"), (0.9999, "> 99.9%"), (1.0, "> 99.9%"),
     (0.0004, "< 0.1%"), (0.004, "0.4%"), (math.nan, "–"), (None, "–"), (1.2, "–")],
)  # fmt: skip
def test_probability_is_never_rounded_to_certainty(p: float | None, shown: str) -> None:
    assert probability(p) == shown


@pytest.mark.parametrize("command", ["sensitivity", "bias"])
def test_sensitivity_and_bias_commands_refit_reml_and_say_so(
    capsys: pytest.CaptureFixture[str], command: str
) -> None:
    """As their pages: under method=BAYES the same numbers as method=REML, with the note."""
    docs = []
    for method in ("BAYES", "REML"):
        assert main([command, f"method={method}&outcome=DFS"]) == 0
        docs.append(json.loads(capsys.readouterr().out))
    bayes, reml = docs
    assert any("The Bayesian model has no" in n for n in bayes["notices"])
    assert not any("The Bayesian model has no" in n for n in reml["notices"])
    drop = ("notices", "query")
    assert {k: v for k, v in bayes.items() if k not in drop} == {
        k: v for k, v in reml.items() if k not in drop
    }
