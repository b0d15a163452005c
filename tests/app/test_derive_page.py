"""Numbers from a figure or a report on the Studies page (AppTest): digitised Kaplan-Meier
files (a simulated trial, tests/fixtures/km_trial.py) are reviewed and their rates and Cox HR
added as a new study that the Overview's forest plot then shows with its provenance; an HR
from a log-rank p and events is added with the method it used; bad files, bad years, bad
summary numbers and rows the schema refuses get one plain message and no traceback; an
addition is undone.

The files are chosen in the page's two uploaders (AppTest's file_uploader)."""

from __future__ import annotations

import math
import os

import pytest
from streamlit.testing.v1 import AppTest

from core.data.digitised import read_digitised
from core.data.provenance import GUYOT, UNADJUSTED_LOGRANK
from core.fmt import ratio_with_ci
from core.stats.hr import hr_from_logrank
from core.stats.km import reconstruct
from core.views.km import km_json
from tests.app.conftest import PAGES, open_app
from tests.app.test_saved_page import _button, _cli, _data_param, _no_exception
from tests.app.test_upload_names_page import shown
from tests.fixtures.km_trial import bad, files
from ui.derive import KM_FILES, KM_UPLOADS

URL = "https://doi.org/10.1000/sim.2024"
ADD = "Add to the dataset"


@pytest.fixture(autouse=True)
def _store() -> None:
    assert os.environ["EXPLORER_STORE"]  # tests/app/conftest.py: each test its own store


def _with_files(curves: tuple[str, bytes], at_risk: tuple[str, bytes]) -> AppTest:
    """The Studies page after both files were chosen in its uploaders."""
    at = open_app(page="studies")
    for (_, widget, _), (name, data) in zip(KM_UPLOADS, (curves, at_risk), strict=True):
        at.file_uploader(key=widget).set_value((name, data, "text/csv")).run()
        _no_exception(at)
    assert set(at.session_state[KM_FILES]) == {"curves", "at_risk"}
    return at


def _fill(at: AppTest, prefix: str, **texts: str) -> None:
    for name, value in texts.items():
        at.text_input(key=f"{prefix}_{name}").input(value)
    at.run()
    _no_exception(at)


def _errors(at: AppTest) -> list[str]:
    return [shown(e.value) for e in at.error]


def test_a_curve_becomes_a_study_in_the_forest_plot_with_its_provenance() -> None:
    at = _with_files(*files())
    expected = km_json(reconstruct(*read_digitised(*files())), (1.0, 2.0))
    hr = expected["hr"]
    shown_hr = ratio_with_ci(hr["estimate"], hr["ci_low"], hr["ci_high"])
    assert any(shown_hr in m.value for m in at.markdown if "Hazard ratio" in m.value)
    (arms,) = [d.value for d in at.dataframe if "Arm" in d.value.columns]
    s_rt = expected["arms"]["rt"]["survival"]["2"]
    assert arms["Survival at 2 y"].tolist()[0] == f"{100 * s_rt:.1f}%"
    assert arms["Patients"].tolist() == ["70", "70"]
    assert at.get("arrow_vega_lite_chart") or at.get("vega_lite_chart")  # the review chart
    # nothing to add until the place in the source, the link and the new study's ID are given
    assert not [b for b in at.button if b.label == ADD]
    assert "where in the source" in at.info[-1].value
    _fill(at, "km", location="Fig. 2A", url=URL, new_id="Sim2024", new_label="Sim 2024")
    assert not at.error
    _button(at, ADD).click().run()
    _no_exception(at)
    added = "Added to the data in use: 3 outcome rows of the new study Sim2024"
    assert added in at.success[0].value
    key, dataset = at.session_state["upload"]
    assert key.startswith("edit:")
    mine = dataset.outcomes[dataset.outcomes["study_id"] == "Sim2024"]
    assert mine["kind"].tolist() == ["rate", "rate", "hr"]
    assert mine["rate_rt"].tolist()[1] == pytest.approx(100 * s_rt, abs=1e-12)
    assert mine["hr"].tolist()[2] == pytest.approx(hr["estimate"], rel=1e-12)
    assert all(n.startswith("reconstructed from Fig. 2A") and GUYOT in n for n in mine["note"])
    study = dataset.studies.set_index("study_id").loc["Sim2024"]
    assert (study["n_rt"], study["n_ctl"], study["source_urls"]) == (70, 70, URL)

    # the Overview's forest plot (OS, OR at 2 years) and its numbers table
    at.session_state["numbers_forest_OS"] = True
    at.switch_page(PAGES["overview"])
    at.run()
    _no_exception(at)
    tables = [d.value for d in at.dataframe if "How the numbers were obtained" in d.value]
    rows = [r for t in tables for r in t.itertuples(index=False) if r.Study == "Sim 2024"]
    assert rows, "the new study is not in the forest plot's numbers table"
    assert rows[0][4].startswith("reconstructed from Fig. 2A: survival at 1 and 2 years")
    assert "events from 2-year OS rate" in rows[0][4]


def test_the_addition_is_undone() -> None:
    at = _with_files(*files())
    _fill(at, "km", location="Fig. 2A", url=URL, new_id="Sim2024")
    _button(at, ADD).click().run()
    assert "upload" in at.session_state
    _button(at, "Undo the addition").click().run()
    _no_exception(at)
    assert "upload" not in at.session_state  # the bundled evidence again
    assert "bundled evidence" in at.info[0].value
    assert not [b for b in at.button if b.label == "Undo the addition"]


@pytest.mark.parametrize("case", list(bad()))
def test_bad_files_get_the_engines_message(case: str) -> None:
    curves, at_risk, message = bad()[case]
    at = _with_files(curves, at_risk)
    (error,) = _errors(at)
    assert error.startswith("These files cannot be used: " + message)
    assert not [b for b in at.button if b.label == ADD]


def test_bad_years_get_a_message() -> None:
    at = _with_files(*files())
    at.text_input(key="km_years").input("0, two").run()
    _no_exception(at)
    assert _errors(at) == ["Survival at: give years above 0 separated by commas, e.g. 1, 2."]


def test_an_hr_from_a_logrank_p_with_events() -> None:
    at = open_app(page="studies")
    at.radio(key="hr_method").set_value("logrank_events").run()
    at.number_input(key="hr_logrank_events_p").set_value(0.03)
    at.number_input(key="hr_logrank_events_events_rt").set_value(40)
    at.number_input(key="hr_logrank_events_events_ctl").set_value(55).run()
    _no_exception(at)
    want = hr_from_logrank(0.03, "rt", 40, 55)
    low, high = want.ci()
    assert any(ratio_with_ci(want.hr, low, high) in m.value for m in at.markdown)
    assert any(
        shown(c.value).startswith("HR from the two-sided log-rank p-value and the events in each")
        for c in at.caption
    )
    at.selectbox(key="hr_study").set_value("Yu2014")
    at.selectbox(key="hr_outcome").set_value("DFS")
    _fill(at, "hr", location="Results, p. 4", url=URL)
    _button(at, ADD).click().run()
    _no_exception(at)
    _, dataset = at.session_state["upload"]
    row = dataset.outcomes.iloc[-1]
    assert (row["study_id"], row["outcome"], row["kind"]) == ("Yu2014", "DFS", "hr")
    assert math.log(row["hr"]) == pytest.approx(want.yi, abs=1e-12)
    se = (math.log(row["hr_high"]) - math.log(row["hr_low"])) / (2 * 1.959963984540054)
    assert se == pytest.approx(want.se, rel=1e-9)
    assert row["adjustment"] == UNADJUSTED_LOGRANK
    assert row["note"].startswith("derived from the two-sided log-rank p-value")


def test_summary_numbers_that_give_no_hr() -> None:
    at = open_app(page="studies")
    for name, value in (("hr", 0.5), ("ci_low", 0.6), ("ci_high", 0.9)):
        at.number_input(key=f"hr_ci_{name}").set_value(value)
    at.run()
    _no_exception(at)
    assert _errors(at) == ["No hazard ratio: need 0 < ci_low <= hr <= ci_high, got 0.6, 0.5, 0.9"]
    assert not [b for b in at.button if b.label == ADD]


def test_rows_the_schema_refuses_are_not_added() -> None:
    # Wei2019 reports a DFS HR already: one row per study, outcome, kind and time
    at = open_app(page="studies")
    for name, value in (("hr", 0.5), ("ci_low", 0.3), ("ci_high", 0.8)):
        at.number_input(key=f"hr_ci_{name}").set_value(value)
    at.run()
    at.selectbox(key="hr_study").set_value("Wei2019")
    at.selectbox(key="hr_outcome").set_value("DFS")
    _fill(at, "hr", location="Table 2", url=URL)
    (error,) = _errors(at)
    assert error.startswith("These rows cannot be added: 1 problem(s)")
    (report,) = [d.value for d in at.dataframe if "Problem" in d.value.columns]
    assert "keep one row per study, outcome, kind and time" in report["Fix"].tolist()
    assert _button(at, ADD).disabled
    assert "upload" not in at.session_state


def test_an_addition_to_a_saved_version_is_unsaved_until_saved_again() -> None:
    at = open_app(page="studies")
    _button(at, "Save and get a link").click().run()
    first = _data_param(at)
    assert first is not None
    at.radio(key="hr_method").set_value("p").run()
    at.number_input(key="hr_p_hr").set_value(0.6)
    at.number_input(key="hr_p_p").set_value(0.02).run()
    at.selectbox(key="hr_study").set_value("Yu2014")
    _fill(at, "hr", location="abstract", url=URL)
    _button(at, ADD).click().run()
    _no_exception(at)
    assert _data_param(at) is None  # as after an edit: the link no longer carries the data
    _button(at, "Save and get a link").click().run()
    second = _data_param(at)
    assert second not in (None, first)
    history = _cli("store", "history", "--", second)
    assert [v["token"] for v in history] == [second, first]  # a new version of the saved one
