"""deploy/render_nginx.py: the affinity cookie names a replica by a token drawn for each rendering, never by its
address (issue 21.6); nginx accepts what it writes."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
REPLICAS = ["127.0.0.1:8501", "10.0.0.7:8502"]


def render(tmp_path: Path, *extra: str) -> dict[str, str]:
    """Run render_nginx.py for :data:`REPLICAS` into a new folder; returns the files it wrote by name."""
    htpasswd = tmp_path / "htpasswd"
    htpasswd.write_text("lab:$apr1$x$y\n")
    out = Path(tempfile.mkdtemp(dir=tmp_path))
    args = [sys.executable, str(ROOT / "deploy" / "render_nginx.py"), "--base-path", "/colorcore",
            "--htpasswd", str(htpasswd), "--out-dir", str(out), *extra]
    for replica in REPLICAS:
        args += ["--replica", replica]
    subprocess.run(args, check=True)
    return {path.name: path.read_text() for path in out.iterdir()}


def tokens(http_conf: str) -> dict[str, str]:
    """``{address: token}`` of the map that names the replica that answered."""
    block = http_conf.split("map $upstream_addr $colorcore_replica_token {")[1].split("}")[0]
    return dict(re.findall(r'"([^"]+)"\s+([^;\s]+);', block))


def test_the_cookie_carries_a_random_token_per_replica_not_its_address(tmp_path):
    files = render(tmp_path)
    found = tokens(files["colorcore-http.conf"])
    assert set(found) == set(REPLICAS) and len(set(found.values())) == 2
    for token in found.values():
        assert re.fullmatch(r"[0-9a-f]{32}", token)
    backend = files["colorcore-http.conf"].split("map $cookie_colorcore_replica $colorcore_backend {")[1].split("}")[0]
    assert dict(re.findall(r'"([0-9a-f]+)"\s+([^;\s]+);', backend)) == {v: k for k, v in found.items()}
    cookie = next(line for line in files["colorcore-location.conf"].splitlines() if "Set-Cookie" in line)
    assert "colorcore_replica=$colorcore_replica_token;" in cookie and "$upstream_addr" not in cookie
    assert tokens(render(tmp_path)["colorcore-http.conf"]) != found  # drawn afresh each time it is rendered


def test_the_api_sees_the_host_and_port_the_browser_used(tmp_path):
    """The API compares a browser's Origin with the Host header: nginx passes the port along ($http_host)."""
    assert "proxy_set_header Host $http_host;" in render(tmp_path)["colorcore-location.conf"]


@pytest.mark.skipif(shutil.which("nginx") is None, reason="needs nginx (apt-get install nginx)")
def test_nginx_accepts_the_standalone_configuration(tmp_path):
    render(tmp_path, "--standalone", "18080", "--prefix", str(tmp_path))
    conf = next(tmp_path.glob("tmp*/nginx.conf"))
    check = subprocess.run(["nginx", "-t", "-q", "-p", str(tmp_path), "-c", str(conf)], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
