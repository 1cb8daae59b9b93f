"""Pairwise squared Euclidean distances, block by block, so memory stays bounded for any N."""

import numpy as np

# A block holds at most ROW_BLOCK x COLUMN_BLOCK float64 distances (64 MiB).
ROW_BLOCK = 1024
COLUMN_BLOCK = 8192


def squared_distance_blocks(a, b=None):
    """Yield `(rows, columns, distances)`: squared distances between `a[rows]` and `b[columns]`.

    With `b` None the distances are within `a`, and each point's distance to
    itself is exactly 0 (the expansion below would leave round-off there).
    Extra memory is a few blocks, never a copy of `a` or `b`.
    """
    same = b is None
    b = a if same else b
    # Centring on the pooled mean changes no distance but shrinks the norms, and with
    # them the cancellation in |p|^2 + |q|^2 - 2 p.q.
    shift = a.mean(axis=0) if same else (a.sum(axis=0) + b.sum(axis=0)) / (a.shape[0] + b.shape[0])
    for column_start in range(0, b.shape[0], COLUMN_BLOCK):
        columns = slice(column_start, min(column_start + COLUMN_BLOCK, b.shape[0]))
        right = _augmented(b[columns] - shift, left=False)
        for row_start in range(0, a.shape[0], ROW_BLOCK):
            rows = slice(row_start, min(row_start + ROW_BLOCK, a.shape[0]))
            distances = _augmented(a[rows] - shift, left=True) @ right.T
            np.maximum(distances, 0.0, out=distances)
            if same:
                shared = np.arange(max(rows.start, columns.start), min(rows.stop, columns.stop))
                distances[shared - rows.start, shared - columns.start] = 0.0
            yield rows, columns, distances


def _augmented(points, left):
    """`[p, |p|^2, 1]` (left) or `[-2 q, 1, |q|^2]` (right): their product is `|p - q|^2` in one matrix product."""
    norms = np.einsum("ij,ij->i", points, points)[:, None]
    ones = np.ones_like(norms)
    return np.hstack([points, norms, ones] if left else [-2.0 * points, ones, norms])


def kth_neighbour_squared_distances(points, k):
    """Squared distance from each point to its `k`-th nearest other point; needs more than `k` points."""
    nearest = {}
    for rows, _, distances in squared_distance_blocks(points):
        # The k + 1 smallest per row, merged across column blocks; the smallest is the point itself.
        smallest = _smallest(distances, k + 1)
        if rows.start in nearest:
            smallest = _smallest(np.concatenate([nearest[rows.start], smallest], axis=1), k + 1)
        nearest[rows.start] = smallest
    return np.concatenate([nearest[start][:, k] for start in sorted(nearest)])


def _smallest(values, count):
    """The `count` smallest values of each row, ascending; overwrites `values`.

    Repeated argmin, because for the small `k` of these metrics `count` vectorised
    passes are about ten times faster than `np.partition`.
    """
    count = min(count, values.shape[1])
    rows = np.arange(values.shape[0])
    smallest = np.empty((values.shape[0], count))
    for position in range(count):
        columns = values.argmin(axis=1)
        smallest[:, position] = values[rows, columns]
        values[rows, columns] = np.inf
    return smallest
