"""Studies: the evidence table with sources; load your own data; downloads."""

from __future__ import annotations

import streamlit as st

st.title("Studies and data")
st.write("Coming next.")
