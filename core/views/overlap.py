"""Overlapping cohorts: studies of one overlap group pooled together, their mark, and "one
study per overlap group".

Studies that share a value of the studies table's ``overlap_group`` column (e.g. one centre
with overlapping accrual years) may report some of the same patients; pooling more than one
of them counts those patients twice (Cochrane Handbook v6.4, section 5.2.2: multiple reports
of the same study; Senn 2009, Stat Med 28:3231, overstated precision). The data dictionary says
never to pool them together unmarked, so every place that shows a pool marks them with
:data:`OVERLAP_MARK`; the view option ``overlap=one`` keeps one study per group instead: the
one picked with ``keep=``, else the largest by patients in that outcome's numbers.

Plain Python and pandas only; the pages, the report and the CLI all use these functions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

#: The mark after the label of a study pooled with another study of its overlap group.
OVERLAP_MARK = "‡"


@dataclass(frozen=True)
class OverlapSet:
    """Studies of one overlap group pooled together (in the pool's order), by id and label."""

    group: str
    ids: tuple[str, ...]
    labels: tuple[str, ...]


@dataclass(frozen=True)
class Dropped:
    """A study left out by "one study per overlap group": its group and the study kept."""

    study_id: str
    label: str
    group: str
    kept: str
    kept_label: str
    reason: str


def groups_of(studies: pd.DataFrame) -> dict[str, str]:
    """Study id -> overlap group, for the studies that have one (blank values have none)."""
    if "overlap_group" not in studies:
        return {}
    out: dict[str, str] = {}
    for sid, group in zip(studies["study_id"], studies["overlap_group"], strict=True):
        if pd.isna(group) or not str(group).strip():
            continue
        out[str(sid)] = str(group).strip()
    return out


def _int_or_none(value: object) -> int | None:
    """A table count as int (None when missing or not a number)."""
    number = pd.to_numeric(pd.Series([value], dtype=object), errors="coerce").iloc[0]
    return None if pd.isna(number) else int(number)


def patients(n_rt: object, n_ctl: object) -> int | None:
    """Patients in both arms (None when either arm's size is unknown)."""
    a, b = _int_or_none(n_rt), _int_or_none(n_ctl)
    return None if a is None or b is None else a + b


def pick_one(
    ids: Sequence[str],
    groups: Mapping[str, str],
    sizes: Mapping[str, int | None],
    keep: Sequence[str] = (),
) -> dict[str, str]:
    """Dropped id -> kept id, one study kept per overlap group among ``ids`` (pure).

    In each group with two or more of ``ids``: the study picked in ``keep`` (if several of a
    group are picked, the largest of them), else the largest by ``sizes``; a study of unknown
    size counts as smaller than any known one; ties go to the first in ``ids`` order.
    """
    members: dict[str, list[str]] = {}
    for sid in ids:
        if sid in groups:
            members.setdefault(groups[sid], []).append(sid)
    picked = set(keep)
    dropped: dict[str, str] = {}
    for group_ids in members.values():
        if len(group_ids) < 2:
            continue
        pool = [s for s in group_ids if s in picked] or group_ids

        def rank(sid: str, pool: list[str] = pool) -> tuple[bool, int, int]:
            n = sizes.get(sid)
            return (n is not None, n or 0, -pool.index(sid))

        kept = max(pool, key=rank)
        dropped.update({s: kept for s in group_ids if s != kept})
    return dropped


def pooled_together(
    ids: Sequence[str], groups: Mapping[str, str], labels: Mapping[str, str]
) -> tuple[OverlapSet, ...]:
    """The overlap groups with two or more of the pooled ``ids``, in order of first study."""
    members: dict[str, list[str]] = {}
    for sid in ids:
        if sid in groups:
            members.setdefault(groups[sid], []).append(sid)
    return tuple(
        OverlapSet(g, tuple(m), tuple(labels.get(s, s) for s in m))
        for g, m in members.items()
        if len(m) > 1
    )


def mark(label: str) -> str:
    """'Yu 2014 ‡'."""
    return f"{label} {OVERLAP_MARK}"


def _and(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


#: How a page offers "one study per overlap group" (the sidebar control).
HOW_IN_APP = (
    'To keep one study per overlap group, choose "One per overlap group" under "Overlapping '
    'cohorts" in the sidebar.'
)
#: The same, for the report and other places outside the app.
HOW_IN_LINK = "The link option overlap=one keeps one study per overlap group."


def overlap_sentence(sets: Sequence[OverlapSet], how: str = HOW_IN_APP) -> str | None:
    """The legend of the mark, in plain words (None when no group is pooled together)."""
    if not sets:
        return None
    parts = [f"{_and(list(s.labels))} (overlap group {s.group})" for s in sets]
    return (
        f"{OVERLAP_MARK} Cohorts that may share patients (one centre, overlapping accrual) are "
        f"pooled together: {'; '.join(parts)}. Their shared patients count more than once, so "
        f"the pooled interval may be too narrow. {how}"
    ).strip()


def dropped_reason(group: str, kept_label: str, picked: bool) -> str:
    """Why a study is left out by "one study per overlap group"."""
    how = "your pick" if picked else "the largest in this outcome"
    return f"one study per overlap group: {group} is represented by {kept_label} ({how})"


def apply(
    rows: pd.DataFrame,
    studies: pd.DataFrame,
    rule: str,
    keep: Sequence[str] = (),
) -> tuple[pd.DataFrame, tuple[Dropped, ...], tuple[OverlapSet, ...]]:
    """Apply the overlap rule to one outcome's rows (columns of core.data.estimable plus
    ``included``). ``rule`` "one": the studies of a group beyond the kept one leave ``rows``
    (returned as :class:`Dropped`). Then every included study pooled with another of its group
    gets ``overlap`` = its group and :data:`OVERLAP_MARK` after its label; others get "".
    Sizes: the outcome row's arms, else the studies table's."""
    groups = groups_of(studies)
    table_n = {
        str(s): patients(a, b)
        for s, a, b in zip(studies["study_id"], studies["n_rt"], studies["n_ctl"], strict=True)
    }
    included = rows["included"].to_numpy(dtype=bool)
    ids = [str(s) for s in rows.loc[included, "study_id"]]
    labels = {str(s): str(lab) for s, lab in zip(rows["study_id"], rows["label"], strict=True)}
    dropped: tuple[Dropped, ...] = ()
    if rule == "one":
        sizes = {
            str(r.study_id): patients(r.n_rt, r.n_ctl) or table_n.get(str(r.study_id))
            for r in rows.itertuples(index=False)
        }
        gone = pick_one(ids, groups, sizes, keep)
        dropped = tuple(
            Dropped(
                s,
                labels[s],
                groups[s],
                k,
                labels[k],
                dropped_reason(groups[s], labels[k], k in keep),
            )
            for s, k in gone.items()
        )
        rows = rows[~rows["study_id"].astype(str).isin(gone)].reset_index(drop=True)
        ids = [s for s in ids if s not in gone]
    sets = pooled_together(ids, groups, labels)
    marked = {s for o in sets for s in o.ids}
    sid = rows["study_id"].astype(str)
    rows = rows.assign(
        overlap=[groups[s] if s in marked else "" for s in sid],
        label=[
            mark(lab) if s in marked else lab for s, lab in zip(sid, rows["label"], strict=True)
        ],
    )
    return rows, dropped, sets


def to_json(sets: Sequence[OverlapSet], dropped: Sequence[Dropped]) -> list[dict[str, object]]:
    """The CLI's ``overlap`` list: each group pooled together, and each group cut to one."""
    out: list[dict[str, object]] = [
        {"group": s.group, "pooled_together": list(s.ids), "mark": OVERLAP_MARK} for s in sets
    ]
    kept: dict[tuple[str, str], list[str]] = {}
    for d in dropped:
        kept.setdefault((d.group, d.kept), []).append(d.study_id)
    out += [{"group": g, "kept": k, "dropped": ids} for (g, k), ids in kept.items()]
    return out
