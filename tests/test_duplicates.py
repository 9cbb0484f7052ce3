"""Duplicate finding: exact (bytes or pixels) and near (difference hash and mean L*) on file records."""
from __future__ import annotations

import numpy as np

from colorcore.analysis import FileStats
from colorcore.duplicates import NEAR_DUPLICATE_BITS, difference_hash, exact_duplicates, near_duplicates


def test_difference_hash_compares_horizontal_neighbours():
    ramp_down = np.tile(np.linspace(100.0, 0.0, 90, dtype=np.float32), (40, 1))  # brighter on the left
    assert difference_hash(ramp_down).shape == (64,) and difference_hash(ramp_down).all()
    assert not difference_hash(ramp_down[:, ::-1]).any()
    assert not difference_hash(np.full((40, 90), 50.0)).any()  # featureless: no bit set


def test_duplicate_finding_on_records():
    bits = np.zeros(64, bool)
    flipped = bits.copy()
    flipped[:3] = True
    records = [FileStats("a", byte_key="1", pixel_key="p", dhash=bits, mean_l=50.0),
               FileStats("b", byte_key="2", pixel_key="p", dhash=bits, mean_l=50.0),   # same pixels as a
               FileStats("c", byte_key="1", reason="c: broken"),                       # same bytes as a
               FileStats("d", byte_key="4", pixel_key="q", dhash=flipped, mean_l=52.0),  # near a
               FileStats("e", byte_key="5", pixel_key="r", dhash=~bits, mean_l=50.0),
               FileStats("f", byte_key="6", pixel_key="s", dhash=bits, mean_l=80.0)]   # brighter than a
    exact = exact_duplicates(records)
    assert exact == [[0, 1, 2]]
    assert near_duplicates(records, exact) == [[0, 3]]
    assert near_duplicates(records[:1], []) == []


def test_near_duplicates_link_by_single_linkage_up_to_the_bit_limit():
    def hashed(n_bits: int) -> np.ndarray:
        bits = np.zeros(64, bool)
        bits[:n_bits] = True
        return bits

    step = NEAR_DUPLICATE_BITS  # a-b and b-c are close, a-c is not: one group through b
    records = [FileStats(name, byte_key=name, pixel_key=name, dhash=hashed(k), mean_l=50.0)
               for name, k in (("a", 0), ("b", step), ("c", 2 * step), ("d", 4 * step))]
    assert exact_duplicates(records) == []
    assert near_duplicates(records, []) == [[0, 1, 2]]
