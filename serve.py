"""What the server runs: ``streamlit run serve.py`` (README, Dockerfile, tests/e2e/conftest.py).

The app is ``app.py``, unchanged; this file adds a start-up hook (Streamlit's ``st.App``,
which ``streamlit run`` detects here and serves with every setting of .streamlit/config.toml
and the command line). At start-up it warms the caches in a background thread (ui/warmup.py:
imports and the default view), so the health endpoint answers at once and the first visitor
after a start does not wait for the imports and the first analysis. An upload over
``server.maxUploadSize`` gets the app's own plain answer (:func:`too_large`) instead of the
web framework's bare "File too large".
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import streamlit as st
from starlette.requests import Request
from starlette.responses import PlainTextResponse

from core.vocab import UPLOAD_TOO_LARGE


@asynccontextmanager
async def warm_up(_app: object) -> AsyncIterator[None]:
    """Start the warm-up beside the server; nothing to undo at shutdown."""
    from ui import warmup

    log = logging.getLogger("explorer.warmup")
    if not log.handlers:  # one line in the server's log when it is done
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s: %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
    threading.Thread(target=warmup.warm_up, name="warm-up", daemon=True).start()
    yield


def too_large(_request: Request, _exc: Exception) -> PlainTextResponse:
    """HTTP 413 with the app's sentence naming the limit (the upload route raises 413 when the
    declared or streamed body exceeds ``server.maxUploadSize``)."""
    limit = st.get_option("server.maxUploadSize")
    return PlainTextResponse(UPLOAD_TOO_LARGE.format(limit=limit), status_code=413)


app = st.App("app.py", lifespan=warm_up, exception_handlers={413: too_large})
