"""Server start-up: the warm start loads what the pages start with; health answers 503 until it is done and
while one of those cannot be loaded; OpenMP's idle threads wait passively unless the environment says
otherwise; torch is imported off the start-up thread."""
import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from colorcore import heap
from colorcore.app import server
from colorcore.checkpoints import update_metadata
from colorcore.serve import Server
from colorcore.workqueue import WorkQueue

from browser_app import free_port


def test_default_checkpoints_are_each_domains_first_pick_the_compare_defaults_and_gray(catalog_env):
    names = server.default_checkpoints()
    assert names[-1] == "gray" and len(names) == len(set(names))
    assert {"places12-mse", "places12-huber", "places500-mse", "places500-huber"} <= set(names)


def _get(app, path: str) -> int:
    return _get_reply(app, path)[0]


def _get_reply(app, path: str) -> tuple[int, str]:
    """Status and body of one GET through the ASGI app ``app``."""
    sent = []

    async def receive():
        return {"type": "http.request", "body": b""}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": path, "headers": [], "query_string": b""}
    asyncio.run(app(scope, receive, send))
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:]).decode()


async def _ok(scope, receive, send):
    """The app behind the health gate: answers 200 to everything."""
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


def test_health_gate_answers_503_until_the_warm_start_is_done(catalog_env, monkeypatch):
    fresh = Server(WorkQueue(workers=1, max_waiting=2))
    monkeypatch.setattr(server, "get_server", lambda: fresh)

    gate = server.HealthGate(_ok)
    assert _get(gate, "/colorcore/_stcore/health") == 503
    assert _get(gate, "/colorcore/") == 200  # only the health check waits
    fresh.warm(["gray", "places12-mse"]).join(60)
    assert fresh.ready.is_set() and fresh.health() is None
    assert _get(gate, "/colorcore/_stcore/health") == 200
    fresh.queue.shutdown()


@pytest.fixture()
def broken_catalog(tiny_catalog, tmp_path, monkeypatch) -> Path:
    """The tiny catalog with two defaults broken: places500-huber's model cannot be built (its header reads),
    places12-huber is truncated (its header does not read, so nothing says it is not a default)."""
    folder = tmp_path / "catalog"
    shutil.copytree(tiny_catalog, folder)
    meta = update_metadata(folder / "places500-huber.safetensors", recommended=True)
    update_metadata(folder / "places500-huber.safetensors", model={**meta["model"], "args": {"no_such_arg": 1}})
    truncated = folder / "places12-huber.safetensors"
    truncated.write_bytes(truncated.read_bytes()[:5000])
    monkeypatch.setenv("COLORCORE_CHECKPOINTS", str(folder))
    return folder


def test_health_names_the_defaults_that_cannot_be_loaded_and_the_others_still_load(broken_catalog, monkeypatch):
    fresh = Server(WorkQueue(workers=1, max_waiting=2))
    monkeypatch.setattr(server, "get_server", lambda: fresh)
    server.warm_start()
    assert fresh.ready.wait(120)
    status, body = _get_reply(server.HealthGate(_ok), "/colorcore/_stcore/health")
    assert status == 503
    assert "places500-huber" in body and "cannot build its model" in body
    assert "places12-huber" in body and "truncated" in body
    assert "places12-mse" not in body and "places500-mse" not in body
    assert {name for name, _ in fresh.checkpoints._loaded} == {"places12-mse", "places500-mse", "gray"}
    fresh.queue.shutdown()


def test_health_recovers_once_a_broken_default_is_replaced(broken_catalog, tiny_catalog, monkeypatch):
    fresh = Server(WorkQueue(workers=1, max_waiting=2))
    monkeypatch.setattr(server, "get_server", lambda: fresh)
    gate = server.HealthGate(_ok)
    server.warm_start()
    assert fresh.ready.wait(120) and _get(gate, "/colorcore/_stcore/health") == 503
    for name in ("places500-huber", "places12-huber"):  # the admin puts good files back
        shutil.copy(tiny_catalog / f"{name}.safetensors", broken_catalog / f"{name}.safetensors")
    assert _get_reply(gate, "/colorcore/_stcore/health")[1].startswith("warming up")  # tried again
    assert fresh.ready.wait(120)
    assert _get(gate, "/colorcore/_stcore/health") == 200
    fresh.queue.shutdown()


def test_warm_start_trims_freed_memory_on_the_admins_timer(catalog_env, monkeypatch):
    fresh = Server(WorkQueue(workers=1, max_waiting=2))
    monkeypatch.setattr(server, "get_server", lambda: fresh)
    monkeypatch.setattr(heap, "_started", None)
    monkeypatch.setenv(server.TRIM_ENV, "often")
    with pytest.raises(ValueError, match="COLORCORE_TRIM_S must be a whole number >= 0, got 'often'"):
        server.warm_start()
    monkeypatch.setenv(server.TRIM_ENV, "7")
    server.warm_start()
    trimmer = heap._started
    if heap.can_trim():
        assert trimmer is not None and trimmer.every_s == 7
        trimmer.stop(timeout=1)
    assert fresh.ready.wait(120)
    fresh.queue.shutdown()


ROOT = Path(__file__).resolve().parents[2]
#: Imports the server module (streamlit_app.py) as ``streamlit run`` does, then runs its warm start; prints
#: what torch's import saw: the OMP_WAIT_POLICY libgomp reads then, and whether it happened during the import.
START_SERVER = """
import json, os, sys, threading
seen = {}
class Spy:
    def find_spec(self, name, path=None, target=None):
        if name == "torch" and not seen:
            seen.update(policy=os.environ.get("OMP_WAIT_POLICY"), thread=threading.current_thread().name)
sys.meta_path.insert(0, Spy())
import streamlit_app
during_import = dict(seen)
from colorcore.app.server import warm_start
from colorcore.serve import get_server
warm_start()
assert get_server().ready.wait(120) and get_server().health() is None, get_server().health()
print(json.dumps({"during_import": during_import, "torch": seen, "env": os.environ["OMP_WAIT_POLICY"]}))
"""


def start_server(catalog, **env) -> dict:
    clean = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    proc = subprocess.run([sys.executable, "-c", START_SERVER], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**clean, "PYTHONPATH": str(ROOT), "COLORCORE_CHECKPOINTS": str(catalog), **env})
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("given,expected", [(None, "PASSIVE"), ("ACTIVE", "ACTIVE")])
def test_server_sets_passive_openmp_waiting_before_torch_unless_told(tiny_catalog, given, expected):
    seen = start_server(tiny_catalog, **({"OMP_WAIT_POLICY": given} if given else {}))
    assert seen["env"] == expected
    assert seen["torch"]["policy"] == expected  # what libgomp reads when torch loads


def test_torch_loads_in_the_background_not_before_the_server_answers(tiny_catalog):
    """Importing the server module and starting it (the lifespan's warm start) leave torch to other threads."""
    seen = start_server(tiny_catalog)
    assert seen["during_import"] == {}
    assert seen["torch"]["thread"] in ("colorcore-warm", "colorcore-queue-0")


def test_queue_workers_set_torch_threads_before_their_first_job():
    import torch

    from colorcore.workqueue import WorkQueue

    before = torch.get_num_threads()
    queue = WorkQueue(workers=1, max_waiting=2, threads=1)
    try:
        assert queue.submit(torch.get_num_threads).result(60) == 1
    finally:
        queue.shutdown()
        torch.set_num_threads(before)


def _listening(port: int) -> set[str]:
    """Local addresses with a TCP socket listening on ``port`` (from /proc/net/tcp and tcp6, as ``ss -ltn`` shows)."""
    found = set()
    for table, size in (("/proc/net/tcp", 4), ("/proc/net/tcp6", 16)):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                raw = bytes.fromhex(address)
                words = b"".join(raw[i:i + 4][::-1] for i in range(0, size, 4))  # the kernel's host-order words
                found.add(socket.inet_ntop(socket.AF_INET if size == 4 else socket.AF_INET6, words))
    return found


def test_streamlit_run_listens_on_this_machine_only_and_says_how_to_open_it(tiny_catalog, tmp_path):
    """``streamlit run streamlit_app.py`` without an address binds 127.0.0.1 (not every interface) and says so."""
    port = free_port()
    log = tmp_path / "server.log"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLORCORE_CHECKPOINTS": str(tiny_catalog)}
    env.pop("STREAMLIT_SERVER_ADDRESS", None)
    with log.open("w") as out:  # started from another folder: the checkout's .streamlit/config.toml still applies
        proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(ROOT / "streamlit_app.py"),
                                 "--server.port", str(port)], cwd=tmp_path, env=env, stdout=out, stderr=out)
    try:
        deadline = time.monotonic() + 120
        while not _listening(port):
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.5)
        assert _listening(port) == {"127.0.0.1"}
        while "colorcore:" not in log.read_text():
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.5)
        note = next(line for line in log.read_text().splitlines() if line.startswith("colorcore:"))
        assert f"http://127.0.0.1:{port}/" in note and "--server.address" in note
    finally:
        proc.terminate()
        proc.wait(30)


@pytest.mark.parametrize("address,words", [
    ("127.0.0.1", ["only from this machine", "--server.address 0.0.0.0", "deploy/run.sh"]),
    ("0.0.0.0", ["every network interface", "no sign-in", "deploy/run.sh"]),
    ("10.1.2.3", ["10.1.2.3", "no sign-in"]),
])
def test_start_up_note_names_the_address_and_how_to_open_or_close_it(address, words):
    note = server.listening_note(address, 8501, "colorcore")
    assert note.startswith(f"colorcore: serving http://{address}:8501/colorcore/")
    assert all(word in note for word in words)
