"""``python -m core analyze``: the JSON of a link equals core.views.analysis on the same state."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from core.cli import main
from core.data.dataset import load_bundled
from core.state.view import parse_query
from core.views.analysis import analyse

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = "?design=RCT&design=PSM&exclude=Yu2014"
POOLED_KEYS = ("estimate", "se", "ci_low", "ci_high", "pvalue", "tau2", "i2")
#: t quantiles (R: qt(0.975, df)) for the hand-worked prediction intervals
QT975 = {1: 12.706204736174694, 2: 4.302652729749462}
Z975 = 1.959963984540054


def run(capsys, *argv: str) -> dict:
    """main(argv) must exit 0 and print valid JSON (no NaN); returns it."""
    assert main(["analyze", *argv]) == 0
    out = capsys.readouterr().out
    return json.loads(out, parse_constant=lambda c: pytest.fail(f"{c} in the JSON"))


def close(a: float | None, b: float) -> bool:
    if a is None:
        return not math.isfinite(b)
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)


def assert_matches_core(doc: dict, query: str) -> None:
    """Every study, exclusion and pooled number equals core.views.analysis for the same link."""
    analysis = analyse(parse_query(query).state, load_bundled())
    for name, oa in analysis.outcomes.items():
        block = doc[name]
        used = oa.rows[oa.rows["included"]]
        assert [s["id"] for s in block["studies"]] == list(used["study_id"])
        for s, row in zip(block["studies"], used.itertuples(index=False), strict=True):
            assert close(s["yi"], row.yi) and close(s["vi"], row.vi)
            assert close(s["weight"], row.weight)
        assert [(e["id"], e["reason"]) for e in block["excluded"]] == list(oa.excluded())
        if oa.pooled is None:
            assert block["pooled"] is None and block["message"] == oa.message
            continue
        for key in POOLED_KEYS:
            assert close(block["pooled"][key], getattr(oa.pooled, key)), key
        pi = oa.shown_prediction
        got = block["pooled"]
        if pi is None or not pi.available:
            assert got["pi_low"] is None and got["pi_high"] is None and got["pi_method"] is None
            assert got["pi_note"] == (
                "prediction interval hidden (pi=0)" if pi is None else pi.reason
            )
        else:
            assert close(got["pi_low"], pi.low) and close(got["pi_high"], pi.high)
            assert got["pi_method"] == pi.method == analysis.state.pi and got["pi_df"] == pi.df
        assert block["pooled"]["k"] == oa.pooled.k
        assert block["pooled"]["patients"] == oa.patients


def test_subprocess_default_link():
    proc = subprocess.run(
        [sys.executable, "-m", "core", "analyze", ""],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert set(doc) >= {"query", "notices", "OS", "DFS"}
    assert doc["notices"] == []
    assert doc["query"]["method"] == "REML" and doc["query"]["design"] == ["RCT", "PSM"]
    assert_matches_core(doc, "")


def test_default_link(capsys):
    doc = run(capsys, "")
    assert_matches_core(doc, "")
    # Default view (link format v2): OS pools Wei2019 at 2 years as reported and Yu2014 and
    # Shi2022 interpolated between 1 and 3 years; DFS three studies as reported at 1 year.
    assert doc["query"]["tpoint"] == "interp"
    assert doc["OS"]["pooled"]["k"] == 3 and doc["DFS"]["pooled"]["k"] == 3
    assert [s["interpolated"] for s in doc["OS"]["studies"]] == [False, True, True]
    assert doc["OS"]["message"] is None
    # Rates only where reported (tpoint=exact; old links' default): OS has one study.
    exact = run(capsys, "?tpoint=exact")
    assert exact["OS"]["pooled"]["k"] == 1 and exact["OS"]["message"].startswith("Only one study")
    assert exact["DFS"]["pooled"] == doc["DFS"]["pooled"]


def test_example_link(capsys):
    doc = run(capsys, EXAMPLE)
    assert doc["query"]["exclude"] == ["Yu2014"]
    assert {"id": "Yu2014", "reason": "excluded by hand"} in doc["DFS"]["excluded"]
    assert "Yu2014" not in [s["id"] for s in doc["DFS"]["studies"]]
    assert_matches_core(doc, EXAMPLE)
    assert doc["DFS"]["pooled"] != run(capsys, "")["DFS"]["pooled"]


def test_full_url_reads_its_query(capsys):
    url = "https://example.org/overview" + EXAMPLE + "&tpoint=interp#top"
    doc = run(capsys, url)
    assert doc["query"]["tpoint"] == "interp" and doc["query"]["exclude"] == ["Yu2014"]
    assert doc == run(capsys, EXAMPLE + "&tpoint=interp")
    assert_matches_core(doc, EXAMPLE + "&tpoint=interp")


@pytest.mark.parametrize(
    "query",
    [
        "?method=XYZ&qmin=abc&t_os=-1&foo=<script>&exclude=../../etc&exclude=NoSuchStudy",
        "?design=none",  # nothing selected: no pooled result, a message, no crash
        "%%%&&==&ci=&pi=maybe&" + "x" * 5000,
    ],
)
def test_hostile_link_gives_notices_not_errors(capsys, query):
    doc = run(capsys, query)
    assert doc["notices"] or all(doc[o]["pooled"] is None for o in ("OS", "DFS"))
    assert_matches_core(doc, query)


def test_hostile_link_notices_are_specific(capsys):
    doc = run(capsys, "?method=XYZ&qmin=abc&t_os=-1&exclude=NoSuchStudy")
    notices = " | ".join(doc["notices"])
    assert "'XYZ'" in notices and "'abc'" in notices and "'-1'" in notices
    assert "NoSuchStudy" in notices
    assert doc["query"]["method"] == "REML" and doc["query"]["t_os"] == 2.0


def test_all_excluded_is_null_pooled(capsys):
    doc = run(capsys, "?exclude=Wei2019")
    assert doc["OS"]["pooled"] is None and doc["OS"]["studies"] == []
    assert "excluded by hand" in doc["OS"]["message"]


def test_every_estimator_matches_core(capsys):
    for method in ("REML", "DL", "PM", "ML", "HS", "SJ", "HE", "EB", "EE"):
        query = f"?tpoint=interp&method={method}&ci=hksj"
        doc = run(capsys, query)
        assert doc["DFS"]["pooled"]["method"] == method
        assert_matches_core(doc, query)


def test_data_folder(capsys, tmp_path):
    for name in ("studies.csv", "outcomes.csv"):
        shutil.copy(ROOT / "data" / name, tmp_path / name)
    folder, bundled = run(capsys, EXAMPLE, "--data", str(tmp_path)), run(capsys, EXAMPLE)
    # without data/description.json the folder's outcomes have neutral words, the same numbers
    assert folder["OS"].pop("outcome_words")["label"] == "OS"
    assert bundled["OS"].pop("outcome_words")["label"] == "overall survival"
    for doc in (folder, bundled):
        doc["DFS"].pop("outcome_words")
    assert folder == bundled


@pytest.mark.parametrize("setup", ["missing_dir", "missing_file", "unreadable"])
def test_unreadable_data_exits_2(capsys, tmp_path, setup):
    folder = tmp_path / "d"
    if setup != "missing_dir":
        folder.mkdir()
        (folder / "studies.csv").write_bytes((ROOT / "data" / "studies.csv").read_bytes())
    if setup == "unreadable":
        (folder / "outcomes.csv").write_bytes(b"\x00\x01 not a table")
    assert main(["analyze", "", "--data", str(folder)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert str(folder) in captured.err and "Traceback" not in captured.err


def test_certainty_per_outcome(capsys):
    """Per outcome: overall level, provisional, and each domain's state, rating and reason;
    the link's judgements and reasons applied."""
    default = run(capsys, "")["OS"]["certainty"]  # three studies: inconsistency rated by rule
    assert default["overall"] == "Very low" and default["provisional"] is True
    assert default["not_judged"] == ["indirectness", "publication"]
    doc = run(capsys, "?tpoint=exact")  # rates only where reported: one study for 2-year OS
    os_cert, dfs_cert = doc["OS"]["certainty"], doc["DFS"]["certainty"]
    assert doc["OS"]["pooled"]["k"] == 1
    assert os_cert["overall"] == "Moderate" and os_cert["provisional"] is True
    assert os_cert["not_judged"] == ["inconsistency", "indirectness", "publication"]
    assert list(os_cert["domains"]) == ["rob", "inconsistency", "indirectness", "imprecision",
                                        "publication"]  # fmt: skip
    inc = os_cert["domains"]["inconsistency"]
    assert (inc["state"], inc["rating"]) == ("not assessable", None)
    assert inc["reason"].startswith("One study")
    imp = os_cert["domains"]["imprecision"]
    assert (imp["state"], imp["rating"]) == ("rated by rule", "serious")
    # DFS (3 trials): the default t prediction interval on 1 df, 0.003 to 65, crosses 1 while
    # the CI does not: inconsistency serious, so Low (with metafor's z interval, 0.21 to 0.97,
    # it was Moderate; see test_pi_method_in_the_json)
    assert dfs_cert["overall"] == "Low" and dfs_cert["provisional"] is True
    assert dfs_cert["domains"]["inconsistency"]["rating"] == "serious"
    z_cert = run(capsys, "?pi=z")["DFS"]["certainty"]
    assert z_cert["overall"] == "Moderate"
    assert z_cert["domains"]["inconsistency"]["rating"] == "not serious"
    link = (
        "?grade=OS.inconsistency.not_serious&why=OS.inconsistency.One+trial,+not+applicable"
        "&grade=OS.indirectness.not_serious&grade=OS.publication.serious&why=OS.rob.Open+label"
    )
    judged = run(capsys, link)["OS"]["certainty"]  # an old link (no v): tpoint=exact, k = 1
    assert judged["overall"] == "Low" and judged["provisional"] is False
    inc = judged["domains"]["inconsistency"]
    assert inc["state"] == "judged by user" and inc["rating"] == "not serious"
    assert inc["reason"] == inc["user_reason"] == "One trial, not applicable"
    assert inc["aid_state"] == "not assessable" and inc["aid_rating"] is None
    rob = judged["domains"]["rob"]  # a reason without a rating: the aid's rating stays
    assert rob["state"] == "rated by rule" and rob["user_reason"] == "Open label"
    assert run(capsys, "?design=none")["OS"]["certainty"] is None


def test_pi_method_in_the_json(capsys):
    """pi_method, pi_df and the bounds beside pi_low and pi_high, for every pi value; the
    default 1-year DFS view (3 trials) worked by hand: mu +/- q sqrt(se^2 + tau2)."""
    for pi, method, df, q in (
        ("", "t", 1, QT975[1]),
        ("pi=1", "t", 1, QT975[1]),
        ("pi=t", "t", 1, QT975[1]),
        ("pi=z", "z", None, Z975),
    ):
        got = run(capsys, pi)["DFS"]["pooled"]
        assert got["k"] == 3 and (got["pi_method"], got["pi_df"], got["pi_note"]) == (
            method,
            df,
            None,
        )
        half = q * math.sqrt(got["se"] ** 2 + got["tau2"])
        assert close(got["pi_low"], got["estimate"] - half)
        assert close(got["pi_high"], got["estimate"] + half)
    t = run(capsys, "")["DFS"]["pooled"]
    assert (round(math.exp(t["pi_low"]), 4), round(math.exp(t["pi_high"]), 2)) == (0.0031, 65.22)
    # Hartung-Knapp: the HK SE from the studies, t on k - 1 = 2 df
    doc = run(capsys, "pi=hksj")["DFS"]
    got, studies = doc["pooled"], doc["studies"]
    mu, tau2 = got["estimate"], got["tau2"]
    w = [1 / (s["vi"] + tau2) for s in studies]
    rss = sum(wi * (s["yi"] - mu) ** 2 for wi, s in zip(w, studies, strict=True))
    se_hk = math.sqrt(rss / (2 * sum(w)))
    half = QT975[2] * math.sqrt(se_hk**2 + tau2)
    assert (got["pi_method"], got["pi_df"]) == ("hksj", 2)
    assert close(got["pi_low"], mu - half) and close(got["pi_high"], mu + half)
    # hidden, and none with fewer than 3 studies (OS with rates only where reported: 1 study;
    # DFS without Yu2014: 2)
    hidden = run(capsys, "pi=0")["DFS"]["pooled"]
    assert (hidden["pi_low"], hidden["pi_high"], hidden["pi_method"]) == (None, None, None)
    assert hidden["pi_note"] == "prediction interval hidden (pi=0)"
    two = run(capsys, "exclude=Yu2014")["DFS"]["pooled"]
    assert two["k"] == 2 and (two["pi_low"], two["pi_high"], two["pi_method"]) == (None,) * 3
    assert two["pi_note"] == "no prediction interval with fewer than 3 studies (k = 2)"
    for pi in ("tpoint=exact", "tpoint=exact&pi=z", "tpoint=exact&pi=hksj"):
        one = run(capsys, pi)["OS"]["pooled"]
        assert one["k"] == 1 and one["pi_low"] is None and one["pi_method"] is None
        assert one["pi_note"] == "no prediction interval with fewer than 3 studies (k = 1)"
