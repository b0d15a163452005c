"""Command line: ``python -m core <subcommand>``; one small function per subcommand."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from core.schema import validate_files

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
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
