"""Plain-language reading of one pooled outcome, for slides and tumour boards.

Pure functions of an :class:`~core.views.analysis.OutcomeAnalysis`: a summary sentence that never
says more than the numbers do (an association, its direction only when the 95% CI excludes 1,
no advice), the key numbers as display strings, and the studies left out with the reason.

>>> from core.data.dataset import load_bundled
>>> from core.views.analysis import analyse
>>> from core.fmt import count, p_value, percent, ratio, ratio_ci
from core.state.view import ViewState
>>> ds = load_bundled()
>>> oa = analyse(ViewState(outcome="DFS"), ds).outcomes["DFS"]
>>> summary_sentence(oa, ViewState(outcome="DFS"), ds.studies)[:60]
'Across 3 randomized trials (359 patients), perioperative RT '
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from core import fmt
from core.data.description import layout_filter
from core.data.endpoints import mix_sentence
from core.fmt import count, effect_ci, p_value, percent, probability
from core.fmt import effect as fmt_effect
from core.state.view import (
    OWN_FILTER_LINE,
    ViewState,
    column_filters,
    describe_filters,
    describe_measure,
)
from core.stats.effects import null_value, to_shown
from core.stats.pooling import COMMON_EFFECT, PI_MIN_K
from core.views.analysis import OutcomeAnalysis
from core.vocab import DESIGN_NOUNS, MEASURE_NAMES, MODELS


def _plural(n: int, one: str, many: str) -> str:
    return f"{count(n)} {one if n == 1 else many}"


def _join(parts: list[str]) -> str:
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def _years(t: float) -> str:
    return f"{fmt.years(t)} year" + ("" if t == 1 else "s")


def measure_name(oa: OutcomeAnalysis) -> str:
    """'odds ratio', 'risk ratio', 'risk difference' or 'hazard ratio'."""
    return MEASURE_NAMES[oa.measure]


def event_phrase(oa: OutcomeAnalysis) -> str:
    """The event the pooled studies counted, from their endpoints (core.data.endpoints):
    'death from any cause', 'HCC-related death'; in a mixed pool 'the event as each study
    defined it (DFS or RFS)'; without studies the outcome's own event."""
    defs = oa.definitions or oa.available
    events = list(dict.fromkeys(d.endpoint.event for d in defs))
    if not events:
        return oa.words.event
    if len(events) == 1:
        return events[0]
    names = " or ".join(dict.fromkeys(d.endpoint.name for d in defs))
    return f"the event as each study defined it ({names})"


def effect_phrase(oa: OutcomeAnalysis) -> str:
    """What the ratio compares: 'odds of death from any cause at 2 years', 'hazard of
    HCC-related death' (the pooled studies' own endpoints)."""
    event = event_phrase(oa)
    if oa.measure == "HR":
        return f"hazard of {event}"
    scale = "odds" if oa.measure == "OR" else "risk"
    if oa.years is None:  # counts without a time point
        return f"{scale} of {event}"
    return f"{scale} of {event} at {_years(oa.years)}"


def endpoint_words(oa: OutcomeAnalysis) -> str:
    """What the pooled studies measured, beyond the outcome's name: 'for HCC-related death,
    multivariable Cox' (a hazard ratio), 'DFS or RFS, mixed endpoint definitions' or 'RFS' (an
    odds ratio); '' for an odds ratio of the outcome's own endpoint, or with no studies."""
    defs = oa.definitions or oa.available
    if not defs:
        return ""
    if oa.measure == "HR":
        return oa.title.removeprefix("Hazard ratio ")
    if [d.endpoint.name for d in defs] in ([oa.outcome], [oa.words.code]):
        return ""
    names = " or ".join(dict.fromkeys(d.endpoint.name for d in defs))
    return f"{names}{', mixed endpoint definitions' if len(defs) > 1 else ''}"


def headline(oa: OutcomeAnalysis) -> str:
    """'Overall survival: odds ratio at 2 years', 'Overall survival: hazard ratio for
    HCC-related death, multivariable Cox' or 'Disease-free survival: odds ratio at 1 year (DFS
    or RFS, mixed endpoint definitions)': what the pooled studies measured."""
    what = oa.words.label[:1].upper() + oa.words.label[1:]
    words = endpoint_words(oa)
    if oa.measure == "HR":
        return f"{what}: hazard ratio" + (f" {words}" if words else "")
    at = "" if oa.years is None else f" at {_years(oa.years)}"
    head = f"{what}: {measure_name(oa)}{at}"
    return f"{head} ({words})" if words else head


def _joined(titles: list[str]) -> str:
    return "; ".join([titles[0], *(t[:1].lower() + t[1:] for t in titles[1:])])


def described_filters(state: ViewState, oas: Sequence[OutcomeAnalysis]) -> list[str]:
    """``describe_filters`` for slides, reports and scripts, its measure line naming what the
    pooled studies measured ('Hazard ratio for HCC-related death, multivariable Cox' where the
    link alone says 'Hazard ratio of OS')."""
    outcomes = tuple(oa.outcome for oa in oas)
    lines = describe_filters(state, outcomes)
    if not oas:
        return lines
    words = oas[0].description
    if words is not None:  # the filters the dataset offers, in its words
        shown = []
        filters = (("indication", "indication"), ("design", "design"), ("rt_type", "rt"))
        for i, (column, name) in enumerate(filters):
            offered = words.filter(column)
            if offered is not None and offered == layout_filter(column):
                shown.append(lines[i])  # the layout's own words: the link's line as it is
            elif offered is not None:
                values = getattr(state, name)
                text = ", ".join(offered.value_label(v) for v in values) or "none selected"
                shown.append(f"{offered.label}: {text}")
        own = column_filters(state)
        for f in words.filters:  # the dataset's own columns (filter=COLUMN.value)
            if f.column in own and f.column not in ("indication", "design", "rt_type"):
                kept = ", ".join(f.value_label(v) for v in own[f.column]) or "none selected"
                shown.append(f"{f.label}: {kept}")
        rest = [line for line in lines[3:] if not line.startswith(OWN_FILTER_LINE)]
        if words.published is None:
            rest = [line for line in rest if not line.startswith("Studies: ")]
        lines = shown + rest
    old = _joined([describe_measure(state, o) for o in outcomes])
    new = _joined([oa.title for oa in oas])
    return [new if line == old else line for line in lines]


def endpoint_sentences(oa: OutcomeAnalysis, studies: pd.DataFrame) -> list[str]:
    """Plain sentences on the endpoints: a mixed pool names each definition and its studies;
    a pool narrowed by the link's ``endpoint`` choice says which definition it keeps."""
    out = []
    if oa.mixed:
        labels = studies.set_index("study_id")["label"].astype(object)
        names = {str(k): str(v) for k, v in labels.items() if not pd.isna(v)}
        out.append(mix_sentence(oa.definitions, names))
    elif oa.kept and oa.endpoint_note is None and oa.definitions:
        out.append(
            f"Only studies measuring {oa.definitions[0].words} are pooled (one endpoint "
            "definition kept)."
        )
    if oa.endpoint_note:
        out.append(oa.endpoint_note)
    return out


def model_phrase(method: str, ci: str) -> str:
    """'random effects, REML', 'random effects, DL, Hartung-Knapp CI', 'common effect' or
    'common effect, Mantel-Haenszel' or 'Bayesian random effects' (whose credible interval
    no CI method changes)."""
    if method == "BAYES":
        return "Bayesian random effects, posterior median"
    if method in ("MH", "PETO"):
        return f"common effect, {MODELS[method]}"
    base = "common effect" if method == "EE" else f"random effects, {method}"
    return base + (", Hartung-Knapp CI" if ci == "hksj" else "")


def _included(oa: OutcomeAnalysis) -> pd.DataFrame:
    return oa.rows[oa.rows["included"].astype(bool)]


def design_phrase(oa: OutcomeAnalysis, studies: pd.DataFrame) -> str:
    """The designs actually pooled: '2 randomized trials and 1 propensity-matched study'."""
    ids = _included(oa)["study_id"].astype(str)
    column = studies.set_index("study_id").loc[ids, "design"]
    unrecorded = int(column.isna().sum())
    counts = column.dropna().astype(str).value_counts()
    order = [d for d in DESIGN_NOUNS if d in counts] + sorted(set(counts.index) - set(DESIGN_NOUNS))
    parts = []
    for d in order:
        one, many = DESIGN_NOUNS.get(d, (f"{d} study", f"{d} studies"))
        parts.append(_plural(int(counts[d]), one, many))
    if unrecorded:
        what = "studies" if not parts else "of design not recorded"
        parts.append(_plural(unrecorded, "study", "studies") + ("" if not parts else f" {what}"))
    return _join(parts)


def patients_phrase(oa: OutcomeAnalysis, studies: pd.DataFrame) -> str:
    """'359 patients', or 'at least 200 patients; arm sizes not reported for 1 study'."""
    ids = _included(oa)["study_id"].astype(str)
    sizes = studies.set_index("study_id").loc[ids, ["n_rt", "n_ctl"]]
    missing = int(sizes.isna().any(axis=1).sum())
    if missing == 0:
        return _plural(oa.patients, "patient", "patients")
    gap = f"arm sizes not reported for {_plural(missing, 'study', 'studies')}"
    if oa.patients == 0:
        return f"patient numbers not reported ({gap})"
    return f"at least {count(oa.patients)} patients; {gap}"


def _bounds(measure: str, low: float, high: float) -> str:
    """'0.25 to 0.82' from log-scale bounds; '-0.20 to -0.01' for a risk difference."""
    return effect_ci(measure, to_shown(measure, low), to_shown(measure, high), " to ")


def _derived_sentence(oa: OutcomeAnalysis) -> str:
    rows = _included(oa)
    k = len(rows)
    n_derived = int(rows["derived"].astype(bool).sum())
    n_interp = int(rows["interpolated"].astype(bool).sum())
    if n_derived == 0:
        return ""
    if k == 1:
        out = "Events were derived from the study's reported survival rates"
    else:
        whom = "both" if n_derived == k == 2 else "all" if n_derived == k else f"{n_derived} of"
        out = f"Events were derived from reported survival rates for {whom} {k} studies"
        out = out.replace("both 2 studies", "both studies")
    if n_interp and oa.years is not None:
        which = "" if k == 1 else " for " + _plural(n_interp, "study", "studies")
        out += (
            f";{which} the {fmt.years(oa.years)}-year rate was interpolated between reported "
            "time points"
        )
    return out + "."


def interval_name(method: str) -> str:
    """'95% CrI' (credible interval) for the Bayesian model, else '95% CI'."""
    return "95% CrI" if method == "BAYES" else "95% CI"


def _finding(oa: OutcomeAnalysis, model: str | None) -> str:
    """'perioperative RT was associated with lower odds of death at 2 years: pooled odds ratio
    0.45 (95% CI 0.25 to 0.82; random effects, REML)'; a direction only when the CI excludes 1.
    ``model`` None: a single study's own estimate (no model named, no 'pooled')."""
    p = oa.pooled
    assert p is not None
    effect = effect_phrase(oa)
    name = measure_name(oa) if model is None else f"pooled {measure_name(oa)}"
    est = fmt_effect(oa.measure, to_shown(oa.measure, p.estimate))
    extra = [] if model is None else [model]
    if not (math.isfinite(p.ci_low) and math.isfinite(p.ci_high)):
        why = ": the Hartung-Knapp interval needs two studies or more" if p.ci == "hksj" else ""
        notes = "; ".join([f"no 95% CI could be computed{why}", *extra])
        event = effect.split(" of ", 1)[1]  # 'death at 2 years'
        return f"the {name} for {event} with {oa.intervention} was {est} ({notes})"
    ci = f"{interval_name(p.method)} {_bounds(oa.measure, p.ci_low, p.ci_high)}"
    if p.ci_high < 0 or p.ci_low > 0:
        article = "a " if oa.measure == "HR" else ""
        way = "lower" if p.ci_high < 0 else "higher"
        head = f"{oa.intervention} was associated with {article}{way} {effect}"
    else:
        head = f"there was no clear difference in the {effect} with {oa.intervention}"
        ci += f", which includes {fmt.number(null_value(oa.measure))}"
    return f"{head}: {name} {est} ({'; '.join([ci, *extra])})"


def summary_sentence(oa: OutcomeAnalysis, state: ViewState, studies: pd.DataFrame) -> str:
    """A plain-language paragraph on the pooled result of ``oa``: designs and patients pooled,
    the direction (only when the 95% CI excludes 1), heterogeneity when k > 2, derived data.

    ``state`` gives the prediction-interval setting; ``studies`` the designs and arm sizes.
    """
    p = oa.pooled
    if p is None:
        why = (oa.message or "no study is included").strip().rstrip(".")
        return (
            f"Nothing can be pooled for {oa.words.label} ({effect_phrase(oa)}). "
            f"{why[0].upper()}{why[1:]}."
        )
    patients = patients_phrase(oa, studies)
    if p.k == 1:
        row = _included(oa).iloc[0]
        design = str(studies.set_index("study_id").at[row["study_id"], "design"])
        noun = DESIGN_NOUNS.get(design, (f"{design} study", ""))[0]
        sentences = [
            f"Only one study could be pooled ({row['label']}, a {noun}; {patients}), so the "
            "pooled result is that study's own estimate.",
            f"In it, {_finding(oa, None)}.",
        ]
    else:
        finding = _finding(oa, model_phrase(p.method, p.ci))
        sentences = [f"Across {design_phrase(oa, studies)} ({patients}), {finding}."]
    if p.k > 2 and math.isfinite(p.i2):
        het = f"Heterogeneity between studies: I² = {percent(p.i2, 0)}"
        pred = oa.shown_prediction
        if pred is not None and pred.available:
            het += f"; 95% prediction interval {_bounds(oa.measure, pred.low, pred.high)}"
        sentences.append(het + ".")
    derived = _derived_sentence(oa)
    if derived:
        sentences.append(derived)
    sentences += endpoint_sentences(oa, studies)
    return " ".join(sentences)


@dataclass(frozen=True)
class KeyNumber:
    """One number for the screen: a label and the display value."""

    label: str
    value: str


def key_numbers(
    oa: OutcomeAnalysis, state: ViewState, *, always_pi: bool = False
) -> tuple[KeyNumber, ...]:
    """Pooled ratio, 95% CI, p, k, patients, I² and (when shown, or ``always_pi``: the
    default t interval when hidden) the prediction interval by the chosen method; with 2
    studies its value says there is none with fewer than 3 (random effects)."""
    p = oa.pooled
    if p is None:
        return ()
    short = str(oa.measure)
    bayes = oa.bayes
    null = fmt.number(null_value(short))
    out = [
        KeyNumber(
            f"Pooled {short}" + (" (median)" if bayes else ""),
            fmt_effect(short, to_shown(short, p.estimate)),
        ),
        KeyNumber(
            interval_name(p.method),
            effect_ci(short, to_shown(short, p.ci_low), to_shown(short, p.ci_high)),
        ),
        KeyNumber(f"P({short} < {null})", probability(bayes.p_benefit))
        if bayes
        else KeyNumber(f"p ({p.dist})", p_value(p.pvalue)),
        KeyNumber("Studies (k)", count(p.k)),
        KeyNumber("Patients", count(oa.patients)),
        KeyNumber("I²", percent(p.i2)),
    ]
    pred = oa.prediction if always_pi else oa.shown_prediction
    if pred is not None and p.method not in COMMON_EFFECT and p.k > 1:
        value = (
            effect_ci(short, to_shown(short, pred.low), to_shown(short, pred.high))
            if pred.available
            else f"none (k < {PI_MIN_K})"
        )
        out.append(KeyNumber("95% prediction interval", value))
    return tuple(out)


def left_out(oa: OutcomeAnalysis, studies: pd.DataFrame) -> tuple[tuple[str, str], ...]:
    """(study label, why) for the selected studies not pooled: excluded by hand, left out by
    "one study per overlap group", then those whose data cannot give this outcome and measure.
    Studies outside the filters are not listed (the filters say which)."""
    labels = studies.set_index("study_id")["label"]

    def name(sid: str) -> str:
        label = labels.get(sid)
        return sid if label is None or pd.isna(label) else str(label)

    by_hand = tuple((name(s), "excluded by hand") for s in oa.excluded_by_user)
    one = tuple((name(d.study_id), d.reason) for d in oa.overlap_dropped)
    return by_hand + one + tuple((name(s), why) for s, why in oa.not_estimable)
