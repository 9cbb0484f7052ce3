"""Plotly figures for the explorer: training curves, a*b* histograms, hue and chroma histograms.

Plain functions of metadata and :class:`colorcore.metrics.Histogram` objects
(2-D a*b* with ``counts[i, j]`` for a* bin i and b* bin j, or 1-D hue and
chroma) that return ``plotly.graph_objects.Figure`` objects, so they can be
tested without a browser.
"""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.colors import qualitative
from plotly.subplots import make_subplots

from ..metadata import history, loss_name
from ..metrics import Histogram

_COLORS = qualitative.Plotly
#: Lower end of the a*b* colour scale (log10 of a bin's share), fixed so figures side by side compare.
LOG_SHARE_MIN = -6.0
#: Validation metrics of the per-epoch history the curves page can plot.
VAL_METRICS = {"val_ab_rmse": "validation ab RMSE (Lab units, lower is better)",
               "val_psnr": "validation PSNR (dB, higher is better)"}


def _color(i: int) -> str:
    return _COLORS[i % len(_COLORS)]


def _points(history: list[dict], key: str) -> tuple[list, list]:
    """(epochs, values) of ``key``, skipping epochs where it is None or not finite."""
    xs, ys = [], []
    for h in history:
        v = h.get(key)
        if v is None or not np.isfinite(v):
            continue
        xs.append(h.get("epoch"))
        ys.append(float(v))
    return xs, ys


def loss_curves(metas: dict, *, log_y: bool = False) -> go.Figure:
    """Training (solid) and validation (dashed, markers) loss per epoch, one colour per checkpoint.

    Parameters
    ----------
    metas : dict
        ``{name: checkpoint metadata}``; each ``history`` entry has ``epoch``,
        ``train_loss`` and ``val_loss`` (None on epochs without validation,
        which are skipped).
    log_y : bool, default False
        Logarithmic loss axis.

    Returns
    -------
    plotly.graph_objects.Figure
    """
    fig = go.Figure()
    for i, (name, meta) in enumerate(metas.items()):
        records = history(meta)
        loss = loss_name(meta)
        suffix = f" ({loss})" if loss else ""
        for key, dash, mode, label in (("train_loss", "solid", "lines", "train"),
                                       ("val_loss", "dash", "lines+markers", "validation")):
            xs, ys = _points(records, key)
            if not xs:
                continue
            fig.add_trace(go.Scatter(
                x=xs, y=ys, mode=mode, name=f"{name} {label}{suffix}", legendgroup=name,
                line={"color": _color(i), "dash": dash},
                hovertemplate=f"{name} {label}<br>epoch %{{x}}<br>loss %{{y:.4g}}<extra></extra>"))
    fig.update_layout(title="Loss per epoch (each checkpoint's own criterion)", hovermode="x unified",
                      xaxis_title="epoch", yaxis_title="loss", legend_title_text="checkpoint")
    fig.update_yaxes(type="log" if log_y else "linear")
    return fig


def metric_curves(metas: dict, metric: str = "val_ab_rmse") -> go.Figure:
    """A loss-independent validation metric per epoch for several checkpoints on one axis.

    Parameters
    ----------
    metas : dict
        ``{name: checkpoint metadata}``.
    metric : {"val_ab_rmse", "val_psnr"}

    Returns
    -------
    plotly.graph_objects.Figure
    """
    if metric not in VAL_METRICS:
        raise ValueError(f"metric must be one of {', '.join(VAL_METRICS)}, got {metric!r}")
    fig = go.Figure()
    for i, (name, meta) in enumerate(metas.items()):
        xs, ys = _points(history(meta), metric)
        if xs:
            fig.add_trace(go.Scatter(
                x=xs, y=ys, mode="lines+markers", name=name, line={"color": _color(i)},
                hovertemplate=f"{name}<br>epoch %{{x}}<br>{metric} %{{y:.4g}}<extra></extra>"))
    fig.update_layout(title=VAL_METRICS[metric], hovermode="x unified", xaxis_title="epoch",
                      yaxis_title=VAL_METRICS[metric].split(" (")[0], legend_title_text="checkpoint")
    return fig


def with_reference(fig: go.Figure, value: float | None, label: str) -> go.Figure:
    """``fig`` with a dotted horizontal line at ``value`` labelled ``label`` (none for None or NaN).

    The Train page marks where a fine-tuned run started: its base checkpoint's validation loss
    and ab RMSE on the run's own validation images.
    """
    if value is not None and np.isfinite(value):
        fig.add_hline(y=float(value), line_dash="dot", line_color="#888", annotation_text=label,
                      annotation_position="top left")
    return fig


def _log_density(hist: Histogram) -> np.ndarray:
    """log10 of each bin's share of pixels; empty bins become NaN (drawn blank)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(hist.counts > 0, np.log10(hist.shares), np.nan)


def _check_ndim(hist: Histogram, ndim: int) -> None:
    if hist.ndim != ndim:
        raise ValueError(f"expected a {ndim}-D histogram, got counts of shape {hist.counts.shape}")


def ab_histogram_figure(hist: Histogram, title: str = "a*b* distribution") -> go.Figure:
    """2-D a*b* histogram (a* across, b* up, log density) with marginal histograms.

    Parameters
    ----------
    hist : Histogram
        2-D, as made by :func:`colorcore.metrics.ab_histogram`; shares are of ``n``
        pixels (of the counts' sum when ``n`` is None).
    title : str

    Returns
    -------
    plotly.graph_objects.Figure
        Heatmap bottom-left (colour scale fixed from 1e-6 to 1 of the pixels, so
        figures shown side by side compare), a* marginal above it, b* marginal
        to its right.

    Raises
    ------
    ValueError
        If ``hist`` is 1-D.
    """
    _check_ndim(hist, 2)
    centers, shares = hist.centers, hist.shares
    fig = make_subplots(rows=2, cols=2, column_widths=[0.8, 0.2], row_heights=[0.2, 0.8],
                        shared_xaxes=True, shared_yaxes=True, horizontal_spacing=0.02,
                        vertical_spacing=0.02)
    fig.add_trace(go.Heatmap(
        x=centers, y=centers, z=_log_density(hist).T, colorscale="Viridis", zmin=LOG_SHARE_MIN, zmax=0.0,
        colorbar={"title": {"text": "log10 share"}, "len": 0.75, "y": 0.38},
        hovertemplate="a* %{x:.0f}, b* %{y:.0f}<br>log10 share %{z:.2f}<extra></extra>", name="a*b*"),
        row=2, col=1)
    fig.add_trace(go.Bar(x=centers, y=shares.sum(axis=1), name="a* marginal", marker_color="#888",
                         hovertemplate="a* %{x:.0f}: %{y:.3f}<extra></extra>"), row=1, col=1)
    fig.add_trace(go.Bar(y=centers, x=shares.sum(axis=0), orientation="h", name="b* marginal",
                         marker_color="#888", hovertemplate="b* %{y:.0f}: %{x:.3f}<extra></extra>"),
                  row=2, col=2)
    fig.update_xaxes(title_text="a* (green − / red +)", row=2, col=1)
    fig.update_yaxes(title_text="b* (blue − / yellow +)", row=2, col=1)
    fig.update_layout(title=title, showlegend=False, bargap=0, height=520)
    return fig


def histogram_figure(hist: Histogram, title: str, x_title: str, *, color: str = "#4c78a8") -> go.Figure:
    """Bar chart of a 1-D histogram (share of pixels or images); ValueError if ``hist`` is 2-D."""
    _check_ndim(hist, 1)
    fig = go.Figure(go.Bar(x=hist.centers, y=hist.shares, width=np.diff(hist.edges),
                           marker_color=color, hovertemplate="%{x:.0f}: %{y:.3f}<extra></extra>"))
    fig.update_layout(title=title, xaxis_title=x_title, yaxis_title="share", bargap=0)
    return fig


def hue_histogram_figure(hist: Histogram, title: str = "hue") -> go.Figure:
    """Hue angle histogram (degrees, 1-D), bars coloured by their hue."""
    fig = histogram_figure(hist, title, "hue angle h_ab (degrees)")
    # Lab hue 0/90/180/270 degrees (red, yellow, green, blue) -> the HSL hues that look alike.
    hsl = np.interp(hist.centers, [0, 90, 180, 270, 360], [0, 60, 130, 220, 360]) % 360
    fig.update_traces(marker_color=[f"hsl({h:.0f},70%,50%)" for h in hsl])
    return fig


def chroma_histogram_figure(hist: Histogram, title: str = "chroma") -> go.Figure:
    """Chroma histogram (Lab units, 1-D)."""
    return histogram_figure(hist, title, "chroma C*ab (Lab units)")


def size_figure(widths: list, heights: list, title: str = "image sizes") -> go.Figure:
    """Scatter of image width against height (one point per image)."""
    fig = go.Figure(go.Scattergl(x=list(widths), y=list(heights), mode="markers", marker={"size": 5, "opacity": 0.5},
                                 hovertemplate="%{x} x %{y} px<extra></extra>"))
    fig.update_layout(title=title, xaxis_title="width (px)", yaxis_title="height (px)")
    return fig
