"""The soak of ``benchmarks/soak.py`` for 3 minutes: one server, the shipped catalog, mixed traffic.

One Chromium session loops Colorize (an upload of one of the lab's kinds from ``samples/``, named
in Greek, CJK, Cyrillic, ...), its full-resolution download and Compare; one HTTP API client lists
the checkpoints and posts micrographs (one post in ten a hostile file that must get a 4xx JSON
answer); one training job runs on the Train page. Every step and request must succeed, the
server must log no exception and leave no file in its temporary folder. Its resident memory is
printed, not judged: in 3 minutes the caches are still filling (the 13 shipped checkpoints load as
they are first asked for; measured: 952 MB after 30 s, 1248 MB at the end), so the memory criterion
(the end within 10 % of the level after the first 10 minutes) is the one-hour run's, with its
figures in docs/reliability.md.
"""
from __future__ import annotations

import json
import sys

from browser_app import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))
import soak  # noqa: E402


def test_three_minute_soak():
    report = soak.soak(3, browsers=1, api_clients=1, train=True)
    print(json.dumps(report, indent=1, ensure_ascii=False))
    counts = report["counts"]
    assert report["failures"] == {}, report["failures"]
    assert report["server_exceptions"] == 0, report["first_server_exception"]
    assert report["temporary_files_left"] == []
    assert counts["training job done"] == 1
    assert min(counts.get(f"colorize {kind}", 0) for _, kind in soak.SAMPLES[:2]) >= 1, counts
    assert counts.get("download fluorescence 16-bit", 0) >= 1 and counts.get("compare", 0) >= 2, counts
    answered = sum(n for what, n in counts.items() if what.startswith("api ") and what.endswith(" 200"))
    refused = sum(n for what, n in counts.items() if what.startswith("api hostile 4"))
    assert answered >= 20 and refused >= 1, counts
