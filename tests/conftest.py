"""Test-wide settings."""

from __future__ import annotations

import os

# app.py turns an unexpected error into a plain message for users; tests want the error.
os.environ.setdefault("EXPLORER_STRICT", "1")

# Production hides error details from viewers (.streamlit/config.toml); tests want them.
os.environ.setdefault("STREAMLIT_CLIENT_SHOW_ERROR_DETAILS", "full")
