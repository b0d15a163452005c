"""Test-wide settings."""

from __future__ import annotations

import os

# app.py turns an unexpected error into a plain message for users; tests want the error.
os.environ.setdefault("EXPLORER_STRICT", "1")
