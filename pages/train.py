"""Train: fine-tune a checkpoint (or train one from scratch) on the lab's own colour images, as a background job."""
import secrets

import streamlit as st

import app_cache as ac
import app_widgets as aw
from colorcore import paths
from colorcore.app import catalog, figures, folders, jobs, training, trainingdata
from colorcore.app.downloads import Download
from colorcore.app.names import content_hash
from colorcore.app.zipdata import ZipLimits
from colorcore.checkpoints import CheckpointError, resolve
from colorcore.metadata import parent

aw.require_navigation("pages/train.py")
st.title("Train on your own images")
st.caption("Teach a checkpoint your stain from a few dozen colour images: the run is a job of its own on this "
           "server (lower priority, one thread, one job at a time), goes on when you close the page, and its "
           "checkpoint joins the pickers under the domain **lab** with its scores on images it never saw.")
owner = st.session_state.setdefault("train.owner", secrets.token_hex(8))


def show_job(job_id: str, started_active: bool) -> None:
    """Progress, live curves, cancel; when done the test scores, the download and a way to use it."""
    job = jobs.find(job_id)
    if job is None:
        return
    if started_active and not job.active:
        st.rerun()  # it ended: redraw the page once, without the timer
    state = training.progress(job)
    st.subheader(f"Training job: {job.name}")
    st.progress(state.fraction, text=state.message)
    if state.meta and state.meta.get("history"):
        start = (parent(state.meta) or {}).get("val") or {}
        left, right = st.columns(2)
        left.plotly_chart(figures.with_reference(figures.loss_curves({job.name: state.meta}), start.get("val_loss"),
                                                 "base, before"), key="train.loss_chart")
        right.plotly_chart(figures.with_reference(figures.metric_curves({job.name: state.meta}),
                                                  start.get("val_ab_rmse"), "base, before"), key="train.metric_chart")
    if job.active and job.owner == owner and st.button("Cancel training", key="train.cancel"):
        jobs.cancel(job)
        st.rerun()
    if job.state == "done":
        st.caption(f"Test metrics on the {job.n_test} held-out image(s), same images for every row:")
        st.dataframe(training.result_rows(job), hide_index=True)
        try:
            path = resolve(job.name, catalog_only=True)
        except CheckpointError:
            st.info(f"{job.name} has since been removed from this server.")
            return
        ac.download_link(Download(path.read_bytes, path.name, "application/octet-stream",
                                  ("checkpoint", str(path), path.stat().st_mtime_ns)), f"Download {path.name}")
        if st.button(f"Colorize with {job.name}", key="train.use"):
            st.session_state.update({"colorize.checkpoint_domain_next": "lab", "colorize.checkpoint": job.name})
            st.switch_page("pages/colorize.py")


watched = st.query_params.get("job") or st.session_state.get("train.job")
job = jobs.find(watched) if watched else None
if job is not None:
    st.session_state["train.job"] = job.id
    if job.active:  # whoever has the job's address (its id) may cancel it, after closing the browser too
        owner = st.session_state["train.owner"] = job.owner
    st.fragment(show_job, run_every=2.0 if job.active else None)(job.id, job.active)

with st.expander("Your training jobs"):
    st.dataframe(training.queue_rows(owner), hide_index=True)

st.subheader("New training run")
SOURCES = ("Upload a ZIP of colour images", "A folder under the data root")
st.session_state.setdefault("train.source", SOURCES[0])
source = st.radio("Images", SOURCES, horizontal=True, key="train.source")
if source == SOURCES[0]:
    limits = ZipLimits()
    upload = st.file_uploader("ZIP of colour images (PNG, JPEG, TIFF...)", type=["zip"], key="train.zip",
                              help=f"At most {limits.max_images} images, {limits.max_zip_bytes >> 20} MB. Gray "
                                   "images, unreadable files and extra copies of identical images are left out "
                                   "(and listed).")
    if upload is None:
        st.info("Upload a ZIP of colour micrographs of your stain (a dozen is enough to start).")
        st.stop()
    data, key = upload.getvalue(), content_hash(upload.getvalue())
    prepare = lambda: trainingdata.prepare_zip(data, upload.name, owner=owner)  # noqa: E731
else:
    root = paths.data_root()
    listed = folders.list_data_folders(root) if root is not None and root.is_dir() else []
    if not listed:
        st.info(f"No folder with images under the data root ({paths.DATA_ROOT_ENV}).")
        st.stop()
    folder = st.selectbox("Folder", listed, key="train.folder")
    key = ("folder", folder)
    prepare = lambda: trainingdata.prepare_folder(root, folder)  # noqa: E731
if st.session_state.get("train.data_key") != key:
    try:
        with st.spinner("Checking the images..."):
            jobs.prune_drafts()
            prepared = prepare()
    except ValueError as err:  # a refused ZIP or folder, a quota (colorcore.app.quotas)
        for stale in ("train.data", "train.data_key"):  # an earlier upload's images are gone too
            st.session_state.pop(stale, None)
        st.error(f"Cannot train on this: {err}")
        st.stop()
    for stale in ("train.n_train", "train.n_val", "train.n_test", "train.name"):
        st.session_state.pop(stale, None)
    st.session_state.update({"train.data": prepared, "train.data_key": key})
prepared = st.session_state["train.data"]

for line in trainingdata.summary(prepared):
    st.write(line)
if prepared.left_out:
    with st.expander(f"Left out of training: {len(prepared.left_out)} file(s)"):
        st.dataframe(trainingdata.left_out_rows(prepared), hide_index=True)
st.dataframe(folders.quality_counts(prepared.stats), hide_index=True)
for note in trainingdata.warnings(prepared):
    st.warning(note)

cat = ac.catalog()
FROM_SCRATCH = "(from scratch)"  # not a catalog name: those start with a letter or digit
bases = [FROM_SCRATCH, *training.base_choices(cat.metas)]


def base_changed() -> None:
    """A new base brings its default epochs, and its default name unless the user typed one."""
    st.session_state.pop("train.epochs", None)
    if st.session_state.get("train.name") == st.session_state.get("train.auto_name"):
        st.session_state.pop("train.name", None)


st.session_state.setdefault("train.base", FROM_SCRATCH)
choice = st.selectbox("Start from", bases, key="train.base", on_change=base_changed,
                      format_func=lambda n: "nothing: train from scratch" if n == FROM_SCRATCH
                      else catalog.checkpoint_label(cat.metas[n]))
base = None if choice == FROM_SCRATCH else choice
base_meta = cat.metas.get(base)
n_train, n_val, n_test = trainingdata.default_split(prepared.n_images)
st.session_state["train.auto_name"] = jobs.checkpoint_name(f"{prepared.source.rsplit('.', 1)[0]}-{base or 'scratch'}")
for field, value in (("n_train", n_train), ("n_val", n_val), ("n_test", n_test),
                     ("epochs", training.settings(base_meta)["epochs"]), ("name", st.session_state["train.auto_name"])):
    st.session_state.setdefault(f"train.{field}", value)
cols = st.columns(4)
n_train = cols[0].number_input("Training images", 1, prepared.n_images, key="train.n_train")
n_val = cols[1].number_input("Validation images", 1, prepared.n_images, key="train.n_val")
n_test = cols[2].number_input("Test images (held out)", 1, prepared.n_images, key="train.n_test")
epochs = cols[3].number_input("Epochs", 1, training.MAX_EPOCHS, key="train.epochs")
name = st.text_input("Checkpoint name", key="train.name", max_chars=48)
request = training.TrainRequest(prepared, base, int(n_train), int(n_val), int(n_test), int(epochs), name)
st.info(training.estimate_line(request, base_meta), icon=":material/schedule:")

mine = training.active_job_of(owner)
if mine is not None:
    st.warning(f"Your job {mine.name} is {mine.state}: one training job per session at a time.")
if st.button("Start training", type="primary", disabled=mine is not None, key="train.start"):
    try:
        job = training.start(request, owner, base_meta)
    except (ValueError, RuntimeError) as err:
        st.error(f"Not started: {err}")
        st.stop()
    st.session_state["train.job"] = st.query_params["job"] = job.id
    for used in ("train.data", "train.data_key"):  # a ZIP's folder now belongs to the job
        st.session_state.pop(used, None)
    st.rerun()
