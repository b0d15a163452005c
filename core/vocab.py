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
MEASURES: Final = {"OR": "odds ratio at t years", "HR": "hazard ratio"}
CI_METHODS: Final = {"wald": "Wald-type (normal)", "hksj": "Hartung-Knapp-Sidik-Jonkman (t)"}
#: The CI methods' short names, for controls and model labels.
CI_SHORT: Final = {"wald": "Wald (z)", "hksj": "Hartung-Knapp"}
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
}
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


def title(label: str) -> str:
    """``label`` with its first letter capitalised (the rest kept: abbreviations stay)."""
    return label[:1].upper() + label[1:]


#: Subgroup headings of the forest plot: an indication, or a design in the plural.
GROUP_HEADINGS: Final = {
    **{code: title(label) for code, label in INDICATIONS.items()},
    **{code: title(many) for code, (_, many) in DESIGN_NOUNS.items()},
}


def model_label(method: str) -> str:
    """'Random effects, REML: restricted maximum likelihood' or the common-effect model's name."""
    if method == "EE":
        return f"EE: {MODELS['EE']}"
    return f"Random effects, {method}: {MODELS[method]}"
