"""Bias page (being built)."""

from __future__ import annotations

import streamlit as st

st.title("Bias")
st.write("Coming next.")
