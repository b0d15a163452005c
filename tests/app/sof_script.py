"""A page that only draws the summary of findings on the bundled data (for AppTest)."""

import streamlit as st

from core.data.dataset import load_bundled
from core.views.analysis import analyse
from ui import sync
from ui.sof import render_sof

st.set_page_config(layout="wide")
state = sync.resolve()
dataset = load_bundled()
render_sof(analyse(state, dataset), state, dataset)
