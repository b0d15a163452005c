"""Command line: ``python -m core <subcommand>``; one small function per subcommand."""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from core.data.dataset import Dataset, load_bundled, load_files
from core.data.readers import validate_files
from core.report.rscript import r_script
from core.state.view import parse_query
from core.views.analysis import analyse, to_json

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


def _load_dir(folder: Path) -> Dataset | str:
    """The dataset in ``folder`` (studies.csv and outcomes.csv), or why it cannot be read."""
    names = ("studies.csv", "outcomes.csv")
    if not folder.is_dir():
        return f"{folder}: no such folder"
    missing = [n for n in names if not (folder / n).is_file()]
    if missing:
        return f"{folder}: missing {' and '.join(missing)}"
    try:
        files = {n: (folder / n).read_bytes() for n in names}
    except OSError as exc:
        return f"{folder}: cannot read ({exc.strerror or exc})"
    dataset, report = load_files(files, source=str(folder))
    if dataset is None:
        return f"{folder}: the data cannot be read\n{report.text()}"
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
    """Print the analysis of a link as JSON; exit 0, or 2 when --data cannot be read."""
    dataset = load_bundled() if args.data is None else _load_dir(Path(args.data))
    if isinstance(dataset, str):
        print(dataset, file=sys.stderr)
        return 2
    parsed = parse_query(args.query)
    out = to_json(analyse(parsed.state, dataset))
    out["notices"] = [*parsed.notices, *out["notices"]]
    print(json.dumps(_json_safe(out), indent=2, allow_nan=False))
    return 0


def cmd_rscript(args: argparse.Namespace) -> int:
    """Print the R (metafor) script of a link; exit 0, or 2 when --data cannot be read."""
    dataset = load_bundled() if args.data is None else _load_dir(Path(args.data))
    if isinstance(dataset, str):
        print(dataset, file=sys.stderr)
        return 2
    parsed = parse_query(args.query)
    for notice in parsed.notices:
        print(f"notice: {notice}", file=sys.stderr)
    print(r_script(analyse(parsed.state, dataset), dataset, args.outcome), end="")
    return 0


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
    p.add_argument(
        "--data", metavar="DIR", help="folder with studies.csv and outcomes.csv (default: bundled)"
    )
    p.set_defaults(func=cmd_analyze)
    p = sub.add_parser(
        "rscript",
        help="print an R script that reproduces the view of a link with metafor",
    )
    p.add_argument("query", metavar="QUERY_OR_URL", help='e.g. "?design=RCT&exclude=Yu2014"')
    p.add_argument(
        "--data", metavar="DIR", help="folder with studies.csv and outcomes.csv (default: bundled)"
    )
    p.add_argument("--outcome", choices=("OS", "DFS"), help="one outcome only (default: both)")
    p.set_defaults(func=cmd_rscript)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
