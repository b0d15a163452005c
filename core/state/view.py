"""ViewState: every control of the explorer in one frozen value, and its URL codec.

The link is the state: a copied URL opens the same view elsewhere. The query-string format is a
public contract (``docs/url-format.md``); it is driven by one table, :data:`FIELDS`, so parsing,
encoding, the defaults, the labels and the documentation table cannot drift apart. Adding a field
is one entry in :data:`FIELDS` and one typed attribute of :class:`ViewState` (checked at import).

>>> r = parse_query("?v=2&design=RCT&design=PSM&exclude=Yu2014&method=reml")
>>> r.state.design, r.state.exclude, r.state.method, r.state.tpoint, r.notices
(('RCT', 'PSM'), ('Yu2014',), 'REML', 'interp', ())
>>> encode_query(r.state.replace(method="DL"))
'v=2&exclude=Yu2014&method=DL'

A link without ``v`` is version 1 and keeps its meaning (there, rates only where reported):

>>> encode_query(parse_query("?exclude=Yu2014").state)
'v=2&exclude=Yu2014&tpoint=exact'

:func:`parse_query` never raises: unknown keys and invalid values are ignored and reported as
short notices (plain ASCII; user text in them is shortened and reduced to safe characters, but
show them as text, not HTML). Compatibility: value and key renames go into the ``aliases`` /
``key_aliases`` of a field; a changed default goes into :data:`OLD_DEFAULTS` with a new
:data:`CURRENT_VERSION`, and the version key ``v`` (absent = 1) keeps old links' meaning.

This module is plain Python: no streamlit, no numpy.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal, NamedTuple, get_args, get_type_hints
from urllib.parse import parse_qsl, urlencode

from core import vocab
from core.sanitize import one_line

Kind = Literal["enum", "multi", "number", "ids", "flag", "texts", "token", "column", "columns"]

# The values of each choice, as types (the allowed values in :data:`FIELDS` are read from these).
Indication = Literal["PVTT", "narrow_margin", "MVI", "other"]
Design = Literal["RCT", "PSM", "prospective-nonrandomized", "retrospective"]
RtType = Literal["external", "internal"]
Scope = Literal["rim", "all"]
Outcome = Literal["OS", "DFS"]
#: Odds ratio, risk ratio and risk difference at t (from 2x2 tables), or the hazard ratio.
Measure = Literal["OR", "RR", "RD", "HR"]
#: metafor's ``method`` codes (tau2 estimators), ``EE``, the common-effect model, and the
#: common-effect models of 2x2 tables: Mantel-Haenszel (``rma.mh``) and Peto (``rma.peto``);
#: ``BAYES``, the Bayesian random-effects model (core.stats.bayes; prior scale ``tau_prior``).
Method = Literal["REML", "DL", "PM", "ML", "HS", "SJ", "HE", "EB", "EE", "MH", "PETO", "BAYES"]
#: metafor's ``to``: which 2x2 tables get ``add`` added to each cell.
ZeroTo = Literal["only0", "all", "if0all", "none"]
#: metafor's ``drop00``: ``auto`` = its default for the model (FALSE for escalc-based models,
#: TRUE for rma.mh and rma.peto), ``0`` = keep, ``1`` = drop tables without events (or with
#: only events) in both arms.
Drop00 = Literal["auto", "0", "1"]
CiMethod = Literal["wald", "hksj"]
#: Prediction interval: its method (``t`` on k-2 df, ``z``, ``hksj``) or ``0`` = hidden.
PiChoice = Literal["t", "z", "hksj", "0"]
#: How subgroups share the between-study variance in the test for subgroup differences.
Tau2Mode = Literal["separate", "common"]
TimePoints = Literal["exact", "interp"]
OverlapRule = Literal["all", "one"]
CumulativeOrder = Literal["year", "quality"]
#: Order of the studies in a forest plot: as in the dataset (the default), or by publication
#: year, weight, effect size, quality score or label.
ForestSort = Literal["data", "year", "weight", "effect", "quality", "label"]
#: The presenter view's screens of one outcome (``board=1``): forest plot, summary of findings.
Screen = Literal["forest", "sof"]

#: Version of the link format; new links always carry it as ``v``. A link without ``v`` is
#: version 1, unless it sets no control at all (the app's bare address: today's default view).
#: v2: time points default to interpolated rates where none is reported at t (``tpoint``).
CURRENT_VERSION = 2
#: Excluded study ids kept from one link (the rest are dropped with a notice).
MAX_IDS = 500
#: An id: 1-64 characters from [A-Za-z0-9_.-], starting with a letter or digit.
ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", re.ASCII)
#: A column of the studies table named in a link (``group``, ``mod``): a letter, then up to 63
#: letters, digits and '_'. Whether the dataset has it is checked where the data are known.
COLUMN_PATTERN = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}", re.ASCII)
#: Moderators kept from one link (``mod``); the rest are dropped with a notice.
MAX_MODERATORS = 5
#: A saved dataset's token (``data=``): 32 of [A-Za-z0-9_-] (:mod:`core.store.crypto`).
TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{32}", re.ASCII)
#: Characters kept of one free-text value (``texts`` kind); longer ones are cut with a notice.
MAX_TEXT = 400
#: Notices listed one by one; the rest are summarised as "... and N more".
MAX_NOTICES = 10
#: Longer query strings are cut (at a "&") before parsing; browsers stop far earlier.
MAX_QUERY_CHARS = 1_000_000
#: Parameters read from one link; the rest are ignored with a notice.
MAX_PARAMS = 20_000
#: Numbers are kept to this many decimals (so that every number round-trips through a link).
NUMBER_DECIMALS = 6
#: Keys ignored without a notice (Streamlit's own, and trackers added by chat and mail apps).
SILENT_KEYS = frozenset({"embed", "embed_options", "fbclid", "gclid", "mc_cid", "mc_eid"})
SILENT_PREFIXES = ("utm_",)
#: Value that stands for an empty selection of a multi-valued key (``?design=none``).
NONE_TOKEN = "none"

_NUMBER = re.compile(r"\+?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)", re.ASCII)
_SEPARATORS = re.compile(r"[\s_\-]+")
_SAFE_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ._,=+/-")
_FLAG_ALIASES = {"true": "1", "yes": "1", "on": "1", "show": "1", "false": "0", "no": "0"}
_FLAG_ALIASES |= {"off": "0", "hide": "0"}


def _norm(value: str) -> str:
    """Lookup form of an enum value: trimmed, lower case, without spaces, '_' and '-'."""
    return _SEPARATORS.sub("", value.strip().lower())


@dataclass(frozen=True)
class FieldSpec:
    """One control: attribute ``name``, URL ``key``, kind, allowed values, default, aliases.

    kinds: ``enum`` one of ``allowed``; ``multi`` a subset of ``allowed`` (tuple in ``allowed``
    order; ``none`` in a link = empty); ``number`` a float in [low, high] (``low_open``: low
    itself excluded; default None = "no value" allowed); ``ids`` a sorted tuple of study ids;
    ``flag`` a bool, 0|1 in links; ``column`` a column name of the studies table
    (:data:`COLUMN_PATTERN`; ``allowed`` lists the named choices, with labels) and ``columns``
    a tuple of them in the link's order (at most :data:`MAX_MODERATORS`); ``texts`` a sorted
    tuple of free texts (one line each, at most :data:`MAX_TEXT` characters; a comma inside
    one does not split it); ``token`` a saved dataset's token (:data:`TOKEN_PATTERN`) or None.
    ``aliases`` maps old or alternative spellings of values to canonical values, and
    ``key_aliases`` old names of the key: renames go here, so old links keep working.
    """

    name: str
    kind: Kind
    default: Any
    allowed: tuple[str, ...] = ()
    title: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    aliases: Mapping[str, str] = field(default_factory=dict)
    key: str = ""
    key_aliases: tuple[str, ...] = ()
    low: float = 0.0
    high: float = math.inf
    low_open: bool = False
    values_doc: str = ""  # the docs' "Values" cell, where the kind's generic text says too little
    _lookup: dict[str, str] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.key:
            object.__setattr__(self, "key", self.name)
        if self.kind == "flag":
            object.__setattr__(self, "allowed", ("0", "1"))
        lookup = self._lookup
        for value in self.allowed:
            lookup[_norm(value)] = value
        extra = _FLAG_ALIASES if self.kind == "flag" else {}
        for alias, target in {**extra, **self.aliases}.items():
            if target not in self.allowed:
                raise ValueError(f"{self.name}: alias {alias!r} -> unknown value {target!r}")
            if lookup.setdefault(_norm(alias), target) != target:
                raise ValueError(f"{self.name}: alias {alias!r} is ambiguous")

    def canonical(self, raw: str) -> str | None:
        """The allowed value ``raw`` stands for (case, separators and aliases ignored)."""
        if len(raw) > 100:
            return None
        return self._lookup.get(_norm(raw))

    def label(self, value: str) -> str:
        return self.labels.get(value, value)

    @property
    def nullable(self) -> bool:
        return self.kind == "number" and self.default is None


F = FieldSpec

#: The table that drives ViewState, parse_query, encode_query, describe_filters and the docs.
FIELDS: tuple[FieldSpec, ...] = (
    F("indication", "multi", ("PVTT", "narrow_margin"), get_args(Indication),
      "Indications", vocab.INDICATIONS,
      {"pvt": "PVTT", "margin": "narrow_margin", "narrow": "narrow_margin"}),
    F("design", "multi", ("RCT", "PSM"),
      get_args(Design), "Designs", vocab.DESIGNS,
      {"randomized": "RCT", "randomised": "RCT", "propensity": "PSM",
       "prospective": "prospective-nonrandomized", "nonrandomized": "prospective-nonrandomized",
       "retro": "retrospective"}),
    F("rt", "multi", ("external",), get_args(RtType), "Radiotherapy", vocab.RT_TYPES,
      {"ebrt": "external", "externalbeam": "external", "internalradiation": "internal"}),
    F("filters", "texts", (), (), "Filters on the dataset's own columns", key="filter",
      values_doc="repeated key, `COLUMN.value`: a studies column the dataset's description "
      "offers as a filter (e.g. `alloc`), then one value of it to keep (e.g. "
      "`alloc.random`); a column the link does not name keeps all its values; `COLUMN` alone "
      "keeps none. The layout's filters have their own keys (`indication`, `design`, `rt`)"),
    F("scope", "enum", "rim", get_args(Scope), "Studies",
      {"rim": "only those that can be in the published meta-analysis (search to May 2023)",
       "all": "all in the dataset, including those outside the published meta-analysis"},
      {"published": "rim", "rim2024": "rim", "any": "all"}),
    F("qmin", "number", None, (), "Minimum quality score", {}, {}, low=0.0, high=100.0),
    F("exclude", "ids", (), (), "Excluded by hand"),
    F("overlap", "enum", "all", get_args(OverlapRule), "Overlapping cohorts",
      {"all": "pool every study, marking those of one overlap group (‡)",
       "one": "one study per overlap group (your pick, else the largest)"},
      {"largest": "one", "single": "one", "pool": "all"}),
    F("keep", "ids", (), (), "Study kept for its overlap group",
      values_doc="repeated key, study ids (at most 500): with `overlap=one`, the study kept "
      "for its overlap group instead of the largest"),
    F("outcome", "enum", "OS", get_args(Outcome), "Outcome", vocab.OUTCOME_CHOICES,
      {"overallsurvival": "OS", "diseasefreesurvival": "DFS"}),
    F("measure", "enum", "OR", get_args(Measure), "Effect measure", vocab.MEASURES,
      {"odds": "OR", "oddsratio": "OR", "hazard": "HR", "hazardratio": "HR",
       "risk": "RR", "riskratio": "RR", "relativerisk": "RR", "riskdifference": "RD",
       "ARR": "RD"}),
    F("t_os", "number", 2.0, (), "Time point for OS odds ratios (years)", low=0.0, high=20.0,
      low_open=True),
    F("t_dfs", "number", 1.0, (), "Time point for DFS odds ratios (years)", low=0.0, high=20.0,
      low_open=True),
    F("endpoint", "ids", (), (), "Endpoint definitions kept",
      values_doc="repeated key, `OUTCOME.endpoint` or `OUTCOME.endpoint.adjustment`: outcome "
      "`OS` or `DFS`; endpoint as the page names it (`all-cause-death`, `hcc-related-death`, "
      "`dfs`, `rfs`, `hcc-recurrence`, or a slug of an uploaded name); adjustment (HRs only) "
      "`adjusted`, `unadjusted` or `not-stated` (e.g. `OS.hcc-related-death.adjusted`)"),
    F("method", "enum", "REML", get_args(Method), "Model", vocab.MODELS,
      {"FE": "EE", "CE": "EE", "fixed": "EE", "common": "EE", "commoneffect": "EE",
       "fixedeffect": "EE", "dersimonianlaird": "DL", "paulemandel": "PM",
       "mantelhaenszel": "MH", "rma.mh": "MH", "rmamh": "MH", "rma.peto": "PETO",
       "rmapeto": "PETO", "yusuf": "PETO", "bayesian": "BAYES", "bayesmeta": "BAYES"},
      key_aliases=("estimator",)),
    F("tau_prior", "number", 0.5, (), "Scale of the half-normal prior on tau (Bayesian model)",
      low=0.0, high=10.0, low_open=True,
      values_doc="number > 0 and <= 10, on the log-ratio scale; used with `method=BAYES`"),
    F("add", "number", 0.5, (), "Zero-cell correction: added to each cell", low=0.0, high=10.0,
      values_doc="number from 0 to 10: metafor's `add`, added to the four cells of the 2x2 "
      "tables `to` names (odds ratio, risk ratio, risk difference; with Mantel-Haenszel and "
      "Peto only the per-study estimates and the heterogeneity statistics)"),
    F("to", "enum", "only0", get_args(ZeroTo), "Zero-cell correction: tables corrected",
      vocab.ZERO_TO, {"zero": "only0", "if0": "if0all", "never": "none", "off": "none"}),
    F("drop00", "enum", "auto", get_args(Drop00), "Tables without events in both arms",
      vocab.DROP00, {"default": "auto", "true": "1", "yes": "1", "drop": "1", "false": "0",
                     "no": "0", "keep": "0"}),
    F("ci", "enum", "wald", get_args(CiMethod), "Confidence interval", vocab.CI_METHODS,
      {"knha": "hksj", "hk": "hksj", "kh": "hksj", "hartungknapp": "hksj", "z": "wald"}),
    F("pi", "enum", "t", get_args(PiChoice), "Prediction interval", vocab.PI_CHOICES,
      {"1": "t", "true": "t", "yes": "t", "on": "t", "show": "t", "shown": "t", "hts": "t",
       "normal": "z", "metafor": "z", "hk": "hksj", "knha": "hksj", "kh": "hksj",
       "hartungknapp": "hksj", "false": "0", "no": "0", "off": "0", "hide": "0",
       "hidden": "0", "none": "0"}),
    F("group", "column", "none", ("none", "indication", "design"), "Subgroups", vocab.GROUPS,
      {"off": "none", "no": "none"},
      values_doc="`none` = no subgroups, or a categorical column of the studies table: "
      "`indication` = by indication, `design` = by study design, or any other (e.g. "
      "`rt_type`); a column the dataset lacks, or one that is not categorical, shows no "
      "subgroups, with a notice"),
    F("tau2g", "enum", "separate", get_args(Tau2Mode), "Between-study variance in subgroups",
      {"separate": "each subgroup its own (separate fits; Q of the subgroup estimates)",
       "common": "one common to all subgroups, in the subtotals and the test (rma with "
       "mods = ~ factor(group): QM; meta's tau.common = TRUE)"},
      {"own": "separate", "pooled": "common", "same": "common"}),
    F("tpoint", "enum", "interp", get_args(TimePoints), "Time points",
      {"exact": "only rates reported at exactly t years",
       "interp": "also rates interpolated between reported years (marked as derived)"},
      {"interpolate": "interp", "interpolated": "interp"}),
    F("order", "enum", "year", get_args(CumulativeOrder), "Cumulative order",
      {"year": "publication year", "quality": "quality score"},
      {"date": "year", "score": "quality"}),
    F("sort", "enum", "data", get_args(ForestSort), "Forest plot order",
      {"data": "as in the dataset", "year": "publication year (oldest first)",
       "weight": "weight (largest first)", "effect": "effect size (smallest ratio first)",
       "quality": "quality score (highest first)", "label": "study label (A to Z)"},
      {"dataset": "data", "none": "data", "default": "data", "date": "year",
       "score": "quality", "ratio": "effect", "name": "label", "study": "label"}),
    F("mod", "columns", ("quality",), ("quality", "year"), "Meta-regression moderators",
      {"quality": "quality score", "year": "publication year"},
      {"score": "quality", "qualityscore": "quality", "date": "year"},
      values_doc="repeated key, numeric columns of the studies table (at most "
      f"{MAX_MODERATORS}, fitted together): `quality` = quality score, `year` = publication "
      "year, or any other (e.g. `median_fu_months`); columns the dataset lacks, or that are "
      "not numeric, are left out with a notice"),
    F("tf", "flag", False, (), "Trim-and-fill on the funnel plot", {"0": "hidden", "1": "shown"}),
    F("cr_os", "number", None, (), "Assumed risk of death without RT by t years (%)",
      low=0.0, high=100.0),
    F("cr_dfs", "number", None, (), "Assumed risk of recurrence or death without RT by t years (%)",
      low=0.0, high=100.0),
    F("grade", "ids", (), (), "Certainty judgements changed by hand",
      values_doc="repeated key, `OUTCOME.domain.rating`: outcome `OS` or `DFS`; domain `rob`, "
      "`inconsistency`, `indirectness`, `imprecision` or `publication`; rating `not_serious`, "
      "`serious` or `very_serious` (e.g. `DFS.imprecision.not_serious`)"),
    F("why", "texts", (), (), "Reasons for certainty judgements",
      values_doc="repeated key, `OUTCOME.domain.reason`: outcome and domain as in `grade`, then "
      f"the reason as free text (one line, at most {MAX_TEXT} characters; e.g. "
      "`OS.indirectness.Same patients as ours`)"),
    F("board", "flag", False, (), "Presenter view", {"0": "off", "1": "on"}),
    F("screen", "enum", "forest", get_args(Screen), "Presenter screen",
      {"forest": "the headline, the forest plot and the certainty",
       "sof": "the summary of findings"},
      {"plot": "forest", "forestplot": "forest", "summary": "sof", "summaryoffindings": "sof",
       "table": "sof", "findings": "sof"}),
    F("data", "token", None, (), "Saved dataset",
      values_doc="the token of a saved dataset (32 letters, digits, `_`, `-`), as \"Save and "
      "get a link\" on the Studies page or `python -m core store save` gives it"),
)  # fmt: skip

FIELD_BY_NAME: dict[str, FieldSpec] = {f.name: f for f in FIELDS}

#: Defaults changed by a link version: field -> (the version that changed it, the value a link
#: of an earlier version means when it leaves the key out). Defaults change only this way.
OLD_DEFAULTS: dict[str, tuple[int, Any]] = {"tpoint": (2, "exact")}
_KEY_INDEX: dict[str, FieldSpec] = {}
for _spec in FIELDS:
    for _key in (_spec.key, *_spec.key_aliases):
        if _KEY_INDEX.setdefault(_key.lower(), _spec) is not _spec or _key.lower() == "v":
            raise ValueError(f"URL key {_key!r} used twice")


# ---------------------------------------------------------------------------------------------
# Validation of values given to the constructor (programming errors raise; links never do).


def _column(spec: FieldSpec, value: object, name: str) -> str:
    """A named choice of ``spec`` (case and aliases ignored) or a column name as given."""
    if isinstance(value, str):
        named = spec.canonical(value)
        if named is not None:
            return named
        if COLUMN_PATTERN.fullmatch(value):
            return value
    raise ValueError(f"{name}={value!r}: expected a column name (a letter, then [A-Za-z0-9_])")


def _check(spec: FieldSpec, value: Any) -> Any:
    """The normalised value for ``spec``, or ValueError/TypeError."""
    name = spec.name
    if spec.kind == "enum":
        if value not in spec.allowed:
            raise ValueError(f"{name}={value!r}: choose one of {', '.join(spec.allowed)}")
        return value
    if spec.kind == "flag":
        if isinstance(value, bool) or value in (0, 1):
            return bool(value)
        raise TypeError(f"{name}={value!r}: expected a bool")
    if spec.kind == "number":
        if value is None and spec.nullable:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError(f"{name}={value!r}: expected a number")
        number = float(value)
        if math.isfinite(number):
            number = round(number, NUMBER_DECIMALS) + 0.0  # + 0.0 turns -0.0 into 0.0
        if not _in_range(spec, number):
            raise ValueError(f"{name}={value!r}: expected a number {_range_text(spec)}")
        return number
    if spec.kind == "column":
        if not isinstance(value, str):
            raise TypeError(f"{name}={value!r}: expected a column name")
        return _column(spec, value, name)
    if spec.kind == "token":
        if value is None or (isinstance(value, str) and TOKEN_PATTERN.fullmatch(value)):
            return value
        raise ValueError(f"{name}={value!r}: expected a saved dataset's token or None")
    if isinstance(value, str):
        value = (value,)
    if not isinstance(value, Iterable):
        raise TypeError(f"{name}={value!r}: expected a tuple of strings")
    items = tuple(value)
    if spec.kind == "columns":
        cols = tuple(dict.fromkeys(_column(spec, v, name) for v in items))
        if not cols or len(cols) > MAX_MODERATORS:
            raise ValueError(f"{name}: expected 1 to {MAX_MODERATORS} column names")
        return cols
    if spec.kind == "multi":
        unknown = [v for v in items if v not in spec.allowed]
        if unknown:
            raise ValueError(f"{name}: unknown {unknown!r}; choose from {', '.join(spec.allowed)}")
        return tuple(v for v in spec.allowed if v in items)
    if spec.kind == "texts":
        bad = [v for v in items if not (isinstance(v, str) and v and clean_text(v) == v)]
        if bad:
            raise ValueError(f"{name}: {bad[:3]!r} not one-line texts of 1-{MAX_TEXT} characters")
        texts = tuple(sorted(set(items)))
        if len(texts) > MAX_IDS:
            raise ValueError(f"{name}: at most {MAX_IDS} texts")
        return texts
    # ids
    bad = [v for v in items if not (isinstance(v, str) and ID_PATTERN.fullmatch(v))]
    if bad:
        raise ValueError(f"{name}: invalid study ids {bad[:5]!r} (1-64 of A-Z a-z 0-9 _ . -)")
    ids = tuple(sorted(set(items)))
    if len(ids) > MAX_IDS:
        raise ValueError(f"{name}: at most {MAX_IDS} ids")
    return ids


def clean_text(text: str) -> str:
    """A free text as a link keeps it: one line (control characters made U+FFFD), trimmed,
    at most :data:`MAX_TEXT` characters."""
    return one_line(text).strip()[:MAX_TEXT].strip()


def _in_range(spec: FieldSpec, number: float) -> bool:
    if not math.isfinite(number) or number > spec.high:
        return False
    return number > spec.low if spec.low_open else number >= spec.low


def _range_text(spec: FieldSpec) -> str:
    low, high = _fmt_number(spec.low), _fmt_number(spec.high)
    return f"above {low} and at most {high}" if spec.low_open else f"from {low} to {high}"


def _fmt_number(number: float) -> str:
    """Shortest text that reads back as the same float, without exponent: 2.0 -> '2'."""
    text = format(Decimal(repr(float(number))), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


# ---------------------------------------------------------------------------------------------
# The state.


@dataclass(frozen=True, kw_only=True)
class ViewState:
    """Every control of the explorer (frozen, hashable, validated).

    Constructor and ``replace`` raise ValueError/TypeError on invalid values; multi-valued
    fields are normalised to the order of their allowed values, ids are sorted and
    de-duplicated, numbers are floats rounded to :data:`NUMBER_DECIMALS` decimals. Each field's
    URL key, title, allowed values and default are in :data:`FIELDS` (a test keeps the two equal).
    """

    indication: tuple[Indication, ...] = ("PVTT", "narrow_margin")
    design: tuple[Design, ...] = ("RCT", "PSM")
    rt: tuple[RtType, ...] = ("external",)
    filters: tuple[str, ...] = ()
    scope: Scope = "rim"
    qmin: float | None = None
    exclude: tuple[str, ...] = ()
    overlap: OverlapRule = "all"
    keep: tuple[str, ...] = ()
    outcome: Outcome = "OS"
    measure: Measure = "OR"
    t_os: float = 2.0
    t_dfs: float = 1.0
    endpoint: tuple[str, ...] = ()
    method: Method = "REML"
    tau_prior: float = 0.5
    add: float = 0.5
    to: ZeroTo = "only0"
    drop00: Drop00 = "auto"
    ci: CiMethod = "wald"
    pi: PiChoice = "t"
    group: str = "none"
    tau2g: Tau2Mode = "separate"
    tpoint: TimePoints = "interp"
    order: CumulativeOrder = "year"
    sort: ForestSort = "data"
    mod: tuple[str, ...] = ("quality",)
    tf: bool = False
    cr_os: float | None = None
    cr_dfs: float | None = None
    grade: tuple[str, ...] = ()
    why: tuple[str, ...] = ()
    board: bool = False
    screen: Screen = "forest"
    data: str | None = None

    def __post_init__(self) -> None:
        for spec in FIELDS:
            object.__setattr__(self, spec.name, _check(spec, getattr(self, spec.name)))

    def replace(self, **changes: Any) -> ViewState:
        """A copy with ``changes`` applied and validated (dataclasses.replace; invalid values
        raise in ``__post_init__``)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready dict: tuples become lists; every field, defaults included."""
        out: dict[str, object] = {}
        for spec in FIELDS:
            value = getattr(self, spec.name)
            out[spec.name] = list(value) if isinstance(value, tuple) else value
        return out


def _allowed_by_type(hint: Any) -> tuple[str, ...]:
    """The values a field's type allows: Literal[...] or tuple[Literal[...], ...]; () for others."""
    if getattr(hint, "__origin__", None) is tuple:
        hint = get_args(hint)[0]
    return get_args(hint) if getattr(hint, "__origin__", None) is Literal else ()


_HINTS = get_type_hints(ViewState)
if [(f.name, f.default) for f in dataclasses.fields(ViewState)] != [
    (s.name, s.default) for s in FIELDS
]:
    raise AssertionError("ViewState fields and defaults must match FIELDS")
for _spec in FIELDS:
    if _allowed_by_type(_HINTS[_spec.name]) != (
        _spec.allowed if _spec.kind in ("enum", "multi") else ()
    ):
        raise AssertionError(f"ViewState.{_spec.name}: its type must allow exactly FIELDS' values")
for _name, (_since, _old) in OLD_DEFAULTS.items():
    if not 1 < _since <= CURRENT_VERSION or _check(FIELD_BY_NAME[_name], _old) != _old:
        raise AssertionError(f"OLD_DEFAULTS[{_name!r}]: bad version or value")

#: The default view (the published meta-analysis's criteria as far as the data allow).
DEFAULT_STATE = ViewState()


class ParseResult(NamedTuple):
    """What a link gave: a valid state and the notices about what was ignored."""

    state: ViewState
    notices: tuple[str, ...]


# ---------------------------------------------------------------------------------------------
# Parsing.


def _show(text: str) -> str:
    """User text for a notice: at most 40 characters, unsafe characters shown as '?'."""
    short = text[:40]
    shown = "".join(c if c in _SAFE_CHARS else "?" for c in short)
    return f"'{shown}{'...' if len(text) > 40 else ''}'"


def _show_list(items: Sequence[str], limit: int = 3) -> str:
    shown = ", ".join(_show(i) for i in items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


class _Notices:
    def __init__(self) -> None:
        self.items: dict[str, None] = {}

    def add(self, text: str) -> None:
        self.items.setdefault(text, None)

    def result(self) -> tuple[str, ...]:
        items = list(self.items)
        if len(items) <= MAX_NOTICES:
            return tuple(items)
        return (*items[:MAX_NOTICES], f"... and {len(items) - MAX_NOTICES} more")


def _as_text(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", errors="replace")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return repr(value)
    return None


def _query_part(text: str) -> str:
    """The query of a query string (with or without '?') or of a full URL."""
    text = text.strip()
    if text.startswith("?"):
        return text[1:].split("#", 1)[0]
    question, equals, scheme = text.find("?"), text.find("="), text.find("://")
    if question != -1 and (equals == -1 or question < equals):
        return text[question + 1 :].split("#", 1)[0]
    if (scheme != -1 and (equals == -1 or scheme < equals)) or text.startswith("/"):
        return ""  # a URL without a query
    return text.split("#", 1)[0]


def _pairs(query: Any, notices: _Notices) -> list[tuple[str, str]]:
    """(key, value) pairs from any accepted input, in order."""
    if query is None:
        return []
    text = _as_text(query)
    if text is not None:
        text = _query_part(text)
        if len(text) > MAX_QUERY_CHARS:
            cut = text.rfind("&", 0, MAX_QUERY_CHARS)
            text = text[: max(cut, 0)]
            notices.add(f"The link is too long; only its first {MAX_QUERY_CHARS} characters read.")
        return parse_qsl(text, keep_blank_values=True, errors="replace")
    items = query.items() if isinstance(query, Mapping) else query
    pairs: list[tuple[str, str]] = []
    for item in items:
        if not (isinstance(item, tuple | list) and len(item) == 2):
            notices.add("Some link parameters could not be read and were ignored.")
            continue
        key, values = _as_text(item[0]), item[1]
        if key is None:
            notices.add("Some link parameters could not be read and were ignored.")
            continue
        if isinstance(values, str | bytes | bytearray) or not isinstance(values, Iterable):
            values = [values]
        for value in values:
            text = _as_text(value)
            if text is None:
                notices.add(f"Link parameter {_show(key)}: a value could not be read; ignored.")
            else:
                pairs.append((key, text))
            if len(pairs) > MAX_PARAMS:
                break
    return pairs


def _last(values: list[str], spec: FieldSpec, notices: _Notices) -> str | None:
    """The last non-empty value of a single-valued key (None: none given)."""
    given = [v.strip() for v in values if v.strip()]
    if not given:
        return None
    if len(set(given)) > 1:
        notices.add(f"{spec.title} ({spec.key}) was given more than once; the last value used.")
    return given[-1]


def _items(values: list[str]) -> list[str]:
    """Values of a repeated key, comma-separated lists split, blanks dropped."""
    return [p.strip() for v in values for p in v.split(",") if p.strip()]


def _parse_field(spec: FieldSpec, values: list[str], notices: _Notices, default: Any) -> Any:
    """The value of ``spec`` from a link's ``values``; ``default`` where none is valid (the
    default of the link's version)."""
    where = f"{spec.title} ({spec.key})"
    if spec.kind in ("enum", "flag"):
        raw = _last(values, spec, notices)
        if raw is None:
            return default
        value = spec.canonical(raw)
        if value is None:
            choices = ", ".join(spec.allowed)
            notices.add(f"{where}: {_show(raw)} is not one of {choices}; ignored.")
            return default
        return value == "1" if spec.kind == "flag" else value
    if spec.kind == "column":
        raw = _last(values, spec, notices)
        if raw is None:
            return default
        named = spec.canonical(raw)
        if named is None and not COLUMN_PATTERN.fullmatch(raw):
            notices.add(f"{where}: {_show(raw)} is not a column name; ignored.")
            return default
        return named or raw
    if spec.kind == "token":
        raw = _last(values, spec, notices)
        if raw is None or TOKEN_PATTERN.fullmatch(raw):
            return raw
        notices.add(f"{where}: {_show(raw)} is not the token of a saved dataset; ignored.")
        return default
    if spec.kind == "number":
        raw = _last(values, spec, notices)
        if raw is None:
            return default
        if spec.nullable and _norm(raw) in (NONE_TOKEN, "off", "no"):
            return None
        number = float(raw) if len(raw) <= 40 and _NUMBER.fullmatch(raw) else math.nan
        if math.isfinite(number):
            number = round(number, NUMBER_DECIMALS)
        if not _in_range(spec, number):
            notices.add(f"{where}: {_show(raw)} is not a number {_range_text(spec)}; ignored.")
            return default
        return number
    if spec.kind == "texts":
        return _parse_texts(spec, values, notices)
    items = _items(values)
    if not items:
        return default
    if spec.kind == "columns":
        cols: dict[str, None] = {}
        wrong = [v for v in items if spec.canonical(v) is None and not COLUMN_PATTERN.fullmatch(v)]
        for item in items:
            if item not in wrong:
                cols[spec.canonical(item) or item] = None
        if wrong:
            notices.add(f"{where}: {_show_list(wrong)} not column names; ignored.")
        if len(cols) > MAX_MODERATORS:
            notices.add(
                f"{where}: only the first {MAX_MODERATORS} kept; {len(cols) - MAX_MODERATORS} "
                "more ignored."
            )
        return tuple(cols)[:MAX_MODERATORS] or default
    if spec.kind == "multi":
        chosen: set[str] = set()
        bad: list[str] = []
        said_none = False
        for item in items:
            value = spec.canonical(item)
            if value is not None:
                chosen.add(value)
            elif _norm(item) == NONE_TOKEN:
                said_none = True
            else:
                bad.append(item)
        if bad:
            choices = ", ".join(spec.allowed)
            notices.add(f"{where}: {_show_list(bad)} not one of {choices}; ignored.")
        if chosen:
            return tuple(v for v in spec.allowed if v in chosen)
        return () if said_none else default
    # ids
    kept: dict[str, None] = {}
    invalid: list[str] = []
    over: set[str] = set()
    for item in items:
        if not ID_PATTERN.fullmatch(item):
            invalid.append(item)
        elif item not in kept:
            if len(kept) < MAX_IDS:
                kept[item] = None
            else:
                over.add(item)
    if invalid:
        notices.add(
            f"{where}: {_show_list(invalid)} not valid study ids "
            "(1-64 letters, digits, '_', '.', '-'); ignored."
        )
    if over:
        notices.add(f"{where}: only the first {MAX_IDS} ids kept; {len(over)} more ignored.")
    return tuple(sorted(kept))


def _parse_texts(spec: FieldSpec, values: list[str], notices: _Notices) -> tuple[str, ...]:
    """Free texts of a repeated key: one line each, blanks dropped, long ones cut (noticed)."""
    kept: dict[str, None] = {}
    for value in values:
        text = clean_text(value)
        if not text:
            continue
        if len(one_line(value).strip()) > MAX_TEXT:
            notices.add(f"{spec.title} ({spec.key}): a text cut to {MAX_TEXT} characters.")
        if len(kept) >= MAX_IDS:
            notices.add(f"{spec.title} ({spec.key}): only the first {MAX_IDS} texts kept.")
            break
        kept[text] = None
    return tuple(sorted(kept))


def _parse_version(values: list[str], notices: _Notices) -> int | None:
    """The link's format version ``v`` (None: not given; 1 for an invalid one, with a notice;
    a newer one than the app's is read as the app's, with a notice)."""
    given = [v.strip() for v in values if v.strip()]
    if not given:
        return None
    raw = given[-1]
    if not (len(raw) <= 6 and raw.isascii() and raw.isdigit() and int(raw) >= 1):
        notices.add(f"Link version (v): {_show(raw)} is not a version number; read as v1.")
        return 1
    version = int(raw)
    if version > CURRENT_VERSION:
        notices.add(
            f"This link was made by a newer version of the explorer (v={version}); "
            f"read as v{CURRENT_VERSION} as far as possible."
        )
        return CURRENT_VERSION
    return version


def _parse_pairs(
    pairs: list[tuple[str, str]], notices: _Notices, overrides: Mapping[str, Any]
) -> ViewState:
    if len(pairs) > MAX_PARAMS:
        notices.add(f"The link has more than {MAX_PARAMS} parameters; the rest ignored.")
        pairs = pairs[:MAX_PARAMS]
    by_name: dict[str, list[str]] = {}
    versions: list[str] = []
    for raw_key, value in pairs:
        key = raw_key.strip().lower()
        spec = _KEY_INDEX.get(key)
        if spec is not None:
            by_name.setdefault(spec.name, []).append(value)
        elif key == "v":
            versions.append(value)
        elif key in SILENT_KEYS or key.startswith(SILENT_PREFIXES):
            continue
        elif not key:
            if value.strip():
                notices.add(f"A value without a name ({_show(value)}) ignored.")
        else:
            notices.add(f"Unknown link parameter {_show(raw_key.strip())} ignored.")
    version = _parse_version(versions, notices)
    if version is None:  # v1, unless the link sets nothing (the bare address: today's view)
        sets_any = any(v.strip() for values in by_name.values() for v in values)
        version = 1 if sets_any else CURRENT_VERSION
    defaults = defaults_of_version(version) | dict(overrides)
    values = {
        spec.name: _parse_field(spec, by_name[spec.name], notices, defaults[spec.name])
        for spec in FIELDS
        if spec.name in by_name
    }
    return ViewState(**(defaults | values))


def defaults_of_version(version: int) -> dict[str, Any]:
    """Each field's default as links of format ``version`` mean it (:data:`OLD_DEFAULTS`)."""
    defaults = {spec.name: spec.default for spec in FIELDS}
    for name, (since, old) in OLD_DEFAULTS.items():
        if version < since:
            defaults[name] = old
    return defaults


def parse_query(query: Any, defaults: Mapping[str, Any] | None = None) -> ParseResult:
    """Read a link into a valid ViewState; never raises.

    ``defaults``: field name -> the value a key left out of the link means, where the
    dataset in use says so (its description's default effect measure: ``{"measure": "HR"}``,
    :func:`core.data.description.link_defaults`); pass the same to :func:`encode_query`.

    ``query``: a query string (``"a=1&b=2"``, with or without ``"?"``), a full URL (its query
    is read), bytes, a mapping of key -> str or list of str, or an iterable of (key, value)
    pairs. In Streamlit pass every value of repeated keys:
    ``{k: st.query_params.get_all(k) for k in st.query_params}`` (``to_dict()`` keeps only the
    last value of each key and would lose all but one design or excluded study).

    Keys and enum values are case-insensitive and trimmed; repeated keys may also be given as
    one comma-separated value. Unknown keys and invalid values are ignored with one short
    notice each (at most :data:`MAX_NOTICES`, then "... and N more"); the state keeps the
    default for that field.
    """
    notices = _Notices()
    try:
        state = _parse_pairs(_pairs(query, notices), notices, _overrides(defaults))
    except Exception:  # a link must never break a page
        notices.add("The link could not be read; the default view is shown.")
        state = ViewState()
    return ParseResult(state, notices.result())


def _overrides(defaults: Mapping[str, Any] | None) -> dict[str, Any]:
    """The valid entries of ``defaults`` (a dataset's; unknown names and values left out)."""
    out: dict[str, Any] = {}
    for name, value in (defaults or {}).items():
        spec = FIELD_BY_NAME.get(name)
        try:
            out[name] = _check(spec, value) if spec is not None else None
        except (TypeError, ValueError):
            continue
        if out[name] is None and not (spec is not None and spec.nullable):
            del out[name]
    return out


def keys_given(query: Any) -> frozenset[str]:
    """The fields a link sets (by key or key alias, any case), whatever their values."""
    try:
        pairs = _pairs(query, _Notices())
    except Exception:
        return frozenset()
    found = (_KEY_INDEX.get(k.strip().lower()) for k, _ in pairs)
    return frozenset(spec.name for spec in found if spec is not None)


# ---------------------------------------------------------------------------------------------
# Encoding.


def _encoded_values(spec: FieldSpec, value: Any) -> list[str]:
    if spec.kind == "flag":
        return ["1" if value else "0"]
    if spec.kind == "number":
        return [NONE_TOKEN if value is None else _fmt_number(value)]
    if spec.kind in ("enum", "token", "column"):
        return [value]
    if spec.kind == "multi" and not value:
        return [NONE_TOKEN]
    return list(value)


def to_query_params(
    state: ViewState, defaults: Mapping[str, Any] | None = None
) -> dict[str, list[str]]:
    """The format version ``v`` first, then the non-default fields as key -> values, in
    :data:`FIELDS` order (``v`` comes first so that a link cut short keeps its version).
    ``defaults``: the dataset's own defaults, as given to :func:`parse_query`.

    For Streamlit: ``st.query_params.from_dict(to_query_params(state))``.
    """
    params: dict[str, list[str]] = {"v": [str(CURRENT_VERSION)]}
    overrides = _overrides(defaults)
    for spec in FIELDS:
        value = getattr(state, spec.name)
        if value != overrides.get(spec.name, spec.default):
            params[spec.key] = _encoded_values(spec, value)
    return params


def encode_query(state: ViewState, defaults: Mapping[str, Any] | None = None) -> str:
    """The query string of ``state`` (no leading "?", defaults left out, stable order)."""
    pairs = [(key, v) for key, values in to_query_params(state, defaults).items() for v in values]
    return urlencode(pairs, safe=",")


# ---------------------------------------------------------------------------------------------
# Human-readable summaries.


def _years(t: float) -> str:
    return f"{_fmt_number(t)}-year"


def describe_measure(state: ViewState, outcome: str | None = None) -> str:
    """'Odds ratio of 2-year OS', 'Risk difference of 1-year DFS' or 'Hazard ratio of DFS'
    (outcome: default state.outcome)."""
    outcome = outcome or state.outcome
    if state.measure == "HR":
        return f"Hazard ratio of {outcome}"
    t = state.t_os if outcome == "OS" else state.t_dfs
    return f"{vocab.title(vocab.MEASURE_NAMES[state.measure])} of {_years(t)} {outcome}"


#: The measures computed from 2x2 tables (events of n per arm at t).
TABLE_MEASURES: tuple[str, ...] = ("OR", "RR", "RD")
#: The common-effect models of 2x2 tables.
TABLE_METHODS: tuple[str, ...] = ("MH", "PETO")


class Model(NamedTuple):
    """The model a view is pooled with: ``method`` (``state.method`` or what stands in for
    it), ``ci``, the zero-cell options and ``note`` saying what was changed and why."""

    method: str
    ci: str
    add: float
    to: ZeroTo
    drop00: bool
    note: str | None


def model_of(state: ViewState) -> Model:
    """The model for ``state``: Peto gives odds ratios only (with RR or RD, Mantel-Haenszel
    stands in); Mantel-Haenszel and Peto need 2x2 tables (with HR, the common-effect
    inverse-variance model stands in); both are common-effect models with a Wald CI (a
    Hartung-Knapp choice is not applied). ``drop00=auto`` is metafor's default: TRUE for
    rma.mh and rma.peto, FALSE for the escalc-based models."""
    method, ci, notes = state.method, state.ci, []
    if method in TABLE_METHODS and state.measure not in TABLE_MEASURES:
        notes.append(
            f"{vocab.MODELS[method]} needs 2x2 tables (events per arm), which hazard ratios do "
            f"not have: the common-effect inverse-variance model is used instead."
        )
        method = "EE"
    elif method == "PETO" and state.measure != "OR":
        notes.append(
            f"Peto's method gives odds ratios only; for the {vocab.MEASURE_NAMES[state.measure]} "
            "the Mantel-Haenszel method is used instead."
        )
        method = "MH"
    if method in TABLE_METHODS and ci == "hksj":
        notes.append(
            f"The Hartung-Knapp CI applies to inverse-variance models; {vocab.MODELS[method]} "
            "is shown with its Wald (z) CI."
        )
        ci = "wald"
    drop00 = state.drop00 == "1" or (state.drop00 == "auto" and method in TABLE_METHODS)
    return Model(method, ci, state.add, state.to, drop00, " ".join(notes) or None)


def describe_filters(
    state: ViewState, outcomes: Sequence[str] | None = None, max_ids: int = 20
) -> list[str]:
    """Plain sentences naming the active filters and settings, for slides and exports.

    ``outcomes``: the outcomes the page shows (default ``(state.outcome,)``).
    """
    f = FIELD_BY_NAME

    def listing(name: str) -> str:
        values = getattr(state, name)
        text = ", ".join(f[name].label(v) for v in values) if values else "none selected"
        return f"{f[name].title}: {text}"

    lines = [listing("indication"), listing("design"), listing("rt")]
    for column, kept in column_filters(state).items():
        lines.append(f"{OWN_FILTER_LINE} {column}: {', '.join(kept) or 'none selected'}")
    lines.append(f"Studies: {f['scope'].label(state.scope)}")
    if state.qmin is not None:
        lines.append(f"Minimum quality score: {_fmt_number(state.qmin)}")
    if state.exclude:
        ids = list(state.exclude[:max_ids])
        more = len(state.exclude) - len(ids)
        lines.append(
            "Excluded by hand: " + ", ".join(ids) + (f" and {more} more" if more > 0 else "")
        )
    if state.overlap != f["overlap"].default:
        picks = f"; kept by choice: {', '.join(state.keep[:max_ids])}" if state.keep else ""
        lines.append(f"{f['overlap'].title}: {f['overlap'].label(state.overlap)}{picks}")
    measures = [describe_measure(state, o) for o in (outcomes or (state.outcome,))]
    lines.append("; ".join([measures[0], *(m[0].lower() + m[1:] for m in measures[1:])]))
    if state.endpoint:
        lines.append(f"{f['endpoint'].title}: {', '.join(state.endpoint)}")
    model = model_of(state)
    if model.method == "EE":
        lines.append("Model: common effect (inverse variance)")
    elif model.method == "BAYES":
        lines.append(
            "Model: Bayesian random effects (half-normal prior on tau, scale "
            f"{_fmt_number(state.tau_prior)}; flat prior on the mean)"
        )
    elif model.method in TABLE_METHODS:
        lines.append(f"Model: common effect, {vocab.MODELS[model.method]}")
    else:
        label = f["method"].label(state.method)
        lines.append(f"Model: random effects, {state.method} estimator ({label})")
    pi = (
        "no prediction interval"
        if state.pi == "0"
        else f"prediction interval {f['pi'].label(state.pi)}"
    )
    if model.method == "BAYES":
        lines.append("95% credible interval (equal-tailed); posterior predictive interval")
    else:
        if model.method in TABLE_METHODS:
            pi = "no prediction interval (common-effect model)"
        lines.append(f"95% CI: {f['ci'].label(model.ci)}; {pi}")
    if state.group != "none":
        lines.append(f"Subgroups: {f['group'].label(state.group)}")
        if state.tau2g != f["tau2g"].default:
            lines.append(f"{f['tau2g'].title}: {f['tau2g'].label(state.tau2g)}")
    if model.note:
        lines.append(model.note)
    if state.measure in TABLE_MEASURES:
        lines.append(f"Time points: {f['tpoint'].label(state.tpoint)}")
        lines.append(zero_cell_words(model))
    for name in ("order", "sort", "mod", "tf"):
        value = getattr(state, name)
        if value != f[name].default:
            if isinstance(value, tuple):
                shown = ", ".join(f[name].label(v) for v in value)
            else:
                shown = f[name].label("1" if value is True else "0" if value is False else value)
            lines.append(f"{f[name].title}: {shown}")
    return lines


#: How :func:`describe_filters` starts the line of a filter on a dataset's own column.
OWN_FILTER_LINE = "Filter on the column"


def column_filters(state: ViewState) -> dict[str, tuple[str, ...]]:
    """The link's filters on the dataset's own columns (``filter=alloc.random``): column ->
    the values kept, in the link's sorted order (a column named alone keeps none)."""
    out: dict[str, list[str]] = {}
    for item in state.filters:
        column, dot, value = item.partition(".")
        kept = out.setdefault(column, [])
        if dot and value:
            kept.append(value)
    return {c: tuple(v) for c, v in out.items()}


def with_column_filter(state: ViewState, column: str, values: Iterable[str] | None) -> ViewState:
    """``state`` keeping ``values`` of the studies column ``column`` (None: all of them)."""
    others = [f for f in state.filters if f.partition(".")[0] != column]
    if values is None:
        return state.replace(filters=tuple(others))
    chosen = [clean_text(f"{column}.{v}") for v in values]
    return state.replace(filters=tuple([*others, *(chosen or [column])]))


def zero_cell_words(model: Model) -> str:
    """The zero-cell options in words: 'Zero cells: 0.5 added to each cell of the tables with
    a zero cell; tables without events in both arms kept'."""
    if model.to == "none" or model.add == 0:
        added = "no correction"
    else:
        added = f"{_fmt_number(model.add)} added to each cell of {vocab.ZERO_TO[model.to]}"
    dropped = "left out" if model.drop00 else "kept"
    return f"Zero cells: {added}; tables without events (or only events) in both arms {dropped}"


def check_exclusions(state: ViewState, known_ids: Iterable[str]) -> ParseResult:
    """Drop excluded ids that are not in the dataset, with a notice (for the caller that has it)."""
    known = set(known_ids)
    unknown = [i for i in state.exclude if i not in known]
    if not unknown:
        return ParseResult(state, ())
    kept = tuple(i for i in state.exclude if i in known)
    notice = f"Excluded by hand (exclude): no study {_show_list(unknown)} in the data; ignored."
    return ParseResult(state.replace(exclude=kept), (notice,))


# ---------------------------------------------------------------------------------------------
# Documentation (docs/url-format.md embeds this table; a test keeps them equal).


def _doc_value(spec: FieldSpec, value: Any) -> str:
    if value is None:
        return "none"
    return ", ".join(_encoded_values(spec, value)) or "(none)"


def _doc_choices(spec: FieldSpec) -> str:
    return ", ".join(
        f"`{v}` = {spec.labels[v]}" if v in spec.labels else f"`{v}`" for v in spec.allowed
    )


def fields_markdown() -> str:
    """The Markdown table of every URL key, generated from :data:`FIELDS`."""
    kinds = {
        "enum": "one of",
        "multi": "repeated key, any of",
        "number": "number",
        "ids": "repeated key, study ids",
        "flag": "flag:",
    }
    rows = [
        "| Key | Meaning | Values | Default | Also accepted |",
        "|---|---|---|---|---|",
    ]
    for spec in FIELDS:
        if spec.values_doc:
            values = spec.values_doc
        elif spec.kind == "number":
            values = f"number {_range_text(spec)}" + (" or `none`" if spec.nullable else "")
        elif spec.kind == "ids":
            values = f"repeated key, study ids (at most {MAX_IDS})"
        elif spec.kind == "multi":
            values = kinds["multi"] + " " + _doc_choices(spec) + "; `none` = empty selection"
        elif spec.kind in ("column", "columns"):
            values = "a column name: " + _doc_choices(spec)
        else:
            values = kinds[spec.kind] + " " + _doc_choices(spec)
        default = "none" if spec.default in (None, ()) else f"`{_doc_value(spec, spec.default)}`"
        aliases = [f"`{a}`→`{t}`" for a, t in spec.aliases.items()]
        if spec.kind == "flag":
            aliases.append("`true`, `yes`, `on`, `show`→`1`; `false`, `no`, `off`, `hide`→`0`")
        aliases += [f"key `{k}`" for k in spec.key_aliases]
        rows.append(
            f"| `{spec.key}` | {spec.title} | {values} | {default} | {', '.join(aliases)} |"
        )
    return "\n".join(rows)
