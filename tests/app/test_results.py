"""colorcore.app.results: colorizations for the caches, compare metrics, colour summaries, stored scores."""
from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image

from colorcore.app import display, results
from colorcore.checkpoints import load_checkpoint
from colorcore.metrics import METRIC_NAMES, Histogram, MetricAccumulator
from helpers import fake_meta, make_color_image


def test_run_preview_gray_baseline_and_compare_metrics():
    rgb = make_color_image(np.random.default_rng(3), 24, 32)
    image = rgb.astype(np.float32) / 255.0
    res = results.run_preview(image, load_checkpoint("gray"), 64)
    assert res.rgb.shape == rgb.shape and res.rgb.dtype == np.uint8 and res.full_shape == (24, 32)
    assert Image.open(io.BytesIO(results.result_file(image, _info(image), res, "gray"))).size == (32, 24)
    rows = results.compare_metrics({"gray": res.rgb, "perfect": rgb}, rgb)
    assert [r["checkpoint"] for r in rows] == ["gray", "perfect"]
    assert set(rows[0]) == {"checkpoint", *results.COMPARE_COLUMNS}
    acc = MetricAccumulator()
    acc.add(res.rgb, rgb)
    expected = acc.result()
    for key in results.COMPARE_COLUMNS:
        assert rows[0][key] == pytest.approx(expected[key])
    assert rows[1]["psnr"] > 100 and rows[1]["ab_rmse"] == 0 and rows[1]["cast_a"] == 0


def test_run_preview_classifier_at_a_temperature(tiny_classifier):
    image = np.linspace(0, 1, 24 * 40, dtype=np.float32).reshape(24, 40)
    ckpt = load_checkpoint(tiny_classifier)
    assert results.run_preview(image, ckpt, 64, 0.1).rgb.shape == (24, 40, 3)


def test_a_pages_previews_are_queued_together_and_served_before_a_later_page(catalog_env):
    import threading

    from colorcore.serve import Server
    from colorcore.workqueue import WorkQueue
    from helpers import STUDY_NAMES

    server, gate = Server(WorkQueue(workers=1, max_waiting=16)), threading.Event()
    try:
        held = server.queue.submit(gate.wait, 30)  # somebody else's job is running meanwhile
        while server.queue.status(held).state != "running":
            gate.wait(0.01)
        image = np.linspace(0, 1, 30 * 40, dtype=np.float32).reshape(30, 40)
        first = results.submit_previews(image, "first", list(STUDY_NAMES), 64, side=32, server=server)
        second = results.submit_previews(image[::-1].copy(), "second", list(STUDY_NAMES), 64, side=32, server=server)
        assert list(first) == list(STUDY_NAMES) and server.queue.waiting == 8
        assert [server.queue.status(job).ahead for job in first.values()] == [1, 2, 3, 4]
        # asked again (another session, same image): the same jobs; another preview size: new jobs
        assert results.submit_previews(image, "first", list(STUDY_NAMES), 64, side=32, server=server) == first
        assert server.queue.waiting == 8
        bigger = results.submit_previews(image, "first", ["places12-mse"], 64, side=40, server=server)
        assert bigger["places12-mse"] is not first["places12-mse"] and server.queue.waiting == 9
        gate.set()
        shown = {name: job.result(60) for name, job in first.items()}
        assert all(max(res.rgb.shape[:2]) == 32 and res.full_shape == (30, 40) for res in shown.values())
        assert max(bigger["places12-mse"].result(60).rgb.shape[:2]) == 40
        for job in second.values():
            job.result(60)
        assert max(job.finished for job in first.values()) <= min(job.started for job in second.values())
    finally:
        gate.set()
        server.queue.shutdown()


def _info(image: np.ndarray):
    from colorcore.io import read_image
    return read_image(io.BytesIO(_png(image)).getvalue(), name="upload.png")[1]


def _png(image: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray((image * 255).round().astype(np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def test_preview_is_display_size_and_the_download_is_what_the_cli_writes(tiny_checkpoint):
    from colorcore.infer import colorize
    from colorcore.io import encode_result, read_image

    y, x = np.mgrid[0:1200, 0:1900] / 150.0
    data = _png((0.5 + 0.4 * np.sin(x) * np.cos(y)).astype(np.float32))
    image, info = read_image(data, name="big.png")
    ckpt = load_checkpoint(tiny_checkpoint)
    res = results.run_preview(image, ckpt, 256)
    assert max(res.rgb.shape[:2]) == display.PREVIEW_SIDE == 1460 and res.full_shape == (1200, 1900)
    tile = results.run_preview(image, ckpt, 256, max_side=display.TILE_SIDE)
    assert max(tile.rgb.shape[:2]) == 800 and bool((tile.prediction.ab == res.prediction.ab).all())
    cli = encode_result(colorize(image, ckpt, working_size=256).rgb, info, "tiny", "png")
    assert results.result_file(image, info, res, "tiny", "png") == cli
    assert results.result_file(image, info, res, "tiny", "tiff16") == encode_result(
        colorize(image, ckpt, working_size=256).rgb, info, "tiny", "tiff16")
    row = results.full_resolution_metrics(image[..., None].repeat(3, -1), results.run_preview(
        image[..., None].repeat(3, -1), ckpt, 256), "tiny")
    assert row["checkpoint"] == "tiny" and row["psnr"] > 10


def test_color_and_hist_summaries():
    gray = np.full((8, 8, 3), 128, np.uint8)
    s = results.color_summary(gray)
    assert s["mean_chroma"] < 0.01 and abs(s["mean_a"]) < 0.01 and s["colorfulness"] == 0
    red = np.zeros((8, 8, 3), np.uint8)
    red[..., 0] = 200
    assert results.color_summary(red)["mean_a"] > 40
    hist = results.ab_hist_of(red)
    assert hist.n == 64 and hist.ndim == 2
    hs = results.hist_summary(hist)
    assert hs["mean_a"] == pytest.approx(results.color_summary(red)["mean_a"], abs=5)
    assert results.hist_summary(Histogram([0, 1], [[0]], 0))["mean_chroma"] is None
    stored = Histogram.from_dict({"edges": [-10, 0, 10], "counts": [[0, 1], [0, 3]], "n": 4})
    assert results.hist_summary(stored)["mean_a"] == pytest.approx((-5 + 3 * 5) / 4)
    with pytest.raises(ValueError, match="2-D"):
        results.hist_summary(Histogram([0, 1], [1]))
    rows = results.summary_rows({"out": s, "train": hs})
    assert rows[0]["image"] == "out" and rows[1]["colourfulness"] is None


def test_read_baselines(tmp_path):
    assert results.read_baselines(tmp_path) == {}
    (tmp_path / results.BASELINES_FILE).write_text("{broken")
    assert results.read_baselines(tmp_path) == {}
    (tmp_path / results.BASELINES_FILE).write_text(json.dumps({"places test": {"psnr": 21.0}, "bad": 3}))
    assert results.read_baselines(tmp_path) == {"places test": {"psnr": 21.0}}


def test_metrics_rows_and_history():
    metas = {"a": fake_meta("a", psnr=22.0, rmse=12.0), "b": fake_meta("b")}
    rows = results.test_metrics_rows(metas, {"places test": {"psnr": 20.0, "ab_rmse": 15.0}})
    assert [r["checkpoint"] for r in rows] == ["a", "b", "gray (baseline)"]
    assert rows[0]["psnr"] == 22.0 and rows[1]["psnr"] is None and rows[2]["data"] == "places test"
    assert list(rows[0]) == ["checkpoint", "data", *METRIC_NAMES]
    assert results.has_history(metas["a"]) and not results.has_history({"history": []})
