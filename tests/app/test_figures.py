"""colorcore.app.figures: the Plotly figure builders, checked without a browser."""
from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
import pytest

from colorcore.app import figures
from colorcore.metrics import Histogram, ab_histogram


def meta(name, loss="mse", epochs=6, val_every=2, offset=0.0):
    history = []
    for e in range(1, epochs + 1):
        val = e % val_every == 0
        history.append({"epoch": e, "train_loss": 1.0 / e + offset, "val_loss": 1.2 / e if val else None,
                        "val_ab_rmse": 20.0 - e if val else None, "val_psnr": 20.0 + e if val else None,
                        "lr": 1e-3, "images_per_s": 10.0, "seconds": 1.0})
    return {"name": name, "train_config": {"loss": loss}, "history": history}


def test_loss_curves_skip_missing_validation_points():
    fig = figures.loss_curves({"a": meta("a"), "b": meta("b", loss="huber", offset=0.1)})
    assert isinstance(fig, go.Figure)
    names = [t.name for t in fig.data]
    assert names == ["a train (mse)", "a validation (mse)", "b train (huber)", "b validation (huber)"]
    train, val = fig.data[0], fig.data[1]
    assert list(train.x) == [1, 2, 3, 4, 5, 6]
    assert list(val.x) == [2, 4, 6] and None not in list(val.y)
    assert train.line.color == val.line.color != fig.data[2].line.color
    assert fig.layout.yaxis.type == "linear"
    assert "%{y" in train.hovertemplate


def test_loss_curves_log_axis_and_empty_history():
    fig = figures.loss_curves({"a": meta("a"), "empty": {"history": []}}, log_y=True)
    assert fig.layout.yaxis.type == "log"
    assert len(fig.data) == 2


def test_metric_curves_one_axis_for_all():
    fig = figures.metric_curves({"a": meta("a"), "b": meta("b", val_every=3)}, "val_psnr")
    assert [t.name for t in fig.data] == ["a", "b"]
    assert list(fig.data[1].x) == [3, 6] and list(fig.data[1].y) == [23.0, 26.0]
    assert "PSNR" in fig.layout.title.text
    with pytest.raises(ValueError, match="metric"):
        figures.metric_curves({"a": meta("a")}, "train_loss")


def test_metric_curves_skip_nan():
    m = meta("a", val_every=1)
    m["history"][0]["val_ab_rmse"] = float("nan")
    fig = figures.metric_curves({"a": m})
    assert list(fig.data[0].x) == [2, 3, 4, 5, 6]


def test_ab_histogram_figure_orientation_and_marginals():
    lab = np.zeros((10, 10, 3), np.float32)
    lab[..., 1] = 50.0   # reddish: a* = 50
    lab[..., 2] = -30.0  # bluish: b* = -30
    lab[:5, :, 1] = 0.0
    lab[:5, :, 2] = 0.0
    hist = ab_histogram(lab)
    fig = figures.ab_histogram_figure(hist, "test")
    heat = next(t for t in fig.data if isinstance(t, go.Heatmap))
    z = np.asarray(heat.z, dtype=float)
    x, y = np.asarray(heat.x), np.asarray(heat.y)
    # z rows follow b* (y, up), columns a* (x, across): the two filled cells sit at (a*, b*)
    cells = sorted((float(x[i]), float(y[j])) for j, i in np.argwhere(np.isfinite(z)))
    assert cells == [(2.5, 2.5), (52.5, -27.5)]
    assert math.isclose(np.nanmax(z), math.log10(0.5), abs_tol=1e-9)  # log density of a half
    assert np.isnan(z).sum() == z.size - 2  # empty bins drawn blank
    bars = [t for t in fig.data if isinstance(t, go.Bar)]
    assert len(bars) == 2
    assert math.isclose(sum(bars[0].y), 1.0) and math.isclose(sum(bars[1].x), 1.0)
    assert bars[1].orientation == "h"


def test_ab_histogram_figure_of_a_stored_histogram_without_n():
    stored = {"edges": [0, 1, 2], "counts": [[1, 0], [0, 3]]}
    fig = figures.ab_histogram_figure(Histogram.from_dict(stored))
    heat = next(t for t in fig.data if isinstance(t, go.Heatmap))
    assert np.nanmax(np.asarray(heat.z, dtype=float)) == pytest.approx(math.log10(0.75))  # shares of the sum


def test_figures_refuse_a_histogram_of_the_wrong_dimension():
    with pytest.raises(ValueError, match=r"expected a 2-D histogram, got counts of shape \(2,\)"):
        figures.ab_histogram_figure(Histogram([0, 1, 2], [1, 2]))
    with pytest.raises(ValueError, match=r"expected a 1-D histogram, got counts of shape \(1, 1\)"):
        figures.histogram_figure(Histogram([0, 1], [[1]]), "t", "x")


def test_hue_and_chroma_histograms():
    hue = Histogram(np.linspace(0, 360, 37), np.arange(36))
    fig = figures.hue_histogram_figure(hue)
    bar = fig.data[0]
    assert len(bar.x) == 36 and math.isclose(sum(bar.y), 1.0)
    assert len(set(bar.marker.color)) > 10  # bars coloured by their hue
    chroma = Histogram([0, 10, 20, 30], [0, 0, 0])
    fig = figures.chroma_histogram_figure(chroma)
    assert list(fig.data[0].y) == [0, 0, 0]  # an empty histogram does not divide by zero
    assert list(fig.data[0].width) == [10, 10, 10]


def test_size_figure():
    fig = figures.size_figure([10, 20], [30, 40])
    assert list(fig.data[0].x) == [10, 20] and list(fig.data[0].y) == [30, 40]
