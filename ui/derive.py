"""The Studies page's "Add numbers from a figure or a report": survival rates and a Cox HR
reconstructed from a digitised Kaplan-Meier figure (Guyot et al. 2012), or an HR worked out
from summary statistics (Tierney et al. 2007), reviewed, then added to the data in use as an
edit is (:func:`ui.editor.use`: schema-checked, where-read rule, the data marked unsaved), with
their provenance in the rows' note (:mod:`core.data.provenance`).

The uploaded CSV files are kept in the session (``KM_FILES``: name and bytes), so that the
review is drawn from them on every rerun; the last addition can be undone (the data in use
before it come back)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, Literal

import pandas as pd
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from core import fmt, vocab
from core.charts.km import km_review_chart
from core.data import schema
from core.data.dataset import Dataset
from core.data.digitised import AT_RISK_COLUMNS, CURVE_COLUMNS, read_digitised
from core.data.edit import EditCheck
from core.data.provenance import Where, add_rows, reconstructed_rows, summary_rows
from core.stats.hr import HazardRatio, hr_from_summary
from core.stats.km import ARMS, reconstruct
from core.views.km import MONTHS_PER_YEAR, curve_frames, km_json, parse_years
from ui import blocks, cache, editor, evidence, upload

KM_FILES = "km_files"
UNDO = "derive_undo"
NEW = ""  # the study picker's value for a new study
#: (what the uploader takes, its session key, the CSV columns it needs)
KM_UPLOADS = (
    ("curves", "km_up_curves", CURVE_COLUMNS),
    ("at_risk", "km_up_at_risk", AT_RISK_COLUMNS),
)
#: The form fields of each way to an HR: (hr_from_summary keyword, label, whole number)
HR_FIELDS: dict[str, tuple[tuple[str, str, bool], ...]] = {
    "ci": (
        ("hr", "HR", False),
        ("ci_low", "95% CI, lower", False),
        ("ci_high", "95% CI, upper", False),
    ),
    "p": (("hr", "HR", False), ("p", "Two-sided p-value", False)),
    "logrank_events": (
        ("p", "Two-sided log-rank p-value", False),
        ("events_rt", "Events with RT", True),
        ("events_ctl", "Events with control", True),
    ),
    "logrank_total": (
        ("p", "Two-sided log-rank p-value", False),
        ("events", "Events in both arms", True),
        ("n_rt", "Patients randomised to RT", True),
        ("n_ctl", "Patients randomised to control", True),
    ),
    "o_minus_e": (("o_minus_e", "O − E (RT arm)", False), ("v", "V", False)),
}


def _took(which: str, widget: str) -> None:
    """Keep the chosen file's name and bytes (or forget it when removed)."""
    got = st.session_state.get(widget)
    files = dict(st.session_state.get(KM_FILES) or {})
    if got is None:
        files.pop(which, None)
    else:
        files[which] = (got.name, got.getvalue())
    st.session_state[KM_FILES] = files


def _add(check: EditCheck, what: str, on_used: Callable[[], None] | None) -> None:
    """Use the checked data as an edit is used; remember the data before, for undo."""
    before = cache.current_dataset()
    editor.use(check, on_used)
    st.session_state[UNDO] = (before, cache.current_dataset()[0], what)


def _undo(on_used: Callable[[], None] | None) -> None:
    """The data in use before the last addition come back."""
    got = st.session_state.pop(UNDO, None)
    if got is None:
        return
    (key, dataset), _, _ = got
    if key == cache.BUNDLED_KEY:
        st.session_state.pop("upload", None)
    else:
        st.session_state["upload"] = (key, dataset)
    if on_used is not None:
        on_used()


def _where(
    prefix: str, dataset: Dataset, n_arms: tuple[int, int] | None
) -> tuple[Where | None, dict[str, object] | None, list[str]]:
    """The study (existing or new), outcome, place in the source and link; with what is
    still missing, in words."""
    ids = dataset.studies["study_id"].astype(str).tolist()
    labels = dict(zip(ids, dataset.studies["label"].fillna("").astype(str), strict=True))
    left, right = st.columns(2)
    sid = left.selectbox(
        "Study",
        [NEW, *ids],
        format_func=lambda s: "A new study" if s == NEW else f"{labels[s] or s} ({s})",
        key=f"{prefix}_study",
    )
    words = dataset.description
    outcome = right.selectbox(
        "Outcome",
        list(words.slots if words.given else vocab.OUTCOME_CHOICES),
        format_func=lambda slot: (
            vocab.title(f"{words.words(slot).label} ({words.words(slot).code})")
            if words.given
            else vocab.title(vocab.OUTCOME_CHOICES[slot])
        ),
        key=f"{prefix}_outcome",
    )
    location = left.text_input(
        "Where in the source",
        key=f"{prefix}_location",
        placeholder="Fig. 2A" if prefix == "km" else "Table 2",
        help="The figure or table the numbers were read from: it goes into each row's note.",
    )
    url = right.text_input(
        "Source link",
        key=f"{prefix}_url",
        placeholder="https://doi.org/...",
        help="A DOI, PubMed or publisher link of the source.",
    )
    endpoint = left.text_input(
        "Endpoint as reported (optional)",
        key=f"{prefix}_endpoint",
        help="The source's own name for it, e.g. RFS for a DFS figure.",
    )
    missing = []
    if not location.strip():
        missing.append("where in the source the numbers were read (e.g. 'Fig. 2A')")
    if not url.strip():
        missing.append("the source link")
    new: dict[str, object] | None = None
    if sid == NEW:
        new, more = _new_study(prefix, url, n_arms)
        missing += more
        sid = str(new["study_id"])
    if missing:
        return None, new, missing
    return Where(sid, outcome, location, url, endpoint), new, []


def _arm_words(text: str) -> str:
    """``text`` with the layout's arms ("RT", "control") named as the dataset in use names
    them ("vaccinated", "not vaccinated"); unchanged for the bundled words."""
    treated, control = evidence.arms(cache.current_dataset()[1].description)
    return re.sub(r"\b(RT|control)\b", lambda m: treated if m[1] == "RT" else control, text)


def _layout_choice(
    column: Literal["design", "indication", "rt_type"],
    where: DeltaGenerator,
    prefix: str,
) -> str | None:
    """A new study's value of a layout filter column, asked only when the dataset's
    description offers that filter (dat.bcg has no indication or radiotherapy type)."""
    offered = cache.current_dataset()[1].description.filter(column)
    if offered is None:
        return None
    names = dict(offered.values)
    return where.selectbox(
        offered.label,
        list(names),
        format_func=lambda code: vocab.title(names[code]),
        key=f"{prefix}_new_{'rt' if column == 'rt_type' else column}",
    )


def _new_study(
    prefix: str, url: str, n_arms: tuple[int, int] | None
) -> tuple[dict[str, object], list[str]]:
    """The new study's row from its fields (arm sizes from the at-risk table when given)."""
    st.markdown("**The new study**")
    a, b, c = st.columns(3)
    sid = a.text_input("Study ID", key=f"{prefix}_new_id", placeholder="Lee2024").strip()
    label = b.text_input("Label", key=f"{prefix}_new_label", placeholder="Lee 2024").strip()
    year = c.number_input("Year", 1900, 2100, value=None, step=1, key=f"{prefix}_new_year")
    design = _layout_choice("design", a, prefix)
    indication = _layout_choice("indication", b, prefix)
    rt_type = _layout_choice("rt_type", c, prefix)
    if n_arms is None:
        n_rt = a.number_input(
            _arm_words("Patients with RT"), 0, value=None, step=1, key=f"{prefix}_new_nrt"
        )
        n_ctl = b.number_input(
            _arm_words("Patients with control"), 0, value=None, step=1, key=f"{prefix}_new_nctl"
        )
    else:
        n_rt, n_ctl = n_arms
        st.caption(
            _arm_words(
                f"Arm sizes from the numbers at risk at time 0: {n_rt} with RT, {n_ctl} with "
                "control."
            )
        )
    row: dict[str, object] = {
        "study_id": sid,
        "label": label or sid or None,  # the forest plot's row label
        "year": year,
        "design": design,
        "indication": indication,
        "rt_type": rt_type,
        "n_rt": n_rt,
        "n_ctl": n_ctl,
        "source_urls": url.strip() or None,
    }
    return row, ([] if sid else ["an ID for the new study"])


def _add_block(
    prefix: str,
    dataset: Dataset,
    rows: pd.DataFrame | None,
    where: tuple[Where | None, dict[str, object] | None, list[str]],
    on_used: Callable[[], None] | None,
) -> None:
    """The check of the rows to add and the button that adds them."""
    place, new, missing = where
    if missing:
        st.info("To add these numbers, give " + "; ".join(missing) + ".", icon=":material/info:")
        return
    if rows is None or rows.empty or place is None:
        return
    check = add_rows(dataset, rows, new)
    columns = [c.name for c in schema.OUTCOME_COLUMNS if c.name in rows]
    shown = rows.reindex(columns=columns).dropna(axis=1, how="all")
    st.markdown(f"**Rows to add to the outcomes** (study {blocks.text(place.study_id)})")
    st.dataframe(shown, hide_index=True, width="stretch")
    if check.dataset is None:
        errors = [p for p in check.problems if p.severity == "error"]
        st.error(
            f"These rows cannot be added: {len(errors)} problem(s) (rows numbered as in the "
            "editor above, the first row of a table is row 1); the data in use are unchanged.",
            icon=":material/error:",
        )
        report = schema.ValidationReport(check.problems, None, None)
        st.dataframe(upload.report_frame(report), hide_index=True, width="stretch")
    st.button(
        "Add to the dataset",
        key=f"{prefix}_add",
        type="primary",
        disabled=check.dataset is None,
        on_click=_add,
        args=(check, _what(place, rows, new), on_used),
        icon=":material/add:",
    )


def _what(place: Where, rows: pd.DataFrame, new: Mapping[str, object] | None) -> str:
    """'2 outcome rows of the new study Lee2024' and the like."""
    n = len(rows)
    whose = "the new study" if new is not None else "study"
    return f"{n} outcome row{'s' if n != 1 else ''} of {whose} {place.study_id}"


def _curve(dataset: Dataset, on_used: Callable[[], None] | None) -> None:
    """Upload the two CSVs, review the reconstruction, add its rates and HR."""
    treated, control = evidence.arms(dataset.description)
    st.markdown(
        "Digitise the figure's curves (e.g. with WebPlotDigitizer) into "
        f"`{','.join(CURVE_COLUMNS)}` (arm `rt` for {treated}, `ctl` for {control}; survival "
        f"as a fraction or in percent) and type the numbers at risk printed under it into "
        f"`{','.join(AT_RISK_COLUMNS)}`. The patients are reconstructed (Guyot et al. 2012), "
        f"then survival is read at the years you choose and a Cox model gives the HR ({treated} "
        f"vs {control}). A reconstruction approximates the published data: check the fit below."
    )
    a, b = st.columns(2)
    for col, (which, widget, columns) in zip((a, b), KM_UPLOADS, strict=True):
        col.file_uploader(
            f"{'Curve points' if which == 'curves' else 'Numbers at risk'} ({','.join(columns)})",
            type=["csv"],
            key=widget,
            on_change=_took,
            args=(which, widget),
        )
    files: Mapping[str, tuple[str, bytes]] = st.session_state.get(KM_FILES) or {}
    years_text = st.text_input("Survival at (years)", value="1, 2", key="km_years")
    if "curves" not in files or "at_risk" not in files:
        st.caption("Choose both files to see the reconstruction.")
        return
    try:
        years = parse_years(years_text)
    except ValueError:
        st.error(
            "Survival at: give years above 0 separated by commas, e.g. 1, 2.",
            icon=":material/error:",
        )
        return
    try:
        rec = reconstruct(*read_digitised(files["curves"], files["at_risk"]))
    except ValueError as exc:  # KMInputError and unreadable files: one plain line
        st.error(f"These files cannot be used: {blocks.text(str(exc))}", icon=":material/error:")
        return
    result = km_json(rec, years)
    st.altair_chart(km_review_chart(*curve_frames(rec)), width="content")
    st.dataframe(_arms_table(result, years), hide_index=True, width="stretch")
    hr = result["hr"]
    st.markdown(
        f"**Hazard ratio ({treated} vs {control}): "
        f"{fmt.ratio_with_ci(hr['estimate'], hr['ci_low'], hr['ci_high'])}** (95% CI)"
    )
    st.caption(blocks.text(hr["method"]) + ".")
    if result["notes"]:
        st.caption("What reading the files changed: " + blocks.text("; ".join(result["notes"])))
    c1, c2 = st.columns(2)
    with_rates = c1.checkbox("Add the survival rates", value=True, key="km_with_rates")
    with_hr = c2.checkbox("Add the hazard ratio", value=True, key="km_with_hr")
    n_arms = (rec.arms["rt"].n, rec.arms["ctl"].n)
    where = _where("km", dataset, n_arms)
    rows = None
    if where[0] is not None and (with_rates or with_hr):
        survival = (
            {a: result["arms"][a]["survival"] for a in ARMS}
            if with_rates
            else {a: {} for a in ARMS}
        )
        rows = reconstructed_rows(where[0], survival, hr if with_hr else None)
    elif not (with_rates or with_hr):
        st.caption("Choose the rates, the hazard ratio or both to add them.")
    _add_block("km", dataset, rows, where, on_used)


def _arms_table(result: dict, years: tuple[float, ...]) -> pd.DataFrame:
    """Per arm: patients, events, survival at each year (percent), last follow-up."""
    rows = []
    for arm in ARMS:
        got = result["arms"][arm]
        row = {
            "Arm": vocab.title(_arm_words("RT" if arm == "rt" else "control")),
            "Patients": fmt.count(got["n"]),
            "Events": fmt.count(got["events"]),
        }
        for y in years:
            s = got["survival"][f"{y:g}"]
            row[f"Survival at {fmt.years(y)} y"] = (
                "after the last follow-up" if s is None else fmt.percent(100 * s)
            )
        row["Last follow-up"] = (
            f"{fmt.follow_up_years(got['last_follow_up_months'] / MONTHS_PER_YEAR)} y"
        )
        rows.append(row)
    return pd.DataFrame(rows)


def _summary(dataset: Dataset, on_used: Callable[[], None] | None) -> None:
    """The form for an HR from summary statistics, what it gives and how, and adding it."""
    method = st.radio(
        "The report gives",
        list(vocab.HR_FROM),
        format_func=lambda m: vocab.title(vocab.HR_FROM[m]),
        key="hr_method",
    )
    fields = HR_FIELDS[method]
    given: dict[str, Any] = {}  # number inputs and the favoured arm, by keyword
    cols = st.columns(len(fields))
    for col, (name, label, whole) in zip(cols, fields, strict=True):
        given[name] = col.number_input(
            _arm_words(label),
            min_value=0 if whole else None,
            value=None,
            step=1 if whole else None,
            format=None if whole else fmt.PRINTF_ENTERED,
            key=f"hr_{method}_{name}",
        )
    if method.startswith("logrank"):
        given["favours"] = st.radio(
            "The difference favours",
            list(vocab.FAVOURS),
            format_func=lambda a: vocab.title(_arm_words(vocab.FAVOURS[a])),
            key="hr_favours",
            horizontal=True,
        )
    adjustment = st.text_input(
        "Adjustment as reported (optional)",
        key="hr_adjustment",
        help="e.g. multivariable Cox, PSM; a log-rank or O − E result is unadjusted.",
    )
    if any(given[name] is None for name, _, _ in fields):
        st.caption("Fill every field to see the hazard ratio.")
        return
    try:
        result: HazardRatio = hr_from_summary(**given)
    except ValueError as exc:
        st.error(f"No hazard ratio: {blocks.text(str(exc))}", icon=":material/error:")
        return
    low, high = result.ci()
    st.markdown(
        _arm_words(f"**Hazard ratio (RT vs control): {fmt.ratio_with_ci(result.hr, low, high)}**")
        + " (95% CI)"
    )
    st.caption(blocks.text(result.statement))
    where = _where("hr", dataset, None)
    rows = None if where[0] is None else summary_rows(where[0], result, given, adjustment)
    _add_block("hr", dataset, rows, where, on_used)


def draw(dataset: Dataset, on_used: Callable[[], None] | None = None) -> None:
    """The section: the last addition (with undo), then the two ways to new numbers."""
    st.header("Add numbers from a figure or a report")
    last = st.session_state.get(UNDO)
    if last is not None and last[1] == cache.current_dataset()[0]:
        st.success(
            f"Added to the data in use: {blocks.text(last[2])}. Every page now uses them; save "
            "them to share them.",
            icon=":material/check:",
        )
        st.button("Undo the addition", on_click=_undo, args=(on_used,), icon=":material/undo:")
    st.caption(
        "The numbers become outcome rows of the data in use, checked as an edit is, with "
        "where and how they were obtained in each row's note; every page then uses them."
    )
    curve_tab, summary_tab = st.tabs(["From a survival curve", "From summary statistics"])
    with curve_tab:
        _curve(dataset, on_used)
    with summary_tab:
        _summary(dataset, on_used)
