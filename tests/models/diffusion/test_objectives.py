"""Prediction targets, loss weightings and timestep sampling against closed forms."""

import keras
import numpy as np
import pytest
from keras import ops

from artifex_keras.models.diffusion import objectives
from artifex_keras.samplers import LinearSchedule


def numpy(tensor):
    return ops.convert_to_numpy(tensor)


@pytest.fixture
def noisy():
    rng = np.random.default_rng(0)
    x0 = rng.standard_normal((6, 4, 4, 2)).astype("float32")
    noise = rng.standard_normal((6, 4, 4, 2)).astype("float32")
    t = np.array([0, 10, 200, 500, 900, 999])
    schedule = LinearSchedule(1000)
    alpha, sigma = schedule.signal_and_noise(t)
    return x0, noise, alpha, sigma, schedule.add_noise(x0, noise, t), numpy(schedule.snr(t))


@pytest.mark.parametrize("prediction", ["epsilon", "x0", "v"])
def test_each_target_converts_back_to_x0_and_noise(noisy, prediction):
    x0, noise, alpha, sigma, x_t, _ = noisy
    target = objectives.prediction_target(prediction, x0, noise, alpha, sigma)
    recovered_x0, recovered_noise = objectives.predicted_x0_and_noise(prediction, target, x_t, alpha, sigma)
    # Dividing by alpha_T ~ 0.006 (epsilon) or sigma_0 ~ 0.01 (x0) amplifies float32 rounding.
    np.testing.assert_allclose(numpy(recovered_x0), x0, atol=2e-3 if prediction == "epsilon" else 2e-5)
    np.testing.assert_allclose(numpy(recovered_noise), noise, atol=2e-3 if prediction == "x0" else 2e-5)


def test_v_target_closed_form(noisy):
    x0, noise, alpha, sigma, _, _ = noisy
    v = numpy(objectives.prediction_target("v", x0, noise, alpha, sigma))
    a, s = numpy(alpha)[:, None, None, None], numpy(sigma)[:, None, None, None]
    np.testing.assert_allclose(v, a * noise - s * x0, atol=1e-6)


@pytest.mark.parametrize("weighting", ["snr", "min_snr", "edm"])
def test_weighted_losses_agree_across_targets(noisy, weighting):
    # For one x0 estimate, each target's weighted squared error is the same x0-space loss.
    x0, noise, alpha, sigma, x_t, snr = noisy
    x0_hat = x0 + 0.1 * np.random.default_rng(1).standard_normal(x0.shape).astype("float32")
    a, s = numpy(alpha)[:, None, None, None], numpy(sigma)[:, None, None, None]
    eps_hat = (numpy(x_t) - a * x0_hat) / s
    outputs = {"x0": x0_hat, "epsilon": eps_hat, "v": a * eps_hat - s * x0_hat}
    losses = {}
    for prediction, output in outputs.items():
        target = numpy(objectives.prediction_target(prediction, x0, noise, alpha, sigma))
        weight = numpy(objectives.loss_weight(weighting, prediction, snr, min_snr_gamma=5.0, sigma_data=0.5))
        losses[prediction] = weight * ((output.astype(float) - target) ** 2).sum(axis=(1, 2, 3))
    x0_weight = {"snr": snr, "min_snr": np.minimum(snr, 5.0), "edm": snr + 4.0}[weighting]
    expected = x0_weight * ((x0_hat.astype(float) - x0) ** 2).sum(axis=(1, 2, 3))
    for prediction, loss in losses.items():
        np.testing.assert_allclose(loss, expected, rtol=2e-3, err_msg=prediction)


def test_weighting_closed_forms():
    snr = np.array([1e-4, 0.5, 5.0, 30.0, 1e4], "float32")
    weight = objectives.loss_weight
    np.testing.assert_allclose(numpy(weight("uniform", "v", snr)), 1.0)
    np.testing.assert_allclose(numpy(weight("min_snr", "epsilon", snr, 5.0)), np.minimum(snr, 5.0) / snr, rtol=1e-6)
    np.testing.assert_allclose(numpy(weight("min_snr", "v", snr, 5.0)), np.minimum(snr, 5.0) / (snr + 1), rtol=1e-6)
    np.testing.assert_allclose(numpy(weight("snr", "epsilon", snr)), 1.0, rtol=1e-6)
    # EDM's lambda(sigma) = (sigma^2 + sigma_data^2) / (sigma sigma_data)^2 with sigma^2 = 1 / SNR.
    sigma2 = 1.0 / snr.astype(float)
    edm = (sigma2 + 0.25) / (sigma2 * 0.25)
    np.testing.assert_allclose(numpy(weight("edm", "x0", snr, sigma_data=0.5)), edm, rtol=1e-5)
    np.testing.assert_allclose(numpy(weight("edm", "v", snr, sigma_data=1.0)), 1.0, rtol=1e-5)
    with pytest.raises(ValueError, match=r"loss_weight: `weighting` must be one of 'uniform', 'snr', 'min_snr', 'edm'"):
        weight("p2", "v", snr)


def test_timestep_sampling_distributions():
    generator = keras.random.SeedGenerator(0)
    uniform = numpy(objectives.sample_timesteps("uniform", 10, 20000, generator))
    assert uniform.dtype == np.float32 and set(np.unique(uniform)) == set(range(10))
    np.testing.assert_allclose(np.bincount(uniform.astype(int)) / 20000, 0.1, atol=5 * np.sqrt(0.09 / 20000))
    t = numpy(objectives.sample_timesteps("logit_normal", 1000, 20000, generator, logit_mean=0.5, logit_std=0.8))
    assert t.min() >= 0 and t.max() <= 999
    logits = np.log(t / 999) - np.log1p(-t / 999)
    np.testing.assert_allclose([logits.mean(), logits.std()], [0.5, 0.8], atol=5 * 0.8 / np.sqrt(20000) + 1e-3)
    with pytest.raises(ValueError, match=r"sample_timesteps: `kind` must be one of 'uniform', 'logit_normal'"):
        objectives.sample_timesteps("beta", 10, 4, generator)
