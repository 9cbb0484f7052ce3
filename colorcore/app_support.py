"""Computation behind the Streamlit explorer, kept free of Streamlit so it can be unit tested.

The pages in ``pages/`` only lay out widgets, make one call into this module
(or :mod:`colorcore.figures`, or :mod:`colorcore.analysis`) and show the
result; the Streamlit caches live in ``app_cache.py``.  Nothing here turns user
input into a file path: uploads are handled as bytes, examples are chosen from
the files that :func:`list_samples` finds, checkpoints from the catalog and
data folders from :func:`colorcore.analysis.list_data_folders`.
"""
from __future__ import annotations

import base64
import hashlib
import io
import json
import math
import os
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from .checkpoints import (GRAY_BASELINE, CheckpointError, catalog_dir, catalog_names,
                          read_metadata, resolve, summary)
from .infer import colorize
from .io import IMAGE_SUFFIXES, ImageError, ImageInfo, encode_png, read_image, shrink, to_uint8
from .metrics import MetricAccumulator, ab_histogram, chroma_hue, colorfulness, lab_of
from .models import CLASSIFIERS
from .quantize import DEFAULT_TEMPERATURE

#: Largest upload the app colorizes (width x height); the command line takes more.
APP_MAX_PIXELS = 40_000_000
#: Long side of the images the pages display (full size is downloaded).
PREVIEW_SIDE = 1600
#: Images thinner than 1:MAX_DISPLAY_ASPECT are stretched for display (see :func:`preview`).
MAX_DISPLAY_ASPECT = 50
#: Long side of the images inside the before/after slider (they travel as base64).
SLIDER_SIDE = 1024
#: Working sizes offered by the pages.
WORKING_SIZES = (256, 384, 512, 768, 1024)
#: The study checkpoints the Compare page selects by default.
STUDY_NAMES = ("places12-mse", "places12-huber", "places500-mse", "places500-huber")
#: Domains in the order the pages list them; others follow alphabetically.
DOMAIN_ORDER = ("scenes", "histology", "fluorescence")
#: What each domain's checkpoints learned from, shown under the domain choice.
DOMAIN_NOTES = {
    "scenes": "Trained on Places2 photographs (the study's domain). For micrographs choose histology "
              "(brightfield: H&E tissue, blood smears, IHC) or fluorescence (single fluorescence channels).",
    "histology": "Trained on brightfield micrographs (H&E tissue, blood smears, IHC): stain-like colours "
                 "(hematoxylin purple, eosin pink, DAB brown).",
    "fluorescence": "Trained on fluorescence composites in the viewer convention: DNA blue, main marker green, "
                    "third marker red.",
}
#: Environment variable naming another folder of shipped examples (default ``samples/``).
SAMPLES_ENV = "COLORCORE_SAMPLES"
#: File holding the gray baseline's stored test metrics, in the catalog folder.
BASELINES_FILE = "baselines.json"
#: Metrics of the Compare table, in display order.
COMPARE_COLUMNS = ("psnr", "ssim", "ab_rmse", "colorfulness", "colorfulness_gt", "cast_a", "cast_b")
#: Test metrics shown next to each other on the Training curves page.
TEST_COLUMNS = ("n_images", "psnr", "ssim", "ab_rmse", "auc", "colorfulness", "colorfulness_gt",
                "cast_a", "cast_b", "green_recall", "hue_accuracy")

_UNSAFE_CHARS = re.compile(r"[^A-Za-z0-9._ -]+")


# ---------------------------------------------------------------------------
# names, hashes, archives


def content_hash(data: bytes) -> str:
    """SHA-256 hex digest of ``data`` (the cache key of an upload)."""
    return hashlib.sha256(data).hexdigest()


def sanitize_filename(name: str, default: str = "image") -> str:
    """A safe plain file name made from an upload's name.

    Only the last path component is kept (``/`` and ``\\`` both separate), the
    name is reduced to letters, digits, ``.``, ``_``, ``-`` and spaces, ``..``
    sequences and leading dots are removed and the result is at most 120
    characters long.

    Parameters
    ----------
    name : str
        Name as sent by the browser (may contain a path).
    default : str, default "image"
        Returned when nothing usable is left.

    Returns
    -------
    str
        Never empty, never containing a path separator or ``..``.
    """
    base = re.split(r"[\\/]", str(name or ""))[-1]
    base = unicodedata.normalize("NFKD", base).encode("ascii", "ignore").decode("ascii")
    base = _UNSAFE_CHARS.sub("_", base).strip(" ")
    while ".." in base:
        base = base.replace("..", ".")
    base = base.lstrip(".").strip(" ")
    if len(base) > 120:
        stem, dot, ext = base.rpartition(".")
        base = (stem[: 120 - len(ext) - 1] + "." + ext) if dot and len(ext) <= 10 else base[:120]
    return base or default


def result_filename(upload_name: str, checkpoint: str) -> str:
    """Download name of a colorized upload: ``<stem>_<checkpoint>.png`` (sanitized)."""
    stem = sanitize_filename(upload_name).rsplit(".", 1)[0] or "image"
    return sanitize_filename(f"{stem}_{checkpoint}.png")


def unique_names(names: list[str]) -> list[str]:
    """Sanitized names made unique by ``-2``, ``-3``... suffixes before the extension."""
    seen: set[str] = set()
    out = []
    for raw in names:
        name = sanitize_filename(raw)
        stem, dot, ext = name.rpartition(".")
        if not dot:
            stem, ext = name, ""
        candidate, k = name, 2
        while candidate.lower() in seen:
            candidate = f"{stem}-{k}{dot}{ext}"
            k += 1
        seen.add(candidate.lower())
        out.append(candidate)
    return out


def build_zip(items: list[tuple[str, bytes]]) -> bytes:
    """One ZIP archive (deflated) of ``(name, data)`` items.

    Names are sanitized (no folders, no ``..``) and made unique, so extracting
    the archive writes only plain files into one folder.

    Parameters
    ----------
    items : list of (str, bytes)

    Returns
    -------
    bytes
        The archive.
    """
    names = unique_names([name for name, _ in items])
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, (_, data) in zip(names, items):
            zf.writestr(name, data)
    return buf.getvalue()


# ---------------------------------------------------------------------------
# catalog


def checkpoint_stamp(name: str) -> str:
    """Identity of a checkpoint file's current version (path, size, mtime); ``""`` for ``gray``.

    Cache keys include it, so a checkpoint rewritten by a running training
    (atomic replace) is loaded afresh instead of served stale.

    Raises
    ------
    CheckpointError
        If ``name`` is not in the catalog.
    """
    if name == GRAY_BASELINE:
        return ""
    path = resolve(name, catalog_only=True)
    st = path.stat()
    return f"{path}:{st.st_size}:{st.st_mtime_ns}"


def catalog_stamps() -> tuple[tuple[str, str], ...]:
    """``(name, stamp)`` of every catalog checkpoint (cheap: one ``stat`` each)."""
    out = []
    for name in catalog_names():
        try:
            out.append((name, checkpoint_stamp(name)))
        except (CheckpointError, OSError):
            continue
    return tuple(out)


@dataclass
class Catalog:
    """Readable catalog entries and the files that could not be read.

    Attributes
    ----------
    metas : dict
        ``{name: metadata}`` in catalog order.
    problems : list of str
        One message per unreadable checkpoint file.
    """

    metas: dict = field(default_factory=dict)
    problems: list = field(default_factory=list)

    @property
    def names(self) -> list[str]:
        return list(self.metas)


def read_catalog() -> Catalog:
    """Headers of all catalog checkpoints; a bad file is reported, not raised."""
    cat = Catalog()
    for name in catalog_names():
        try:
            cat.metas[name] = read_metadata(name, catalog_only=True)
        except CheckpointError as err:
            cat.problems.append(str(err))
    return cat


def domain_of(meta: dict) -> str:
    """Domain of a checkpoint (``scenes``, ``histology``, ``fluorescence``...) or ``other``."""
    return (meta.get("domain") or meta.get("train_config", {}).get("domain") or "other").strip() or "other"


def group_by_domain(metas: dict) -> dict[str, list[str]]:
    """``{domain: [names]}`` with the known domains first, names sorted inside each."""
    groups: dict[str, list[str]] = {}
    for name, meta in metas.items():
        groups.setdefault(domain_of(meta), []).append(name)
    order = [d for d in DOMAIN_ORDER if d in groups] + sorted(d for d in groups if d not in DOMAIN_ORDER)
    return {d: sorted(groups[d]) for d in order}


def is_vivid(meta: dict) -> bool:
    """True for a classification (vivid-colour) checkpoint, which takes an annealed-mean temperature."""
    return meta.get("model", {}).get("name") in CLASSIFIERS


def default_temperature(meta: dict) -> float:
    """The annealed-mean temperature a classification checkpoint decodes with by default."""
    return float(meta.get("model", {}).get("args", {}).get("temperature", DEFAULT_TEMPERATURE))


def micrograph_kind(loaded: "LoadedImage") -> str | None:
    """What kind of micrograph a gray input looks like, or None for a photo-like or colour input.

    ``"fluorescence"``: dark background with bright structures (median under
    0.3, 99th percentile at least 0.3 above it).  ``"brightfield"``: a 16-bit,
    float or TIFF image with a bright background (median over 0.6).
    ``"micrograph"``: any other 16-bit, float or TIFF gray image (DIC, EM).
    8-bit gray PNG/JPEG files that are not fluorescence-like are not guessed
    at: they may as well be photographs.
    """
    if loaded.is_color:
        return None
    step = max(1, int(math.sqrt(loaded.image.size / 250_000)))
    sample = loaded.image[::step, ::step]
    median, top = np.percentile(sample, [50, 99])
    if median < 0.3 and top - median >= 0.3:
        return "fluorescence"
    scientific = loaded.info.dtype != "uint8" or loaded.info.format == "TIFF"
    if not scientific:
        return None
    return "brightfield" if median > 0.6 else "micrograph"


#: Which domain serves each kind of micrograph, and how the hint describes the input.
_KIND_DOMAINS = {"fluorescence": (("fluorescence",), "a fluorescence image (dark background, bright structures)"),
                 "brightfield": (("histology",), "a brightfield micrograph (bright background)"),
                 "micrograph": (("histology", "fluorescence"), "a scientific gray image (16-bit, float or TIFF)")}


def domain_hint(kind: str | None, current_domain: str, domains: list[str]) -> str | None:
    """A suggestion to switch to a micrograph domain, or None when there is nothing better to offer.

    Parameters
    ----------
    kind : str or None
        From :func:`micrograph_kind`.
    current_domain : str
        Domain of the selected checkpoint.
    domains : list of str
        Domains present in the catalog.
    """
    if kind is None or kind not in _KIND_DOMAINS:
        return None
    wanted, described = _KIND_DOMAINS[kind]
    offered = [d for d in wanted if d in domains]
    if not offered or current_domain in offered:
        return None
    names = " or ".join(f"**{d}**" for d in offered)
    return (f"This looks like {described}. The {current_domain} checkpoints learned the colours of "
            f"{'photographs' if current_domain == 'scenes' else current_domain + ' images'}; "
            f"choose the {names} domain above for stain- or dye-like colours.")


def _fmt(value, spec: str, unit: str = "") -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    return f"{value:{spec}}{unit}"


def checkpoint_label(meta: dict) -> str:
    """One line saying what a checkpoint was trained on and how it scored.

    Example: ``places500-huber · scenes, 500 train images, huber loss · test PSNR 23.1 dB,
    ab RMSE 12.4``.
    """
    s = summary(meta)
    if s["name"] == GRAY_BASELINE:
        return f"{GRAY_BASELINE} · baseline, a* = b* = 0"
    trained = [domain_of(meta)]
    if s["train_images"] is not None:
        trained.append(f"{s['train_images']} train images")
    if is_vivid(meta):
        trained.append("a*b* classification (vivid)")
    elif s["loss"]:
        trained.append(f"{s['loss']} loss")
    if meta.get("recipe") == "study":
        trained.append("study recipe")
    if meta.get("complete") is False:
        trained.append(f"in training ({meta.get('epochs_done', s['epochs'])} epochs)")
    if s["test_psnr"] is None and s["test_ab_rmse"] is None:
        scored = "not evaluated yet"
    else:
        scored = f"test PSNR {_fmt(s['test_psnr'], '.1f', ' dB')}, ab RMSE {_fmt(s['test_ab_rmse'], '.1f')}"
    return f"{s['name']} · {', '.join(trained)} · {scored}"


def catalog_rows(metas: dict) -> list[dict]:
    """Table rows (one per checkpoint) of what each was trained on and how it scored."""
    rows = []
    for name, meta in metas.items():
        s = summary(meta)
        data = meta.get("data", {})
        rows.append({"checkpoint": name, "domain": domain_of(meta), "data": data.get("root", ""),
                     "train images": s["train_images"], "loss": s["loss"], "recipe": s["recipe"],
                     "epochs": s["epochs"], "test PSNR (dB)": s["test_psnr"],
                     "test ab RMSE": s["test_ab_rmse"], "description": s["description"]})
    return rows


def preferred_checkpoint(metas: dict) -> str | None:
    """The checkpoint pages start with: one marked ``recommended`` in its metadata, else the lowest
    test ab RMSE, else the most training images, else the first."""
    if not metas:
        return None

    def key(name):
        s = summary(metas[name])
        rmse = s["test_ab_rmse"]
        return (not metas[name].get("recommended"), rmse is None, rmse if rmse is not None else 0.0,
                -(s["train_images"] or 0), name)

    return min(metas, key=key)


def default_compare(names: list[str], limit: int = 4) -> list[str]:
    """Checkpoints the Compare page starts with: the study's four if present, else the first few."""
    study = [n for n in STUDY_NAMES if n in names]
    return study or list(names[:limit])


# ---------------------------------------------------------------------------
# inputs


def samples_dir() -> Path:
    """Folder of shipped example images (``samples/``; ``COLORCORE_SAMPLES`` overrides)."""
    env = os.environ.get(SAMPLES_ENV)
    return Path(env) if env else Path(__file__).resolve().parent.parent / "samples"


def list_samples() -> list[str]:
    """Names of the example images present in :func:`samples_dir` now (sorted, no folders)."""
    folder = samples_dir()
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir()
                  if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith("."))


def read_sample(name: str) -> bytes:
    """Bytes of one example image; only names listed by :func:`list_samples` are accepted.

    Raises
    ------
    ImageError
        If ``name`` is not one of the examples.
    """
    if name not in list_samples():
        raise ImageError(f"{sanitize_filename(name)}: not one of the shipped examples")
    return (samples_dir() / name).read_bytes()


def gather_inputs(uploads, example: str | None = None) -> list[tuple[str, bytes]]:
    """``(name, bytes)`` of the images to process: the uploads, or else the chosen example.

    Parameters
    ----------
    uploads : None, one object or a list of objects with ``name`` and ``getvalue()``
        What ``st.file_uploader`` returned.
    example : str, optional
        A name from :func:`list_samples`; used only when nothing was uploaded.

    Raises
    ------
    ImageError
        If ``example`` is not one of the shipped examples.
    """
    if uploads is not None and not isinstance(uploads, (list, tuple)):
        uploads = [uploads]
    items = [(u.name, u.getvalue()) for u in uploads or []]
    if not items and example:
        items = [(example, read_sample(example))]
    return items


@dataclass
class LoadedImage:
    """A decoded upload or example.

    Attributes
    ----------
    name : str
        Sanitized file name.
    digest : str
        SHA-256 of the file's bytes.
    image : np.ndarray
        Float32 (H, W) or (H, W, 3) in [0, 1], from :func:`colorcore.read_image`.
    info : ImageInfo
    """

    name: str
    digest: str
    image: np.ndarray
    info: ImageInfo

    @property
    def is_color(self) -> bool:
        """True when the file holds colour, which then serves as ground truth."""
        return self.image.ndim == 3

    @property
    def truth(self) -> np.ndarray | None:
        """The original as uint8 sRGB when it is in colour, else None."""
        return to_uint8(self.image) if self.is_color else None

    @property
    def display(self) -> np.ndarray:
        """The input as uint8 (gray or RGB) for showing."""
        return to_uint8(self.image)


def load_image(name: str, data: bytes, *, max_pixels: int = APP_MAX_PIXELS,
               digest: str | None = None) -> LoadedImage:
    """Decode an upload's bytes.

    Parameters
    ----------
    name : str
        The upload's name (sanitized here; used in messages).
    data : bytes
    max_pixels : int
        Larger images are refused from their header.
    digest : str, optional
        :func:`content_hash` of ``data`` when the caller already has it.

    Raises
    ------
    ImageError
        Empty, unreadable, unsupported or too large files; the message names the file.
    """
    safe = sanitize_filename(name, default="upload")
    data = bytes(data)
    image, info = read_image(data, name=safe, max_pixels=max_pixels)
    return LoadedImage(safe, digest or content_hash(data), image, info)


def image_facts(info: ImageInfo) -> list[dict]:
    """``[{"fact", "value"}]`` rows describing an image: size, sample type, normalisation, notes."""
    bits = {"uint8": "8-bit integer", "uint16": "16-bit integer", "int16": "16-bit signed integer",
            "uint32": "32-bit integer", "int32": "32-bit signed integer", "float16": "16-bit float",
            "float32": "32-bit float", "float64": "64-bit float", "bool": "1-bit"}
    rows = [("file", info.name), ("format", info.format),
            ("size", f"{info.width} x {info.height} px ({info.megapixels:.2f} MP)"),
            ("stored samples", f"{info.dtype} ({bits.get(info.dtype, info.dtype)}), shape {tuple(info.shape)}"),
            ("channels read", "RGB colour (used as ground truth)" if info.channels == 3 else "gray")]
    if info.pages > 1:
        rows.append(("pages", f"{info.pages} (page {info.page} used)"))
    rows.append(("normalisation", info.normalization or "none"))
    rows.append(("notes", "; ".join(info.notes) if info.notes else "none"))
    return [{"fact": k, "value": str(v)} for k, v in rows]


# ---------------------------------------------------------------------------
# images for display


def preview(rgb: np.ndarray, max_side: int = PREVIEW_SIDE) -> np.ndarray:
    """Display copy of a uint8 (H, W) or (H, W, 3) image: long side at most ``max_side``.

    Images thinner than 1:``MAX_DISPLAY_ASPECT`` (say 1 x 10000) are stretched along their short
    side for display only: Streamlit's own resizing would otherwise make them 0 pixels high.
    """
    small = shrink(rgb, max_side)
    height, width = small.shape[:2]
    if width > MAX_DISPLAY_ASPECT * height:
        small = np.repeat(small, math.ceil(width / (MAX_DISPLAY_ASPECT * height)), axis=0)
    elif height > MAX_DISPLAY_ASPECT * width:
        small = np.repeat(small, math.ceil(height / (MAX_DISPLAY_ASPECT * width)), axis=1)
    return small


def _png_data_uri(img: np.ndarray) -> str:
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def slider_html(before: np.ndarray, after: np.ndarray, *, before_label: str = "input",
                after_label: str = "colorized", max_side: int = SLIDER_SIDE) -> str:
    """A self-contained before/after comparison slider (no external script, works offline).

    The two images are embedded as base64 PNGs; an ``<input type=range>``
    moves a CSS clip over the "after" image.

    Parameters
    ----------
    before, after : np.ndarray, uint8
        Same height and width; (H, W) or (H, W, 3).
    before_label, after_label : str
    max_side : int
        Both images are downscaled to this long side first.

    Returns
    -------
    str
        A complete HTML document for ``st.iframe`` (which sizes its height to the content).
    """
    if before.shape[:2] != after.shape[:2]:
        raise ValueError(f"before and after differ in size: {before.shape[:2]} and {after.shape[:2]}")
    b, a = preview(before, max_side), preview(after, max_side)
    h, w = a.shape[:2]
    max_width = round(min(max(w, 800), 600 * w / h))  # at most 600 px tall on screen
    esc = {ord("<"): "&lt;", ord(">"): "&gt;", ord("&"): "&amp;", ord('"'): "&quot;"}
    bl, al = before_label.translate(esc), after_label.translate(esc)
    html = f"""<!doctype html><html><head><meta charset="utf-8"><style>
body {{margin:0; font-family:sans-serif;}}
.ba {{position:relative; width:100%; max-width:{max_width}px; margin:auto; overflow:hidden; line-height:0;}}
.ba img {{width:100%; height:auto; display:block; user-select:none;}}
.ba img.after {{position:absolute; inset:0; height:100%;}}
.ba .after {{clip-path: inset(0 0 0 50%);}}
.ba .bar {{position:absolute; top:0; bottom:0; left:50%; width:2px; background:#fff; box-shadow:0 0 3px #000;}}
.ba .tag {{position:absolute; top:6px; padding:1px 6px; background:rgba(0,0,0,.55); color:#fff;
 font-size:12px; line-height:1.4;}}
.ba input {{position:absolute; inset:0; width:100%; height:100%; margin:0; opacity:0; cursor:ew-resize;}}
</style></head><body><div class="ba" id="ba">
<img class="before" alt="{bl}" src="{_png_data_uri(b)}">
<img class="after" alt="{al}" src="{_png_data_uri(a)}">
<div class="bar"></div><span class="tag" style="left:6px">{bl}</span>
<span class="tag" style="right:6px">{al}</span>
<input type="range" min="0" max="100" value="50" step="0.5" aria-label="before/after position"
 oninput="var r=this.parentNode;r.querySelector('.after').style.clipPath='inset(0 0 0 '+this.value+'%)';
 r.querySelector('.bar').style.left=this.value+'%';">
</div></body></html>"""
    return html


# ---------------------------------------------------------------------------
# colorizing and measuring


@dataclass
class Colorized:
    """Result of one image through one checkpoint (what the caches keep).

    Attributes
    ----------
    rgb : np.ndarray, uint8 (H, W, 3)
    working_shape : tuple
    out_of_gamut : float
    png : bytes
        ``rgb`` encoded as PNG (the download).
    """

    rgb: np.ndarray
    working_shape: tuple
    out_of_gamut: float
    png: bytes


def run_colorize(image: np.ndarray, checkpoint, working_size: int | None,
                 temperature: float | None = None) -> Colorized:
    """Colorize one image and encode the PNG download once (a picklable result for caching).

    ``temperature`` is passed on for classification checkpoints (None: their default).
    """
    res = colorize(image, checkpoint, working_size=working_size, temperature=temperature)
    return Colorized(res.rgb, tuple(res.working_shape), float(res.out_of_gamut), encode_png(res.rgb))


def compare_metrics(outputs: dict[str, np.ndarray], truth: np.ndarray) -> list[dict]:
    """Metrics of several colorizations of one colour image, one row per checkpoint.

    Uses :class:`colorcore.metrics.MetricAccumulator`, exactly as ``colorcore
    evaluate`` does: PSNR, SSIM, ab RMSE, colourfulness of the output and of
    the original, and colour cast (mean predicted minus true a*, b*).

    Parameters
    ----------
    outputs : dict
        ``{checkpoint name: uint8 (H, W, 3)}``.
    truth : np.ndarray, uint8 (H, W, 3)

    Returns
    -------
    list of dict
        ``{"checkpoint", "psnr", "ssim", "ab_rmse", "colorfulness", "colorfulness_gt", "cast_a", "cast_b"}``.
    """
    rows = []
    for name, rgb in outputs.items():
        acc = MetricAccumulator()
        acc.add(rgb, truth)
        res = acc.result()
        rows.append({"checkpoint": name, **{k: res[k] for k in COMPARE_COLUMNS}})
    return rows


def color_summary(rgb: np.ndarray) -> dict:
    """Mean chroma, mean a* and b* (the cast) and colourfulness of a uint8 sRGB image."""
    lab = lab_of(rgb)
    chroma, _ = chroma_hue(lab)
    return {"mean_chroma": float(chroma.mean()), "mean_a": float(lab[..., 1].mean()),
            "mean_b": float(lab[..., 2].mean()), "colorfulness": colorfulness(rgb)}


def hist_summary(hist: dict) -> dict:
    """Mean chroma and mean a*, b* of an a*b* histogram (bin centres weighted by counts)."""
    edges = np.asarray(hist["edges"], dtype=np.float64)
    counts = np.asarray(hist["counts"], dtype=np.float64)
    total = counts.sum()
    if total <= 0:
        return {"mean_chroma": None, "mean_a": None, "mean_b": None, "colorfulness": None}
    centers = (edges[:-1] + edges[1:]) / 2
    a, b = np.meshgrid(centers, centers, indexing="ij")
    w = counts / total
    return {"mean_chroma": float((np.hypot(a, b) * w).sum()), "mean_a": float((a * w).sum()),
            "mean_b": float((b * w).sum()), "colorfulness": None}


def ab_hist_of(rgb: np.ndarray) -> dict:
    """a*b* histogram (layout of :func:`colorcore.metrics.ab_histogram`) of a uint8 sRGB image."""
    return ab_histogram(lab_of(rgb))


def summary_rows(named: dict[str, dict]) -> list[dict]:
    """Table rows from ``{label: summary dict}`` (see :func:`color_summary`, :func:`hist_summary`)."""
    return [{"image": label, "mean chroma": s["mean_chroma"], "cast a* (mean)": s["mean_a"],
             "cast b* (mean)": s["mean_b"], "colourfulness": s["colorfulness"]} for label, s in named.items()]


# ---------------------------------------------------------------------------
# training curves and stored metrics


def read_baselines(folder: str | os.PathLike | None = None) -> dict:
    """Stored gray-baseline test metrics, ``{data description: metrics}``; ``{}`` if none.

    Reads ``baselines.json`` in the catalog folder; a missing or malformed file
    gives an empty dict (the page then shows only what checkpoints store).
    """
    path = Path(folder) if folder else catalog_dir()
    try:
        data = json.loads((path / BASELINES_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(k): v for k, v in data.items() if isinstance(v, dict)}


def test_metrics_rows(metas: dict, baselines: dict | None = None) -> list[dict]:
    """Test metrics of each checkpoint followed by the gray baseline's stored ones.

    Parameters
    ----------
    metas : dict
        ``{name: metadata}``; a checkpoint without ``metrics["test"]`` gives a row of None.
    baselines : dict, optional
        From :func:`read_baselines`.

    Returns
    -------
    list of dict
        ``{"checkpoint", "data", *TEST_COLUMNS}``.
    """
    rows = []
    for name, meta in metas.items():
        test = meta.get("metrics", {}).get("test") or {}
        rows.append({"checkpoint": name, "data": test.get("data", meta.get("data", {}).get("root", "")),
                     **{k: test.get(k) for k in TEST_COLUMNS}})
    for label, metrics in (baselines or {}).items():
        rows.append({"checkpoint": f"{GRAY_BASELINE} (baseline)", "data": label,
                     **{k: metrics.get(k) for k in TEST_COLUMNS}})
    return rows


def has_history(meta: dict) -> bool:
    """True when a checkpoint recorded at least one epoch."""
    return bool(meta.get("history"))


# ---------------------------------------------------------------------------
# data folders


def overview_rows(stats: dict) -> list[dict]:
    """``[{"item", "value"}]`` rows of the scalar facts in a statistics dict (nested dicts flattened once)."""
    rows = []
    for key, value in stats.items():
        if isinstance(value, (str, int, float, bool)) or value is None:
            rows.append({"item": key, "value": str(value)})
        elif isinstance(value, dict) and all(isinstance(v, (str, int, float, bool)) or v is None
                                             for v in value.values()):
            rows.extend({"item": f"{key}.{k}", "value": str(v)} for k, v in value.items())
    return rows


def quality_counts(stats: dict) -> list[dict]:
    """``[{"check", "count"}]`` of the quality problems a folder analysis found."""
    checks = (("unreadable", "unreadable files"), ("tiny", "tiny images"),
              ("near_gray", "near-gray images"), ("exact_duplicates", "groups of exact duplicates"),
              ("near_duplicates", "groups of near duplicates"))
    return [{"check": label, "count": len(stats.get(key) or [])} for key, label in checks]


def quality_lists(stats: dict) -> dict[str, list[str]]:
    """Each quality check's files as display lines (duplicate groups joined by ``=``)."""
    def unreadable(u) -> str:
        if not isinstance(u, dict):
            return str(u)
        reason = str(u.get("reason", ""))
        return reason if reason.startswith(str(u.get("file"))) else f"{u.get('file')}: {reason}"

    out = {"unreadable files": [unreadable(u) for u in stats.get("unreadable") or []],
           "tiny images": [str(f) for f in stats.get("tiny") or []],
           "near-gray images": [str(f) for f in stats.get("near_gray") or []],
           "exact duplicates": [" = ".join(map(str, g)) for g in stats.get("exact_duplicates") or []],
           "near duplicates": [" ~ ".join(map(str, g)) for g in stats.get("near_duplicates") or []]}
    return out
