"""Small pieces of the loader."""

import numpy as np

from kvalitetsplatform.ingest.loader import _runs


def test_runs_of_row_ids_split_where_the_gap_is_wide():
    rows = np.array([3, 4, 5, 9000, 9001, 20000], dtype=np.int64)
    assert _runs(rows, gap=4096) == [(3, 5), (9000, 9001), (20000, 20000)]
    assert _runs(rows, gap=100000) == [(3, 20000)]
    assert _runs(np.array([], dtype=np.int64)) == []
