"""A self-contained R script that reproduces a view with metafor, so every number can be checked.

The script holds the data inline (2x2 counts for odds ratios, ln HR and its SE for hazard
ratios, each with how it was derived and its source), fits ``rma`` with the same tau2 estimator
and CI method, prints metafor's output and the key numbers, draws ``forest()`` and ends with the
results as JSON (read back by the tests). Text from the data goes into R only as escaped string
literals or as single-line comments, so no label can break out into code.

>>> print(r_string('Say "hi"\\n'))
"Say \\"hi\\"\\n"
"""

from __future__ import annotations

import dataclasses
import math
import unicodedata

import pandas as pd

from core import fmt, vocab
from core.data.dataset import Dataset
from core.data.description import bundled_words
from core.report.narrative import described_filters
from core.state.view import (
    DEFAULT_STATE,
    TABLE_MEASURES,
    TABLE_METHODS,
    ViewState,
    encode_query,
    model_of,
)
from core.stats.effects import is_ratio
from core.views.analysis import (
    OUTCOMES,
    Analysis,
    OutcomeAnalysis,
    frequentist,
    group_labels,
    model_label,
    subtotal_text,
)
from core.vocab import GROUP_HEADINGS as HEADINGS
from core.vocab import NOT_ADVICE

# ---------------------------------------------------------------------------------------
# R literals


def r_string(text: object) -> str:
    """``text`` as an R double-quoted string literal in plain ASCII.

    Backslashes, quotes and control characters are escaped, non-ASCII characters become
    ``\\u{...}`` escapes, NUL (which R strings cannot hold) and lone surrogates are dropped or
    replaced, so any text stays one harmless string.
    """
    out = ['"']
    for ch in str(text):
        code = ord(ch)
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif code == 0:
            continue
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\x{code:02x}")
        elif code < 0x80:
            out.append(ch)
        elif 0xD800 <= code <= 0xDFFF:
            out.append("\\u{fffd}")
        elif code <= 0xFFFF:
            out.append(f"\\u{{{code:x}}}")
        else:
            out.append(f"\\U{{{code:x}}}")
    out.append('"')
    return "".join(out)


def r_number(x: float | None) -> str:
    """A number as R reads it back exactly (shortest round-trip form); NA when missing."""
    if x is None or pd.isna(x):
        return "NA"
    value = float(x)
    if not math.isfinite(value):
        return "NA"
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def comment(text: object) -> str:
    """``text`` fit for one R comment line: every line break or control character becomes a
    space (printable non-ASCII text is kept)."""
    return "".join(
        ch if ch.isprintable() and unicodedata.category(ch) != "Cs" else " " for ch in str(text)
    )


def _vector(values: list[str]) -> str:
    return "c(" + ", ".join(values) + ")"


# ---------------------------------------------------------------------------------------
# The script


def _header(analysis: Analysis, dataset: Dataset, outcomes: tuple[str, ...]) -> list[str]:
    state = analysis.state
    query = encode_query(state)
    source = dataset.source
    words = dataset.description
    own = words.given and words.title != bundled_words().title  # an upload's own words
    lines = [
        f"# {comment(words.title)}: evidence explorer view,"
        if own
        else "# Perioperative radiotherapy around hepatectomy for HCC: evidence explorer view,",
        "# reproduced with R's metafor (rma, predict, forest) so every number can be checked.",
        f"# {NOT_ADVICE}",
        "#",
        f"# Link: the default view (?{query})"
        if query == encode_query(DEFAULT_STATE)
        else f"# Link (query string): ?{query}",
        f"# Data: {comment(source)}",
        "# Filters and settings:",
        *(
            f"#   {comment(line)}"
            for line in described_filters(state, [analysis.outcomes[o] for o in outcomes])
        ),
    ]
    if analysis.unknown_excludes:
        ids = ", ".join(analysis.unknown_excludes)
        lines.append(f"#   Unknown study ids in the link, ignored: {comment(ids)}")
    lines += [
        "#",
        "# Run: Rscript this_file.R (needs metafor; jsonlite only for the JSON at the end).",
        "# Forest plots: drawn in an interactive session; set plot_file below to a PDF path to",
        "# save them there. With plot_file <- NULL, Rscript writes no file.",
        "",
    ]
    return lines


PRELUDE = """\
suppressPackageStartupMessages(library(metafor))
plot_file <- NULL  # e.g. "forest_plots.pdf" to save the forest plots
if (!is.null(plot_file)) pdf(plot_file, width = 10, height = 7)
draw_plots <- interactive() || !is.null(plot_file)

# The 95% prediction interval of a fit (log scale) by the view's method, pi_method (set
# below; NULL = hidden in the view):
#   "t"     mu +/- qt(0.975, k - 2) * sqrt(tau2 + se^2), se = 1 / sqrt(sum(w)),
#           w = 1 / (vi + tau2) (Higgins, Thompson & Spiegelhalter 2009; Cochrane Handbook;
#           R meta's default). metafor's predict() has no k - 2 option for rma.uni with
#           test = "z" (with "knha" it uses k - 1), so it is computed here.
#   "z"     mu +/- qnorm(0.975) * sqrt(tau2 + se^2): metafor's predict() of a test = "z" fit
#   "hksj"  mu +/- qt(0.975, k - 1) * sqrt(tau2 + se_HK^2), se_HK the Hartung-Knapp SE
#           (R meta's method.predict = "HK"): metafor's predict() of a test = "knha" fit
# None (NA) with fewer than 3 studies or a common-effect model.
pred_int <- function(res, method = pi_method) {
  k <- res$k
  if (is.null(method) || k < 3 || res$method %in% c("EE", "FE")) return(c(NA_real_, NA_real_))
  mu <- as.numeric(coef(res))
  w <- 1 / (as.numeric(res$vi) + res$tau2)
  se <- if (method == "hksj") {
    sqrt(sum(w * (as.numeric(res$yi) - mu)^2) / ((k - 1) * sum(w)))
  } else {
    1 / sqrt(sum(w))
  }
  crit <- switch(method, t = qt(0.975, k - 2), z = qnorm(0.975), hksj = qt(0.975, k - 1))
  mu + c(-1, 1) * crit * sqrt(res$tau2 + se^2)
}

# Key numbers of a fit on the log scale, with the 95% prediction interval of pred_int().
key_numbers <- function(res) {
  pr <- pred_int(res)
  list(k = res$k, estimate = as.numeric(coef(res)), se = res$se, ci_lb = res$ci.lb,
       ci_ub = res$ci.ub, pval = res$pval, tau2 = res$tau2, I2 = res$I2,
       pi_lb = pr[1], pi_ub = pr[2], yi = I(as.numeric(res$yi)),
       vi = I(as.numeric(res$vi)), weights = I(as.numeric(weights(res))))
}

# One line with the pooled ratio (tf = exp of the log-scale estimate; identity for a risk
# difference, which is on its own scale).
show_pooled <- function(name, ratio, res, tf = exp) {
  p <- key_numbers(res)
  cat(sprintf("%s: pooled %s %.3f (95%% CI %.3f to %.3f), p = %.4g, k = %d, tau2 = %.4f,",
              name, ratio, tf(p$estimate), tf(p$ci_lb), tf(p$ci_ub), p$pval, p$k, p$tau2),
      sprintf("I2 = %.1f%%", p$I2))
  if (!is.na(p$pi_lb)) cat(sprintf(", 95%% PI %.3f to %.3f", tf(p$pi_lb), tf(p$pi_ub)))
  cat("\\n")
}

# Tight convergence for the iterative tau2 estimators (REML, ML, PM, EB), so the numbers agree
# with the explorer's to many digits; metafor's defaults (threshold 1e-5) agree to about 5.
ctl <- list(threshold = 1e-12, tol = 1e-13, maxiter = 10000, stepadj = 0.5)

results <- list()
"""


def _excluded_lines(oa: OutcomeAnalysis) -> list[str]:
    gone = oa.excluded()
    if not gone:
        return ["# Every selected study is pooled."]
    lines = ["# Studies not pooled, and why:"]
    lines += [f"#   {comment(sid)}: {comment(reason)}" for sid, reason in gone]
    return lines


def _with_tables_only(oa: OutcomeAnalysis) -> pd.DataFrame:
    """The rows, and after them the 2x2 tables that Mantel-Haenszel/Peto pool without a
    per-study estimate (``oa.tables_only``), so that rma.mh/rma.peto see every table."""
    if not oa.tables_only:
        return oa.rows
    extra = pd.DataFrame(
        [
            {
                "study_id": s,
                "label": s,
                "events_rt": a,
                "n_rt": n1,
                "events_ctl": c,
                "n_ctl": n2,
                "derivation": "no per-study estimate under the zero-cell options; its table is "
                "pooled by the model",
                "source_url": pd.NA,
                "included": True,
            }
            for s, a, n1, c, n2 in oa.tables_only
        ]
    )
    return pd.concat([oa.rows, extra], ignore_index=True)


def _escalc_call(oa: OutcomeAnalysis, data: str, state: ViewState) -> str:
    """escalc() of the view's measure with its zero-cell options."""
    model = model_of(state)
    drop = "TRUE" if model.drop00 else "FALSE"
    return (
        f'escalc(measure = "{oa.measure}", ai = ai, n1i = n1i, ci = ci, n2i = n2i, '
        f'add = {r_number(model.add)}, to = "{model.to}", drop00 = {drop}, data = {data})'
    )


def _data_lines(
    oa: OutcomeAnalysis, v: str, groups: list[str] | None, state: ViewState
) -> list[str]:
    rows = _with_tables_only(oa)
    if oa.measure in TABLE_MEASURES:
        own = oa.description is not None and oa.words.code not in ("OS", "DFS")
        events = (
            f"{oa.words.event} events"
            if own
            else ("deaths" if oa.outcome == "OS" else "recurrences or deaths")
        )
        when = "with no time point" if oa.years is None else f"by t = {fmt.years(oa.years)} years"
        arm = oa.description.treatment if own and oa.description else "RT"
        favours = "RD < 0" if oa.measure == "RD" else f"{oa.measure} < 1"
        lines = [
            f"# 2x2 counts: {events} {when} and arm sizes, {arm} arm (ai of",
            f"# n1i) vs control (ci of n2i); {favours} favours {arm}. Where a study reports",
            "# survival rates only, events = round(n x (1 - rate/100)), an approximation that",
            "# ignores censoring before t. Per study, how the counts were derived and the source:",
        ]
    else:
        lines = [
            "# ln(HR) (yi, RT vs control; HR < 1 favours RT) and its standard error (sei),",
            "# from the reported 95% CI or p-value. Per study, the derivation and the source:",
        ]
    for s in oa.overlaps:
        lines.append(
            f"# ‡ {comment(', '.join(s.ids))}: overlap group {comment(s.group)} (cohorts that may "
            "share patients), pooled together"
        )
    for r in rows.itertuples(index=False):
        lines.append(f"#   {comment(r.study_id)} ({comment(r.label)}): {comment(r.derivation)}")
        src = "not given" if pd.isna(r.source_url) else comment(r.source_url)
        lines.append(f"#     source: {src}")
    cols = [
        f"  study = {_vector([r_string(s) for s in rows['study_id']])},",
        f"  label = {_vector([r_string(s) for s in rows['label']])},",
    ]
    if oa.measure in TABLE_MEASURES:
        for name, col in (("ai", "events_rt"), ("n1i", "n_rt"), ("ci", "events_ctl")):
            cols.append(f"  {name} = {_vector([r_number(x) for x in rows[col]])},")
        cols.append(f"  n2i = {_vector([r_number(x) for x in rows['n_ctl']])},")
    else:
        cols.append(f"  yi = {_vector([r_number(x) for x in rows['yi']])},")
        cols.append(f"  sei = {_vector([r_number(math.sqrt(x)) for x in rows['vi']])},")
    if groups is not None:
        cols.append(f"  group = {_vector([r_string(g) for g in groups])},")
    cols += [
        f"  included = {_vector(['TRUE' if x else 'FALSE' for x in rows['included']])},",
        f"  source = {_vector(['NA' if pd.isna(s) else r_string(s) for s in rows['source_url']])},",
        "  stringsAsFactors = FALSE",
    ]
    lines += [f"dat_{v} <- data.frame(", *cols, ")"]
    if oa.measure in TABLE_MEASURES:
        what = "the risk difference" if oa.measure == "RD" else f"ln({oa.measure})"
        lines += [
            f"# yi = {what}, vi its variance; {comment(oa.zero_words or '')}",
            f"dat_{v} <- {_escalc_call(oa, f'dat_{v}', state)}",
        ]
    else:
        lines.append(f"dat_{v}$vi <- dat_{v}$sei^2")
    excluded = int((~rows["included"]).sum())
    note = f"  # {excluded} excluded by hand" if excluded else ""
    lines.append(f"used_{v} <- dat_{v}[dat_{v}$included, ]{note}")
    return lines


def _fit_call(data: str, oa: OutcomeAnalysis, state: ViewState | None = None) -> str:
    p = oa.pooled
    assert p is not None
    if p.method in TABLE_METHODS and state is not None:
        model = model_of(state)
        fn = "rma.mh" if p.method == "MH" else "rma.peto"
        measure = f'measure = "{oa.measure}", ' if p.method == "MH" else ""
        drop = "TRUE" if model.drop00 else "FALSE"
        return (
            f"{fn}(ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = {data}, {measure}"
            f'add = {r_number(model.add)}, to = "{model.to}", drop00 = {drop}, slab = label)'
        )
    test = "knha" if p.ci == "hksj" else "z"
    method = frequentist(p.method)  # the Bayesian model is not an rma fit: REML stands in
    return (
        f'rma(yi, vi, data = {data}, slab = label, method = "{method}", test = "{test}",'
        " control = ctl)"
    )


def _group_key(label: str) -> tuple[str, str]:
    """Subgroup order of the forest plot (as core.views.analysis.forest_frame)."""
    return label.casefold(), label.swapcase()


def _forest_rows(groups: list[str], order: list[str]) -> tuple[list[int], list[int], list[int]]:
    """Study rows, heading rows and subtotal rows (top down) for a grouped forest plot."""
    n = {g: groups.count(g) for g in order}
    y = len(groups) + 3 * len(order)
    rows: list[int] = []
    heads: list[int] = []
    subs: list[int] = []
    for g in order:
        heads.append(y)
        rows += list(range(y - 1, y - 1 - n[g], -1))
        subs.append(y - 1 - n[g])
        y -= n[g] + 3
    return rows, heads, subs


def _outcome_block(oa: OutcomeAnalysis, analysis: Analysis, studies: pd.DataFrame) -> list[str]:
    state = analysis.state
    v = oa.outcome
    title = oa.title
    head = f"{oa.words.code} (slot {v})" if oa.words.code != v else v
    lines = ["", f"# ===== {head}: {title} " + "=" * max(3, 60 - len(title)), ""]
    lines += _excluded_lines(oa)
    if oa.pooled is None:
        why = oa.message or ""
        lines += [
            f"# Nothing to pool for {oa.words.label}: {comment(why)}",
            f"message({r_string(f'{v}: nothing to pool. {why}')})",
            f"results${v} <- list(k = 0L)",
        ]
        return lines
    p = oa.pooled
    subgroups = oa.subgroups if oa.group_by is not None else None
    rows = oa.rows
    groups: list[str] | None = None
    order: list[str] = []
    if subgroups is not None:
        assert oa.group_by is not None
        labels = group_labels(studies, oa.group_by, rows["study_id"])
        pos = sorted(range(len(labels)), key=lambda i: _group_key(labels[i]))
        rows = rows.iloc[pos].reset_index(drop=True)
        groups = [labels[i] for i in pos]
        order = sorted((str(g) for g in subgroups.groups), key=_group_key)
    lines += [""]
    lines += _data_lines(dataclasses.replace(oa, rows=rows), v, groups, state)
    lines += [
        "",
        f"# {model_label(p.method, p.ci)}: the estimator and CI method of the view.",
    ]
    if p.method == "BAYES":
        lines.append(
            "# The view's Bayesian model (half-normal prior on tau, scale "
            f"{oa.bayes.tau_prior if oa.bayes else '?'}; flat prior on the mean) is "
            "bayesmeta's; this script fits REML instead (bayesmeta::bayesmeta(y = yi, "
            "sigma = sqrt(vi), tau.prior = function(t) dhalfnormal(t, scale = s)) gives it)."
        )
    if p.k == 1:
        lines.append(
            "# One study: the pooled result is that study's own estimate"
            + (
                '; metafor then uses test = "z" (the explorer shows no Hartung-Knapp CI'
                " on 0 degrees of freedom)."
                if p.ci == "hksj"
                else "; metafor reports I2 = 0 (undefined in the explorer)."
            )
        )
    if p.method == "EE" and p.ci == "hksj":
        lines.append("# Hartung-Knapp on a common-effect model: metafor warns, as expected.")
    ratio = str(oa.measure)
    header = f'c("Study", "{vocab.title(vocab.MEASURE_NAMES[ratio])} [95% CI]")'
    tf = "exp" if is_ratio(ratio) else "identity"
    lines += [
        f"res_{v} <- {_fit_call(f'used_{v}', oa, state)}",
        f"print(res_{v})",
        f"print(predict(res_{v}, transf = {tf}))  # pooled {ratio}, 95% CI and metafor's PI",
        f"show_pooled({r_string(oa.words.code)}, {r_string(ratio)}, res_{v}, {tf})",
        f"results${v} <- key_numbers(res_{v})",
        f"results${v}$study <- I(used_{v}$study)",
    ]
    pred = oa.shown_prediction
    pi_method = pred.method if pred is not None and pred.available else None
    show_pi = pi_method is not None
    # forest()'s addpred draws predict()'s interval: the view's only for z with a z-test fit
    # and hksj with a Hartung-Knapp fit; else the explicit interval is drawn on the pooled row
    native = (pi_method, p.ci) in (("z", "wald"), ("hksj", "hksj"))
    addpred = "TRUE" if native else "FALSE"
    mlab = r_string(f"{model_label(p.method, p.ci)}, k = {p.k}")
    forest_args = f"atransf = {tf}, header = {header}, mlab = {mlab}, addpred = {addpred}"
    if subgroups is None:
        lines.append(f"if (draw_plots) forest(res_{v}, {forest_args})")
        if show_pi and not native:
            lines.append(
                f"if (draw_plots) segments(pred_int(res_{v})[1], -1, pred_int(res_{v})[2], -1,"
                ' lty = "dotted")  # the prediction interval of the view'
            )
        return lines
    used_groups = [g for g, inc in zip(groups or [], rows["included"], strict=True) if inc]
    ys, heads, subs = _forest_rows(used_groups, order)
    top = max(heads)
    lines += [""]
    common = subgroups.tau2 == "common"
    test = "knha" if p.ci == "hksj" else "z"
    method = frequentist(p.method)
    if state.tau2g == "common" and not common:
        lines.append(f"# {comment(subtotal_text(oa) or '')} (the view asks for a common tau2)")
    if common:
        lines += [
            f"# Subgroups by {comment(str(oa.group_by))}: each pooled with one tau2 common to "
            "all groups",
            "# (link key tau2g; meta's tau.common = TRUE): the coefficients of the factor model",
            "# without intercept (with Hartung-Knapp one scale factor, t on k - groups df); each",
            "# group's I2 and weights are those of rma with that tau2 fixed.",
            f"groups_{v} <- {_vector([r_string(g) for g in order])}",
            f"fit_groups_{v} <- rma(yi, vi, mods = ~ factor(group, levels = groups_{v}) - 1,",
            f'  data = used_{v}, method = "{method}", test = "{test}", control = ctl)',
            f"print(fit_groups_{v})",
            f"sub_{v} <- lapply(setNames(groups_{v}, groups_{v}), function(g)",
            f"  rma(yi, vi, tau2 = fit_groups_{v}$tau2, data = used_{v}[used_{v}$group == g, ],",
            f'    method = "{method}", slab = label, control = ctl))',
            f"results${v}$subgroups <- lapply(setNames(seq_along(groups_{v}), groups_{v}),",
            f"  function(i) modifyList(key_numbers(sub_{v}[[i]]), list(",
            f"    estimate = as.numeric(coef(fit_groups_{v}))[i], se = fit_groups_{v}$se[i],",
            f"    ci_lb = fit_groups_{v}$ci.lb[i], ci_ub = fit_groups_{v}$ci.ub[i],",
            f"    pval = fit_groups_{v}$pval[i], tau2 = fit_groups_{v}$tau2)))",
        ]
    else:
        lines += [
            f"# Subgroups by {comment(str(oa.group_by))}: a separate fit per group (own tau2), and",
            "# the test for subgroup differences: Cochran's Q of the group estimates with weights",
            "# 1/se^2 (as RevMan and meta report it; rma(yi, vi, mods = ~ group) would assume one",
            "# common tau2).",
            f"groups_{v} <- {_vector([r_string(g) for g in order])}",
            f"sub_{v} <- lapply(setNames(groups_{v}, groups_{v}), function(g)",
            f"  {_fit_call(f'used_{v}[used_{v}$group == g, ]', oa)})",
            f"results${v}$subgroups <- lapply(sub_{v}, key_numbers)",
            f"for (g in groups_{v}) show_pooled(paste({r_string(oa.words.code)}, g), "
            f'"{ratio}", sub_{v}[[g]], {tf})',
        ]
    if len(order) >= 2:
        if p.ci == "hksj" and not common and any(f.k == 1 for f in subgroups.groups.values()):
            lines += [
                "# The explorer shows no test here: a one-study group has no Hartung-Knapp SE",
                "# (0 degrees of freedom), while metafor falls back to the z-based SE.",
            ]
        est, se = (
            (f"coef(fit_groups_{v})", f"fit_groups_{v}$se")
            if common
            else (f"sapply(sub_{v}, coef)", f"sapply(sub_{v}, function(f) f$se)")
        )
        lines += [
            f"between_{v} <- rma(yi = as.numeric({est}),",
            f'  sei = {se}, method = "EE")',
            f'cat(sprintf("{v}: test for subgroup differences Q = %.4f, df = %d, p = %.4g\\n",',
            f"  between_{v}$QE, between_{v}$k - 1L, between_{v}$QEp))",
            f"results${v}$between <- list(Q = between_{v}$QE, pval = between_{v}$QEp)",
        ]
        t = oa.subgroup_test
        if state.tau2g == "common" and (t is None or t.q is None):
            lines.append(
                "# The view asks for one tau2 common to all subgroups, but "
                f"{comment(t.reason if t is not None else 'no test')}: no common-tau2 test."
            )
        elif state.tau2g == "common":
            lines += [
                "# The view's test assumes one tau2 common to all subgroups (link key tau2g):",
                "# the Wald test QM of the group terms (F with Hartung-Knapp).",
                f"common_{v} <- rma(yi, vi, mods = ~ factor(group), data = used_{v},",
                f'  method = "{method}", test = "{test}", control = ctl)',
                f'cat(sprintf("{v}: test for subgroup differences, common tau2: QM = %.4f, '
                'df = %d, p = %.4g\\n",',
                f"  common_{v}$QM, common_{v}$QMdf[1], common_{v}$QMp))",
                f"results${v}$between_common <- list(QM = common_{v}$QM, "
                f"pval = common_{v}$QMp, tau2 = common_{v}$tau2)",
            ]
    lines += [
        "if (draw_plots) {",
        f"fp_{v} <- forest(res_{v}, {forest_args},",
        f"  rows = {_vector([str(y) for y in ys])}, ylim = c(-1.5, {top + 3}))",
        f"text(fp_{v}$xlim[1], {_vector([str(h) for h in heads])},",
        f"  {_vector([r_string(HEADINGS.get(g, g)) for g in order])}, pos = 4, font = 2)",
        f"subrows_{v} <- {_vector([str(s) for s in subs])}",
    ]
    if common:
        lines += [
            f"for (i in seq_along(groups_{v})) addpoly(as.numeric(coef(fit_groups_{v}))[i],",
            f"  ci.lb = fit_groups_{v}$ci.lb[i], ci.ub = fit_groups_{v}$ci.ub[i],",
            f"  rows = subrows_{v}[i], atransf = exp,",
            f'  mlab = paste0("Subtotal, k = ", sub_{v}[[i]]$k, " (common tau2)"))',
        ]
    else:
        lines += [
            f"for (i in seq_along(groups_{v})) addpoly(sub_{v}[[i]], row = subrows_{v}[i],",
            f'  mlab = paste0("Subtotal, k = ", sub_{v}[[i]]$k), atransf = exp)',
        ]
    if show_pi and not native:
        lines.append(
            f'segments(pred_int(res_{v})[1], -1, pred_int(res_{v})[2], -1, lty = "dotted")'
        )
    lines.append("}")
    return lines


JSON_SECTION = """
if (!is.null(plot_file)) invisible(dev.off())

# --- results as JSON (for checking) ---
# Log-scale estimates; weights in percent; NA written as null.
if (requireNamespace("jsonlite", quietly = TRUE)) {
  json <- jsonlite::toJSON(results, digits = NA, auto_unbox = TRUE, na = "null")
  cat("\\n", json, "\\n", sep = "")
}
"""


def _pi_method_lines(pi: str) -> list[str]:
    """``pi_method <- "t"`` (or z, hksj; NULL when the view hides the interval)."""
    if pi == "0":
        return ['pi_method <- NULL  # hidden in the view; the default would be "t"', ""]
    return [f'pi_method <- "{pi}"  # the view\'s prediction interval (link key pi)', ""]


def r_script(analysis: Analysis, dataset: Dataset, outcome: str | None = None) -> str:
    """The R script reproducing ``analysis`` (both outcomes of the overview, or ``outcome``)."""
    if outcome is not None and outcome not in OUTCOMES:
        raise ValueError(f"outcome must be one of {', '.join(OUTCOMES)}, not {outcome!r}")
    outcomes = tuple(analysis.outcomes) if outcome is None else (outcome,)
    studies: pd.DataFrame = dataset.studies
    lines = _header(analysis, dataset, outcomes)
    if all(analysis.outcomes[o].pooled is None for o in outcomes):
        lines += ["# Nothing to pool in this view:"]
        for o in outcomes:
            oa = analysis.outcomes[o]
            lines += [f"# {o}: {comment(oa.message or '')}", *_excluded_lines(oa)]
        lines += ['message("Nothing to pool in this view; see the comments above.")']
        return "\n".join(lines) + "\n"
    lines += PRELUDE.splitlines()
    lines += _pi_method_lines(analysis.state.pi)
    for o in outcomes:
        lines += _outcome_block(analysis.outcomes[o], analysis, studies)
    lines += JSON_SECTION.splitlines()
    return "\n".join(lines) + "\n"


def r_script_download(
    analysis: Analysis, dataset: Dataset, outcome: str | None = None
) -> tuple[str, bytes]:
    """(file name, UTF-8 bytes) of :func:`r_script` for a download button."""
    suffix = f"-{outcome}" if outcome else ""
    return f"rt-hcc-metafor{suffix}.R", r_script(analysis, dataset, outcome).encode("utf-8")
