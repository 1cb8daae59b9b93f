"""Kernel Inception Distance: unbiased MMD² with a cubic polynomial kernel, averaged over subsets."""

import math
import numbers

import numpy as np

from artifex_keras.metrics import _checks


def kernel_inception_distance(real, fake, num_subsets=100, subset_size=1000, degree=3, gamma=None, coef0=1, seed=0):
    """Mean and standard error of the unbiased MMD² between random subsets of two feature sets.

    The kernel is `k(x, y) = (gamma x.y + coef0)^degree`, by default
    `(x.y / D + 1)^3`. Each of the `num_subsets` estimates draws `subset_size`
    rows without replacement from each set (clipped to the smaller set's
    size) and computes the unbiased MMD², which can be slightly negative when
    the distributions match.

    Args:
        real: features `(N, D)` of real data.
        fake: features `(M, D)` of generated data.
        num_subsets: number of subset pairs averaged.
        subset_size: rows per subset, at most `min(N, M)`.
        degree: polynomial degree.
        gamma: scale of the dot product; `1 / D` when None.
        coef0: constant added before the power.
        seed: seed of the subset draws; the same seed gives the same value.

    Returns:
        `(mean, std_error)`: the mean over subsets and its standard error,
        `std / sqrt(num_subsets)` (NaN for one subset). Subsets overlap when
        `num_subsets * subset_size > min(N, M)`, so the error understates the
        spread across independent samples.

    Example:
    ```python
    kid, error = kernel_inception_distance(real_features, fake_features)
    ```

    Reference:
        Bińkowski et al., "Demystifying MMD GANs", ICLR 2018.
    """
    owner = "kernel_inception_distance"
    real = _checks.features(owner, "real", real)
    fake = _checks.features(owner, "fake", fake)
    _checks.same_dimension(owner, "real", "fake", real.shape[1], fake.shape[1])
    num_subsets = _checks.positive_int(owner, "num_subsets", num_subsets)
    subset_size = min(_checks.positive_int(owner, "subset_size", subset_size), real.shape[0], fake.shape[0])
    if subset_size < 2:
        raise ValueError(f"{owner}: `subset_size` must be at least 2 for an unbiased estimate, got {subset_size}")
    degree = _checks.positive_int(owner, "degree", degree)
    gamma = 1.0 / real.shape[1] if gamma is None else _checks.positive_number(owner, "gamma", gamma)
    coef0 = _checks.real_number(owner, "coef0", coef0)
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise ValueError(f"{owner}: `seed` must be an int, got {seed!r}")

    def kernel(x, y):
        values = x @ y.T
        values *= gamma
        values += coef0
        return _power(values, degree)

    rng = np.random.default_rng(seed)
    m = subset_size
    estimates = np.empty(num_subsets)
    for index in range(num_subsets):
        x = real[rng.choice(real.shape[0], m, replace=False)]
        y = fake[rng.choice(fake.shape[0], m, replace=False)]
        # Drop the diagonals of the within-set kernels so the estimate is unbiased.
        k_xx = kernel(x, x)
        k_yy = kernel(y, y)
        within = (k_xx.sum() - np.trace(k_xx) + k_yy.sum() - np.trace(k_yy)) / (m * (m - 1))
        estimates[index] = within - 2.0 * kernel(x, y).sum() / (m * m)
    mean = float(estimates.mean())
    error = float(estimates.std(ddof=1) / math.sqrt(num_subsets)) if num_subsets > 1 else float("nan")
    return mean, error


def _power(values, degree):
    """`values ** degree` by repeated products: `np.power` with an int exponent is several times slower."""
    result = values.copy() if degree > 1 else values
    for _ in range(degree - 1):
        result *= values
    return result
