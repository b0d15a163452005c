"""Command line: ``python -m core validate | analyze | sensitivity | bias | rscript``; one
small function per subcommand."""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path

from core.data.dataset import Dataset, load_bundled, load_files
from core.data.estimable import estimable
from core.data.readers import validate_files
from core.report.rscript import r_script
from core.report.sof import certainty_json, link_notices, sof_table
from core.state.view import ViewState, parse_query
from core.views import bias, sensitivity
from core.views.analysis import EstimableFn, analyse, to_json

TABLE_SUFFIXES = (".csv", ".xlsx", ".parquet", ".pq")


def _files_of(target: Path) -> dict[str, bytes]:
    """The files to validate: the file itself, or a folder's studies.* and outcomes.* files."""
    if target.is_dir():
        paths = sorted(
            p
            for p in target.iterdir()
            if p.suffix.lower() in TABLE_SUFFIXES
            and (p.stem.lower() in ("studies", "outcomes") or p.suffix.lower() == ".xlsx")
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
    it); a string says why it cannot be read."""
    if path is None:
        return load_bundled()
    target = Path(path)
    if not target.exists():
        return f"{target}: no such file or folder"
    try:
        files = _files_of(target)
    except OSError as exc:
        return f"{target}: cannot read ({exc.strerror or exc})"
    if not files:
        return f"{target}: no studies.* or outcomes.* (.csv, .xlsx, .parquet) file found"
    dataset, report = load_files(files, source=str(target))
    if dataset is None:
        return f"{target}: the data cannot be read\n{report.text()}"
    return dataset


def _json_safe(value: object) -> object:
    """``value`` with every NaN or infinite float turned into None (valid JSON)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


def cmd_analyze(args: argparse.Namespace) -> int:
    """Print the analysis of a link as JSON, with each outcome's certainty (the summary of
    findings' aid, the link's judgements applied); exit 0, or 2 when --data cannot be read."""
    dataset = _load_data(args.data)
    if isinstance(dataset, str):
        print(dataset, file=sys.stderr)
        return 2
    parsed = parse_query(args.query)
    analysis = analyse(parsed.state, dataset)
    out = to_json(analysis)
    for row in sof_table(analysis, dataset.studies):
        out[row.outcome]["certainty"] = certainty_json(row.certainty)
    out["notices"] = [*parsed.notices, *link_notices(parsed.state), *out["notices"]]
    print(json.dumps(_json_safe(out), indent=2, allow_nan=False))
    return 0


def _print_view(args: argparse.Namespace, view: Callable[[ViewState, Dataset], dict]) -> int:
    """Print ``view(state, dataset)`` of a link as JSON with the link's notices."""
    dataset = _load_data(args.data)
    if isinstance(dataset, str):
        print(dataset, file=sys.stderr)
        return 2
    parsed = parse_query(args.query)
    out = {"notices": list(parsed.notices), **view(parsed.state, dataset)}
    print(json.dumps(_json_safe(out), indent=2, allow_nan=False))
    return 0


def _sensitivity(state: ViewState, dataset: Dataset) -> dict:
    effects: EstimableFn = lambda o, m, t, r: estimable(dataset, o, m, t, r)  # type: ignore[arg-type]  # noqa: E731
    oa = analyse(state, dataset, effects).outcomes[state.outcome]
    return sensitivity.to_json(sensitivity.sensitivity_view(state, oa, dataset.studies, effects))


def _bias(state: ViewState, dataset: Dataset) -> dict:
    oa = analyse(state, dataset).outcomes[state.outcome]
    return bias.to_json(bias.bias_view(state, oa, dataset.studies))


def cmd_sensitivity(args: argparse.Namespace) -> int:
    """Print what the Sensitivity page shows for a link as JSON; exit 0, or 2 (bad --data)."""
    return _print_view(args, _sensitivity)


def cmd_bias(args: argparse.Namespace) -> int:
    """Print what the Small-study effects page shows for a link as JSON; exit 0 or 2."""
    return _print_view(args, _bias)


def cmd_rscript(args: argparse.Namespace) -> int:
    """Print the R (metafor) script of a link; exit 0, or 2 when --data cannot be read."""
    dataset = _load_data(args.data)
    if isinstance(dataset, str):
        print(dataset, file=sys.stderr)
        return 2
    parsed = parse_query(args.query)
    for notice in parsed.notices:
        print(f"notice: {notice}", file=sys.stderr)
    print(r_script(analyse(parsed.state, dataset), dataset, args.outcome), end="")
    return 0


def _data_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--data",
        metavar="FILE_OR_DIR",
        help="a dataset file or folder, as validate reads it (default: the bundled data)",
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
