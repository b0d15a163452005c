"""A view (``ViewState``) of a dataset turned into what the pages and the CLI show.

Flow: the studies table is filtered (indication, design, RT type, scope, minimum quality
score); for each outcome the estimable studies among them give yi and vi (cached upstream);
studies the user excluded by hand stay in the table, marked, but out of the pooling; what is
left is pooled with the chosen tau2 estimator and CI method, or (2x2 measures) by
Mantel-Haenszel or Peto (``core.state.view.model_of`` says what stands in where a model does
not apply). Every study that is not pooled carries a reason in plain words.

Ratios (OR, RR, HR) are analysed as logs and shown as ratios (null value 1); the risk
difference is analysed and shown as it is, a proportion (null value 0), as metafor and RevMan
print it (``core.stats.effects.to_shown``).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Final, Literal, NamedTuple

import numpy as np
import pandas as pd

from core import fmt, vocab
from core.data.description import Description, OutcomeWords, arm_name, bundled_words
from core.data.endpoints import Definition, definitions, effect_words, matches, own_endpoint
from core.data.estimable import EstimableSet, HasTables, ZeroCells, estimable
from core.state.view import (
    TABLE_MEASURES,
    TABLE_METHODS,
    Measure,
    Model,
    Outcome,
    TimePoints,
    ViewState,
    column_filters,
    model_of,
    zero_cell_words,
)
from core.stats.bayes import BayesResult, as_pool_result, bayes_meta, prior_sensitivity
from core.stats.effects import LOG_MAX, Z975, is_ratio, null_value, to_shown
from core.stats.mh import pool_tables
from core.stats.pooling import (
    COMMON_EFFECT,
    PI_MIN_K,
    PoolResult,
    PredictionInterval,
    pool,
    prediction_interval,
)
from core.stats.subgroups import SubgroupResult, SubgroupTest, subgroup_analysis, subgroup_test
from core.views import overlap as ov
from core.views import rob
from core.views.plain import fit_json

OUTCOMES: tuple[Outcome, ...] = ("OS", "DFS")

EstimableFn = Callable[[Outcome, Measure, float | None, TimePoints, ZeroCells], EstimableSet]


#: The studies columns with their own link keys (``design``, ``indication``, ``rt``).
LAYOUT_FILTERS: tuple[str, ...] = ("design", "indication", "rt_type")


@dataclass(frozen=True)
class Selection:
    """Studies that pass the filters, and (study_id, reason) for those that do not."""

    ids: tuple[str, ...]
    filtered_out: tuple[tuple[str, str], ...]


def select_studies(
    studies: pd.DataFrame, state: ViewState, description: Description | None = None
) -> Selection:
    """Apply the sidebar filters to the studies table, keeping its order. Only the filters
    the dataset's description offers apply (all three without a description)."""
    keep: list[str] = []
    out: list[tuple[str, str]] = []
    offered: tuple[str, ...] = LAYOUT_FILTERS
    if description is not None:
        offered = tuple(c for c in offered if description.filter(c) is not None)
    recorded = frozenset(c for c in offered if studies[c].notna().any())
    own = _own_filters(studies, state, description)
    for i, row in enumerate(studies.itertuples(index=False)):
        sid = str(row.study_id)
        reason = _filter_reason(row, state, recorded) or next(
            (why for why in (_own_reason(f, i) for f in own) if why), None
        )
        if reason:
            out.append((sid, reason))
        else:
            keep.append(sid)
    return Selection(tuple(keep), tuple(out))


class _OwnFilter(NamedTuple):
    """A filter on a dataset's own column: its label, values (as text, None where empty)
    and the values kept."""

    label: str
    values: list[str | None]
    kept: tuple[str, ...]


def _own_filters(
    studies: pd.DataFrame, state: ViewState, description: Description | None
) -> list[_OwnFilter]:
    """The link's filters (``filter=COLUMN.value``) on the columns the description offers
    beyond the layout's three, that the studies table has and records somewhere."""
    if description is None:
        return []
    out = []
    for column, kept in column_filters(state).items():
        words = description.filter(column)
        if column in LAYOUT_FILTERS or words is None or column not in studies.columns:
            continue
        col = studies[column]
        if col.notna().any():
            values = [None if pd.isna(v) else str(v) for v in col.tolist()]
            out.append(_OwnFilter(words.label, values, kept))
    return out


def _own_reason(f: _OwnFilter, i: int) -> str | None:
    """Why study ``i`` fails the filter ``f``, or None."""
    value = f.values[i]
    if value is None:
        return f"{f.label} not recorded"
    return None if value in f.kept else f"{f.label} {value} not selected"


def _filter_reason(row: Any, state: ViewState, recorded: frozenset[str]) -> str | None:
    """Why a study fails the filters, or None. A filter whose column the dataset leaves
    empty throughout (``recorded`` lacks it) does not apply; a study with an empty value
    where others have one fails it, with that reason."""
    for col, chosen, what in (
        ("design", state.design, "design"),
        ("indication", state.indication, "indication"),
        ("rt_type", state.rt, "radiotherapy type"),
    ):
        if col not in recorded:
            continue
        value = getattr(row, col)
        if pd.isna(value):
            return f"{what} not recorded"
        if str(value) not in chosen:
            return f"{what} {value} not selected"
    if state.scope == "rim" and str(row.in_rim2024) == "no":
        return "known not to be in the published meta-analysis (scope: published criteria)"
    if state.qmin is not None:
        score = row.quality_score
        if pd.isna(score):
            return "no quality score"
        if float(score) < state.qmin:
            return f"quality score {int(score)} below the minimum {fmt.number(state.qmin)}"
    return None


@dataclass(frozen=True, eq=False)
class OutcomeAnalysis:
    """One outcome under one view.

    ``rows``: the estimable studies among the selected ones (ROW_COLUMNS of
    core.data.estimable plus ``included`` and ``weight`` in percent, NaN when not pooled).
    ``pooled`` is None when no study is included; ``message`` then says why.
    ``definitions``: the endpoint definitions of the included studies (more than one: a mixed
    pool); ``available``: those of every estimable selected study, before the link's
    ``endpoint`` choice; ``kept``: the link's ``endpoint`` values applied to this outcome;
    ``endpoint_note``: why the choice was not applied (no study has the kept definition).
    ``overlaps``: overlap groups with two or more pooled studies (marked ‡ in ``rows``:
    column ``overlap`` and the label); ``overlap_dropped``: studies left out by "one study
    per overlap group" (not in ``rows``). See core.views.overlap.
    ``pi_choice`` is the link's ``pi``: a prediction-interval method, or ``"0"`` (hidden).
    ``group_by``: the studies' column the subgroups come from (None: no subgroups);
    ``subgroup_test``: the test for subgroup differences with the link's ``tau2g``.
    ``bayes``: the Bayesian model's posterior (``method=BAYES``; core.stats.bayes), whose
    summaries ``pooled`` then carries (:func:`core.stats.bayes.as_pool_result`).
    """

    outcome: Outcome
    measure: Measure
    years: float | None
    rows: pd.DataFrame
    pooled: PoolResult | None
    subgroups: SubgroupResult | None
    not_estimable: tuple[tuple[str, str], ...]
    filtered_out: tuple[tuple[str, str], ...]
    excluded_by_user: tuple[str, ...]
    patients: int
    message: str | None
    definitions: tuple[Definition, ...] = ()
    available: tuple[Definition, ...] = ()
    kept: tuple[str, ...] = ()
    endpoint_note: str | None = None
    overlaps: tuple[ov.OverlapSet, ...] = ()
    overlap_dropped: tuple[ov.Dropped, ...] = ()
    pi_choice: str = "t"
    group_by: str | None = None
    subgroup_test: SubgroupTest | None = None
    bayes: BayesResult | None = None
    model_note: str | None = None
    zero_words: str | None = None
    #: 2x2 tables pooled by Mantel-Haenszel/Peto without a per-study estimate (zero-cell
    #: options): (study_id, events_rt, n_rt, events_ctl, n_ctl)
    tables_only: tuple[tuple[str, float, float, float, float], ...] = ()
    description: Description | None = None

    @property
    def words(self) -> OutcomeWords:
        """The outcome's words (label, event, code) from the dataset's description; the
        bundled evidence's vocabulary when none was given (a bare table pair)."""
        return (self.description or bundled_words()).words(self.outcome)

    @property
    def intervention(self) -> str:
        """What the treatment arm received, for sentences ('perioperative RT')."""
        return (self.description or bundled_words()).intervention

    @property
    def k(self) -> int:
        return 0 if self.pooled is None else self.pooled.k

    @property
    def pi_shown(self) -> bool:
        """Whether the user shows the prediction interval (``pi`` is not ``0``)."""
        return self.pi_choice != "0"

    @property
    def prediction(self) -> PredictionInterval | None:
        """The prediction interval by the chosen method; when hidden, the default t interval
        (the certainty aid still reads it, and says so). None without a pooled result."""
        if self.pooled is None:
            return None
        return prediction_interval(self.pooled, self.pi_choice if self.pi_shown else "t")

    @property
    def shown_prediction(self) -> PredictionInterval | None:
        """The prediction interval the pages, exports and report show: None when hidden or
        without a pooled result (its ``reason`` says when there is none for k < 3)."""
        return shown_interval(self.pooled, self.pi_choice)

    @property
    def mixed(self) -> bool:
        """True when the included studies measured more than one endpoint definition."""
        return len(self.definitions) > 1

    @property
    def title(self) -> str:
        """What the pooled ratio is of, from the studies' data: 'Hazard ratio for HCC-related
        death, multivariable Cox', 'Odds ratio of 2-year OS' (core.data.endpoints)."""
        defs = self.definitions or self.available
        if not defs:
            return self.short_title
        return effect_words(defs, self.measure, self.years)

    @property
    def short_title(self) -> str:
        """The measure and the endpoints' short names ('Odds ratio of 2-year OS', 'Hazard
        ratio, HCC-related mortality', 'Odds ratio of 1-year DFS / RFS'), for a forest plot's
        narrow column header; the full :attr:`title` stands above the plot. Without studies
        the outcome's name."""
        defs = self.definitions or self.available
        names = " / ".join(dict.fromkeys(d.endpoint.name for d in defs))
        if self.measure == "HR":
            return f"Hazard ratio, {names or self.words.label}"
        what = vocab.title(vocab.MEASURE_NAMES[self.measure])
        when = "" if self.years is None else f"{fmt.years(self.years)}-year "
        return f"{what} of {when}{names or self.words.code}"

    def excluded(self) -> tuple[tuple[str, str], ...]:
        """Every study not pooled for this outcome, with the reason."""
        by_hand = tuple((s, "excluded by hand") for s in self.excluded_by_user)
        one = tuple((d.study_id, d.reason) for d in self.overlap_dropped)
        return by_hand + one + self.not_estimable + self.filtered_out


#: Studies-table columns that name or describe a study in free text: never subgroups.
NOT_GROUPS: frozenset[str] = frozenset(
    {"study_id", "label", "first_author", "journal", "doi_or_pmid", "source_urls", "notes"}
)
#: A column with more distinct values than this is not taken as categorical for subgroups.
MAX_GROUP_LEVELS = 12


def group_column(studies: pd.DataFrame, name: str) -> tuple[str | None, str | None]:
    """The studies' column for ``group=name`` and, when it cannot be used, a notice saying
    why (then no subgroups). Usable: a non-numeric column, not a name or free text
    (:data:`NOT_GROUPS`), with at most :data:`MAX_GROUP_LEVELS` distinct values."""
    if name == "none":
        return None, None
    where = "Subgroups (group)"
    if name not in studies.columns:
        return None, f"{where}: the dataset has no column {name!r}; shown without subgroups."
    col = studies[name]
    if pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col):
        why = "holds numbers (use it as a meta-regression moderator, mod=)"
    elif name in NOT_GROUPS:
        why = "names or describes each study"
    elif col.dropna().astype(str).nunique() > MAX_GROUP_LEVELS:
        why = f"has more than {MAX_GROUP_LEVELS} distinct values"
    else:
        return name, None
    return None, f"{where}: column {name!r} {why}, so not a grouping; shown without subgroups."


def group_choices(studies: pd.DataFrame, chosen: str = "none") -> tuple[str, ...]:
    """The subgroupings a user can pick: none, indication and design (where the dataset
    records them), then the dataset's other categorical columns that it records (see
    :func:`group_column`), then ``chosen`` if not among them."""
    recorded = [c for c in studies.columns if studies[c].notna().any()]
    named = tuple(g for g in vocab.GROUPS if g == "none" or g in recorded)
    others = [c for c in recorded if c not in vocab.GROUPS and group_column(studies, c)[0]]
    return tuple(dict.fromkeys([*named, *others, chosen]))


def group_labels(studies: pd.DataFrame, column: str, ids: Iterable[str]) -> list[str]:
    """The subgroup of each study in ``ids``: its value of ``column`` as text, or
    :data:`core.vocab.MISSING_GROUP` where the dataset has none."""
    values = studies.set_index("study_id").loc[list(ids), column]
    return [vocab.MISSING_GROUP if pd.isna(x) else str(x) for x in values]


def subgroup_test_text(t: SubgroupTest) -> str:
    """'Test for subgroup differences (each subgroup its own tau2): Q = 3.21, df = 2,
    p = 0.201', the F form with Hartung-Knapp and a common tau2, or why there is none."""
    how = "each subgroup its own τ²" if t.tau2 == "separate" else "one τ² common to all subgroups"
    head = f"{vocab.FOOTER_SUBGROUPS} ({how})"
    if t.q is None or t.p is None:
        return f"{head}: not computed ({t.reason})."
    df = f"df = {t.df}" if t.df2 is None else f"df = {t.df}, {t.df2}"
    return f"{head}: {t.statistic} = {fmt.stat(t.q)} ({df}), {fmt.p_equals(t.p)}"


def subtotal_text(oa: OutcomeAnalysis) -> str | None:
    """Which tau2 the subtotal diamonds use: 'Subtotals: each subgroup pooled with its own
    τ².', or with one τ² common to all subgroups (R meta's ``tau.common = TRUE``; metafor's
    ``rma(yi, vi, mods = ~ factor(group) - 1)``), or why the common τ² could not be used.
    None without subgroups."""
    sg = oa.subgroups
    if sg is None or oa.group_by is None:
        return None
    head = "Subtotals"
    if sg.tau2 == "common" and sg.tau2_common is not None:
        hk = sg.ci == "hksj"
        k = sum(f.k for f in sg.groups.values())
        how = (
            f"; Hartung-Knapp CIs with one scale factor, t on {k - len(sg.groups)} df" if hk else ""
        )
        return (
            f"{head}: each subgroup pooled with one τ² common to all subgroups "
            f"(τ² = {fmt.tau2(sg.tau2_common)}, as metafor's "
            f"rma(yi, vi, mods = ~ factor(group) - 1) and meta's tau.common = TRUE{how})."
        )
    test = oa.subgroup_test
    if test is not None and test.tau2 == "common" and len(sg.groups) >= 2:
        k = sum(f.k for f in sg.groups.values())
        return (
            f"{head}: each subgroup pooled with its own τ² ({k} studies are too few for "
            f"{len(sg.groups)} subgroups with a common τ²)."
        )
    return f"{head}: each subgroup pooled with its own τ²."


def analyse_outcome(
    outcome: Outcome,
    state: ViewState,
    studies: pd.DataFrame,
    effects: EstimableFn,
    selection: Selection | None = None,
    description: Description | None = None,
) -> OutcomeAnalysis:
    """Pool one outcome for a view. ``effects(outcome, measure, years, rule)`` gives the
    estimable set (pass a cached function in the app). ``description``: the dataset's words;
    an outcome it gives no time points (counts without a time) is pooled without a t."""
    sel = selection or select_studies(studies, state, description)
    tables = state.measure in TABLE_MEASURES
    years = (state.t_os if outcome == "OS" else state.t_dfs) if tables else None
    if description is not None and not description.words(outcome).time_points:
        years = None
    model = model_of(state)
    zero = ZeroCells(model.add, model.to, model.drop00, model.method == "PETO")
    es = effects(outcome, state.measure, years, state.tpoint, zero)
    chosen = set(sel.ids)
    rows = es.rows[es.rows["study_id"].isin(chosen)].reset_index(drop=True)
    not_estimable = tuple((s, r) for s, r in es.excluded if s in chosen)
    own = None if description is None else description.words(outcome)
    available = _definitions(rows, outcome, state.measure, own)
    kept = tuple(v for v in state.endpoint if v.split(".", 1)[0] == outcome)
    rows, endpoint_out, endpoint_note = _keep_definitions(rows, available, kept)
    excluded = set(state.exclude)
    included = ~rows["study_id"].isin(excluded).to_numpy(dtype=bool)
    rows = rows.assign(included=included, weight=np.nan)
    by_hand = tuple(str(s) for s in rows.loc[~included, "study_id"])
    rows, dropped, overlaps = ov.apply(rows, studies, state.overlap, state.keep)
    included = rows["included"].to_numpy(dtype=bool)
    k = int(included.sum())
    pooled = subgroups = test = None
    message: str | None = None
    group_by = group_column(studies, state.group)[0]
    bayes: BayesResult | None = None
    only: tuple[tuple[str, float, float, float, float], ...] = ()
    if model.method in TABLE_METHODS:
        gone = set(by_hand) | {d.study_id for d in dropped} | {s for s, _ in endpoint_out}
        only = tuple(t for t in es.tables_only if t[0] in chosen and t[0] not in gone)
    if k == 0:
        what = (description or bundled_words()).words(outcome).label
        message = _empty_message(what, years, state, len(sel.ids), len(rows))
    else:
        y = rows.loc[included, "yi"].to_numpy(dtype=float)
        v = rows.loc[included, "vi"].to_numpy(dtype=float)
        if model.method == "BAYES":
            bayes = bayes_meta(y, v, tau_prior=state.tau_prior)
            pooled = as_pool_result(bayes, y, v)
        elif model.method in TABLE_METHODS:
            try:
                pooled, message = _pool_tables(rows[included], only, state.measure, model)
            except ValueError as err:  # e.g. an MH odds ratio of 0: metafor's estimate is NA
                message = (
                    f"{vocab.MODELS[model.method]} cannot pool these studies: {err}. Choose the "
                    "common-effect (EE) or a random-effects model in the sidebar to pool the "
                    "studies' own estimates instead."
                )
        else:
            pooled = pool(y, v, method=model.method, ci=model.ci)
        if pooled is not None:
            rows.loc[included, "weight"] = pooled.weights[:k]
            if bayes is not None:
                message = bayes_message(bayes, state)
            elif k == 1 and not only:
                message = "Only one study: the pooled result is that study's own estimate."
                if state.ci == "hksj":
                    message += (
                        " The Hartung-Knapp CI needs two studies or more; choose the Wald (z) CI "
                        "to see this study's own interval."
                    )
            beyond = out_of_range(pooled, state.measure, shown_interval(pooled, state.pi))
            if beyond:
                message = beyond if message is None else f"{message} {beyond}"
            if group_by is not None and model.method in TABLE_METHODS:
                sub = (
                    f"Subgroups are not pooled with {vocab.MODELS[model.method]} here; choose an "
                    "inverse-variance model to see them."
                )
                message = sub if message is None else f"{message} {sub}"
            elif group_by is not None and k >= 2:
                labels = group_labels(studies, group_by, rows.loc[included, "study_id"])
                subgroups, test = _subgroup_fits(y, v, labels, model, state.tau2g)
    if model.note:
        message = model.note if message is None else f"{model.note} {message}"
    sizes = studies.set_index("study_id").loc[rows.loc[included, "study_id"], ["n_rt", "n_ctl"]]
    # Python ints: an Int64 sum of arms near 2^63 would wrap around
    n = sum(int(x) for x in sizes.to_numpy(dtype=object).ravel() if not pd.isna(x))
    return OutcomeAnalysis(
        outcome=outcome,
        measure=state.measure,
        years=years,
        rows=rows,
        pooled=pooled,
        subgroups=subgroups,
        group_by=group_by,
        subgroup_test=test,
        not_estimable=not_estimable,
        filtered_out=sel.filtered_out + endpoint_out,
        excluded_by_user=by_hand,
        patients=n,
        message=message,
        definitions=_definitions(rows[rows["included"]], outcome, state.measure, own),
        available=available,
        kept=kept,
        endpoint_note=endpoint_note,
        overlaps=overlaps,
        overlap_dropped=dropped,
        pi_choice=state.pi,
        bayes=bayes,
        model_note=model.note,
        zero_words=zero_cell_words(model) if tables else None,
        tables_only=only,
        description=description,
    )


def frequentist(method: str) -> str:
    """The tau2 estimator of the analyses that need a frequentist fit (subgroups,
    sensitivity, bias): REML under the Bayesian model, else ``method`` itself."""
    return "REML" if method == "BAYES" else method


#: What the Bayesian model shows instead of frequentist choices that do not apply to it.
BAYES_INSTEAD_OF_HKSJ = (
    "The Hartung-Knapp CI is a frequentist method and does not apply to the Bayesian model: "
    "the 95% credible interval (CrI) is shown."
)
BAYES_SUBGROUPS = "Subgroup diamonds use REML fits: the Bayesian model pools all studies only."


def frequentist_page_note(page: str) -> str:
    """What a page built on frequentist fits shows under ``method=BAYES``."""
    return (
        f"The Bayesian model has no {page} here: this page shows REML fits (frequentist "
        "random effects) of the same studies. The Bayesian result (posterior median, 95% "
        "credible interval, probability of benefit) is on the Overview and Present pages."
    )


def _subgroup_fits(
    y: np.ndarray, v: np.ndarray, labels: list[str], model: Model, tau2g: str
) -> tuple[SubgroupResult, SubgroupTest]:
    """The subgroups' fits and the test between them (the frequentist model standing in for
    the Bayesian one); a test that cannot be computed carries its reason."""
    fit = frequentist(model.method)
    subgroups = subgroup_analysis(y, v, labels, method=fit, ci=model.ci, tau2=tau2g)
    try:
        test = subgroup_test(y, v, labels, fit, model.ci, tau2g, separate=subgroups)
    except ValueError as err:
        test = SubgroupTest(tau2g, None, 0, None, "Q", None, None, str(err))
    return subgroups, test


#: What the Sensitivity and Small-study pages fit, named in their note under the Bayesian model.
SENSITIVITY_ANALYSES: Final = "leave-one-out, cumulative, influence or estimator analyses"
BIAS_ANALYSES: Final = "small-study-effect analyses"


def frequentist_view(state: ViewState, page: str) -> tuple[ViewState, str | None]:
    """The view the Sensitivity and Small-study analyses fit (their pages and CLI commands):
    under ``method=BAYES`` the same view with REML, and the note saying so; under
    Mantel-Haenszel or Peto with hazard ratios the common-effect model that stands in for
    them (``model_of``), and its note; else ``state``."""
    if state.method == "BAYES":
        return state.replace(method=frequentist(state.method)), frequentist_page_note(page)
    model = model_of(state)
    if state.method in TABLE_METHODS and model.method not in TABLE_METHODS:
        return state.replace(method=model.method), model.note
    return state, None


def bayes_message(res: BayesResult, state: ViewState) -> str:
    """What a reader should know about a Bayesian fit: its prior, one study's caution, and
    the frequentist choices of the link that it does not use."""
    parts = [
        "Bayesian random-effects model: half-normal prior on τ, scale "
        f"{fmt.number(state.tau_prior)}; "
        "flat prior on the mean. Posterior median with 95% credible interval (CrI)."
    ]
    if res.k == 1:
        parts.append(
            "Only one study: the data say nothing about heterogeneity, so τ comes from the "
            "prior alone (and no prediction interval is shown)."
        )
    if state.ci == "hksj":
        parts.append(BAYES_INSTEAD_OF_HKSJ)
    if state.group != "none":
        parts.append(BAYES_SUBGROUPS)
    return " ".join(parts)


def plain_benefit(oa: OutcomeAnalysis) -> str | None:
    """'Probability that perioperative RT lowers the odds of death by 2 years: 98%', under the
    model and its prior, given the included studies (None without a Bayesian fit)."""
    if oa.bayes is None:
        return None
    event = oa.words.event
    if oa.measure == "HR":
        what = f"the hazard of {event}"
    else:
        scale = "odds" if oa.measure == "OR" else "risk"
        when = (
            ""
            if oa.years is None
            else f" by {fmt.years(oa.years)} year{'s' if oa.years != 1 else ''}"
        )
        what = f"the {scale} of {event}{when}"
    chance = fmt.probability(oa.bayes.p_benefit)
    return f"Probability that {oa.intervention} lowers {what}: {chance}"


def benefit_caveat(k: int) -> str:
    """What the probability of benefit is conditional on: 'under this model and prior, given
    the 3 included studies.'"""
    return f"under this model and prior, given the {k} included {'study' if k == 1 else 'studies'}."


def prior_words(scale: float) -> str:
    """'half-normal prior on τ, scale 0.5; flat prior on the mean'."""
    return f"half-normal prior on τ, scale {fmt.number(scale)}; flat prior on the mean"


@functools.lru_cache(maxsize=256)
def _prior_fits(y: tuple[float, ...], v: tuple[float, ...]) -> tuple[BayesResult, ...]:
    """The prior-sensitivity fits of one set of studies, computed once (three quadrature fits,
    ~30 ms), not on every rerun of the pages that show the line."""
    return tuple(prior_sensitivity(np.array(y), np.array(v)))


def prior_sensitivity_line(oa: OutcomeAnalysis, name: str) -> str:
    """'Prior sensitivity (scale of τ's prior: P(OR < 1), 95% CrI): 0.25: 98%, 0.40-0.90; ...'
    for the scales of core.stats.bayes.SENSITIVITY_SCALES ('' without a Bayesian fit)."""
    if oa.bayes is None:
        return ""
    used = oa.rows[oa.rows["included"]]
    fits = _prior_fits(tuple(used["yi"].astype(float)), tuple(used["vi"].astype(float)))
    m = oa.measure
    parts = [
        f"{fmt.number(f['tau_prior'])}: {fmt.probability(f['p_benefit'])}, "
        f"{fmt.effect_ci(m, to_shown(m, f['mu_low']), to_shown(m, f['mu_high']))}"
        for f in (fit.summary_row() for fit in fits)
    ]
    null = fmt.number(null_value(m))
    head = f"Prior sensitivity (scale of the prior on τ: P({name} < {null}), 95% CrI): "
    return head + "; ".join(parts)


def _pool_tables(
    rows: pd.DataFrame,
    only: tuple[tuple[str, float, float, float, float], ...],
    measure: str,
    model: Model,
) -> tuple[PoolResult, str | None]:
    """Mantel-Haenszel or Peto over the pooled studies' 2x2 tables, plus the tables ``only``
    that have no per-study estimate (as metafor's rma.mh/rma.peto pool them); a note names
    those. Weights: the rows' first, then those of ``only``."""
    a, n1, c, n2 = (
        [*rows[col].astype(float).tolist(), *(t[i + 1] for t in only)]
        for i, col in enumerate(("events_rt", "n_rt", "events_ctl", "n_ctl"))
    )
    kind: Literal["OR", "RR", "RD"] = "RR" if measure == "RR" else "RD" if measure == "RD" else "OR"
    pooled = pool_tables(
        a, n1, c, n2, kind, model.method, add=model.add, to=model.to, drop00=model.drop00
    )
    note = None
    if only:
        weights = pooled.weights[len(rows) :]
        w = ", ".join(f"{t[0]} ({fmt.percent(x)})" for t, x in zip(only, weights, strict=True))
        note = (
            f"{vocab.MODELS[model.method]} also pools the tables without a per-study estimate "
            f"(weights in brackets): {w}."
        )
    return pooled, note


def ratio_pages_unavailable(state: ViewState) -> str | None:
    """Why the Sensitivity and Small-study effects analyses are not offered for ``state``, or
    None: they work on log ratios with inverse-variance weights, so not for the risk
    difference (not yet built for its scale) nor with Mantel-Haenszel or Peto."""
    if state.measure == "RD":
        return (
            "The sensitivity and small-study-effect analyses are built for ratios (log scale) "
            "and are not available for the risk difference yet. Choose the odds ratio or the "
            "risk ratio in the sidebar to see them."
        )
    method = model_of(state).method
    if method in TABLE_METHODS:
        return (
            f"The sensitivity and small-study-effect analyses use inverse-variance weights "
            f"and are not available with {vocab.MODELS[method]}. Choose the common-effect "
            "(EE) or a random-effects model in the sidebar to see them."
        )
    return None


def _definitions(
    rows: pd.DataFrame, outcome: str, measure: str, words: OutcomeWords | None = None
) -> tuple[Definition, ...]:
    """The endpoint definitions of estimable ``rows`` (core.data.endpoints.definitions);
    ``words``: a described outcome, whose code names its own endpoint (not for the codes
    OS and DFS, whose endpoints the module knows)."""
    default = None
    if words is not None and words.code not in OUTCOMES:
        default = own_endpoint(words.code, words.event)
    return definitions(
        outcome,
        measure,
        rows["study_id"].astype(str).tolist(),
        rows["endpoint_as_reported"].astype(object).tolist(),
        rows["adjustment"].astype(object).tolist() if "adjustment" in rows else [None] * len(rows),
        default,
    )


def _keep_definitions(
    rows: pd.DataFrame, available: tuple[Definition, ...], kept: tuple[str, ...]
) -> tuple[pd.DataFrame, tuple[tuple[str, str], ...], str | None]:
    """``rows`` of the definitions the link keeps, (study_id, reason) for the others, and a
    note when no study has a kept definition (the choice is then not applied)."""
    if not kept or not available:
        return rows, (), None
    keep = [d for d in available if matches(d, kept)]
    if not keep:
        return (
            rows,
            (),
            (
                f"No selected study measured the endpoint definition the link keeps "
                f"({', '.join(kept)}), so every definition is pooled."
            ),
        )
    ids = {s for d in keep for s in d.studies}
    words = " or ".join(d.words for d in keep)
    out = tuple(
        (s, f"endpoint {d.words}; only {words} kept")
        for d in available
        if d not in keep
        for s in d.studies
    )
    return rows[rows["study_id"].isin(ids)].reset_index(drop=True), out, None


def shown_interval(pooled: PoolResult | None, pi_choice: str) -> PredictionInterval | None:
    """The prediction interval of the link's ``pi`` choice, None when hidden (``"0"``) or
    without a pooled result."""
    if pooled is None or pi_choice == "0":
        return None
    return prediction_interval(pooled, pi_choice)


def out_of_range(res: PoolResult, measure: str, pi: PredictionInterval | None = None) -> str | None:
    """A plain message when exp() of the pooled estimate, CI or prediction interval ``pi``
    (the one shown, if any) leaves the float range (|log value| > ln(1.8e308) ~ 709.78):
    those bounds show as 0 or ∞. None for the risk difference (never back-transformed)."""
    if not is_ratio(measure):
        return None
    nan = math.nan
    parts = (
        ("estimate", (res.estimate,)),
        ("95% CI", (res.ci_low, res.ci_high)),
        ("95% prediction interval", (nan, nan) if pi is None else (pi.low, pi.high)),
    )
    over = [
        f"{what} ({' to '.join(fmt.significant(x) for x in xs)} on the log scale)"
        for what, xs in parts
        if any(math.isfinite(x) and abs(x) > LOG_MAX for x in xs)
    ]
    if not over:
        return None
    verb = "go" if len(over) > 1 else "goes"
    return (
        f"The pooled {measure}'s {' and '.join(over)} {verb} beyond the largest number a "
        "computer can hold (about 1.8e308): shown as 0 or ∞, not estimable as a ratio."
    )


def _empty_message(what: str, years: float | None, state: ViewState, n_sel: int, n_est: int) -> str:
    if n_sel == 0:
        return "No study matches the filters. Widen the indication, design or quality filters."
    if n_est == 0:
        when = f" at {fmt.years(years)} years" if years is not None else ""
        tip = " Try time point 'interpolated'" if state.tpoint == "exact" and years else ""
        return f"None of the {n_sel} selected studies reports {what}{when} in a usable form.{tip}"
    return "Every estimable study is excluded by hand. Tick a study to include it again."


@dataclass(frozen=True, eq=False)
class Analysis:
    """Both outcomes for one view of one dataset; ``notices``: link values the dataset
    cannot honour (e.g. a ``group`` column it lacks), each with what was shown instead."""

    state: ViewState
    selection: Selection
    outcomes: dict[str, OutcomeAnalysis]
    unknown_excludes: tuple[str, ...]
    notices: tuple[str, ...] = ()


def outcome_slots(words: Description | None, state: ViewState) -> tuple[Outcome, ...]:
    """The outcome slots a dataset has: its description's (``("OS",)`` for dat.bcg's one
    outcome), both without a description, and the link's outcome always."""
    slots = OUTCOMES if words is None or not words.given else words.slots
    return tuple(o for o in OUTCOMES if o in slots or o == state.outcome)


def analyse(state: ViewState, dataset: HasTables, effects: EstimableFn | None = None) -> Analysis:
    """Everything the overview shows for ``state``; ``effects`` defaults to uncached
    ``core.data.estimable.estimable`` on ``dataset``."""
    studies: pd.DataFrame = dataset.studies
    fn = effects or (lambda o, m, t, r, z: estimable(dataset, o, m, t, r, z))
    words = getattr(dataset, "description", None)
    sel = select_studies(studies, state, words)
    known = set(studies["study_id"].astype(str))
    unknown = tuple(s for s in state.exclude if s not in known)
    outs: dict[str, OutcomeAnalysis] = {
        o: analyse_outcome(o, state, studies, fn, sel, words) for o in outcome_slots(words, state)
    }
    notices = [n for n in (group_column(studies, state.group)[1],) if n is not None]
    offered = {c for c in studies.columns if words is not None and words.filter(c) is not None}
    notices += [
        f"Filter (filter): the dataset offers no filter on the column {column!r}; ignored."
        for column in column_filters(state)
        if column in LAYOUT_FILTERS or column not in offered
    ]
    return Analysis(state, sel, outs, unknown, tuple(notices))


#: What the analyze JSON shows of the pooled fit and of each subtotal (``summary_frame``
#: columns under core.views.plain.JSON_NAMES).
_POOLED_JSON = ("estimate", "se", "ci_low", "ci_high", "pvalue", "tau2", "i2")
_SUBTOTAL_JSON = ("k", "estimate", "se", "ci_low", "ci_high", "pvalue", "tau2")


def _num(x: float) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)


def _pi_json(oa: OutcomeAnalysis) -> dict[str, Any]:
    """pi_low, pi_high (log scale), pi_method, pi_df and pi_note of the shown prediction
    interval: bounds and method null when it is hidden (pi=0) or not available (k < 3,
    common effect), pi_note then says why."""
    pi = oa.shown_prediction
    if pi is None:
        return {"pi_low": None, "pi_high": None, "pi_method": None, "pi_df": None,
                "pi_note": "prediction interval hidden (pi=0)"}  # fmt: skip
    ok = pi.available
    return {
        "pi_low": _num(pi.low),
        "pi_high": _num(pi.high),
        "pi_method": pi.method if ok else None,
        "pi_df": pi.df if ok else None,
        "pi_note": pi.reason,
    }


def outcome_words_json(oa: OutcomeAnalysis) -> dict[str, str]:
    """The outcome in the dataset's words, for the CLI's JSON (its keys stay the slots ``OS``
    and ``DFS``): ``{"code": "TB", "label": "tuberculosis", "event": "TB case",
    "treatment": "vaccinated", "control": "not vaccinated"}``."""
    words = oa.description or bundled_words()
    own = oa.words
    return {
        "code": own.code,
        "label": own.label,
        "event": own.event,
        "treatment": arm_name(oa.description) if oa.description else words.treatment,
        "control": words.control,
    }


def to_json(analysis: Analysis) -> dict:
    """The CLI's JSON: per outcome, studies used (log scale; whether their numbers are derived
    or interpolated, and how), excluded with reasons, pooled; when grouped, the test for
    subgroup differences and the subtotals (with the tau2 they use)."""
    out: dict = {"query": analysis.state.to_dict(), "notices": list(analysis.notices)}
    if analysis.unknown_excludes:
        out["notices"].append(
            "unknown study ids in exclude: " + ", ".join(analysis.unknown_excludes)
        )
    for name, oa in analysis.outcomes.items():
        used = oa.rows[oa.rows["included"]]
        block: dict = {
            "outcome_words": outcome_words_json(oa),
            "measure": oa.measure,
            "years": oa.years,
            "studies": [
                {
                    "id": str(r.study_id),
                    "yi": float(r.yi),
                    "vi": float(r.vi),
                    "weight": float(r.weight),
                    "derived": bool(r.derived),
                    "interpolated": bool(r.interpolated),
                    "derivation": str(r.derivation),
                }
                for r in used.itertuples(index=False)
            ],
            "excluded": [{"id": s, "reason": r} for s, r in oa.excluded()],
            "endpoint": endpoint_json(oa),
            "overlap": ov.to_json(oa.overlaps, oa.overlap_dropped),
            "pooled": None,
            "message": oa.message,
        }
        p = oa.pooled
        if p is not None:
            fit = fit_json(p.summary_row())
            fit["pvalue"] = None if p.method == "BAYES" else fit["pvalue"]
            block["pooled"] = {key: fit[key] for key in _POOLED_JSON}
            block["pooled"].update(_pi_json(oa))
            block["pooled"].update(k=fit["k"], method=p.method, ci=p.ci, patients=oa.patients)
            block["pooled"].update(q=fit["q"], q_pvalue=fit["q_pvalue"])
            if oa.bayes is not None:
                b = oa.bayes.summary_row()
                block["pooled"].update(
                    ci="credible",
                    interval="95% CrI (equal-tailed, posterior)",
                    estimate_is="posterior median of the mean "
                    + ("log ratio" if is_ratio(oa.measure) else "risk difference"),
                )
                shown = ("tau_prior", "tau_median", "tau_low", "tau_high", "mu_mean", "p_benefit")
                block["pooled"].update((c, b[c]) for c in shown)
        block["scale"] = "log" if is_ratio(oa.measure) else "absolute (proportion)"
        block["model_note"] = oa.model_note
        if oa.zero_words is not None:
            block["zero_cells"] = oa.zero_words
            block["tables_only"] = [t[0] for t in oa.tables_only]
        t = oa.subgroup_test
        if t is not None:  # grouping (group=COLUMN): the test for subgroup differences
            block["subgroup_test"] = {"group": oa.group_by, "reason": t.reason} | {
                k: (_num(v) if isinstance(v, float) else v) for k, v in t.summary_row().items()
            }
        sg = oa.subgroups
        if sg is not None and oa.group_by is not None:  # the subtotal diamonds, log scale
            block["subtotals"] = {
                "tau2": sg.tau2,
                "tau2_common": sg.tau2_common,
                "note": subtotal_text(oa),
                "groups": {
                    str(g): {key: doc[key] for key in _SUBTOTAL_JSON}
                    for g, doc in ((g, fit_json(f.summary_row())) for g, f in sg.groups.items())
                },
            }
        out[name] = block
    return out


def endpoint_json(oa: OutcomeAnalysis) -> dict:
    """What the pooled studies measured, for the CLI: the description (the outcome's title),
    whether the pool mixes definitions, each definition of the included studies (or, with
    none included, of the estimable ones) and the link's ``endpoint`` choice."""
    defs = oa.definitions or oa.available
    return {
        "description": oa.title,
        "mixed": oa.mixed,
        "definitions": [
            {
                "key": d.key,
                "endpoint": d.endpoint.name,
                "event": d.endpoint.event,
                "adjustment": d.adjustment,
                "adjustment_words": d.phrase,
                "studies": list(d.studies),
            }
            for d in defs
        ],
        "choices": [d.key for d in oa.available],
        "kept": list(oa.kept),
        "note": oa.endpoint_note,
    }


# ---------------------------------------------------------------------------------------
# Forest frame: the rows a forest plot draws (see core.charts.forest.FOREST_COLUMNS)


def model_label(method: str, ci: str) -> str:
    """'Random effects (REML, Hartung-Knapp)', 'Common effect', 'Common effect
    (Mantel-Haenszel)' or 'Bayesian random effects'."""
    if method == "EE":
        return "Common effect"
    if method in TABLE_METHODS:
        return f"Common effect ({vocab.MODELS[method]})"
    if method == "BAYES":
        return "Bayesian random effects (95% CrI)"
    return f"Random effects ({method}{', ' + vocab.CI_SHORT[ci] if ci == 'hksj' else ''})"


def pooled_label(method: str, ci: str) -> str:
    """The forest plot's short label of the pooled row: 'Pooled (REML, HK)'."""
    if method == "EE":
        return "Pooled (common effect)"
    if method == "BAYES":
        return "Pooled (Bayesian, 95% CrI)"
    if method in TABLE_METHODS:
        return f"Pooled ({vocab.MODELS[method]})"
    return f"Pooled ({method}{', HK' if ci == 'hksj' else ''})"


def _detail(row: pd.Series, measure: str, endpoint: str = "", arms: str = "RT vs control") -> str:
    what = f"; endpoint: {endpoint}" if endpoint else ""
    if measure == "HR":
        return str(row["derivation"]) + what
    parts = [
        f"{_int(row['events_rt'])}/{_int(row['n_rt'])} vs {_int(row['events_ctl'])}/"
        f"{_int(row['n_ctl'])} events ({arms})",
        str(row["derivation"]),
    ]
    return "; ".join(parts) + what


def _rob_cells(studies: pd.DataFrame, study_id: str) -> dict[str, str]:
    """The forest frame's risk-of-bias cells of a study (core.views.rob): ``rob_tool`` and
    ``rob_d1``.. ``rob_d7``, ``rob_overall`` (a judgement code, "" where none is given)."""
    j = rob.judgement_of(studies, study_id)
    if j is None:
        return {}
    cells = {f"rob_d{i + 1}": v for i, v in enumerate(j.domains)}
    return {"rob_tool": j.tool, **cells, "rob_overall": j.overall}


def _arm_counts(row: pd.Series, measure: str) -> dict[str, float | bool]:
    """events_rt, n_rt, events_ctl, n_ctl of a study row where the ratio is built from counts
    (odds ratios); NaN for hazard ratios (no 2x2 table) and wherever a count is missing.
    ``counts_derived``: the events were computed from a reported rate (core.data.estimable)."""
    names = ("events_rt", "n_rt", "events_ctl", "n_ctl")
    if measure == "HR":
        return {**dict.fromkeys(names, math.nan), "counts_derived": False}
    counts = {c: math.nan if pd.isna(row.get(c)) else float(row[c]) for c in names}
    return {**counts, "counts_derived": bool(row.get("derived", False))}


#: ``sort`` -> (column of the sort frame, ascending): year oldest first, weight largest first,
#: effect smallest ratio first, quality highest first, label A to Z; "data" keeps the order.
SORT_KEYS: dict[str, tuple[str, bool]] = {
    "year": ("year", True),
    "weight": ("weight", False),
    "effect": ("yi", True),
    "quality": ("quality_score", False),
    "label": ("label_key", True),
}


def sort_rows(rows: pd.DataFrame, studies: pd.DataFrame | None, sort: str) -> pd.DataFrame:
    """``rows`` (an OutcomeAnalysis's study rows) in the forest plot's order ``sort`` (see
    ``SORT_KEYS``; year and quality are read from ``studies``). Stable: ties keep the
    dataset's order; studies without the value (no year, no quality score, excluded so no
    weight) come last."""
    if sort not in SORT_KEYS or rows.empty:
        return rows
    col, ascending = SORT_KEYS[sort]
    if col in ("year", "quality_score"):
        if studies is None or col not in studies:
            key = pd.Series(np.nan, index=rows.index)
        else:
            meta = studies.drop_duplicates("study_id").set_index("study_id")[col]
            values = rows["study_id"].map(meta)
            key = pd.to_numeric(values.astype(object), errors="coerce").astype(float)
    elif col == "label_key":
        key = rows["label"].astype(str).map(str.casefold)
    else:
        key = rows[col].astype(float)
    order = (
        pd.DataFrame({"key": key.to_numpy(), "pos": np.arange(len(rows))})
        .sort_values(["key", "pos"], ascending=[ascending, True], na_position="last", kind="stable")
        .index
    )
    return rows.iloc[order].reset_index(drop=True)


def _int(x: float | None) -> str:
    return "?" if x is None or pd.isna(x) else f"{int(x)}"


def _pooled_rows(
    tag: str,
    label: str,
    res: PoolResult,
    group: str,
    pi: PredictionInterval | None,
    measure: str = "OR",
) -> list[dict]:
    fit = res.summary_row()

    def shown(x: float) -> float:
        return to_shown(measure, x)

    rows = [
        {
            "row_id": f"pooled:{tag}",
            "label": label,
            "kind": "pooled" if tag == "all" else "subgroup",
            "group": group,
            "est": shown(fit["estimate"]),
            "low": shown(fit["ci_low"]),
            "high": shown(fit["ci_high"]),
            "weight": 100.0 if tag == "all" else float("nan"),
            "detail": f"{model_label(res.method, res.ci)}; k = {res.k}; tau2 = "
            "{fmt.tau2(fit['tau2'])}; "
            f"I2 = {fmt.percent(fit['i2'])}"
            if res.k > 1 and res.method != "BAYES"
            else f"{model_label(res.method, res.ci)}; k = {res.k}; posterior median of tau "
            f"= {fmt.tau(res.tau)}"
            if res.method == "BAYES"
            else f"{model_label(res.method, res.ci)}; k = 1",
            "note": res.note or "",
        }
    ]
    if pi is not None and not pi.available and res.method not in COMMON_EFFECT and res.k > 1:
        # the row stays (a toggle changes rows, not the plot's layout) and says why it is empty
        rows.append(
            {
                "row_id": f"pi:{tag}",
                "label": "Prediction interval",
                "kind": "pi",
                "group": group,
                "est": math.nan,
                "low": math.nan,
                "high": math.nan,
                "detail": str(pi.reason),
                "note": f"none (k < {PI_MIN_K})",
            }
        )
    if pi is not None and pi.available:
        rows.append(
            {
                "row_id": f"pi:{tag}",
                "label": "Prediction interval",
                "kind": "pi",
                "group": group,
                "est": shown(fit["estimate"]),
                "low": shown(pi.low),
                "high": shown(pi.high),
                "detail": "where the effect of a new, similar study is expected to lie (95%; "
                f"{pi_method_text(pi)})",
            }
        )
    return rows


def forest_footer(oa: OutcomeAnalysis) -> tuple[str, ...]:
    """The lines RevMan and metafor print under a forest plot's pooled row, from the pooled
    fit: "Heterogeneity: τ² = 0.0123; I² = 45.6%; Q = 7.31 (df = 4), p = 0.120" (τ² left out
    for the common-effect models EE, MH and Peto, as rma.mh and rma.peto print them; Q = sum
    (yi - mu_EE)^2 / vi on k - 1 df), "Test for overall effect: z = -2.45, p = 0.014" (t on
    k - 1 df with Hartung-Knapp) and, for a grouped plot,
    "Test for subgroup differences: Q = 1.23 (df = 1), p = 0.267" (Q between the subgroups'
    estimates, core.stats.subgroups). Empty without a pooled result."""
    p = oa.pooled
    if p is None:
        return ()
    if p.k < 2:
        het = f"{vocab.FOOTER_HETEROGENEITY}: not applicable (one study)"
    else:
        tau2 = "" if p.method in COMMON_EFFECT else f"τ² = {fmt.tau2(p.tau2)}; "
        het = (
            f"{vocab.FOOTER_HETEROGENEITY}: {tau2}I² = {fmt.percent(p.i2)}; "
            f"Q = {fmt.stat(p.q)} (df = {p.df}), {fmt.p_equals(p.q_pvalue)}"
        )
    df = f" (df = {p.df})" if p.dist == "t" else ""
    lines = [
        het,
        f"{vocab.FOOTER_OVERALL}: {p.dist} = {fmt.stat(p.stat)}{df}, {fmt.p_equals(p.pvalue)}",
    ]
    t = oa.subgroup_test
    if t is not None and t.q is not None and t.p is not None:
        lines.append(subgroup_test_text(t))
    return tuple(lines)


def pi_method_text(pi: PredictionInterval) -> str:
    """How ``pi`` was computed, in words: 't on 1 df (k - 2), Higgins, Thompson &
    Spiegelhalter 2009', 'normal (z), metafor's default', 'Hartung-Knapp variance, t on 2 df'."""
    if pi.method == "bayes":
        return "posterior predictive interval of the Bayesian model"
    if pi.method == "z":
        return "normal (z), metafor's default"
    if pi.method == "hksj":
        return f"Hartung-Knapp variance, t on {pi.df} df"
    return f"t on {pi.df} df (k - 2), Higgins, Thompson & Spiegelhalter 2009"


def forest_frame(oa: OutcomeAnalysis, state: ViewState, studies: pd.DataFrame) -> pd.DataFrame:
    """Rows for the forest plot of one outcome: studies (excluded ones kept, greyed),
    subgroup diamonds when grouping, the pooled diamond and the prediction interval."""
    frame_rows: list[dict] = []
    words = {s: d.words for d in oa.available for s in d.studies}
    d = oa.description
    arms = f"{arm_name(d)} vs {d.control if d is not None and d.given else 'control'}"
    judged = bool(rob.tools_in(studies, oa.rows["study_id"]))

    def study_row(r: pd.Series) -> dict:
        se = math.sqrt(r["vi"])
        return {
            "row_id": f"study:{r['study_id']}",
            "label": str(r["label"]),
            "kind": "study",
            "study_id": str(r["study_id"]),
            "group": group_of.get(str(r["study_id"]), ""),
            "est": to_shown(oa.measure, r["yi"]),
            "low": to_shown(oa.measure, r["yi"] - Z975 * se),
            "high": to_shown(oa.measure, r["yi"] + Z975 * se),
            "weight": float(r["weight"]),
            "included": bool(r["included"]),
            "derived": bool(r["interpolated"]),
            "overlap": str(r.get("overlap", "")),
            "detail": _detail(r, oa.measure, words.get(str(r["study_id"]), ""), arms),
            "source": str(r["source_url"]),
            "note": "" if r["included"] else "excluded by hand",
            **_arm_counts(r, oa.measure),
            **(_rob_cells(studies, str(r["study_id"])) if judged else {}),
        }

    rows = sort_rows(oa.rows, studies, state.sort)
    group_of: dict[str, str] = {}
    if oa.group_by is not None and oa.subgroups is not None:
        labels = pd.Series(group_labels(studies, oa.group_by, rows["study_id"]), index=rows.index)
        group_of = dict(zip(rows["study_id"].astype(str), labels, strict=True))
        for g in sorted(labels.unique(), key=lambda x: (str(x).casefold(), str(x).swapcase())):
            frame_rows.append(
                {
                    "row_id": f"heading:{g}",
                    "label": vocab.GROUP_HEADINGS.get(g, g),
                    "kind": "heading",
                }
            )
            frame_rows.extend(study_row(r) for _, r in rows[labels == g].iterrows())
            fit = oa.subgroups.groups.get(g)
            if fit is not None:
                common = " (common τ²)" if oa.subgroups.tau2 == "common" else ""
                frame_rows.extend(
                    _pooled_rows(g, f"Subtotal, k = {fit.k}{common}", fit, g, None, oa.measure)
                )
    else:
        frame_rows.extend(study_row(r) for _, r in rows.iterrows())
    if oa.pooled is not None:
        label = pooled_label(oa.pooled.method, oa.pooled.ci)
        pooled = _pooled_rows("all", label, oa.pooled, "", oa.shown_prediction, oa.measure)
        pooled[0]["detail"] = f"{oa.title}; {pooled[0]['detail']}"
        benefit = plain_benefit(oa)
        if benefit is not None:
            pooled[0]["detail"] += f"; {benefit} (under this model and prior)"
        frame_rows.extend(pooled)
    frame = pd.DataFrame(frame_rows)
    for col, default in (
        ("study_id", ""),
        ("group", ""),
        ("detail", ""),
        ("source", ""),
        ("note", ""),
        ("overlap", ""),
    ):
        frame[col] = frame[col].fillna(default) if col in frame else default
    if "included" in frame:
        frame["included"] = frame["included"].fillna(True).astype(bool)
    for flag in ("derived", "counts_derived"):
        if flag in frame:
            frame[flag] = frame[flag].fillna(False).astype(bool)
    return frame
