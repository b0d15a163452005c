"""Uploads stay in memory: the web server's form parser (Starlette's, which Streamlit's upload
route calls through ``request.form()``) must not spool a file part to a temporary file.

Starlette rolls any part over 1 MB to disk by default; ``ui.upload.keep_uploads_in_memory``
raises that threshold to the app's upload limit, and app.py calls it on every run."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from starlette.formparsers import MultiPartParser
from starlette.requests import Request

from ui.upload import keep_uploads_in_memory

BOUNDARY = "----explorer-test-boundary"


def _multipart(size: int) -> bytes:
    head = (
        f"--{BOUNDARY}\r\n"
        'Content-Disposition: form-data; name="file"; filename="big.csv"\r\n'
        "Content-Type: text/csv\r\n\r\n"
    ).encode()
    return head + b"x" * size + f"\r\n--{BOUNDARY}--\r\n".encode()


def _parse(body: bytes) -> bool:
    """Parse ``body`` as Streamlit's upload route does; True when the part went to disk."""
    chunks: Iterator[bytes] = iter([body[i : i + 65536] for i in range(0, len(body), 65536)])

    async def receive() -> dict:
        chunk = next(chunks, b"")
        return {"type": "http.request", "body": chunk, "more_body": bool(chunk)}

    scope = {
        "type": "http",
        "method": "POST",
        "headers": [(b"content-type", f"multipart/form-data; boundary={BOUNDARY}".encode())],
    }

    async def run() -> bool:
        form = await Request(scope, receive).form()
        upload = form["file"]
        try:
            assert len(await upload.read()) == len(body) - len(_multipart(0))
            return bool(upload.file._rolled)
        finally:
            await form.close()

    # in a thread of its own: after a browser test, pytest-playwright keeps an event loop
    # running in this worker's main thread, where asyncio.run refuses to start
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, run()).result()


@pytest.fixture
def spool_size(monkeypatch: pytest.MonkeyPatch) -> None:
    """Restore Starlette's class-wide threshold after each test."""
    monkeypatch.setattr(MultiPartParser, "spool_max_size", MultiPartParser.spool_max_size)


def test_a_large_upload_is_parsed_in_memory(spool_size, monkeypatch) -> None:
    def no_disk(*args: object, **kwargs: object) -> None:
        raise AssertionError("an upload was written to a temporary file")

    keep_uploads_in_memory(25)
    monkeypatch.setattr(tempfile, "TemporaryFile", no_disk)
    assert _parse(_multipart(20_000_000)) is False


def test_without_it_the_parser_spools_to_disk(spool_size) -> None:
    """The control: Starlette's default would write a 2 MB upload to the temp folder."""
    MultiPartParser.spool_max_size = 1024 * 1024
    assert _parse(_multipart(2_000_000)) is True


def test_the_threshold_covers_the_upload_limit(spool_size) -> None:
    keep_uploads_in_memory(25)
    assert MultiPartParser.spool_max_size > 25 * 1024 * 1024 + 65536
