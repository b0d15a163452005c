"""The one-click report (core.report.document, ui.report): content equals core's results, the HTML
is self-contained and escapes every piece of data, the PDF carries the same text."""

from __future__ import annotations

import base64
import html
import math
import re
import xml.etree.ElementTree as ET
import zlib
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import core.report.document as report
from core.data.dataset import load_bundled, load_files, published
from core.report.narrative import described_filters, left_out, summary_sentence
from core.report.sof import DISCLAIMER as SOF_DISCLAIMER
from core.report.sof import SOF_COLUMNS, Override, sof_display, sof_table
from core.state.view import ViewState, encode_query
from core.views.analysis import analyse
from tests.fixtures.uploads import xss

CREATED = datetime(2025, 5, 1, 10, 30, tzinfo=UTC)
BUNDLED = load_bundled()
STATE = ViewState()
LINK = "https://rt-hcc.example.org/?" + encode_query(ViewState(design=("RCT",), qmin=4.0))
HOSTILE_LINK = 'javascript:alert(1)//"><script>alert(1)</script>'
HAS_DEJAVU = report._font_files() is not None


def _html(state: ViewState = STATE, dataset=BUNDLED, link: str = LINK, **kw) -> str:
    return report.report_html(analyse(state, dataset), state, dataset, link, CREATED, **kw)


@pytest.fixture(scope="module")
def default_html() -> str:
    return _html()


@pytest.fixture(scope="module")
def xss_dataset():
    ds, rep = load_files(xss.files())
    assert ds is not None, rep.text()
    return ds


# ---------------------------------------------------------------------------------------
# HTML structure helpers

ALLOWED_TAGS = {
    "html", "head", "meta", "title", "style", "body", "h1", "h2", "h3", "p", "ul", "li", "a",
    "span", "section", "dl", "dt", "dd", "figure", "img", "figcaption", "table", "thead",
    "tbody", "tr", "th", "td", "strong", "br",
}  # fmt: skip


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, attrs))

    def handle_data(self, data):
        self.text.append(data)


def _parse(doc: str) -> _Collect:
    p = _Collect()
    p.feed(doc)
    p.close()
    return p


def _svgs(doc: str) -> list[str]:
    prefix = "data:image/svg+xml;base64,"
    out = []
    for tag, attrs in _parse(doc).tags:
        if tag == "img":
            src = dict(attrs)["src"] or ""
            assert src.startswith(prefix)
            out.append(base64.b64decode(src[len(prefix) :]).decode("utf-8"))
    return out


def _assert_safe(doc: str) -> _Collect:
    """Only the report's own tags; no event handler, no script, no remote resource; links
    only to http(s) addresses; images only inline SVG that holds no script either."""
    parsed = _parse(doc)
    for tag, attrs in parsed.tags:
        assert tag in ALLOWED_TAGS, tag
        for name, value in attrs:
            assert not name.startswith("on"), (tag, name)
            assert name in {"lang", "charset", "http-equiv", "content", "name", "class"} | {
                "href",
                "src",
                "alt",
            }, (tag, name)
            if name == "href":
                assert tag == "a" and re.match(r"https?://[^\s\"'<>]+\Z", value or ""), value
            if name == "src":
                assert tag == "img" and (value or "").startswith("data:image/svg+xml;base64,")
    for svg in _svgs(doc):
        for el in ET.fromstring(svg).iter():
            local = el.tag.rsplit("}", 1)[-1]
            assert local not in {"script", "foreignObject", "iframe"}, local
            assert not any(a.lower().startswith("on") for a in el.attrib), el.attrib
            for a, v in el.attrib.items():
                if a.endswith("href"):
                    assert not v.strip().lower().startswith("javascript"), v
    assert "url(" not in doc and "@import" not in doc
    assert "Content-Security-Policy" in doc and "default-src 'none'" in doc
    return parsed


# ---------------------------------------------------------------------------------------
# HTML content


def test_html_holds_every_part_with_core_numbers(default_html: str) -> None:
    doc = default_html
    text = html.unescape(doc)
    analysis = analyse(STATE, BUNDLED)
    assert "<title>Perioperative radiotherapy for HCC: the pooled evidence</title>" in doc
    assert "not treatment advice" in doc
    assert "01 May 2025, 10:30 UTC" in doc
    assert f'<a href="{html.escape(LINK)}">{html.escape(LINK)}</a>' in doc
    for line in described_filters(STATE, list(analysis.outcomes.values())):
        assert f"<li>{html.escape(line)}</li>" in doc
    # the measure line names what the studies measured (Yu 2014 reports RFS, not DFS)
    assert "Odds ratio of 2-year OS; odds ratio of 1-year DFS or RFS (mixed endpoint " in text
    for oa in analysis.outcomes.values():
        p = oa.pooled
        assert p is not None
        assert f"<dd>{math.exp(p.estimate):.2f}</dd>" in doc
        assert f"<dd>{math.exp(p.ci_low):.2f}–{math.exp(p.ci_high):.2f}</dd>" in doc
        assert f"<dd>{p.k}</dd>" in doc and f"<dd>{oa.patients}</dd>" in doc
        assert f"<dd>{p.tau2:.4f}</dd>" in doc
        assert html.escape(summary_sentence(oa, STATE, BUNDLED.studies)) in doc
        for label, why in left_out(oa, BUNDLED.studies):
            assert f"<td>{html.escape(label)}</td><td>{html.escape(why)}</td>" in doc
    # the default t interval on k - 2 = 1 df (hand-worked in test_cli_analyze)
    pred = analysis.outcomes["DFS"].prediction
    assert pred is not None and (pred.method, pred.df) == ("t", 1)
    assert (math.exp(pred.low), math.exp(pred.high)) == (
        pytest.approx(0.0031, abs=5e-5),
        pytest.approx(65.22, abs=5e-3),
    )
    assert "<dt>95% prediction interval</dt><dd>0.003–65.22</dd>" in doc
    assert "t distribution with k − 2 degrees of freedom" in doc
    assert doc.count("<dd>Random effects (REML)</dd>") == 2
    # summary of findings: the same rows as core.report.sof, with the disclaimer
    for row in sof_table(analysis, BUNDLED.studies):
        assert f"Certainty, {row.title}: {row.certainty.label}" in text
        assert row.nnt.text in text
    assert SOF_DISCLAIMER in text
    # the table itself is the page's (one builder, core.report.sof.sof_display): same header
    # and the same cells, in order
    shown = sof_display(sof_table(analysis, BUNDLED.studies))
    assert list(shown.columns) == list(SOF_COLUMNS)
    sof_header = "".join(f"<th>{html.escape(c)}</th>" for c in SOF_COLUMNS)
    assert sof_header in doc
    for cells in shown.itertuples(index=False):
        assert "".join(f"<td>{html.escape(str(v))}</td>" for v in cells) in doc
    # published results (bundled data), studies with sources and the editorial score note
    for entry in published()["results"]:
        assert f"{entry['outcome']} {entry['estimate']} (95% CI {entry['ci_low']} to" in text
    assert "Rim CH, Park S, Yoon WS" in text
    assert "editorial rating" in text
    assert '<a href="https://www.pubmed.gov/31283409/">' in doc
    assert "<td>10.1200/JCO.18.02184; PMID 31283409</td>" in doc
    assert "Wang WH 2015</td><td>design retrospective not selected" in doc
    # methods
    for words in ("restricted maximum likelihood", "Wald-type", "0.5 added to each cell"):
        assert words in text
    assert "round(n × (1 − rate))" in text and "interpolated log-linearly" in text
    assert "2 study rows were interpolated" in text  # Yu2014 and Shi2022, 2-year OS


def test_html_is_self_contained_and_has_both_forest_plots(default_html: str) -> None:
    _assert_safe(default_html)
    svgs = _svgs(default_html)
    assert len(svgs) == 2
    analysis = analyse(STATE, BUNDLED)
    dfs = analysis.outcomes["DFS"].pooled
    ci = f"{math.exp(dfs.estimate):.2f} [{math.exp(dfs.ci_low):.2f}, {math.exp(dfs.ci_high):.2f}]"
    assert ci in svgs[1]
    assert all(label in svgs[1] for label in ("Wei 2019", "Yu 2014", "Shi 2022"))
    assert "Odds ratio of 2-year OS" in svgs[0]


def test_published_results_only_beside_the_bundled_data(xss_dataset) -> None:
    doc = _html(dataset=xss_dataset)
    assert "Rim et al. 2024" not in doc and "Published meta-analysis" not in doc
    assert "Data: upload." in doc


def test_methods_follow_the_view() -> None:
    interp = ViewState(tpoint="interp", t_os=3.0, method="DL", ci="hksj")
    text = html.unescape(_html(interp))
    assert "interpolated log-linearly" in text
    n = sum(int(o.rows["interpolated"].sum()) for o in analyse(interp, BUNDLED).outcomes.values())
    assert f"{n} study rows were interpolated" in text
    assert "DerSimonian-Laird (DL)" in text and "Hartung-Knapp-Sidik-Jonkman" in text
    hr = html.unescape(_html(ViewState(measure="HR", design=("RCT", "PSM"), scope="all")))
    assert "Hazard ratios enter as ln(HR)" in hr and "0.5 added" not in hr
    exact = html.unescape(_html(ViewState(tpoint="exact")))
    assert "round(n × (1 − rate))" in exact and "interpolated log-linearly" not in exact
    ee = html.unescape(_html(ViewState(method="EE")))
    assert "common-effect (inverse-variance) model" in ee and "τ²</dt>" not in ee


def test_nothing_pooled_reads_as_such() -> None:
    state = ViewState(design=())
    doc = _html(state)
    _assert_safe(doc)
    assert "<img" not in doc
    assert "Nothing can be pooled for overall survival" in html.unescape(doc)


def test_user_judgements_go_into_the_report() -> None:
    note = "<b onmouseover=alert(1)>trial population differs</b>"
    doc = _html(overrides={("DFS", "indirectness"): Override("serious", note)})
    _assert_safe(doc)
    text = html.unescape(doc)
    assert "serious (judged by the user; the aid: not judged)" in text
    assert f"User's reason: {note}" in text
    # the report says the rating is provisional and what is still to be judged
    assert "Provisional: no rating yet for publication bias (not assessable)" in text
    assert html.escape(note) in doc and "<b " not in doc


def test_hostile_dataset_and_link_are_shown_as_text(xss_dataset) -> None:
    doc = _html(dataset=xss_dataset, link=HOSTILE_LINK)
    parsed = _assert_safe(doc)
    text = "".join(parsed.text)
    for payload in xss.PAYLOADS[:5]:
        assert payload in text  # shown, literally, as text
    assert HOSTILE_LINK in text
    assert not any(tag == "a" and "javascript" in str(attrs) for tag, attrs in parsed.tags)
    assert "<script" not in doc.lower() and "<iframe" not in doc.lower()
    # the source column's payload ('javascript:...;https://example.org/<script>'): never a link
    assert "https://example.org/&lt;script&gt;" in doc
    assert 'href="https://example.org' not in doc
    # labels inside the forest plots stay text in the SVG too (its elements: _assert_safe)
    svgs = _svgs(doc)
    assert not any("<script" in svg for svg in svgs)
    assert "&lt;script&gt;window.__xss=1;alert(1)&lt;/script&gt; S1" in svgs[1]


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://pubmed.ncbi.nlm.nih.gov/31283409/", True),
        ("http://example.org/a?b=1&c=2", True),
        ("  https://example.org/x  ", True),
        ("javascript:alert(1)", False),
        ("JAVASCRIPT:alert(1)", False),
        ("data:text/html,<script>alert(1)</script>", False),
        ("https://example.org/\"onmouseover='x'", False),
        ("https://example.org/<script>", False),
        ("https://exa mple.org/", False),
        ("ftp://example.org/", False),
        ("//example.org/", False),
        ("", False),
    ],
)
def test_only_plain_http_urls_become_links(url: str, ok: bool) -> None:
    assert (report.safe_url(url) is not None) is ok
    anchor = report._a(url)
    assert anchor.startswith("<a href=") is ok
    if not ok:
        assert anchor == html.escape(url)


# ---------------------------------------------------------------------------------------
# PDF: a small text extractor for fpdf2's uncompressed output


def _objects(pdf: bytes) -> dict[int, bytes]:
    return {int(m[1]): m[2] for m in re.finditer(rb"(\d+) 0 obj\s(.*?)endobj", pdf, re.S)}


def _unescape_literal(s: bytes) -> bytes:
    out = bytearray()
    i = 0
    simple = {ord("n"): 10, ord("r"): 13, ord("t"): 9, ord("b"): 8, ord("f"): 12}
    while i < len(s):
        c = s[i]
        if c == 0x5C and i + 1 < len(s):
            n = s[i + 1]
            if n in simple:
                out.append(simple[n])
                i += 2
            elif 0x30 <= n <= 0x37:
                m = re.match(rb"[0-7]{1,3}", s[i + 1 : i + 4])
                out.append(int(m[0], 8) & 0xFF)
                i += 1 + len(m[0])
            else:
                out.append(n)
                i += 2
        else:
            out.append(c)
            i += 1
    return bytes(out)


def _pdf_text(pdf: bytes) -> str:
    """The text drawn on every page, in order (fonts decoded through their ToUnicode maps;
    core fonts as Latin-1)."""
    objs = _objects(pdf)
    maps: dict[int, dict[int, str] | None] = {}
    for num, body in objs.items():
        if b"/Type /Font" in body and b"/BaseFont" in body:
            ref = re.search(rb"/ToUnicode (\d+) 0 R", body)
            if ref is None:
                maps[num] = None
                continue
            cmap = objs[int(ref[1])]
            table = {
                int(a, 16): chr(int(b, 16))
                for a, b in re.findall(rb"<([0-9A-Fa-f]{4})> <([0-9A-Fa-f]{4,8})>", cmap)
            }
            maps[num] = table
    fonts = dict(re.findall(rb"/(F\d+) (\d+) 0 R", b"".join(objs.values())))
    out: list[str] = []
    token = re.compile(rb"/(F\d+) [\d.]+ Tf|\(((?:\\.|[^\\)])*)\) Tj", re.S)
    for body in objs.values():
        if b"/Type /Page\n" not in body and b"/Type /Page " not in body:
            continue
        content = objs[int(re.search(rb"/Contents (\d+) 0 R", body)[1])]
        stream = content.split(b"stream", 1)[1].rsplit(b"endstream", 1)[0]
        cmap: dict[int, str] | None = None
        for m in token.finditer(stream):
            if m[1]:
                cmap = maps[int(fonts[m[1]])]
                continue
            raw = _unescape_literal(m[2])
            if cmap is None:
                out.append(raw.decode("latin-1"))
            else:
                out.append(
                    "".join(
                        cmap.get(int.from_bytes(raw[i : i + 2]), "") for i in range(0, len(raw), 2)
                    )
                )
            out.append(" ")
        out.append("\n")
    return re.sub(r"[ \n]+", " ", "".join(out))


def _pdf(state: ViewState = STATE, dataset=BUNDLED, link: str = LINK) -> bytes:
    rep = report.build_report(analyse(state, dataset), state, dataset, link, CREATED)
    return report.render_pdf(rep, compress=False)


def _pages(pdf: bytes) -> int:
    return len(re.findall(rb"/Type /Page[\s/>]", pdf))


def test_pdf_is_a_pdf_with_pages_and_figures() -> None:
    pdf = report.report_pdf(analyse(STATE, BUNDLED), STATE, BUNDLED, LINK, CREATED)
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    assert _pages(pdf) >= 2
    images = re.findall(rb"/Subtype /Image.*?/Width (\d+)", pdf, re.S)
    assert len(images) == 2  # both forest plots, at 200 ppi: wider than 1,000 pixels
    assert all(int(w) > 1000 for w in images)


@pytest.mark.skipif(not HAS_DEJAVU, reason="DejaVu Sans is not installed (fonts-dejavu-core)")
def test_pdf_text_holds_the_key_numbers_in_dejavu() -> None:
    pdf = _pdf()
    assert b"DejaVuSans" in pdf and b"/FontFile2" in pdf
    text = _pdf_text(pdf)
    analysis = analyse(STATE, BUNDLED)
    for oa in analysis.outcomes.values():
        p = oa.pooled
        assert f"{math.exp(p.estimate):.2f}" in text
        assert f"{math.exp(p.ci_low):.2f}–{math.exp(p.ci_high):.2f}" in text
        first = summary_sentence(oa, STATE, BUNDLED.studies).split(", ")[0]
        assert first in text
    assert "τ²" in text and "I²" in text
    for phrase in (
        "not treatment advice",
        "01 May 2025, 10:30 UTC",
        LINK,
        "Summary of findings",
        "not an official GRADE assessment",
        "⊕◯◯◯ Very low",  # 2-year OS: serious risk of bias, very serious imprecision
        "⊕⊕◯◯ Low",  # 1-year DFS: the t prediction interval crosses 1 (inconsistency)
        "Wei 2019",
        "https://www.pubmed.gov/31283409/",
        "editorial rating",
        "restricted maximum likelihood",
        "Indications: portal vein tumour thrombosis (PVTT), narrow resection margin",
    ):
        assert phrase in text, phrase
    # the link and the sources are clickable, and only http(s) addresses are
    uris = re.findall(rb"/URI \((.*?)\)", pdf)
    assert LINK.encode() in uris and all(u.startswith(b"http") for u in uris)


def test_pdf_falls_back_to_a_core_font(monkeypatch) -> None:
    monkeypatch.setattr(report, "FONT_DIRS", ())
    pdf = _pdf()
    assert b"/BaseFont /Helvetica" in pdf and b"DejaVu" not in pdf
    text = _pdf_text(pdf)
    p = analyse(STATE, BUNDLED).outcomes["DFS"].pooled
    assert f"{math.exp(p.ci_low):.2f}-{math.exp(p.ci_high):.2f}" in text  # en dash replaced
    assert "tau²" in text and "++oo Low" in text


def test_pdf_of_a_hostile_dataset(xss_dataset) -> None:
    pdf = _pdf(dataset=xss_dataset, link=HOSTILE_LINK)
    assert pdf.startswith(b"%PDF-")
    uris = re.findall(rb"/URI \((.*?)\)", pdf)
    assert all(u.startswith(b"http") for u in uris) and b"javascript" not in b"".join(uris)
    if HAS_DEJAVU:
        text = _pdf_text(pdf)
        assert xss.PAYLOADS[1] in text and HOSTILE_LINK in text


def test_pdf_compresses_by_default() -> None:
    pdf = report.report_pdf(analyse(STATE, BUNDLED), STATE, BUNDLED, LINK, CREATED)
    streams = re.findall(rb"/Filter /FlateDecode.*?stream\r?\n(.*?)endstream", pdf, re.S)
    assert streams and zlib.decompressobj().decompress(streams[0])


# ---------------------------------------------------------------------------------------
# The buttons: nothing is rendered on a run, only on a click


def _buttons_script() -> None:
    import streamlit as st

    import ui.report as ui_report
    from core.data.dataset import load_bundled
    from core.state.view import ViewState
    from core.views.analysis import analyse

    def boom(*args, **kwargs):
        raise AssertionError("a report was rendered on a plain run")

    ui_report.report_html = boom
    ui_report.report_pdf = boom
    state = ViewState()
    ds = load_bundled()
    ui_report.render_report_downloads(analyse(state, ds), state, ds, "https://example.org/?")
    with st.sidebar:
        ui_report.render_report_downloads(
            analyse(state, ds), state, ds, "https://example.org/?", key="side"
        )


def test_buttons_defer_the_work() -> None:
    at = AppTest.from_function(_buttons_script, default_timeout=60)
    at.run()
    assert not at.exception
    buttons = at.get("download_button")
    assert [b.proto.label for b in buttons] == ["Report (HTML)", "Report (PDF)"] * 2
    assert all(b.proto.deferred_file_id for b in buttons)


def test_deferred_callables_make_the_files(monkeypatch) -> None:
    """What the buttons' callables return: the HTML as UTF-8 and the PDF bytes."""
    import ui.report as ui_report

    made: list[tuple[str, object]] = []

    def fake(kind: str):
        def run(analysis, state, dataset, link, created, *, overrides):
            made.append((kind, overrides))
            assert created.tzinfo is not None and link == "L"
            return "<html>é</html>" if kind == "html" else b"%PDF-1.4"

        return run

    calls: list[dict] = []

    class FakeCol:
        def download_button(self, label, **kw):
            calls.append({"label": label, **kw})

    monkeypatch.setattr(ui_report, "report_html", fake("html"))
    monkeypatch.setattr(ui_report, "report_pdf", fake("pdf"))
    monkeypatch.setattr(ui_report, "judgements", lambda state: {("OS", "rob"): Override("serious")})
    monkeypatch.setattr(ui_report.st, "columns", lambda n: [FakeCol() for _ in range(n)])
    ui_report.render_report_downloads(analyse(STATE, BUNDLED), STATE, BUNDLED, "L")
    assert not made  # nothing rendered until a callable runs
    assert [c["on_click"] for c in calls] == ["ignore", "ignore"]
    assert calls[0]["data"]() == "<html>é</html>".encode()
    assert calls[1]["data"]() == b"%PDF-1.4"
    assert [k for k, _ in made] == ["html", "pdf"]
    assert made[0][1] == {("OS", "rob"): Override("serious")}
    assert Path(calls[0]["file_name"]).suffix == ".html"
