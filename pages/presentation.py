"""Presentation for tumour boards: one outcome, large type, the forest plot and key numbers."""

from __future__ import annotations

import streamlit as st

st.title("Present")
st.write("Coming next.")
