"""Test-wide settings."""

from __future__ import annotations

import os

from streamlit import config

# app.py turns an unexpected error into a plain message for users; tests want the error.
os.environ.setdefault("EXPLORER_STRICT", "1")

# Production hides error details from viewers (.streamlit/config.toml); AppTests want them.
config.set_option("client.showErrorDetails", "full")
