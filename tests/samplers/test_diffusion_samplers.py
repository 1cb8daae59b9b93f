"""Diffusion samplers driven by the exact denoiser of a Gaussian: no training, closed-form answers.

For data `x0 ~ N(mu, Sigma)` and `x_t = a x0 + s eps`, `x_t ~ N(a mu, a^2 Sigma + s^2 I)`
and the optimal epsilon prediction is `E[eps | x_t] = s (a^2 Sigma + s^2 I)^{-1} (x_t - a mu)`.
A correct sampler fed with it draws `N(mu, Sigma)` up to its discretisation error.
Deterministic samplers are affine in their starting noise, so their output
mean and covariance are computed exactly from `d + 1` starting points; the
stochastic ones are checked by Monte Carlo.
"""

import keras
import numpy as np
import pytest
from keras import ops

from artifex_keras import samplers
from artifex_keras.samplers import DDIMSampler
from artifex_keras.samplers import DDPMSampler
from artifex_keras.samplers import DPMSolverSampler
from artifex_keras.samplers import EulerSampler
from artifex_keras.samplers import HeunSampler
from artifex_keras.samplers import LinearSchedule
from artifex_keras.samplers.schedules import CosineSchedule
from tests.checks.samplers import check_sampler_serialization

MU = np.array([1.0, -0.5, 0.25])
SIGMA = np.array([[0.5, 0.3, 0.1], [0.3, 0.8, -0.2], [0.1, -0.2, 0.3]])
EIGENVALUES, EIGENVECTORS = np.linalg.eigh(SIGMA)
SCHEDULE = LinearSchedule(1000)


def exact_denoiser(schedule, prediction="epsilon"):
    """`denoiser(x, t)`: the Bayes-optimal prediction of kind `prediction` for Gaussian data."""
    q = ops.convert_to_tensor(EIGENVECTORS.astype("float32"))
    eigenvalues = ops.convert_to_tensor(EIGENVALUES.astype("float32"))
    mu = ops.convert_to_tensor(MU.astype("float32"))

    def denoiser(x, t):
        a, s = schedule.signal_and_noise(t)
        a, s = a[:, None], s[:, None]
        # Products of 3x3 matrices as broadcast sums: a BLAS call per step costs more than the rest on PyTorch.
        rotated = ops.sum((x - a * mu)[:, :, None] * q[None], axis=1) / (a * a * eigenvalues + s * s)
        eps = s * ops.sum(rotated[:, None, :] * q[None], axis=2)
        if prediction == "epsilon":
            return eps
        x0 = (x - s * eps) / a
        return x0 if prediction == "x0" else a * eps - s * x0

    return denoiser


def start_points(schedule=SCHEDULE):
    """`x_T = a mu + L e_i` for `e_i` in {0, unit vectors}, `L L^T = a^2 Sigma + s^2 I`, the exact `q(x_T)`.

    `alpha_bar_T` is not 0 (4e-5 for the linear schedule): starting from
    `N(0, I)` would shift the sample mean by about `0.005 mu`, a prior
    mismatch of the schedule rather than an error of the sampler.
    """
    bar = schedule.alphas_cumprod[-1]
    root = np.linalg.cholesky(bar * SIGMA + (1 - bar) * np.eye(len(MU)))
    units = np.concatenate([np.zeros((1, len(MU))), np.eye(len(MU))])
    return (np.sqrt(bar) * MU + units @ root.T).astype("float32")


def affine_moments(sampler, schedule=SCHEDULE, prediction="epsilon"):
    """Exact mean and covariance of a deterministic sampler's output: it maps `x_T` affinely."""
    starts = start_points(schedule)
    out = ops.convert_to_numpy(sampler.sample(exact_denoiser(schedule, prediction), schedule, starts)).astype(float)
    offset = out[0]
    # Output = offset + J L z for z ~ N(0, I): J L is read off the unit starts.
    matrix = (out[1:] - offset).T
    return offset, matrix @ matrix.T


def moment_error(mean, covariance):
    return max(np.abs(mean - MU).max(), np.abs(covariance - SIGMA).max())


@pytest.mark.parametrize(
    "sampler, tolerance",
    [
        # First-order solvers need many steps: their error is about 3 / steps here.
        (DDIMSampler(steps=500), 8e-3),
        (EulerSampler(steps=500), 1.15e-2),
        (DPMSolverSampler(steps=100), 2.2e-3),
        (HeunSampler(steps=100), 2.8e-3),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, samplers.Sampler) else str(value),
)
def test_deterministic_samplers_reproduce_the_gaussian(sampler, tolerance):
    mean, covariance = affine_moments(sampler)
    assert moment_error(mean, covariance) < tolerance, (mean - MU, covariance - SIGMA)
    # The mean is exact: starting from the exact q(x_T), the ODE carries the mean along exactly for any step size.
    np.testing.assert_allclose(mean, MU, atol=2e-5)


@pytest.mark.parametrize(
    "make, steps, low, high",
    [
        (DDIMSampler, 50, 1.6, 2.5),
        (EulerSampler, 50, 1.6, 2.5),
        # DPM-Solver++(2M) ends with a first-order step onto the data; it reaches its second order past 100 steps.
        (DPMSolverSampler, 100, 3.0, 6.0),
        (HeunSampler, 50, 3.0, 6.0),
    ],
    ids=lambda value: getattr(value, "__name__", str(value)),
)
def test_error_falls_with_the_order_of_the_solver(make, steps, low, high):
    # Doubling the steps divides a p-th order solver's error by about 2^p.
    coarse = moment_error(*affine_moments(make(steps=steps)))
    fine = moment_error(*affine_moments(make(steps=2 * steps)))
    assert low < coarse / fine < high, (coarse, fine)


@pytest.mark.parametrize("prediction", ["x0", "v"])
def test_every_prediction_target_gives_the_same_samples(prediction):
    noise = np.random.default_rng(0).standard_normal((64, 3)).astype("float32")
    for sampler in (DDIMSampler(steps=5), DPMSolverSampler(steps=5), HeunSampler(steps=3)):
        reference = sampler.sample(exact_denoiser(SCHEDULE), SCHEDULE, noise)
        other = sampler.sample(exact_denoiser(SCHEDULE, prediction), SCHEDULE, noise, prediction=prediction)
        np.testing.assert_allclose(ops.convert_to_numpy(other), ops.convert_to_numpy(reference), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize(
    "sampler, schedule",
    [
        (DDPMSampler(steps=1000), SCHEDULE),
        pytest.param(DDIMSampler(steps=500, eta=1.0), CosineSchedule(1000), marks=pytest.mark.slow),
    ],
    ids=["ddpm", "ddim_eta1_cosine"],
)
def test_stochastic_samplers_reproduce_the_gaussian(sampler, schedule):
    draws = 20000
    starts = start_points(schedule).astype(float)
    z = np.random.default_rng(1).standard_normal((draws, 3))
    noise = (starts[0] + z @ (starts[1:] - starts[0])).astype("float32")
    x = ops.convert_to_numpy(sampler.sample(exact_denoiser(schedule), schedule, noise, keras.random.SeedGenerator(0)))
    # Standard errors: sqrt(Sigma_ii / n) for the mean, about sqrt(2 / n) Sigma_ii for the covariance.
    np.testing.assert_allclose(x.mean(0), MU, atol=5 * np.sqrt(SIGMA.diagonal().max() / draws) + 5e-3)
    np.testing.assert_allclose(np.cov(x.T), SIGMA, atol=5 * np.sqrt(2 / draws) * 0.8 + 1e-2)


def test_ddpm_draws_fresh_noise_at_every_step():
    sampler = DDPMSampler(steps=20)
    noise = np.zeros((500, 3), "float32")
    first = ops.convert_to_numpy(
        sampler.sample(exact_denoiser(SCHEDULE), SCHEDULE, noise, keras.random.SeedGenerator(0))
    )
    other = ops.convert_to_numpy(
        sampler.sample(exact_denoiser(SCHEDULE), SCHEDULE, noise, keras.random.SeedGenerator(1))
    )
    assert not np.allclose(first, other)
    # From x_T = 0 the samples still spread: the noise added along the way is most of the variance.
    assert np.cov(first.T).trace() > 0.5 * SIGMA.trace()


def test_ddim_with_eta_zero_is_deterministic_and_invertible():
    sampler = DDIMSampler(steps=50, eta=0.0)
    denoiser = exact_denoiser(SCHEDULE)
    x = np.random.default_rng(1).multivariate_normal(MU, SIGMA, size=256).astype("float32")
    noise = sampler.encode(denoiser, SCHEDULE, x, fixed_point_iterations=4)
    first = ops.convert_to_numpy(sampler.sample(denoiser, SCHEDULE, noise, keras.random.SeedGenerator(0)))
    second = ops.convert_to_numpy(sampler.sample(denoiser, SCHEDULE, noise, keras.random.SeedGenerator(5)))
    np.testing.assert_array_equal(first, second)
    # Each encoding step solves the decoding step for its input: the round trip is exact up to float32.
    np.testing.assert_allclose(first, x, atol=2e-4)
    # Without the fixed point, the usual inversion is off by its first-order error.
    plain = sampler.sample(denoiser, SCHEDULE, sampler.encode(denoiser, SCHEDULE, x))
    assert 2e-2 < np.abs(ops.convert_to_numpy(plain) - x).max() < 0.3


def test_trajectory_follows_the_marginals_of_the_forward_process():
    sampler = DDIMSampler(steps=100)
    starts = start_points()
    samples, trajectory = sampler.sample(exact_denoiser(SCHEDULE), SCHEDULE, starts, return_trajectory=True)
    trajectory = ops.convert_to_numpy(trajectory).astype(float)
    assert trajectory.shape == (101, 4, 3)
    np.testing.assert_array_equal(trajectory[0], starts)
    np.testing.assert_array_equal(trajectory[-1], ops.convert_to_numpy(samples))
    np.testing.assert_array_equal(ops.convert_to_numpy(sampler.sample(exact_denoiser(SCHEDULE), SCHEDULE, starts)),
                                  trajectory[-1])  # fmt: skip
    # State k sits at the k-th timestep of the grid: x_t ~ N(a mu, a^2 Sigma + s^2 I).
    from artifex_keras.samplers.diffusion import timestep_grid

    _, following = timestep_grid(SCHEDULE, 100)
    for k in (25, 50, 75):
        bar = SCHEDULE.alphas_cumprod[following[k - 1]]
        offset = trajectory[k, 0]
        matrix = (trajectory[k, 1:] - offset).T
        np.testing.assert_allclose(offset, np.sqrt(bar) * MU, atol=1e-5)
        np.testing.assert_allclose(matrix @ matrix.T, bar * SIGMA + (1 - bar) * np.eye(3), atol=0.015)


@pytest.mark.parametrize("make", [HeunSampler, DDPMSampler], ids=lambda cls: cls.__name__)
def test_trajectory_of_other_samplers(make):
    sampler = make(steps=3)
    noise = np.random.default_rng(0).standard_normal((8, 3)).astype("float32")
    generator = keras.random.SeedGenerator(0)
    samples, trajectory = sampler.sample(exact_denoiser(SCHEDULE), SCHEDULE, noise, generator, return_trajectory=True)
    trajectory = ops.convert_to_numpy(trajectory)
    assert trajectory.shape == (4, 8, 3)
    np.testing.assert_allclose(trajectory[0], noise, atol=1e-6)
    np.testing.assert_array_equal(trajectory[-1], ops.convert_to_numpy(samples))


def point_mass_denoiser(schedule, value):
    """The exact epsilon prediction for data that are always `value`: `(x_t - a value) / s`."""

    def denoiser(x, t):
        a, s = schedule.signal_and_noise(t)
        return (x - a[:, None] * value) / s[:, None]

    return denoiser


@pytest.mark.parametrize(
    "make",
    [
        lambda clip: DDPMSampler(steps=20, clip_x0=clip),
        lambda clip: DDIMSampler(steps=10, clip_x0=clip),
        lambda clip: DDIMSampler(steps=10, eta=1.0, clip_x0=clip),
        lambda clip: DPMSolverSampler(steps=10, clip_x0=clip),
        lambda clip: EulerSampler(steps=10, clip_x0=clip),
        lambda clip: HeunSampler(steps=5, clip_x0=clip),
    ],
    ids=["ddpm", "ddim", "ddim_eta1", "dpm_solver", "euler", "heun"],
)
def test_clipping_x0_is_sampling_the_clipped_data(make):
    # Data always at 2, clipped to 1: x0 = 1 and the consistent noise (x - a) / s are the exact
    # predictions for data always at 1, so every state of the path must be that model's.
    noise = np.random.default_rng(2).standard_normal((16, 3)).astype("float32")
    clipped, path = make(1.0).sample(
        point_mass_denoiser(SCHEDULE, 2.0), SCHEDULE, noise, keras.random.SeedGenerator(3), return_trajectory=True
    )
    reference, reference_path = make(None).sample(
        point_mass_denoiser(SCHEDULE, 1.0), SCHEDULE, noise, keras.random.SeedGenerator(3), return_trajectory=True
    )
    np.testing.assert_allclose(ops.convert_to_numpy(path), ops.convert_to_numpy(reference_path), atol=2e-5)
    np.testing.assert_allclose(ops.convert_to_numpy(clipped), 1.0, atol=1e-5)
    np.testing.assert_allclose(ops.convert_to_numpy(reference), 1.0, atol=1e-5)
    # A bound the predictions never reach changes nothing.
    loose = make(1e3).sample(exact_denoiser(SCHEDULE), SCHEDULE, noise, keras.random.SeedGenerator(3))
    free = make(None).sample(exact_denoiser(SCHEDULE), SCHEDULE, noise, keras.random.SeedGenerator(3))
    np.testing.assert_allclose(ops.convert_to_numpy(loose), ops.convert_to_numpy(free), atol=2e-5)


@pytest.mark.parametrize("make", [DDPMSampler, DDIMSampler, DPMSolverSampler, EulerSampler, HeunSampler])
def test_steps_must_be_positive(make):
    for steps in (0, -3, 2.5, True):
        with pytest.raises(ValueError, match=rf"{make.__name__}: `steps` must be a positive int, got {steps!r}"):
            make(steps=steps)


def test_bad_settings_raise_clear_errors():
    with pytest.raises(ValueError, match=r"DDIMSampler: `eta` must be a non-negative number, got -0.5"):
        DDIMSampler(eta=-0.5)
    with pytest.raises(ValueError, match=r"HeunSampler: `rho` must be a positive number, got 0"):
        HeunSampler(rho=0)
    with pytest.raises(ValueError, match=r"`steps` must be at most the schedule's num_timesteps \(10\), got 20"):
        DDIMSampler(steps=20).sample(exact_denoiser(LinearSchedule(10)), LinearSchedule(10), np.zeros((1, 3)))
    with pytest.raises(ValueError, match=r"DDIMSampler: `prediction` must be one of 'epsilon', 'x0', 'v', got 'score'"):
        DDIMSampler().sample(exact_denoiser(SCHEDULE), SCHEDULE, np.zeros((1, 3)), prediction="score")
    with pytest.raises(ValueError, match=r"DDIMSampler.encode: only deterministic DDIM can encode; `eta` must be 0"):
        DDIMSampler(eta=1.0).encode(exact_denoiser(SCHEDULE), SCHEDULE, np.zeros((1, 3)))
    with pytest.raises(ValueError, match=r"EulerSampler: `clip_x0` must be a positive number, got 0"):
        EulerSampler(clip_x0=0)
    with pytest.raises(ValueError, match=r"DDIMSampler.encode: clipped steps cannot be inverted; `clip_x0` must"):
        DDIMSampler(clip_x0=1.0).encode(exact_denoiser(SCHEDULE), SCHEDULE, np.zeros((1, 3)))


@pytest.mark.parametrize(
    "sampler",
    [
        DDPMSampler(steps=100),
        DDIMSampler(steps=20, eta=0.5, clip_x0=1.0),
        DPMSolverSampler(steps=15),
        EulerSampler(30, rho=5.0),
        HeunSampler(steps=12),
    ],  # fmt: skip
    ids=lambda sampler: type(sampler).__name__,
)
def test_samplers_serialize(sampler):
    check_sampler_serialization(sampler)
    assert samplers.get(sampler.sampler_name) == type(sampler)()
