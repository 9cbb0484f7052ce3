"""Streamlit caches and the widgets the explorer's pages share.

This is the only module besides the pages that imports Streamlit; the
computation lives in the modules of :mod:`colorcore.app` and in :mod:`colorcore.analysis`.

Caching:

* each checkpoint is loaded once per server process (``st.cache_resource``),
  keyed by its catalog name and file version, and never mutated;
* decoded uploads and colorized results are cached per (content hash,
  checkpoint, working size) with ``st.cache_data`` bounded by entries and bytes;
* folder statistics are cached with a small ``max_entries``.
"""
from __future__ import annotations

import streamlit as st

from colorcore import analysis, paths
from colorcore.app import folders
from colorcore.app.catalog import (DOMAIN_NOTES, Catalog, catalog_stamps, checkpoint_label, checkpoint_stamp,
                                   default_temperature, domain_of, group_by_domain, is_vivid,
                                   preferred_checkpoint, read_catalog)
from colorcore.app.inputs import LoadedImage, domain_hint, gather_inputs, list_samples, load_image, micrograph_kind
from colorcore.app.names import content_hash, sanitize_filename
from colorcore.app.results import WORKING_SIZES, Colorized, run_colorize
from colorcore.checkpoints import Checkpoint, load_checkpoint, read_metadata
from colorcore.io import ImageError


# ---------------------------------------------------------------------------
# caches


@st.cache_resource(max_entries=12, show_spinner="Loading checkpoint...")
def _checkpoint(name: str, stamp: str) -> Checkpoint:
    return load_checkpoint(name, catalog_only=True)


def checkpoint(name: str) -> Checkpoint:
    """The loaded catalog checkpoint ``name`` (or ``gray``), shared by all sessions; do not modify."""
    return _checkpoint(name, checkpoint_stamp(name))


@st.cache_data(max_entries=8, show_spinner=False)
def _catalog(stamps: tuple, folder: str) -> Catalog:
    return read_catalog()


def catalog() -> Catalog:
    """Readable catalog headers (re-read when a checkpoint file changes)."""
    return _catalog(catalog_stamps(), str(paths.catalog_dir()))


@st.cache_data(max_entries=16, max_size="1GB", show_spinner=False)
def _decode(digest: str, name: str, _data: bytes) -> LoadedImage:
    return load_image(name, _data, digest=digest)


def load_upload(name: str, data: bytes) -> LoadedImage:
    """Decode an upload (cached by content); raises :class:`colorcore.io.ImageError`."""
    return _decode(content_hash(data), sanitize_filename(name, default="upload"), data)


@st.cache_data(max_entries=64, max_size="1GB", show_spinner=False)
def _colorize(digest: str, name: str, stamp: str, working_size: int | None, temperature: float | None,
              _image) -> Colorized:
    return run_colorize(_image, checkpoint(name), working_size, temperature)


def colorized(loaded: LoadedImage, name: str, working_size: int | None,
              temperature: float | None = None) -> Colorized:
    """``loaded`` colorized by checkpoint ``name``, cached per (content, checkpoint, working size, temperature)."""
    return _colorize(loaded.digest, name, checkpoint_stamp(name), working_size, temperature, loaded.image)


@st.cache_data(max_entries=8, show_spinner=False)
def folder_stats(root: str, relative: str, max_images: int) -> dict:
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
def _checkpoint_data_stats(name: str, stamp: str) -> dict:
    return analysis.checkpoint_data_stats(read_metadata(name, catalog_only=True))


def checkpoint_data_stats(name: str) -> dict:
    """:func:`colorcore.analysis.checkpoint_data_stats` of a catalog checkpoint (cached)."""
    return _checkpoint_data_stats(name, checkpoint_stamp(name))


# ---------------------------------------------------------------------------
# shared widgets

#: Session-state key explorer.py sets on every run before running a page.
NAV_KEY = "app.navigation"
#: Session-state key holding the page to open once the navigation is in place.
REDIRECT_KEY = "app.redirect"


def require_navigation(page: str) -> None:
    """Make sure ``page`` runs inside the app's ``st.navigation``.

    A server whose very first request is a page's own URL (a bookmark or a
    reload right after a restart) runs that file through Streamlit's legacy
    ``pages/`` folder mode, without explorer.py.  Then this switches to
    explorer.py, which installs the navigation and reopens ``page``.

    Parameters
    ----------
    page : str
        The page's path relative to explorer.py, e.g. ``"pages/compare.py"``.
    """
    if not st.session_state.get(NAV_KEY):
        st.session_state[REDIRECT_KEY] = page
        st.switch_page("explorer.py")


def require_catalog() -> Catalog:
    """The catalog; stops the page with a note when it holds no readable checkpoint."""
    cat = catalog()
    for problem in cat.problems:
        st.warning(f"Skipped an unreadable checkpoint: {problem}")
    if not cat.metas:
        st.info("The checkpoint catalog is empty: train a model (`python -m colorcore train ...`) "
                f"into `checkpoints/` or point `{paths.CHECKPOINTS_ENV}` at a catalog folder.")
        st.stop()
    return cat


def checkpoint_picker(cat: Catalog, key: str, label: str = "Checkpoint") -> str:
    """Domain choice (when there are several) and a checkpoint select box with descriptive labels."""
    groups = group_by_domain(cat.metas)
    domains = list(groups)
    domain = domains[0]
    if len(domains) > 1:
        st.session_state.setdefault(f"{key}_domain", domain)
        domain = st.radio("Domain", domains, horizontal=True, key=f"{key}_domain")
        if domain in DOMAIN_NOTES:
            st.caption(DOMAIN_NOTES[domain])
    options = groups[domain]
    if st.session_state.get(key) not in options:
        st.session_state[key] = preferred_checkpoint({n: cat.metas[n] for n in options})
    name = st.selectbox(label, options, key=key, format_func=lambda n: checkpoint_label(cat.metas[n]))
    desc = cat.metas[name].get("description")
    if desc:
        st.caption(desc)
    return name


def working_size_picker(key: str) -> int:
    """Long side of the image the network sees."""
    st.session_state.setdefault(key, 512)
    return st.select_slider("Working size (long side the network sees, px)", WORKING_SIZES, key=key,
                            help="The output always has the input's full size; larger working sizes "
                                 "give finer colour detail and take longer.")


def temperature_picker(meta: dict, key: str) -> float | None:
    """Annealed-mean temperature slider for a classification checkpoint; None (no widget) otherwise."""
    if not is_vivid(meta):
        return None
    st.session_state.setdefault(key, default_temperature(meta))
    return st.slider("Temperature (annealed mean)", 0.05, 1.0, step=0.01, key=key,
                     help="How the class probabilities become one colour: 1.0 is their mean (muted), lower "
                          "values move toward the most likely colour (vivid). 0.38 is the paper's choice.")


def micrograph_hint(loaded: LoadedImage, cat: Catalog, name: str) -> None:
    """An ``st.info`` suggesting the histology or fluorescence checkpoints when a micrograph meets another domain."""
    hint = domain_hint(micrograph_kind(loaded), domain_of(cat.metas[name]),
                           list(group_by_domain(cat.metas)))
    if hint:
        st.info(hint)


def checkpoint_and_size(cat: Catalog, prefix: str) -> tuple[str, int]:
    """Checkpoint picker and working-size slider side by side (keys ``<prefix>.checkpoint``/``.working_size``)."""
    pick, size = st.columns([3, 1])
    with pick:
        name = checkpoint_picker(cat, f"{prefix}.checkpoint")
    with size:
        working_size = working_size_picker(f"{prefix}.working_size")
    return name, working_size


def image_inputs(prefix: str, *, multiple: bool) -> list[tuple[str, bytes]]:
    """File uploader plus a picker of the shipped examples; returns ``(name, bytes)`` items."""
    uploads = st.file_uploader(
        # No ``type=`` filter: Streamlit raises on a disallowed extension, which would stop the page
        # for the whole batch; colorcore.io decides per file and reports each bad one instead.
        "Upload image(s)" if multiple else "Upload an image",
        accept_multiple_files=multiple, key=f"{prefix}.upload",
        help="PNG, JPEG, TIFF (8/16-bit integer or float), BMP, GIF or WebP. A colour image is used as "
             "ground truth: its grayscale version is colorized and compared with it.")
    samples = list_samples()
    example = None
    if samples:
        st.session_state.setdefault(f"{prefix}.example", "(none)")
        choice = st.selectbox("...or a shipped example (used when nothing is uploaded)", ["(none)", *samples],
                              key=f"{prefix}.example")
        example = None if choice == "(none)" else choice
    try:
        return gather_inputs(uploads, example)
    except ImageError as err:
        st.error(str(err))
        return []


def load_or_report(name: str, data: bytes) -> LoadedImage | None:
    """Decode one input; shows an ``st.error`` naming the file and returns None if it cannot be used."""
    try:
        with st.spinner(f"Reading {sanitize_filename(name, default='upload')}..."):
            return load_upload(name, data)
    except ImageError as err:
        st.error(f"Skipped: {err}")
    except (MemoryError, OSError) as err:
        st.error(f"Cannot use {sanitize_filename(name, default='upload')}: {type(err).__name__}: {err}")
    return None


def colorize_or_report(loaded: LoadedImage, name: str, working_size: int,
                       temperature: float | None = None) -> Colorized | None:
    """Colorize with a spinner; shows an ``st.error`` naming the file and checkpoint on failure."""
    try:
        with st.spinner(f"Colorizing {loaded.name} with {name}..."):
            return colorized(loaded, name, working_size, temperature)
    except (ValueError, RuntimeError, MemoryError) as err:
        st.error(f"{loaded.name}: colorizing with {name} failed ({type(err).__name__}: {err})")
        return None


__all__ = ["checkpoint", "catalog", "load_upload", "colorized", "folder_stats",
           "checkpoint_data_stats", "require_catalog", "checkpoint_picker", "working_size_picker",
           "temperature_picker", "micrograph_hint",
           "image_inputs", "load_or_report", "colorize_or_report", "require_navigation"]
