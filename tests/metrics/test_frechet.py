"""Fréchet distance: closed forms for Gaussians, samples, statistics, and errors."""

import numpy as np
import pytest

from artifex_keras.metrics import FeatureStatistics
from artifex_keras.metrics import frechet_distance
from artifex_keras.metrics import frechet_distance_from_moments


def diagonal_closed_form(mu1, var1, mu2, var2):
    # For diagonal covariances (S1 S2)^(1/2) = diag(sqrt(var1 * var2)).
    return float(np.sum((mu1 - mu2) ** 2) + np.sum(var1 + var2 - 2.0 * np.sqrt(var1 * var2)))


def test_moments_match_closed_form_for_diagonal_gaussians():
    mu1, var1 = np.array([0.0, 1.0, -2.0]), np.array([1.0, 4.0, 0.25])
    mu2, var2 = np.array([1.0, 1.0, 0.0]), np.array([9.0, 1.0, 0.25])
    # ||mu1 - mu2||^2 = 1 + 0 + 4 = 5; traces: (1 + 9 - 6) + (4 + 1 - 4) + (0.25 + 0.25 - 0.5) = 5.
    value = frechet_distance_from_moments(mu1, np.diag(var1), mu2, np.diag(var2))
    assert value == pytest.approx(10.0, abs=1e-10)
    assert value == pytest.approx(diagonal_closed_form(mu1, var1, mu2, var2), abs=1e-10)


def test_identical_moments_give_zero():
    sigma = np.array([[2.0, 0.5], [0.5, 1.0]])
    assert frechet_distance_from_moments(np.ones(2), sigma, np.ones(2), sigma) == pytest.approx(0.0, abs=1e-10)


def test_singular_covariances_still_match_closed_form():
    # The product diag(1, 0) diag(0, 1) is the zero matrix.
    value = frechet_distance_from_moments(np.zeros(2), np.diag([1.0, 0.0]), np.zeros(2), np.diag([0.0, 1.0]))
    assert value == pytest.approx(2.0, abs=1e-5)


def test_regularises_when_the_square_root_fails(monkeypatch):
    from scipy import linalg

    sqrtm = linalg.sqrtm
    products = []

    def failing_once(matrix):
        products.append(matrix)
        return np.full_like(matrix, np.nan) if len(products) == 1 else sqrtm(matrix)

    monkeypatch.setattr(linalg, "sqrtm", failing_once)
    mu1, var1, mu2, var2 = np.zeros(2), np.array([1.0, 4.0]), np.ones(2), np.array([4.0, 1.0])
    value = frechet_distance_from_moments(mu1, np.diag(var1), mu2, np.diag(var2))
    # The retry takes the root of (S1 + eps I)(S2 + eps I): the closed form moves by O(eps).
    np.testing.assert_allclose(products[1], np.diag((var1 + 1e-6) * (var2 + 1e-6)))
    assert value == pytest.approx(diagonal_closed_form(mu1, var1, mu2, var2), abs=1e-5)


def test_samples_from_same_and_shifted_gaussians():
    rng = np.random.default_rng(0)
    var = np.array([1.0, 2.0, 0.5, 3.0])
    real = rng.normal(size=(20000, 4)) * np.sqrt(var)
    same = rng.normal(size=(20000, 4)) * np.sqrt(var)
    assert frechet_distance(real, same) < 0.01
    shift, scale = np.array([1.0, 0.0, -1.0, 0.5]), np.array([1.0, 1.5, 1.0, 0.5])
    fake = shift + rng.normal(size=(20000, 4)) * np.sqrt(var) * scale
    expected = diagonal_closed_form(np.zeros(4), var, shift, var * scale**2)
    assert frechet_distance(real, fake) == pytest.approx(expected, rel=0.03)


def test_feature_statistics_and_arrays_agree():
    rng = np.random.default_rng(1)
    real, fake = rng.normal(size=(300, 5)), rng.normal(0.3, 1.2, size=(200, 5))
    streamed = FeatureStatistics()
    for start in range(0, 200, 64):
        streamed.update(fake[start : start + 64])
    assert frechet_distance(real, streamed) == pytest.approx(frechet_distance(real, fake), rel=1e-9)


def test_fewer_samples_than_features_gives_finite_value():
    rng = np.random.default_rng(2)
    assert np.isfinite(frechet_distance(rng.normal(size=(10, 32)), rng.normal(size=(12, 32))))


def test_bad_inputs_name_the_argument():
    expected = r"frechet_distance: `real` must be a 2-D array of features \(N, D\), got shape \(3,\)"
    with pytest.raises(ValueError, match=expected):
        frechet_distance(np.zeros(3), np.zeros((4, 3)))
    with pytest.raises(ValueError, match="`real` and `fake` must have the same feature dimension, got 3 and 2"):
        frechet_distance(np.zeros((4, 3)), np.zeros((4, 2)))
    with pytest.raises(ValueError, match="frechet_distance: `fake` must be finite, got 1 NaN"):
        frechet_distance(np.zeros((4, 2)), np.array([[0.0, np.nan], [1.0, 1.0]]))
    with pytest.raises(ValueError, match=r"`sigma2` must be a covariance matrix \(2, 2\), got shape \(3, 3\)"):
        frechet_distance_from_moments(np.zeros(2), np.eye(2), np.zeros(2), np.eye(3))
    with pytest.raises(ValueError, match="imaginary part .* positive semi-definite"):
        frechet_distance_from_moments(np.zeros(2), np.diag([1.0, -1.0]), np.zeros(2), np.eye(2))
