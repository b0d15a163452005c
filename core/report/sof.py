"""Summary of findings (GRADE-style) for the live result: absolute effects, NNT and certainty.

Events are deaths (OS) or recurrences/deaths (DFS), so a ratio below 1 and a negative risk
difference favour RT. With ``r`` the assumed risk of an event without RT (a proportion):

  odds ratio     risk_rt = OR r / (1 - r + OR r)
  hazard ratio   risk_rt = 1 - (1 - r)^HR   (r the risk by a time t; proportional hazards)
  risk ratio     risk_rt = min(RR r, 1)
  risk diff.     risk_rt = r + RD, kept within 0..1 (RD as a proportion: the absolute effect
                 itself, whatever r)
  difference     d = risk_rt - r, shown per 1000 patients; its CI from the ratio's CI (risk_rt
                 increases with the ratio, so the ends map to the ends)
  NNT            1 / |d|, rounded up: NNTB when d < 0 (benefit), NNTH when d > 0 (harm). When
                 the CI of d spans 0 the NNT interval runs from NNTB through infinity to NNTH
                 (Altman, BMJ 1998;317:1309): never a negative NNT.

The default ``r`` for an odds ratio, risk ratio or risk difference is the control arms of the
pooled studies as one simple proportion, sum(events) / sum(n); a hazard ratio has no time
point, so ``r`` must be given.

Certainty is this tool's heuristic, an aid for discussion and not an official GRADE
assessment; it follows the GRADE Handbook (Schünemann, Brożek, Guyatt, Oxman 2013, section 5.2)
as far as rules on the data can. It starts at High when at least half of the weight comes from
randomized trials, else at Low, and goes down one level per serious and two per very serious
concern. Each domain is in one of four states: rated by a rule below, not assessable from the
data, not judged (left to the user), or judged by the user (rating and reason in the link). A
domain that is not assessable or not judged is never counted as "no concern": the overall rating
is then provisional, and names the domains still to be judged (each can only lower it).

  risk of bias   (5.2.1) not serious when >= 80% of the weight comes from studies with quality
                 score >= 5 (this explorer's editorial rubric) that are randomized (when
                 starting at High; any design when starting at Low, where design is already
                 counted); serious otherwise
  inconsistency  (5.2.2) serious when I2 > 50% or the prediction interval crosses 1 while the
                 CI does not; very serious when both; not assessable with one study. The
                 prediction interval is the chosen one (link key ``pi``), the default t on k-2
                 df when the user hides it; with k < 3 there is none and I2 alone is rated
  imprecision    (5.2.4) one concern each for a CI crossing 1 and fewer patients than the
                 optimal information size (OIS: two-arm sample size for a 25% relative risk
                 reduction from r, alpha 0.05 two-sided, power 0.8); both: very serious. One
                 study is rated at least serious (a single small trial is usually rated down)
  indirectness   (5.2.3) not judged: left to the user
  publication    (5.2.5) with k >= 10, Egger's regression test (classical): serious when
  bias           p < 0.10; with k < 10 not assessable
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from statistics import NormalDist

import pandas as pd

from core import fmt
from core.data.description import bundled_words
from core.fmt import count, effect, effect_ci, per_1000, percent
from core.report.narrative import _join as _and  # 'a, b and c'
from core.report.narrative import endpoint_words, event_phrase
from core.state.grade import ratings, reasons
from core.state.view import ViewState
from core.stats.bias import egger_test
from core.stats.effects import null_value, to_shown
from core.views.analysis import Analysis, OutcomeAnalysis, pi_method_text
from core.vocab import DISCLAIMER, GRADE_DOMAINS, GRADE_RATINGS, MEASURE_NAMES, OUTCOMES
from core.vocab import EVENTS as EVENTS  # re-exported: ui.sof reads it from here


def sof_columns(untreated: str = "without RT", treated: str = "with RT") -> tuple[str, ...]:
    """The columns of the summary of findings as shown (:func:`sof_display`), the risk columns
    in the dataset's words ('Risk without RT', 'Risk with RT (95% CI)')."""
    return (
        "Outcome",
        "Studies (patients)",
        "Relative effect (95% CI)",
        f"Risk {untreated}",
        f"Risk {treated} (95% CI)",
        "Difference (95% CI)",
        "NNT",
        "Certainty",
    )


#: The columns for the bundled evidence's words.
SOF_COLUMNS: tuple[str, ...] = sof_columns()
#: The domains in GRADE's order: key -> label.
DOMAINS: dict[str, str] = GRADE_DOMAINS
#: Ratings and the levels each costs.
DOWNGRADE: dict[str, int] = {"not serious": 0, "serious": 1, "very serious": 2}
#: Ratings a user may choose.
CHOICES: tuple[str, ...] = GRADE_RATINGS
#: A domain's state: rated by this aid's rule, not assessable from the data, left to the user,
#: or judged by the user. Only RULE and USER carry a rating.
RULE, NOT_ASSESSABLE, NOT_JUDGED, USER = (
    "rated by rule",
    "not assessable",
    "not judged",
    "judged by user",
)
#: The guidance each domain follows (shown as help beside it).
GUIDANCE = "GRADE Handbook (Schünemann, Brożek, Guyatt, Oxman 2013)"
DOMAIN_HELP: dict[str, str] = {
    "rob": f"{GUIDANCE}, 5.2.1 Study limitations (risk of bias): rate down when most of the "
    "weight comes from studies with important limitations. Here judged from this explorer's "
    "editorial quality score, not a formal risk-of-bias tool.",
    "inconsistency": f"{GUIDANCE}, 5.2.2 Inconsistency of results: rate down for unexplained "
    "heterogeneity (point estimates that differ, intervals that barely overlap, a large I²). "
    "With one study it cannot be assessed: judge it yourself (often not rated down, with that "
    "reason).",
    "indirectness": f"{GUIDANCE}, 5.2.3 Indirectness of evidence: do the populations, the "
    "radiotherapy, the comparators and the outcomes match the question? Only you can judge it.",
    "imprecision": f"{GUIDANCE}, 5.2.4 Imprecision; Guyatt et al., GRADE guidelines 6, J Clin "
    "Epidemiol 2011;64:1283: in a systematic review precision is adequate when the 95% CI "
    "excludes no effect and the patients reach the optimal information size (the size of one "
    "adequately powered trial); a single small trial is usually rated down.",
    "publication": f"{GUIDANCE}, 5.2.5 Publication bias: funnel-plot tests need about 10 "
    "studies; with fewer, judge it from the search and the studies (small, industry-funded, "
    "only positive trials?).",
}
LEVELS: tuple[str, ...] = ("Very low", "Low", "Moderate", "High")
SYMBOLS: dict[str, str] = {"High": "⊕⊕⊕⊕", "Moderate": "⊕⊕⊕◯", "Low": "⊕⊕◯◯", "Very low": "⊕◯◯◯"}

GOOD_SCORE = 5
GOOD_SHARE = 80.0
I2_SERIOUS = 50.0
RRR = 0.25
ALPHA = 0.05
POWER = 0.8
EGGER_MIN_K = 10
EGGER_P = 0.10


@dataclass(frozen=True)
class Override:
    """A user's judgement of one domain: a rating (None keeps the pre-filled one) and the
    reason given for it."""

    rating: str | None = None
    note: str = ""


@dataclass(frozen=True)
class Domain:
    """One GRADE domain: its state, the rating in use (None: not assessable or not judged),
    the aid's pre-filled state, rating and reason, and the user's reason."""

    key: str
    label: str
    state: str
    rating: str | None
    auto_state: str
    auto_rating: str | None
    reason: str
    note: str = ""

    @property
    def overridden(self) -> bool:
        return self.state == USER

    @property
    def downgrade(self) -> int:
        return 0 if self.rating is None else DOWNGRADE[self.rating]

    @property
    def shown(self) -> str:
        """The rating, or the state when there is none ('not assessable', 'not judged')."""
        return self.rating or self.state


@dataclass(frozen=True)
class Certainty:
    """The overall rating: the starting level (and why) less the judged domains' downgrades;
    provisional while any domain has no rating."""

    start: str
    start_reason: str
    domains: tuple[Domain, ...]

    @property
    def downgrades(self) -> int:
        return sum(d.downgrade for d in self.domains)

    @property
    def missing(self) -> tuple[Domain, ...]:
        """The domains not assessable or not judged (no rating yet)."""
        return tuple(d for d in self.domains if d.rating is None)

    @property
    def provisional(self) -> bool:
        return bool(self.missing)

    @property
    def level(self) -> str:
        return LEVELS[max(0, LEVELS.index(self.start) - self.downgrades)]

    @property
    def label(self) -> str:
        mark = " (provisional)" if self.provisional else ""
        return f"{SYMBOLS[self.level]} {self.level}{mark}"

    @property
    def pending(self) -> str:
        """'Provisional: not judged yet: inconsistency (not assessable), ...', or ''."""
        if not self.provisional:
            return ""
        names = _and([f"{d.label.lower()} ({d.state})" for d in self.missing])
        return (
            f"Provisional: no rating yet for {names}; a concern in any of them would lower "
            "it. Judge each domain to complete the rating."
        )

    @property
    def explanation(self) -> str:
        """'Starts at High; −1 risk of bias, −2 imprecision: Very low'."""
        steps = [f"−{d.downgrade} {d.label.lower()}" for d in self.domains if d.downgrade]
        head = ", ".join(steps) or "no concern in the domains judged"
        return f"Starts at {self.start}; {head}: {self.level}"

    def domain(self, key: str) -> Domain:
        return next(d for d in self.domains if d.key == key)


@dataclass(frozen=True)
class ControlRisk:
    """An assumed risk without RT (proportion) and where it comes from."""

    risk: float
    source: str


@dataclass(frozen=True)
class Nnt:
    """Number needed to treat: point and CI ends as signed ARDs' reciprocals, and the text."""

    point: float
    low: float
    high: float
    text: str


@dataclass(frozen=True)
class SofRow:
    """One outcome of the summary of findings. Risks are proportions; differences per 1000.

    Absolute fields are None when they cannot be computed; ``message`` then says what is
    needed. ``certainty`` is None when nothing is pooled.
    """

    outcome: str
    measure: str
    years: float | None
    k: int
    patients: int
    ratio: float | None
    ratio_low: float | None
    ratio_high: float | None
    control: ControlRisk | None
    risk_rt: float | None
    risk_rt_low: float | None
    risk_rt_high: float | None
    diff: float | None
    diff_low: float | None
    diff_high: float | None
    nnt: Nnt | None
    message: str | None
    certainty: Certainty | None
    #: what the pooled studies measured (narrative.endpoint_words) and the event they counted
    endpoint: str = ""
    event: str = ""
    #: the dataset's words (core.data.description): the outcome's label, the control arm's
    #: condition ('without RT') and the treated arm's ('with RT')
    label: str = ""
    untreated: str = "without RT"
    treated: str = "with RT"

    @property
    def title(self) -> str:
        """'2-year overall survival (odds ratio)', 'Overall survival (hazard ratio for
        HCC-related death, multivariable Cox)', '1-year disease-free survival (odds ratio;
        DFS or RFS, mixed endpoint definitions)', 'Tuberculosis (odds ratio)' (no time)."""
        what = self.label or OUTCOMES.get(self.outcome, self.outcome)
        words = f" {self.endpoint}" if self.endpoint else ""
        if self.measure == "HR":
            return f"{what[0].upper()}{what[1:]} (hazard ratio{words})"
        words = f";{words}" if words else ""
        if self.years is None:
            return f"{what[0].upper()}{what[1:]} ({MEASURE_NAMES[self.measure]}{words})"
        return f"{fmt.years(self.years)}-year {what} ({MEASURE_NAMES[self.measure]}{words})"


# ---------------------------------------------------------------------------------------
# Absolute effects


def risk_with_rr(risk_ratio: float, r: float) -> float:
    """Risk with RT from a risk ratio and the risk without: min(RR r, 1)."""
    return min(risk_ratio * r, 1.0)


def risk_with_rd(risk_difference: float, r: float) -> float:
    """Risk with RT from a risk difference (a proportion) and the risk without: r + RD, kept
    within 0..1."""
    return min(max(r + risk_difference, 0.0), 1.0)


def treated_words(untreated: str, intervention: str) -> str:
    """The treated arm's condition from the control arm's: 'without RT' -> 'with RT'."""
    if untreated.startswith("without "):
        return "with " + untreated.removeprefix("without ")
    return f"with {intervention}"


def risk_with_or(odds_ratio: float, r: float) -> float:
    """Risk with RT from an odds ratio and the risk without: OR r / (1 - r + OR r)."""
    if r <= 0.0 or odds_ratio == 0.0:
        return 0.0
    if r >= 1.0 or math.isinf(odds_ratio):
        return 1.0
    return odds_ratio * r / (1.0 - r + odds_ratio * r)


def risk_with_hr(hazard_ratio: float, r: float) -> float:
    """Risk with RT by time t from a hazard ratio and the risk r by t: 1 - (1 - r)^HR."""
    if r <= 0.0:
        return 0.0
    if r >= 1.0:
        return 1.0 if hazard_ratio > 0 else 0.0
    return 1.0 - (1.0 - r) ** hazard_ratio


def _ceil(x: float) -> int:
    return math.ceil(x - 1e-9)


def _nnt_number(d: float) -> str:
    return "∞" if d == 0 else str(_ceil(1.0 / abs(d)))


def nnt(diff: float, low: float, high: float) -> Nnt:
    """NNT from a risk difference (events; negative = benefit) and its CI, as Altman (1998).

    Rounded up to whole patients. ``point``/``low``/``high`` are 1/d (signed; inf at d = 0).
    """

    def inv(d: float) -> float:
        return math.inf if d == 0 else 1.0 / d

    def kind(d: float) -> str:
        return "NNTB" if d < 0 else "NNTH"

    if math.isnan(diff):
        return Nnt(math.nan, math.nan, math.nan, "not estimable")
    if diff == 0 and low == high == 0:
        return Nnt(math.inf, math.inf, math.inf, "NNT ∞ (no difference)")
    if math.isnan(low) or math.isnan(high):
        head = "NNT ∞" if diff == 0 else f"{kind(diff)} {_nnt_number(diff)}"
        return Nnt(inv(diff), math.nan, math.nan, f"{head} (95% CI not estimable)")
    if diff == 0:
        head = "NNT ∞ (no difference at the point estimate)"
    else:
        head = f"{kind(diff)} {_nnt_number(diff)}"
    if low < 0 < high:
        ci = f"NNTB {_nnt_number(low)} to ∞ to NNTH {_nnt_number(high)}"
    elif high <= 0:
        ci = f"{'NNTB ' if diff == 0 else ''}{_nnt_number(low)} to {_nnt_number(high)}"
    else:
        ci = f"{'NNTH ' if diff == 0 else ''}{_nnt_number(high)} to {_nnt_number(low)}"
    return Nnt(inv(diff), inv(low), inv(high), f"{head} (95% CI {ci})")


def control_arm_risk(rows: pd.DataFrame) -> ControlRisk | None:
    """Control arms of the included studies as one proportion, sum(events) / sum(n).

    None when no included row has both counts (e.g. hazard ratios).
    """
    inc = rows[rows["included"]] if "included" in rows else rows
    have = inc[inc["events_ctl"].notna() & inc["n_ctl"].notna() & (inc["n_ctl"] > 0)]
    if have.empty:
        return None
    events = float(have["events_ctl"].sum())
    n = float(have["n_ctl"].sum())
    derived = int(have["derived"].sum()) if "derived" in have else 0
    source = (
        f"control arms of the {len(have)} pooled stud{'y' if len(have) == 1 else 'ies'}: "
        f"{count(events)}/{count(n)} events (sum of events / sum of patients)"
    )
    if derived:
        which = "all" if derived == len(have) else f"{derived} of {len(have)}"
        source += f"; {which} counts derived from reported survival rates and arm sizes"
    return ControlRisk(events / n, source)


def optimal_information_size(r: float, rrr: float = RRR) -> float:
    """Total patients (both arms) to detect a relative risk reduction ``rrr`` from risk r.

    n per arm = (z_{1-alpha/2} + z_{power})^2 (p1 q1 + p2 q2) / (p1 - p2)^2, p1 = r,
    p2 = (1 - rrr) r; alpha 0.05 two-sided, power 0.8. NaN when r is 0.
    """
    if r <= 0.0:
        return math.nan
    z = NormalDist().inv_cdf(1 - ALPHA / 2) + NormalDist().inv_cdf(POWER)
    p1, p2 = r, (1.0 - rrr) * r
    return 2.0 * z**2 * (p1 * (1 - p1) + p2 * (1 - p2)) / (p1 - p2) ** 2


# ---------------------------------------------------------------------------------------
# Certainty


def _join(ids: list[str], limit: int = 6) -> str:
    shown = ", ".join(ids[:limit])
    return shown + (f" and {len(ids) - limit} more" if len(ids) > limit else "")


def _used(oa: OutcomeAnalysis, studies: pd.DataFrame) -> pd.DataFrame:
    inc = oa.rows[oa.rows["included"]][["study_id", "weight"]]
    meta = studies.set_index("study_id")
    cols = ["design", "quality_score", "quality_unknown", "q_untreated_control"]
    return inc.join(meta[cols], on="study_id")


def _start(used: pd.DataFrame) -> tuple[str, str]:
    rct = float(used.loc[used["design"] == "RCT", "weight"].sum())
    if rct >= 50.0:
        return "High", f"{fmt.share(rct)} of the weight from randomized trials: starts at High"
    return (
        "Low",
        f"{fmt.share(rct)} of the weight from randomized trials (mostly observational): starts at "
        "Low",
    )


def _risk_of_bias(used: pd.DataFrame, start: str) -> Domain:
    score = pd.to_numeric(used["quality_score"], errors="coerce").astype(float)
    good = score.ge(GOOD_SCORE).fillna(False).to_numpy(dtype=bool).copy()
    if start == "High":
        good &= (used["design"] == "RCT").fillna(False).to_numpy(dtype=bool)
    share = float(used.loc[good, "weight"].sum())
    what = "randomized trials" if start == "High" else "studies"
    others = [
        f"{s} ({d}, score {'?' if pd.isna(q) else int(q)}{'+' if isinstance(u, str) else ''})"
        for s, d, q, u, g in zip(
            used["study_id"],
            used["design"],
            used["quality_score"],
            used["quality_unknown"],
            good,
            strict=True,
        )
        if not g
    ]
    reason = (
        f"{fmt.share(share)} of the weight from {what} with quality score ≥ {GOOD_SCORE} "
        f"(rule: ≥ {fmt.percent(GOOD_SHARE, 0)} is not serious)"
    )
    if others:
        reason += f"; lower: {_join(others)}"
    reason += (
        ". Scores are this explorer's editorial rubric ('+': a lower bound, some items unknown)."
    )
    return _rated("rob", "not serious" if share >= GOOD_SHARE else "serious", reason)


def _rated(key: str, rating: str, reason: str) -> Domain:
    """A domain rated by this aid's rule."""
    return Domain(key, DOMAINS[key], RULE, rating, RULE, rating, reason)


def _open(key: str, state: str, reason: str) -> Domain:
    """A domain without a rating: not assessable from the data, or left to the user."""
    return Domain(key, DOMAINS[key], state, None, state, None, reason)


def _crosses(low: float, high: float) -> bool:
    return low < 0.0 < high


def _inconsistency(oa: OutcomeAnalysis) -> Domain:
    p = oa.pooled
    assert p is not None
    if p.k < 2:
        return _open(
            "inconsistency",
            NOT_ASSESSABLE,
            "One study: consistency between studies cannot be assessed (GRADE Handbook 5.2.2). "
            "Judge it yourself; it is not counted as no concern.",
        )
    i2_high = math.isfinite(p.i2) and p.i2 > I2_SERIOUS
    pred = oa.prediction
    assert pred is not None
    has_pi = pred.available
    pi_cross = has_pi and _crosses(pred.low, pred.high) and not _crosses(p.ci_low, p.ci_high)
    above = "above" if i2_high else "not above"
    parts = [f"I² = {percent(p.i2, 0)} ({above} {percent(I2_SERIOUS, 0)})"]
    if has_pi:
        m = oa.measure
        pi = effect_ci(m, to_shown(m, pred.low), to_shown(m, pred.high), " to ")
        how = pi_method_text(pred)
        if not oa.pi_shown:
            how += "; the prediction interval is hidden on the pages, this aid uses the default"
        if pi_cross:
            parts.append(
                f"the prediction interval {pi} ({how}) crosses "
                f"{fmt.number(null_value(oa.measure))} while "
                "the CI does not"
            )
        else:
            parts.append(f"prediction interval {pi} ({how})")
    else:
        parts.append(f"{pred.reason}, so I² alone is rated")
    return _rated("inconsistency", CHOICES[int(i2_high) + int(pi_cross)], "; ".join(parts) + ".")


def _imprecision(oa: OutcomeAnalysis, control: ControlRisk | None) -> Domain:
    p = oa.pooled
    assert p is not None
    if math.isfinite(p.ci_low) and math.isfinite(p.ci_high):
        cross = _crosses(p.ci_low, p.ci_high)
        null = fmt.number(null_value(oa.measure))
        parts = [
            "The 95% CI " + (f"crosses {null} (no effect)" if cross else f"does not cross {null}")
        ]
    else:  # one study with Hartung-Knapp: no interval, so nothing shows the effect excludes 1
        cross = True
        parts = ["No 95% CI could be computed (Hartung-Knapp needs two studies or more)"]
    short = False
    if control is None:
        parts.append("the optimal information size needs an assumed risk without RT")
    elif control.risk <= 0:
        parts.append("no optimal information size at an assumed risk of 0%")
    else:
        ois = optimal_information_size(control.risk)
        short = oa.patients < ois
        parts.append(
            f"{count(oa.patients)} patients {'below' if short else 'reach'} the optimal "
            f"information size of {count(math.ceil(ois))} (25% relative risk reduction from "
            f"{percent(100 * control.risk, 0)}, alpha 0.05, power 0.8)"
        )
    rating = CHOICES[int(cross) + int(short)]
    if p.k == 1 and rating == "not serious":
        rating = "serious"
        parts.append(
            "evidence from one study: a single trial is usually rated down for imprecision "
            "(GRADE Handbook 5.2.4), so this aid rates it serious; change it if you judge "
            "the trial large enough"
        )
    return _rated("imprecision", rating, "; ".join(parts) + ".")


def _indirectness(used: pd.DataFrame) -> Domain:
    reason = (
        "Left to you: do the patients, interventions, comparators and outcome definitions "
        "match your question? Until you judge it, the overall rating stays provisional."
    )
    active = used[used["q_untreated_control"] == 0]
    if len(active):
        share = float(active["weight"].sum())
        reason += (
            f" {fmt.share(share)} of the weight compares with an active treatment "
            f"(e.g. TACE): {_join(list(active['study_id']))}."
        )
    return _open("indirectness", NOT_JUDGED, reason)


def _publication(oa: OutcomeAnalysis) -> Domain:
    inc = oa.rows[oa.rows["included"]]
    k = len(inc)
    if k < EGGER_MIN_K:
        reason = (
            f"Funnel-plot tests need at least {EGGER_MIN_K} studies; k = {k}. Judge it from "
            "the search and the studies; it is not counted as no concern."
        )
        return _open("publication", NOT_ASSESSABLE, reason)
    try:
        e = egger_test(inc["yi"].to_numpy(float), inc["vi"].to_numpy(float), model="lm")
    except ValueError as err:
        return _open("publication", NOT_ASSESSABLE, f"Egger's test cannot be computed: {err}.")
    rating = "serious" if e.pvalue < EGGER_P else "not serious"
    reason = (
        f"Egger's regression test {fmt.p_equals(e.pvalue)} "
        f"({'below' if e.pvalue < EGGER_P else 'not below'} {fmt.alpha(EGGER_P)}), k = {k}."
    )
    return _rated("publication", rating, reason)


def _apply(domain: Domain, override: Override | None) -> Domain:
    """The user's judgement on a domain: a valid rating makes it theirs; the reason is kept."""
    if override is None:
        return domain
    note = override.note.strip()
    if override.rating in DOWNGRADE:
        return replace(domain, state=USER, rating=override.rating, note=note)
    return replace(domain, note=note)


def certainty(
    oa: OutcomeAnalysis,
    studies: pd.DataFrame,
    control: ControlRisk | None,
    overrides: Mapping[tuple[str, str], Override] | None = None,
) -> Certainty:
    """The five domains pre-filled from the data, user overrides applied (keyed by
    (outcome, domain key)), and the starting level. Needs a pooled result."""
    used = _used(oa, studies)
    start, start_reason = _start(used)
    domains = (
        _risk_of_bias(used, start),
        _inconsistency(oa),
        _indirectness(used),
        _imprecision(oa, control),
        _publication(oa),
    )
    over = overrides or {}
    return Certainty(
        start, start_reason, tuple(_apply(d, over.get((oa.outcome, d.key))) for d in domains)
    )


# ---------------------------------------------------------------------------------------
# The table


def control_risks_from_state(state: ViewState) -> dict[str, float | None]:
    """The user's assumed risks (state fields cr_os, cr_dfs in percent) as proportions."""
    given = {"OS": state.cr_os, "DFS": state.cr_dfs}
    return {o: None if v is None else v / 100.0 for o, v in given.items()}


def judgements(state: ViewState) -> dict[tuple[str, str], Override]:
    """(outcome, domain) -> the user's rating (``grade``) and reason (``why``) from the link;
    tokens that name no outcome, domain or rating are left out (see
    :func:`core.state.grade.grade_notices`)."""
    rated, given = ratings(state), reasons(state)
    return {key: Override(rated.get(key), given.get(key, "")) for key in sorted({*rated, *given})}


def _control(oa: OutcomeAnalysis, given: float | None) -> ControlRisk | None:
    if given is not None:
        return ControlRisk(min(max(given, 0.0), 1.0), "entered by the user")
    return control_arm_risk(oa.rows) if oa.measure in ("OR", "RR", "RD") else None


def sof_row(
    oa: OutcomeAnalysis,
    studies: pd.DataFrame,
    control_risk: float | None = None,
    overrides: Mapping[tuple[str, str], Override] | None = None,
) -> SofRow:
    """One outcome: relative effect, absolute effects from the assumed risk, NNT, certainty.

    ``control_risk``: the assumed risk without RT as a proportion; None = the pooled control
    arms (odds ratio) or none (hazard ratio: absolute effects then need one).
    """
    untreated = (oa.description or bundled_words()).untreated
    blank = SofRow(
        outcome=oa.outcome,
        measure=oa.measure,
        years=oa.years,
        k=0,
        patients=oa.patients,
        ratio=None,
        ratio_low=None,
        ratio_high=None,
        control=None,
        risk_rt=None,
        risk_rt_low=None,
        risk_rt_high=None,
        diff=None,
        diff_low=None,
        diff_high=None,
        nnt=None,
        message=oa.message or "Nothing to pool.",
        certainty=None,
        endpoint=endpoint_words(oa),
        event=event_phrase(oa),
        label=oa.words.label,
        untreated=untreated,
        treated=treated_words(untreated, oa.intervention),
    )
    p = oa.pooled
    if p is None:
        return blank
    ratio, low, high = (to_shown(oa.measure, x) for x in (p.estimate, p.ci_low, p.ci_high))
    control = _control(oa, control_risk)
    cert = certainty(oa, studies, control, overrides)
    base = replace(
        blank,
        k=p.k,
        ratio=ratio,
        ratio_low=low,
        ratio_high=high,
        control=control,
        certainty=cert,
        message=None,
    )
    event = event_phrase(oa)
    if control is None:
        if oa.measure == "HR":
            msg = (
                f"A hazard ratio has no time point: enter the risk of {event} {untreated} by a "
                "time of your choosing (for example from a control arm or a registry) to see "
                "absolute effects over that time."
            )
        else:
            msg = f"No control-arm event counts: enter an assumed risk {untreated}."
        return replace(base, message=msg)
    r = control.risk
    if r <= 0.0 or r >= 1.0:
        msg = (
            f"With an assumed risk of {percent(100 * r, 0)} the risk is the same "
            f"{blank.treated} and {untreated}: absolute effects and the NNT need a risk "
            "between 0% and 100%."
        )
        return replace(base, message=msg)
    f = {"HR": risk_with_hr, "RR": risk_with_rr, "RD": risk_with_rd}.get(oa.measure, risk_with_or)
    risks = (f(ratio, r), f(low, r), f(high, r))
    diffs = tuple(x - r for x in risks)
    has_ci = math.isfinite(low) and math.isfinite(high)  # not with one study and HK

    def bound(x: float) -> float | None:
        return x if has_ci else None

    return replace(
        base,
        risk_rt=risks[0],
        risk_rt_low=bound(risks[1]),
        risk_rt_high=bound(risks[2]),
        diff=1000 * diffs[0],
        diff_low=bound(1000 * diffs[1]),
        diff_high=bound(1000 * diffs[2]),
        nnt=nnt(*diffs),
    )


def sof_table(
    analysis: Analysis,
    studies: pd.DataFrame,
    control_risks: Mapping[str, float | None] | None = None,
    overrides: Mapping[tuple[str, str], Override] | None = None,
) -> list[SofRow]:
    """One row per outcome of ``analysis``. ``control_risks``: outcome -> assumed risk without
    RT (proportion, None = default); ``overrides``: (outcome, domain) -> the user's judgement.
    Defaults: the view state's cr_os/cr_dfs and grade/why."""
    risks = control_risks_from_state(analysis.state) if control_risks is None else control_risks
    if overrides is None:
        overrides = judgements(analysis.state)
    return [
        sof_row(oa, studies, risks.get(name), overrides) for name, oa in analysis.outcomes.items()
    ]


# ---------------------------------------------------------------------------------------
# Text for tables and exports


def diff_text(d: float) -> str:
    n = fmt.whole(abs(d))
    if n == "0":
        return n
    return f"{n} {'fewer' if d < 0 else 'more'}"


def relative_text(row: SofRow) -> str:
    if row.ratio is None:
        return ""
    name = str(row.measure)
    low, high = row.ratio_low, row.ratio_high
    if low is None or high is None or not (math.isfinite(low) and math.isfinite(high)):
        return f"{name} {effect(name, row.ratio)} (95% CI not estimable)"
    return f"{name} {effect(name, row.ratio)} (95% CI {effect_ci(name, low, high, ' to ')})"


def absolute_text(row: SofRow) -> str:
    """'150 fewer per 1000 (228 fewer to 57 fewer)', or the message."""
    if row.diff is None:
        return row.message or ""
    if row.diff_low is None or row.diff_high is None:
        return f"{diff_text(row.diff)} per 1000 (95% CI not estimable)"
    return (
        f"{diff_text(row.diff)} per 1000 ({diff_text(row.diff_low)} to {diff_text(row.diff_high)})"
    )


def sof_display(rows: list[SofRow]) -> pd.DataFrame:
    """The summary of findings as shown, on the page, the presenter view and in the report:
    one row per outcome, text columns ("–" where there is no value; a row's message is shown
    beside the table, not in it)."""
    columns = sof_columns(rows[0].untreated, rows[0].treated) if rows else SOF_COLUMNS
    return pd.DataFrame(
        [
            (
                r.title,
                f"{count(r.k)} ({count(r.patients)})",
                relative_text(r) or "–",
                per_1000(None if r.control is None else r.control.risk),
                per_1000(r.risk_rt, r.risk_rt_low, r.risk_rt_high),
                absolute_text(r) if r.diff is not None else "–",
                "–" if r.nnt is None else r.nnt.text,
                "–" if r.certainty is None else r.certainty.label,
            )
            for r in rows
        ],
        columns=list(columns),
    )


def certainty_json(cert: Certainty | None) -> dict[str, object] | None:
    """The CLI's ``certainty`` object: ``overall`` (the level), ``provisional`` and, per
    domain key, its ``state``, ``rating`` (None without one) and ``reason`` (the user's when
    they judged it, else the aid's), with the aid's own state, rating and reason beside."""
    if cert is None:
        return None
    return {
        "overall": cert.level,
        "provisional": cert.provisional,
        "not_judged": [d.key for d in cert.missing],
        "start": cert.start,
        "start_reason": cert.start_reason,
        "domains": {
            d.key: {
                "label": d.label,
                "state": d.state,
                "rating": d.rating,
                "reason": d.note if d.overridden and d.note else d.reason,
                "user_reason": d.note,
                "aid_state": d.auto_state,
                "aid_rating": d.auto_rating,
                "aid_reason": d.reason,
            }
            for d in cert.domains
        },
        "disclaimer": DISCLAIMER,
    }


def sof_frame(rows: list[SofRow]) -> pd.DataFrame:
    """The summary of findings as a table (for CSV export and the report): numbers in their
    own columns (risks per 1000), text as shown, and each domain's rating with its reason."""
    out = []
    for row in rows:
        cert = row.certainty
        rec: dict[str, object] = {
            "outcome": row.title,
            "studies": row.k,
            "patients": row.patients,
            "relative_effect": relative_text(row),
            "ratio": row.ratio,
            "ratio_ci_low": row.ratio_low,
            "ratio_ci_high": row.ratio_high,
            "risk_without_rt_per_1000": None if row.control is None else 1000 * row.control.risk,
            "risk_without_rt_source": "" if row.control is None else row.control.source,
            "risk_with_rt_per_1000": None if row.risk_rt is None else 1000 * row.risk_rt,
            "risk_with_rt_ci_low": None if row.risk_rt_low is None else 1000 * row.risk_rt_low,
            "risk_with_rt_ci_high": None if row.risk_rt_high is None else 1000 * row.risk_rt_high,
            "difference_per_1000": row.diff,
            "difference_ci_low": row.diff_low,
            "difference_ci_high": row.diff_high,
            "absolute_effect": absolute_text(row),
            "nnt": "" if row.nnt is None else row.nnt.text,
            "certainty": "" if cert is None else cert.level,
            "certainty_provisional": None if cert is None else cert.provisional,
            "certainty_pending": "" if cert is None else cert.pending,
            "certainty_start": "" if cert is None else cert.start_reason,
        }
        for key, label in DOMAINS.items():
            if cert is None:
                rec[label] = ""
                continue
            d = cert.domain(key)
            note = f" User's reason: {d.note}" if d.note else ""
            changed = f" (judged by the user; the aid: {d.auto_rating or d.auto_state})"
            rec[label] = f"{d.shown}{changed if d.overridden else ''}: {d.reason}{note}"
        rec["disclaimer"] = DISCLAIMER
        out.append(rec)
    return pd.DataFrame(out)
