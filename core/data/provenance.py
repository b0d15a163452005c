"""Outcome rows derived in the app from a figure or from summary statistics, with where they
come from, added to the data in use through the check an edit goes through.

The schema has no column of its own for derivation: an outcome row says where and how its
numbers were read in ``note`` (with ``source_url``). A derived row's note starts with
``reconstructed from`` (survival read off a digitised Kaplan-Meier figure, Guyot et al. 2012)
or ``derived from`` (an HR worked out from summary statistics, Tierney et al. 2007); the
estimable rows (:mod:`core.data.estimable`) put that note before their own derivation, so the
forest plot, its numbers table and exports say how the value was obtained.

Rates are stored as survival in percent at t years (100 S(t) of the reconstructed patients'
Kaplan-Meier, not rounded); a derived HR as its estimate and 95% Wald CI, exp(ln HR -/+ 1.96
SE), from which the pooling reads back SE = (ln hi - ln lo) / (2 x 1.96) unchanged. An HR given
with its CI or p-value is stored as given (nothing is derived but what the pooling derives
from any reported HR).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from core import fmt
from core.data.dataset import Dataset
from core.data.edit import EditCheck, check_edits
from core.stats.hr import METHODS, TIERNEY, HazardRatio

#: How a derived row's note starts; :func:`provenance` finds them.
RECONSTRUCTED = "reconstructed from "
DERIVED = "derived from "
GUYOT = "Guyot et al. 2012"
#: The adjustment of an HR from a Cox model or log-rank test on two arms alone.
UNADJUSTED_COX = "unadjusted (Cox model on reconstructed patient data)"
UNADJUSTED_LOGRANK = "unadjusted (log-rank)"


def provenance(note: object) -> str:
    """The note of a derived row (it starts with ``reconstructed from`` or ``derived from``),
    else '' (a row as reported)."""
    if not isinstance(note, str):
        return ""
    text = note.strip()
    return text if text.lower().startswith((RECONSTRUCTED, DERIVED)) else ""


def reconstructed_note(figure: str, years: tuple[float, ...], hr: bool) -> str:
    """'reconstructed from Fig. 2A: ...' for rows read off a digitised curve."""
    what = []
    if years:
        said = [fmt.years(y) for y in years]
        listed = said[0] if len(said) == 1 else f"{', '.join(said[:-1])} and {said[-1]}"
        what.append(f"survival at {listed} year{'' if said == ['1'] else 's'}")
    if hr:
        what.append("the Cox HR (rt vs ctl)")
    return (
        f"{RECONSTRUCTED}{figure.strip()}: {' and '.join(what)} of patient data reconstructed "
        f"from the digitised curves and numbers at risk ({GUYOT})"
    )


def summary_note(result: HazardRatio, location: str) -> str:
    """'derived from <method> in Table 2 (Tierney et al. 2007): <formula>'."""
    return (
        f"{DERIVED}{METHODS[result.method]} in {location.strip()} ({TIERNEY}): {result.derivation}"
    )


@dataclass(frozen=True)
class Where:
    """Where derived numbers come from: the study and outcome they belong to, the place in the
    source ("Fig. 2A", "Table 2"), the source link and the endpoint's own name (optional)."""

    study_id: str
    outcome: str
    location: str
    source_url: str
    endpoint_as_reported: str = ""


def _row(where: Where, note: str, **values: object) -> dict[str, object]:
    return {
        "study_id": where.study_id,
        "outcome": where.outcome,
        "endpoint_as_reported": where.endpoint_as_reported.strip() or None,
        "source_url": where.source_url.strip() or None,
        "note": note,
        **values,
    }


def reconstructed_rows(
    where: Where,
    survival: Mapping[str, Mapping[str, float | None]],
    hr: Mapping[str, float] | None,
) -> pd.DataFrame:
    """Outcome rows from a reconstruction (``core.views.km.km_json``: ``survival[arm][year]``
    as a fraction, None after the arm's last follow-up; ``hr`` its estimate and 95% CI): a
    ``rate`` row per year where both arms have a value, and an ``hr`` row when ``hr`` is
    given."""
    at = {
        y: (s_rt, s_ctl)
        for y, s_rt in survival["rt"].items()
        if s_rt is not None and (s_ctl := survival["ctl"].get(y)) is not None
    }
    note = reconstructed_note(where.location, tuple(float(y) for y in at), hr is not None)
    rows = [
        _row(
            where,
            note,
            kind="rate",
            time_years=float(y),
            rate_rt=100 * float(s_rt),
            rate_ctl=100 * float(s_ctl),
        )
        for y, (s_rt, s_ctl) in at.items()
    ]
    if hr is not None:
        rows.append(
            _row(
                where,
                note,
                kind="hr",
                hr=float(hr["estimate"]),
                hr_low=float(hr["ci_low"]),
                hr_high=float(hr["ci_high"]),
                adjustment=UNADJUSTED_COX,
            )
        )
    return pd.DataFrame(rows)


#: Routes whose numbers are stored as the report gives them (the pooling reads the SE from
#: the CI or the p-value itself); the others store the derived HR with its 95% Wald CI.
AS_REPORTED = ("ci", "p")


def summary_rows(
    where: Where,
    result: HazardRatio,
    reported: Mapping[str, float],
    adjustment: str = "",
) -> pd.DataFrame:
    """The ``hr`` row of an HR from summary statistics. From the HR with its CI or p
    (``reported``: hr, ci_low, ci_high or p) the row holds those numbers unchanged and its note
    says where they were read; from a log-rank p or O - E and V it holds the derived HR with
    its 95% Wald CI, its note starts ``derived from``, and it is unadjusted unless
    ``adjustment`` says otherwise."""
    if result.method in AS_REPORTED:
        values: dict[str, object] = {"hr": float(reported["hr"])}
        if result.method == "ci":
            values |= {"hr_low": float(reported["ci_low"]), "hr_high": float(reported["ci_high"])}
        else:
            values["hr_p"] = float(reported["p"])
        note = f"{where.location.strip()}: {METHODS[result.method]}"
    else:
        low, high = result.ci()
        values = {"hr": result.hr, "hr_low": low, "hr_high": high}
        note = summary_note(result, where.location)
        adjustment = adjustment.strip() or UNADJUSTED_LOGRANK
    row = _row(where, note, kind="hr", adjustment=adjustment.strip() or None, **values)
    return pd.DataFrame([row])


def add_rows(
    base: Dataset, rows: pd.DataFrame, new_study: Mapping[str, object] | None = None
) -> EditCheck:
    """The data in use with ``rows`` added to its outcomes (and ``new_study`` to its studies),
    checked as an edit is (:func:`core.data.edit.check_edits`): schema rules and where each
    new number was read. ``EditCheck.dataset`` is None when anything fails."""
    studies = base.studies
    if new_study is not None:
        studies = pd.concat(
            [studies, pd.DataFrame([dict(new_study)]).reindex(columns=studies.columns)],
            ignore_index=True,
        )
    outcomes = pd.concat(
        [base.outcomes, rows.reindex(columns=base.outcomes.columns)], ignore_index=True
    )
    return check_edits(base, studies, outcomes)
