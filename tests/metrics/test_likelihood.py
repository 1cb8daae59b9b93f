"""Bits per dimension, dequantisation, IWAE and ELBO helpers."""

import math

import numpy as np
import pytest

from artifex_keras.metrics import bits_per_dim
from artifex_keras.metrics import elbo_from_terms
from artifex_keras.metrics import importance_weighted_nll
from artifex_keras.metrics import nats_to_bits_per_dim


def test_nats_to_bits_per_dim():
    assert nats_to_bits_per_dim(784 * math.log(2.0), 784) == pytest.approx(1.0)
    np.testing.assert_allclose(nats_to_bits_per_dim(np.array([0.0, 10 * math.log(2.0)]), 5), [0.0, 2.0])


def test_dequantisation_correction():
    # A uniform density on [0, 1)^D (NLL 0) gives each of 256 bins mass 1/256: 8 bits per dimension.
    assert bits_per_dim(0.0, 784, data_scale="unit") == pytest.approx(8.0)
    assert bits_per_dim(0.0, 784, data_scale="symmetric") == pytest.approx(7.0)
    assert bits_per_dim(0.0, 784, num_bins=32, data_scale="unit") == pytest.approx(5.0)
    assert bits_per_dim(0.0, 10, data_scale=255) == pytest.approx(math.log2(255))
    # 1000 nats over 100 dims on (x + u) / 256: (1000 + 100 ln 256) / (100 ln 2) = 14.427 + 8.
    assert bits_per_dim(1000.0, 100, data_scale=256.0) == pytest.approx(1000 / (100 * math.log(2)) + 8.0)
    # A discrete NLL needs no correction.
    assert bits_per_dim(100 * math.log(2.0), 100) == pytest.approx(1.0)


def test_importance_weighted_nll_is_negative_log_mean_exp():
    log_weights = np.random.default_rng(0).normal(-100.0, 3.0, size=(4, 50))
    expected = -np.log(np.mean(np.exp(log_weights.astype(np.longdouble)), axis=1))
    np.testing.assert_allclose(importance_weighted_nll(log_weights), expected.astype(float), rtol=1e-12)
    np.testing.assert_allclose(importance_weighted_nll(log_weights.T, axis=0), expected.astype(float), rtol=1e-12)
    # Stable where exp overflows: equal weights of 1000 give an NLL of exactly -1000.
    assert importance_weighted_nll(np.full(7, 1000.0)) == pytest.approx(-1000.0)


def test_elbo_from_terms():
    np.testing.assert_array_equal(elbo_from_terms(np.array([-90.0, -100.0]), np.array([10.0, 5.0])), [-100.0, -105.0])


def test_bad_inputs_name_the_argument():
    with pytest.raises(ValueError, match="bits_per_dim: `num_dims` must be a positive int, got 0"):
        bits_per_dim(1.0, 0)
    with pytest.raises(ValueError, match="bits_per_dim: `data_scale` must be None, 'unit', 'symmetric' or a positive"):
        bits_per_dim(1.0, 10, data_scale="raw")
    with pytest.raises(ValueError, match="importance_weighted_nll: `axis` must name an axis"):
        importance_weighted_nll(np.zeros((2, 3)), axis=2)
    with pytest.raises(ValueError, match=r"elbo_from_terms: `log_likelihood` and `kl` must have the same shape"):
        elbo_from_terms(np.zeros(3), np.zeros(2))
