"""Compare: one image through several checkpoints at once, in one aligned grid, with metrics."""
import streamlit as st

import app_cache as ac
import app_widgets as aw
from colorcore.app import catalog, display, results, trust
from colorcore.checkpoints import GRAY_BASELINE

aw.require_navigation("pages/compare.py")
st.title("Compare checkpoints")
cat = aw.require_catalog()

st.session_state.setdefault("compare.checkpoints", catalog.default_compare(cat.metas))
st.session_state["compare.checkpoints"] = [n for n in st.session_state["compare.checkpoints"] if n in cat.metas]
chosen = st.multiselect("Checkpoints", cat.names, key="compare.checkpoints", persist_state="session",
                        format_func=lambda n: catalog.checkpoint_label(cat.metas[n]))
working_size = aw.working_size_picker("compare.working_size")
inputs = aw.image_inputs("compare", multiple=False)
if not chosen or not inputs:
    st.info("Choose checkpoints and upload an image (or pick an example). A colour image is the "
            "ground truth: its grayscale version goes through each checkpoint and the outputs are "
            "measured against it.")
    st.stop()

loaded = aw.load_or_report(*inputs[0], "compare")
if loaded is None:
    st.stop()
# every checkpoint's preview (at tile size) queued at once, then waited for: this page's jobs stay together in the queue
outputs = ac.colorize_all_or_report(loaded, [GRAY_BASELINE, *chosen] if loaded.is_color else chosen, working_size,
                                    side=display.TILE_SIDE)
measured = dict(outputs)

if loaded.is_color:
    tiles = [("grayscale input (what the networks see)", outputs.pop(GRAY_BASELINE, None)), *outputs.items(),
             ("original (ground truth)", None)]
else:
    tiles = [("input", None), *outputs.items()]
per_row = min(6, len(tiles))
for start in range(0, len(tiles), per_row):
    for col, (caption, result) in zip(st.columns(per_row), tiles[start:start + per_row]):
        if result is not None and result.in_domain is not None:
            caption = f"{caption} · {trust.domain_label(result.in_domain, result.domain_score)}"
        col.image(display.preview(loaded.display if result is None else result.rgb, display.TILE_SIDE), caption=caption,
                  width="stretch")
outside = [n for n, result in outputs.items() if result.in_domain is False]
if outside:
    st.warning(f"{loaded.name} is outside the training domain of {', '.join(f'**{n}**' for n in outside)}: "
               "their colours here are guesses. The score under each tile is its distance from that checkpoint's "
               "training images (1 is the edge).", icon=":material/warning:")

if not loaded.is_color:
    st.info(f"{loaded.name} is grayscale, so there is no ground truth to measure against.")
else:
    st.subheader("Metrics against the original")
    st.caption("Measured on the full-resolution outputs with colorcore.metrics, exactly as `colorcore evaluate` "
               "does (the tiles above are previews). cast a\\*/b\\*: mean predicted minus true a\\*/b\\* "
               "(0 = no cast). colorfulness_gt is the original's.")
    rows = ac.full_resolution_metrics(loaded, measured, working_size)
    if rows:
        st.dataframe(rows, hide_index=True,
                     column_config={k: st.column_config.NumberColumn(format="%.3f") for k in results.COMPARE_COLUMNS})
