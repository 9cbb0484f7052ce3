"""colorcore explorer: ``streamlit run streamlit_app.py`` (serves offline; see .streamlit/config.toml)."""
import streamlit as st

st.set_page_config(page_title="colorcore explorer", page_icon="🎨", layout="wide")

PAGES = [
    st.Page("pages/colorize.py", title="Colorize", icon="🎨", default=True),
    st.Page("pages/compare.py", title="Compare checkpoints", icon="🔀"),
    st.Page("pages/curves.py", title="Training curves", icon="📈"),
    st.Page("pages/histograms.py", title="a*b* histograms", icon="🌈"),
    st.Page("pages/dataset.py", title="Dataset analysis", icon="🗂️"),
]

st.navigation(PAGES).run()
