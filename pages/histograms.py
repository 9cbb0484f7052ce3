"""a*b* histograms: the colour distribution of an output next to its ground truth or the training set's."""
import streamlit as st

import app_cache as ac
import app_widgets as aw
from colorcore.app import display, figures, results

aw.require_navigation("pages/histograms.py")
st.title(r"a\*b\* histograms")
cat = aw.require_catalog()
name, working_size = aw.checkpoint_and_size(cat, "histograms")
inputs = aw.image_inputs("histograms", multiple=False)
if not inputs:
    st.info("Upload an image (or pick an example). A colour upload is compared with its own colours; "
            "a grayscale one with the colours of the checkpoint's training images.")
    st.stop()

loaded = aw.load_or_report(*inputs[0], "histograms")
if loaded is None:
    st.stop()
aw.micrograph_domain(loaded, cat, "histograms.checkpoint", name)
result = ac.colorize_or_report(loaded, name, working_size)
if result is None:
    st.stop()
st.caption(f"Histograms are counted on the output and the original downscaled to {display.SLIDER_SIDE} px on the "
           "long side: a colour distribution does not need every pixel, and the estimate is close.")

output_small = display.preview(result.rgb, display.SLIDER_SIDE)
summaries = {f"output ({name})": results.color_summary(output_small)}
left, right = st.columns(2)
left.plotly_chart(figures.ab_histogram_figure(results.ab_hist_of(output_small), f"output of {name}"),
                  key="histograms.output_chart")
if loaded.is_color:
    truth_small = display.preview(loaded.truth, display.SLIDER_SIDE)
    summaries["ground truth"] = results.color_summary(truth_small)
    right.plotly_chart(figures.ab_histogram_figure(results.ab_hist_of(truth_small), "ground truth (the upload)"),
                       key="histograms.reference_chart")
elif (hist := ac.checkpoint_data_stats(name).ab_hist) is not None:
    summaries[f"training set of {name}"] = results.hist_summary(hist)
    right.plotly_chart(figures.ab_histogram_figure(hist, f"training images of {name}"),
                       key="histograms.reference_chart")
else:
    right.info(f"{name} stores no training-set a\\*b\\* histogram to compare with.")

st.subheader("Summary")
st.caption("Mean chroma: average colour strength in Lab units. Cast: mean a\\* (green − / red +) and "
           "mean b\\* (blue − / yellow +); near 0 means no overall tint. Training-set values come from "
           "the stored histogram's bin centres.")
st.dataframe(results.summary_rows(summaries), hide_index=True)
