"""The widgets and page helpers the explorer's pages share.

The guards every page starts with (:func:`require_navigation`, :func:`require_catalog`), the
checkpoint, working-size and temperature pickers, the switch of a micrograph to its domain's
checkpoints, the image inputs (uploads, shipped examples, the planes of a stack) and the
confidence map.  What they decode or read comes from the caches of ``app_cache.py``.

An upload is kept in the session (never on disk) so every page can use it without a second upload.
"""
from __future__ import annotations

import urllib.parse

import numpy as np
import streamlit as st

from app_cache import catalog, load_upload, upload_layout
from colorcore import paths
from colorcore.app import display, trust
from colorcore.app.catalog import (DOMAIN_NOTES, Catalog, checkpoint_label, default_temperature, domain_of,
                                   group_by_domain, is_vivid, preferred_checkpoint)
from colorcore.app.inputs import (LoadedImage, describe_kind, domain_hint, gather_inputs, list_samples,
                                  micrograph_kind, suggested_domain)
from colorcore.app.names import content_hash, sanitize_filename
from colorcore.app.results import WORKING_SIZES, Colorized
from colorcore.io import Z_MAX, ImageError
from colorcore.metadata import CheckpointMeta

#: Session-state key of the images uploaded in this session, shared by the pages.
SHARED_INPUTS_KEY = "app.inputs"
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


def _mark_domain_chosen(key: str) -> None:
    st.session_state[f"{key}_domain_chosen"] = True


def checkpoint_picker(cat: Catalog, key: str, label: str = "Checkpoint") -> str:
    """Domain choice (when there are several) and a checkpoint select box with descriptive labels."""
    groups = group_by_domain(cat.metas)
    domains = list(groups)
    domain = domains[0]
    if len(domains) > 1:
        st.session_state.setdefault(f"{key}_domain", domain)
        if st.session_state.get(f"{key}_domain_next") in domains:  # set by micrograph_domain before a rerun
            st.session_state[f"{key}_domain"] = st.session_state.pop(f"{key}_domain_next")
        domain = st.radio("Domain", domains, horizontal=True, key=f"{key}_domain", persist_state="session",
                          on_change=_mark_domain_chosen, args=(key,))
        if domain in DOMAIN_NOTES:
            st.caption(DOMAIN_NOTES[domain])
    options = groups[domain]
    if st.session_state.get(key) not in options:
        st.session_state[key] = preferred_checkpoint({n: cat.metas[n] for n in options})
    name = st.selectbox(label, options, key=key, persist_state="session",
                        format_func=lambda n: checkpoint_label(cat.metas[n]))
    desc = cat.metas[name].get("description")
    if desc:
        st.caption(desc)
    return name


def working_size_picker(key: str) -> int:
    """Long side of the image the network sees."""
    st.session_state.setdefault(key, 512)
    return st.select_slider("Working size (long side the network sees, px)", WORKING_SIZES, key=key,
                            persist_state="session",
                            help="The output always has the input's full size; larger working sizes "
                                 "give finer colour detail and take longer.")


def temperature_picker(meta: CheckpointMeta, key: str) -> float | None:
    """Annealed-mean temperature slider for a classification checkpoint; None (no widget) otherwise."""
    if not is_vivid(meta):
        return None
    st.session_state.setdefault(key, default_temperature(meta))
    return st.slider("Temperature (annealed mean)", 0.05, 1.0, step=0.01, key=key, persist_state="session",
                     help="How the class probabilities become one colour: 1.0 is their mean (muted), lower "
                          "values move toward the most likely colour (vivid). 0.38 is the paper's choice.")


def micrograph_domain(loaded: LoadedImage, cat: Catalog, key: str, name: str) -> None:
    """Start a micrograph on its domain's checkpoints unless the user chose a domain; say so, with a way back.

    A fluorescence-like or brightfield upload met with another domain's checkpoint switches the
    domain choice of picker ``key`` (and reruns) as long as the user has not picked a domain
    themselves; the switch is said in an ``st.info`` with a button that reverses it.  Other
    scientific images (DIC, EM) only get the hint of :func:`colorcore.app.inputs.domain_hint`.
    """
    kind, current, domains = micrograph_kind(loaded), domain_of(cat.metas[name]), list(group_by_domain(cat.metas))
    target = suggested_domain(kind, current, domains)
    if target and not st.session_state.get(f"{key}_domain_chosen"):
        st.session_state[f"{key}_domain_next"] = target
        st.session_state[f"{key}_domain_auto"] = (current, target, describe_kind(kind))
        st.rerun()
    auto = st.session_state.get(f"{key}_domain_auto")
    if auto and auto[1] == current and not st.session_state.get(f"{key}_domain_chosen"):
        previous, _, described = auto
        st.info(f"This looks like {described}, so it starts on the **{current}** checkpoints ({name}).",
                icon=":material/biotech:")
        if st.button(f"Use the {previous} checkpoints instead", key=f"{key}.undo_domain.{loaded.digest[:12]}"):
            st.session_state[f"{key}_domain_next"] = previous
            st.session_state[f"{key}_domain_chosen"] = True
            st.rerun()
        return
    hint = domain_hint(kind, current, domains)
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


def _share_uploads(widget_key: str) -> None:
    """Keep what the uploader ``widget_key`` holds now as the session's images (nothing held: forget them)."""
    items = gather_inputs(st.session_state.get(widget_key))
    if items:
        st.session_state[SHARED_INPUTS_KEY] = items
    else:
        st.session_state.pop(SHARED_INPUTS_KEY, None)


def _shared_inputs(prefix: str, multiple: bool) -> list[tuple[str, bytes]]:
    """The images uploaded earlier in this session (on any page), with a note saying so."""
    items = st.session_state.get(SHARED_INPUTS_KEY) or []
    if items and not multiple and len(items) > 1:
        chosen = st.selectbox("Image uploaded earlier in this session", [n for n, _ in items], key=f"{prefix}.shared")
        items = [item for item in items if item[0] == chosen][:1]
    if items:
        st.caption(f"Using {', '.join(sanitize_filename(n) for n, _ in items)}, uploaded earlier in this session "
                   "(upload another file here to replace it).")
    return items


def image_inputs(prefix: str, *, multiple: bool) -> list[tuple[str, bytes]]:
    """File uploader plus a picker of the shipped examples; returns ``(name, bytes)`` items.

    An upload is kept for the session, so the other pages start with it; a page's own upload,
    else its chosen example, else the session's earlier upload is used.
    """
    widget_key = f"{prefix}.upload"
    uploads = st.file_uploader(
        # No ``type=`` filter: Streamlit raises on a disallowed extension, which would stop the page
        # for the whole batch; colorcore.io decides per file and reports each bad one instead.
        "Upload image(s)" if multiple else "Upload an image",
        accept_multiple_files=multiple, key=widget_key, on_change=_share_uploads, args=(widget_key,),
        help="PNG, JPEG, TIFF (8/16-bit integer or float, compressed, OME/ImageJ stacks), CZI, BMP, GIF or WebP. "
             "A colour image is used as ground truth: its grayscale version is colorized and compared with it.")
    samples = list_samples()
    example = None
    if samples:
        st.session_state.setdefault(f"{prefix}.example", "(none)")
        choice = st.selectbox("...or a shipped example (used when nothing is uploaded)", ["(none)", *samples],
                              key=f"{prefix}.example", persist_state="session")
        example = None if choice == "(none)" else choice
    try:
        items = gather_inputs(uploads, example)
    except ImageError as err:
        st.error(str(err))
        return []
    return items or _shared_inputs(prefix, multiple)


def plane_pickers(name: str, data: bytes, key: str) -> dict | None:
    """Channel, z and time pickers for a microscope stack, shown only for the axes the file has.

    Returns the choices for :func:`colorcore.io.read_image` (None for a plain image). Channel
    names come from the file's metadata (OME-XML, CZI); z offers ``max`` (a maximum projection).
    """
    digest = content_hash(data)
    layout = upload_layout(digest, name, data)
    channels, planes, times = layout.size("C"), layout.size("Z"), layout.size("T")
    if max(channels, planes, times) <= 1:
        return None
    st.caption(f"{sanitize_filename(name)}: a stack with axes {layout.describe()}.")
    cols = st.columns(3)
    choice = {}
    if channels > 1:
        choice["channel"] = cols[0].selectbox("Channel", range(channels), format_func=layout.channel_label,
                                              key=f"{key}.channel.{digest[:12]}", persist_state="session")
    if planes > 1:
        choice["z"] = cols[1].selectbox("Z plane", [Z_MAX, *range(planes)], index=1 + planes // 2,
                                        format_func=lambda z: "maximum projection" if z == Z_MAX else str(z),
                                        key=f"{key}.z.{digest[:12]}", persist_state="session")
    if times > 1:
        choice["t"] = cols[2].number_input("Time point", 0, times - 1, 0, key=f"{key}.t.{digest[:12]}",
                                           persist_state="session")
    return choice


def load_or_report(name: str, data: bytes, key: str = "input") -> LoadedImage | None:
    """Decode one input (with plane pickers for stacks); an ``st.error`` naming the file if it cannot be used."""
    try:
        plane = plane_pickers(name, data, key)
        with st.spinner(f"Reading {sanitize_filename(name, default='upload')}..."):
            return load_upload(name, data, plane)
    except ImageError as err:
        st.error(f"Skipped: {err}")
    except (MemoryError, OSError) as err:
        st.error(f"Cannot use {sanitize_filename(name, default='upload')}: {type(err).__name__}: {err}")
    return None


def confidence_view(result: Colorized, name: str) -> None:
    """The result's confidence map, or a note saying the checkpoint gives none."""
    if result.confidence is None:
        st.caption(f"{name} is a regression checkpoint: it predicts one colour per pixel, not a distribution, "
                   "so it gives no per-pixel confidence (the vivid checkpoints do).")
        return
    st.image(trust.confidence_display(result.confidence), width="stretch",
             caption=f"confidence of {name} (white: sure; dark red: a guess); mean {result.confidence.mean():.2f}")


def comparison_slider(before: np.ndarray, after: np.ndarray, after_label: str) -> None:
    """The before/after slider of :func:`colorcore.app.display.slider_html` (``before`` resized to ``after``).

    ``st.iframe`` first asks whether its text is a URL with :func:`urllib.parse.urlsplit`, whose cache keeps
    its last 128 arguments and results: here whole slider pages (base64 PNGs, hundreds of KB each) held for
    as long as the server runs (33 MB and growing at minute 11 of the soak; docs/reliability.md).  The cache is emptied after
    each slider; it only spares re-parsing short URLs.
    """
    st.iframe(display.slider_html(display.resized_to(before, after.shape[:2]), after, after_label=after_label))
    urllib.parse.urlsplit.cache_clear()


__all__ = ["require_navigation", "require_catalog", "checkpoint_picker", "working_size_picker", "temperature_picker",
           "micrograph_domain", "checkpoint_and_size", "image_inputs", "plane_pickers", "load_or_report",
           "confidence_view", "comparison_slider"]
