import math

import keras
import numpy as np
import pytest
from scipy.special import ndtri

from artifex_keras.bijectors import VariationalDequantization
from artifex_keras.models.flows import RealNVP
from tests.checks import digits
from tests.checks.layers import check_layer

IMAGE = dict(input_shape=(8, 8, 1), hidden_units=(4,), num_transforms=2, num_scales=2, seed=0)


def _numpy(value):
    return np.asarray(keras.ops.convert_to_numpy(value), dtype="float64")


def _randomised(filters=4, channels=1, seed=0):
    """A dequantiser whose head is not zero, so that mu and sigma vary from pixel to pixel."""
    layer = VariationalDequantization(filters=filters)
    layer.build((None, 6, 6, channels))
    rng = np.random.default_rng(seed)
    layer.head.kernel.assign(0.3 * rng.standard_normal(layer.head.kernel.shape).astype("float32"))
    layer.head.bias.assign(0.2 * rng.standard_normal(layer.head.bias.shape).astype("float32"))
    return layer


def test_log_q_is_the_logistic_normal_density_of_the_noise():
    layer = _randomised()
    rng = np.random.default_rng(1)
    x = (rng.integers(0, 256, (3, 6, 6, 1)) / 255).astype("float32")
    noise = rng.uniform(0.01, 0.99, x.shape).astype("float32")
    y, log_q = layer.dequantize_with_log_q(x, noise=noise)
    mu, log_sigma = (_numpy(v) for v in layer.noise_parameters(x))
    eps = ndtri(noise.astype("float64"))
    logits = mu + np.exp(log_sigma) * eps
    u = 1 / (1 + np.exp(-logits))
    expected = -0.5 * eps**2 - 0.5 * math.log(2 * math.pi) - log_sigma - np.log(u * (1 - u))
    np.testing.assert_allclose(_numpy(log_q), expected.reshape(3, -1).sum(1), rtol=1e-4)
    levels = np.round(x * 255)
    np.testing.assert_allclose(_numpy(y), (levels + u) / 256, atol=1e-6)
    np.testing.assert_array_equal(np.floor(_numpy(y) * 256), levels)  # each value stays in its pixel's bin


def test_q_integrates_to_one_over_the_bin():
    layer = _randomised(seed=2)
    x = np.full((1, 6, 6, 1), 100 / 255, "float32")
    probabilities = np.linspace(1e-6, 1 - 1e-6, 4001)
    u_values, densities = [], []
    for p in np.array_split(probabilities, 8):
        noise = np.broadcast_to(p[:, None, None, None], (len(p), 6, 6, 1)).astype("float32")
        y, _ = layer.dequantize_with_log_q(np.repeat(x, len(p), axis=0), noise=noise)
        mu, log_sigma = (_numpy(v)[0, 0, 0, 0] for v in layer.noise_parameters(x))
        u = _numpy(y)[:, 0, 0, 0] * 256 - 100
        eps = ndtri(p)
        u_values.append(u)
        densities.append(np.exp(-0.5 * eps**2) / math.sqrt(2 * math.pi) / np.exp(log_sigma) / (u * (1 - u)))
    u, q = np.concatenate(u_values), np.concatenate(densities)
    assert np.all(np.diff(u) >= 0)
    assert abs(np.trapezoid(q, u) - 1.0) < 2e-3


def test_an_untrained_dequantiser_draws_sigmoid_of_a_standard_normal():
    layer = VariationalDequantization()
    x = digits(4)
    _, log_q = layer.dequantize_with_log_q(x, noise=0.5)
    # eps = 0, u = 1/2: log q = log N(0) - log(1/4) per pixel.
    np.testing.assert_allclose(_numpy(log_q), 64 * (math.log(4) - 0.5 * math.log(2 * math.pi)), rtol=1e-6)
    check_layer(layer, x)


def test_a_flow_subtracts_log_q_and_trains_the_dequantiser():
    model = RealNVP(**IMAGE, dequantization="variational", dequantization_filters=4)
    x = digits(64)
    y, log_q = model.continuous(keras.ops.convert_to_tensor(x[:8]), noise=0.5)
    expected = _numpy(model.log_density(y)) - _numpy(log_q)
    np.testing.assert_allclose(_numpy(model(x[:8])), expected, rtol=1e-5)
    head = _numpy(model.dequantizer.head.kernel)
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    model.fit(x, epochs=2, batch_size=32, verbose=0)
    assert not np.allclose(_numpy(model.dequantizer.head.kernel), head)
    bits = model.bits_per_dim(x[:8])
    np.testing.assert_allclose(bits, (-model.log_prob(x[:8]) + 64 * math.log(256)) / (64 * math.log(2)), rtol=1e-6)


def test_keras_round_trip_keeps_the_dequantiser(tmp_path):
    model = RealNVP(**IMAGE, dequantization="variational", dequantization_filters=4)
    model.dequantizer.head.kernel.assign(0.1 * np.ones(model.dequantizer.head.kernel.shape, "float32"))
    path = tmp_path / "flow.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    x = digits(8)
    np.testing.assert_allclose(loaded.log_prob(x, seed=3), model.log_prob(x, seed=3), rtol=1e-6)


def test_bad_dequantization_settings():
    with pytest.raises(ValueError, match=r"RealNVPConfig: `dequantization` must be one of 'uniform', 'variational'"):
        RealNVP(**IMAGE, dequantization="gaussian")
    with pytest.raises(ValueError, match=r"RealNVPConfig: `dequantization` must be \"uniform\" for vector data"):
        RealNVP(input_shape=(2,), dequantization="variational")
    with pytest.raises(ValueError, match=r"VariationalDequantization: `filters` must be a positive int, got 0"):
        VariationalDequantization(filters=0)
