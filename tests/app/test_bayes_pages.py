"""Pages under ``method=BAYES`` (AppTest): Overview and Present show the Bayesian model's
numbers (the CLI's, formatted as the page does), the probability of benefit in plain words
with its prior and the prior-sensitivity line; the pages built on frequentist fits say they
show REML instead. No page raises."""

from __future__ import annotations

import contextlib
import io
import json

import pytest
from streamlit.testing.v1 import AppTest

from core.cli import main
from core.fmt import probability
from core.stats.effects import exp_ratio
from tests.app.conftest import metric_values, open_app
from ui.blocks import fmt_ci, fmt_ratio

BAYES = "?method=BAYES&scope=all&tpoint=interp"


def cli(query: str) -> dict:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["analyze", query]) == 0
    return json.loads(out.getvalue())


def texts(at: AppTest) -> str:
    """Every text element's value, unescaped of Markdown's backslashes."""
    parts = [x.value for x in [*at.markdown, *at.caption, *at.info, *at.warning]]
    return "\n".join(parts).replace("\\", "")


def no_error(at: AppTest) -> None:
    assert not at.exception
    assert not [e.value for e in at.error]


def test_overview_shows_the_posterior() -> None:
    at = open_app(BAYES)
    no_error(at)
    doc = cli(BAYES)
    shown = metric_values(at)
    for i, outcome in enumerate(("OS", "DFS")):
        p = doc[outcome]["pooled"]
        assert shown["Pooled OR (median)"][i] == fmt_ratio(exp_ratio(p["estimate"]))
        assert shown["95% CrI"][i] == fmt_ci(exp_ratio(p["ci_low"]), exp_ratio(p["ci_high"]))
        assert shown["P(OR < 1)"][i] == probability(p["p_benefit"])
    assert "p (z)" not in shown and "95% CI" not in shown
    words = texts(at)
    os_p = probability(doc["OS"]["pooled"]["p_benefit"])
    assert f"Probability that perioperative RT lowers the odds of death by 2 years: {os_p}" in words
    assert "under this model and prior, given the 3 included studies" in words
    assert "half-normal prior on τ, scale 0.5; flat prior on the mean" in words
    assert (
        words.count("Prior sensitivity (scale of the prior on τ: P(OR < 1), 95% CrI): 0.25: ") == 2
    )
    assert "; 0.5: " in words and "; 1: " in words
    assert "95% CrI" in words and "Bayesian random effects" in words


@pytest.mark.parametrize(
    "query",
    [
        "?method=BAYES",  # OS: one study, the prior decides tau
        "?method=BAYES&ci=hksj&pi=z&group=design&scope=all&tpoint=interp",
        "?method=BAYES&measure=HR&tau_prior=2&scope=all",
    ],
)
def test_overview_other_links(query: str) -> None:
    at = open_app(query)
    no_error(at)
    words = texts(at)
    assert "Probability that perioperative RT lowers" in words
    if "ci=hksj" in query:
        assert "Hartung-Knapp CI is a frequentist method" in words
    if query == "?method=BAYES":
        assert "the prior alone" in words


@pytest.mark.parametrize("outcome", ["OS", "DFS"])
def test_present_shows_the_posterior(outcome: str) -> None:
    query = f"{BAYES}&outcome={outcome}"
    at = open_app(query, "presentation")
    no_error(at)
    p = cli(query)[outcome]["pooled"]
    shown = metric_values(at)
    assert shown["P(OR < 1)"] == [probability(p["p_benefit"])]
    assert "95% CrI" in shown and "p (z)" not in shown
    words = texts(at)
    assert "Probability that perioperative RT lowers the odds of " in words
    assert "Bayesian random effects, posterior median" in words  # the summary sentence
    assert "Prior sensitivity" in words


@pytest.mark.parametrize("page", ["sensitivity", "bias", "studies"])
def test_frequentist_pages_say_what_they_show(page: str) -> None:
    at = open_app(BAYES, page)
    no_error(at)
    if page != "studies":
        assert "this page shows REML fits" in texts(at)


def test_sidebar_prior_scale_goes_into_the_link() -> None:
    at = open_app(BAYES)
    (box,) = [n for n in at.sidebar.number_input if n.label.startswith("Prior scale of τ")]
    assert box.value == 0.5
    box.set_value(1.0).run()
    no_error(at)
    assert at.query_params.get("tau_prior") == "1" or at.query_params.get("tau_prior") == ["1"]
    p = cli(f"{BAYES}&tau_prior=1")["OS"]["pooled"]
    assert metric_values(at)["P(OR < 1)"][0] == probability(p["p_benefit"])
