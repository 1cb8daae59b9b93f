"""ODE samplers driven by the exact marginal velocity of Gaussian data: no training, closed-form answers.

For data `x1 ~ N(mu, diag(s^2))`, noise `x0 ~ N(0, I)` and the linear
interpolant `x_t = (1 - t) x0 + t x1`, the marginal velocity
`E[x1 - x0 | x_t] = mu + k(t) (x_t - t mu)`, `k(t) = (t s^2 - (1 - t)) / ((1 - t)^2 + t^2 s^2)`,
carries `N(0, I)` at `t = 0` to `N(t mu, (1 - t)^2 + t^2 s^2)` at `t`. The flow
is affine in its starting point, and so is every solver's output: its mean
and standard deviations are read exactly off two starting points.
"""

import numpy as np
import pytest
from keras import ops

from artifex_keras import samplers
from artifex_keras.samplers import ODEEulerSampler
from artifex_keras.samplers import ODEHeunSampler
from artifex_keras.samplers import ODEMidpointSampler
from artifex_keras.samplers import ODERK4Sampler
from tests.checks.samplers import check_sampler_serialization

MU = np.array([1.0, -0.5, 0.25])
STD = np.array([0.5, 1.5, 0.2])
SOLVERS = [ODEEulerSampler, ODEHeunSampler, ODEMidpointSampler, ODERK4Sampler]


def exact_velocity(x, t):
    mu = ops.convert_to_tensor(MU.astype("float32"))
    variance = ops.convert_to_tensor((STD**2).astype("float32"))
    t = t[:, None]
    k = (t * variance - (1.0 - t)) / ((1.0 - t) ** 2 + t * t * variance)
    return mu + k * (x - t * mu)


def numpy(tensor):
    return ops.convert_to_numpy(tensor).astype(np.float64)


def moments(sampler, **kwargs):
    """Mean and standard deviations of the sampler's output for `x0 ~ N(0, I)`: it maps `x0` affinely."""
    starts = np.stack([np.zeros(3), np.ones(3)]).astype("float32")
    out = numpy(sampler.sample(exact_velocity, starts, **kwargs))
    return out[0], out[1] - out[0]


def std_error(sampler):
    mean, std = moments(sampler)
    # The mean is exact for any step size: `x - t mu` solves a homogeneous linear ODE started at 0.
    np.testing.assert_allclose(mean, MU, atol=2e-6)
    return np.abs(std - STD).max()


def reference_step(name, x, t, h):
    """One float64 NumPy step of the named solver, written out independently of the samplers."""

    def v(y, s):
        k = (s * STD**2 - (1.0 - s)) / ((1.0 - s) ** 2 + s * s * STD**2)
        return MU + k * (y - s * MU)

    if name == "ode_euler":
        return x + h * v(x, t)
    if name == "ode_heun":
        k1 = v(x, t)
        return x + h / 2 * (k1 + v(x + h * k1, t + h))
    if name == "ode_midpoint":
        return x + h * v(x + h / 2 * v(x, t), t + h / 2)
    k1 = v(x, t)
    k2 = v(x + h / 2 * k1, t + h / 2)
    k3 = v(x + h / 2 * k2, t + h / 2)
    return x + h / 6 * (k1 + 2 * k2 + 2 * k3 + v(x + h * k3, t + h))


@pytest.mark.parametrize(
    "sampler, tolerance",
    [
        # Errors of the float64 reference: 2.01e-2, 1.35e-3, 4.35e-5 and 2.68e-5; the tolerances sit just above.
        (ODEEulerSampler(steps=100), 2.1e-2),
        (ODEHeunSampler(steps=20), 1.4e-3),
        (ODEMidpointSampler(steps=20), 4.6e-5),
        (ODERK4Sampler(steps=10), 2.8e-5),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, samplers.Sampler) else str(value),
)
def test_solvers_reproduce_the_gaussian(sampler, tolerance):
    error = std_error(sampler)
    assert error < tolerance, error
    # Step for step what the method prescribes: the float64 NumPy solver, within float32 round-off.
    x = np.random.default_rng(0).standard_normal((16, 3))
    expected = x.copy()
    for k in range(sampler.steps):
        expected = reference_step(sampler.sampler_name, expected, k / sampler.steps, 1.0 / sampler.steps)
    np.testing.assert_allclose(numpy(sampler.sample(exact_velocity, x.astype("float32"))), expected, atol=2e-5)


@pytest.mark.parametrize(
    "make, steps, low, high",
    [
        (ODEEulerSampler, 20, 1.9, 2.1),
        (ODEHeunSampler, 20, 3.5, 4.0),
        # On this flow the midpoint rule's second-order error term integrates to zero: it converges at third
        # order (float64: 7.5x at 10 -> 20 steps, 8.0x at 200 -> 400).
        (ODEMidpointSampler, 10, 7.0, 8.0),
        (ODERK4Sampler, 10, 17.0, 24.0),
    ],
    ids=lambda value: getattr(value, "__name__", str(value)),
)
def test_error_falls_with_the_order_of_the_solver(make, steps, low, high):
    # Doubling the steps divides a p-th order solver's error by about 2^p (RK4 is still above 16 here).
    coarse, fine = std_error(make(steps=steps)), std_error(make(steps=2 * steps))
    assert low < coarse / fine < high, (coarse, fine)


def test_higher_order_solvers_beat_euler_at_equal_network_evaluations():
    euler = std_error(ODEEulerSampler(steps=40))
    assert std_error(ODEHeunSampler(steps=20)) < euler / 10
    assert std_error(ODEMidpointSampler(steps=20)) < euler / 10
    assert std_error(ODERK4Sampler(steps=10)) < euler / 100


def test_trajectory_follows_the_marginals():
    sampler = ODERK4Sampler(steps=10)
    starts = np.stack([np.zeros(3), np.ones(3)]).astype("float32")
    samples, trajectory = sampler.sample(exact_velocity, starts, return_trajectory=True)
    trajectory = numpy(trajectory)
    assert trajectory.shape == (11, 2, 3)
    np.testing.assert_array_equal(trajectory[0], starts)
    np.testing.assert_array_equal(trajectory[-1], numpy(samples))
    np.testing.assert_array_equal(numpy(sampler.sample(exact_velocity, starts)), trajectory[-1])
    for k in (3, 5, 8):
        t = k / 10
        np.testing.assert_allclose(trajectory[k, 0], t * MU, atol=2e-6)
        np.testing.assert_allclose(trajectory[k, 1] - trajectory[k, 0], np.hypot(1 - t, t * STD), atol=3e-5)


def test_backwards_integration_inverts_the_flow():
    sampler = ODERK4Sampler(steps=20)
    x = (MU + STD * np.random.default_rng(0).standard_normal((64, 3))).astype("float32")
    noise = sampler.sample(exact_velocity, x, t_start=1.0, t_end=0.0)
    # The inverse of the affine flow: (x - mu) / s.
    np.testing.assert_allclose(numpy(noise), (x - MU) / STD, atol=2e-4)
    np.testing.assert_allclose(numpy(sampler.sample(exact_velocity, noise)), x, atol=2e-4)
    # Half way: N(mu / 2, (1 + s^2) / 4).
    middle = numpy(ODERK4Sampler(steps=10).sample(exact_velocity, np.ones((1, 3), "float32"), t_end=0.5))
    np.testing.assert_allclose(middle[0], 0.5 * MU + 0.5 * np.hypot(1.0, STD), atol=2e-6)


@pytest.mark.parametrize("make", SOLVERS, ids=lambda cls: cls.__name__)
def test_steps_must_be_positive(make):
    for steps in (0, -3, 2.5, True):
        with pytest.raises(ValueError, match=rf"{make.__name__}: `steps` must be a positive int, got {steps!r}"):
            make(steps=steps)


def test_bad_times_raise_clear_errors():
    noise = np.zeros((1, 3), "float32")
    with pytest.raises(ValueError, match=r"ODEEulerSampler: `t_end` must be a number in \[0, 1\], got 1.5"):
        ODEEulerSampler().sample(exact_velocity, noise, t_end=1.5)
    with pytest.raises(ValueError, match=r"ODEHeunSampler: `t_start` must be a number in \[0, 1\], got nan"):
        ODEHeunSampler().sample(exact_velocity, noise, t_start=float("nan"))
    with pytest.raises(ValueError, match=r"ODERK4Sampler: `t_end` must differ from `t_start` \(0.5\), got 0.5"):
        ODERK4Sampler().sample(exact_velocity, noise, t_start=0.5, t_end=0.5)


@pytest.mark.parametrize("make", SOLVERS, ids=lambda cls: cls.__name__)
def test_samplers_serialize(make):
    sampler = make(steps=7)
    check_sampler_serialization(sampler)
    assert samplers.get(sampler.sampler_name) == make()
    assert sampler.sampler_name in samplers.list_samplers()
