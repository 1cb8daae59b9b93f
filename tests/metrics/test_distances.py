"""MMD, sliced Wasserstein and energy distance on low-dimensional samples."""

import math

import numpy as np
import pytest

from artifex_keras.metrics import energy_distance
from artifex_keras.metrics import mmd
from artifex_keras.metrics import sliced_wasserstein


@pytest.fixture(scope="module")
def samples():
    rng = np.random.default_rng(0)
    return rng.normal(size=(400, 2)), rng.normal(size=(400, 2))


@pytest.mark.parametrize("kernel", ["rbf", "imq"])
def test_mmd_near_zero_for_same_distribution_positive_for_shifted(samples, kernel):
    x, y = samples
    assert abs(mmd(x, y, kernel=kernel)) < 0.01
    assert mmd(x, y + np.array([1.0, 0.0]), kernel=kernel) > 0.1


def test_mmd_matches_hand_computation():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(20, 3)), rng.normal(0.5, 1.0, size=(30, 3))

    def gram(a, b):
        d2 = ((a[:, None] - b[None]) ** 2).sum(-1)
        return sum(np.exp(-d2 / (2 * s**2)) for s in (0.5, 2.0))

    k_xx, k_yy = gram(x, x), gram(y, y)
    expected = (
        (k_xx.sum() - np.trace(k_xx)) / (20 * 19) + (k_yy.sum() - np.trace(k_yy)) / (30 * 29) - 2 * gram(x, y).mean()
    )
    assert mmd(x, y, bandwidths=[0.5, 2.0]) == pytest.approx(expected, rel=1e-10)


def test_sliced_wasserstein_of_translation():
    x = np.random.default_rng(2).normal(size=(500, 1))
    assert sliced_wasserstein(x, x + 3.0) == pytest.approx(3.0, rel=1e-10)
    # In D dimensions each direction sees the projection of the shift, E[(theta.t)^2] = |t|^2 / D.
    x = np.random.default_rng(3).normal(size=(500, 4))
    shift = np.array([2.0, -1.0, 0.0, 2.0])
    value = sliced_wasserstein(x, x + shift, num_projections=2000)
    assert value == pytest.approx(np.linalg.norm(shift) / math.sqrt(4), rel=0.05)
    assert sliced_wasserstein(x, x) == 0.0


def test_sliced_wasserstein_unequal_sizes_is_exact_in_1d():
    # Quantile functions: x is 0 on (0, 1/2], 1 on (1/2, 1]; y is 0 on (0, 1/3], 1 on (1/3, 1].
    # They differ by 1 on (1/3, 1/2], so W_1 = 1/6 and W_2 = sqrt(1/6).
    x, y = np.array([[0.0], [1.0]]), np.array([[0.0], [1.0], [1.0]])
    assert sliced_wasserstein(x, y, p=1) == pytest.approx(1 / 6)
    assert sliced_wasserstein(x, y, p=2) == pytest.approx(math.sqrt(1 / 6))


def test_energy_distance_of_point_masses():
    # 2 |a - b| - 0 - 0 for all mass at a = 0 and b = 2.
    assert energy_distance(np.zeros((5, 1)), np.full((3, 1), 2.0)) == pytest.approx(4.0)
    x = np.random.default_rng(4).normal(size=(50, 3))
    assert energy_distance(x, x) == pytest.approx(0.0, abs=1e-9)
    scipy_stats = pytest.importorskip("scipy.stats")
    a, b = x[:, :1], x[:30, 1:2] + 0.5
    assert energy_distance(a, b) == pytest.approx(scipy_stats.energy_distance(a[:, 0], b[:, 0]) ** 2, rel=1e-9)


def test_bad_inputs_name_the_argument(samples):
    x, _ = samples
    with pytest.raises(ValueError, match="mmd: `kernel` must be one of 'rbf', 'imq', got 'linear'"):
        mmd(x, x, kernel="linear")
    with pytest.raises(ValueError, match="mmd: `bandwidths` must be a positive number, got -1"):
        mmd(x, x, bandwidths=[1.0, -1])
    with pytest.raises(ValueError, match="sliced_wasserstein: `p` must be at least 1, got 0.5"):
        sliced_wasserstein(x, x, p=0.5)
    with pytest.raises(ValueError, match=r"energy_distance: `y` must be a 2-D array of features \(N, D\), got shape"):
        energy_distance(x, np.zeros(4))
