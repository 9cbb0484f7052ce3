"""Smoke run of the load benchmark (benchmarks/load_app.py) in CI: 3 browser sessions upload distinct small
16-bit TIFFs on Colorize at the same moment, on the tiny catalog; every one is served, none sees an
exception box or the "server is busy" warning. The full benchmark (8 and 16 sessions, 4 MP) is not a test.
"""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from browser_app import CHROMIUM, ROOT

SESSIONS = 3


def load_benchmark():
    spec = importlib.util.spec_from_file_location("load_app", ROOT / "benchmarks" / "load_app.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_three_sessions_at_once_are_all_served(tiny_catalog, tmp_path):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (bash .ci/run does)")
    load_app = load_benchmark()
    images = load_app.make_tiffs(tmp_path, SESSIONS, megapixels=0.05)
    with load_app.app_server(str(tiny_catalog)) as server:
        results = load_app.run_sessions(server.url, images, "colorize", timeout_s=120)
        rss_mb = server.peak_rss_mb()
    print(f"upload to result: {[r.seconds for r in results]} s; server peak RSS {rss_mb:.0f} MB")
    assert len(results) == SESSIONS
    assert all(r.served for r in results), results
    assert not any(r.exception or r.busy or r.error for r in results), results
    assert rss_mb > 0
