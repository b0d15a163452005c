"""What a dataset is about, in its own words: the description a dataset carries.

A description names the question, the outcomes (label, the event counted, the time points the
data have), the arms, the default effect measure, which study columns the sidebar offers as
filters (and their labels) and, optionally, a published pooled result to compare with. Pages,
sentences, exports and reports take their words from it, so a dataset about BCG vaccine and
tuberculosis reads as such, not as "2-year OS".

It is stored as JSON (``description.json``): the bundled evidence's is ``data/description.json``;
an upload may include one beside its tables (see ``data/README.md``). A dataset without one
gets :func:`neutral` words (outcome codes as labels, "treatment" and "control", no published
comparison). :func:`parse` never raises for bad input: it lists problems like an upload's.

Outcomes and the link. The analysis has two outcome slots, ``OS`` and ``DFS`` (the link keys
``outcome``, ``t_os``, ``t_dfs``, ``grade`` and ``endpoint`` name them). A description's first
outcome takes the slot ``OS``, its second ``DFS``; its codes are what the data's ``outcome``
column holds (``TB``) and what pages show. :func:`recode` maps the column's codes to slots.

>>> d, problems = parse(b'{"title": "BCG", "outcomes": [{"code": "TB", "event": "TB case"}]}')
>>> problems, d.words("OS").label, d.words("OS").event, d.treatment
([], 'TB', 'TB case', 'treatment')
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from core import fmt, vocab
from core.data.schema import TABLES, Problem, too_large
from core.sanitize import one_line
from core.state.view import COLUMN_PATTERN

FORMAT: Final = 1
FILE_NAME: Final = "description.json"
#: Largest description file read (bytes); texts longer than TEXT_LIMIT are refused.
MAX_BYTES: Final = 200_000
TEXT_LIMIT: Final = 2_000
MAX_TIME_POINTS: Final = 50
#: Outcome slots of the analysis, in the order a description's outcomes take them.
SLOTS: Final = ("OS", "DFS")
#: The study columns the sidebar can filter on, with their layout labels.
FILTER_COLUMNS: Final = {
    "indication": ("Indication", vocab.INDICATIONS),
    "design": ("Design", vocab.DESIGNS),
    "rt_type": ("Radiotherapy", vocab.RT_TYPES),
}
#: Study columns that name or count, never filters.
NOT_FILTERS: Final = ("study_id", "label", "first_author", "notes", "n_rt", "n_ctl")
MEASURE_CODES: Final = ("OR", "HR")
#: The effect measures a description may name as its default (the link's ``measure``).
DEFAULT_MEASURES: Final = ("OR", "RR", "RD", "HR")


@dataclass(frozen=True)
class OutcomeWords:
    """One outcome: its code in the data, label for sentences, the event it counts and the
    time points (years) its rates or counts are given at (empty: counts without a time)."""

    code: str
    label: str
    event: str
    time_points: tuple[float, ...] = ()


@dataclass(frozen=True)
class FilterWords:
    """A study column offered as a filter: its label and its values' labels (code, label)."""

    column: str
    label: str
    values: tuple[tuple[str, str], ...] = ()

    def value_label(self, code: str) -> str:
        """The label of one value, or the code itself."""
        return dict(self.values).get(code, code)


@dataclass(frozen=True, eq=False)
class Description:
    """A dataset's words. ``published`` is the published pooled result as in
    ``data/description.json`` (label, citation, results by outcome code), or None.
    ``intervention`` names the treatment in sentences ("perioperative RT"), ``untreated`` the
    condition of the control arm ("without RT"); ``given`` is False for neutral words."""

    title: str
    question: str = ""
    outcomes: tuple[OutcomeWords, ...] = ()
    treatment: str = "treatment"
    control: str = "control"
    intervention: str = "treatment"
    untreated: str = "without treatment"
    measure: str = "OR"
    filters: tuple[FilterWords, ...] = ()
    view_note: str = ""
    published: Mapping[str, Any] | None = field(default=None)
    given: bool = True

    def words(self, slot: str) -> OutcomeWords:
        """The words of the outcome in ``slot`` (``OS``: the first); its code without them."""
        i = SLOTS.index(slot) if slot in SLOTS else len(SLOTS)
        if i < len(self.outcomes):
            return self.outcomes[i]
        return OutcomeWords(slot, slot, "event")

    @property
    def slots(self) -> tuple[str, ...]:
        """The slots this dataset's outcomes take (``("OS",)`` for one outcome)."""
        return SLOTS[: max(1, len(self.outcomes))]

    def filter(self, column: str) -> FilterWords | None:
        """The filter on ``column``, or None when the sidebar does not offer it."""
        return next((f for f in self.filters if f.column == column), None)

    @property
    def published_label(self) -> str:
        """'Published (Rim et al. 2024)'."""
        label = str((self.published or {}).get("label") or "published meta-analysis")
        return f"Published ({label})"


def layout_filter(column: str) -> FilterWords:
    """The filter on ``column`` in the layout's own words (core.vocab)."""
    label, values = FILTER_COLUMNS[column]
    return FilterWords(column, label, tuple(values.items()))


def _default_filters() -> tuple[FilterWords, ...]:
    return tuple(layout_filter(col) for col in FILTER_COLUMNS)


def neutral(times: Mapping[str, Sequence[float]] | None = None) -> Description:
    """Words for a dataset without a description: outcome codes as labels, "event", the time
    points found in its data (``times``: code -> years), "treatment" and "control", the
    layout's filters and no published comparison."""
    times = times or {}
    outcomes = tuple(  # the codes are the slots themselves: both, in slot order
        OutcomeWords(c, c, "event", tuple(sorted({float(t) for t in times.get(c, ())})))
        for c in SLOTS
    )
    return Description(
        title="Pooled evidence of the dataset in use",
        outcomes=outcomes,
        filters=_default_filters(),
        given=False,
    )


# ---------------------------------------------------------------- parsing


class _Bad(Exception):
    def __init__(self, message: str, fix: str = "") -> None:
        super().__init__(message)
        self.message, self.fix = message, fix


def _text(obj: Mapping[str, Any], key: str, default: str | None = None, where: str = "") -> str:
    v = obj.get(key, default)
    if v is None:
        raise _Bad(f"{where}{key!r} is missing", f"give {key} as text")
    if not isinstance(v, str):
        raise _Bad(f"{where}{key!r} is not text", f"give {key} as text in quotes")
    if len(v) > TEXT_LIMIT:
        raise _Bad(
            f"{where}{key!r} is longer than {fmt.count(TEXT_LIMIT)} characters", "shorten it"
        )
    return one_line(v).strip()


def _object(v: object, what: str) -> Mapping[str, Any]:
    if not isinstance(v, dict):
        raise _Bad(f"{what} is not an object", f"write {what} as {{...}}")
    return v


def _outcome(v: object, i: int) -> OutcomeWords:
    o = _object(v, f"outcome {i + 1}")
    where = f"outcome {i + 1}: "
    code = _text(o, "code", where=where)
    if not code:
        raise _Bad(f"{where}'code' is empty", "give the code its rows use in the outcome column")
    points = o.get("time_points", [])
    if not isinstance(points, list) or len(points) > MAX_TIME_POINTS:
        raise _Bad(
            f"{where}'time_points' is not a list of at most {MAX_TIME_POINTS} numbers",
            "give years as [1, 2, 5], or [] for counts without a time point",
        )
    years: list[float] = []
    for t in points:
        ok = isinstance(t, int | float) and not isinstance(t, bool)
        if not ok or not math.isfinite(float(t)) or not 0 < float(t) <= 50:
            raise _Bad(f"{where}time point {t!r} is not a number of years above 0 and up to 50")
        years.append(float(t))
    return OutcomeWords(
        code,
        _text(o, "label", code, where) or code,
        _text(o, "event", "event", where) or "event",
        tuple(sorted(set(years))),
    )


def _filter(v: object, i: int) -> FilterWords:
    f = _object(v, f"filter {i + 1}")
    column = _text(f, "column", where=f"filter {i + 1}: ")
    if not COLUMN_PATTERN.fullmatch(column) or column in NOT_FILTERS:
        raise _Bad(
            f"filter {i + 1}: column {column!r} cannot be a filter",
            "name a categorical column of the studies table (a letter, then letters, digits "
            f"or _; not {', '.join(NOT_FILTERS)})",
        )
    label, known = FILTER_COLUMNS.get(column, (column, {}))
    values = _object(f.get("values", {}), f"filter {i + 1}'s values")
    pairs = {**known, **{str(k): one_line(str(x))[:TEXT_LIMIT] for k, x in values.items()}}
    return FilterWords(column, _text(f, "label", label, f"filter {i + 1}: "), tuple(pairs.items()))


def _number(v: object) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(float(v))


def _published(v: object, codes: set[str]) -> Mapping[str, Any]:
    p = _object(v, "published")
    _text(p, "label", where="published: ")
    results = p.get("results")
    if not isinstance(results, list) or not results:
        raise _Bad("published: 'results' is not a list of results", "give at least one result")
    for i, r in enumerate(results):
        r = _object(r, f"published result {i + 1}")
        where = f"published result {i + 1}: "
        if r.get("outcome") not in codes:
            raise _Bad(f"{where}outcome {r.get('outcome')!r} is not one of the outcomes' codes")
        if r.get("measure") not in MEASURE_CODES:
            raise _Bad(f"{where}measure is not OR or HR")
        for key in ("estimate", "ci_low", "ci_high"):
            if not _number(r.get(key)) or float(r[key]) <= 0:
                raise _Bad(f"{where}{key!r} is not a positive number")
        t = r.get("time_years")
        if t is not None and (not _number(t) or float(t) <= 0):
            raise _Bad(f"{where}'time_years' is not a positive number of years (or null)")
    return p


def _description(obj: object) -> Description:
    d = _object(obj, "the description")
    fmt = d.get("format", FORMAT)
    if fmt != FORMAT:
        raise _Bad(f"description format {fmt!r} is not {FORMAT}", f'write "format": {FORMAT}')
    raw = d.get("outcomes", [])
    if not isinstance(raw, list) or not 1 <= len(raw) <= len(SLOTS):
        raise _Bad(
            f"'outcomes' is not a list of 1 to {len(SLOTS)} outcomes",
            'give [{"code": ..., "label": ..., "event": ...}]',
        )
    outcomes = tuple(_outcome(o, i) for i, o in enumerate(raw))
    codes = [o.code for o in outcomes]
    if len(set(codes)) != len(codes):
        raise _Bad("two outcomes have the same code", "give each outcome its own code")
    arms = _object(d.get("arms", {}), "'arms'")
    measure = d.get("measure", "OR")
    if measure not in DEFAULT_MEASURES:
        raise _Bad(
            f"measure {measure!r} is not one of {', '.join(DEFAULT_MEASURES)}",
            'use "OR", "RR", "RD" or "HR"',
        )
    raw_filters = d.get("filters", [])
    if not isinstance(raw_filters, list):
        raise _Bad("'filters' is not a list", 'give [{"column": ..., "label": ...}] or []')
    filters = tuple(_filter(f, i) for i, f in enumerate(raw_filters))
    if len({f.column for f in filters}) != len(filters):
        raise _Bad("a filter column is listed twice", "list each column once")
    pub = d.get("published")
    treatment = _text(arms, "treatment", "treatment", "arms: ") or "treatment"
    return Description(
        title=_text(d, "title", where="") or "Pooled evidence of the dataset in use",
        question=_text(d, "question", ""),
        outcomes=outcomes,
        treatment=treatment,
        control=_text(arms, "control", "control", "arms: ") or "control",
        intervention=_text(d, "intervention", treatment) or treatment,
        untreated=_text(d, "untreated", "") or f"without {treatment}",
        measure=str(measure),
        filters=filters,
        view_note=_text(d, "view_note", ""),
        published=None if pub is None else _published(pub, set(codes)),
    )


def parse(data: bytes, name: str = FILE_NAME) -> tuple[Description | None, list[Problem]]:
    """A description from JSON bytes, or None with the problems (never raises for bad input)."""

    def problem(message: str, fix: str = "") -> tuple[None, list[Problem]]:
        return None, [Problem(name, None, None, message, fix)]

    if (big := too_large(name, data, MAX_BYTES)) is not None:
        return problem(f"{big} for a description", "keep the description short")
    try:
        obj = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        return problem(f"{name} is not UTF-8 text", "save it as UTF-8")
    except (ValueError, RecursionError) as exc:
        return problem(f"{name} is not valid JSON ({one_line(str(exc))[:200]})", "check it")
    try:
        return _description(obj), []
    except _Bad as exc:
        return problem(f"{name}: {exc.message}", exc.fix)
    except RecursionError:
        return problem(f"{name} is nested too deeply", "check it")


def to_json(d: Description) -> dict[str, Any]:
    """The JSON object :func:`parse` reads back to ``d`` (words and published result)."""
    out: dict[str, Any] = {
        "format": FORMAT,
        "title": d.title,
        "question": d.question,
        "outcomes": [
            {"code": o.code, "label": o.label, "event": o.event, "time_points": list(o.time_points)}
            for o in d.outcomes
        ],
        "arms": {"treatment": d.treatment, "control": d.control},
        "intervention": d.intervention,
        "untreated": d.untreated,
        "measure": d.measure,
        "filters": [
            {"column": f.column, "label": f.label, "values": dict(f.values)} for f in d.filters
        ],
        "view_note": d.view_note,
    }
    if d.published is not None:
        out["published"] = dict(d.published)
    return out


def to_bytes(d: Description) -> bytes:
    """``to_json`` as UTF-8 JSON text."""
    return json.dumps(to_json(d), indent=2, ensure_ascii=False).encode("utf-8")


def arm_name(d: Description | None) -> str:
    """The treated arm's name in charts and derivations: the description's ("vaccinated"),
    "RT" for tables without one (the bundled layout's word)."""
    return d.treatment if d is not None and d.given else "RT"


def link_defaults(d: Description) -> dict[str, str]:
    """What a link that leaves ``measure`` out means for this dataset: its default effect
    measure (``{"measure": "HR"}``); empty when that is the link format's own default (OR)."""
    return {} if d.measure == "OR" else {"measure": d.measure}


def own_columns(d: Description) -> tuple[str, ...]:
    """The studies columns beyond the layout that the description offers as filters (kept
    as text when the tables are read: ``alloc``)."""
    layout = {c.name for c in TABLES["studies"]}
    return tuple(f.column for f in d.filters if f.column not in layout)


def slot_map(d: Description) -> dict[str, str]:
    """The data's outcome codes -> the analysis's slots (``TB`` -> ``OS``)."""
    return {o.code: slot for o, slot in zip(d.outcomes, SLOTS, strict=False)}


BUNDLED_FILE: Final = Path(__file__).resolve().parents[2] / "data" / FILE_NAME


@functools.cache
def bundled_words() -> Description:
    """The bundled evidence's description (data/description.json): the words of tables that
    come without a description object (a bare studies/outcomes pair, as in many tests)."""
    d, problems = parse(BUNDLED_FILE.read_bytes(), str(BUNDLED_FILE))
    if d is None:
        raise RuntimeError("data/description.json could not be read: " + str(problems[0]))
    return d
