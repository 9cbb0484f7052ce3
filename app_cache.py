"""Streamlit caches and the explorer's model work through the server's queue.

This module and ``app_widgets.py`` (the widgets the pages share) are the only ones besides the pages
that import Streamlit; the computation lives in the modules of :mod:`colorcore.app` and in
:mod:`colorcore.analysis`.

Model work and caching:

* every colorization of every session goes through the server's one first-come-first-served
  queue (:func:`colorcore.serve.get_server`); a waiting page shows its place and an estimate;
* pages show previews (network at working size, L* merged at display size); the
  full-resolution file is made through the queue only when a download is clicked, served by the
  explorer's own route (:mod:`colorcore.app.downloads`, :func:`download_link`);
* checkpoints are loaded once per server process (keyed by name and file version, never
  mutated) and previews are shared between sessions (:class:`colorcore.serve.JobCache`);
* decoded uploads, stack layouts and folder statistics are cached with ``st.cache_data``, bounded; an
  upload not yet decoded passes the server's turnstile (one decode at a time, first come first served).
"""
from __future__ import annotations

import logging
import time
from typing import Callable

import streamlit as st
from streamlit.runtime import Runtime
from streamlit.runtime.scriptrunner import get_script_run_ctx

from colorcore import analysis, paths
from colorcore.app import folders
from colorcore.app.api import api_prefix
from colorcore.app.downloads import DOWNLOADS, Download, link_html
from colorcore.app.catalog import Catalog, catalog_stamps, checkpoint_stamp, read_catalog
from colorcore.app.inputs import LoadedImage, load_image
from colorcore.app.names import build_zip, content_hash, sanitize_filename
from colorcore.app import results, trust
from colorcore.app.display import PREVIEW_SIDE
from colorcore.app.results import Colorized, result_file, submit_previews
from colorcore.checkpoints import Checkpoint, CheckpointError, read_metadata
from colorcore.io import RESULT_FORMATS, Layout, read_layout
from colorcore.serve import get_server
from colorcore.workqueue import Job, QueueFull

#: Seconds between updates of a waiting page's place in the queue.
POLL_S = 0.25
#: Seconds between redraws of an out-of-domain warning whose other checkpoints are still being checked.
NOTE_POLL_S = 1.0
#: Seconds a download waits for room in a full queue before it gives up.
DOWNLOAD_PATIENCE_S = 120
#: Session-state key counting the session's page runs (explorer.py), which :func:`download_link` needs.
RUN_KEY = "app.run"

_log = logging.getLogger(__name__)


# ---------------------------------------------------------------------------
# caches


def checkpoint(name: str) -> Checkpoint:
    """The loaded catalog checkpoint ``name`` (or ``gray``), shared by all sessions; do not modify."""
    return get_server().checkpoints.get(name)


@st.cache_data(max_entries=8, show_spinner=False)
def _catalog(stamps: tuple, folder: str) -> Catalog:
    return read_catalog()


def catalog() -> Catalog:
    """Readable catalog headers (re-read when a checkpoint file changes)."""
    return _catalog(catalog_stamps(), str(paths.catalog_dir()))


@st.cache_data(max_entries=16, max_size="1GB", show_spinner=False)
def _decode(digest: str, name: str, plane: tuple, _data: bytes) -> LoadedImage:
    with get_server().intake.turn():  # uploads are decoded one at a time, in the order they came
        return load_image(name, _data, digest=digest, plane=dict(plane) or None)


def load_upload(name: str, data: bytes, plane: dict | None = None) -> LoadedImage:
    """Decode an upload (cached by content and plane choice); raises :class:`colorcore.io.ImageError`."""
    return _decode(content_hash(data), sanitize_filename(name, default="upload"),
                   tuple(sorted((plane or {}).items())), data)


@st.cache_data(max_entries=64, show_spinner=False)
def _layout(digest: str, name: str, _data: bytes) -> Layout:
    return read_layout(_data, name=name)


def upload_layout(digest: str, name: str, data: bytes) -> Layout:
    """The axes of upload ``data`` (cached by its ``digest``, :func:`colorcore.app.names.content_hash`)."""
    return _layout(digest, sanitize_filename(name, default="upload"), data)


# ---------------------------------------------------------------------------
# model work, through the server's queue


def _result_key(loaded: LoadedImage, name: str, working_size: int | None, temperature: float | None) -> tuple:
    return results.result_key(loaded.digest, name, working_size, temperature)


def _wait(job: Job, what: str):
    """The job's result; meanwhile a note says the job's place in the queue and an estimate (re-sent only when
    its text changes)."""
    note = st.empty()
    try:
        return get_server().queue.wait(
            job, lambda message: note.info(message.capitalize(), icon=":material/hourglass_top:"), what, POLL_S)
    finally:
        note.empty()


def _job_failed(loaded: LoadedImage, what: str, err: Exception) -> None:
    """An ``st.error`` saying that ``what`` (which names the checkpoint) failed for ``loaded``, with the error's
    type and message; the traceback of an unexpected failure (not a checkpoint that cannot be read) is logged."""
    if not isinstance(err, CheckpointError):
        _log.error("colorcore: %s failed for %s", what, loaded.name, exc_info=err)
    st.error(f"{loaded.name}: {what} failed ({type(err).__name__}: {err})")


def _say_busy(loaded: LoadedImage, err: QueueFull, retry: str) -> None:
    """The full queue's warning, with a "Try again" button (key ``retry.<digest>.<retry>``)."""
    st.warning(f"{loaded.name}: {err}. Your upload and earlier results are kept.", icon=":material/group:")
    st.button("Try again", key=f"retry.{loaded.digest}.{retry}", icon=":material/refresh:")


def _patient_submit(key: tuple, fn: Callable, *args) -> Job:
    """Queue a download's job, waiting for room rather than failing (a click must not be lost)."""
    deadline = time.monotonic() + DOWNLOAD_PATIENCE_S
    while True:
        try:
            return get_server().result_cache.get_or_submit(key, fn, *args)
        except QueueFull:
            if time.monotonic() > deadline:
                raise
            time.sleep(POLL_S)


def full_resolution_file(loaded: LoadedImage, result: Colorized, name: str, working_size: int | None,
                         temperature: float | None, fmt: str, file_name: str) -> Download:
    """The full-resolution file of ``result`` as a :class:`Download` (for :func:`download_link`), made via the
    queue when clicked, with the same bytes as ``colorcore colorize`` writes for that input."""
    key = ("file", fmt, *_result_key(loaded, name, working_size, temperature))

    def make() -> bytes:
        return _patient_submit(key, result_file, loaded.image, loaded.info, result, name, fmt).result()

    return Download(make, file_name, RESULT_FORMATS[fmt][1], key)


def full_resolution_metrics(loaded: LoadedImage, outputs: dict[str, Colorized], working_size: int | None) -> list[dict]:
    """Compare-table rows of the checkpoints ``outputs`` measured on their full-resolution results: queued
    together, then waited for (with a note). A full queue is said (with "Try again"), a failed measurement
    reported (naming file and checkpoint); the rows of those measured are returned."""
    try:
        jobs = get_server().result_cache.get_or_submit_many(
            [(("metrics", *_result_key(loaded, name, working_size, None)), results.full_resolution_metrics,
              (loaded.image, result, name), {}) for name, result in outputs.items()])
    except QueueFull as err:
        _say_busy(loaded, err, f"metrics.{'+'.join(outputs)}")
        return []
    rows = []
    for name, job in zip(outputs, jobs):
        try:
            rows.append(_wait(job, "measurement"))
        except Exception as err:  # noqa: BLE001 - whatever the job raised (torch, numpy, a bug) is said, not raised
            _job_failed(loaded, f"measuring {name}", err)
    return rows


def _verdicts_job(image, names: tuple) -> dict:
    return trust.verdicts(image, ((name, checkpoint(name)) for name in names))


def in_domain_elsewhere(loaded: LoadedImage, cat: Catalog, name: str) -> Job | None:
    """The job finding the other catalog checkpoints for which ``loaded`` is in domain (shared by all sessions),
    queued in the background lane: it runs only when no result is waiting, its own page's or anyone else's.
    None when that lane is full."""
    names = tuple(n for n in trust.checkable(cat.metas) if n != name)
    key = ("domain", loaded.digest, tuple((n, checkpoint_stamp(n)) for n in names))
    try:
        return get_server().result_cache.get_or_submit_many([(key, _verdicts_job, (loaded.image, names), {})],
                                                       background=True)[0]
    except QueueFull:
        return None


def _suggestions(loaded: LoadedImage, name: str, job: Job | None) -> list[str] | None:
    """The checkpoints ``job`` found (closest first); None while it runs, without it, or when it failed (said)."""
    if job is None or not job.done:
        return None
    try:
        return trust.in_domain_names(job.result())
    except Exception as err:  # noqa: BLE001 - whatever the job raised is said, not raised: the result still shows
        _job_failed(loaded, f"checking which checkpoints other than {name} suit it", err)
        return None


def _domain_warning_now(loaded: LoadedImage, cat: Catalog, name: str, result: Colorized, job: Job | None) -> None:
    text = trust.warning_text(name, cat.metas[name], result.domain_score, _suggestions(loaded, name, job))
    if job is not None and not job.done:
        text += " Checking which other checkpoints suit it..."
    st.warning(text, icon=":material/warning:")


def domain_warning(loaded: LoadedImage, cat: Catalog, name: str, result: Colorized) -> None:
    """An ``st.warning`` when ``loaded`` is outside ``name``'s training domain, naming the checkpoints for which
    it is in domain; nothing for an in-domain image or a checkpoint without a domain check.

    The page does not wait for those names (:func:`in_domain_elsewhere`): until they are known the warning
    says they are being checked, and redraws itself (an ``st.fragment`` polling every ``NOTE_POLL_S``) once
    they are."""
    if result.in_domain is not False:
        return
    job = in_domain_elsewhere(loaded, cat, name)
    if job is None or job.done:
        _domain_warning_now(loaded, cat, name, result, job)
    else:
        st.fragment(_domain_warning_now, run_every=NOTE_POLL_S)(loaded, cat, name, result, job)


def zip_of_files(files: list[Download], file_name: str) -> Download:
    """A ZIP of the downloads ``files``, made when clicked."""
    return Download(lambda: build_zip([(file.file_name, file.make()) for file in files]), file_name,
                    "application/zip", ("zip", *(file.key for file in files)))


def _is_active_session(session: str) -> bool:
    return not Runtime.exists() or Runtime.instance().is_active_session(session)


def download_link(download: Download, label: str, tooltip: str = "", primary: bool = False) -> None:
    """A download button for ``download``: a link to the explorer's own route (:mod:`colorcore.app.downloads`),
    the same on every run of this session, so a click on a button a rerun is redrawing is never lost."""
    DOWNLOADS.forget(_is_active_session)
    token = DOWNLOADS.register(get_script_run_ctx().session_id, download, st.session_state.get(RUN_KEY, 0))
    url = f"{api_prefix(st.get_option('server.baseUrlPath'))}/download/{token}"
    st.markdown(link_html(url, download, label, tooltip, primary), unsafe_allow_html=True)


@st.cache_data(max_entries=8, show_spinner=False)
def folder_stats(root: str, relative: str, max_images: int) -> analysis.FolderStats:
    """:func:`colorcore.analysis.folder_stats` of a folder listed under the data root (cached).

    Raises
    ------
    ValueError
        If ``relative`` is not one of :func:`colorcore.app.folders.list_data_folders` or leaves ``root``.
    """
    if relative not in folders.list_data_folders(root):
        raise ValueError(f"{relative!r} is not one of the data folders under {root}")
    return analysis.folder_stats(folders.resolve_data_folder(root, relative), max_images=max_images)


@st.cache_data(max_entries=16, show_spinner=False)
def _checkpoint_data_stats(name: str, stamp: str) -> analysis.RecordedDataStats:
    return analysis.checkpoint_data_stats(read_metadata(name, catalog_only=True))


def checkpoint_data_stats(name: str) -> analysis.RecordedDataStats:
    """:func:`colorcore.analysis.checkpoint_data_stats` of a catalog checkpoint (cached)."""
    return _checkpoint_data_stats(name, checkpoint_stamp(name))


def colorize_all_or_report(loaded: LoadedImage, names: list[str], working_size: int,
                           temperature: float | None = None, side: int = PREVIEW_SIDE) -> dict[str, Colorized]:
    """``loaded`` through every checkpoint of ``names``: all queued at once (one block in the queue), then waited
    for; returns the results that came, ``{name: Colorized}``. A full queue or a failure is reported (naming
    file and checkpoint)."""
    try:
        jobs = submit_previews(loaded.image, loaded.digest, names, working_size, temperature, side)
    except QueueFull as err:
        _say_busy(loaded, err, "+".join(names))
        return {}
    done = {}
    for name, job in jobs.items():
        try:
            done[name] = _wait(job, "image")
        except Exception as err:  # noqa: BLE001 - whatever the job raised (torch, numpy, a bug) is said, not raised
            _job_failed(loaded, f"colorizing with {name}", err)
    return done


def colorize_or_report(loaded: LoadedImage, name: str, working_size: int,
                       temperature: float | None = None) -> Colorized | None:
    """Colorize through the queue; a full queue or a failure is reported (naming file and checkpoint)."""
    return colorize_all_or_report(loaded, [name], working_size, temperature).get(name)


__all__ = ["checkpoint", "catalog", "load_upload", "upload_layout", "full_resolution_file", "full_resolution_metrics",
           "zip_of_files", "folder_stats", "checkpoint_data_stats", "colorize_or_report", "colorize_all_or_report",
           "in_domain_elsewhere", "domain_warning", "download_link"]
