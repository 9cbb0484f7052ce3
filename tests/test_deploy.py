"""The explorer as a lab admin deploys it: deploy/run.sh (nginx with sign-in under a sub-path, 2 replicas) and the API.

One ``deploy/run.sh --replicas 2`` runs for the module on free localhost ports with the tiny test
catalog; the tests talk to it through nginx only, then stop it with SIGTERM and check that every
process it started is gone.  Needs Debian's nginx (``.ci/run`` installs it).

Run as root (as CI does), run.sh runs the replicas as ``nobody``, which must reach Python, the catalog and
a folder of user checkpoints: the module gives it a world-readable copy of the catalog and a folder of its
own, and, where Python lies under a folder only root may enter (pyenv's ``/root``), lets others search
that folder (``o+x``, not list it) while the module runs, as an admin would have to.
"""
from __future__ import annotations

import io
import os
import pwd
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest
import requests
import tifffile
from playwright.sync_api import Error as PlaywrightError

from colorcore.checkpoints import update_metadata

from browser_app import ROOT, TIMEOUT_MS, chromium, free_port, no_exception_box, upload, wait_images

pytestmark = pytest.mark.skipif(shutil.which("nginx") is None, reason="needs nginx (apt-get install nginx)")

AUTH = ("lab", "colour-me")
BASE = "/colorcore"


def tiff16(height: int = 120, width: int = 180, seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    buf = io.BytesIO()
    tifffile.imwrite(buf, (33000 + rng.integers(0, 4000, (height, width))).astype(np.uint16))
    return buf.getvalue()


#: The unprivileged user run.sh runs the replicas as when started as root.
REPLICA_USER = "nobody"


@contextmanager
def searchable_by_others(paths: list[Path]) -> Iterator[None]:
    """Let every user search (not list) each folder above ``paths`` that only its owner may enter; undone after."""
    folders = {folder for path in paths for folder in path.resolve().parents}
    changed = {f: f.stat().st_mode for f in folders if not f.stat().st_mode & stat.S_IXOTH}
    try:
        for folder, mode in changed.items():
            folder.chmod(stat.S_IMODE(mode) | stat.S_IXOTH)
        yield
    finally:
        for folder, mode in changed.items():
            folder.chmod(stat.S_IMODE(mode))


@contextmanager
def replica_folders(catalog: Path) -> Iterator[dict[str, str]]:
    """The checkpoint folders run.sh is given: ``catalog`` itself, or, run as root, a copy of it the replicas' user
    can read and a folder of user checkpoints it owns, with the folders above Python searchable; undone after."""
    if os.getuid() != 0:
        yield {"COLORCORE_CHECKPOINTS": str(catalog)}
        return
    copy = Path(tempfile.mkdtemp(prefix="colorcore-deploy-catalog-"))
    shutil.copytree(catalog, copy, dirs_exist_ok=True)
    copy.chmod(0o755)
    for path in copy.iterdir():
        path.chmod(0o644)
    user = Path(tempfile.mkdtemp(prefix="colorcore-deploy-user-checkpoints-"))
    os.chown(user, pwd.getpwnam(REPLICA_USER).pw_uid, pwd.getpwnam(REPLICA_USER).pw_gid)
    try:
        with searchable_by_others([Path(sys.prefix), Path(sys.base_prefix), ROOT]):
            yield {"COLORCORE_CHECKPOINTS": str(copy), "COLORCORE_USER_CHECKPOINTS": str(user)}
    finally:
        shutil.rmtree(copy, ignore_errors=True)
        shutil.rmtree(user, ignore_errors=True)


def run_sh(tmp: Path, folders: dict[str, str], *options: str) -> tuple[list[str], dict[str, str]]:
    """The ``deploy/run.sh`` command on a free port with a new htpasswd in ``tmp``, and its environment."""
    htpasswd = tmp / "htpasswd"
    hashed = subprocess.run(["openssl", "passwd", "-apr1", AUTH[1]], capture_output=True, text=True, check=True)
    htpasswd.write_text(f"{AUTH[0]}:{hashed.stdout.strip()}\n")
    env = {**os.environ, **folders, "PYTHONPATH": str(ROOT)}
    env.pop("OMP_WAIT_POLICY", None)  # run.sh's own default is under test
    return ["bash", "deploy/run.sh", "--port", str(free_port()), "--base-path", BASE, "--htpasswd", str(htpasswd),
            *options], env


def run_to_the_end(command: list[str], env: dict[str, str], timeout: float) -> tuple[int, str, str]:
    """Run ``command`` (run.sh) to its exit: returncode, stdout, stderr. Past ``timeout`` it gets SIGTERM, which
    stops everything it started (SIGKILL would leave its replicas and nginx running), and the test fails."""
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.terminate()
        out, err = proc.communicate(timeout=60)
        pytest.fail(f"deploy/run.sh was still running after {timeout} s:\n{out}{err}")
    return proc.returncode, out, err


@pytest.fixture(scope="module")
def deployment(tiny_catalog, tmp_path_factory):
    """``deploy/run.sh --replicas 2`` on a free port: yields (base URL, pids it started, its process)."""
    tmp = tmp_path_factory.mktemp("deploy")
    log = tmp / "run.log"
    with replica_folders(tiny_catalog) as folders:
        command, env = run_sh(tmp, folders, "--replicas", "2")
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 150
        while "serving at" not in log.read_text():
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"deploy/run.sh did not start:\n{log.read_text()}")
            time.sleep(0.5)
        pids = [int(p) for p in re.findall(r"pid (\d+)", log.read_text())]
        yield f"http://127.0.0.1:{command[command.index('--port') + 1]}{BASE}", pids, proc
        if proc.poll() is None:
            proc.terminate()
            proc.wait(30)


def test_without_credentials_nothing_is_served(deployment):
    url, _, _ = deployment
    for path in ("/", "/api/checkpoints", "/_stcore/health"):
        reply = requests.get(url + path, timeout=30)
        assert reply.status_code == 401 and "streamlit" not in reply.text.lower()
    reply = requests.post(url + "/api/colorize", files={"image": ("x.tif", tiff16())},
                          data={"checkpoint": "places12-mse"}, timeout=30)
    assert reply.status_code == 401


def test_replicas_run_unprivileged(deployment):
    """Started as root, run.sh runs the Streamlit processes (decoders, training jobs) as an unprivileged user."""
    _, pids, _ = deployment
    replicas = [pid for pid in pids if b"streamlit" in Path(f"/proc/{pid}/cmdline").read_bytes()]
    assert len(replicas) == 2
    for pid in replicas:
        uids = next(line for line in Path(f"/proc/{pid}/status").read_text().splitlines() if line.startswith("Uid:"))
        assert set(uids.split()[1:]) == {str(pwd.getpwnam(REPLICA_USER).pw_uid if os.getuid() == 0 else os.getuid())}
        assert "0" not in uids.split()[1:]


def test_api_checkpoints_and_a_good_image_gives_the_cli_bytes(deployment, tiny_catalog, tmp_path):
    url, _, _ = deployment
    listing = requests.get(url + "/api/checkpoints", auth=AUTH, timeout=30).json()["checkpoints"]
    assert {c["name"] for c in listing} == {"places12-mse", "places12-huber", "places500-mse", "places500-huber"}
    assert {"domain", "kind", "test", "default_temperature"} <= set(listing[0])
    (tmp_path / "cells.tif").write_bytes(tiff16())
    reply = requests.post(url + "/api/colorize", auth=AUTH, timeout=120,
                          files={"image": ("cells.tif", (tmp_path / "cells.tif").read_bytes(), "image/tiff")},
                          data={"checkpoint": "places500-huber", "working_size": "256"})
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"] == "image/png"
    assert 'filename="cells_places500-huber.png"' in reply.headers["content-disposition"]
    cli = subprocess.run([sys.executable, "-m", "colorcore", "colorize", str(tmp_path / "cells.tif"), "--checkpoint",
                          "places500-huber", "--working-size", "256", "--out", str(tmp_path / "out")],
                         cwd=ROOT, env={**os.environ, "COLORCORE_CHECKPOINTS": str(tiny_catalog)},
                         capture_output=True, text=True)
    assert cli.returncode == 0, cli.stderr
    assert reply.content == (tmp_path / "out" / "cells.png").read_bytes()
    tiff = requests.post(url + "/api/colorize", auth=AUTH, timeout=120, files={"image": ("cells.tif", tiff16())},
                         data={"checkpoint": "places500-huber", "format": "tiff16"})
    assert tiff.status_code == 200 and tifffile.imread(io.BytesIO(tiff.content)).dtype == np.uint16


@pytest.mark.parametrize("files,data,status,words", [
    ({"image": ("notes.tif", b"not an image at all")}, {"checkpoint": "places12-mse"}, 422, "notes.tif"),
    ({"image": ("x.tif", tiff16())}, {"checkpoint": "nope"}, 404, "no checkpoint named 'nope'"),
    ({}, {"checkpoint": "places12-mse"}, 400, "field 'image'"),
    ({"image": ("x.tif", tiff16())}, {"checkpoint": "places12-mse", "working_size": "9999"}, 400, "working_size"),
    ({"image": ("x.tif", tiff16())}, {"checkpoint": "places12-mse", "temperature": "0.3"}, 400, "regression"),
    ({"image": ("x.tif", tiff16())}, {"checkpoint": "places12-mse", "format": "jpeg"}, 400, "format"),
])
def test_api_bad_requests_get_a_json_4xx_and_the_server_keeps_serving(deployment, files, data, status, words):
    url, _, _ = deployment
    reply = requests.post(url + "/api/colorize", auth=AUTH, files=files or {"other": ("a", b"a")}, data=data,
                          timeout=60)
    assert reply.status_code == status and words in reply.json()["error"]
    assert requests.get(url + "/api/checkpoints", auth=AUTH, timeout=30).status_code == 200


def test_api_refuses_an_oversized_image_from_its_header(deployment):
    url, _, _ = deployment
    buf = io.BytesIO()  # 8000 x 6000 = 48 MP declared, over the app's 40 MP limit; tiny file (compressed zeros)
    tifffile.imwrite(buf, np.zeros((6000, 8000), np.uint8), compression="zlib")
    reply = requests.post(url + "/api/colorize", auth=AUTH, files={"image": ("huge.tif", buf.getvalue())},
                          data={"checkpoint": "places12-mse"}, timeout=60)
    assert reply.status_code == 413 and "huge.tif" in reply.json()["error"]


def test_browser_signs_in_through_nginx_and_colorizes_a_16bit_tiff(deployment, tmp_path):
    url, _, _ = deployment
    (tmp_path / "cells.tif").write_bytes(tiff16(200, 300))
    with chromium() as browser:
        anonymous = browser.new_context().new_page()
        try:  # headless Chromium either shows nginx's 401 page or refuses the navigation for want of credentials
            assert anonymous.goto(url + "/").status == 401
        except PlaywrightError as err:
            assert "AUTH" in str(err)
        assert not anonymous.locator('[data-testid="stApp"]').count()
        context = browser.new_context(http_credentials={"username": AUTH[0], "password": AUTH[1]})
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(url + "/")
        page.get_by_role("heading", name="Colorize").wait_for()
        upload(page, tmp_path / "cells.tif")
        wait_images(page, 2)
        no_exception_box(page)


def test_two_sessions_land_on_their_own_replica_and_both_are_served(deployment, tmp_path):
    url, _, _ = deployment
    replicas = set()
    with chromium() as browser:
        pages = []
        for i in range(2):
            context = browser.new_context(http_credentials={"username": AUTH[0], "password": AUTH[1]})
            page = context.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            page.goto(url + "/")
            page.get_by_role("heading", name="Colorize").wait_for()
            replicas.add(next(c["value"] for c in context.cookies() if c["name"] == "colorcore_replica"))
            pages.append(page)
        for i, page in enumerate(pages):
            (tmp_path / f"s{i}.tif").write_bytes(tiff16(160, 200, seed=i))
            upload(page, tmp_path / f"s{i}.tif")
        for page in pages:
            wait_images(page, 2)
            no_exception_box(page)
    assert len(replicas) == 2  # round robin for new sessions, then the cookie keeps each on its own
    for value in replicas:  # an opaque token drawn by render_nginx.py, not the replica's address
        assert re.fullmatch(r"[0-9a-f]{32}", value) and "127.0.0.1" not in value and ":" not in value


def test_replicas_start_with_passive_openmp_threads(deployment):
    _, pids, _ = deployment
    replicas = [pid for pid in pids if b"streamlit" in Path(f"/proc/{pid}/cmdline").read_bytes()]
    assert len(replicas) == 2
    for pid in replicas:
        assert b"OMP_WAIT_POLICY=PASSIVE" in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")


def test_sigterm_stops_every_process_it_started(deployment):
    _, pids, proc = deployment
    assert len(pids) == 3  # two Streamlit replicas and nginx
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 0
    time.sleep(1)
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text().lower()


def test_run_sh_refuses_to_serve_when_a_default_checkpoint_cannot_be_loaded(tiny_catalog, tmp_path):
    """A replica whose health names a checkpoint it cannot load stops the start-up with that reason."""
    shutil.copytree(tiny_catalog, tmp_path / "catalog")
    meta = update_metadata(tmp_path / "catalog" / "places500-huber.safetensors", recommended=True)
    update_metadata(tmp_path / "catalog" / "places500-huber.safetensors",
                    model={**meta["model"], "args": {"no_such_arg": 1}})
    with replica_folders(tmp_path / "catalog") as folders:
        code, out, err = run_to_the_end(*run_sh(tmp_path, folders), timeout=180)
    assert code == 2, out + err
    assert "is not healthy: cannot load places500-huber" in err and "serving at" not in out


@pytest.mark.skipif(os.getuid() != 0, reason="run.sh changes user only when started as root")
def test_run_sh_as_root_says_what_the_replicas_user_cannot_reach(tiny_catalog, tmp_path):
    with replica_folders(tiny_catalog) as folders:
        given = {**folders, "COLORCORE_CHECKPOINTS": str(tiny_catalog)}  # under root's 0700 temporary folder
        code, _, err = run_to_the_end(*run_sh(tmp_path, given), timeout=120)
    assert code == 2, err
    assert f"the replicas' user {REPLICA_USER} cannot serve colorcore" in err
    assert f"cannot read the checkpoint catalog {tiny_catalog}" in err and "--user" in err
