"""The explorer with the server's queue busy or full (AppTest, in-process).

Each test puts a fresh small :class:`colorcore.serve.Server` in place of the process's one (the pages
reach it through :func:`colorcore.serve.get_server`) and holds its worker with jobs that wait on a
``threading.Event``, so the queue's state is decided by the test, not by timing:

* a full queue: the next upload gets the "server is busy" warning with a "Try again" button, no
  exception; an earlier result is still shown (from the shared cache) and pages that need no model
  still render; once the queue drains, "Try again" gives the result;
* a job waiting behind another: the page says "1 image ahead of yours, about N s" while it waits
  (read from the messages the page sends; the other job is released once the note was sent), then
  shows the result and the note is gone.
"""
from __future__ import annotations

import threading
import time

import pytest
from streamlit.runtime.forward_msg_queue import ForwardMsgQueue
from streamlit.testing.v1 import AppTest

from colorcore import serve
from colorcore.serve import Server
from colorcore.workqueue import Job, WorkQueue
from helpers import APP, color_png, download_labels, gray_tiff16, ok

#: Jobs the test server's queue lets wait.
MAX_WAITING = 2
#: Seconds any blocked job or page run may take before the test fails (never reached when it passes).
PATIENCE_S = 30


@pytest.fixture()
def gate():
    """An event the blocking jobs wait on; set at the end so no worker stays blocked."""
    event = threading.Event()
    yield event
    event.set()


@pytest.fixture()
def server(catalog_env, tmp_path, monkeypatch, gate):
    """A fresh server (1 worker, ``MAX_WAITING`` waiting jobs) used by the pages, on the tiny catalog."""
    monkeypatch.setenv("COLORCORE_SAMPLES", str(tmp_path / "no-samples"))
    test_server = Server(WorkQueue(workers=1, max_waiting=MAX_WAITING))
    monkeypatch.setattr(serve, "_server", test_server)
    yield test_server
    gate.set()
    test_server.queue.shutdown()


def hold_worker(queue: WorkQueue, gate: threading.Event) -> Job:
    """Submit a job that blocks the worker until ``gate`` is set; return once it is running."""
    job = queue.submit(gate.wait, PATIENCE_S)
    for _ in range(int(PATIENCE_S / 0.01)):
        if queue.status(job).state == "running":
            return job
        gate.wait(0.01)
    raise AssertionError("the blocking job never started")


def colorize_page() -> AppTest:
    return ok(AppTest.from_file(APP, default_timeout=PATIENCE_S).run())


def busy_warnings(at: AppTest) -> list[str]:
    return [w.value for w in at.warning if "server is busy" in w.value]


def test_full_queue_says_busy_keeps_earlier_results_and_try_again_works(server, gate):
    at = colorize_page()
    ckpt = at.selectbox(key="colorize.checkpoint").value
    at.file_uploader[0].set_value([("photo.png", color_png(), "image/png")]).run()
    ok(at)
    assert download_labels(at)[0] == f"Download photo_{ckpt}.png"
    photo_preview = at.get("image")[1].value  # [input, result]

    blockers = [hold_worker(server.queue, gate)]
    blockers += [server.queue.submit(gate.wait, PATIENCE_S) for _ in range(MAX_WAITING)]
    assert server.queue.waiting == MAX_WAITING  # full: the next submission is refused

    at.file_uploader[0].set_value([("photo.png", color_png(), "image/png"),
                                   ("cells.tif", gray_tiff16(), "image/tiff")]).run()
    ok(at)
    assert not at.error
    (warning,) = busy_warnings(at)
    assert warning.startswith("cells.tif: the server is busy") and "Your upload and earlier results are kept" in warning
    assert [b.label for b in at.button if b.label == "Try again"] == ["Try again"]
    # the earlier result is still served (from the shared cache, no queue needed), with its download
    labels = download_labels(at)
    assert labels == [f"Download photo_{ckpt}.png", "16-bit OME-TIFF (keeps the pixel size)"]
    assert at.get("image")[1].value == photo_preview
    # pages that need no model still render while the queue is full
    curves = ok(AppTest.from_file(APP, default_timeout=PATIENCE_S).run().switch_page("pages/curves.py").run())
    assert curves.title[0].value and not curves.error

    gate.set()
    for job in blockers:
        job.result(PATIENCE_S)
    next(b for b in at.button if b.label == "Try again").click().run()
    ok(at)
    assert not busy_warnings(at) and not at.error
    labels = download_labels(at)
    assert f"Download photo_{ckpt}.png" in labels and f"Download cells_{ckpt}.png" in labels
    assert any("ZIP" in label for label in labels)
    assert not [b for b in at.button if b.label == "Try again"]


@pytest.fixture()
def sent_alerts() -> list[str]:
    """The text of every alert (info, warning, ...) the page runs send, as they are sent.

    AppTest keeps only the final page, where the waiting note has been replaced by the result;
    Streamlit's message queue calls this hook for every message before it may merge it with a later one.
    """
    sent: list[str] = []

    def record(msg) -> None:
        if msg.HasField("delta") and msg.delta.new_element.WhichOneof("type") == "alert":
            sent.append(msg.delta.new_element.alert.body)

    ForwardMsgQueue.on_before_enqueue_msg(record)
    yield sent
    ForwardMsgQueue.on_before_enqueue_msg(None)


def test_waiting_page_shows_its_place_in_the_queue(server, gate, sent_alerts):
    at = colorize_page()
    hold_worker(server.queue, gate)  # somebody else's image is being worked on ...

    def release_once_the_page_waits() -> None:  # ... until this page has said it waits (or PATIENCE_S)
        for _ in range(int(PATIENCE_S / 0.05)):
            if any("ahead of yours" in body for body in sent_alerts):
                break
            time.sleep(0.05)
        gate.set()

    threading.Thread(target=release_once_the_page_waits, daemon=True).start()
    at.file_uploader[0].set_value([("cells.tif", gray_tiff16(), "image/tiff")]).run()
    ok(at)
    assert gate.is_set()
    waiting = [body for body in sent_alerts if "ahead of yours" in body]
    assert waiting, sent_alerts
    assert waiting[0].startswith("1 image ahead of yours, about ") and waiting[0].endswith(" s")
    # the result replaced the note
    assert download_labels(at)[0].startswith("Download cells_")
    assert not [i.value for i in at.info if "ahead of yours" in i.value]
