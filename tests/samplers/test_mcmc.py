"""MCMC samplers on a Gaussian energy (closed forms, no training): moments, acceptance, seeding, errors."""

import keras
import numpy as np
import pytest
from keras import ops

from artifex_keras import samplers
from artifex_keras.samplers import HMCSampler
from artifex_keras.samplers import LangevinSampler
from artifex_keras.samplers import MALASampler
from tests.checks.samplers import check_sampler_serialization

MEAN = np.array([1.0, -2.0])
COVARIANCE = np.array([[1.0, 0.5], [0.5, 0.6]])
PRECISION = np.linalg.inv(COVARIANCE)
CHAINS = 10000
# Whitened sample moments: standard errors about 1/sqrt(CHAINS) = 0.01 (mean) and 0.014 (variances).
TOLERANCE = 0.06


def gaussian_energy(x):
    centred = x - ops.convert_to_tensor(MEAN, "float32")
    return 0.5 * ops.sum(ops.matmul(centred, ops.convert_to_tensor(PRECISION, "float32")) * centred, axis=-1)


def run_chains(sampler, seed=0, chains=CHAINS):
    start = np.random.default_rng(seed).normal(size=(chains, 2)).astype("float32")
    x, acceptance = sampler.run(gaussian_energy, start, keras.random.SeedGenerator(seed))
    return np.asarray(ops.convert_to_numpy(x), np.float64), float(ops.convert_to_numpy(acceptance))


def inverse_square_root(matrix):
    values, vectors = np.linalg.eigh(matrix)
    return vectors @ np.diag(values**-0.5) @ vectors.T


def check_moments(x, mean, covariance):
    """Whitened by the expected moments, the samples must have zero mean and identity covariance."""
    white = (x - mean) @ inverse_square_root(covariance)
    np.testing.assert_allclose(white.mean(axis=0), 0.0, atol=TOLERANCE)
    np.testing.assert_allclose(np.cov(white, rowvar=False), np.eye(2), atol=TOLERANCE)


def langevin_covariance(step_size):
    """Stationary covariance of unadjusted Langevin on this Gaussian: `C = A C A^T + 2 h I`, `A = I - h P`."""
    a = np.eye(2) - step_size * PRECISION
    # vec(C) = (I - A kron A)^-1 vec(2 h I)
    vec = np.linalg.solve(np.eye(4) - np.kron(a, a), (2 * step_size * np.eye(2)).reshape(-1))
    return vec.reshape(2, 2)


def test_langevin_reaches_its_exact_stationary_moments():
    step_size = 0.1
    x, acceptance = run_chains(LangevinSampler(steps=150, step_size=step_size))
    assert acceptance == 1.0
    expected = langevin_covariance(step_size)
    # The discretisation bias is large at this step: the test tells the two covariances apart.
    whitener = inverse_square_root(expected)
    assert np.abs(np.linalg.eigvalsh(whitener @ COVARIANCE @ whitener) - 1).max() > 0.15
    check_moments(x, MEAN, expected)


@pytest.mark.parametrize(
    "sampler",
    [MALASampler(steps=100, step_size=0.2), HMCSampler(steps=50, step_size=0.25, leapfrog_steps=4)],
    ids=["mala", "hmc"],
)
def test_adjusted_samplers_reproduce_the_gaussian(sampler):
    x, acceptance = run_chains(sampler)
    assert 0.5 < acceptance < 1.0
    check_moments(x, MEAN, COVARIANCE)


@pytest.mark.parametrize(
    "make, step_sizes",
    [
        (lambda h: MALASampler(steps=10, step_size=h), (0.05, 0.4, 1.5)),
        (lambda h: HMCSampler(steps=10, step_size=h, leapfrog_steps=3), (0.1, 0.6, 1.0)),
    ],
    ids=["mala", "hmc"],
)
def test_acceptance_falls_as_the_step_grows(make, step_sizes):
    rates = [run_chains(make(h), chains=2000)[1] for h in step_sizes]
    assert rates[0] > 0.95 and rates[-1] < 0.6, rates
    assert rates[0] > rates[1] > rates[2], rates


def test_chains_repeat_with_their_seed_and_differ_across_seeds():
    sampler = MALASampler(steps=5, step_size=0.2)
    first, second, other = run_chains(sampler, 1, 64), run_chains(sampler, 1, 64), run_chains(sampler, 2, 64)
    np.testing.assert_array_equal(first[0], second[0])
    assert not np.allclose(first[0], other[0])


@pytest.mark.parametrize(
    "sampler",
    [LangevinSampler(steps=3, step_size=0.5, noise_scale=0.01), MALASampler(steps=7), HMCSampler(leapfrog_steps=2)],
)
def test_serialization(sampler):
    check_sampler_serialization(sampler)
    assert samplers.get(sampler.sampler_name) == type(sampler)()


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: MALASampler(steps=0), "MALASampler: `steps` must be a positive int, got 0"),
        (lambda: LangevinSampler(step_size=-0.1), "LangevinSampler: `step_size` must be a positive number, got -0.1"),
        (lambda: LangevinSampler(noise_scale=float("nan")), "`noise_scale` must be a non-negative number"),
        (lambda: HMCSampler(leapfrog_steps=0), "HMCSampler: `leapfrog_steps` must be a positive int, got 0"),
    ],
)
def test_bad_settings(make, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        make()
