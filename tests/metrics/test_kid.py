"""Kernel Inception Distance: unbiasedness, sensitivity, determinism, errors."""

import numpy as np
import pytest

from artifex_keras.metrics import kernel_inception_distance


def test_identical_distributions_average_to_zero():
    rng = np.random.default_rng(0)
    estimates = [
        kernel_inception_distance(rng.normal(size=(200, 8)), rng.normal(size=(200, 8)), num_subsets=5, subset_size=100)
        for _ in range(20)
    ]
    estimates = [mean for mean, _ in estimates]
    # Unbiased: individual estimates straddle 0 and their mean is within noise of 0.
    assert min(estimates) < 0 < max(estimates)
    assert abs(np.mean(estimates)) < 3 * np.std(estimates) / np.sqrt(len(estimates))


def test_shifted_distribution_is_positive_and_matches_full_estimate():
    rng = np.random.default_rng(1)
    real, fake = rng.normal(size=(100, 4)), rng.normal(1.0, 1.0, size=(100, 4))
    mean, error = kernel_inception_distance(real, fake, num_subsets=10, subset_size=50)
    assert mean > 10 * error > 0
    # One subset of all rows is the plain unbiased MMD², computed here by hand.
    def kernel(x, y):
        return (x @ y.T / 4 + 1) ** 3

    m = len(real)
    k_xx, k_yy, k_xy = kernel(real, real), kernel(fake, fake), kernel(real, fake)
    by_hand = (k_xx.sum() - np.trace(k_xx) + k_yy.sum() - np.trace(k_yy)) / (m * (m - 1)) - 2 * k_xy.mean()
    full, full_error = kernel_inception_distance(real, fake, num_subsets=1, subset_size=1000)
    assert full == pytest.approx(by_hand, rel=1e-10) and np.isnan(full_error)


def test_same_seed_same_value():
    rng = np.random.default_rng(2)
    real, fake = rng.normal(size=(60, 3)), rng.normal(size=(80, 3))
    first = kernel_inception_distance(real, fake, num_subsets=4, subset_size=30, seed=7)
    assert kernel_inception_distance(real, fake, num_subsets=4, subset_size=30, seed=7) == first


def test_bad_inputs_name_the_argument():
    features = np.zeros((10, 3))
    with pytest.raises(ValueError, match="kernel_inception_distance: `num_subsets` must be a positive int, got 0"):
        kernel_inception_distance(features, features, num_subsets=0)
    with pytest.raises(ValueError, match="kernel_inception_distance: `gamma` must be a positive number, got -1"):
        kernel_inception_distance(features, features, gamma=-1)
    with pytest.raises(ValueError, match="kernel_inception_distance: `fake` must hold at least 2 samples"):
        kernel_inception_distance(features, np.zeros((1, 3)))


@pytest.mark.parametrize(
    ("kernel_arguments", "gamma", "coef0", "degree"),
    [({}, 1 / 3, 1.0, 3), ({"degree": 2, "gamma": 0.5, "coef0": 0.25}, 0.5, 0.25, 2)],
)
def test_standard_error_is_the_spread_of_the_subset_estimates(kernel_arguments, gamma, coef0, degree):
    rng = np.random.default_rng(3)
    real, fake = rng.normal(size=(60, 3)), rng.normal(0.3, 1.2, size=(80, 3))
    num_subsets, m, seed = 8, 25, 11
    mean, error = kernel_inception_distance(
        real, fake, num_subsets=num_subsets, subset_size=m, seed=seed, **kernel_arguments
    )

    def kernel(x, y):
        return (gamma * x @ y.T + coef0) ** degree

    subsets = np.random.default_rng(seed)
    estimates = []
    for _ in range(num_subsets):
        x = real[subsets.choice(len(real), m, replace=False)]
        y = fake[subsets.choice(len(fake), m, replace=False)]
        off_diagonal = ~np.eye(m, dtype=bool)
        within = kernel(x, x)[off_diagonal].mean() + kernel(y, y)[off_diagonal].mean()
        estimates.append(within - 2 * kernel(x, y).mean())
    estimates = np.array(estimates)
    assert np.std(estimates) > 0.1 * abs(np.mean(estimates))
    assert mean == pytest.approx(np.mean(estimates), rel=1e-6)
    assert error == pytest.approx(np.std(estimates, ddof=1) / np.sqrt(num_subsets), rel=1e-6)
