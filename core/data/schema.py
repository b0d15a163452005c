"""The dataset's layout and its validation: one schema for bundled data and uploads.

Files are read by :mod:`core.data.readers` into :class:`RawTable` s and exported by
:mod:`core.data.export`.

Validation never raises for bad input: it returns a :class:`ValidationReport` listing every
problem (file, row, column, plain-language message and fix) with the clean tables, rows with
errors left out. Row numbers are those a spreadsheet shows: the header is row 1, so the first
data row is row 2 (for Parquet too). Nothing is coerced silently: text in a numeric column is
an error for that row, never NaN. Text that a spreadsheet could run as a formula is kept as
text (a warning), never evaluated, and guarded with a leading ``'`` on export.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Literal

import pandas as pd

from core import fmt

MAX_FILE_BYTES = 20_000_000
MAX_ROWS = 50_000
#: Columns in one table, and cells in one file: a file within the size limit can still hold
#: millions of tiny cells (a 20 MB line of "ab,ab,..."), each a Python object and a warning.
MAX_COLUMNS = 1_000
MAX_CELLS = 2_000_000
MAX_XLSX_UNCOMPRESSED = 100_000_000
MAX_XLSX_RATIO = 200
ROW_NOTE = "row numbers count the header as row 1, so the first data row is row 2"


def too_large(name: str, data: bytes, limit: int = MAX_FILE_BYTES) -> str | None:
    """What is wrong with file ``name`` when ``data`` is over ``limit`` bytes; None within it."""
    if len(data) <= limit:
        return None
    return f"{name} is {fmt.count(len(data))} bytes, larger than the {fmt.count(limit)} limit"


Kind = Literal["text", "int", "float"]
Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Column:
    """One column: its type, whether it must be present, allowed values and numeric range."""

    name: str
    kind: Kind
    required: bool = False
    allowed: tuple[str, ...] = ()
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    #: kept in the loaded table only where the file has the column (risk-of-bias judgements:
    #: a dataset without them stays as it was)
    only_if_given: bool = False


DESIGNS = ("RCT", "PSM", "prospective-nonrandomized", "retrospective")
INDICATIONS = ("PVTT", "narrow_margin", "MVI", "other")
QUALITY_ITEMS: dict[str, int] = {
    "q_allocation": 2,
    "q_multicentre": 1,
    "q_size": 1,
    "q_followup": 1,
    "q_full_publication": 1,
    "q_untreated_control": 1,
}

#: Risk-of-bias judgements, optional: RoB 2 (Sterne et al. 2019, BMJ 366:l4898; randomized
#: trials: 5 domains and overall) and ROBINS-I (Sterne et al. 2016, BMJ 355:i4919;
#: non-randomized studies: 7 domains and overall), one column per domain, as robvis reads them.
ROB2_LEVELS = ("low", "some", "high")
ROBINS_LEVELS = ("low", "moderate", "serious", "critical", "ni")
ROB2_COLUMNS = (*(f"rob2_d{i}" for i in range(1, 6)), "rob2_overall")
ROBINS_COLUMNS = (*(f"robins_d{i}" for i in range(1, 8)), "robins_overall")

STUDY_COLUMNS: tuple[Column, ...] = (
    Column("study_id", "text", required=True),
    Column("label", "text"),
    Column("first_author", "text"),
    Column("year", "int", low=1900, high=2100),
    Column("journal", "text"),
    Column("doi_or_pmid", "text"),
    Column("design", "text", allowed=DESIGNS),
    Column("indication", "text", allowed=INDICATIONS),
    Column("rt_type", "text", allowed=("external", "internal")),
    Column("rt_timing", "text", allowed=("neoadjuvant", "adjuvant", "intraoperative")),
    Column("rt_technique", "text"),
    Column("comparator", "text"),
    Column("n_rt", "int", low=0),
    Column("n_ctl", "int", low=0),
    Column("median_fu_months", "float", low=0),
    Column(
        "publication_type",
        "text",
        allowed=("journal_article", "conference_abstract", "preprint_abstract", "unknown"),
    ),
    Column("lead_only", "text", allowed=("yes", "no")),
    Column("overlap_group", "text"),
    Column("in_rim2024", "text", allowed=("yes", "no", "unknown")),
    Column("in_rim2024_basis", "text"),
    *(Column(q, "int", low=0, high=top) for q, top in QUALITY_ITEMS.items()),
    Column("quality_score", "int", low=0, high=sum(QUALITY_ITEMS.values())),
    Column("quality_unknown", "text"),
    Column("source_urls", "text"),
    Column("notes", "text"),
    *(Column(c, "text", allowed=ROB2_LEVELS, only_if_given=True) for c in ROB2_COLUMNS),
    *(Column(c, "text", allowed=ROBINS_LEVELS, only_if_given=True) for c in ROBINS_COLUMNS),
)

OUTCOME_COLUMNS: tuple[Column, ...] = (
    Column("study_id", "text", required=True),
    Column("outcome", "text", required=True, allowed=("OS", "DFS")),
    Column("kind", "text", required=True, allowed=("rate", "hr", "events")),
    Column("time_years", "float", low=0, high=50, low_open=True),
    Column("rate_rt", "float", low=0, high=100),
    Column("rate_ctl", "float", low=0, high=100),
    Column("events_rt", "int", low=0),
    Column("events_ctl", "int", low=0),
    Column("hr", "float", low=0, low_open=True),
    Column("hr_low", "float", low=0),  # 0 when a source rounds it down; hr_p then gives the SE
    Column("hr_high", "float", low=0, low_open=True),
    Column("hr_p", "float", low=0, high=1, low_open=True),
    Column("endpoint_as_reported", "text"),
    Column("adjustment", "text"),
    Column("source_url", "text"),
    Column("note", "text"),
)

TABLES: dict[str, tuple[Column, ...]] = {"studies": STUDY_COLUMNS, "outcomes": OUTCOME_COLUMNS}
_STUDY_NAMES = frozenset(c.name for c in STUDY_COLUMNS)
DTYPES: dict[Kind, str] = {"text": "string", "int": "Int64", "float": "Float64"}

# Per kind of outcome row: columns that must be given, and columns that must stay empty.
KIND_NEEDS: dict[str, tuple[str, ...]] = {
    "rate": ("time_years", "rate_rt", "rate_ctl"),
    "hr": ("hr",),
    "events": ("events_rt", "events_ctl"),
}
KIND_FIELDS: dict[str, tuple[str, ...]] = {
    "rate": ("rate_rt", "rate_ctl"),
    "hr": ("hr", "hr_low", "hr_high", "hr_p"),
    "events": ("events_rt", "events_ctl"),
}


@dataclass(frozen=True)
class Problem:
    """One problem: where it is (file, spreadsheet row, column), what is wrong, how to fix it."""

    file: str
    row: int | None
    column: str | None
    message: str
    fix: str = ""
    severity: Severity = "error"

    def __str__(self) -> str:
        where = self.file + (f", row {self.row}" if self.row is not None else "")
        fix = f" Fix: {self.fix}" if self.fix else ""
        return f"{self.severity.upper()} [{where}] {self.message}.{fix}"


#: Problems of one kind (file, column, severity and fix) listed row by row; the rest are counted.
MAX_LISTED = 5


class Problems(list[Problem]):
    """A list of problems that keeps the first :data:`MAX_LISTED` rows of each kind.

    A kind is a file, column, severity and fix; further problems of that kind are only
    counted (a file can hold a million bad cells), and :meth:`finished` adds one line per kind
    saying how many more rows and which."""

    def __init__(self, items: tuple[Problem, ...] | list[Problem] = ()) -> None:
        super().__init__(items)
        self._listed: dict[tuple[str, str | None, Severity, str], int] = {}
        self._more: dict[tuple[str, str | None, Severity, str], list[int]] = {}

    def append(self, p: Problem) -> None:
        """Keep ``p``, or only count it when its kind already has MAX_LISTED rows listed."""
        if p.row is None:
            super().append(p)
            return
        key = (p.file, p.column, p.severity, p.fix)
        n = self._listed.get(key, 0)
        if n < MAX_LISTED:
            self._listed[key] = n + 1
            super().append(p)
            return
        more = self._more.setdefault(key, [p.row, p.row, 0])
        more[1] = max(more[1], p.row)
        more[2] += 1

    def finished(self) -> list[Problem]:
        """The kept problems plus one "and N more" line per kind that had more."""
        out = list(self)
        for (file, column, severity, fix), (first, last, n) in self._more.items():
            where = f"in column {column}" if column else "in this file"
            out.append(
                Problem(
                    file,
                    first,
                    column,
                    f"and {fmt.count(n)} more row(s) {where} with the same kind of {severity} as "
                    "listed "
                    f"above, rows {first} to {last}; only the first {MAX_LISTED} are listed",
                    fix,
                    severity,
                )
            )
        return out


@dataclass(frozen=True, eq=False)
class ValidationReport:
    """Everything validation found, with the clean tables (rows with errors left out).

    ``unreadable`` is true when a file could not be read at all; ``studies``/``outcomes`` are
    None when that table is absent or unreadable.
    """

    problems: tuple[Problem, ...]
    studies: pd.DataFrame | None
    outcomes: pd.DataFrame | None
    dropped: tuple[tuple[str, int], ...] = ()
    notes: tuple[str, ...] = ()
    unreadable: bool = False

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == "error")

    @property
    def warnings(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == "warning")

    @property
    def clean(self) -> bool:
        return not self.problems and not self.unreadable

    def text(self) -> str:
        """The report as plain text, one problem a line."""
        lines = [f"{len(self.errors)} error(s), {len(self.warnings)} warning(s); {ROW_NOTE}."]
        for name, table in (("studies", self.studies), ("outcomes", self.outcomes)):
            if table is not None:
                lines.append(f"{name}: {len(table)} row(s) loaded")
        if self.dropped:
            lines.append("rows left out: " + ", ".join(f"{f} row {r}" for f, r in self.dropped))
        lines += [f"note: {n}" for n in self.notes]
        lines += [str(p) for p in self.problems]
        return "\n".join(lines)


@dataclass(frozen=True)
class CellIssue:
    """A cell a reader could not decode (in place of its value): why, and how to fix it."""

    message: str
    fix: str = "retype the cell as plain text or a plain number"


@dataclass(frozen=True)
class RawTable:
    """Cells as read, before typing: a header and rows of str/number/:class:`CellIssue`."""

    file: str
    header: tuple[str, ...]
    rows: tuple[tuple[object, ...], ...]


# ---------------------------------------------------------------- cells

_NUMBER = re.compile(r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$")
_INTEGER = re.compile(r"^[+-]?[0-9]+$")
#: Whole numbers above this lose digits as floats (2^53): 9007199254740993 would read as ...992.
EXACT_INT = 2**53
_HTML = re.compile(r"<\s*/?\s*[a-zA-Z][^>]*>")


class _BadCell(Exception):
    def __init__(self, message: str, fix: str) -> None:
        super().__init__(message)
        self.message, self.fix = message, fix


def _show(v: object) -> str:
    s = str(v)
    return repr(s[:40] + "..." if len(s) > 40 else s)


def _number(v: object, col: Column) -> float | None:
    """A numeric cell as float (None when empty); raises _BadCell for anything else."""
    if isinstance(v, CellIssue):
        raise _BadCell(f"{col.name}: {v.message}", v.fix)
    if isinstance(v, bool) or not isinstance(v, (int, float, str)):
        raise _BadCell(f"{col.name} {_show(v)} is not a number", "enter a plain number")
    if isinstance(v, str):
        s = v.strip()
        if s == "":
            return None
        if _NUMBER.match(s):
            if _INTEGER.match(s) and abs(int(s)) > EXACT_INT:
                raise _BadCell(
                    f"{col.name} {_show(s)} has more digits than can be kept exactly "
                    f"(whole numbers up to {fmt.count(EXACT_INT)})",
                    "check the value",
                )
            x = float(s)
        elif any(ch.isdigit() and not ch.isascii() for ch in s):
            raise _BadCell(
                f"{col.name} {_show(s)} uses digits other than 0-9 "
                f"({', '.join(sorted({f'U+{ord(ch):04X}' for ch in s if not ch.isascii()}))})",
                "type the number with the digits 0-9",
            )
        elif s.lower().lstrip("+-") in ("nan", "inf", "infinity", "na", "n/a", "null", "none"):
            raise _BadCell(
                f"{col.name} {_show(s)} is not a number", "leave the cell empty if it is unknown"
            )
        elif s.endswith("%"):
            raise _BadCell(f"{col.name} {_show(s)} is not a number", "remove the % sign")
        elif re.match(r"^[+-]?\d+,\d+$", s):
            raise _BadCell(
                f"{col.name} {_show(s)} is not a number", "use a dot as decimal separator"
            )
        else:
            raise _BadCell(f"{col.name} {_show(s)} is not a number", "enter a plain number")
    elif isinstance(v, int) and abs(v) > EXACT_INT:
        raise _BadCell(
            f"{col.name} {v} has more digits than can be kept exactly "
            f"(whole numbers up to {fmt.count(EXACT_INT)})",
            "check the value",
        )
    else:
        x = float(v)
    if not math.isfinite(x):
        raise _BadCell(
            f"{col.name} {_show(v)} is not a finite number", "leave the cell empty if unknown"
        )
    if col.kind == "int" and x != int(x):
        raise _BadCell(f"{col.name} {fmt.number(x)} is not a whole number", "enter a count")
    if col.kind == "int" and abs(x) > EXACT_INT:
        raise _BadCell(
            f"{col.name} {fmt.number(x)} is too large for a count (at most {fmt.count(EXACT_INT)})",
            "check the value",
        )
    if col.low is not None and (x <= col.low if col.low_open else x < col.low):
        rel = "above" if col.low_open else "at least"
        raise _BadCell(
            f"{col.name} {fmt.number(x)} must be {rel} {fmt.number(col.low)}", "check the value"
        )
    if col.high is not None and x > col.high:
        raise _BadCell(
            f"{col.name} {fmt.number(x)} must be at most {fmt.number(col.high)}", "check the value"
        )
    return x


def _text(v: object) -> str | None:
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    s = str(v).strip() if not isinstance(v, str) else v.strip()
    return s or None


def looks_like_formula(s: str) -> bool:
    """True when a spreadsheet could treat the text as a formula (= + - @ tab CR first)."""
    if not s or s[0] not in "=+-@\t\r":
        return False
    return not (s[0] in "+-" and _NUMBER.match(s))


# ---------------------------------------------------------------- validation


def _check_header(raw: RawTable, cols: tuple[Column, ...], problems: list[Problem]) -> bool:
    names = [h.strip() for h in raw.header]
    ok = True
    seen: set[str] = set()
    for h in names:
        if h in seen and h:
            problems.append(
                Problem(
                    raw.file,
                    1,
                    h,
                    f"column {h!r} appears twice in the header",
                    "keep one column of each name",
                )
            )
            ok = False
        seen.add(h)
    known = {c.name for c in cols}
    for c in cols:
        if c.required and c.name not in seen:
            problems.append(
                Problem(
                    raw.file,
                    1,
                    c.name,
                    f"required column {c.name!r} is missing",
                    "add it (see the template)",
                )
            )
            ok = False
    for h in names:
        if h not in known:
            problems.append(
                Problem(
                    raw.file,
                    1,
                    h or None,
                    f"column {h!r} is not part of the layout and is ignored",
                    "rename or remove it",
                    "warning",
                )
            )
    return ok


def _parse_rows(
    raw: RawTable, cols: tuple[Column, ...], problems: list[Problem]
) -> list[tuple[int, dict[str, object]]]:
    """Typed rows (spreadsheet row number, values); rows with cell errors are left out."""
    index = {h.strip(): i for i, h in enumerate(raw.header)}
    present = [c for c in cols if c.name in index]
    width = len(raw.header)
    out: list[tuple[int, dict[str, object]]] = []
    for i, cells in enumerate(raw.rows):
        rownum = i + 2
        if all(_text(v) is None for v in cells):
            continue
        if len(cells) != width:
            problems.append(
                Problem(
                    raw.file,
                    rownum,
                    None,
                    f"row {rownum} has {len(cells)} cells but the header has {width}",
                    "check for stray separators or missing cells",
                )
            )
            out.append((rownum, {}))
            continue
        values: dict[str, object] = {}
        bad = False
        for c in present:
            v = cells[index[c.name]]
            try:
                if isinstance(v, CellIssue):
                    raise _BadCell(f"{c.name}: {v.message}", v.fix)
                if c.kind == "text":
                    s = _text(v)
                    if s is not None and c.allowed and s not in c.allowed:
                        raise _BadCell(
                            f"{c.name} {_show(s)} is not one of {', '.join(c.allowed)}",
                            "use one of the listed values",
                        )
                    if c.required and s is None:
                        raise _BadCell(f"{c.name} is empty", f"every row needs a {c.name}")
                    values[c.name] = s
                    if s is not None:
                        _text_warnings(raw.file, rownum, c.name, s, problems)
                else:
                    values[c.name] = _number(v, c)
            except _BadCell as exc:
                problems.append(
                    Problem(raw.file, rownum, c.name, f"row {rownum}, {exc.message}", exc.fix)
                )
                bad = True
        out.append((rownum, {} if bad else values))
    return out


def _text_warnings(file: str, row: int, col: str, s: str, problems: list[Problem]) -> None:
    if looks_like_formula(s):
        problems.append(
            Problem(
                file,
                row,
                col,
                f"row {row}, {col} {_show(s)} starts with {s[0]!r} and a spreadsheet could run it "
                "as a formula; it is kept as plain text and never evaluated",
                "remove the leading character unless it is meant",
                "warning",
            )
        )
    if _HTML.search(s):
        problems.append(
            Problem(
                file,
                row,
                col,
                f"row {row}, {col} {_show(s)} contains HTML markup; it is shown as plain text",
                "remove the markup",
                "warning",
            )
        )


def _frame(rows: list[dict[str, object]], cols: tuple[Column, ...]) -> pd.DataFrame:
    return pd.DataFrame(
        {c.name: pd.array([r.get(c.name) for r in rows], dtype=DTYPES[c.kind]) for c in cols}
    )


def _study_rules(file: str, rows: list[tuple[int, dict]], problems: list[Problem]) -> None:
    seen: dict[str, int] = {}
    for rownum, r in rows:
        if not r:
            continue
        sid = r["study_id"]
        msgs: list[tuple[str, str, str, Severity]] = []
        if not re.fullmatch(r"[A-Za-z0-9_.\-]+", sid):
            msgs.append(
                (
                    "study_id",
                    f"study_id {_show(sid)} may hold only letters, digits, '_', '.' and '-'",
                    "links use the id: rename it",
                    "error",
                )
            )
        if sid in seen:
            msgs.append(
                (
                    "study_id",
                    f"study_id {sid} repeats row {seen[sid]}",
                    "give each study its own id",
                    "error",
                )
            )
        q = [r.get(k) for k in QUALITY_ITEMS]
        if r.get("quality_score") is not None and any(v is not None for v in q):
            total = sum(v for v in q if v is not None)
            if total != r["quality_score"]:
                msgs.append(
                    (
                        "quality_score",
                        f"quality_score {fmt.number(r['quality_score'])} is not the "
                        f"sum of the known quality items ({fmt.number(total)})",
                        "recompute the score",
                        "warning",
                    )
                )
        for col, msg, fix, sev in msgs:
            problems.append(Problem(file, rownum, col, f"row {rownum}, {msg}", fix, sev))
            if sev == "error":
                r.clear()
        if r:
            seen.setdefault(sid, rownum)


def _outcome_rules(
    file: str,
    rows: list[tuple[int, dict]],
    arms: dict[str, tuple] | None,
    problems: list[Problem],
) -> None:
    seen: dict[tuple, int] = {}
    for rownum, r in rows:
        if not r:
            continue
        msgs: list[tuple[str, str, str]] = []
        sid, kind = r["study_id"], r["kind"]
        if arms is not None and sid not in arms:
            msgs.append(
                (
                    "study_id",
                    f"study_id {sid} is not in the studies table (or its row there has errors)",
                    "add the study to studies first",
                )
            )
        for col in KIND_NEEDS[kind]:
            if r.get(col) is None:
                msgs.append(
                    (
                        col,
                        f"{col} is empty, but a {kind} row needs it",
                        f"fill {col} or change kind",
                    )
                )
        for other, fields in KIND_FIELDS.items():
            if other != kind:
                for col in fields:
                    if r.get(col) is not None:
                        msgs.append(
                            (
                                col,
                                f"{col} {fmt.number(r[col])} is given on a {kind} row",
                                f"put it on its own row with kind {other}",
                            )
                        )
        if kind == "hr":
            hr, lo, hi = r.get("hr"), r.get("hr_low"), r.get("hr_high")
            if (lo is None) != (hi is None):
                msgs.append(
                    (
                        "hr_low" if lo is None else "hr_high",
                        "only one end of the HR confidence interval is given",
                        "give both hr_low and hr_high, or neither",
                    )
                )
            if hr is not None and hi is not None and hi < hr:
                msgs.append(
                    (
                        "hr_high",
                        f"hr_high {fmt.number(hi)} is below hr {fmt.number(hr)}",
                        "check the interval; the ends may be swapped",
                    )
                )
            if hr is not None and lo is not None and lo > hr:
                msgs.append(
                    (
                        "hr_low",
                        f"hr_low {fmt.number(lo)} is above hr {fmt.number(hr)}",
                        "check the interval; the ends may be swapped",
                    )
                )
        if kind == "events" and arms is not None and sid in arms:
            for col, n, arm in (
                ("events_rt", arms[sid][0], "n_rt"),
                ("events_ctl", arms[sid][1], "n_ctl"),
            ):
                e = r.get(col)
                if e is not None and n is not None and e > n:
                    msgs.append(
                        (
                            col,
                            f"{col} {fmt.number(e)} is more than the arm size {arm} "
                            f"{fmt.number(n)} in studies",
                            "check the count or the arm size",
                        )
                    )
        key = (sid, r["outcome"], kind, r.get("time_years"))
        if key in seen:
            msgs.append(
                (
                    "kind",
                    f"this {r['outcome']} {kind} row repeats row {seen[key]} (same study and time)",
                    "keep one row per study, outcome, kind and time",
                )
            )
        for col, msg, fix in msgs:
            problems.append(Problem(file, rownum, col, f"row {rownum}, {msg}", fix))
        if msgs:
            r.clear()
        else:
            seen[key] = rownum


def validate_tables(
    tables: dict[str, RawTable],
    problems: list[Problem] | None = None,
    notes: list[str] | None = None,
    readable: bool = True,
    keep: tuple[str, ...] = (),
) -> ValidationReport:
    """Type and check raw tables; returns the report with the clean typed tables.
    ``keep``: studies columns beyond the layout kept as text where the file has them (the
    filter columns a dataset's description names, e.g. ``alloc``).

    Problems of one kind beyond :data:`MAX_LISTED` rows are counted, not listed (:class:`Problems`).
    """
    problems = problems if isinstance(problems, Problems) else Problems(problems or [])
    notes = [] if notes is None else notes
    dropped: list[tuple[str, int]] = []
    parsed: dict[str, list[tuple[int, dict]]] = {}
    layout = dict(TABLES)
    layout["studies"] = (
        *TABLES["studies"],
        *(Column(c, "text", only_if_given=True) for c in keep if c not in _STUDY_NAMES),
    )
    for name, cols in layout.items():
        raw = tables.get(name)
        if raw is None:
            continue
        if not _check_header(raw, cols, problems):
            readable = False
            continue
        if not raw.rows:
            problems.append(
                Problem(
                    raw.file,
                    None,
                    None,
                    f"the {name} table has no data rows",
                    "add rows below the header",
                    "warning",
                )
            )
        parsed[name] = _parse_rows(raw, cols, problems)
    arms = None
    if "studies" in parsed:
        _study_rules(tables["studies"].file, parsed["studies"], problems)
        arms = {r["study_id"]: (r.get("n_rt"), r.get("n_ctl")) for _, r in parsed["studies"] if r}
    elif "outcomes" in parsed:
        notes.append("no studies table given: study ids and arm sizes in outcomes not checked")
    if "outcomes" in parsed:
        _outcome_rules(tables["outcomes"].file, parsed["outcomes"], arms, problems)
    frames: dict[str, pd.DataFrame] = {}
    for name, rows in parsed.items():
        dropped += [(tables[name].file, n) for n, r in rows if not r]
        given = {h.strip() for h in tables[name].header}
        cols = tuple(c for c in layout[name] if not c.only_if_given or c.name in given)
        frames[name] = _frame([r for _, r in rows if r], cols)
    listed = problems.finished()
    listed.sort(key=lambda p: (p.file, p.row or 0))
    return ValidationReport(
        problems=tuple(listed),
        studies=frames.get("studies"),
        outcomes=frames.get("outcomes"),
        dropped=tuple(dropped),
        notes=tuple(notes),
        unreadable=not readable,
    )


# ---------------------------------------------------------------- template

TEMPLATE_EXAMPLE: dict[str, dict[str, object]] = {
    "studies": {
        "study_id": "Wei2019",
        "label": "Wei 2019",
        "first_author": "Wei X",
        "year": 2019,
        "design": "RCT",
        "indication": "PVTT",
        "rt_type": "external",
        "rt_timing": "neoadjuvant",
        "comparator": "hepatectomy alone",
        "n_rt": 82,
        "n_ctl": 82,
        "publication_type": "journal_article",
        "lead_only": "no",
        "in_rim2024": "unknown",
        "source_urls": "https://www.pubmed.gov/31283409/",
    },
    "outcomes": {
        "study_id": "Wei2019",
        "outcome": "OS",
        "kind": "rate",
        "time_years": 2,
        "rate_rt": 27.4,
        "rate_ctl": 9.4,
        "endpoint_as_reported": "OS",
        "source_url": "https://www.pubmed.gov/31283409/",
    },
}


def guard_text(v: object) -> object:
    """Prefix ' to text a spreadsheet could run as a formula; numbers and other text untouched."""
    if isinstance(v, str) and v and v[0] in "=+-@\t\r":
        return "'" + v
    return v


def template_frame(table: str) -> pd.DataFrame:
    """The empty layout of a table with its one documented example row (the optional
    risk-of-bias columns left out: they are documented in data/README.md)."""
    cols = tuple(c for c in TABLES[table] if not c.only_if_given)
    return _frame([TEMPLATE_EXAMPLE[table]], cols)
