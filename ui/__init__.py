"""Streamlit glue shared by the pages: URL <-> state, the sidebar, caching, common blocks."""
