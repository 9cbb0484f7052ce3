"""The pages' waiters when the queued job they wait for fails (issue 21: a queue job that raises).

The explorer's model work runs in the server's queue (:class:`colorcore.workqueue.WorkQueue`); a job that raises
hands its exception to the page waiting for it (``app_cache._wait``).  Here the job functions the queue runs
are replaced (in this process: AppTest runs the pages in it) by ones that raise what a hosted server meets --
``RuntimeError`` (torch out of memory), ``MemoryError`` (numpy out of memory) and an unexpected exception
(``KeyError``, a bug) -- and each page must say so in an ``st.error`` naming the file and the checkpoint,
without an exception box, and serve the next run: the failed job is not kept (the same upload is worked on
again) and the next upload gets its result.

* Colorize: the preview job (:func:`app_cache.colorize_all_or_report`), the domain check of the other
  checkpoints that an out-of-domain result runs (:func:`app_cache.in_domain_elsewhere`);
* Compare: one checkpoint's preview job, one checkpoint's full-resolution measurement
  (:func:`app_cache.full_resolution_metrics`), and a queue full when the measurements are queued.

Each test puts a fresh :class:`colorcore.serve.Server` in place of the process's one, so no result of another
test (the shared result cache) stands in for a job that should run.
"""
from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from colorcore import serve
from colorcore.app import results, trust
from colorcore.serve import Server
from colorcore.workqueue import WorkQueue
from helpers import APP, STUDY_NAMES, color_png, download_labels, gray_tiff16, ok, png_bytes

#: Jobs the test server's queue lets wait.
MAX_WAITING = 8
#: Seconds a blocked job may wait before it gives up (never reached when the test passes).
PATIENCE_S = 30
#: What the failing jobs raise: torch out of memory, numpy out of memory, a bug, a library that calls exit()
#: (before, that SystemExit ended the page's run: it showed nothing at all).
ERRORS = [RuntimeError("DefaultCPUAllocator: not enough memory: you tried to allocate 64 GB"),
          MemoryError("Unable to allocate 6.4 GiB for an array with shape (40000, 40000)"),
          KeyError("model.encoder.weight"), SystemExit(3)]
#: The checkpoint whose job fails on the Compare page (the others' go through).
FAILING = "places500-mse"


def _ids(error: BaseException) -> str:
    return type(error).__name__


@pytest.fixture()
def server(catalog_env, tmp_path, monkeypatch):
    """A fresh server (1 worker) used by the pages, on the tiny catalog, without shipped examples."""
    monkeypatch.setenv("COLORCORE_SAMPLES", str(tmp_path / "no-samples"))
    test_server = Server(WorkQueue(workers=1, max_waiting=MAX_WAITING))
    monkeypatch.setattr(serve, "_server", test_server)
    yield test_server
    test_server.queue.shutdown()


def _page(page: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=PATIENCE_S).run()
    if page:
        at.switch_page(page).run()
    return ok(at)


def _fail_previews(patched: pytest.MonkeyPatch, error: BaseException, names: set | None = None) -> list[str]:
    """Make the preview job (what :func:`colorcore.app.results.submit_previews` queues) raise ``error`` for the
    checkpoints ``names`` (None: all); returns the list the failing jobs append their checkpoint to."""
    real, failed = results._preview_job, []

    def preview_job(store, image, name, *args):
        if names is None or name in names:
            failed.append(name)
            raise error
        return real(store, image, name, *args)

    patched.setattr(results, "_preview_job", preview_job)
    return failed


def _assert_no_exception_box(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def _waiting_notes(at: AppTest) -> list[str]:
    return [i.value for i in at.info if "of yours" in i.value]


def _errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error]


def _table(at: AppTest) -> list[str]:
    """The checkpoints of the Compare page's metrics table (none: no table, or an empty one)."""
    table = at.dataframe[-1].value if at.dataframe else None
    return [] if table is None or "checkpoint" not in table else list(table["checkpoint"])


def _tiles(at: AppTest) -> list[str]:
    """The Compare page's tiles, by the first part of their captions."""
    return [caption.split(" · ")[0] for img in at.image for caption in img.captions]


# ---------------------------------------------------------------- Colorize

@pytest.mark.parametrize("error", ERRORS, ids=_ids)
def test_colorize_says_a_failed_job_names_file_and_checkpoint_and_the_next_job_runs(server, monkeypatch, error):
    at = _page()
    ckpt = at.selectbox(key="colorize.checkpoint").value
    with monkeypatch.context() as patched:
        failed = _fail_previews(patched, error)
        at.file_uploader[0].set_value(("cells.tif", gray_tiff16(), "image/tiff")).run()
    assert failed == [ckpt]  # the job ran, in the queue, and raised
    _assert_no_exception_box(at)
    (message,) = _errors(at)
    assert message.startswith("cells.tif: ") and ckpt in message and type(error).__name__ in message
    assert not download_labels(at) and not _waiting_notes(at)

    at.run()  # the same upload again: the failed job was not kept, it is worked on again
    ok(at)
    assert not at.error and f"Download cells_{ckpt}.png" in download_labels(at)
    at.file_uploader[0].set_value(("photo.png", color_png(seed=4), "image/png")).run()  # and the next upload
    ok(at)
    assert not at.error and f"Download photo_{ckpt}.png" in download_labels(at)
    assert server.queue.completed >= 3


def _noise_png() -> bytes:
    """An image unlike the tiny checkpoint's training images: its result gets the out-of-domain warning."""
    return png_bytes((np.random.default_rng(0).random((48, 64)) * 255).astype(np.uint8))


def _domain_warnings(at: AppTest) -> list[str]:
    return [w.value for w in at.warning if "unlike anything" in w.value]


def test_the_domain_check_of_the_other_checkpoints_never_delays_the_result(server, monkeypatch):
    """An out-of-domain result queues a check of the other checkpoints (which of them suit the image) in the
    queue's background lane: the page shows the result and its warning without waiting for it, saying the
    others are being checked; a failure of that check changes nothing on the page, and the next run queues
    the check again."""
    at = _page()
    ckpt = at.selectbox(key="colorize.checkpoint").value
    release, calls = threading.Event(), []

    def verdicts(*args):
        calls.append(1)
        release.wait(PATIENCE_S)
        raise RuntimeError("DefaultCPUAllocator: not enough memory")

    with monkeypatch.context() as patched:
        patched.setattr(trust, "verdicts", verdicts)
        at.file_uploader[0].set_value(("noise.png", _noise_png(), "image/png")).run()
        _assert_no_exception_box(at)
        (warning,) = _domain_warnings(at)
        assert ckpt in warning and "Checking which other checkpoints suit it" in warning
        assert f"Download noise_{ckpt}.png" in download_labels(at) and not _waiting_notes(at) and not at.error
        release.set()
        _wait_until(lambda: calls and server.queue.waiting == 0 and server.queue.completed >= 2)
    at.run()  # the failed check is not kept: it is queued again (and goes through)
    ok(at)
    assert not at.error and len(_domain_warnings(at)) == 1
    assert f"Download noise_{ckpt}.png" in download_labels(at)


def _wait_until(condition, patience_s: float = PATIENCE_S) -> None:
    deadline = time.monotonic() + patience_s
    while not condition():
        assert time.monotonic() < deadline, "the queue did not get to the job in time"
        time.sleep(0.05)


def _warning_after_a_failed_check():
    """A script drawing the out-of-domain warning of ``noise.png`` (checkpoint ``c``) whose check of the
    other checkpoints has failed, as the warning's polling fragment draws it once the job is done."""
    from types import SimpleNamespace

    import app_cache as ac
    from colorcore.workqueue import Job

    job = Job(1, print, (), {})
    job._error = RuntimeError("DefaultCPUAllocator: not enough memory")
    job._done.set()
    ac._domain_warning_now(SimpleNamespace(name="noise.png"), SimpleNamespace(metas={"c": {"domain": "scenes"}}),
                           "c", SimpleNamespace(domain_score=3.0), job)


def test_a_failed_domain_check_of_the_other_checkpoints_is_said_next_to_the_warning():
    at = AppTest.from_function(_warning_after_a_failed_check, default_timeout=PATIENCE_S).run()
    _assert_no_exception_box(at)
    (message,) = _errors(at)
    assert message.startswith("noise.png: checking which checkpoints other than c suit it failed (RuntimeError")
    (warning,) = _domain_warnings(at)
    assert "Checking which" not in warning and "In domain for" not in warning


# ---------------------------------------------------------------- Compare

@pytest.mark.parametrize("error", ERRORS, ids=_ids)
def test_compare_says_which_checkpoint_failed_shows_the_others_and_the_next_run_has_them_all(server, monkeypatch,
                                                                                            error):
    at = _page("pages/compare.py")
    assert at.multiselect(key="compare.checkpoints").value == list(STUDY_NAMES)
    with monkeypatch.context() as patched:
        failed = _fail_previews(patched, error, {FAILING})
        at.file_uploader[0].set_value(("truth.png", color_png(seed=5), "image/png")).run()
    assert failed == [FAILING]
    _assert_no_exception_box(at)
    (message,) = _errors(at)
    assert message.startswith("truth.png: ") and FAILING in message and type(error).__name__ in message
    others = [n for n in STUDY_NAMES if n != FAILING]
    assert _tiles(at)[1:-1] == others  # [grayscale input, ..., original]
    assert _table(at) == ["gray", *others] and not _waiting_notes(at)

    at.run()  # the failed checkpoint is worked on again
    ok(at)
    assert not at.error and _tiles(at)[1:-1] == list(STUDY_NAMES) and _table(at) == ["gray", *STUDY_NAMES]


@pytest.mark.parametrize("error", ERRORS[:2], ids=_ids)
def test_compare_says_a_failed_measurement_names_file_and_checkpoint_and_shows_the_other_rows(server, monkeypatch,
                                                                                             error):
    """The full-resolution measurement (one queued job per checkpoint) is where a large image runs out of memory."""
    real, failed = results.full_resolution_metrics, []

    def metrics(image, colorized, name):
        if name == FAILING:
            failed.append(name)
            raise error
        return real(image, colorized, name)

    at = _page("pages/compare.py")
    with monkeypatch.context() as patched:
        patched.setattr(results, "full_resolution_metrics", metrics)
        at.file_uploader[0].set_value(("truth.png", color_png(seed=6), "image/png")).run()
    assert failed == [FAILING]
    _assert_no_exception_box(at)
    (message,) = _errors(at)
    assert message.startswith("truth.png: ") and FAILING in message and type(error).__name__ in message
    assert _tiles(at)[1:-1] == list(STUDY_NAMES)  # every preview is shown
    assert _table(at) == ["gray", *(n for n in STUDY_NAMES if n != FAILING)] and not _waiting_notes(at)

    at.run()
    ok(at)
    assert not at.error and _table(at) == ["gray", *STUDY_NAMES]


def test_compare_says_the_server_is_busy_when_the_queue_fills_before_the_measurements(server, monkeypatch):
    """The previews come back, then the queue is full when the page queues the measurements: the page says the
    server is busy (as Colorize does), keeps the previews and offers "Try again", which gives the table."""
    gate, blockers, real = threading.Event(), [], results._preview_job
    last = STUDY_NAMES[-1]

    def preview_job(store, image, name, *args):
        out = real(store, image, name, *args)
        if name == last and not blockers:  # the page's last preview: others fill the queue meanwhile
            blockers.extend(server.queue.submit(gate.wait, PATIENCE_S) for _ in range(MAX_WAITING))
        return out

    at = _page("pages/compare.py")
    try:
        with monkeypatch.context() as patched:
            patched.setattr(results, "_preview_job", preview_job)
            at.file_uploader[0].set_value(("truth.png", color_png(seed=8), "image/png")).run()
        assert len(blockers) == MAX_WAITING
        _assert_no_exception_box(at)
        busy = [w.value for w in at.warning if "server is busy" in w.value]
        assert len(busy) == 1 and busy[0].startswith("truth.png: ") and not at.error
        assert _tiles(at)[1:-1] == list(STUDY_NAMES) and not _table(at)
        assert [b.label for b in at.button if b.label == "Try again"] == ["Try again"]
    finally:
        gate.set()
    for job in blockers:
        job.result(PATIENCE_S)
    next(b for b in at.button if b.label == "Try again").click().run()
    ok(at)
    assert not at.error and _table(at) == ["gray", *STUDY_NAMES]
