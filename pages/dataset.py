"""Dataset analysis: a checkpoint's training data (stored statistics) or a folder under the data root."""
import streamlit as st

import app_cache as ac
import app_widgets as aw
from colorcore import analysis, paths
from colorcore.app import figures, folders

aw.require_navigation("pages/dataset.py")
st.title("Dataset analysis")
SOURCES = ("A checkpoint's training data", "A folder under the data root")
st.session_state.setdefault("dataset.source", SOURCES[0])
source = st.radio("Analyse", SOURCES, key="dataset.source", persist_state="session", horizontal=True)

if source == SOURCES[0]:
    cat = aw.require_catalog()
    name = aw.checkpoint_picker(cat, "dataset.checkpoint")
    stats = ac.checkpoint_data_stats(name)
    st.caption("From the checkpoint's metadata: the data manifest and split recorded at training time, and "
               "the a\\*b\\* histogram of its training images (hue and chroma are derived from it).")
else:
    root = paths.data_root()
    if root is None or not root.is_dir():
        st.info(f"No data root: set {paths.DATA_ROOT_ENV} to a folder of image folders"
                + (f" ({root} does not exist)." if root else "."))
        st.stop()
    listed = folders.list_data_folders(root)
    if not listed:
        st.info(f"No folder with images under the data root {root}.")
        st.stop()
    folder = st.selectbox("Folder", listed, key="dataset.folder", persist_state="session")
    st.session_state.setdefault("dataset.max_images", 500)
    max_images = st.number_input("Analyse at most (seeded sample beyond)", 10, 20000, step=100,
                                 key="dataset.max_images", persist_state="session")
    clicked = st.button("Analyse folder", key="dataset.run")
    if not clicked and st.session_state.get("dataset.done") != (folder, max_images):
        st.stop()
    try:
        with st.spinner(f"Reading the images of {folder}..."):
            stats = ac.folder_stats(str(root), folder, int(max_images))
    except ValueError as err:
        st.error(f"Cannot analyse {folder}: {err}")
        st.stop()
    st.session_state["dataset.done"] = (folder, max_images)
    for line in analysis.summary_lines(stats):
        st.write(line)

st.subheader("Counts and splits")
st.dataframe(folders.overview_rows(stats), hide_index=True)
folder_analysis = isinstance(stats, analysis.FolderStats)  # else what a checkpoint recorded of its data
if folder_analysis and stats.sizes["widths"]:
    st.plotly_chart(figures.size_figure(stats.sizes["widths"], stats.sizes["heights"]), key="dataset.sizes_chart")

st.subheader("Colour distribution")
if stats.ab_hist:
    st.plotly_chart(figures.ab_histogram_figure(stats.ab_hist, "a*b* of the images"), key="dataset.ab_chart")
left, right = st.columns(2)
if stats.hue_hist:
    left.plotly_chart(figures.hue_histogram_figure(stats.hue_hist, "hue (coloured pixels)"), key="dataset.hue_chart")
if stats.chroma_hist:
    right.plotly_chart(figures.chroma_histogram_figure(stats.chroma_hist), key="dataset.chroma_chart")
if not stats.ab_hist:
    st.info("No colour statistics are stored for this data.")

if folder_analysis:
    st.subheader("Quality checks")
    st.dataframe(folders.quality_counts(stats), hide_index=True)
    for label, lines in folders.quality_lists(stats).items():
        if lines:
            with st.expander(f"{label} ({len(lines)})"):
                st.text("\n".join(lines[:500]) + ("\n..." if len(lines) > 500 else ""))
