"""A description's own filter columns and default effect measure (issue 15): dat.bcg's
``alloc`` filters the studies through the link key ``filter=alloc.random`` (old links keep
their meaning), the filter sentences and the presenter's line speak its words, and a link
without ``measure`` means the description's measure."""

from __future__ import annotations

from pathlib import Path

from core.data.dataset import load_files
from core.data.description import link_defaults, own_columns, parse
from core.report.narrative import described_filters
from core.state.view import (
    column_filters,
    describe_filters,
    encode_query,
    parse_query,
    with_column_filter,
)
from core.views import board
from core.views.analysis import analyse, select_studies

BCG = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "bcg_described"
RANDOM = ("trial1", "trial2", "trial3", "trial4", "trial7", "trial8", "trial9")


def _bcg():
    files = {p.name: p.read_bytes() for p in BCG.iterdir() if p.suffix in (".csv", ".json")}
    dataset, report = load_files(files)
    assert dataset is not None, report.text()
    return dataset


def test_the_filter_key_round_trips_and_old_links_keep_their_meaning() -> None:
    state = parse_query("v=2&filter=alloc.random&filter=alloc.alternate").state
    assert column_filters(state) == {"alloc": ("alternate", "random")}
    assert encode_query(state) == "v=2&filter=alloc.alternate&filter=alloc.random"
    assert parse_query(encode_query(state)).state == state
    assert column_filters(with_column_filter(state, "alloc", [])) == {"alloc": ()}
    assert with_column_filter(state, "alloc", None).filters == ()
    old = "v=2&design=RCT&exclude=Yu2014&measure=HR"
    assert encode_query(parse_query(old).state) == old  # no filter key added
    assert parse_query(old).state.filters == ()


def test_a_link_without_measure_means_the_descriptions_measure() -> None:
    assert parse_query("v=2", {"measure": "RR"}).state.measure == "RR"
    assert parse_query("v=2&measure=OR", {"measure": "RR"}).state.measure == "OR"
    rr = parse_query("v=2&method=DL", {"measure": "RR"}).state
    assert encode_query(rr, {"measure": "RR"}) == "v=2&method=DL"
    assert encode_query(rr.replace(measure="OR"), {"measure": "RR"}) == "v=2&measure=OR&method=DL"
    assert parse_query("v=2", {"measure": "SMD", "nonsense": 1}).state.measure == "OR"
    words, problems = parse(b'{"title": "T", "outcomes": [{"code": "A"}], "measure": "RD"}')
    assert not problems and words is not None and link_defaults(words) == {"measure": "RD"}


def test_alloc_is_read_and_filters_the_studies() -> None:
    dataset = _bcg()
    assert own_columns(dataset.description) == ("alloc",)
    assert dataset.studies["alloc"].tolist()[:5] == ["random"] * 4 + ["alternate"]
    assert not [p for p in dataset.report.problems if "alloc" in p.message]
    state = parse_query("v=2&filter=alloc.random").state
    sel = select_studies(dataset.studies, state, dataset.description)
    assert sel.ids == RANDOM
    assert dict(sel.filtered_out)["trial5"] == "Allocation alternate not selected"
    everything = select_studies(dataset.studies, parse_query("").state, dataset.description)
    assert len(everything.ids) == 13
    none = parse_query("v=2&filter=alloc").state  # the column alone: no value kept
    assert select_studies(dataset.studies, none, dataset.description).ids == ()


def test_filter_sentences_and_the_presenter_line_speak_the_descriptions_words() -> None:
    dataset = _bcg()
    state = parse_query("v=2&filter=alloc.random").state
    oa = analyse(state, dataset).outcomes["OS"]
    lines = described_filters(state, [oa])
    assert lines[0] == "Allocation: random allocation"
    assert not [line for line in lines if "Indication" in line or "Radiotherapy" in line]
    assert "Odds ratio of TB" in lines
    line = board.filters_line(state, dataset.description, oa.title)
    assert line.startswith("Allocation: random allocation · odds ratio of TB · ")
    assert "PVTT" not in line and "RT" not in line.split()
    # without a description the link's filter is still named, by its column
    assert "Filter on the column alloc: random" in describe_filters(state)


def test_the_report_names_the_bcg_outcome_and_arms_in_their_words() -> None:
    import re
    from datetime import UTC, datetime

    from core.report.document import report_html, report_pdf

    dataset = _bcg()
    state = parse_query("v=2&measure=RD").state
    html = report_html(analyse(state, dataset), state, dataset, "https://x/?v=2", datetime.now(UTC))
    text = re.sub(r"<[^>]+>", " ", html)
    assert "Risk differences (vaccinated minus not vaccinated, as proportions)" in text
    assert "of an event (TB case for TB) by the end of follow-up" in text
    assert "Patients (vaccinated vs not vaccinated)" in text
    for bad in (r"\bRT\b", r"\bOS\b", r"\bDFS\b", "HCC", "PVTT", "death", "Rim et al"):
        assert not re.search(bad, text), bad
    assert "Indication" not in text and "Design" not in text  # columns dat.bcg leaves empty
    pdf = report_pdf(analyse(state, dataset), state, dataset, "https://x/?v=2", datetime.now(UTC))
    assert pdf.startswith(b"%PDF")


def test_the_r_script_of_a_described_dataset_uses_its_words() -> None:
    from core.report.rscript import r_script

    dataset = _bcg()
    state = parse_query("v=2&filter=alloc.random").state
    script = r_script(analyse(state, dataset), dataset)
    assert script.startswith("# BCG vaccine against tuberculosis: evidence explorer view,\n")
    assert "#   Allocation: random allocation\n" in script
    assert "# ===== TB (slot OS): Odds ratio of TB " in script
    assert 'show_pooled("TB", "OR", res_OS, exp)' in script
    assert "HCC" not in script and "DFS" not in script


def test_a_filter_the_dataset_does_not_offer_is_ignored_with_a_notice() -> None:
    from core.data.dataset import load_bundled

    state = parse_query("v=2&filter=alloc.random&filter=design.RCT").state
    bundled = analyse(state, load_bundled())
    assert bundled.notices == (
        "Filter (filter): the dataset offers no filter on the column 'alloc'; ignored.",
        "Filter (filter): the dataset offers no filter on the column 'design'; ignored.",
    )
    assert analyse(state, _bcg()).notices == (
        "Filter (filter): the dataset offers no filter on the column 'design'; ignored.",
    )
