"""Two-sample distances for low-dimensional samples (toy 2-D densities, latent codes, point clouds).

Example:
```python
from artifex_keras.metrics import energy_distance, mmd, sliced_wasserstein

samples = model.generate(2000, seed=0)
mmd(samples, data), sliced_wasserstein(samples, data), energy_distance(samples, data)
```
"""

import numbers

import numpy as np

from artifex_keras.metrics import _checks
from artifex_keras.metrics import _pairwise

KERNELS = ("rbf", "imq")
# Multiples of the median distance used as bandwidths when none are given.
MEDIAN_MULTIPLES = (0.5, 1.0, 2.0)
# The median heuristic looks at no more than this many pooled points (a fixed random subset).
MEDIAN_POINTS = 1000


def mmd(x, y, bandwidths=None, kernel="rbf"):
    """Unbiased squared maximum mean discrepancy with a sum of kernels, one per bandwidth.

    `kernel="rbf"` sums `exp(-|a - b|^2 / (2 s^2))` and `kernel="imq"` sums
    the inverse multiquadric `s^2 / (s^2 + |a - b|^2)` over the bandwidths
    `s`. Summing several bandwidths keeps the test sensitive at several
    length scales. The unbiased estimate (diagonals dropped) can be slightly
    negative when the distributions match.

    Args:
        x: samples `(N, D)`, `N >= 2`.
        y: samples `(M, D)`, `M >= 2`.
        bandwidths: positive numbers, or None for the median distance between
            distinct pooled points times (0.5, 1, 2) (at most 1000 points, a
            fixed random subset, enter the median).
        kernel: `"rbf"` or `"imq"`.

    Returns:
        float, the MMD² estimate.

    Example:
    ```python
    mmd(samples, data)                       # median-heuristic bandwidths
    mmd(samples, data, bandwidths=[0.1, 1.0])
    ```

    Reference:
        Gretton et al., "A Kernel Two-Sample Test", JMLR 2012 (the unbiased estimate MMD²_u).
    """
    owner = "mmd"
    x, y = _samples(owner, x, y)
    if kernel not in KERNELS:
        raise ValueError(f"{owner}: `kernel` must be one of {', '.join(map(repr, KERNELS))}, got {kernel!r}")
    bandwidths = _median_bandwidths(x, y) if bandwidths is None else _bandwidths(owner, bandwidths)

    def kernel_sum(a, b=None):
        total = 0.0
        for _, _, distances in _pairwise.squared_distance_blocks(a, b):
            for bandwidth in bandwidths:
                if kernel == "rbf":
                    total += np.exp(distances / (-2.0 * bandwidth**2)).sum()
                else:
                    total += (bandwidth**2 / (bandwidth**2 + distances)).sum()
        return total

    n, m = x.shape[0], y.shape[0]
    # Both kernels are exactly 1 at distance 0, so each diagonal sums to N per bandwidth.
    within_x = (kernel_sum(x) - n * len(bandwidths)) / (n * (n - 1))
    within_y = (kernel_sum(y) - m * len(bandwidths)) / (m * (m - 1))
    return float(within_x + within_y - 2.0 * kernel_sum(x, y) / (n * m))


def sliced_wasserstein(x, y, num_projections=128, p=2, seed=0):
    """Sliced p-Wasserstein distance: the 1-D Wasserstein distance averaged over random directions.

    `SW_p = (mean over directions theta of W_p^p(theta.x, theta.y))^(1/p)`,
    with directions uniform on the unit sphere. Each 1-D distance is exact
    (quantile functions matched level by level), so `N` and `M` may differ.
    A translation `t` of a set gives `|t|` in 1-D, and about `|t| / sqrt(D)`
    in `D` dimensions for `p = 2`.

    Args:
        x: samples `(N, D)`.
        y: samples `(M, D)`.
        num_projections: number of random directions.
        p: order, `p >= 1`.
        seed: seed of the directions.

    Returns:
        float, `SW_p`.

    Example:
    ```python
    sliced_wasserstein(samples, data, num_projections=256)
    ```

    Reference:
        Bonneel et al., "Sliced and Radon Wasserstein Barycenters of Measures",
        J. Math. Imaging and Vision 2015.
    """
    owner = "sliced_wasserstein"
    x, y = _samples(owner, x, y, min_samples=1)
    num_projections = _checks.positive_int(owner, "num_projections", num_projections)
    p = _checks.positive_number(owner, "p", p)
    if p < 1:
        raise ValueError(f"{owner}: `p` must be at least 1, got {p!r}")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise ValueError(f"{owner}: `seed` must be an int, got {seed!r}")
    directions = np.random.default_rng(seed).standard_normal((x.shape[1], num_projections))
    directions /= np.linalg.norm(directions, axis=0, keepdims=True)
    x_sorted = np.sort(x @ directions, axis=0)
    y_sorted = np.sort(y @ directions, axis=0)

    # The quantile functions are steps at multiples of 1/N and 1/M; between consecutive
    # breakpoints both are constant, so evaluating at each interval's midpoint is exact.
    n, m = x.shape[0], y.shape[0]
    levels = np.union1d(np.arange(1, n + 1) / n, np.arange(1, m + 1) / m)
    widths = np.diff(levels, prepend=0.0)
    midpoints = levels - widths / 2.0
    x_index = np.minimum((midpoints * n).astype(np.int64), n - 1)
    y_index = np.minimum((midpoints * m).astype(np.int64), m - 1)
    costs = widths @ np.abs(x_sorted[x_index] - y_sorted[y_index]) ** p
    return float(np.mean(costs) ** (1.0 / p))


def energy_distance(x, y):
    """Energy distance `2 E|X - Y| - E|X - X'| - E|Y - Y'|` between the two empirical distributions.

    Zero exactly when the empirical distributions coincide, positive
    otherwise. This is Székely and Rizzo's form; `scipy.stats.energy_distance`
    (1-D only) returns its square root.

    Args:
        x: samples `(N, D)`.
        y: samples `(M, D)`.

    Returns:
        float, non-negative.

    Example:
    ```python
    energy_distance(np.zeros((5, 1)), np.full((3, 1), 2.0))   # 2 * 2 - 0 - 0 = 4.0
    ```

    Reference:
        Székely and Rizzo, "Energy statistics: A class of statistics based on
        distances", J. Statistical Planning and Inference 2013.
    """
    x, y = _samples("energy_distance", x, y, min_samples=1)

    def mean_distance(a, b=None):
        total = sum(np.sqrt(distances).sum() for _, _, distances in _pairwise.squared_distance_blocks(a, b))
        return total / (a.shape[0] * (a if b is None else b).shape[0])

    value = 2.0 * mean_distance(x, y) - mean_distance(x) - mean_distance(y)
    # Round-off can leave a tiny negative value for identical sets; the true value is never negative.
    return float(max(value, 0.0))


def _samples(owner, x, y, min_samples=2):
    x = _checks.features(owner, "x", x, min_samples=min_samples)
    y = _checks.features(owner, "y", y, min_samples=min_samples)
    _checks.same_dimension(owner, "x", "y", x.shape[1], y.shape[1])
    return x, y


def _bandwidths(owner, bandwidths):
    values = [bandwidths] if isinstance(bandwidths, numbers.Real) else list(bandwidths)
    if not values:
        raise ValueError(f"{owner}: `bandwidths` must hold at least one positive number, got {bandwidths!r}")
    return [_checks.positive_number(owner, "bandwidths", value) for value in values]


def _median_bandwidths(x, y):
    """Gretton et al.'s median heuristic, at several multiples of the median distance."""
    pooled = np.concatenate([x, y], axis=0)
    if pooled.shape[0] > MEDIAN_POINTS:
        pooled = pooled[np.random.default_rng(0).choice(pooled.shape[0], MEDIAN_POINTS, replace=False)]
    squared = np.concatenate([distances.ravel() for _, _, distances in _pairwise.squared_distance_blocks(pooled)])
    positive = squared[squared > 0]
    # Every pooled point equal: any bandwidth gives MMD² = 0, so 1 is as good as another.
    median = float(np.sqrt(np.median(positive))) if positive.size else 1.0
    return [multiple * median for multiple in MEDIAN_MULTIPLES]
