"""Hostile text and sizes cannot hurt the server through an export: figures are drawn in a
worker process (core/report/render_worker.py) from sanitised specs (core/sanitize.py), so a
label with a NUL, a vertical tab or U+FFFE, or 10,000 characters long, exports as PNG, SVG,
PDF and in both reports; a renderer that aborts, fails or hangs costs one export, with a plain
:class:`ExportError`, and the next export works."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import textwrap
import types
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

import pytest

import core.report.figures as figures
from core.charts.forest import forest_chart
from core.charts.rob import rob_summary_chart
from core.data.dataset import load_files
from core.data.export import export_csv
from core.report import render_worker
from core.report.document import report_html, report_pdf
from core.sanitize import LABEL_LIMIT, REPLACEMENT
from core.state.view import parse_query
from core.views import rob
from core.views.analysis import analyse, forest_footer, forest_frame
from core.views.results_table import results_frame
from tests.fixtures.uploads import controls
from tests.unit.test_export import png_info

# every study passes the filters, and interpolated rates let most of them be pooled
STATE = parse_query(
    "scope=all&tpoint=interp&design=RCT,PSM,prospective-nonrandomized,retrospective"
    "&indication=PVTT,narrow_margin,MVI,other&rt=external,internal"
).state
CREATED = datetime(2026, 1, 1, tzinfo=UTC)
RAW_BAD = ("\x00", "\x07", "\x0b", "\x1b", "\x85", "\ufffe", "\U0010ffff")


@pytest.fixture(scope="module")
def hostile():
    ds = controls.dataset()
    return ds, analyse(STATE, ds)


@pytest.fixture(scope="module")
def charts(hostile):
    """Forest plots of the view whose study rows carry every hostile label (as many plots as
    that takes), and a hostile title."""
    ds, an = hostile
    oa = max(an.outcomes.values(), key=lambda o: o.k)
    frame = forest_frame(oa, STATE, ds.studies)
    rows = frame.index[frame["kind"] == "study"]
    out = []
    for start in range(0, len(controls.LABELS), len(rows)):
        labels = (controls.LABELS * 2)[start : start + len(rows)]
        f = frame.copy()
        f.loc[rows, "label"] = [f"{t} S{start + i}" for i, t in enumerate(labels)]
        out.append(forest_chart(f, measure_label="Odds ratio", title=f"{oa.title} \x0b\ufffe"))
    return out


@pytest.fixture(scope="module")
def chart(charts):
    return charts[0]


def _svg_text(svg: str) -> str:
    root = ET.fromstring(svg)  # a non-XML character would make this raise
    return " ".join(t for el in root.iter() if (t := el.text))


def test_hostile_labels_export_in_every_format(charts) -> None:
    pngs, svgs, pdfs = (figures.charts_to(f, charts) for f in ("png", "svg", "pdf"))
    text = " ".join(_svg_text(svg.decode("utf-8")) for svg in svgs)
    assert REPLACEMENT in text and "Wang" in text and "Kuang" in text
    assert not any(c in text for c in RAW_BAD)
    # the 10,000-character label is drawn clipped, ending in an ellipsis
    longest = max((w for w in text.split(" ") if w.startswith("xxxx")), key=len)
    assert len(longest) < LABEL_LIMIT and longest.endswith("…")
    for png in pngs:
        w, h, _ = png_info(png)
        assert 0 < w * h <= render_worker.MAX_PIXELS
    assert all(pdf.startswith(b"%PDF") and len(pdf) > 1000 for pdf in pdfs)


def test_lone_surrogate_and_nul_in_a_spec() -> None:
    spec = {
        "data": {"values": [{"a": "x\ud800y", "b": 1}, {"a": "z\x00\x0b\uffff", "b": 2}]},
        "mark": "bar",
        "encoding": {"y": {"field": "a", "type": "nominal"}, "x": {"field": "b"}},
        "title": "t\ud800",
    }
    text = _svg_text(figures.chart_to_svg(spec))
    assert f"x{REPLACEMENT}y" in text and f"z{REPLACEMENT * 3}" in text


def test_huge_figure_is_drawn_at_a_capped_resolution() -> None:
    spec = {
        "width": 8000,
        "height": 8000,
        "data": {"values": [{"a": 1}]},
        "mark": "point",
        "encoding": {"x": {"field": "a", "type": "quantitative"}},
    }
    w, h, _ = png_info(figures.chart_to_png(spec, ppi=300))
    # 8000 px at 300 ppi would be 33,333 px square (1.1 G pixels); capped instead
    assert w * h <= render_worker.MAX_PIXELS
    assert w * h > 0.8 * render_worker.MAX_PIXELS


def test_reports_with_hostile_labels(hostile) -> None:
    ds, an = hostile
    html = report_html(an, STATE, ds, "https://x.org/?a=1", CREATED)
    assert REPLACEMENT in html
    assert not any(c in html for c in RAW_BAD)
    assert "<img" in html  # the forest plots are there
    pdf = report_pdf(an, STATE, ds, "https://x.org/?a=1", CREATED)
    assert pdf.startswith(b"%PDF") and pdf.rstrip().endswith(b"%%EOF")


def _fake_worker(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, body: str) -> None:
    script = tmp_path / "worker.py"
    script.write_text(textwrap.dedent(body))
    fake = types.SimpleNamespace(__file__=str(script), LENGTH=render_worker.LENGTH)
    monkeypatch.setattr(figures, "render_worker", fake)


def test_a_native_abort_costs_one_export(chart, monkeypatch, tmp_path) -> None:
    with monkeypatch.context() as m:
        _fake_worker(m, tmp_path, "import os, sys\nsys.stdin.read()\nos.abort()\n")
        with pytest.raises(figures.ExportError, match="renderer stopped"):
            figures.chart_to_svg(chart)
    # this process lives on, and the next export works
    assert figures.chart_to_svg(chart).startswith("<svg")


def test_a_python_error_in_the_worker_is_a_plain_message(monkeypatch, tmp_path) -> None:
    _fake_worker(
        monkeypatch,
        tmp_path,
        "import sys\nprint('Image too large\\nfor memory', file=sys.stderr)\nsys.exit(1)\n",
    )
    with pytest.raises(figures.ExportError, match="could not be drawn: for memory"):
        figures.chart_to_png({"mark": "point"})


def test_a_hanging_worker_times_out(monkeypatch, tmp_path) -> None:
    _fake_worker(monkeypatch, tmp_path, "import time\ntime.sleep(30)\n")
    monkeypatch.setattr(figures, "WORKER_TIMEOUT", 0.5)
    with pytest.raises(figures.ExportError, match=r"longer than 0\.5 s"):
        figures.chart_to_pdf({"mark": "point"})


def test_worker_caps_its_own_memory(tmp_path) -> None:
    """The real worker's main() sets its limit: an allocation past WORKER_MEMORY then fails."""
    probe = tmp_path / "probe.py"
    probe.write_text(
        "import runpy, sys\n"
        f"w = runpy.run_path({str(render_worker.__file__)!r})\n"
        "assert w['main']() == 0\n"
        "try:\n    b = bytearray(w['WORKER_MEMORY'] + (1 << 20))\n"
        "except MemoryError:\n    sys.exit(3)\n"
    )
    done = subprocess.run([sys.executable, "-I", str(probe)], input=b"[]", check=False, timeout=60)
    assert done.returncode == 3


def test_new_exports_with_hostile_labels() -> None:
    """The exports the forest columns and risk-of-bias features brought: a forest plot with
    traffic-light columns, subgroups and its footer, the risk-of-bias summary chart, and the
    results CSV, from a RoB 2 dataset whose labels carry control characters and U+FFFE."""
    rob2 = Path(__file__).resolve().parents[1] / "fixtures" / "rob2"
    ds, report = load_files({p.name: p.read_bytes() for p in sorted(rob2.glob("*.csv"))})
    assert ds is not None, report
    studies = ds.studies.copy()
    labels = controls.LABELS
    studies["label"] = [f"S{i} {labels[i % len(labels)]}" for i in range(len(studies))]
    ds = dataclasses.replace(ds, studies=studies)
    state = parse_query("v=2&scope=all&group=design&sort=label").state
    oa = max(analyse(state, ds).outcomes.values(), key=lambda o: o.k)
    assert oa.k >= 2
    footer = forest_footer(oa)
    frame = forest_frame(oa, state, ds.studies)
    assert "rob_overall" in frame  # the traffic-light columns are drawn
    forest = forest_chart(frame, measure_label=oa.short_title, footer=footer)
    summary = rob_summary_chart(rob.summary_frame(ds.studies, ds.studies["study_id"]))
    for fmt in ("png", "svg", "pdf"):
        out = figures.charts_to(fmt, [forest, summary])
        assert len(out) == 2 and all(len(b) > 1000 for b in out)
    svg = figures.charts_to("svg", [forest])[0].decode("utf-8")
    text = _svg_text(svg)
    assert REPLACEMENT in text and not any(c in text for c in RAW_BAD)
    assert "Heterogeneity" in text  # the footer is drawn
    csv = export_csv(results_frame(oa, ds.studies, state.sort))
    assert csv.decode("utf-8").count("\n") > oa.k
