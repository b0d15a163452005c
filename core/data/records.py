"""Links to a study's own records (DOI, PubMed entry, ClinicalTrials.gov registration), built
from the identifiers in the studies table's ``doi_or_pmid`` cell (e.g. "10.1200/JCO.18.02184;
PMID 31283409"). They are what a clinician opens first; the addresses where the numbers were
read (``source_urls``, sometimes a mirror or a translation proxy) come after them. Nothing is
looked up: a link is made only from an identifier the table states."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote

# A DOI is "10." + registrant code + "/" + suffix (DOI Handbook 2.2); the suffix ends at a
# separator of the cell (";", ",", whitespace).
_DOI = re.compile(r"(?<![\w.])(10\.\d{4,9}/[^\s;,]+)")
_PMID = re.compile(r"\bPMID\s*:?\s*(\d{1,9})\b", re.IGNORECASE)
_NCT = re.compile(r"\b(NCT\d{8})\b")


@dataclass(frozen=True)
class RecordLink:
    """One record of a study: ``kind`` "DOI", "PubMed" or "ClinicalTrials.gov", the
    identifier and its address."""

    kind: str
    identifier: str
    url: str


def record_links(value: object) -> tuple[RecordLink, ...]:
    """The records named in a ``doi_or_pmid`` cell (DOIs, then PubMed, then trial
    registrations), each once."""
    text = value if isinstance(value, str) else ""
    found: list[RecordLink] = []
    for doi in dict.fromkeys(m.rstrip(".") for m in _DOI.findall(text)):
        found.append(RecordLink("DOI", doi, "https://doi.org/" + quote(doi, safe="/:;()._-")))
    for pmid in dict.fromkeys(_PMID.findall(text)):
        found.append(RecordLink("PubMed", pmid, f"https://pubmed.ncbi.nlm.nih.gov/{int(pmid)}/"))
    for nct in dict.fromkeys(_NCT.findall(text)):
        found.append(
            RecordLink("ClinicalTrials.gov", nct, f"https://clinicaltrials.gov/study/{nct}")
        )
    return tuple(found)


def ordered_sources(doi_or_pmid: object, source_urls: list[str]) -> list[tuple[str, str]]:
    """(what, url) for a study's links: its records first ("DOI record", "PubMed record",
    "ClinicalTrials.gov record"), then the addresses where its numbers were read, without
    repeats."""
    rows = [(f"{r.kind} record", r.url) for r in record_links(doi_or_pmid)]
    seen = {url for _, url in rows}
    rows += [("where the numbers were read", u) for u in source_urls if u not in seen]
    return rows
