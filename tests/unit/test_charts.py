"""Spec-level tests of core.charts.forest.forest_chart: assertions on chart.to_dict(), no render."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest

from core.charts.forest import (
    DERIVED_MARK,
    EXCLUDED_DASH,
    FOREST_COLUMNS,
    LABEL_CHARS,
    LABEL_CHARS_NARROW,
    LABEL_PARAM,
    PALETTE,
    TOGGLE_PARAM,
    forest_chart,
    forest_domain,
    validate_forest_frame,
)


def forest_frame(grouped: bool = True) -> pd.DataFrame:
    rows: list[dict[str, Any]] = []

    def add(**k: Any) -> None:
        rows.append(k)

    if grouped:
        add(row_id="h1", label="Randomized trials", kind="heading")
    add(
        row_id="s1",
        label="Wei 2019",
        kind="study",
        study_id="Wei2019",
        group="RCT",
        est=0.35,
        low=0.23,
        high=0.54,
        weight=31.2,
        detail="60/82 vs 74/82",
        source="https://x.org/1",
        note="PVTT",
    )
    add(
        row_id="s2",
        label="Yu 2014",
        kind="study",
        study_id="Yu2014",
        group="RCT",
        est=0.52,
        low=0.21,
        high=1.31,
        weight=18.4,
        derived=True,
        detail="HR 0.52 (0.21–1.31)",
    )
    add(
        row_id="s3",
        label="Shi 2022",
        kind="study",
        study_id="Shi2022",
        group="RCT",
        est=0.8,
        low=0.0,
        high=math.inf,
        weight=2.0,
        detail="0/10 vs 0/12",
    )
    if grouped:
        add(
            row_id="g1",
            label="Subtotal (RCT)",
            kind="subgroup",
            group="RCT",
            est=0.41,
            low=0.28,
            high=0.61,
            weight=51.6,
        )
        add(row_id="h2", label="Propensity-matched", kind="heading")
    add(
        row_id="s4",
        label="Wang L 2023",
        kind="study",
        study_id="WangL2023",
        group="PSM",
        est=0.62,
        low=0.4,
        high=0.95,
        weight=28.0,
    )
    add(
        row_id="s5",
        label="Kuang 2024",
        kind="study",
        study_id="Kuang2024",
        group="PSM",
        est=1.4,
        low=0.6,
        high=3.2,
        weight=math.nan,
        included=False,
    )
    add(
        row_id="s6",
        label="Tao 2024",
        kind="study",
        study_id="Tao2024",
        group="PSM",
        est=0.3,
        low=0.12,
        high=math.nan,
        weight=20.4,
    )
    if grouped:
        add(
            row_id="g2",
            label="Subtotal (PSM)",
            kind="subgroup",
            group="PSM",
            est=0.5,
            low=0.33,
            high=0.76,
            weight=48.4,
        )
    add(
        row_id="p",
        label="Random effects (REML)",
        kind="pooled",
        est=0.45,
        low=0.33,
        high=0.61,
        weight=100.0,
    )
    add(row_id="pi", label="Prediction interval", kind="pi", est=0.45, low=0.22, high=0.93)
    return pd.DataFrame(rows)


def units(spec: dict[str, Any], data: Any = None) -> Iterator[dict[str, Any]]:
    """Every unit (non-composite) view of a spec, depth first, with its (inherited) data."""
    data = spec.get("data", data)
    for key in ("layer", "hconcat", "vconcat", "concat"):
        for child in spec.get(key, []):
            yield from units(child, data)
    if "mark" in spec:
        yield {**spec, "data": data}


def mark_type(u: dict[str, Any]) -> str:
    m = u["mark"]
    return m if isinstance(m, str) else m["type"]


def rows_of(spec: dict[str, Any], u: dict[str, Any]) -> list[dict[str, Any]]:
    """The unit's data rows with its simple `(datum.f === 'v')` filters applied."""
    data = spec["datasets"][u["data"]["name"]]
    for t in u.get("transform", []):
        f = t.get("filter")
        m = re.fullmatch(r"\(datum\.(\w+) (===|!==) '([^']*)'\)", f) if isinstance(f, str) else None
        if m:
            key, op, val = m.groups()
            data = [r for r in data if (r[key] == val) == (op == "===")]
    return data


def find(spec: dict[str, Any], mark: str, *, field: str | None = None) -> list[dict[str, Any]]:
    out = [u for u in units(spec) if mark_type(u) == mark]
    if field:
        encs = lambda u: [e for e in u["encoding"].values() if isinstance(e, dict)]  # noqa: E731
        out = [u for u in out if any(e.get("field") == field for e in encs(u))]
    return out


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return forest_chart(forest_frame(), measure_label="Odds ratio, death at 2 years").to_dict()


def test_x_axis_is_log_with_finite_domain(spec):
    xs = [u["encoding"]["x"] for u in units(spec) if "scale" in u["encoding"].get("x", {})]
    logs = [x for x in xs if x["scale"] and x["scale"].get("type") == "log"]
    assert logs, "no log-scale x encoding"
    for x in logs:
        lo, hi = x["scale"]["domain"]
        assert 0 < lo < 1 < hi and math.isfinite(hi)
        assert lo == pytest.approx(1 / hi)  # symmetric in log space around 1
        assert x["axis"]["values"][0] >= lo and x["axis"]["values"][-1] <= hi


def test_null_rule_at_one(spec):
    rules = [u for u in find(spec, "rule") if u["encoding"]["x"].get("field") == "x"]
    xs = {r["x"] for u in rules for r in rows_of(spec, u)}
    assert xs == {1.0}


def test_pooled_diamond_vertices_from_data(spec):
    frame = forest_frame()
    (area,) = find(spec, "area")
    assert area["encoding"]["y2"]["field"] == "y_hi"
    assert area["encoding"]["detail"]["field"] == "row_id"
    row = int(frame.index[frame.row_id == "p"][0])
    pts = [(r["x"], r["y_lo"], r["y_hi"]) for r in rows_of(spec, area) if r["row_id"] == "p"]
    (h,) = {round(row - p[1], 9) for p in pts if p[1] != row}
    assert 0.2 < h < 0.5
    assert pts == [(0.33, row, row), (0.45, row - h, row + h), (0.61, row, row)]
    # one diamond per subgroup too
    assert {r["row_id"] for r in rows_of(spec, area)} == {"g1", "g2", "p"}


def test_square_area_monotone_in_weight(spec):
    (sq,) = find(spec, "square")
    assert sq["encoding"]["size"]["field"] == "size"
    frame = forest_frame().set_index("row_id")
    data = [r for r in rows_of(spec, sq) if frame.loc[r["row_id"], "included"] is not False]
    data = [r for r in data if not math.isnan(frame.loc[r["row_id"], "weight"])]
    by_w = sorted(data, key=lambda r: frame.loc[r["row_id"], "weight"])
    sizes = [r["size"] for r in by_w]
    assert sizes == sorted(sizes) and sizes[0] < sizes[-1]
    assert len(data) == 5


def test_excluded_rows_greyed_with_numbers(spec):
    texts = [
        u for u in find(spec, "text") if u["encoding"].get("text", {}).get("field") == "ci_text"
    ]
    row = next(r for u in texts for r in rows_of(spec, u) if r["row_id"] == "s5")
    assert row["ci_text"] == "1.40 [0.60, 3.20]"
    assert row["weight_text"] == "excl."
    assert row["text_color"] == PALETTE["excluded_text"]
    (sq,) = find(spec, "square")
    s5 = next(r for r in rows_of(spec, sq) if r["row_id"] == "s5")
    # not by colour alone: hollow (a pooled study is filled) and its CI line dashed
    assert s5["sq_fill"] == PALETTE["derived_fill"] and s5["sq_stroke"] == PALETTE["excluded"]
    assert s5["line_color"] == PALETTE["excluded"]
    s1 = next(r for r in rows_of(spec, sq) if r["row_id"] == "s1")
    assert s1["sq_fill"] == PALETTE["study"] == s1["sq_stroke"] != PALETTE["excluded"]
    ci_lines = [u for u in find(spec, "rule") if u["encoding"]["x"].get("field") == "low_c"]
    dashed = {u["mark"].get("strokeDash") is not None: u for u in ci_lines}
    assert set(dashed) == {True, False} and len(ci_lines) == 2
    assert dashed[True]["mark"]["strokeDash"] == list(EXCLUDED_DASH)
    # the included flag picks the layer: only s5 (excluded) is drawn dashed
    assert {"filter": "datum.included"} in dashed[False]["transform"]
    on = [r for r in rows_of(spec, dashed[True]) if r["kind"] == "study"]
    assert {r["row_id"] for r in on if not r["included"]} == {"s5"}
    assert {r["row_id"] for r in on if r["included"]} == {"s1", "s2", "s3", "s4", "s6"} - {"s5"}


def test_derived_row_marked(spec):
    (sq,) = find(spec, "square")
    s2 = next(r for r in rows_of(spec, sq) if r["row_id"] == "s2")
    assert s2["label_text"].endswith(DERIVED_MARK)
    assert s2["sq_fill"] == PALETTE["derived_fill"] and s2["sq_stroke"] == PALETTE["study"]
    notes = [r["t"] for u in find(spec, "text", field="t") for r in rows_of(spec, u)]
    assert any(n.startswith(DERIVED_MARK) for n in notes)


def test_toggle_param_on_study_rows(spec):
    (param,) = [p for p in spec["params"] if p["name"] == "toggle"]
    assert param["select"] == {
        "type": "point",
        "fields": ["study_id"],
        "on": "click",
        "toggle": "true",  # every click adds or removes its study: the selection always changes
        "clear": False,
    }
    owners = [u for u in units(spec) if u.get("name") in param["views"]]
    assert len(owners) == 1
    assert {r["kind"] for r in rows_of(spec, owners[0])} == {"study"}
    assert all(r["study_id"] for r in rows_of(spec, owners[0]))


def test_streamlit_accepts_toggle_selection(spec):
    vc = pytest.importorskip("streamlit.elements.vega_charts")
    assert vc._parse_selection_mode(spec, "toggle") == ["toggle"]
    both = (TOGGLE_PARAM, LABEL_PARAM)
    assert sorted(vc._parse_selection_mode(spec, both)) == sorted(both)


def test_a_click_on_a_study_label_toggles_it(spec):
    """The label panel has its own click selection on study_id, over the label column only,
    on study rows only (a heading or pooled label selects nothing)."""
    (param,) = [p for p in spec["params"] if p["name"] == LABEL_PARAM]
    assert param["select"] == {
        "type": "point",
        "fields": ["study_id"],
        "on": "click",
        "toggle": "true",
        "clear": False,
    }
    (owner,) = [u for u in units(spec) if u.get("name") in param["views"]]
    assert mark_type(owner) == "rect" and owner["mark"]["cursor"] == "pointer"
    rows = rows_of(spec, owner)
    ids = ["Wei2019", "Yu2014", "Shi2022", "WangL2023", "Kuang2024", "Tao2024"]
    assert [r["study_id"] for r in rows] == ids  # excluded ones too: a click brings them back
    assert {r["kind"] for r in rows} == {"study"} and all(r["study_id"] for r in rows)
    # it spans the label column, from 0 to the panel's width
    label_panel = spec["vconcat"][0]["hconcat"][0]
    assert owner["encoding"]["x"] == {"value": 0}
    assert owner["encoding"]["x2"] == {"value": label_panel["width"]}
    # not the plot panel's selection: the two are told apart by name
    (plot_param,) = [p for p in spec["params"] if p["name"] == TOGGLE_PARAM]
    assert set(plot_param["views"]).isdisjoint(param["views"])


def test_long_labels_are_shortened_with_the_full_text_in_the_tooltip():
    long = "Portal vein tumour thrombosis cohort of a very long name 2021"
    f = pd.DataFrame(
        [
            {"row_id": "s1", "label": long, "kind": "study", "study_id": "A", "est": 0.5,
             "low": 0.3, "high": 0.9, "weight": 100.0, "derived": True},
            {"row_id": "p", "label": "Pooled", "kind": "pooled", "est": 0.5, "low": 0.3,
             "high": 0.9},
        ]
    )  # fmt: skip
    for width, limit in ((None, LABEL_CHARS), (470, LABEL_CHARS_NARROW)):
        d = forest_chart(f, measure_label="OR", width=width).to_dict()
        s1 = next(r for r in d["datasets"]["forest_text"] if r["row_id"] == "s1")
        assert len(s1["label_text"]) <= limit
        assert s1["label_text"] == long[: limit - 3].rstrip() + "… " + DERIVED_MARK
        assert s1["label"] == long  # the tooltip's "Row" field: the whole label
    narrow = forest_chart(f, measure_label="OR", width=470).to_dict()
    wide = forest_chart(f, measure_label="OR").to_dict()
    assert narrow["vconcat"][0]["hconcat"][0]["width"] < wide["vconcat"][0]["hconcat"][0]["width"]
    short = forest_chart(forest_frame(), measure_label="OR", width=470).to_dict()
    assert {r["label_text"] for r in short["datasets"]["forest_text"]} >= {"Wei 2019"}


def test_empty_layers_are_hidden_from_screen_readers_and_the_plot_is_described(spec):
    """axe-core's svg-img-alt: a mark container with no items and no name is a violation;
    the arrows, diamonds, PI bar and CI lines are not announced (the rows' hit areas and
    texts carry the numbers), and the plot as a whole has a description."""
    quiet = [
        u for u in units(spec) if isinstance(u["mark"], dict) and u["mark"].get("aria") is False
    ]
    kinds = {mark_type(u) for u in quiet}
    assert {"point", "area", "rect", "rule"} <= kinds
    assert spec["description"].startswith("Forest plot: ")


def test_tooltip_fields(spec):
    (hit,) = [u for u in units(spec) if u.get("name") in spec["params"][0]["views"]]
    fields = {t["field"] for t in hit["encoding"]["tooltip"]}
    assert {"label", "detail", "weight_text", "source", "note"} <= fields
    s1 = next(r for r in rows_of(spec, hit) if r["row_id"] == "s1")
    assert (s1["detail"], s1["source"], s1["note"]) == ("60/82 vs 74/82", "https://x.org/1", "PVTT")


def test_unestimable_bounds_clamped_with_arrows(spec):
    json.dumps(spec, allow_nan=False)  # no NaN/inf anywhere in the spec
    lo, hi = forest_domain(validate_forest_frame(forest_frame()))
    assert (lo, hi) == (0.1, 10.0)  # from finite positive values only, not 0/inf
    (sq,) = find(spec, "square")
    s3 = next(r for r in rows_of(spec, sq) if r["row_id"] == "s3")
    assert (s3["low_c"], s3["high_c"]) == (lo, hi)
    s6 = next(r for r in rows_of(spec, sq) if r["row_id"] == "s6")
    assert (s6["low_c"], s6["high_c"]) == (0.12, hi) and s6["ci_text"] == "0.30 [CI not estimable]"
    assert s3["ci_text"] == "0.80 [0, ∞]"  # core.fmt: a bound of exactly 0 reads 0
    (arrows,) = find(spec, "point")
    got = sorted((r["row_id"], r["shape"], r["x"]) for r in rows_of(spec, arrows))
    assert got == [
        ("s3", "triangle-left", lo),
        ("s3", "triangle-right", hi),
        ("s6", "triangle-right", hi),
    ]


def test_domain_when_all_bounds_unestimable():
    f = pd.DataFrame(
        [
            {
                "row_id": "a",
                "label": "A",
                "kind": "study",
                "est": math.nan,
                "low": 0,
                "high": math.inf,
            }
        ]
    )
    assert forest_domain(validate_forest_frame(f)) == (0.1, 10.0)
    d = forest_chart(f, measure_label="OR").to_dict()
    json.dumps(d, allow_nan=False)
    assert rows_of(d, find(d, "square")[0]) == []


def test_not_estimable_row_text():
    f = pd.DataFrame(
        [
            {
                "row_id": "a",
                "label": "A",
                "kind": "study",
                "est": math.nan,
                "low": math.nan,
                "high": math.nan,
            },
            {"row_id": "b", "label": "B", "kind": "study", "est": 2.0, "low": 1.0, "high": 4.0},
        ]
    )
    d = forest_chart(f, measure_label="OR").to_dict()
    texts = find(d, "text", field="ci_text")
    got = {r["row_id"]: r["ci_text"] for u in texts for r in rows_of(d, u)}
    assert got == {"a": "Not estimable", "b": "2.00 [1.00, 4.00]"}


def test_pi_bar_spans_prediction_interval(spec):
    rects = [u for u in find(spec, "rect") if u["encoding"]["x"].get("field") == "low_c"]
    (pi,) = [r for u in rects for r in rows_of(spec, u) if r["kind"] == "pi"]
    assert (pi["low_c"], pi["high_c"]) == (0.22, 0.93)


def test_favours_labels_on_each_side_of_one(spec):
    fav = [u for u in find(spec, "text", field="t") if "x" in u["encoding"]]
    fav = [u for u in fav if u["encoding"]["x"].get("field") == "x"]
    by_align = {u["mark"]["align"]: rows_of(spec, u) for u in fav}
    left = [r for r in by_align["right"] if r["side"] == "left"]
    right = [r for r in by_align["left"] if r["side"] == "right"]
    assert left[0]["x"] == right[0]["x"] == 1.0
    assert "Favours RT" in left[0]["t"] and "Favours control" in right[0]["t"]


def test_headings_bold_and_height_scales():
    spec_g = forest_chart(forest_frame(True), measure_label="OR").to_dict()
    spec_u = forest_chart(forest_frame(False), measure_label="OR").to_dict()
    bold = [u for u in find(spec_g, "text") if u["mark"].get("fontWeight") == "bold"]
    bold_ids = {r.get("row_id") for u in bold for r in rows_of(spec_g, u)}
    assert {"h1", "h2", "g1", "g2", "p"} <= bold_ids and "s1" not in bold_ids
    h_g = spec_g["vconcat"][0]["hconcat"][1]["height"]
    h_u = spec_u["vconcat"][0]["hconcat"][1]["height"]
    n_g, n_u = len(forest_frame(True)), len(forest_frame(False))
    assert h_g / (n_g + 1) == h_u / (n_u + 1) > 0  # rows + header row, same row height


def test_large_doubles_fonts():
    small = forest_chart(forest_frame(), measure_label="OR").to_dict()
    large = forest_chart(forest_frame(), measure_label="OR", large=True).to_dict()

    def sizes(s: dict[str, Any]) -> list[float]:
        return sorted(
            {u["mark"]["fontSize"] for u in find(s, "text") if "fontSize" in u["mark"]}
            | {
                u["encoding"]["x"]["axis"]["labelFontSize"]
                for u in units(s)
                if (u["encoding"].get("x") or {}).get("axis")
            }
        )

    assert [2 * v for v in sizes(small)] == sizes(large)
    assert (
        large["vconcat"][0]["hconcat"][1]["height"]
        == 2 * small["vconcat"][0]["hconcat"][1]["height"]
    )


def test_title_width_and_font():
    c = forest_chart(forest_frame(), measure_label="OR", title="Overall survival", width=900)
    d = c.to_dict()
    assert d["title"]["text"] == "Overall survival"
    assert "DejaVu Sans" in d["config"]["font"]
    panels = d["vconcat"][0]["hconcat"]
    assert abs(sum(p["width"] for p in panels) - 900) <= 40


def test_spec_has_no_remote_urls(spec):
    assert '"url"' not in json.dumps(spec)


def test_validate_defaults_and_errors():
    f = validate_forest_frame(
        pd.DataFrame(
            [{"row_id": "a", "label": "A", "kind": "study", "est": 1, "low": 0.5, "high": 2}]
        )
    )
    assert list(f.columns) == list(FOREST_COLUMNS)
    assert f.loc[0, "included"] is True or f.loc[0, "included"] == True  # noqa: E712
    assert f.loc[0, "derived"] == False and f.loc[0, "study_id"] == ""  # noqa: E712
    assert math.isnan(f.loc[0, "weight"])
    with pytest.raises(ValueError, match="missing required columns: est"):
        validate_forest_frame(
            pd.DataFrame(
                {"row_id": ["a"], "label": ["A"], "kind": ["study"], "low": [1], "high": [2]}
            )
        )
    base = {"label": "A", "kind": "study", "est": 1.0, "low": 0.5, "high": 2.0}
    with pytest.raises(ValueError, match="not unique"):
        validate_forest_frame(pd.DataFrame([{**base, "row_id": "a"}, {**base, "row_id": "a"}]))
    with pytest.raises(ValueError, match="kind must be one of"):
        validate_forest_frame(pd.DataFrame([{**base, "row_id": "a", "kind": "trial"}]))
    with pytest.raises(ValueError, match="non-numeric"):
        validate_forest_frame(pd.DataFrame([{**base, "row_id": "a", "est": "big"}]))


def test_estimate_off_axis_shows_arrow_not_square():
    f = pd.DataFrame(
        [
            {"row_id": "x", "label": "Tiny", "kind": "study", "study_id": "T", "est": 0.004,
             "low": 0.0001, "high": 0.3, "weight": 1.0},
            {"row_id": "y", "label": "Big", "kind": "study", "study_id": "B", "est": 2.0,
             "low": 1.0, "high": 3.0, "weight": 9.0},
        ]
    )  # fmt: skip
    d = forest_chart(f, measure_label="HR").to_dict()
    json.dumps(d, allow_nan=False)
    lo, _ = forest_domain(validate_forest_frame(f))
    (sq,) = find(d, "square")
    x = next(r for r in rows_of(d, sq) if r["row_id"] == "x")
    assert x["est_c"] is None and x["low_c"] == lo and x["ci_text"] == "0.004 [<0.001, 0.30]"
    (arrows,) = find(d, "point")
    assert [(r["row_id"], r["shape"]) for r in rows_of(d, arrows)] == [("x", "triangle-left")]


@pytest.mark.parametrize("study", ["Yu2014", "Wei2019"])
def test_toggling_a_study_changes_only_the_rows(study):
    """The browser updates a plot in place (no re-embed) only when the spec without its
    datasets is unchanged; a toggle must therefore change rows, never structure."""
    from core.data.dataset import load_bundled
    from core.state.view import parse_query
    from core.views.analysis import analyse
    from core.views.analysis import forest_frame as frame_of

    ds = load_bundled()
    structures, rows = [], []
    for query in ("?tpoint=interp", f"?tpoint=interp&exclude={study}"):
        state = parse_query(query).state
        oa = analyse(state, ds).outcomes["OS"]
        spec = dict(forest_chart(frame_of(oa, state, ds.studies), measure_label=oa.title))
        rows.append(spec.pop("datasets"))
        structures.append(json.dumps(spec, sort_keys=True))
    assert structures[0] == structures[1]
    assert rows[0]["forest_text"] != rows[1]["forest_text"]
    notes = [[r["t"] for r in d["forest_notes"]] for d in rows]
    assert notes[0][-1] == "" and notes[1][-1].startswith("Grey rows")
