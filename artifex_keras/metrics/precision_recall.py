"""Fidelity and diversity of samples from k-nearest-neighbour balls around feature vectors.

Distances are computed block by block (1024 rows against 8192 columns at a
time), so memory stays bounded whatever the number of samples.
"""

import numpy as np

from artifex_keras.metrics import _checks
from artifex_keras.metrics import _pairwise


def precision_recall(real, fake, k=3):
    """Improved precision and recall: how much of each set lies on the other's k-NN manifold.

    Each point's manifold ball reaches its `k`-th nearest neighbour in its own
    set (the closed ball, as in the authors' code). Precision is the fraction
    of `fake` inside some ball of `real` (fidelity); recall the fraction of
    `real` inside some ball of `fake` (diversity).

    Args:
        real: features `(N, D)` of real data, `N > k`.
        fake: features `(M, D)` of generated data, `M > k`.
        k: neighbourhood size (the paper uses 3).

    Returns:
        `(precision, recall)`, floats in [0, 1].

    Example:
    ```python
    precision, recall = precision_recall(real_features, fake_features, k=3)
    ```

    Reference:
        Kynkäänniemi et al., "Improved Precision and Recall Metric for Assessing
        Generative Models", NeurIPS 2019.
    """
    real, fake, k = _prepare("precision_recall", real, fake, k)
    real_radii = _pairwise.kth_neighbour_squared_distances(real, k)
    fake_radii = _pairwise.kth_neighbour_squared_distances(fake, k)
    fake_on_real = np.zeros(fake.shape[0], dtype=bool)
    real_on_fake = np.zeros(real.shape[0], dtype=bool)
    for rows, columns, distances in _pairwise.squared_distance_blocks(real, fake):
        fake_on_real[columns] |= np.any(distances <= real_radii[rows, None], axis=0)
        real_on_fake[rows] |= np.any(distances <= fake_radii[None, columns], axis=1)
    return float(fake_on_real.mean()), float(real_on_fake.mean())


def density_coverage(real, fake, k=5):
    """Density and coverage: how crowded, and how spread, the samples are around the real k-NN balls.

    Density counts, per fake sample, the real balls that contain it, divided
    by `k` (about 1 when the sets match, above 1 where samples crowd round
    real modes). Coverage is the fraction of real points whose ball contains
    at least one fake sample. Balls are open (strict `<`, as in the authors'
    code), which makes the density of a set against itself exactly 1 when no
    distances tie.

    Args:
        real: features `(N, D)` of real data, `N > k`.
        fake: features `(M, D)` of generated data.
        k: neighbourhood size (the paper uses 5).

    Returns:
        `(density, coverage)`: density >= 0 (unbounded), coverage in [0, 1].

    Example:
    ```python
    density, coverage = density_coverage(real_features, fake_features, k=5)
    ```

    Reference:
        Naeem et al., "Reliable Fidelity and Diversity Metrics for Generative
        Models", ICML 2020.
    """
    real, fake, k = _prepare("density_coverage", real, fake, k, fake_needs_neighbours=False)
    real_radii = _pairwise.kth_neighbour_squared_distances(real, k)
    balls_per_fake = 0
    covered = np.zeros(real.shape[0], dtype=bool)
    for rows, _, distances in _pairwise.squared_distance_blocks(real, fake):
        inside = distances < real_radii[rows, None]
        balls_per_fake += int(np.count_nonzero(inside))
        covered[rows] |= np.any(inside, axis=1)
    return balls_per_fake / (k * fake.shape[0]), float(covered.mean())


def _prepare(owner, real, fake, k, fake_needs_neighbours=True):
    k = _checks.positive_int(owner, "k", k)
    real = _checks.features(owner, "real", real, min_samples=1)
    fake = _checks.features(owner, "fake", fake, min_samples=1)
    for argument, array in (("real", real), ("fake", fake)) if fake_needs_neighbours else (("real", real),):
        if array.shape[0] <= k:
            raise ValueError(
                f"{owner}: `{argument}` must hold more than k={k} samples to find each one's k-th nearest "
                f"neighbour, got {array.shape[0]}"
            )
    _checks.same_dimension(owner, "real", "fake", real.shape[1], fake.shape[1])
    return real, fake, k
