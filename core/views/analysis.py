"""A view (``ViewState``) of a dataset turned into what the pages and the CLI show.

Flow: the studies table is filtered (indication, design, RT type, scope, minimum quality
score); for each outcome the estimable studies among them give yi and vi (cached upstream);
studies the user excluded by hand stay in the table, marked, but out of the pooling; what is
left is pooled with the chosen tau2 estimator and CI method. Every study that is not pooled
carries a reason in plain words.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from core import fmt, vocab
from core.data.description import Description, OutcomeWords, bundled_words
from core.data.endpoints import Definition, definitions, effect_words, matches, own_endpoint
from core.data.estimable import EstimableSet, HasTables, estimable
from core.state.view import Measure, Outcome, TimePoints, ViewState
from core.stats.effects import LOG_MAX, exp_ratio
from core.stats.pooling import (
    PI_MIN_K,
    PoolResult,
    PredictionInterval,
    pool,
    prediction_interval,
)
from core.stats.subgroups import SubgroupResult, subgroup_analysis
from core.views import overlap as ov

Z975 = float(stats.norm.isf(0.025))

OUTCOMES: tuple[Outcome, ...] = ("OS", "DFS")

EstimableFn = Callable[[Outcome, Measure, float | None, TimePoints], EstimableSet]


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
    offered: tuple[str, ...] = ("design", "indication", "rt_type")
    if description is not None:
        offered = tuple(c for c in offered if description.filter(c) is not None)
    recorded = frozenset(c for c in offered if studies[c].notna().any())
    for row in studies.itertuples(index=False):
        sid = str(row.study_id)
        reason = _filter_reason(row, state, recorded)
        if reason:
            out.append((sid, reason))
        else:
            keep.append(sid)
    return Selection(tuple(keep), tuple(out))


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
            return f"quality score {int(score)} below the minimum {state.qmin:g}"
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
        when = "" if self.years is None else f"{self.years:g}-year "
        return f"Odds ratio of {when}{names or self.words.code}"

    def excluded(self) -> tuple[tuple[str, str], ...]:
        """Every study not pooled for this outcome, with the reason."""
        by_hand = tuple((s, "excluded by hand") for s in self.excluded_by_user)
        one = tuple((d.study_id, d.reason) for d in self.overlap_dropped)
        return by_hand + one + self.not_estimable + self.filtered_out


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
    years = (state.t_os if outcome == "OS" else state.t_dfs) if state.measure == "OR" else None
    if description is not None and not description.words(outcome).time_points:
        years = None
    es = effects(outcome, state.measure, years, state.tpoint)
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
    pooled = subgroups = None
    message = None
    if k == 0:
        what = (description or bundled_words()).words(outcome).label
        message = _empty_message(what, years, state, len(sel.ids), len(rows))
    else:
        y = rows.loc[included, "yi"].to_numpy(dtype=float)
        v = rows.loc[included, "vi"].to_numpy(dtype=float)
        pooled = pool(y, v, method=state.method, ci=state.ci)
        rows.loc[included, "weight"] = pooled.weights
        if k == 1:
            message = "Only one study: the pooled result is that study's own estimate."
            if state.ci == "hksj":
                message += (
                    " The Hartung-Knapp CI needs two studies or more; choose the Wald (z) CI "
                    "to see this study's own interval."
                )
        beyond = out_of_range(pooled, state.measure, shown_interval(pooled, state.pi))
        if beyond:
            message = beyond if message is None else f"{message} {beyond}"
        if state.group != "none" and k >= 2:
            labels = studies.set_index("study_id").loc[rows.loc[included, "study_id"], state.group]
            subgroups = subgroup_analysis(
                y, v, [str(x) for x in labels], method=state.method, ci=state.ci
            )
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
        description=description,
    )


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
    those bounds show as 0 or ∞."""
    nan = math.nan
    parts = (
        ("estimate", (res.estimate,)),
        ("95% CI", (res.ci_low, res.ci_high)),
        ("95% prediction interval", (nan, nan) if pi is None else (pi.low, pi.high)),
    )
    over = [
        f"{what} ({' to '.join(f'{x:.4g}' for x in xs)} on the log scale)"
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
        when = f" at {years:g} years" if years is not None else ""
        tip = " Try time point 'interpolated'" if state.tpoint == "exact" and years else ""
        return f"None of the {n_sel} selected studies reports {what}{when} in a usable form.{tip}"
    return "Every estimable study is excluded by hand. Tick a study to include it again."


@dataclass(frozen=True, eq=False)
class Analysis:
    """Both outcomes for one view of one dataset."""

    state: ViewState
    selection: Selection
    outcomes: dict[str, OutcomeAnalysis]
    unknown_excludes: tuple[str, ...]


def analyse(state: ViewState, dataset: HasTables, effects: EstimableFn | None = None) -> Analysis:
    """Everything the overview shows for ``state``; ``effects`` defaults to uncached
    ``core.data.estimable.estimable`` on ``dataset``."""
    studies: pd.DataFrame = dataset.studies
    fn = effects or (lambda o, m, t, r: estimable(dataset, o, m, t, r))
    words = getattr(dataset, "description", None)
    sel = select_studies(studies, state, words)
    known = set(studies["study_id"].astype(str))
    unknown = tuple(s for s in state.exclude if s not in known)
    outs: dict[str, OutcomeAnalysis] = {
        o: analyse_outcome(o, state, studies, fn, sel, words) for o in OUTCOMES
    }
    return Analysis(state, sel, outs, unknown)


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


def to_json(analysis: Analysis) -> dict:
    """The CLI's JSON: per outcome, studies used (log scale; whether their numbers are derived
    or interpolated, and how), excluded with reasons, pooled."""
    out: dict = {"query": analysis.state.to_dict(), "notices": []}
    if analysis.unknown_excludes:
        out["notices"].append(
            "unknown study ids in exclude: " + ", ".join(analysis.unknown_excludes)
        )
    for name, oa in analysis.outcomes.items():
        used = oa.rows[oa.rows["included"]]
        block: dict = {
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
            fit = p.summary_frame().to_dict("records")[0]
            block["pooled"] = {
                key: _num(fit[col])
                for key, col in (
                    ("estimate", "estimate"),
                    ("se", "se"),
                    ("ci_low", "ci_low"),
                    ("ci_high", "ci_high"),
                    ("pvalue", "pval"),
                    ("tau2", "tau2"),
                    ("i2", "i2"),
                )
            }
            block["pooled"].update(_pi_json(oa))
            block["pooled"].update(k=p.k, method=p.method, ci=p.ci, patients=oa.patients)
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
    """'Random effects (REML, Hartung-Knapp)' or 'Common effect'."""
    if method == "EE":
        return "Common effect"
    return f"Random effects ({method}{', ' + vocab.CI_SHORT[ci] if ci == 'hksj' else ''})"


def pooled_label(method: str, ci: str) -> str:
    """The forest plot's short label of the pooled row: 'Pooled (REML, HK)'."""
    if method == "EE":
        return "Pooled (common effect)"
    return f"Pooled ({method}{', HK' if ci == 'hksj' else ''})"


def _detail(row: pd.Series, measure: str, endpoint: str = "") -> str:
    what = f"; endpoint: {endpoint}" if endpoint else ""
    if measure == "HR":
        return str(row["derivation"]) + what
    parts = [
        f"{_int(row['events_rt'])}/{_int(row['n_rt'])} vs {_int(row['events_ctl'])}/"
        f"{_int(row['n_ctl'])} events (RT vs control)",
        str(row["derivation"]),
    ]
    return "; ".join(parts) + what


def _int(x: float | None) -> str:
    return "?" if x is None or pd.isna(x) else f"{int(x)}"


def _pooled_rows(
    tag: str, label: str, res: PoolResult, group: str, pi: PredictionInterval | None
) -> list[dict]:
    fit = res.summary_frame().to_dict("records")[0]
    rows = [
        {
            "row_id": f"pooled:{tag}",
            "label": label,
            "kind": "pooled" if tag == "all" else "subgroup",
            "group": group,
            "est": exp_ratio(fit["estimate"]),
            "low": exp_ratio(fit["ci_low"]),
            "high": exp_ratio(fit["ci_high"]),
            "weight": 100.0 if tag == "all" else float("nan"),
            "detail": f"{model_label(res.method, res.ci)}; k = {res.k}; tau2 = {fit['tau2']:.4f}; "
            f"I2 = {fmt.percent(fit['i2'])}"
            if res.k > 1
            else f"{model_label(res.method, res.ci)}; k = 1",
            "note": res.note or "",
        }
    ]
    if pi is not None and not pi.available and res.method != "EE" and res.k > 1:
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
                "est": exp_ratio(fit["estimate"]),
                "low": exp_ratio(pi.low),
                "high": exp_ratio(pi.high),
                "detail": "where the effect of a new, similar study is expected to lie (95%; "
                f"{pi_method_text(pi)})",
            }
        )
    return rows


def pi_method_text(pi: PredictionInterval) -> str:
    """How ``pi`` was computed, in words: 't on 1 df (k - 2), Higgins, Thompson &
    Spiegelhalter 2009', 'normal (z), metafor's default', 'Hartung-Knapp variance, t on 2 df'."""
    if pi.method == "z":
        return "normal (z), metafor's default"
    if pi.method == "hksj":
        return f"Hartung-Knapp variance, t on {pi.df} df"
    return f"t on {pi.df} df (k - 2), Higgins, Thompson & Spiegelhalter 2009"


def forest_frame(oa: OutcomeAnalysis, state: ViewState, studies: pd.DataFrame) -> pd.DataFrame:
    """Rows for the forest plot of one outcome: studies (excluded ones kept, greyed),
    subgroup diamonds when grouping, the pooled diamond and the prediction interval."""
    meta = studies.set_index("study_id")
    frame_rows: list[dict] = []
    words = {s: d.words for d in oa.available for s in d.studies}

    def study_row(r: pd.Series) -> dict:
        se = math.sqrt(r["vi"])
        return {
            "row_id": f"study:{r['study_id']}",
            "label": str(r["label"]),
            "kind": "study",
            "study_id": str(r["study_id"]),
            "group": str(meta.at[r["study_id"], state.group]) if state.group != "none" else "",
            "est": exp_ratio(r["yi"]),
            "low": exp_ratio(r["yi"] - Z975 * se),
            "high": exp_ratio(r["yi"] + Z975 * se),
            "weight": float(r["weight"]),
            "included": bool(r["included"]),
            "derived": bool(r["interpolated"]),
            "overlap": str(r.get("overlap", "")),
            "detail": _detail(r, oa.measure, words.get(str(r["study_id"]), "")),
            "source": str(r["source_url"]),
            "note": "" if r["included"] else "excluded by hand",
        }

    rows = oa.rows
    if state.group != "none" and oa.subgroups is not None:
        labels = rows["study_id"].map(lambda s: str(meta.at[s, state.group]))
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
                frame_rows.extend(_pooled_rows(g, f"Subtotal, k = {fit.k}", fit, g, None))
    else:
        frame_rows.extend(study_row(r) for _, r in rows.iterrows())
    if oa.pooled is not None:
        label = pooled_label(state.method, state.ci)
        pooled = _pooled_rows("all", label, oa.pooled, "", oa.shown_prediction)
        pooled[0]["detail"] = f"{oa.title}; {pooled[0]['detail']}"
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
    if "derived" in frame:
        frame["derived"] = frame["derived"].fillna(False).astype(bool)
    return frame
