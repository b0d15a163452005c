"""Command line: ``python -m core validate | analyze | sensitivity | bias | rscript | store | km
| hr``;
one small function per subcommand."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from core.data import description, project
from core.data.dataset import Dataset, load_bundled, load_files
from core.data.digitised import read_digitised
from core.data.estimable import estimable
from core.data.readers import validate_files
from core.report.rscript import r_script
from core.report.sof import certainty_json, sof_table
from core.state.grade import grade_notices
from core.state.view import ViewState, encode_query, parse_query
from core.stats.hr import hr_from_summary
from core.stats.km import reconstruct
from core.store import Missing, Refused, StoreUnavailable, open_store
from core.store.link import split_data
from core.views import bias, overlap, sensitivity
from core.views.analysis import (
    BIAS_ANALYSES,
    SENSITIVITY_ANALYSES,
    EstimableFn,
    analyse,
    frequentist_view,
    outcome_words_json,
    ratio_pages_unavailable,
    to_json,
)
from core.views.km import km_json, parse_years
from core.views.plain import plain

TABLE_SUFFIXES = (".csv", ".xlsx", ".parquet", ".pq")


def _files_of(target: Path, words: bool = False) -> dict[str, bytes]:
    """The files to validate: the file itself, or a folder's studies.* and outcomes.* files
    (``words``: and its description.json, when there is one)."""
    if target.is_dir():
        paths = sorted(
            p
            for p in target.iterdir()
            if (
                p.suffix.lower() in TABLE_SUFFIXES
                and (p.stem.lower() in ("studies", "outcomes") or p.suffix.lower() == ".xlsx")
            )
            or (words and p.name.lower() == description.FILE_NAME)
        )
    else:
        paths = [target]
    return {p.name: p.read_bytes() for p in paths}


def cmd_validate(args: argparse.Namespace) -> int:
    """Print the validation report; exit 0 when clean, 1 with any problem, 2 when unreadable."""
    target = Path(args.path)
    if not target.exists():
        print(f"{target}: no such file or folder", file=sys.stderr)
        return 2
    files = _files_of(target)
    if not files:
        print(f"{target}: no studies.* or outcomes.* (.csv, .xlsx, .parquet) file found")
        return 2
    report = validate_files(files)
    print(report.text())
    if report.unreadable:
        return 2
    return 0 if report.clean else 1


def _load_data(path: str | None) -> Dataset | str:
    """The bundled dataset, or the one in ``path`` (a file or folder, as ``validate`` reads
    it, with a folder's description.json; or a project file); a string says why it cannot be
    read."""
    if path is None:
        return load_bundled()
    target = Path(path)
    if not target.exists():
        return f"{target}: no such file or folder"
    try:
        files = _files_of(target, words=True)
    except OSError as exc:
        return f"{target}: cannot read ({exc.strerror or exc})"
    if target.is_file() and target.suffix.lower() == project.SUFFIX:
        loaded = _load_project(target, files[target.name])
        return loaded if isinstance(loaded, str) else loaded.dataset
    if not files:
        return f"{target}: no studies.* or outcomes.* (.csv, .xlsx, .parquet) file found"
    dataset, report = load_files(files, source=str(target))
    if dataset is None:
        return f"{target}: the data cannot be read\n{report.text()}"
    return dataset


def _load_project(target: Path, data: bytes) -> project.Project | str:
    """The project file at ``target``; a string says why it cannot be read."""
    loaded, problems = project.read_project(data, target.name)
    if loaded is None:
        return f"{target}: the project cannot be read\n" + "\n".join(map(str, problems))
    return loaded


def _project_view(args: argparse.Namespace, query: Any) -> Any:
    """A project file's view when ``--data`` is one and the link gives no view of its own."""
    path = getattr(args, "data", None)
    given = query if not isinstance(query, str) else query.strip().lstrip("?").strip()
    if path is None or given or not path.lower().endswith(project.SUFFIX):
        return query
    try:
        loaded = _load_project(Path(path), Path(path).read_bytes())
    except OSError:
        return query
    return query if isinstance(loaded, str) else encode_query(loaded.state)


def _open_token(token: str) -> Dataset | str:
    """The saved version of ``token`` in ``EXPLORER_STORE``; a string says why not."""
    try:
        got = open_store().open(token)
    except StoreUnavailable as exc:
        return str(exc)
    if isinstance(got, Missing):
        return f"data={got.token}: {got.message}"
    return got.dataset


def _link_data(args: argparse.Namespace) -> tuple[Dataset | str, Any]:
    """The dataset a link is read on (``--data``, the link's ``data=`` token, or the bundled
    data; a string says why it cannot be read) and the rest of the link for ``parse_query``."""
    tokens, query = split_data(args.query)
    if not tokens:
        return _load_data(args.data), query
    if args.data is not None:
        return "give --data or a link with data=, not both", query
    if len(tokens) > 1:
        return "the link has more than one data= value", query
    return _open_token(tokens[0]), query


def _unreadable(why: str) -> int:
    """Say on stderr why the data cannot be read; the exit code 2."""
    print(why, file=sys.stderr)
    return 2


def _print_view(args: argparse.Namespace, view: Callable[[ViewState, Dataset], dict]) -> int:
    """Print ``view(state, dataset)`` of a link as JSON, the link's notices first among its
    ``notices``; exit 0, or 2 when its data cannot be read."""
    dataset, query = _link_data(args)
    if isinstance(dataset, str):
        return _unreadable(dataset)
    parsed = parse_query(_project_view(args, query), description.link_defaults(dataset.description))
    out = view(parsed.state, dataset)
    notices = [*parsed.notices, *grade_notices(parsed.state), *out.get("notices", [])]
    _print_json({**out, "notices": notices})
    return 0


def _print_json(value: object) -> None:
    print(json.dumps(plain(value), indent=2, allow_nan=False, default=str))


def _analysis(state: ViewState, dataset: Dataset) -> dict:
    """The analysis as JSON, each outcome with its certainty (the summary of findings' aid,
    the link's judgements applied)."""
    analysis = analyse(state, dataset)
    out = to_json(analysis)
    for row in sof_table(analysis, dataset.studies):
        out[row.outcome]["certainty"] = certainty_json(row.certainty)
    return out


def cmd_analyze(args: argparse.Namespace) -> int:
    """Print the analysis of a link as JSON; exit 0, or 2 when its data cannot be read."""
    return _print_view(args, _analysis)


def _sensitivity(state: ViewState, dataset: Dataset) -> dict:
    state, bayes_note = frequentist_view(state, SENSITIVITY_ANALYSES)
    unavailable = ratio_pages_unavailable(state)
    if unavailable:
        return {"query": state.to_dict(), "notices": [], "message": unavailable}
    effects: EstimableFn = lambda o, m, t, r, z: estimable(dataset, o, m, t, r, z)  # noqa: E731
    oa = analyse(state, dataset, effects).outcomes[state.outcome]
    doc = sensitivity.to_json(sensitivity.sensitivity_view(state, oa, dataset.studies, effects))
    doc["notices"] = [bayes_note] if bayes_note else []
    overlaps = overlap.to_json(oa.overlaps, oa.overlap_dropped)
    return {**doc, "outcome_words": outcome_words_json(oa), "overlap": overlaps}


def _bias(state: ViewState, dataset: Dataset) -> dict:
    state, bayes_note = frequentist_view(state, BIAS_ANALYSES)
    unavailable = ratio_pages_unavailable(state)
    if unavailable:
        return {"query": state.to_dict(), "notices": [], "message": unavailable}
    oa = analyse(state, dataset).outcomes[state.outcome]
    doc = bias.to_json(bias.bias_view(state, oa, dataset.studies))
    doc["notices"] = [bayes_note] if bayes_note else []
    overlaps = overlap.to_json(oa.overlaps, oa.overlap_dropped)
    return {**doc, "outcome_words": outcome_words_json(oa), "overlap": overlaps}


def cmd_sensitivity(args: argparse.Namespace) -> int:
    """Print what the Sensitivity page shows for a link as JSON; exit 0, or 2 (bad --data)."""
    return _print_view(args, _sensitivity)


def cmd_bias(args: argparse.Namespace) -> int:
    """Print what the Small-study effects page shows for a link as JSON; exit 0 or 2."""
    return _print_view(args, _bias)


def cmd_rscript(args: argparse.Namespace) -> int:
    """Print the R (metafor) script of a link; exit 0, or 2 when its data cannot be read."""
    dataset, query = _link_data(args)
    if isinstance(dataset, str):
        return _unreadable(dataset)
    parsed = parse_query(query, description.link_defaults(dataset.description))
    for notice in parsed.notices:
        print(f"notice: {notice}", file=sys.stderr)
    print(r_script(analyse(parsed.state, dataset), dataset, args.outcome), end="")
    return 0


def cmd_store_save(args: argparse.Namespace) -> int:
    """Save a dataset file or folder; print JSON with ``data`` (the token) and ``delete_key``.
    Exit 0; 1 when the data have errors or the store refuses; 2 when unreadable/unavailable."""
    dataset = _load_data(args.path)
    if isinstance(dataset, str):
        print(dataset, file=sys.stderr)
        return 2
    if dataset.report.errors:
        print(
            f"{args.path}: rows with errors would be left out; fix them before saving\n"
            + dataset.report.text(),
            file=sys.stderr,
        )
        return 1
    try:
        saved = open_store().save(dataset, note=args.note, parent=args.parent)
    except StoreUnavailable as exc:
        return _unreadable(str(exc))
    if isinstance(saved, Refused):
        print(f"not saved: {saved.message}", file=sys.stderr)
        return 1
    _print_json(
        {
            "data": saved.token,
            "delete_key": saved.delete_key,
            "parent": saved.parent,
            "bytes": saved.size,
        }
    )
    return 0


def cmd_store_delete(args: argparse.Namespace) -> int:
    """Delete a saved version with its delete key; exit 0, 1 when refused, 2 unavailable."""
    try:
        result = open_store().delete(args.token, args.delete_key)
    except StoreUnavailable as exc:
        return _unreadable(str(exc))
    if not result.ok:
        print(f"not deleted: {result.message}", file=sys.stderr)
        return 1
    _print_json({"deleted": True})
    return 0


def _print_versions(query: Callable[[], Any]) -> int:
    """Print the rows a store ``query`` returns as JSON (exit 0); a missing token (1) or an
    unavailable store (2) is said on stderr."""
    try:
        result = query()
    except StoreUnavailable as exc:
        return _unreadable(str(exc))
    if isinstance(result, Missing):
        print(f"data={result.token}: {result.message}", file=sys.stderr)
        return 1
    _print_json([asdict(row) for row in result])
    return 0


def cmd_store_history(args: argparse.Namespace) -> int:
    """Print a version and those it was made from (newest first) as JSON; exit 0, 1, or 2."""
    return _print_versions(lambda: open_store().history(args.token))


def cmd_store_diff(args: argparse.Namespace) -> int:
    """Print every value that differs between two versions as JSON; exit 0, 1, or 2."""
    return _print_versions(lambda: open_store().compare(args.old, args.new))


class _ValuesMayStartWithDash(argparse.ArgumentParser):
    """The parser of each ``store`` command: an argument is an option only when it is one of
    the command's own option strings (``--note``, ``--note=TEXT``, ``-h``); anything else is a
    value. Tokens and delete keys are URL-safe base64 (1 in 64 starts with "-") and notes are
    free text: argparse alone would read ``-AbC...`` as an unknown option and ``-hX...`` as
    ``-h``. ``store delete -- TOKEN KEY`` keeps working."""

    def _parse_optional(self, arg_string: str) -> Any:
        if arg_string.split("=", 1)[0] in self._option_string_actions:
            return super()._parse_optional(arg_string)
        return None  # a value


def _store_parser(sub: Any) -> None:
    """``store save | delete | history | diff`` (the store is ``EXPLORER_STORE``)."""
    store = sub.add_parser(
        "store", help="save datasets as links (data=TOKEN) in EXPLORER_STORE, delete them"
    )
    ops = store.add_subparsers(
        dest="store_command", required=True, parser_class=_ValuesMayStartWithDash
    )
    p = ops.add_parser("save", help="save a dataset file or folder; prints data and delete_key")
    p.add_argument("path", metavar="FILE_OR_DIR")
    p.add_argument("--note", help="a note kept with the version (shown in its history)")
    p.add_argument("--parent", metavar="TOKEN", help="the version this one is an edit of")
    p.set_defaults(func=cmd_store_save)
    p = ops.add_parser("delete", help="delete a saved version (its links then say so)")
    p.add_argument("token", metavar="TOKEN")
    p.add_argument("delete_key", metavar="DELETE_KEY")
    p.set_defaults(func=cmd_store_delete)
    p = ops.add_parser("history", help="a version and the versions it was made from")
    p.add_argument("token", metavar="TOKEN")
    p.set_defaults(func=cmd_store_history)
    p = ops.add_parser("diff", help="every value that differs between two versions")
    p.add_argument("old", metavar="OLD_TOKEN")
    p.add_argument("new", metavar="NEW_TOKEN")
    p.set_defaults(func=cmd_store_diff)


def cmd_km(args: argparse.Namespace) -> int:
    """Reconstruct a trial from digitised Kaplan-Meier curves and print survival at the given
    years and the Cox HR as JSON; exit 0, or 2 with one line on stderr for bad input."""
    try:
        years = parse_years(args.t_years)
        files = []
        for path in (Path(args.curves), Path(args.at_risk)):
            try:
                files.append((path.name, path.read_bytes()))
            except OSError as exc:
                raise ValueError(f"{path}: cannot read ({exc.strerror or exc})") from None
        curves, at_risk = read_digitised(files[0], files[1])
        out = km_json(reconstruct(curves, at_risk), years)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    _print_json(out)
    return 0


#: ``hr`` options: (flag, type, help); each is a keyword of ``hr_from_summary``.
HR_OPTIONS: tuple[tuple[str, type, str], ...] = (
    ("--hr", float, "the reported hazard ratio (RT vs control)"),
    ("--ci-low", float, "lower limit of its 95%% CI"),
    ("--ci-high", float, "upper limit of its 95%% CI"),
    ("--p", float, "a two-sided p-value (of the HR, or of the log-rank test)"),
    ("--events-rt", int, "events in the RT arm (log-rank)"),
    ("--events-ctl", int, "events in the control arm (log-rank)"),
    ("--events", int, "total events, when only that is reported (log-rank)"),
    ("--n-rt", int, "patients randomised to RT (with --events)"),
    ("--n-ctl", int, "patients randomised to control (with --events)"),
    ("--o-minus-e", float, "O - E of the log-rank test (RT arm)"),
    ("--v", float, "the variance V of the log-rank statistic"),
)


def cmd_hr(args: argparse.Namespace) -> int:
    """Print the HR (RT vs control) that a report's summary statistics give, as JSON (Tierney
    et al. 2007); exit 0, or 2 with one line on stderr when they are not enough."""
    given = {
        flag[2:].replace("-", "_"): getattr(args, flag[2:].replace("-", "_"))
        for flag, _, _ in HR_OPTIONS
    }
    try:
        res = hr_from_summary(favours=args.favours, **given)
        ci_low, ci_high = res.ci()
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    _print_json(
        {
            "hr": res.hr,
            "ci_low": ci_low,
            "ci_high": ci_high,
            "yi": res.yi,
            "se": res.se,
            "method": res.method,
            "derivation": res.statement,
        }
    )
    return 0


def _data_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--data",
        metavar="FILE_OR_DIR",
        help="a dataset file or folder, as validate reads it (a folder's description.json "
        "too), or a project file (.zip: its view is used when no link is given); default: "
        "the link's data= token in EXPLORER_STORE, else the bundled data",
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with one subparser per subcommand."""
    parser = argparse.ArgumentParser(prog="python -m core", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser(
        "validate",
        help="check a dataset file or folder (studies/outcomes as .csv, .xlsx or .parquet)",
    )
    p.add_argument("path", metavar="FILE_OR_DIR")
    p.set_defaults(func=cmd_validate)
    p = sub.add_parser(
        "analyze",
        help="print the analysis of a link (query string or full URL) as JSON",
    )
    p.add_argument("query", metavar="QUERY_OR_URL", help='e.g. "?design=RCT&exclude=Yu2014"')
    _data_option(p)
    p.set_defaults(func=cmd_analyze)
    for name, func, what in (
        ("sensitivity", cmd_sensitivity, "the Sensitivity page"),
        ("bias", cmd_bias, "the Small-study effects page"),
    ):
        p = sub.add_parser(name, help=f"print what {what} shows for a link as JSON")
        p.add_argument("query", metavar="QUERY_OR_URL", help='e.g. "?outcome=DFS&method=DL"')
        _data_option(p)
        p.set_defaults(func=func)
    p = sub.add_parser(
        "rscript",
        help="print an R script that reproduces the view of a link with metafor",
    )
    p.add_argument("query", metavar="QUERY_OR_URL", help='e.g. "?design=RCT&exclude=Yu2014"')
    _data_option(p)
    p.add_argument("--outcome", choices=("OS", "DFS"), help="one outcome only (default: both)")
    p.set_defaults(func=cmd_rscript)
    _store_parser(sub)
    p = sub.add_parser(
        "km",
        help="survival at t and the hazard ratio from digitised Kaplan-Meier curves (Guyot)",
        description="Reconstruct patient data from digitised Kaplan-Meier curves and numbers "
        "at risk (Guyot et al. 2012) and print, as JSON, per arm n, events and survival at "
        "the given years, and the Cox hazard ratio of rt vs ctl with its 95%% CI.",
    )
    p.add_argument("curves", metavar="CURVES.csv", help="columns arm,time_months,survival")
    p.add_argument("at_risk", metavar="AT_RISK.csv", help="columns arm,time_months,n_at_risk")
    p.add_argument(
        "--t-years", default="1,2", help="years at which to give survival (default: 1,2)"
    )
    p.set_defaults(func=cmd_km)
    p = sub.add_parser(
        "hr",
        help="a hazard ratio from a report's summary statistics (Tierney et al. 2007)",
        description="Print, as JSON, the hazard ratio of RT vs control with its 95%% CI, ln HR "
        "(yi) and its SE, from the first of these that is given: O - E and V; the HR with its "
        "CI; the HR with its p; a two-sided log-rank p with --favours and the events per arm "
        "(or the total events and the arm sizes). A p given as a threshold ('p < 0.05') "
        "cannot be used.",
    )
    for flag, kind, text in HR_OPTIONS:
        p.add_argument(flag, type=kind, help=text)
    p.add_argument(
        "--favours",
        choices=("rt", "ctl"),
        help="the arm with fewer events, which a p-value alone does not say",
    )
    p.set_defaults(func=cmd_hr)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run a subcommand; a reader that closes the pipe early (``| head``) ends it quietly."""
    args = build_parser().parse_args(argv)
    try:
        code = args.func(args)
        sys.stdout.flush()
    except BrokenPipeError:
        # Point stdout at devnull so that the interpreter's final flush does not fail too.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 128 + signal.SIGPIPE
    return code


if __name__ == "__main__":
    sys.exit(main())
