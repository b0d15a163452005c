"""The figure renderer's own process: Vega-Lite specs in on stdin, SVG/PNG/PDF bytes out.

Run as a script by file path (``python core/render_worker.py``), never imported by the server
for rendering: vl-convert is native code that can abort its process, and this keeps that to
one export. It imports nothing from the project (a fast start), caps its own memory
(``RLIMIT_DATA``), and answers each job as an 8-byte big-endian length and the bytes. A Python
error ends it with exit 1 and one line on stderr; a native abort ends it by a signal.
"""

from __future__ import annotations

import json
import math
import re
import resource
import struct
import sys
from typing import Any

MAX_PIXELS = 40_000_000  # per PNG; Pillow refuses images above ~89 M pixels as bombs
WORKER_MEMORY = 1 << 30  # bytes of data segment (vl-convert's V8 needs about 600 MB of it)
NO_REMOTE: list[str] = []  # vl-convert: an empty allow-list blocks every external URL
LENGTH = struct.Struct(">Q")
_SVG_SIZE = re.compile(r'<svg[^>]*?\swidth="([0-9.]+)"[^>]*?\sheight="([0-9.]+)"')


def capped_ppi(svg: str, ppi: float) -> float:
    """``ppi``, lowered where the SVG's width x height at that resolution passes MAX_PIXELS."""
    size = _SVG_SIZE.search(svg[:2000])
    if size:
        area = float(size.group(1)) * float(size.group(2))
        if area * (ppi / 72) ** 2 > MAX_PIXELS:
            return 72 * math.sqrt(MAX_PIXELS / area)
    return ppi


def render(vlc: Any, job: dict[str, Any]) -> bytes:
    """One job: SVG first; a PNG is drawn from that SVG at :func:`capped_ppi`."""
    spec = job["spec"]
    if job["format"] == "pdf":
        return vlc.vegalite_to_pdf(spec, allowed_base_urls=NO_REMOTE)
    svg = vlc.vegalite_to_svg(spec, allowed_base_urls=NO_REMOTE)
    if job["format"] == "svg":
        return svg.encode("utf-8")
    return vlc.svg_to_png(svg, ppi=capped_ppi(svg, job["ppi"]))


def main() -> int:
    resource.setrlimit(resource.RLIMIT_DATA, (WORKER_MEMORY, WORKER_MEMORY))
    try:
        import vl_convert

        results = [render(vl_convert, job) for job in json.load(sys.stdin.buffer)]
    except Exception as exc:  # the parent turns this line into a plain ExportError
        print(" ".join(str(exc).split()) or type(exc).__name__, file=sys.stderr)
        return 1
    out = sys.stdout.buffer
    for data in results:
        out.write(LENGTH.pack(len(data)))
        out.write(data)
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
