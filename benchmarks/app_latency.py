"""App latency for one user in a real browser: first result after server start, upload to result, download.

Usage::

    PYTHONPATH=. python benchmarks/app_latency.py [--megapixels 4]

The single-session measurements of ``benchmarks/load_app.py`` (``--only first,single,download``): from
launching ``streamlit run streamlit_app.py`` (shipped catalog) to the first result of a 0.3 MP 16-bit TIFF;
upload to result of a ``--megapixels`` 16-bit TIFF on Colorize (median of 3 sessions); click to saved file
of its full-resolution PNG. Drives Debian's Chromium through Playwright, prints a table, stops the server.
Localhost only.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import load_app  # noqa: E402

if __name__ == "__main__":
    sys.argv[1:1] = ["--only", "first,single,download"]
    load_app.main()
