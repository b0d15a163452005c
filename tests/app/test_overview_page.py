"""Overview page (AppTest): every kind of link opens without an exception, and the numbers it
shows are the CLI's numbers for the same link, as ratios formatted the way the page does."""

from __future__ import annotations

import contextlib
import functools
import io
import json
import math

import pytest
from streamlit.testing.v1 import AppTest

from core.cli import main
from core.vocab import PI_SHORT
from tests.app.conftest import metric_values, open_app, shown_link
from ui.blocks import fmt_ci, fmt_p, fmt_ratio
from ui.markup import md

# Each link covers several controls at once (every value of every control appears at least
# once), so that ~30 script runs cover the link format.
LINKS = [
    "?indication=PVTT&method=DL",
    "?indication=narrow_margin&method=PM&qmin=5",
    "?indication=MVI&scope=all&design=retrospective&method=ML",
    "?indication=other&design=RCT&design=retrospective&method=HS&qmin=1",
    "?design=RCT&method=SJ&qmin=6",
    "?design=PSM&method=HE&qmin=2",
    "?design=prospective-nonrandomized&indication=PVTT&indication=MVI&scope=all&method=EB",
    "?design=retrospective&indication=other&rt=internal&scope=all&method=EE",
    "?rt=internal&rt=external&scope=all&qmin=0&pi=0",
    "?scope=all&ci=hksj&group=indication&qmin=3",
    "?qmin=4&group=design&scope=all&design=RCT&design=PSM&design=retrospective",
    "?qmin=7",
    "?tpoint=interp&ci=hksj&method=REML",
    "?tpoint=interp&group=indication&method=EE&pi=0",
    "?measure=HR&group=design&scope=all",
    "?tpoint=interp&pi=z",
    "?tpoint=interp&pi=hksj&method=DL",
    "?exclude=Yu2014&pi=1",  # DFS: two studies, no prediction interval (the page says why)
    "?measure=HR&ci=hksj&indication=PVTT",
    "?t_os=1&t_dfs=2&tpoint=interp",
    "?t_os=3&t_dfs=0.5&tpoint=interp",
    "?t_os=5&t_dfs=3",
    "?t_os=1.5&t_dfs=5&tpoint=interp&scope=all",
    "?exclude=Wei2019",  # OS: no study left
    "?exclude=Yu2014&exclude=Shi2022",  # DFS: one study left
    "?tpoint=interp&exclude=Wei2019&exclude=Yu2014",  # one study left in both
    "?design=none",  # nothing selected
    "?indication=PVTT&indication=narrow_margin&indication=MVI&indication=other"
    "&design=RCT&design=PSM&design=prospective-nonrandomized&design=retrospective"
    "&rt=external&rt=internal&scope=all&tpoint=interp&group=design&ci=hksj",
]
INVALID = [
    "?method=XYZ&qmin=abc&t_os=-1",
    "?design=bogus&pi=maybe&t_dfs=99&measure=SMD&foo=%3Cb%3Ebold%3C%2Fb%3E&exclude=..%2F..",
]


def num(x: float | None) -> float:
    """A JSON number back to a float (null was NaN)."""
    return math.nan if x is None else float(x)


@functools.cache
def cli_json(query: str) -> dict:
    """What ``python -m core analyze <query>`` prints, parsed."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["analyze", query]) == 0
    return json.loads(out.getvalue())


def expected_metrics(doc: dict) -> dict[str, list[str]]:
    """The metrics the page should show for a CLI document, formatted as the page does."""
    out: dict[str, list[str]] = {}
    for outcome in ("OS", "DFS"):
        p = doc[outcome]["pooled"]
        if p is None:
            continue
        name = "HR" if doc[outcome]["measure"] == "HR" else "OR"
        p_label = "p (t)" if p["ci"] == "hksj" else "p (z)"
        shown = {
            f"Pooled {name}": fmt_ratio(math.exp(num(p["estimate"]))),
            "95% CI": fmt_ci(math.exp(num(p["ci_low"])), math.exp(num(p["ci_high"]))),
            p_label: fmt_p(num(p["pvalue"])),
            "Studies (k)": str(p["k"]),
            "Patients": str(p["patients"]),
            "I²": "–" if p["i2"] is None else f"{p['i2']:.1f}%",
        }
        for label, value in shown.items():
            out.setdefault(label, []).append(value)
    return out


def expected_pi(doc: dict) -> list[str]:
    """The prediction-interval captions the page should show: the interval and its method,
    or (k = 2) why there is none."""
    out = []
    for outcome in ("OS", "DFS"):
        p = doc[outcome]["pooled"]
        if p and doc["query"]["pi"] != "0" and p["method"] != "EE" and p["k"] > 1:
            if p["pi_method"] is None:
                out.append(p["pi_note"])
                continue
            pi = fmt_ci(math.exp(num(p["pi_low"])), math.exp(num(p["pi_high"])))
            out.append(f"95% prediction interval {pi} ({PI_SHORT[p['pi_method']]})")
    return out


def captions(at: AppTest) -> list[str]:
    return [c.value for c in at.caption]


def assert_page_equals_cli(at: AppTest, query: str) -> None:
    assert not at.exception, [e.value for e in at.exception]
    doc = cli_json(query)
    assert metric_values(at) == expected_metrics(doc)
    shown_pi = [
        part
        for c in captions(at)
        for part in c.split(" · ")
        if part.startswith(("95% prediction interval", "no prediction interval"))
    ]
    assert shown_pi == expected_pi(doc)
    # An outcome with nothing to pool says why, in the CLI's words.
    warnings = [w.value for w in at.warning]
    for outcome in ("OS", "DFS"):
        if doc[outcome]["pooled"] is None:
            assert doc[outcome]["message"] in warnings


@pytest.fixture(scope="module")
def default_app() -> AppTest:
    return open_app("")


def test_default_view(default_app):
    at = default_app
    assert_page_equals_cli(at, "")
    assert at.title[0].value.startswith("Perioperative radiotherapy for HCC")
    assert any(
        c.startswith(md("Default view: the published meta-analysis"))
        and "it is interpolated between the study's nearest reported years (marked †" in c
        for c in captions(at)
    )
    assert not any(c.startswith("Ignored in the link") for c in captions(at))
    assert len(at.get("vega_lite_chart")) == 2  # one forest plot per outcome


@pytest.mark.parametrize("query", LINKS)
def test_link_shows_cli_numbers(query):
    at = open_app(query)
    assert_page_equals_cli(at, query)
    assert not any(c.startswith("Ignored in the link") for c in captions(at))


@pytest.mark.parametrize("query", INVALID)
def test_invalid_values_are_ignored_with_a_notice(query):
    at = open_app(query)
    assert_page_equals_cli(at, query)
    notices = [c for c in captions(at) if c.startswith("Ignored in the link")]
    assert len(notices) == len(cli_json(query)["notices"]) >= 2
    assert cli_json(query)["query"]["method"] == "REML"  # defaults kept for what was ignored
    # Link text is shown as text: no live HTML from the URL.
    assert not any("<b>" in c for c in captions(at) + [m.value for m in at.markdown])


def test_metrics_change_when_filters_change(default_app):
    base = metric_values(default_app)
    assert base["Studies (k)"] == ["3", "3"]  # OS: two of them interpolated (the default)
    exact = metric_values(open_app("?v=2&tpoint=exact"))
    assert exact["Studies (k)"] == ["1", "3"]  # OS loses the interpolated studies
    assert exact["Pooled OR"][0] != base["Pooled OR"][0]
    assert exact["Pooled OR"][1] == base["Pooled OR"][1]  # every DFS rate is reported at 1 year
    assert metric_values(open_app("?exclude=Wei2019")) == metric_values(
        open_app("?v=2&tpoint=exact&exclude=Wei2019")
    )  # an old link (no v) keeps reported rates only
    excluded = metric_values(open_app("?v=2&exclude=Yu2014"))
    assert excluded["Studies (k)"] == ["2", "2"]
    assert excluded["Pooled OR"][1] != base["Pooled OR"][1]
    common = metric_values(open_app("?v=2&method=EE"))
    assert common["95% CI"][1] != base["95% CI"][1]


def rerun(at: AppTest) -> AppTest:
    """Rerun after a widget change as the browser does (app.py, then the page).

    AppTest 1.67 reruns only the page script when it asks for the page the last run finished
    on, so the shared sidebar would be missing; asking for the default page runs app.py.
    """
    at._finished_page_script_hash = ""
    return at.run()


def test_sidebar_change_repools_and_updates_the_link():
    at = open_app("")
    assert at.sidebar.toggle(key="w_tpoint").value is True  # interpolation is the default
    assert shown_link(at).endswith("?v=2")  # the link to copy carries its version
    before = metric_values(at)
    at.sidebar.toggle(key="w_tpoint").set_value(False)
    rerun(at)
    assert not at.exception
    assert shown_link(at).endswith("?v=2&tpoint=exact")
    assert metric_values(at) != before
    assert metric_values(at) == expected_metrics(cli_json("?v=2&tpoint=exact"))
    at.sidebar.selectbox(key="w_method").set_value("DL")
    rerun(at)
    assert metric_values(at) == expected_metrics(cli_json("?v=2&tpoint=exact&method=DL"))
    assert shown_link(at).endswith("?v=2&method=DL&tpoint=exact")


def test_sidebar_prediction_interval_method():
    """The sidebar offers t (default), z, Hartung-Knapp and hidden; a choice re-draws the
    interval by that method and goes into the link (pi=1 in an old link shows t)."""
    at = open_app("?tpoint=interp&pi=1")
    box = at.sidebar.selectbox(key="w_pi")
    assert box.value == "t" and box.options == ["t (k-2)", "z", "Hartung-Knapp", "hidden"]
    assert shown_link(at).endswith("?v=2")  # pi=1 is the default now, and so is interp (v2)
    pi_parts = lambda: [  # noqa: E731
        part
        for c in captions(at)
        for part in c.split(" · ")
        if part.startswith(("95% prediction interval", "no prediction interval"))
    ]
    assert pi_parts() == expected_pi(cli_json("?tpoint=interp"))
    for value, query in (("z", "?tpoint=interp&pi=z"), ("hksj", "?tpoint=interp&pi=hksj"),
                         ("0", "?tpoint=interp&pi=0")):  # fmt: skip
        at.sidebar.selectbox(key="w_pi").set_value(value)
        rerun(at)
        assert not at.exception
        assert shown_link(at).endswith(f"?v=2&pi={value}")
        assert pi_parts() == expected_pi(cli_json(query))
    assert pi_parts() == []  # hidden


def test_widget_values_reset_by_streamlit_leave_the_view_alone():
    """Streamlit can drop or reset a widget's value without the user (a page switch under load,
    a run cut short by a download): every sidebar widget back at its blank value must not
    become the view; only a user's change does (browser test: test_export_safety)."""
    query = "?v=2&qmin=4.5&method=DL"
    at = open_app(query)
    before = (metric_values(at), shown_link(at))
    blanks = {"w_indication": [], "w_design": [], "w_rt": [], "w_tpoint": False, "w_pi": "t"}
    blanks |= {"w_qmin": 0, "w_method": "EE", "w_t_os": 0.5, "w_t_dfs": 0.5}
    for key, value in blanks.items():
        at.session_state[key] = value  # set behind the widget: no on_change
    rerun(at)
    assert not at.exception
    assert (metric_values(at), shown_link(at)) == before
    assert shown_link(at).endswith(query)
