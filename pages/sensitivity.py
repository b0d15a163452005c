"""Sensitivity page (being built)."""

from __future__ import annotations

import streamlit as st

st.title("Sensitivity")
st.write("Coming next.")
