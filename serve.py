"""What the server runs: ``streamlit run serve.py`` (README, Dockerfile, tests/e2e/conftest.py).

The app is ``app.py``, unchanged; this file adds a start-up hook (Streamlit's ``st.App``,
which ``streamlit run`` detects here and serves with every setting of .streamlit/config.toml
and the command line). At start-up it warms the caches in a background thread (ui/warmup.py:
imports and the default view), so the health endpoint answers at once and the first visitor
after a start does not wait for the imports and the first analysis.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import streamlit as st


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


app = st.App("app.py", lifespan=warm_up)
