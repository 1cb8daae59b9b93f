"""Noise schedules against their closed forms, and the moments of q(x_t | x_0)."""

import keras
import numpy as np
import pytest
from keras import ops

from artifex_keras.samplers import CosineSchedule
from artifex_keras.samplers import LinearSchedule
from artifex_keras.samplers import SigmoidSchedule
from artifex_keras.samplers import schedules

ALL = [LinearSchedule(1000), CosineSchedule(1000), SigmoidSchedule(1000, start=-3.0, end=3.0, tau=0.7)]


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def test_linear_schedule_closed_form():
    schedule = LinearSchedule(1000, beta_start=1e-4, beta_end=0.02)
    betas = 1e-4 + (0.02 - 1e-4) * np.arange(1000) / 999
    np.testing.assert_allclose(schedule.betas, betas, rtol=1e-12)
    # log alpha_bar_t = sum log(1 - beta_s): a product of 1000 terms, checked as a sum.
    np.testing.assert_allclose(np.log(schedule.alphas_cumprod), np.cumsum(np.log1p(-betas)), rtol=1e-12)
    assert schedule.alphas_cumprod.dtype == np.float64
    np.testing.assert_allclose(schedule.alphas_cumprod[-1], 4.035e-5, rtol=1e-3)  # DDPM's alpha_bar_T


def test_cosine_schedule_closed_form():
    schedule = CosineSchedule(1000, offset=0.008)
    u = (np.arange(1000) + 1) / 1000

    def f(v):
        return np.cos((v + 0.008) / 1.008 * np.pi / 2) ** 2

    expected = f(u) / f(0.0)
    unclipped = schedule.betas < 0.999
    assert unclipped[:-1].all() and not unclipped[-1]  # only the last beta hits the clip
    np.testing.assert_allclose(schedule.alphas_cumprod[:-1], expected[:-1], rtol=1e-10)
    np.testing.assert_allclose(schedule.betas[-1], 0.999)


def test_sigmoid_schedule_closed_form():
    start, end, tau = -3.0, 3.0, 0.7
    schedule = SigmoidSchedule(1000, start=start, end=end, tau=tau)
    u = (np.arange(1000) + 1) / 1000
    low, high = sigmoid(start / tau), sigmoid(end / tau)
    expected = (high - sigmoid((u * (end - start) + start) / tau)) / (high - low)
    unclipped = schedule.betas < 0.999
    np.testing.assert_allclose(schedule.alphas_cumprod[unclipped], expected[unclipped], rtol=1e-10)
    assert unclipped.sum() >= 995


@pytest.mark.parametrize("schedule", ALL, ids=lambda s: type(s).__name__)
def test_tensor_views_match_the_float64_tables(schedule):
    t = np.array([0, 1, 250, 500, 998, 999])
    alpha, sigma = (ops.convert_to_numpy(v) for v in schedule.signal_and_noise(t))
    bar = schedule.alphas_cumprod[t]
    np.testing.assert_allclose(alpha, np.sqrt(bar), rtol=2e-6)
    np.testing.assert_allclose(sigma, np.sqrt(1 - bar), rtol=2e-6)
    np.testing.assert_allclose(ops.convert_to_numpy(schedule.snr(t)), bar / (1 - bar), rtol=1e-5)
    np.testing.assert_allclose(ops.convert_to_numpy(schedule.alpha_cumprod(t)), bar, rtol=1e-5, atol=1e-9)
    np.testing.assert_allclose(ops.convert_to_numpy(schedule.edm_sigma(t)), np.sqrt((1 - bar) / bar), rtol=2e-6)
    np.testing.assert_allclose(alpha**2 + sigma**2, 1.0, atol=1e-6)


@pytest.mark.parametrize("schedule", ALL, ids=lambda s: type(s).__name__)
def test_fractional_timesteps_interpolate_log_sigma_and_invert(schedule):
    t = np.array([0.25, 10.5, 499.9, 998.75])
    low, high = np.floor(t).astype(int), np.ceil(t).astype(int)
    weight = t - low
    log_sigma = (1 - weight) * schedule.log_edm_sigmas[low] + weight * schedule.log_edm_sigmas[high]
    np.testing.assert_allclose(schedule.sigma_at(t), np.exp(log_sigma), rtol=1e-12)
    np.testing.assert_allclose(ops.convert_to_numpy(schedule.edm_sigma(t)), np.exp(log_sigma), rtol=5e-6)
    np.testing.assert_allclose(schedule.timestep_from_sigma(schedule.sigma_at(t)), t, rtol=1e-10)
    np.testing.assert_array_equal(schedule.sigma_at([-1]), [0.0])
    np.testing.assert_array_equal(schedule.alphas_cumprod_at([-1]), [1.0])


@pytest.mark.parametrize("schedule", ALL, ids=lambda s: type(s).__name__)
def test_moments_of_q_xt_given_x0(schedule):
    draws = 50000
    x0 = np.array([0.8, -1.5, 0.1], "float32")
    for step in (0, 300, 999):
        noise = keras.random.normal((draws, 3), seed=step)
        t = np.full((draws,), step)
        x_t = ops.convert_to_numpy(schedule.add_noise(np.tile(x0, (draws, 1)), noise, t)).astype(float)
        bar = schedule.alphas_cumprod[step]
        std = np.sqrt(1 - bar)
        # Five standard errors: of the mean, std / sqrt(n); of the variance, about sqrt(2 / n) var.
        np.testing.assert_allclose(x_t.mean(0), np.sqrt(bar) * x0, atol=5 * std / np.sqrt(draws) + 1e-6)
        np.testing.assert_allclose(x_t.var(0), 1 - bar, rtol=5 * np.sqrt(2 / draws), atol=1e-9)


@pytest.mark.parametrize("schedule", ALL, ids=lambda s: type(s).__name__)
def test_schedules_serialize(schedule):
    assert schedules.get(schedules.serialize(schedule)) == schedule
    assert type(schedule).from_config(schedule.get_config()) == schedule
    assert keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(schedule)) == schedule
    assert schedules.get(schedule.schedule_name) == type(schedule)()
    assert set(schedules.list_schedules()) >= {"linear", "cosine", "sigmoid"}


def test_bad_schedule_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match=r"LinearSchedule: `num_timesteps` must be a positive int, got 0"):
        LinearSchedule(0)
    with pytest.raises(ValueError, match=r"LinearSchedule: `beta_end` must be a number in \(0.0, 1.0\), got 1.5"):
        LinearSchedule(beta_end=1.5)
    with pytest.raises(ValueError, match=r"SigmoidSchedule: `end` must be larger than `start` \(2.0\), got 1.0"):
        SigmoidSchedule(start=2.0, end=1.0)
    with pytest.raises(ValueError, match=r"unknown schedule 'cosin'. Did you mean 'cosine'"):
        schedules.get("cosin")
