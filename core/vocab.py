"""The explorer's vocabulary: codes -> labels, event words, GRADE terms and the disclaimer.

One place for every name a user reads, so the sidebar, the pages, the charts, the report and
the exports call one thing by one name. Labels are lower-case phrases for use inside sentences;
:func:`title` capitalises one for a widget or a heading.

>>> title(INDICATIONS["PVTT"])
'Portal vein tumour thrombosis (PVTT)'
"""

from __future__ import annotations

from typing import Final

INDICATIONS: Final = {
    "PVTT": "portal vein tumour thrombosis (PVTT)",
    "narrow_margin": "narrow resection margin",
    "MVI": "microvascular invasion (MVI)",
    "other": "other indications",
}
DESIGNS: Final = {
    "RCT": "randomized (RCT)",
    "PSM": "propensity-matched (PSM)",
    "prospective-nonrandomized": "prospective non-randomized",
    "retrospective": "retrospective, not matched",
}
RT_TYPES: Final = {"external": "external-beam", "internal": "internal (e.g. I-131 lipiodol)"}
OUTCOMES: Final = {"OS": "overall survival", "DFS": "disease-free survival"}
#: Outcome labels with their abbreviation, as the controls show them.
OUTCOME_CHOICES: Final = {code: f"{label} ({code})" for code, label in OUTCOMES.items()}
#: The measures' names in a sentence ('the pooled odds ratio').
MEASURE_NAMES: Final = {
    "OR": "odds ratio",
    "RR": "risk ratio",
    "RD": "risk difference",
    "HR": "hazard ratio",
}
#: The measures as the controls offer them: the 2x2-table measures are read at t years.
MEASURES: Final = {
    code: name if code == "HR" else f"{name} at t years" for code, name in MEASURE_NAMES.items()
}
#: How the risk difference is shown: a proportion (as metafor and RevMan print it).
RD_UNIT: Final = "risk difference as a proportion (-0.05 = 5 fewer events per 100 patients)"
#: The pooled risk difference's help text (the ratio's is STAT_HELP["Pooled"]).
POOLED_RD_HELP: Final = (
    "The pooled risk difference, RT minus control, as a proportion (-0.10 = 10 fewer events "
    "per 100 patients): below 0 favours RT. A weighted average of the studies' differences."
)
#: metafor's ``to``: the tables that get the zero-cell correction.
ZERO_TO: Final = {
    "only0": "the tables with a zero cell",
    "all": "every table",
    "if0all": "every table when any table has a zero cell",
    "none": "no table",
}
#: metafor's ``drop00``.
DROP00: Final = {
    "auto": "metafor's default: left out with Mantel-Haenszel and Peto, kept otherwise",
    "0": "kept (corrected like any table with a zero cell)",
    "1": "left out of the per-study estimates",
}
CI_METHODS: Final = {"wald": "Wald-type (normal)", "hksj": "Hartung-Knapp-Sidik-Jonkman (t)"}
#: The CI methods' short names, for controls and model labels.
CI_SHORT: Final = {"wald": "Wald (z)", "hksj": "Hartung-Knapp"}
#: The forest plot's per-arm column headers (events/total, n/N, where a study gives counts).
FOREST_ARMS: Final = {"rt": "RT", "ctl": "Control"}
#: The first words of the forest plot's footer lines (RevMan's and metafor's wording).
FOOTER_HETEROGENEITY: Final = "Heterogeneity"
FOOTER_OVERALL: Final = "Test for overall effect"
FOOTER_SUBGROUPS: Final = "Test for subgroup differences"
#: The tau2 estimators (metafor's ``method`` codes) and the common-effect model.
MODELS: Final = {
    "REML": "restricted maximum likelihood",
    "DL": "DerSimonian-Laird",
    "PM": "Paule-Mandel",
    "ML": "maximum likelihood",
    "HS": "Hunter-Schmidt",
    "SJ": "Sidik-Jonkman",
    "HE": "Hedges",
    "EB": "empirical Bayes",
    "EE": "common effect (inverse variance)",
    "MH": "Mantel-Haenszel",
    "PETO": "Peto",
    "BAYES": "Bayesian (half-normal prior on τ, flat prior on the mean)",
}
#: What each estimator does, for help text beside the model's name (metafor's rma methods).
MODEL_HELP: Final = {
    "REML": "REML: restricted maximum likelihood estimate of τ² (metafor's default); less "
    "biased than ML when there are few studies.",
    "DL": "DL: DerSimonian-Laird method-of-moments estimate of τ² (non-iterative); tends to "
    "underestimate τ² when there are few studies.",
    "PM": "PM: Paule-Mandel estimate of τ², the value at which Q equals its expected value k−1.",
    "ML": "ML: maximum likelihood estimate of τ²; biased downwards with few studies.",
    "HS": "HS: Hunter-Schmidt estimate of τ² (from psychometric meta-analysis).",
    "SJ": "SJ: Sidik-Jonkman estimate of τ²; always above 0, often larger than the others.",
    "HE": "HE: Hedges' unweighted method-of-moments estimate of τ².",
    "EB": "EB: empirical Bayes estimate of τ² (for a model without moderators metafor "
    "notes it equals PM).",
    "EE": "Common effect (inverse variance): assumes one true effect shared by all studies "
    "(τ² = 0); the CI then ignores any heterogeneity.",
    "MH": "Mantel-Haenszel (metafor's rma.mh): a common-effect model pooling the 2x2 tables "
    "themselves, no zero-cell correction needed; Q and I² from the per-study estimates.",
    "PETO": "Peto's one-step odds ratio (metafor's rma.peto): a common-effect model of 2x2 "
    "tables; good with rare events and balanced arms, biased when the effect is large.",
    "BAYES": "Bayesian random effects (normal-normal hierarchical model, as R's bayesmeta): a "
    "half-normal prior on τ (scale set by the prior scale, 0.5 by default on the log-ratio "
    "scale) and a flat prior on the mean effect; computed by numerical integration. Shows the "
    "posterior median and the 95% credible interval (CrI), recommended for few studies "
    "(Friede et al. 2017; Röver et al. 2021).",
}
#: Prediction-interval choices (link key ``pi``): method, or ``0`` = hidden.
PI_CHOICES: Final = {
    "t": "t with k-2 df (Higgins, Thompson & Spiegelhalter 2009)",
    "z": "normal (z), metafor's default",
    "hksj": "from the Hartung-Knapp variance, t with k-1 df (R meta's HK)",
    "0": "hidden",
}
#: Short names of the prediction-interval methods, for controls and labels.
PI_SHORT: Final = {"t": "t (k-2)", "z": "z", "hksj": "Hartung-Knapp", "0": "hidden"}
#: Help text for each statistic shown with a pooled result (keyed by its label's start).
STAT_HELP: Final = {
    "Pooled": "The pooled ratio: below 1 favours RT (fewer events). A weighted average of the "
    "studies' log ratios, shown as a ratio.",
    "95% CI": "95% confidence interval of the pooled ratio: the range of average effects "
    "compatible with the data under the model. Wald-type (normal) or Hartung-Knapp (t).",
    "p": "Two-sided p-value for the test that the pooled ratio is 1 (no difference), from the "
    "normal (z) or, with Hartung-Knapp, the t distribution. It says nothing about the size or "
    "importance of the effect.",
    "95% CrI": "95% credible interval of the pooled ratio (Bayesian model): the mean effect "
    "lies in it with 95% probability under the model, its priors and the included studies "
    "(equal-tailed: 2.5% of the posterior on each side).",
    "P(benefit)": "Posterior probability that the mean ratio is below 1 (for a risk difference: "
    "below 0), that is RT better, under "
    "the Bayesian model and its priors, given the included studies. It depends on the prior "
    "and on which studies are included; it is not the chance that RT helps a given patient.",
    "Studies (k)": "Number of studies pooled (k).",
    "Patients": "Patients in the pooled studies (both arms).",
    "I²": "I²: the share of the variability between study estimates attributed to "
    "heterogeneity rather than chance (Higgins & Thompson 2002). Very imprecise with few "
    "studies; '–' when it cannot be computed (one study).",
    "τ²": "τ²: the estimated variance of the true log ratios between studies "
    "(random-effects model). 0 means no heterogeneity was detected, not that there is none; "
    "with few studies it is poorly estimated.",
    "Q": "Cochran's Q: weighted sum of squared deviations of the estimates from the pooled "
    "one, compared with a chi² distribution; low power with few studies.",
    "95% prediction interval": "95% prediction interval: where the true effect of a new, "
    "similar study is expected to lie, allowing for heterogeneity (Higgins, Thompson & "
    "Spiegelhalter 2009). Wider than the CI whenever τ² > 0. Method (link key pi): t on "
    "k − 2 degrees of freedom, the default (Higgins et al. 2009, Cochrane Handbook, R meta); "
    "z, metafor's default, which is too narrow with few studies; or Hartung-Knapp, from the "
    "Hartung-Knapp variance on k − 1 degrees of freedom (R meta's HK). None with fewer than "
    "3 studies or with the common-effect model. With the Bayesian model: the posterior "
    "predictive interval of a new study's true effect, whatever the method chosen.",
}


def stat_help(label: str) -> str | None:
    """The help text of a statistic by its shown label ('p (z)' -> the p-value's)."""
    for key, text in STAT_HELP.items():
        if label == key or label.startswith(key + " "):
            return text
    return None


GROUPS: Final = {"none": "none", "indication": "by indication", "design": "by design"}
#: Design code -> (singular, plural) noun phrase, for sentences and subgroup headings.
DESIGN_NOUNS: Final = {
    "RCT": ("randomized trial", "randomized trials"),
    "PSM": ("propensity-matched study", "propensity-matched studies"),
    "prospective-nonrandomized": (
        "prospective non-randomized study",
        "prospective non-randomized studies",
    ),
    "retrospective": ("retrospective study", "retrospective studies"),
}
#: The event each outcome counts.
EVENTS: Final = {"OS": "death", "DFS": "recurrence or death"}
#: GRADE domains in GRADE's order: key -> label.
GRADE_DOMAINS: Final = {
    "rob": "Risk of bias",
    "inconsistency": "Inconsistency",
    "indirectness": "Indirectness",
    "imprecision": "Imprecision",
    "publication": "Publication bias",
}
#: Ratings a user may give a GRADE domain.
GRADE_RATINGS: Final = ("not serious", "serious", "very serious")
DISCLAIMER: Final = "An aid for discussion, not an official GRADE assessment."
#: The app's own disclaimer (every page's footer, the R script's header).
NOT_ADVICE: Final = (
    "This tool explores published evidence. It is not treatment advice: decisions for a "
    "patient belong to the treating team."
)
#: The report's disclaimer (its first paragraph).
REPORT_NOT_ADVICE: Final = (
    "This report comes from a tool for exploring published evidence. It is not treatment "
    "advice: decisions for a patient belong to the treating team."
)
#: The server's answer to an upload over the limit (``{limit}``: server.maxUploadSize in MB).
UPLOAD_TOO_LARGE: Final = (
    "This file is larger than the explorer's upload limit of {limit} MB, so it was not "
    "received. An extraction sheet is usually far smaller: remove unused sheets or columns, "
    "or save it as CSV, and upload it again."
)
#: What the quality score is (beside the studies table of the report).
QUALITY_NOTE: Final = (
    "Quality score: this explorer's own editorial rating of each study (0-7, "
    "data/quality_rubric.md), not the published meta-analysis's assessment."
)
#: What the summary of findings' risk of bias rests on (beside the table, page and report).
SOF_QUALITY_NOTE: Final = (
    "Risk of bias uses this explorer's own editorial quality rating of the bundled studies "
    "(data/quality_rubric.md), not the published meta-analysis's assessment."
)


def title(label: str) -> str:
    """``label`` with its first letter capitalised (the rest kept: abbreviations stay)."""
    return label[:1].upper() + label[1:]


#: Between-study variance in subgroups (link key ``tau2g``), short labels for the sidebar.
TAU2_GROUPS: Final = {"separate": "Separate", "common": "Common"}
#: The subgroup of studies without a value in the grouping column.
MISSING_GROUP: Final = "not reported"
#: Subgroup headings of the forest plot: an indication, or a design in the plural.
GROUP_HEADINGS: Final = {
    **{code: title(label) for code, label in INDICATIONS.items()},
    **{code: title(many) for code, (_, many) in DESIGN_NOUNS.items()},
}


def model_label(method: str) -> str:
    """'Random effects, REML: restricted maximum likelihood' or the common-effect model's name."""
    if method == "EE":
        return f"EE: {MODELS['EE']}"
    if method in ("MH", "PETO"):
        return f"Common effect, {MODELS[method]} (2x2 tables)"
    if method == "BAYES":
        return f"Bayesian random effects: {MODELS['BAYES'].split('(', 1)[1].rstrip(')')}"
    return f"Random effects, {method}: {MODELS[method]}"


#: What a hazard ratio can be worked out from (``core.stats.hr`` methods, Tierney et al. 2007),
#: as the Studies page offers them.
HR_FROM: Final = {
    "ci": "the HR and its 95% CI",
    "p": "the HR and its two-sided p-value",
    "logrank_events": "a log-rank p-value and the events in each arm",
    "logrank_total": "a log-rank p-value, the total events and the arm sizes",
    "o_minus_e": "O − E and V of the log-rank test",
}
#: The arm a p-value favours (a p-value has no direction of its own).
FAVOURS: Final = {"rt": "RT (HR below 1)", "ctl": "control (HR above 1)"}
#: Risk-of-bias tools (core.views.rob): name, domains (D1..), judgement labels and the symbol
#: that tells a judgement without colour (robvis's: + low, − some concerns/moderate, × high/
#: serious, ! critical, ? no information).
ROB_TOOLS: Final = {"rob2": "RoB 2", "robins": "ROBINS-I"}
ROB_DOMAINS: Final = {
    "rob2": (
        "randomization process",
        "deviations from intended interventions",
        "missing outcome data",
        "measurement of the outcome",
        "selection of the reported result",
    ),
    "robins": (
        "confounding",
        "selection of participants",
        "classification of interventions",
        "deviations from intended interventions",
        "missing data",
        "measurement of outcomes",
        "selection of the reported result",
    ),
}
ROB_LEVELS: Final = {
    "low": "low",
    "some": "some concerns",
    "moderate": "moderate",
    "high": "high",
    "serious": "serious",
    "critical": "critical",
    "ni": "no information",
    "none": "not judged",
}
ROB_SYMBOLS: Final = {
    "low": "+",
    "some": "−",
    "moderate": "−",
    "high": "×",
    "serious": "×",
    "critical": "!",
    "ni": "?",
}
ROB_OVERALL: Final = "overall"
NO_ROB: Final = "No risk-of-bias judgements in this dataset."
