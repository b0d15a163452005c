"""Studies: the evidence table with sources, one study traced to its numbers, your own data."""

from __future__ import annotations

from functools import partial
from itertools import product

import pandas as pd
import streamlit as st
from streamlit.elements.lib.column_types import ColumnConfig

from core import fmt
from core.data import description, export, project, schema
from core.data.dataset import DATA_DIR, Dataset, outcomes_in_codes
from core.data.records import ordered_sources
from core.state.view import ViewState
from core.store.payload import NOTE_LIMIT
from core.views.analysis import analyse, select_studies
from ui import blocks, cache, derive, editor, evidence, memory, saved, sync, upload

sync.require_entrypoint()

UPLOADER_ROUND = "uploader_round"
RESULT = "upload_result"
TABLE_ROW_PX = 35
#: a source link shows its host
SOURCE_HOST = r"https?://(?:www\.)?([^/]+).*"


def _height(frame: pd.DataFrame) -> int:
    """A table height that shows every row without an inner scrollbar."""
    return TABLE_ROW_PX * (len(frame) + 1) + 3


def _count_column(counts: pd.Series) -> ColumnConfig:
    """Whole numbers as such; counts no integer column can hold are text (1e+308)."""
    if pd.api.types.is_integer_dtype(counts):
        return st.column_config.NumberColumn(format=fmt.PRINTF_WHOLE)
    return st.column_config.TextColumn()


def _uploader_key() -> str:
    return f"uploader_{st.session_state.get(UPLOADER_ROUND, 0)}"


def _on_upload() -> None:
    """Load the chosen files, then give the page a fresh, empty uploader: the server drops
    the files of an uploader that is no longer drawn, so their bytes are not kept twice."""
    files = st.session_state.get(_uploader_key()) or []
    if not files:  # the user removed the files: keep the dataset in use
        return
    result = upload.handle_upload([(f.name, f.getvalue()) for f in files])
    st.session_state[RESULT] = result
    if result.loaded:
        st.session_state["upload"] = (result.key, result.dataset)
        memory.trim_when_released(result.dataset)
        _not_saved()
        if result.state is not None and result.dataset is not None:
            # a project file: its view opens with its data (and its data's defaults)
            sync.adopt_defaults(sync.current(), result.dataset.description)
            sync.commit(result.state)
    _new_uploader()
    memory.trim()  # the parse's temporaries are freed


def _new_uploader() -> None:
    st.session_state[UPLOADER_ROUND] = st.session_state.get(UPLOADER_ROUND, 0) + 1


def _not_saved() -> None:
    """The data in use are no longer the link's saved version: the link drops ``data=``."""
    saved.forget()
    sync.commit(sync.current().replace(data=None))


def _edit_used() -> None:
    """The edited data are in use: not the link's saved version any more, but saving them
    makes a new version of it when they were edited from one."""
    about = saved.in_use()
    _not_saved()
    if about is not None:
        saved.edited_from(about.token)


def _back_to_bundled() -> None:
    st.session_state.pop("upload", None)
    st.session_state.pop(RESULT, None)
    _not_saved()
    _new_uploader()


def _save_and_share(dataset: Dataset, about: saved.About | None) -> None:
    """ "Save and get a link" for the data in use, the delete key once after a save, and for
    a saved version its history and what changed from the version it was made from."""
    st.header("Save and share")
    if about is None:
        st.markdown(
            "Save the data in use as a version that cannot change and get a link that carries "
            "it (`data=` in the link): whoever opens the link sees exactly these data and this "
            "view. The link is the only way in: anyone who has it can open the data."
        )
        st.text_input(
            "Note (optional, saved with the version)", key=saved.NOTE_FIELD, max_chars=NOTE_LIMIT
        )
        st.button(
            "Save and get a link",
            on_click=saved.save,
            args=(dataset,),
            icon=":material/cloud_upload:",
        )
        if saved.save_problem():
            st.error(saved.save_problem(), icon=":material/error:")  # the app's own words
        return
    secret = saved.secret()
    if secret is not None and secret[0] == about.token:
        st.success(
            "Saved. The link in your browser's address bar (and in the sidebar) now carries "
            "these data.",
            icon=":material/check_circle:",
        )
        st.warning(
            "**Keep this delete key now: it is shown only this once and cannot be recovered.** "
            "With it, the saved data can be deleted (`python -m core store delete -- TOKEN KEY`); "
            "without it, nobody can delete them.",
            icon=":material/key:",
        )
        st.code(secret[1], language=None)
        st.button("I have kept the delete key: hide it", on_click=saved.hide_secret)
    with st.expander("Versions of this saved dataset and what changed"):
        _versions(about.token)


def _versions(token: str) -> None:
    """The version history of ``token`` (newest first) and the value-by-value differences
    from the version it was made from."""
    entries = saved.history(token)
    if isinstance(entries, str):
        st.info(blocks.text(entries))
        return
    status = {
        "saved": "saved",
        "deleted": "deleted",
        "expired": "removed after the retention time",
        "unknown": "not found",
        "unreadable": "cannot be read",
    }
    st.dataframe(
        pd.DataFrame(
            {
                "Version": ["this link" if e.token == token else "earlier" for e in entries],
                "Link data=": [e.token for e in entries],
                "Saved": [saved.when(e.created) for e in entries],
                "Status": [status[e.status] for e in entries],
                "Note": [e.note or "" for e in entries],
            }
        ),
        hide_index=True,
        width="stretch",
    )
    if len(entries) < 2 or entries[1].status != "saved":
        st.caption("This version was not made from another saved version: nothing to compare.")
        return
    changes = saved.compare(entries[1].token, token)
    if isinstance(changes, str):
        st.info(blocks.text(changes))
        return
    st.markdown(f"**What changed from the previous version** ({len(changes)} differences)")
    what = {"added": "row added", "removed": "row removed", "changed": "value changed"}
    st.dataframe(
        pd.DataFrame(
            {
                "Table": [c.table for c in changes],
                "Row": [c.key for c in changes],
                "Change": [what[c.what] for c in changes],
                "Column": [c.column or "" for c in changes],
                "Before": [_cell(c.old) for c in changes],
                "After": [_cell(c.new) for c in changes],
            }
        ),
        hide_index=True,
        width="stretch",
    )


def _cell(value: object) -> str:
    """A diff value as text ('-' for missing)."""
    return "-" if value is None else str(value)


LARGEST = ""  # the picker's value for "the largest in each outcome"


def _keep_changed(widget: str, members: tuple[str, ...]) -> None:
    """A pick of the study to keep for one overlap group: one study per overlap group, with
    this group's pick in ``keep`` (other groups' picks stay)."""
    state = sync.current()
    pick = st.session_state.get(widget) or LARGEST
    keep = tuple(s for s in state.keep if s not in members) + ((pick,) if pick else ())
    sync.commit(state.replace(overlap="one", keep=keep))


def _keep_picker(state: ViewState, group: str, ids: list[str], labels: dict[str, str]) -> None:
    """Which study of ``group`` stands for it when one study per overlap group is kept."""
    widget = f"w_keep_{group}"
    picked = [s for s in ids if s in state.keep]
    st.session_state[widget] = picked[0] if picked and state.overlap == "one" else LARGEST
    st.selectbox(
        f"Keep one study of {group}",
        [LARGEST, *ids],
        format_func=lambda s: "The largest in each outcome" if s == LARGEST else labels[s],
        key=widget,
        on_change=_keep_changed,
        args=(widget, tuple(ids)),
        help="Choosing here keeps one study per overlap group (the link's overlap=one and "
        'keep=); the sidebar\'s "Pool all, marked ‡" pools them all again.',
    )


def _evidence(state: ViewState, key: str, dataset: Dataset, is_upload: bool) -> None:
    """The evidence table, overlapping cohorts and one study traced to its sources."""
    studies, outcomes = dataset.studies, dataset.outcomes
    selection = select_studies(studies, state, dataset.description)
    # ---------------------------------------------------------------- evidence table
    st.header("Evidence table")
    n_sel = len(selection.ids)
    n_hand = len([s for s in selection.ids if s in state.exclude])
    rated = not is_upload or bool(studies[list(schema.QUALITY_ITEMS)].notna().any().any())
    st.caption(
        f"{n_sel} of {len(studies)} studies pass the sidebar filters"
        + (f"; {n_hand} of them excluded by hand" if n_hand else "")
        + (
            ". **Quality** columns are this project's editorial rating of the dataset "
            "(data/quality_rubric.md), not the published meta-analysis's assessment, whose "
            "per-study scores could not be read. **?** = an item that could not be judged from "
            "the sources; **≥** marks a score that is a lower bound because of it."
            if rated
            else ". The dataset gives no quality items (all shown as ?)."
        )
    )
    if is_upload and n_sel == 0:
        st.warning(
            "None of your studies passes the sidebar filters. Widen the "
            + (", ".join(f.label.lower() for f in dataset.description.filters) or "quality")
            + " choices in the sidebar; a study whose value of a filter is empty in your file "
            "cannot pass it.",
            icon=":material/filter_alt_off:",
        )
    words = dataset.description
    table = evidence.evidence_table(studies, selection, state.exclude, words)
    treated, control = evidence.arms(words)
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        height=_height(table),
        column_config={
            "ID": st.column_config.TextColumn(pinned=True),
            "Study": st.column_config.TextColumn(pinned=True),
            "Passes filters": st.column_config.CheckboxColumn(help="Passes the sidebar filters"),
            "Excluded by hand": st.column_config.CheckboxColumn(
                help="Left out by hand (Overview include table or forest plot click)"
            ),
            "Why filtered out": st.column_config.TextColumn(width="large"),
            "Score": st.column_config.TextColumn(help="Editorial score 0-7 (sum of the items)"),
            "In Rim 2024": st.column_config.TextColumn(
                help="Known to be among the studies pooled by the published meta-analysis"
            ),
            "Source": st.column_config.LinkColumn(
                help="First source; all sources are in the study detail below",
                display_text=SOURCE_HOST,
            ),
            "Sources": st.column_config.NumberColumn(
                help="How many sources are listed", format=fmt.PRINTF_WHOLE
            ),
            f"n {treated}": _count_column(table[f"n {treated}"]),
            f"n {control}": _count_column(table[f"n {control}"]),
        },
    )
    if rated:
        with st.expander("The quality rubric (this project's editorial rating)"):
            st.markdown((DATA_DIR / "quality_rubric.md").read_text(encoding="utf-8"))
            if is_upload:
                st.caption("In your upload the quality columns hold whatever your file gives.")

    groups = evidence.overlap_groups(
        studies, tuple(s for s in selection.ids if s not in state.exclude)
    )
    if groups:
        st.subheader("Overlapping cohorts")
        st.caption(
            "Studies that share an overlap group may report some of the same patients (for "
            "example one centre with overlapping accrual years). Pooling more than one of them "
            "counts those patients twice: wherever they are pooled together they are marked ‡. "
            + (
                "Now: one study per overlap group (your pick below, else the largest in each "
                "outcome)."
                if state.overlap == "one"
                else 'Now: all pooled, marked ‡ ("Overlapping cohorts" in the sidebar, or pick '
                "the study to keep below)."
            )
        )
        for g in groups:
            line = f"**{blocks.text(g['group'])}**: " + ", ".join(
                blocks.text(s) for s in g["studies"]
            )
            chosen = g["selected"]
            if len(chosen) > 1:
                line += (
                    f". :orange[{len(chosen)} of them are in the current view: "
                    + ", ".join(blocks.text(s) for s in chosen)
                    + ".]"
                )
            st.markdown(line)
            if len(chosen) > 1:
                _keep_picker(
                    state,
                    g["group"],
                    g["selected_ids"],
                    dict(zip(g["selected_ids"], chosen, strict=True)),
                )

    # ---------------------------------------------------------------- one study
    st.header("One study, traced to its sources")
    ids = studies["study_id"].astype(str).tolist()
    labels = dict(zip(ids, table["Study"], strict=True))
    sid = st.selectbox(
        "Study",
        ids,
        format_func=lambda s: f"{labels[s]} ({s})",
        key=f"detail_{key}",
    )
    if sid is not None:
        row = studies[studies["study_id"].astype(str) == sid].iloc[0]
        st.subheader(blocks.text(labels[sid]))
        st.caption(f"In the current view: {evidence.view_status(sid, selection, state.exclude)}")
        left, right = st.columns(2, gap="large")
        with left:
            recorded = frozenset(c for c in studies.columns if studies[c].notna().any())
            facts = evidence.study_facts(row, words, recorded)
            st.dataframe(facts, hide_index=True, width="stretch", height=_height(facts))
        with right:
            st.markdown("**Quality items** (editorial rating)")
            items = evidence.quality_rows(row)
            st.dataframe(items, hide_index=True, width="stretch", height=_height(items))
            st.markdown("**Sources**")
            # the study's own records (DOI, PubMed) first, then where the numbers were read
            urls = ordered_sources(row["doi_or_pmid"], evidence.split_urls(row["source_urls"]))
            others = evidence.other_sources(row["source_urls"])
            if urls:
                st.dataframe(
                    pd.DataFrame(urls, columns=["What", "Source"]),
                    hide_index=True,
                    width="stretch",
                    column_config={"Source": st.column_config.LinkColumn()},
                )
            for other in others:
                st.text(other)
            if not urls and not others:
                st.caption("No source given.")
        notes = "" if pd.isna(row["notes"]) else str(row["notes"])
        st.markdown("**Notes**")
        st.text(notes or "No notes.")
        st.markdown("**Every outcome row, as reported**")
        rows = evidence.outcome_rows(outcomes, sid, words)
        if rows.empty:
            st.caption("No outcome rows for this study.")
        else:
            st.dataframe(
                rows,
                hide_index=True,
                width="stretch",
                height=_height(rows),
                column_config={
                    "Source": st.column_config.LinkColumn(display_text=SOURCE_HOST),
                    "Source as given": st.column_config.TextColumn(width="small"),
                },
            )
        st.markdown("**How it enters the current view**")
        analysis = analyse(state, dataset, cache.effects_fn(key, dataset))
        for use in evidence.use_in_view(analysis, state, studies, sid).itertuples(index=False):
            estimate = f", {use[2]}" if use[2] else ""
            st.markdown(
                f"- **{blocks.text(use[0])}**: {blocks.text(use[1] + estimate)}. "
                f":gray[{blocks.text(use[3])}]"
            )


def _your_data(dataset: Dataset, is_upload: bool) -> None:
    """The uploader, the last upload's report, the way back to the bundled evidence and
    the downloads (outcomes with the description's codes, as its files hold them)."""
    studies, outcomes = dataset.studies, outcomes_in_codes(dataset)
    # ---------------------------------------------------------------- your own data
    st.header("Load your own data")
    st.markdown(
        "Same layout as the bundled data (data/README.md): a **studies** and an **outcomes** "
        "table, as two CSV files (chosen together), one Excel .xlsx with sheets `studies` and "
        f"`outcomes`, or two Parquet files; with them, optionally, a `description.json` giving "
        "the dataset's own words (outcomes, arms, filters). Or a project file (.zip) made "
        f"below, alone. Up to {schema.MAX_FILE_BYTES // 1_000_000} MB per "
        "file. Rows with errors are listed and left out; a file that cannot be read leaves the "
        "data in use as it is."
    )
    st.file_uploader(
        "Studies and outcomes files, a description, or a project file",
        type=list(upload.UPLOAD_TYPES),
        accept_multiple_files=True,
        key=_uploader_key(),
        on_change=_on_upload,
    )
    result: upload.UploadResult | None = st.session_state.get(RESULT)
    if result is not None:
        summary = upload.report_summary(result)
        if not result.loaded:
            st.error(summary, icon=":material/error:")
        elif result.report.problems:
            st.warning(summary, icon=":material/warning:")
        else:
            st.success(summary, icon=":material/check_circle:")
        if result.report.problems:
            st.caption(f"Every problem found ({schema.ROW_NOTE}):")
            report = upload.report_frame(result.report)
            st.dataframe(
                report,
                hide_index=True,
                width="stretch",
                height=_height(report) if len(report) <= 20 else "auto",
                column_config={
                    "Problem": st.column_config.TextColumn(width="large"),
                    "Fix": st.column_config.TextColumn(width="medium"),
                },
            )
        if result.report.dropped:
            st.caption(
                "Rows left out for errors: " + blocks.text(upload.dropped_text(result.report))
            )
        for note in result.report.notes:
            st.caption(f"Note: {blocks.text(note)}")
        for note in result.notices:  # a project file's view, as a link's
            st.caption(f"The project's view: {blocks.text(note)}")
    if is_upload:
        st.button("Back to the bundled evidence", on_click=_back_to_bundled, icon=":material/undo:")

    st.subheader("Downloads")
    st.caption(
        "Text cells that a spreadsheet could run as a formula (starting with = + - @) get a "
        "leading ' in CSV, .xlsx and Parquet files; numbers are untouched."
    )
    t1, t2, t3 = st.columns(3)
    for cell, table in zip((t1, t2), ("studies", "outcomes"), strict=True):
        cell.download_button(
            f"Template: {table} (CSV)",
            data=partial(export.template_csv, table),
            file_name=f"{table}_template.csv",
            mime="text/csv",
            on_click="ignore",
        )
    t3.download_button(
        "Template: both (Excel .xlsx)",
        data=export.template_xlsx,
        file_name="evidence_template.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        on_click="ignore",
    )
    prefix = "upload" if is_upload else "evidence"
    formats = (
        ("CSV", export.export_csv, "csv", "text/csv"),
        ("Parquet", export.export_parquet, "parquet", "application/vnd.apache.parquet"),
    )
    tables = (("studies", studies), ("outcomes", outcomes))
    cells = st.columns(4)
    for cell, ((kind, writer, ext, mime), (table, frame)) in zip(
        cells, product(formats, tables), strict=True
    ):
        cell.download_button(
            f"This dataset: {table} ({kind})",
            data=partial(writer, frame),
            file_name=f"{prefix}_{table}.{ext}",
            mime=mime,
            on_click="ignore",
        )
    p1, p2 = st.columns(2)
    view = sync.current()
    p1.download_button(
        "Download the project (.zip)",
        data=lambda: project.write_project(dataset, view),
        file_name=f"{prefix}_project.zip",
        mime="application/zip",
        on_click="ignore",
        help="The whole workspace in one file: the data, its description, and this view "
        "(filters, model, certainty judgements and their reasons). Load it back above, or "
        "read it with `python -m core analyze --data FILE`.",
    )
    p2.download_button(
        "This dataset: description (JSON)",
        data=lambda: description.to_bytes(dataset.description),
        file_name="description.json",
        mime="application/json",
        on_click="ignore",
        help="The dataset's words (title, outcomes, arms, filters, published comparison); put "
        "it beside your CSV files when you upload them (data/README.md).",
    )


state = sync.current()
key, dataset = cache.current_dataset()
studies, outcomes = dataset.studies, dataset.outcomes
is_upload = key != cache.BUNDLED_KEY
about = saved.in_use()

st.title("Studies and data")
if about is not None:
    st.info(
        f"**Data in use: a saved dataset** (saved {about.saved_at}"
        + (f"; note: {blocks.text(about.note)}" if about.note else "")
        + f"): {len(studies)} studies, {len(outcomes)} outcome rows. Every page uses it, and "
        "the link carries it.",
        icon=":material/cloud_done:",
    )
elif is_upload:
    st.info(
        f"**Data in use: your upload** ({blocks.text(dataset.source.removeprefix('upload: '))}): "
        f"{len(studies)} studies, {len(outcomes)} outcome rows. Every page now uses it.",
        icon=":material/upload_file:",
    )
else:
    st.info(
        f"**Data in use: the bundled evidence**: {len(studies)} studies, {len(outcomes)} outcome "
        "rows read from public abstracts. You can load your own data at the bottom of this page.",
        icon=":material/dataset:",
    )
if about is None:
    st.caption(
        "A shared link carries the view (filters, model, studies left out), not uploaded data: "
        "whoever opens it sees the bundled evidence unless they load the same file, or you "
        "save the data below and share the link you then get."
    )
_save_and_share(dataset, about)

# The uploader and the way back to the bundled evidence are drawn first, into their place below
# the evidence: whatever the dataset holds, and whatever fails while the evidence is drawn,
# they are on the page.
evidence_area = st.container()
editor.draw(key, dataset, on_used=_edit_used)
_your_data(dataset, is_upload)
derive.draw(dataset, on_used=_edit_used)
with evidence_area:
    _evidence(state, key, dataset, is_upload)
