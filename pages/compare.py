"""Compare: one image through several checkpoints at once, in one aligned grid, with metrics."""
import streamlit as st

import app_cache as ac
from colorcore.app import catalog, display, results
from colorcore.checkpoints import GRAY_BASELINE

ac.require_navigation("pages/compare.py")
st.title("Compare checkpoints")
cat = ac.require_catalog()

st.session_state.setdefault("compare.checkpoints", catalog.default_compare(cat.metas))
st.session_state["compare.checkpoints"] = [n for n in st.session_state["compare.checkpoints"] if n in cat.metas]
chosen = st.multiselect("Checkpoints", cat.names, key="compare.checkpoints",
                        format_func=lambda n: catalog.checkpoint_label(cat.metas[n]))
working_size = ac.working_size_picker("compare.working_size")
inputs = ac.image_inputs("compare", multiple=False)
if not chosen or not inputs:
    st.info("Choose checkpoints and upload an image (or pick an example). A colour image is the "
            "ground truth: its grayscale version goes through each checkpoint and the outputs are "
            "measured against it.")
    st.stop()

loaded = ac.load_or_report(*inputs[0])
if loaded is None:
    st.stop()
outputs = {}
progress = st.progress(0.0, text="Colorizing...")
for i, name in enumerate(chosen):
    result = ac.colorize_or_report(loaded, name, working_size)
    if result is not None:
        outputs[name] = result.rgb
    progress.progress((i + 1) / len(chosen), text=f"{name} done")
progress.empty()

truth = loaded.truth
if truth is not None:
    gray = ac.colorized(loaded, GRAY_BASELINE, working_size).rgb
    tiles = [("grayscale input (what the networks see)", gray), *outputs.items(), ("original (ground truth)", truth)]
else:
    tiles = [("input", loaded.display), *outputs.items()]
per_row = min(6, len(tiles))
for start in range(0, len(tiles), per_row):
    for col, (caption, img) in zip(st.columns(per_row), tiles[start:start + per_row]):
        col.image(display.preview(img, 800), caption=caption, width="stretch")

if truth is None:
    st.info(f"{loaded.name} is grayscale, so there is no ground truth to measure against.")
else:
    st.subheader("Metrics against the original")
    st.caption("Computed with colorcore.metrics exactly as `colorcore evaluate` does. cast a\\*/b\\*: mean "
               "predicted minus true a\\*/b\\* (0 = no cast). colorfulness_gt is the original's.")
    rows = results.compare_metrics({GRAY_BASELINE: gray, **outputs}, truth)
    st.dataframe(rows, hide_index=True,
                 column_config={k: st.column_config.NumberColumn(format="%.3f") for k in results.COMPARE_COLUMNS})
