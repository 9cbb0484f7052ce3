"""Colorize: upload one or many images (or pick an example), choose a checkpoint, see and download the result."""
import streamlit as st

import app_cache as ac
import app_widgets as aw
from colorcore.app import catalog, display, inputs, names

aw.require_navigation("pages/colorize.py")
st.title("Colorize")
cat = aw.require_catalog()

name, working_size = aw.checkpoint_and_size(cat, "colorize")
temperature = aw.temperature_picker(cat.metas[name], "colorize.temperature")
with st.expander("All checkpoints: what each was trained on and how it scored"):
    st.dataframe(catalog.catalog_rows(cat.metas), hide_index=True)
show_confidence = st.toggle("Show how sure the colours are (confidence map)", key="colorize.confidence",
                            persist_state="session",
                            help="Classification (vivid) checkpoints: how concentrated each pixel's predicted colour "
                                 "distribution is (1 - its a*b* spread over that of all colours alike). Regression "
                                 "checkpoints give none.")

files = aw.image_inputs("colorize", multiple=True)
if not files:
    st.info("Upload one or more images (or pick an example) to colorize them with "
            f"**{name}**. Colour images are reduced to their lightness L* first.")
    st.stop()

downloads = []
for i, (file_name, data) in enumerate(files):
    loaded = aw.load_or_report(file_name, data, "colorize")
    if loaded is None:
        continue
    if i == 0:
        aw.micrograph_domain(loaded, cat, "colorize.checkpoint", name)
    st.subheader(loaded.name)
    left, right = st.columns(2)
    left.image(display.preview(loaded.display), caption="input", width="stretch")
    result = ac.colorize_or_report(loaded, name, working_size, temperature)
    if result is None:
        continue
    height, width = result.full_shape
    right.image(display.preview(result.rgb), caption=f"{name} (network at {result.working_shape[1]} x {result.working_shape[0]} px; "
                f"preview of the {width} x {height} px result)", width="stretch")
    with right:
        ac.domain_warning(loaded, cat, name, result)
        if show_confidence:
            aw.confidence_view(result, name)
    aw.comparison_slider(loaded.display, result.rgb, name)
    with st.expander("Image facts"):
        st.dataframe(inputs.image_facts(loaded.info), hide_index=True)
    out_name = names.result_filename(loaded.name, name)
    png = ac.full_resolution_file(loaded, result, name, working_size, temperature, "png", out_name)
    tiff = ac.full_resolution_file(loaded, result, name, working_size, temperature, "tiff16",
                                   out_name.rsplit(".", 1)[0] + ".tif")
    downloads.append(png)
    png_col, tiff_col = st.columns(2)
    with png_col:
        ac.download_link(png, f"Download {out_name}", f"{width} x {height} px, full resolution (made when you click)")
    with tiff_col:
        ac.download_link(tiff, "16-bit OME-TIFF (keeps the pixel size)")
if len(downloads) > 1:
    st.divider()
    ac.download_link(ac.zip_of_files(downloads, f"colorized_{name}.zip"),
                     f"Download all {len(downloads)} results (ZIP, full resolution)", primary=True)
