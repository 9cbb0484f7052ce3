"""The app answers every hostile upload with an st.error naming it (or a result) and keeps serving."""
from streamlit.testing.v1 import AppTest

from helpers import APP, color_png, download_labels, ok
from hostile import CASES, HOSTILE_UPLOAD_NAMES


def test_colorize_survives_the_whole_hostile_corpus(catalog_env, tmp_path, monkeypatch):
    monkeypatch.setenv("COLORCORE_SAMPLES", str(tmp_path))
    at = AppTest.from_file(APP, default_timeout=120).run()
    uploads = [(name, data, "application/octet-stream") for name, (data, _) in CASES.items()]
    at.file_uploader[0].set_value(uploads).run()
    ok(at)
    n_bad = sum(1 for _, expect in CASES.values() if expect == "error")
    assert len(at.error) == n_bad
    n_good = len(CASES) - n_bad
    # a PNG and a 16-bit TIFF per result, plus the ZIP
    assert len(download_labels(at)) == 2 * n_good + 1
    # hostile names are reduced to a safe base name, never a path
    at.file_uploader[0].set_value([(name, color_png(), "image/png") for name in HOSTILE_UPLOAD_NAMES]).run()
    ok(at)
    labels = download_labels(at)
    assert all("/" not in label and "\\" not in label and ".." not in label for label in labels)
    at.file_uploader[0].set_value(("again.png", color_png(seed=3), "image/png")).run()
    ok(at)
    assert not at.error
