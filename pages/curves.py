"""Training curves: loss and validation metrics per epoch, and stored test metrics next to the gray baseline."""
import streamlit as st

import app_widgets as aw
from colorcore.app import catalog, figures, results
from colorcore.metrics import METRIC_NAMES

aw.require_navigation("pages/curves.py")
st.title("Training curves")
cat = aw.require_catalog()
with_history = [n for n in cat.names if results.has_history(cat.metas[n])]
if not with_history:
    st.info("No checkpoint in the catalog has recorded any epoch yet.")
    st.stop()

st.session_state.setdefault("curves.checkpoints", catalog.default_compare({n: cat.metas[n] for n in with_history}))
st.session_state["curves.checkpoints"] = [n for n in st.session_state["curves.checkpoints"] if n in with_history]
st.session_state.setdefault("curves.log", False)
st.session_state.setdefault("curves.metric", "val_ab_rmse")
chosen = st.multiselect("Checkpoints", with_history, key="curves.checkpoints", persist_state="session",
                        format_func=lambda n: catalog.checkpoint_label(cat.metas[n]))
metas = {n: cat.metas[n] for n in chosen}
if not metas:
    st.info("Choose at least one checkpoint.")
    st.stop()

st.warning("Raw losses of different criteria (MSE, Huber, classification cross-entropy) are not comparable: "
           "each curve is in its own checkpoint's loss units. Compare checkpoints on the common metrics below "
           "(validation ab RMSE or PSNR, and the test table).")
log_y = st.toggle("Logarithmic loss axis", key="curves.log", persist_state="session")
st.plotly_chart(figures.loss_curves(metas, log_y=log_y), key="curves.loss_chart")

metric = st.radio("Validation metric", list(figures.VAL_METRICS), key="curves.metric", persist_state="session",
                  horizontal=True, format_func=lambda m: {"val_ab_rmse": "ab RMSE", "val_psnr": "PSNR"}[m])
st.plotly_chart(figures.metric_curves(metas, metric), key="curves.metric_chart")

st.subheader("Test metrics")
st.caption("Stored by `colorcore evaluate --store` (metrics['test']); gray baseline rows come from "
           f"{results.BASELINES_FILE} in the catalog folder when present. Empty cells: not evaluated yet.")
rows = results.test_metrics_rows(metas, results.read_baselines())
st.dataframe(rows, hide_index=True,
             column_config={k: st.column_config.NumberColumn(format="%.3f") for k in METRIC_NAMES[1:]})
