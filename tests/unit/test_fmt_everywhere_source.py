"""Every displayed number goes through core.fmt: an AST scan of core/ (outside core/fmt.py and
core/stats/, which returns numbers), ui/, pages/ and app.py finds no inline number format (an
f-string format spec such as ``{x:.2f}``, ``format(x, spec)``, ``round(...)``, ``"%.2f" % x``,
a literal spec in ``"{:.2f}".format``, or a literal d3/printf spec passed as ``format=``) except
the machine-output spots listed in ``ALLOWED``, each with its reason. A new ``{tau2:.4f}`` on a
page fails here: name the rule in core/fmt.py and call it instead."""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("core", "ui", "pages", "app.py")
SKIPPED = ("core/fmt.py", "core/stats/")
#: A d3-format or printf number spec given as a literal (``".3f"``, ``"~g"``, ``"%d"``, ``"%"``).
NUMBER_SPEC = re.compile(r"%|~g|%?[-+ 0#~,]*\d*(\.\d+)?[dfgeEs%]")
#: A printf conversion inside a string used with ``%`` (``"%.2f"``; ``"%%"`` is a literal %).
PRINTF = re.compile(r"%(?!%)[-+ 0#]*\d*(\.\d+)?[dfgeEi]")
#: A replacement field with a format spec inside a ``str.format`` template (``"{:.2f}"``).
TEMPLATE_SPEC = re.compile(r"\{[^{}]*:[^{}]+\}")


class Hit(NamedTuple):
    path: str
    function: str  # the enclosing def's qualified name, "" at module level
    code: str  # the formatted expression (f-string) or the call, as ast.unparse prints it
    spec: str


BYTE = "a raw byte of an unreadable file, in hex as byte dumps show it"
ESCAPE = "an escape in code the program writes (R string, regular expression), not a quantity"
URL = "the URL codec: a number it stores, written back exactly"
KEY = "a JSON key (survival by year) core.views.km writes and ui.derive reads back"

#: Hit(path, function, code, spec) -> why it is not a displayed number.
ALLOWED: dict[Hit, str] = {
    Hit("core/data/readers.py", "_decode", "data[exc.start]", "02x"): BYTE,
    Hit("core/data/readers.py", "_cells", "raw[exc.start]", "02x"): BYTE,
    Hit("core/data/schema.py", "_number", "ord(ch)", "04X"): "a code point, U+XXXX",
    Hit("core/report/rscript.py", "r_string", "code", "02x"): ESCAPE,
    Hit("core/report/rscript.py", "r_string", "code", "x"): ESCAPE,
    Hit("core/sanitize.py", "", "p", "04x"): ESCAPE,
    Hit("core/state/view.py", "_fmt_number", "format(Decimal(repr(float(number))), 'f')", ""): URL,
    Hit("core/state/view.py", "_check", "round(number, NUMBER_DECIMALS)", ""): URL,
    Hit("core/state/view.py", "_parse_field", "round(number, NUMBER_DECIMALS)", ""): URL,
    Hit("core/views/km.py", "km_json", "y", "g"): KEY,
    Hit("ui/derive.py", "_arms_table", "y", "g"): KEY,
    Hit("ui/sidebar.py", "_to_widget", "round(state.qmin)", ""): "a slider's value, not text",
}


def _files() -> list[Path]:
    out: list[Path] = []
    for name in SCANNED:
        p = ROOT / name
        out.extend([p] if p.is_file() else sorted(p.rglob("*.py")))
    return [f for f in out if not f.relative_to(ROOT).as_posix().startswith(SKIPPED)]


def _const_str(node: ast.AST) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


class _Scan(ast.NodeVisitor):
    """Collects every inline number format of one module, with its enclosing function."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.stack: list[str] = []
        self.hits: list[Hit] = []

    def _hit(self, code: ast.AST, spec: str) -> None:
        self.hits.append(Hit(self.path, ".".join(self.stack), ast.unparse(code), spec))

    def _scope(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> None:
        self.stack.append(node.name)
        self.generic_visit(node)
        self.stack.pop()

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = _scope

    def visit_FormattedValue(self, node: ast.FormattedValue) -> None:
        if node.format_spec is not None:
            self._hit(node.value, ast.unparse(node.format_spec)[2:-1])  # f'.2f' -> .2f
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        fn = node.func
        if isinstance(fn, ast.Name) and fn.id in ("round", "format"):
            self._hit(node, "")
        template = _const_str(fn.value) if isinstance(fn, ast.Attribute) else None
        if template is not None and fn.attr == "format" and TEMPLATE_SPEC.search(template):
            self._hit(node, "")
        for kw in node.keywords:
            spec = _const_str(kw.value)
            if kw.arg == "format" and spec is not None and NUMBER_SPEC.fullmatch(spec):
                self._hit(node.func, spec)
        self.generic_visit(node)

    def visit_BinOp(self, node: ast.BinOp) -> None:
        template = _const_str(node.left)
        if isinstance(node.op, ast.Mod) and template is not None and PRINTF.search(template):
            self._hit(node, template)
        self.generic_visit(node)


def scan(source: str, path: str = "x.py") -> list[Hit]:
    s = _Scan(path)
    s.visit(ast.parse(source))
    return s.hits


@cache
def all_hits() -> list[Hit]:
    return [h for f in _files() for h in scan(f.read_text(), f.relative_to(ROOT).as_posix())]


def test_the_scan_finds_each_kind_of_inline_format() -> None:
    src = """
def page(x, p):
    a = f"τ² = {x:.4f}; n = {x:,}"
    b = round(x, 2), format(x, ".2f"), "%.3f" % p, "{:.2f}".format(x)
    chart(tooltip=alt.Tooltip("yi:Q", format=".3f"), axis=alt.Axis(format="~g"))
    ok = f"{x!r} {x}", "100%" , "%s" , pdf(format="A4"), "{}".format(x)
"""
    got = [(h.function, h.spec) for h in scan(src)]
    assert got == [
        ("page", ".4f"),
        ("page", ","),
        ("page", ""),  # round
        ("page", ""),  # format()
        ("page", "%.3f"),
        ("page", ""),  # "{:.2f}".format
        ("page", ".3f"),
        ("page", "~g"),
    ]


def test_no_inline_number_format_outside_core_fmt() -> None:
    new = [h for h in all_hits() if h not in ALLOWED]
    assert not new, "route these through a named rule in core/fmt.py:\n" + "\n".join(map(str, new))


def test_every_allowed_spot_still_exists() -> None:
    """An allow-list entry whose code is gone is removed, so the list cannot hide a new one."""
    assert set(ALLOWED) <= set(all_hits())
