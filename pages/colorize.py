"""Colorize: upload one or many images (or pick an example), choose a checkpoint, see and download the result."""
import streamlit as st

import app_cache as ac
from colorcore.app import catalog, display, inputs, names

ac.require_navigation("pages/colorize.py")
st.title("Colorize")
cat = ac.require_catalog()

name, working_size = ac.checkpoint_and_size(cat, "colorize")
temperature = ac.temperature_picker(cat.metas[name], "colorize.temperature")
with st.expander("All checkpoints: what each was trained on and how it scored"):
    st.dataframe(catalog.catalog_rows(cat.metas), hide_index=True)

files = ac.image_inputs("colorize", multiple=True)
if not files:
    st.info("Upload one or more images (or pick an example) to colorize them with "
            f"**{name}**. Colour images are reduced to their lightness L* first.")
    st.stop()

progress = st.progress(0.0, text="Colorizing...") if len(files) > 1 else None
results = []
for i, (file_name, data) in enumerate(files):
    loaded = ac.load_or_report(file_name, data)
    if loaded:
        ac.micrograph_hint(loaded, cat, name)
    result = ac.colorize_or_report(loaded, name, working_size, temperature) if loaded else None
    if progress:
        progress.progress((i + 1) / len(files), text=f"{i + 1} of {len(files)} done")
    if result is None:
        continue
    out_name = names.result_filename(loaded.name, name)
    results.append((out_name, result.png))
    st.subheader(loaded.name)
    left, right = st.columns(2)
    left.image(display.preview(loaded.display), caption="input", width="stretch")
    right.image(display.preview(result.rgb), caption=f"{name} (network at {result.working_shape[1]} x "
                f"{result.working_shape[0]} px, {100 * result.out_of_gamut:.2f} % out of gamut)",
                width="stretch")
    st.iframe(display.slider_html(loaded.display, result.rgb, after_label=name))
    with st.expander("Image facts"):
        st.dataframe(inputs.image_facts(loaded.info), hide_index=True)
    st.download_button(f"Download {out_name}", result.png, file_name=out_name, mime="image/png",
                       key=f"colorize.download.{i}", on_click="ignore")
if progress:
    progress.empty()
if len(results) > 1:
    st.divider()
    st.download_button(f"Download all {len(results)} results (ZIP)", names.build_zip(results),
                       file_name=f"colorized_{name}.zip", mime="application/zip",
                       key="colorize.download_zip", on_click="ignore", type="primary")
