"""What grew between two ``tracemalloc`` snapshots of the memory probe (``sitecustomize.py`` here).

    python benchmarks/memprobe/compare.py snap1.pickle snap3.pickle [--top 10] [--frames 12]

Prints the traced total of each, then the allocation sites (whole tracebacks, the project's and
Streamlit's frames) that grew most.
"""
from __future__ import annotations

import argparse
import tracemalloc

#: Frames left out of the tracebacks (the probe itself, the import machinery).
IGNORED = [tracemalloc.Filter(False, tracemalloc.__file__), tracemalloc.Filter(False, "<frozen importlib._bootstrap>")]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before")
    parser.add_argument("after")
    parser.add_argument("--top", type=int, default=10, help="sites to show (default 10)")
    parser.add_argument("--frames", type=int, default=12, help="innermost frames of each site (default 12)")
    args = parser.parse_args(argv)
    before, after = (tracemalloc.Snapshot.load(path).filter_traces(IGNORED) for path in (args.before, args.after))
    totals = [sum(trace.size for trace in snap.traces) / 2**20 for snap in (before, after)]
    print(f"traced: {totals[0]:.1f} MB -> {totals[1]:.1f} MB")
    for stat in after.compare_to(before, "traceback")[:args.top]:
        print(f"\n{stat.size_diff / 2**20:+.2f} MB ({stat.count_diff:+d} blocks), now {stat.size / 2**20:.2f} MB")
        for line in stat.traceback.format(limit=args.frames):
            print("   ", line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
