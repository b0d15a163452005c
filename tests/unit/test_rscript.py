"""core.report.rscript: the R (metafor) script of a view; run with Rscript where R is installed.

Structure tests always run. The R tests run every script in one Rscript process (each script
sourced in its own environment; metafor loads once) and compare every number the script prints
as JSON with core.views.analysis to 1e-6; one script also runs on its own as ``Rscript file.R``.
They skip where Rscript is not on PATH, and fail there when REQUIRE_R=1 (CI).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import os
import shutil
import subprocess

import pandas as pd
import pytest

from core.cli import main
from core.data.dataset import Dataset, load_bundled
from core.report.rscript import comment, r_number, r_script, r_script_download, r_string
from core.state.view import parse_query
from core.stats.pooling import prediction_interval
from core.views.analysis import Analysis, analyse
from core.vocab import NOT_ADVICE

DATASET = load_bundled()
HOSTILE = '"); system("rm -rf /'
INJECTION = '"); writeLines("x", "INJECTED.txt"); ("\\'
EVIL_LABEL = INJECTION + "\nwriteLines('x', 'INJECTED2.txt') # é \u2028 ok"
EVIL_URL = "https://example.org/a\\b\"c\r\nwriteLines('x', 'INJECTED3.txt')"

DEFAULT = ""
HR_LINK = "?measure=HR&rt=internal&indication=other&indication=PVTT"
WIDE = (
    "?scope=all&design=RCT&design=PSM&design=prospective-nonrandomized&design=retrospective"
    "&indication=PVTT&indication=narrow_margin&indication=MVI&indication=other"
    "&rt=external&rt=internal&tpoint=interp&t_os=3&t_dfs=3"
)
R_LINKS = {
    "default": DEFAULT,
    "interp": "?tpoint=interp",
    "hr": HR_LINK,
    "dl_hksj": "?method=DL&ci=hksj",
    "ee": "?method=EE",
    "group_design": "?group=design",
    "group_design_wide": WIDE + "&group=design&exclude=Shi2022",
    "group_indication_hksj": WIDE + "&group=indication&method=DL&ci=hksj&exclude=Shi2022",
    "group_design_common": WIDE + "&group=design&exclude=Shi2022&tau2g=common",
    "group_indication_common_hksj": WIDE + "&group=indication&method=PM&ci=hksj&tau2g=common",
    "hr_wide_pm": "?measure=HR&scope=all&design=RCT&design=PSM&design=retrospective"
    "&indication=PVTT&indication=other&rt=external&rt=internal&method=PM&pi=0",
    "one_study": "?exclude=Yu2014&exclude=Shi2022",
    "dfs_only_interp_sj": "?tpoint=interp&method=SJ",
    "interp_pi_z": "?tpoint=interp&pi=z",
    "interp_pi_hksj": "?tpoint=interp&pi=hksj",
    "interp_pi_hidden": "?tpoint=interp&pi=0",
    "two_studies": "?exclude=Yu2014",
    "rr": "?v=2&measure=RR",
    "rd_dl_hksj": "?v=2&measure=RD&method=DL&ci=hksj",
    "mh_or": "?v=2&method=MH",
    "mh_rr_wide": WIDE + "&measure=RR&method=MH",
    "mh_rd": "?v=2&measure=RD&method=MH",
    "peto": "?v=2&method=PETO",
    "rr_zero_all": "?v=2&measure=RR&to=all&add=1&drop00=1",
}


@functools.cache
def _default_view(query: str) -> Analysis:
    return analyse(parse_query(query).state, DATASET)


def view(query: str, dataset: Dataset = DATASET) -> Analysis:
    if dataset is DATASET:
        return _default_view(query)
    return analyse(parse_query(query).state, dataset)


def script(query: str, dataset: Dataset = DATASET, outcome: str | None = None) -> str:
    return r_script(view(query, dataset), dataset, outcome)


def code_lines(text: str) -> list[str]:
    """The lines R executes (comments and blank lines dropped)."""
    return [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]


def hostile_dataset() -> Dataset:
    studies = DATASET.studies.copy()
    studies.loc[studies["study_id"] == "Yu2014", "label"] = EVIL_LABEL
    studies.loc[studies["study_id"] == "Wei2019", "label"] = HOSTILE
    outcomes = DATASET.outcomes.copy()
    outcomes.loc[outcomes["study_id"] == "Shi2022", "source_url"] = EVIL_URL
    return dataclasses.replace(DATASET, studies=studies, outcomes=outcomes)


# ---------------------------------------------------------------------------------------
# Literals


@pytest.mark.parametrize(
    ("text", "literal"),
    [
        ("Wei 2019", '"Wei 2019"'),
        ('say "hi"', '"say \\"hi\\""'),
        ("a\\b", '"a\\\\b"'),
        ("line\nbreak\r\ttab", '"line\\nbreak\\r\\ttab"'),
        (HOSTILE, '"\\"); system(\\"rm -rf /"'),
        ("nul\x00bell\x07", '"nulbell\\x07"'),
        ("Müller – 90%", '"M\\u{fc}ller \\u{2013} 90%"'),
        ("\U0001f600\ud800", '"\\U{1f600}\\u{fffd}"'),
    ],
)
def test_r_string(text, literal):
    assert r_string(text) == literal
    assert r_string(text).isascii()


def test_r_number_and_comment():
    assert [r_number(x) for x in (82, 82.0, 0.1, float("nan"), None, -1.5e-20)] == [
        "82",
        "82",
        "0.1",
        "NA",
        "NA",
        "-1.5e-20",
    ]
    assert float(r_number(math.sqrt(0.2))) == math.sqrt(0.2)
    assert comment("a\nb\r\nc\u2028d\x00e") == "a b  c d e"


# ---------------------------------------------------------------------------------------
# Structure


def test_default_script_structure():
    text = script(DEFAULT)
    a = view(DEFAULT)
    assert f"# {NOT_ADVICE}" in text
    assert "# Link: the default view (?v=2)" in text
    assert "#   Designs: randomized (RCT), propensity-matched (PSM)" in text
    assert 'method = "REML", test = "z"' in text
    assert 'escalc(measure = "OR", ai = ai, n1i = n1i, ci = ci, n2i = n2i,' in text
    dfs = a.outcomes["DFS"].rows
    assert f"  ai = c({', '.join(str(int(x)) for x in dfs['events_rt'])})," in text
    assert f"  n2i = c({', '.join(str(int(x)) for x in dfs['n_ctl'])})," in text
    assert '  study = c("Wei2019", "Yu2014", "Shi2022"),' in text
    for sid, reason in a.outcomes["OS"].excluded():
        assert f"#   {sid}: {reason}" in text
    for r in dfs.itertuples():
        assert f"#   {r.study_id} ({r.label}): {r.derivation}" in text
        assert f"#     source: {r.source_url}" in text
    assert "predict(res_DFS" in text and "forest(res_DFS, atransf = exp" in text
    assert "# --- results as JSON (for checking) ---" in text
    assert all(line.isascii() for line in code_lines(text))


@pytest.mark.parametrize(
    ("query", "call"),
    [
        ("?method=DL&ci=hksj", 'method = "DL", test = "knha"'),
        ("?method=EE", 'method = "EE", test = "z"'),
        ("?method=PM&ci=knha", 'method = "PM", test = "knha"'),
        ("?estimator=fixed", 'method = "EE", test = "z"'),
    ],
)
def test_estimator_and_ci_method(query, call):
    text = script(query)
    assert text.count(call) == 2  # OS and DFS


def test_link_and_filters_in_header():
    text = script("?design=RCT&exclude=Yu2014&method=dl")
    # an old link (no v) is written back with the link version and its time-point rule
    assert "# Link (query string): ?v=2&design=RCT&exclude=Yu2014&method=DL&tpoint=exact" in text
    assert "#   Excluded by hand: Yu2014" in text
    assert "#   Yu2014: excluded by hand" in text
    assert "included = c(TRUE, FALSE, TRUE)" in text  # kept in the data, left out of the fit
    assert "used_DFS <- dat_DFS[dat_DFS$included, ]  # 1 excluded by hand" in text


def test_hazard_ratio_data():
    text = script(HR_LINK)
    rows = view(HR_LINK).outcomes["OS"].rows
    assert f"  yi = c({', '.join(repr(float(y)) for y in rows['yi'])})," in text
    assert f"  sei = c({', '.join(repr(math.sqrt(v)) for v in rows['vi'])})," in text
    assert "SE from the 95% CI" in text and "dat_OS$vi <- dat_OS$sei^2" in text
    assert "escalc" not in text
    assert 'header = c("Study", "Hazard ratio [95% CI]")' in text


def test_one_outcome_only():
    text = script(DEFAULT, outcome="DFS")
    assert "dat_DFS" in text and "dat_OS" not in text
    assert "Odds ratio of 1-year DFS" in text and "2-year OS" not in text
    with pytest.raises(ValueError, match="OS, DFS"):
        script(DEFAULT, outcome="PFS")


def test_one_study_is_said():
    text = script("?tpoint=exact")  # OS: only Wei2019 reports a rate at exactly 2 years
    assert "# One study: the pooled result is that study's own estimate" in text
    assert "metafor reports I2 = 0" in text
    assert "addpred = FALSE)" in text.split("res_OS <-")[1].split("res_DFS")[0]


@pytest.mark.parametrize(
    ("query", "method", "native"),
    [("", "t", False), ("?pi=z", "z", True), ("?pi=hksj", "hksj", False),
     ("?pi=hksj&ci=hksj", "hksj", True), ("?pi=z&ci=hksj", "z", False)],
)  # fmt: skip
def test_prediction_interval_method(query, method, native):
    """The script computes the view's interval (pi_method): t on k - 2 explicitly, since
    metafor's predict() has none; forest()'s addpred only where predict() gives the same."""
    text = script("?tpoint=interp" + query.replace("?", "&"))
    assert f'pi_method <- "{method}"' in text
    assert "crit <- switch(method, t = qt(0.975, k - 2), z = qnorm(0.975)" in text
    assert "pi_lb = pr[1], pi_ub = pr[2]" in text
    dfs = text.split("res_DFS <-")[1]
    assert ("addpred = TRUE)" in dfs) == native
    assert ("segments(pred_int(res_DFS)[1], -1" in dfs) == (not native)


def test_hidden_prediction_interval():
    text = script("?pi=0")
    assert 'pi_method <- NULL  # hidden in the view; the default would be "t"' in text
    assert "segments(" not in text and "addpred = TRUE" not in text


def test_subgroups():
    text = script(WIDE + "&group=indication&method=DL&ci=hksj&exclude=Shi2022")
    assert 'groups_OS <- c("narrow_margin", "other")' in text
    assert "used_OS[used_OS$group == g, ]" in text and 'method = "EE")' in text
    assert "The explorer shows no test here" in text  # one-study group under Hartung-Knapp
    assert '"Narrow resection margin", "Other indications"' in text


def test_nothing_to_pool_stops_cleanly():
    text = script("?design=none")
    assert "rma(" not in text and "library(metafor)" not in text
    assert "# Nothing to pool in this view:" in text
    assert "# OS: No study matches the filters." in text
    assert code_lines(text) == ['message("Nothing to pool in this view; see the comments above.")']
    mixed = script("?exclude=Wei2019")  # OS empty, DFS pooled
    assert "results$OS <- list(k = 0L)" in mixed and "res_DFS <- rma(" in mixed


def test_hostile_text_stays_a_string():
    ds = hostile_dataset()
    text = script("?tpoint=interp", ds)
    assert r_string(HOSTILE) in text and r_string(EVIL_LABEL) in text
    assert r_string(EVIL_URL) in text
    for line in code_lines(text):
        assert not line.lstrip().startswith(("system(", "writeLines(")), line
        assert line.isascii()
    # in comments the line breaks became spaces: the rest of the label is still comment
    assert f"#   Yu2014 ({comment(EVIL_LABEL)}): " in text


def test_download():
    name, data = r_script_download(view(DEFAULT), DATASET, "OS")
    assert name == "rt-hcc-metafor-OS.R"
    assert data.decode("utf-8") == script(DEFAULT, outcome="OS")
    assert r_script_download(view(DEFAULT), DATASET)[0] == "rt-hcc-metafor.R"


# ---------------------------------------------------------------------------------------
# CLI


def test_cli_prints_the_script(capsys):
    url = "https://example.org/overview?method=DL&ci=hksj#x"
    assert main(["rscript", url, "--outcome", "DFS"]) == 0
    captured = capsys.readouterr()
    assert captured.out == script("?method=DL&ci=hksj", outcome="DFS")
    assert captured.err == ""


def test_cli_notices_and_bad_data(capsys, tmp_path):
    assert main(["rscript", "?method=XYZ"]) == 0
    captured = capsys.readouterr()
    assert captured.out == script("?tpoint=exact")  # an old link (no v): v1's time points
    assert "notice:" in captured.err and "'XYZ'" in captured.err
    assert main(["rscript", "", "--data", str(tmp_path / "nope")]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "no such file or folder" in captured.err


# ---------------------------------------------------------------------------------------
# Running the scripts with R


def need_r() -> str:
    rscript = shutil.which("Rscript")
    if rscript is None:
        if os.environ.get("REQUIRE_R") == "1":
            pytest.fail("REQUIRE_R=1 but Rscript is not on PATH")
        pytest.skip("R is not installed (Rscript not on PATH): apt-get install r-cran-metafor")
    return rscript


DRIVER = """
suppressPackageStartupMessages(library(metafor))
for (f in commandArgs(trailingOnly = TRUE)) {
  cat("\\n=== ", basename(f), "\\n", sep = "")
  sys.source(f, envir = new.env())
  graphics.off()
}
"""


@pytest.fixture(scope="module")
def r_results(tmp_path_factory) -> dict[str, dict | None]:
    """name -> the JSON each script printed, all scripts in one Rscript run."""
    rscript = need_r()
    folder = tmp_path_factory.mktemp("rscripts")
    scripts = {name: script(q) for name, q in R_LINKS.items()}
    labels = '\ncat("\\nLABELS", jsonlite::toJSON(dat_DFS$label), "\\n")\n'
    scripts["hostile"] = script("?tpoint=interp", hostile_dataset()) + labels
    scripts["empty"] = script("?design=none")
    files = []
    for name, text in scripts.items():
        (folder / f"{name}.R").write_text(text, encoding="utf-8")
        files.append(f"{name}.R")
    (folder / "driver.R").write_text(DRIVER, encoding="utf-8")
    proc = subprocess.run(
        [rscript, "driver.R", *files],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert not list(folder.glob("INJECTED*")), "text from the data ran as R code"
    assert "Nothing to pool in this view; see the comments above." in proc.stderr
    out: dict[str, dict | None] = {}
    for chunk in proc.stdout.split("\n=== ")[1:]:
        name = chunk.split("\n", 1)[0].removesuffix(".R")
        json_lines = [ln for ln in chunk.splitlines() if ln.startswith("{")]
        out[name] = json.loads(json_lines[-1]) if json_lines else None
        if name == "hostile":
            out["hostile_labels"] = json.loads(chunk.split("\nLABELS ", 1)[1].split("\n")[0])
    assert set(out) == {*scripts, "hostile_labels"}
    assert out["empty"] is None  # nothing fitted, nothing printed, no error
    return out


def near(ours: float, theirs: float | None) -> bool:
    return theirs is not None and math.isclose(ours, theirs, rel_tol=1e-6, abs_tol=1e-6)


def undefined_here(key: str, fit, theirs: dict) -> bool:
    """Where ours is undefined (NaN) and metafor still reports a number: I2 of one study
    (metafor: 0) and, with Hartung-Knapp on one study, metafor's fallback to z."""
    if fit.k != 1:
        return False
    if key == "I2":
        return theirs[key] == 0
    return fit.ci == "hksj" and key in ("se", "ci_lb", "ci_ub", "pval", "pi_lb", "pi_ub")


KEYS = {
    "estimate": "estimate",
    "se": "se",
    "ci_low": "ci_lb",
    "ci_high": "ci_ub",
    "pvalue": "pval",
    "tau2": "tau2",
    "i2": "I2",
}


def assert_fit_matches(fit, theirs: dict, where: str, pi: str) -> int:
    """Every number of a PoolResult against metafor's, and the prediction interval by the
    view's method ``pi`` (``0``: hidden, NA in R); returns how many were compared."""
    assert theirs["k"] == fit.k, where
    n = 0
    pred = None if pi == "0" else prediction_interval(fit, pi)
    if pred is None or not pred.available:
        assert theirs["pi_lb"] is None and theirs["pi_ub"] is None, (where, "pi")
    else:
        assert near(pred.low, theirs["pi_lb"]) and near(pred.high, theirs["pi_ub"]), (where, pi)
        n += 2
    for ours_key, key in KEYS.items():
        ours = getattr(fit, ours_key)
        if math.isnan(ours):
            assert theirs[key] is None or undefined_here(key, fit, theirs), (where, key)
            continue
        assert near(ours, theirs[key]), (where, key, ours, theirs[key])
        n += 1
    assert len(theirs["weights"]) == fit.k
    assert all(near(w, t) for w, t in zip(fit.weights, theirs["weights"], strict=True)), where
    return n + fit.k


def assert_matches_core(query: str, res: dict, dataset: Dataset = DATASET) -> int:
    analysis = view(query, dataset)
    compared = 0
    for name, oa in analysis.outcomes.items():
        theirs = res[name]
        if oa.pooled is None:
            assert theirs == {"k": 0}
            continue
        used = oa.rows[oa.rows["included"]].set_index("study_id")
        order = list(theirs["study"])
        assert sorted(order) == sorted(used.index)
        for col in ("yi", "vi"):
            for sid, value in zip(order, theirs[col], strict=True):
                assert near(float(used.at[sid, col]), value), (name, sid, col)
                compared += 1
        pi = analysis.state.pi
        if oa.subgroups is None:
            compared += assert_fit_matches(oa.pooled, theirs, name, pi)
            continue
        # grouped: rows are in group order in R, so compare the overall weights by study
        weights = dict(zip(order, theirs["weights"], strict=True))
        for sid, w in zip(used.index, oa.pooled.weights, strict=True):
            assert near(w, weights[sid]), (name, sid)
        theirs_sorted = {**theirs, "weights": [weights[s] for s in used.index]}
        compared += assert_fit_matches(oa.pooled, theirs_sorted, name, pi)
        assert set(theirs["subgroups"]) == {str(g) for g in oa.subgroups.groups}
        for g, fit in oa.subgroups.groups.items():
            compared += assert_fit_matches(fit, theirs["subgroups"][str(g)], f"{name} {g}", pi)
        if oa.subgroups.q_between is not None:
            assert near(oa.subgroups.q_between, theirs["between"]["Q"])
            assert near(oa.subgroups.p_between, theirs["between"]["pval"])
            compared += 2
    return compared


@pytest.mark.parametrize("name", list(R_LINKS))
def test_metafor_reproduces_our_numbers(r_results, name):
    assert assert_matches_core(R_LINKS[name], r_results[name]) >= 12


def test_links_cover_the_cases(r_results):
    """The R links reach k = 1, Hartung-Knapp, EE, HR, hand exclusions and subgroup tests."""
    a = {name: view(q) for name, q in R_LINKS.items()}
    assert {oa.k for v in a.values() for oa in v.outcomes.values()} >= {1, 2, 3}
    assert a["one_study"].outcomes["DFS"].k == 1
    assert a["group_indication_hksj"].outcomes["OS"].subgroups.q_between is None
    assert a["group_design_wide"].outcomes["OS"].subgroups.q_between is not None
    assert "between" in r_results["group_design_wide"]["OS"]
    for name in ("group_design_common", "group_indication_common_hksj"):
        oa = a[name].outcomes["OS"]
        assert oa.subgroups.tau2 == "common" and oa.subgroup_test.q is not None
        theirs = r_results[name]["OS"]["between_common"]
        assert near(oa.subgroup_test.q, theirs["QM"]) and near(
            oa.subgroups.tau2_common, theirs["tau2"]
        )
    # a one-study group under Hartung-Knapp: no own-fit se, but a common-tau2 subtotal
    hk = a["group_indication_common_hksj"].outcomes["OS"].subgroups
    assert any(f.k == 1 and math.isfinite(f.se) for f in hk.groups.values())
    assert a["hr_wide_pm"].outcomes["OS"].k >= 2
    assert a["two_studies"].outcomes["DFS"].k == 2  # no prediction interval: NA in R
    assert r_results["two_studies"]["DFS"]["pi_lb"] is None
    # t on k - 2 (the default) is wider than metafor's z, and R agrees with the app on both
    t, z = r_results["interp"]["DFS"], r_results["interp_pi_z"]["DFS"]
    assert t["pi_lb"] < z["pi_lb"] < z["pi_ub"] < t["pi_ub"]
    pred = a["interp"].outcomes["DFS"].prediction
    assert pred is not None and pred.method == "t" and near(pred.low, t["pi_lb"])
    assert r_results["interp_pi_hidden"]["DFS"]["pi_lb"] is None


def test_hostile_labels_survive_in_r(r_results):
    rows = view("?tpoint=interp", hostile_dataset()).outcomes["DFS"].rows
    assert r_results["hostile_labels"] == list(rows["label"])
    assert HOSTILE in r_results["hostile_labels"] and EVIL_LABEL in r_results["hostile_labels"]
    assert assert_matches_core("?tpoint=interp", r_results["hostile"], hostile_dataset()) > 0


def test_script_runs_on_its_own(tmp_path):
    """``Rscript file.R`` as a statistician would run it: exit 0, plots, readable output."""
    rscript = need_r()
    (tmp_path / "view.R").write_text(script(DEFAULT), encoding="utf-8")
    proc = subprocess.run(
        [rscript, "view.R"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    p = view(DEFAULT).outcomes["DFS"].pooled
    lo, est, hi = (math.exp(x) for x in (p.ci_low, p.estimate, p.ci_high))
    assert f"DFS: pooled OR {est:.3f} (95% CI {lo:.3f} to {hi:.3f})" in proc.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["view.R"]  # no plot file by default
    res = json.loads([ln for ln in proc.stdout.splitlines() if ln.startswith("{")][-1])
    assert assert_matches_core(DEFAULT, res) > 0


def test_script_saves_plots_only_when_asked(tmp_path):
    """With ``plot_file`` set at the top, the forest plots go to that PDF."""
    rscript = need_r()
    text = script("?group=design").replace(
        "plot_file <- NULL  #", 'plot_file <- "plots/forest.pdf"  #', 1
    )
    (tmp_path / "plots").mkdir()
    (tmp_path / "view.R").write_text(text, encoding="utf-8")
    proc = subprocess.run(
        [rscript, "view.R"], cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (tmp_path / "plots" / "forest.pdf").read_bytes()[:5] == b"%PDF-"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plots", "view.R"]


def test_plots_drawn_only_when_asked():
    text = script("?group=design")
    assert any(ln.startswith("plot_file <- NULL") for ln in code_lines(text))
    assert 'pdf("forest_plots.pdf"' not in text
    assert all(
        ln.startswith(("if (draw_plots)", "fp_")) or "forest(" not in ln for ln in code_lines(text)
    )
    assert "if (draw_plots) forest(res_OS" in script(DEFAULT)


def test_missing_source_is_na():
    outcomes = DATASET.outcomes.copy()
    outcomes.loc[outcomes["study_id"] == "Shi2022", "source_url"] = pd.NA
    text = script(DEFAULT, dataclasses.replace(DATASET, outcomes=outcomes))
    assert "<NA>" not in text
    source = next(ln for ln in code_lines(text) if ln.startswith("  source = ") and "NA" in ln)
    assert ", NA" in source or "(NA" in source
    assert "#     source: not given" in text
