"""The Studies page: evidence table, study detail, upload flow and downloads (AppTest)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from core.data.dataset import load_bundled, load_files
from core.data.export import export_csv
from core.state.view import ViewState
from core.views.analysis import analyse, select_studies
from tests.app.conftest import PAGES, metric_values, open_app
from ui import evidence, upload
from ui.blocks import fmt_ratio

ROOT = Path(__file__).resolve().parents[2]
BCG_DIR = ROOT / "tests" / "fixtures" / "bcg"
BCG_JSON = ROOT / "tests" / "conformance" / "reference" / "bcg.json"
BUNDLED = load_bundled()
BUNDLED_IDS = BUNDLED.studies["study_id"].astype(str).tolist()


def _bcg_files() -> list[tuple[str, bytes, str]]:
    return [(p.name, p.read_bytes(), "text/csv") for p in sorted(BCG_DIR.glob("*.csv"))]


def _evidence(at: AppTest) -> pd.DataFrame:
    return at.dataframe[0].value


def _no_exception(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def test_default_view_lists_every_bundled_study() -> None:
    at = open_app(page="studies")
    _no_exception(at)
    table = _evidence(at)
    assert table["ID"].tolist() == BUNDLED_IDS
    assert len(BUNDLED_IDS) == 18
    assert "bundled evidence" in at.info[0].value
    assert any("not uploaded data" in c.value for c in at.caption)


def test_filters_and_exclusions_are_marked_as_core_selects() -> None:
    at = open_app("?exclude=Wei2019&design=RCT&design=PSM", page="studies")
    _no_exception(at)
    table = _evidence(at).set_index("ID")
    state = ViewState().replace(exclude=("Wei2019",), design=("RCT", "PSM"))
    sel = select_studies(BUNDLED.studies, state)
    assert table.index[table["Passes filters"]].tolist() == list(sel.ids)
    assert table.index[table["Excluded by hand"]].tolist() == ["Wei2019"]
    assert table.at["WangWH2015", "Why filtered out"] == "design retrospective not selected"


def test_quality_items_flag_unknowns_and_sources_are_links() -> None:
    table = _evidence(open_app(page="studies")).set_index("ID")
    row = BUNDLED.studies.set_index("study_id").loc["WangL2023"]
    assert table.at["WangL2023", "Size ≥100"] == "?"  # q_size unknown in the data
    assert table.at["WangL2023", "Score"] == f"≥ {int(row['quality_score'])}"
    assert table.at["Wei2019", "Score"] == "6"
    urls = str(BUNDLED.studies.set_index("study_id").at["Wei2019", "source_urls"]).split(";")
    # the study's DOI record first (doi_or_pmid "10.1200/JCO.18.02184; PMID 31283409")
    assert table.at["Wei2019", "Source"] == "https://doi.org/10.1200/JCO.18.02184"
    assert table.at["Wei2019", "Sources"] == len(urls)
    # no DOI or PMID in the table (a journal citation only): where the numbers were read
    lancet = BUNDLED.studies.set_index("study_id")
    lancet = lancet[lancet["doi_or_pmid"].astype(str).str.startswith("Lancet")]
    for sid, row in lancet.iterrows():
        first = str(row["source_urls"]).split(";")[0].strip()
        assert table.at[sid, "Source"] == (first if first.startswith("http") else None)


def test_study_detail_traces_every_outcome_row() -> None:
    at = open_app(page="studies")
    at.selectbox(key="detail_bundled").set_value("Wei2019").run()
    _no_exception(at)
    shown = [d.value for d in at.dataframe if "What the numbers are" in d.value.columns]
    assert len(shown) == 1
    rows = shown[0]
    mine = BUNDLED.outcomes[BUNDLED.outcomes["study_id"] == "Wei2019"]
    assert len(rows) == len(mine)
    assert (
        "survival at 2 years: 27.4% with RT, 9.4% with control"
        in rows["What the numbers are"].tolist()
    )
    assert rows["Source as given"].tolist() == mine["source_url"].astype(str).tolist()
    # sources: the DOI and PubMed records first, then where the numbers were read
    (sources,) = [
        d.value for d in at.dataframe if "Source" in d.value.columns and "What" in d.value.columns
    ]
    read = str(BUNDLED.studies.set_index("study_id").at["Wei2019", "source_urls"]).split(";")
    assert sources["Source"].tolist() == [
        "https://doi.org/10.1200/JCO.18.02184",
        "https://pubmed.ncbi.nlm.nih.gov/31283409/",
        *(u.strip() for u in read),
    ]
    assert sources["What"].tolist()[:3] == [
        "DOI record",
        "PubMed record",
        "where the numbers were read",
    ]
    # the study's estimate in the current view is the one the forest plot shows
    analysis = analyse(ViewState(), BUNDLED)
    use = evidence.use_in_view(analysis, ViewState(), BUNDLED.studies, "Wei2019")
    os_row = analysis.outcomes["OS"].rows.set_index("study_id").loc["Wei2019"]
    assert f"OR {math.exp(os_row['yi']):.2f}" in use.iloc[0]["Study estimate"]
    assert any("used, weight" in m.value for m in at.markdown)


def test_overlap_groups_are_listed() -> None:
    at = open_app(page="studies")
    text = " ".join(m.value for m in at.markdown)
    assert "beijing\\_cams" in text
    assert "Yu 2014" in text


def test_valid_upload_switches_the_dataset() -> None:
    at = open_app(page="studies")
    at.file_uploader[0].set_value(_bcg_files()).run()
    _no_exception(at)
    key, _dataset = at.session_state["upload"]
    files = [(n, b) for n, b, _ in _bcg_files()]
    assert key == upload.dataset_key(files)
    assert key.startswith("upload:") and len(key) == len("upload:") + 16
    assert _evidence(at)["ID"].tolist() == [f"trial{i}" for i in range(1, 14)]
    assert "your upload" in at.info[0].value
    assert "13 studies" in at.success[0].value
    # nothing in the bcg rows passes the default filters: the page says so
    assert any("None of your studies" in w.value for w in at.warning)
    assert [b.label for b in at.button] == ["Save and get a link", "Back to the bundled evidence"]


def test_unreadable_upload_keeps_the_previous_dataset_and_shows_the_report() -> None:
    at = open_app(page="studies")
    at.file_uploader[0].set_value(("studies.csv", b"\xff\xfe\x00garbage", "text/csv")).run()
    _no_exception(at)
    assert "upload" not in at.session_state
    assert _evidence(at)["ID"].tolist() == BUNDLED_IDS
    assert "previous dataset is still in use" in at.error[0].value
    report = at.dataframe[-1].value
    assert report.loc[0, "Severity"] == "error"
    assert report.loc[0, "File"] == "studies.csv"
    assert "not UTF-8" in report.loc[0, "Problem"]
    # after a good upload, a bad one leaves the upload in place
    at.file_uploader[0].set_value(_bcg_files()).run()
    key = at.session_state["upload"][0]
    at.file_uploader[0].set_value(("outcomes.xlsx", b"not a zip", "application/zip")).run()
    _no_exception(at)
    assert at.session_state["upload"][0] == key
    assert _evidence(at)["ID"].tolist()[0] == "trial1"


def test_rows_with_errors_are_listed_and_left_out() -> None:
    studies = b"study_id,label,n_rt,n_ctl\nA1,One,10,12\nA2,Two,-3,5\n"
    outcomes = b"study_id,outcome,kind,hr,hr_low,hr_high\nA1,OS,hr,0.8,0.9,1.2\n"
    at = open_app(page="studies")
    at.file_uploader[0].set_value(
        [("studies.csv", studies, "text/csv"), ("outcomes.csv", outcomes, "text/csv")]
    ).run()
    _no_exception(at)
    assert _evidence(at)["ID"].tolist() == ["A1"]
    report = at.dataframe[-1].value
    assert set(report["Row"]) == {"2", "3"}
    assert any(r"studies\.csv row 3" in c.value for c in at.caption)


def test_back_to_bundled() -> None:
    at = open_app(page="studies")
    at.file_uploader[0].set_value(_bcg_files()).run()
    (back,) = [b for b in at.button if b.label == "Back to the bundled evidence"]
    back.click().run()
    _no_exception(at)
    assert "upload" not in at.session_state
    assert _evidence(at)["ID"].tolist() == BUNDLED_IDS
    # the way back shows only while an upload is in use
    assert [b.label for b in at.button] == ["Save and get a link"]


def test_downloads_exist() -> None:
    at = open_app(page="studies")
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels == [
        "Template: studies (CSV)",
        "Template: outcomes (CSV)",
        "Template: both (Excel .xlsx)",
        "This dataset: studies (CSV)",
        "This dataset: outcomes (CSV)",
        "This dataset: studies (Parquet)",
        "This dataset: outcomes (Parquet)",
        "Download the project (.zip)",
        "This dataset: description (JSON)",
    ]


def _bcg_at_one_year() -> list[tuple[str, bytes, str]]:
    """The bcg fixture made selectable by the app: external RT and its events placed at t = 1,
    so the default DFS time point uses them (test data only: the TB counts are end-of-trial)."""
    studies = pd.read_csv(BCG_DIR / "studies.csv").assign(rt_type="external")
    outcomes = pd.read_csv(BCG_DIR / "outcomes.csv").assign(time_years=1.0)
    return [
        ("studies.csv", studies.to_csv(index=False).encode(), "text/csv"),
        ("outcomes.csv", outcomes.to_csv(index=False).encode(), "text/csv"),
    ]


def test_overview_metrics_come_from_the_upload() -> None:
    query = "?indication=other&design=RCT&design=prospective-nonrandomized"
    at = open_app(query, page="studies")
    at.file_uploader[0].set_value(_bcg_at_one_year()).run()
    _no_exception(at)
    _key, dataset = at.session_state["upload"]
    at.switch_page(PAGES["overview"]).run()
    _no_exception(at)
    shown = metric_values(at)
    analysis = analyse(at.session_state["view_state"], dataset)
    dfs = analysis.outcomes["DFS"].pooled
    assert dfs is not None and dfs.k == 13
    # OS has no data in the upload, so only the DFS column shows metrics
    assert shown["Pooled OR"] == [fmt_ratio(math.exp(dfs.estimate))]
    assert shown["Studies (k)"] == ["13"]
    if BCG_JSON.exists():
        ref = json.loads(BCG_JSON.read_text())["expected"]["OR"]["pooled"]["REML"]
        assert dfs.estimate == pytest.approx(ref["estimate"], abs=1e-6)


def test_session_upload_is_used_by_every_page() -> None:
    files = [(n, b) for n, b, _ in _bcg_files()]
    dataset, report = load_files(dict(files))
    assert dataset is not None, report.text()
    for page in PAGES:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
        at.session_state["upload"] = (upload.dataset_key(files), dataset)
        at.query_params["indication"] = "other"
        at.run()
        if page != "overview":
            at.switch_page(PAGES[page]).run()
        _no_exception(at)


def test_export_round_trip_loads_the_same_dataset() -> None:
    files = [
        ("studies.csv", export_csv(BUNDLED.studies)),
        ("outcomes.csv", export_csv(BUNDLED.outcomes)),
    ]
    result = upload.handle_upload(files)
    assert result.loaded, result.report.text()
    assert result.dataset is not None
    pd.testing.assert_frame_equal(result.dataset.studies, BUNDLED.studies)
    pd.testing.assert_frame_equal(result.dataset.outcomes, BUNDLED.outcomes)


def test_app_keeps_uploads_in_memory_up_to_its_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """app.py raises the web server's spooling threshold above ``server.maxUploadSize`` (from
    .streamlit/config.toml) before any upload (tests/unit/test_upload_spooling.py shows the
    parser then keeps a large upload in memory)."""
    import tomllib

    from starlette.formparsers import MultiPartParser

    config = tomllib.loads((Path(__file__).parents[2] / ".streamlit/config.toml").read_text())
    limit_mb = config["server"]["maxUploadSize"]
    monkeypatch.setattr(MultiPartParser, "spool_max_size", 1024 * 1024)
    at = open_app("", page="studies")
    assert not at.exception
    assert MultiPartParser.spool_max_size > limit_mb * 1024 * 1024
