"""The summary-of-findings block on the bundled data: numbers equal core.report.sof, the assumed
risk goes to the link, domain overrides change the certainty, odd views give plain messages."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs

import pytest
from streamlit.testing.v1 import AppTest

from core.data.dataset import load_bundled
from core.report.sof import DISCLAIMER, Override, sof_table
from core.state.view import parse_query
from core.views.analysis import analyse
from tests.app.conftest import open_panels
from ui.sof import panel_key

SCRIPT = str(Path(__file__).resolve().parent / "sof_script.py")


def open_block(query: str = "") -> AppTest:
    at = open_panels(AppTest.from_file(SCRIPT, default_timeout=60))
    for key, values in parse_qs(query.lstrip("?")).items():
        at.query_params[key] = values if len(values) > 1 else values[0]
    at.run()
    assert not at.exception
    return at


def core_rows(query: str = "", overrides: dict | None = None):
    ds = load_bundled()
    state = parse_query(query).state
    return sof_table(analyse(state, ds), ds.studies, overrides=overrides)


def shown(at: AppTest) -> dict[str, list[str]]:
    frame = at.table[0].value
    return {"Outcome": list(frame.index)} | {c: list(v) for c, v in frame.items()}


@pytest.fixture(scope="module")
def default_block() -> AppTest:
    return open_block()


def test_table_equals_core(default_block):
    table = shown(default_block)
    rows = core_rows()
    assert table["Outcome"] == [r.title for r in rows]
    assert table["NNT"] == [r.nnt.text for r in rows]
    assert table["Certainty"] == [r.certainty.label for r in rows]
    # 2-year OS pools 3 studies (two interpolated): risk of bias serious (79.7% of the weight
    # from RCTs scoring >= 5), imprecision very serious (CI crosses 1, below the OIS): Very low.
    # 1-year DFS (3 trials): the default t prediction interval (k - 2 = 1 df), 0.003 to 65,
    # crosses 1 while the CI does not, so inconsistency is serious: Low (Moderate with pi=z).
    # Both provisional while indirectness and publication bias are not judged.
    assert table["Certainty"] == ["⊕◯◯◯ Very low (provisional)", "⊕⊕◯◯ Low (provisional)"]
    dfs = rows[1]
    assert table["Risk without RT"][1] == f"{round(1000 * dfs.control.risk)} per 1000"
    assert table["Difference (95% CI)"][1].startswith(f"{round(-dfs.diff)} fewer per 1000")
    assert any(DISCLAIMER in c.value for c in default_block.caption)


def test_assumed_risk_goes_to_the_link_and_back():
    at = open_block()
    at.number_input[0].set_value(40.0).run()
    assert not at.exception
    assert at.query_params["cr_os"] == "40"
    os_row = core_rows("v=2&cr_os=40")[0]  # the default view's time points (interpolated)
    assert os_row.control.risk == pytest.approx(0.4)
    assert shown(at)["Risk without RT"][0] == "400 per 1000"
    assert shown(at)["NNT"][0] == os_row.nnt.text
    at.number_input[0].set_value(None).run()
    assert "cr_os" not in at.query_params
    assert shown(at)["Risk without RT"][0] == shown(open_block())["Risk without RT"][0]


def test_override_and_reason_go_to_the_link():
    at = open_block()
    box = next(s for s in at.selectbox if s.label == "DFS: Imprecision rating")
    box.set_value("not serious").run()
    assert not at.exception
    assert shown(at)["Certainty"][1] == "⊕⊕⊕◯ Moderate (provisional)"  # inconsistency serious
    note = next(t for t in at.text_input if t.label == "DFS: Imprecision reason")
    note.input("OIS nearly reached, events many").run()
    over = {("DFS", "imprecision"): Override("not serious", "OIS nearly reached, events many")}
    expected = core_rows(overrides=over)[1].certainty
    assert at.query_params["grade"] == "DFS.imprecision.not_serious"
    assert at.query_params["why"] == "DFS.imprecision.OIS nearly reached, events many"
    assert shown(at)["Certainty"][1] == expected.label
    assert any("your judgement" in m.value for m in at.markdown)
    # the link alone gives the same view (a new session, the link's query)
    again = open_block(
        "grade=DFS.imprecision.not_serious&why=DFS.imprecision.OIS+nearly+reached,+events+many"
    )
    assert shown(again)["Certainty"][1] == expected.label
    reason = next(t for t in again.text_input if t.label == "DFS: Imprecision reason")
    assert reason.value == "OIS nearly reached, events many"
    box = next(s for s in at.selectbox if s.label == "DFS: Imprecision rating")
    box.set_value("auto").run()
    assert shown(at)["Certainty"][1] == "⊕⊕◯◯ Low (provisional)"
    assert "grade" not in at.query_params
    assert at.query_params["why"] == "DFS.imprecision.OIS nearly reached, events many"


def test_judging_every_open_domain_completes_the_rating():
    link = "grade=DFS.indirectness.not_serious&grade=DFS.publication.serious"
    at = open_block(link)
    # High, less inconsistency (t prediction interval), imprecision and publication bias
    assert shown(at)["Certainty"][1] == "⊕◯◯◯ Very low"
    at = open_block("grade=DFS.indirectness.not_serious")
    assert shown(at)["Certainty"][1] == "⊕⊕◯◯ Low (provisional)"
    assert any("no rating yet for publication bias" in w.value for w in at.warning)


def test_rating_opens_from_a_link():
    at = open_block("grade=DFS.imprecision.not_serious&grade=OS.nonsense.serious")
    assert not at.exception
    assert shown(at)["Certainty"][1] == "⊕⊕⊕◯ Moderate (provisional)"
    at = open_block("grade=DFS.imprecision.not_serious&pi=z")  # metafor's z interval
    assert shown(at)["Certainty"][1] == "⊕⊕⊕⊕ High (provisional)"


def test_hazard_ratio_says_what_is_needed():
    at = open_block("measure=HR")
    table = shown(at)
    assert table["NNT"] == ["–", "–"]
    assert any("hazard ratio has no time point" in i.value for i in at.info)
    at = open_block("measure=HR&cr_dfs=40")
    assert shown(at)["NNT"][1] == core_rows("measure=HR&cr_dfs=40")[1].nnt.text


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("design=none", "No study matches the filters"),
        ("cr_os=0", "assumed risk of 0%"),
        ("cr_os=100", "assumed risk of 100%"),
    ],
)
def test_odd_views_give_plain_messages(query, words):
    at = open_block(query)
    assert any(words in i.value for i in at.info)
    assert shown(at)["NNT"][0] == "–"


def test_panels_are_drawn_only_when_open():
    """The certainty panels cost nothing on a rerun while closed (a toggle elsewhere)."""
    at = AppTest.from_file(SCRIPT, default_timeout=60).run()
    assert not at.exception
    assert len(at.expander) == 2 and not at.selectbox and not at.number_input
    at.session_state[panel_key("sof", "DFS")] = True  # as the browser does on a click
    at.run()
    assert {s.label for s in at.selectbox} >= {"DFS: Imprecision rating"}
    assert not any(s.label.startswith("OS:") for s in at.selectbox)
