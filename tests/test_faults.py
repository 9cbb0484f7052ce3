"""Faults a hosted server meets (issue 21): a full disk, a queue job that raises or a worker that dies, a
checkpoint file replaced while the server runs.  Each runs the real code; the disk fills up for real (a child
process under ``RLIMIT_FSIZE``: the kernel refuses to grow a file past the limit, as a full disk does)."""
from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from colorcore.checkpoints import CheckpointError, load_checkpoint, read_metadata, save_checkpoint
from colorcore.workqueue import WorkQueue
from helpers import ROOT, make_color_image

#: A thread of a test that dies (the replacer of a checkpoint) fails the test instead of passing it quietly.
pytestmark = pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning")

#: Largest file (bytes) a child process under :func:`_disk_full_after` may write.
FILE_LIMIT = 4096


def _disk_full_after(limit: int):
    """``preexec_fn`` making every file the child writes stop growing at ``limit`` bytes (``EFBIG``, as ENOSPC
    would; Python ignores ``SIGXFSZ``, so the write fails instead of killing the process)."""
    return lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


def _colorcore(*argv: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """``python -m colorcore ARGV`` in a child whose files stop at :data:`FILE_LIMIT` bytes."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1", "OMP_NUM_THREADS": "1", **(env or {})}
    return subprocess.run([sys.executable, "-m", "colorcore", *argv], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120, preexec_fn=_disk_full_after(FILE_LIMIT))


def _one_line_error(proc: subprocess.CompletedProcess) -> str:
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    return lines[0]


# ---------------------------------------------------------------- disk full

def test_a_full_disk_while_writing_a_result_keeps_the_earlier_one_and_leaves_no_temporary_file(tiny_checkpoint,
                                                                                                tmp_path):
    image = tmp_path / "cells.png"
    Image.fromarray(make_color_image(np.random.default_rng(3), 96, 128)).save(image)
    out = tmp_path / "out"
    out.mkdir()
    earlier = out / "cells.png"
    earlier.write_bytes(b"the result of yesterday")
    proc = _colorcore("colorize", str(image), "--checkpoint", str(tiny_checkpoint), "--out", str(out), "--overwrite")
    assert proc.returncode == 2
    line = _one_line_error(proc)
    assert "File too large" in line and "free disk space" in line
    assert earlier.read_bytes() == b"the result of yesterday"
    assert sorted(p.name for p in out.iterdir()) == ["cells.png"]


def test_a_full_disk_while_rewriting_a_checkpoint_keeps_it_whole(tiny_checkpoint, tmp_path):
    catalog = tmp_path / "catalog"
    catalog.mkdir()
    path = catalog / "cells.safetensors"
    path.write_bytes(tiny_checkpoint.read_bytes())
    assert path.stat().st_size > FILE_LIMIT
    proc = _colorcore("checkpoints", "--recommend", "cells", env={"COLORCORE_CHECKPOINTS": str(catalog)})
    assert proc.returncode == 2
    assert "File too large" in _one_line_error(proc)
    assert path.read_bytes() == tiny_checkpoint.read_bytes()
    assert sorted(p.name for p in catalog.iterdir()) == ["cells.safetensors"]
    assert not read_metadata(path).get("recommended")


# ---------------------------------------------------------------- the queue

def _fails(error: BaseException):
    raise error


@pytest.mark.parametrize("error", [RuntimeError("out of memory"), MemoryError(), SystemExit(3), KeyboardInterrupt()],
                         ids=lambda e: type(e).__name__)
def test_a_job_that_raises_tells_its_waiter_and_the_next_job_runs(error):
    """A SystemExit or KeyboardInterrupt of a job reaches its waiter as a RuntimeError naming it: re-raised as
    itself, it ended the waiter's own thread (a page showed nothing at all)."""
    queue = WorkQueue(workers=1, max_waiting=4)
    try:
        failing, following = queue.submit(_fails, error), queue.submit(lambda: "next")
        messages = []
        expected = type(error) if isinstance(error, Exception) else RuntimeError
        with pytest.raises(expected) as raised:
            queue.wait(failing, messages.append, poll_s=0.01)
        assert raised.value is error or (type(error).__name__ in str(raised.value) and raised.value.__cause__ is error)
        assert following.result(timeout=10) == "next"
        assert queue.completed == 2
    finally:
        queue.shutdown()


def test_a_worker_that_cannot_set_up_torch_still_serves_the_queue(monkeypatch):
    """A worker's set-up (torch's threads) that fails must not end the worker: every later job would wait forever."""
    monkeypatch.setitem(sys.modules, "torch", None)  # ``import torch`` now fails, as in a broken install
    queue = WorkQueue(workers=1, max_waiting=4, threads=1)
    try:
        assert queue.submit(lambda: "served").result(timeout=10) == "served"
    finally:
        queue.shutdown()


# ---------------------------------------------------------------- a checkpoint replaced while the server runs

def _version(tiny_checkpoint: Path, folder: Path, value: float) -> Path:
    """A copy of the tiny checkpoint whose every weight is ``value`` and whose description says so."""
    ckpt = load_checkpoint(tiny_checkpoint)
    with torch.no_grad():
        for param in ckpt.model.parameters():
            param.fill_(value)
    path = folder / f"version-{value}.safetensors"
    save_checkpoint(path, ckpt.model, {**ckpt.meta, "description": f"weights {value}"})
    return path


#: Loads while the file is swapped: before the fix about half of them were mixed, so 40 leave no doubt.
LOADS = 40


def _replace_in_a_loop(versions: list[Path], target: Path, stop: threading.Event, replaced: list) -> None:
    staged = target.with_name(".staged")
    i = 1  # the target starts as version 0 (a rename onto the same file would do nothing)
    while not stop.is_set():
        os.link(versions[i % 2], staged)
        os.replace(staged, target)  # as a training job or an admin's copy does: one atomic rename
        i += 1
    replaced.append(i - 1)


def test_a_checkpoint_replaced_while_it_loads_is_loaded_whole_from_one_version(tiny_checkpoint, tmp_path,
                                                                                 monkeypatch):
    versions = [_version(tiny_checkpoint, tmp_path, value) for value in (0.25, 0.5)]
    catalog = tmp_path / "catalog"
    catalog.mkdir()
    target = catalog / "swapped.safetensors"
    os.link(versions[0], target)
    monkeypatch.setenv("COLORCORE_CHECKPOINTS", str(catalog))
    stop, replaced = threading.Event(), []
    replacer = threading.Thread(target=_replace_in_a_loop, args=(versions, target, stop, replaced), daemon=True)
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    replacer.start()
    try:
        mixes, seen = [], set()
        for _ in range(LOADS):
            ckpt = load_checkpoint("swapped", catalog_only=True)
            weight = float(next(ckpt.model.parameters()).detach().flatten()[0])
            seen.add(ckpt.meta["description"])
            if ckpt.meta["description"] != f"weights {weight}":
                mixes.append((ckpt.meta["description"], weight))
    finally:
        stop.set()
        replacer.join()
        sys.setswitchinterval(interval)
    assert replaced[0] > LOADS and seen == {"weights 0.25", "weights 0.5"}  # the file did change under the loads
    assert not mixes, f"{len(mixes)} of {LOADS} loads mixed the metadata of one version with the weights of another"


def _replace_keeping_size_and_mtime(source: Path, target: Path, how: str) -> None:
    """Put ``source`` (as long as ``target``) in place of ``target`` so that size and mtime stay what they were.

    ``"cp -p"``: copied over the file in place (same inode), keeping the source's mtime, set to the target's;
    ``"rename"``: a staged copy given the target's mtime, renamed onto it (a new inode, e.g. an admin's
    ``rsync -t`` or ``cp -p`` then ``mv``).
    """
    before = target.stat()
    if how == "cp -p":
        os.utime(source, ns=(before.st_atime_ns, before.st_mtime_ns))
        shutil.copy2(source, target)  # what ``cp -p`` does: the bytes, then the source's times
    else:
        staged = target.with_name(".staged")
        shutil.copyfile(source, staged)
        os.utime(staged, ns=(before.st_atime_ns, before.st_mtime_ns))
        os.replace(staged, target)
    after = target.stat()
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    assert (after.st_ino == before.st_ino) == (how == "cp -p")


@pytest.mark.parametrize("how", ["cp -p", "rename"])
def test_a_checkpoint_replaced_by_one_of_the_same_size_and_mtime_is_loaded_afresh(tiny_checkpoint, tmp_path,
                                                                                   monkeypatch, how):
    """The file's stamp (what the server's checkpoint cache, the result cache and the pages' catalog are keyed
    by) changes, so the new version is loaded; before, the stamp was path, size and mtime only, and the old
    version was served until the server restarted."""
    from colorcore.app.catalog import catalog_stamps
    from colorcore.checkpoints import checkpoint_stamp
    from colorcore.serve import CheckpointStore

    old, new = (_version(tiny_checkpoint, tmp_path, value) for value in (0.25, 0.75))
    assert old.stat().st_size == new.stat().st_size
    catalog = tmp_path / "catalog"
    catalog.mkdir()
    target = catalog / "cells.safetensors"
    shutil.copyfile(old, target)
    monkeypatch.setenv("COLORCORE_CHECKPOINTS", str(catalog))
    store = CheckpointStore()
    assert store.get("cells").meta["description"] == "weights 0.25"
    stamp, stamps = checkpoint_stamp("cells"), catalog_stamps()
    time.sleep(0.05)  # file times come from the kernel's coarse clock (a few ms): let it move on

    _replace_keeping_size_and_mtime(new, target, how)
    ckpt = store.get("cells")
    assert ckpt.meta["description"] == "weights 0.75"
    assert float(next(ckpt.model.parameters()).detach().flatten()[0]) == 0.75
    assert checkpoint_stamp("cells") != stamp and catalog_stamps() != stamps  # the pages re-read the catalog


def _post_colorize(checkpoint: str, png: bytes):
    from starlette.applications import Starlette

    from app.asgi import request
    from app.test_api_headers import _multipart
    from colorcore.app.api import api_routes

    body, content_type = _multipart({"checkpoint": checkpoint}, "cells.png", png)
    return request(Starlette(routes=api_routes()), "POST", "/api/colorize", {"Content-Type": content_type}, body)


def _replace(target: Path, data: bytes) -> None:
    staged = target.with_name(".staged")
    staged.write_bytes(data)
    os.replace(staged, target)


def test_the_api_uses_a_checkpoint_replaced_while_the_server_runs_or_says_it_cannot_be_read(tiny_checkpoint,
                                                                                             tmp_path, monkeypatch):
    from colorcore.infer import colorize
    from colorcore.io import encode_result, read_image
    from helpers import png_bytes

    catalog = tmp_path / "catalog"
    catalog.mkdir()
    target = catalog / "cells.safetensors"
    target.write_bytes(tiny_checkpoint.read_bytes())
    monkeypatch.setenv("COLORCORE_CHECKPOINTS", str(catalog))
    png = png_bytes(make_color_image(np.random.default_rng(5), 48, 64))
    first = _post_colorize("cells", png)
    assert first.status == 200, first.body[:300]

    _replace(target, tiny_checkpoint.read_bytes()[: tiny_checkpoint.stat().st_size // 2])  # a torn copy
    torn = _post_colorize("cells", png)
    assert 400 <= torn.status < 500 and "cells.safetensors: not a readable checkpoint" in torn.json()["error"]

    newer = _version(tiny_checkpoint, tmp_path, 0.5)
    _replace(target, newer.read_bytes())
    second = _post_colorize("cells", png)
    assert second.status == 200, second.body[:300]
    image, info = read_image(png, name="cells.png")
    assert second.body == encode_result(colorize(image, load_checkpoint(newer), working_size=512).rgb, info, "cells")
    assert second.body != first.body


def test_an_api_request_whose_job_fails_unexpectedly_gets_a_json_500_and_the_next_one_is_served(catalog_env,
                                                                                                  monkeypatch):
    from colorcore.app import api
    from helpers import png_bytes

    png = png_bytes(make_color_image(np.random.default_rng(6), 48, 64))

    def out_of_memory(*args):  # what torch raises when an allocation fails
        raise RuntimeError("DefaultCPUAllocator: not enough memory: you tried to allocate 64 GB")

    with monkeypatch.context() as patched:
        patched.setattr(api, "colorize_file", out_of_memory)
        failed = _post_colorize("places12-mse", png)
    assert failed.status == 500 and failed.headers["content-type"] == "application/json"
    assert "RuntimeError" in failed.json()["error"] and "administrator" in failed.json()["error"]
    assert _post_colorize("places12-mse", png).status == 200
