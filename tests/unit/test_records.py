"""Links to a study's own records from its doi_or_pmid cell (core.data.records)."""

from __future__ import annotations

import pandas as pd

from core.data.dataset import load_bundled
from core.data.records import RecordLink, ordered_sources, record_links


def test_doi_and_pmid_in_one_cell() -> None:
    assert record_links("10.1200/JCO.18.02184; PMID 31283409") == (
        RecordLink("DOI", "10.1200/JCO.18.02184", "https://doi.org/10.1200/JCO.18.02184"),
        RecordLink("PubMed", "31283409", "https://pubmed.ncbi.nlm.nih.gov/31283409/"),
    )


def test_separators_case_and_trailing_period() -> None:
    got = record_links("pmid: 24559953, 10.1016/j.jamcollsurg.2013.11.030.")
    assert [(r.kind, r.identifier, r.url) for r in got] == [
        (
            "DOI",
            "10.1016/j.jamcollsurg.2013.11.030",
            "https://doi.org/10.1016/j.jamcollsurg.2013.11.030",
        ),
        ("PubMed", "24559953", "https://pubmed.ncbi.nlm.nih.gov/24559953/"),
    ]


def test_registry_ids_and_odd_characters() -> None:
    (nct,) = record_links("NCT04891874")
    assert nct.url == "https://clinicaltrials.gov/study/NCT04891874"
    (doi,) = record_links("10.1002/(SICI)1097-0258(19980930)17:18<2039::AID-SIM>3.0.CO;2-1")
    # the DOI is cut at the cell's separator ';' and its '<' '>' are percent-encoded
    assert (
        doi.url == "https://doi.org/10.1002/(SICI)1097-0258(19980930)17:18%3C2039::AID-SIM%3E3.0.CO"
    )


def test_nothing_is_made_up() -> None:
    for cell in (None, float("nan"), "", "Lancet 1999;353(9155):797-801", "see 10.12/x", "PMID"):
        assert record_links(cell) == ()


def test_records_come_first_without_repeats() -> None:
    rows = ordered_sources(
        "PMID 31283409", ["https://pubmed.ncbi.nlm.nih.gov/31283409/", "https://mirror.example/1"]
    )
    assert rows == [
        ("PubMed record", "https://pubmed.ncbi.nlm.nih.gov/31283409/"),
        ("where the numbers were read", "https://mirror.example/1"),
    ]


def test_every_bundled_identifier_gives_a_link_or_is_a_citation() -> None:
    """Each bundled study with a DOI or PMID in its cell gets that link; the others hold a
    journal citation, a trial registration or nothing."""
    for cell in load_bundled().studies["doi_or_pmid"]:
        text = "" if pd.isna(cell) else str(cell)
        kinds = {r.kind for r in record_links(text)}
        assert ("DOI" in kinds) == ("10." in text)
        assert ("PubMed" in kinds) == ("PMID" in text)
