"""Warm the server at start-up, before the first visitor: import what the pages import and
compute the default view (``/``: the analysis, the plain-language sentences, both forest plots
as the Overview draws them, the summary of findings and the include table's rows) into the
caches every session shares (ui/cache.py).

Without it the first visitor after a server start pays the imports of pandas, Altair, SciPy,
pyarrow and the project's modules, and the first analysis (seconds on a small machine).
``serve.py`` runs :func:`warm_up` in a background thread from its start-up hook, so the
health endpoint answers at once; a visitor who comes during the warm-up waits only for what is
left of it (the caches compute each entry once).
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import logging
import time
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: the scripts a session runs: the entry point and every page
SCRIPTS = (ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py")))
LOG = logging.getLogger("explorer.warmup")


def script_imports(paths: Iterable[Path]) -> tuple[str, ...]:
    """What ``paths`` import at their top level (absolute imports), in order of first
    appearance, without duplicates: ``import a.b`` gives ``a.b``; ``from a import b`` gives
    ``a`` and ``a.b`` (``b`` may be a module: :func:`import_all` imports it if it is one)."""
    found: dict[str, None] = {}
    for path in paths:
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.Import):
                found.update((a.name, None) for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found[node.module] = None
                found.update((f"{node.module}.{a.name}", None) for a in node.names)
    return tuple(n for n in found if n.split(".")[0] != "__future__")


def import_all(names: Iterable[str]) -> int:
    """Import each of ``names`` that is a module (``a.b`` where ``b`` is a function of ``a``
    is skipped); returns how many were modules."""
    done = 0
    for name in names:
        parent, _, _ = name.rpartition(".")
        if parent and not hasattr(importlib.import_module(parent), "__path__"):
            continue  # the parent is a plain module: ``name`` is one of its attributes
        if importlib.util.find_spec(name) is None:
            continue
        importlib.import_module(name)
        done += 1
    return done


def warm_default_view() -> None:
    """Compute what ``/`` shows for the default link into the shared caches: the same cache
    keys the pages use (bundled dataset, default state)."""
    from core.state.view import DEFAULT_STATE
    from ui import blocks, cache, sof

    data = (cache.BUNDLED_KEY, cache.bundled())
    cache.published_results()
    analysis = cache.analysis(DEFAULT_STATE, data)
    studies = data[1].studies
    for oa in analysis.outcomes.values():
        if oa.pooled is not None:
            blocks.summary(oa, DEFAULT_STATE, studies, data_key=cache.BUNDLED_KEY)
        if not oa.rows.empty:
            blocks.forest_specs(
                oa,
                DEFAULT_STATE,
                studies,
                width=blocks.OVERVIEW_FOREST_WIDTH,
                data_key=cache.BUNDLED_KEY,
            )
    sof.shared_sof_rows(analysis, DEFAULT_STATE, data[1], cache.BUNDLED_KEY)
    if analysis.selection.ids:
        blocks.include_rows(analysis, studies, data_key=cache.BUNDLED_KEY)


def warm_up() -> float:
    """Import the pages' modules, then compute the default view; returns the seconds taken.
    Never raises: a failed warm-up is logged and the first visitor computes what is missing."""
    start = time.perf_counter()
    try:
        import_all(script_imports(SCRIPTS))
        warm_default_view()
    except Exception:  # the server keeps serving; the first visitor just waits longer
        LOG.exception("warm-up failed")
        return time.perf_counter() - start
    took = time.perf_counter() - start
    LOG.info("warm-up done in %.1f s: the default view is cached", took)
    return took
