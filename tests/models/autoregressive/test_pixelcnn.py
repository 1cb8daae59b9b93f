"""PixelCNN: causality without a blind spot, exact log-likelihood against NumPy, sampling, training, saving."""

import math

import numpy as np
import pytest
from keras import ops

import artifex_keras as ak
from artifex_keras.models import PixelCNN
from artifex_keras.models import PixelCNNConfig
from artifex_keras.samplers import GreedySampler
from artifex_keras.samplers import TopKSampler
from tests.checks import check_config_round_trip
from tests.checks import digits
from tests.checks import run_model_checks

TINY = dict(input_shape=(8, 8, 1), filters=8, num_layers=3, kernel_size=3, num_classes=10, seed=0)


def numpy(tensor):
    return np.asarray(ops.convert_to_numpy(tensor), dtype=np.float64)


@pytest.fixture(scope="module")
def model():
    return PixelCNN(**TINY)


def test_each_pixel_sees_every_earlier_pixel_in_reach_and_no_later_one(model):
    x, y = digits(limit=1, with_labels=True)
    # Row 8 * i + j of the batch flips pixel (i, j) of the image; the last row is the image itself.
    batch = np.repeat(x, 65, axis=0)
    flat = batch.reshape(65, 64)
    flat[np.arange(64), np.arange(64)] = np.where(flat[np.arange(64), np.arange(64)] > 0.5, 0.0, 1.0)
    logits = numpy(model((flat.reshape(65, 8, 8, 1), np.repeat(y, 65))))
    row, column = 3, 3
    change = np.abs(logits[:64, row, column] - logits[64, row, column]).max(-1).reshape(8, 8)
    # The pixel itself and every later pixel leave its logits exactly unchanged.
    assert np.all(change.reshape(-1)[8 * row + column :] == 0.0), change
    # No blind spot: three 3x3 layers reach three rows up and three columns either side,
    # including the up-right pixels that a masked-convolution PixelCNN never sees.
    for i, j in [(2, 4), (2, 5), (2, 6), (1, 5), (0, 6), (3, 0), (3, 2), (0, 0)]:
        assert change[i, j] > 1e-6, (i, j)
    assert change[0, 7] == 0.0  # beyond the receptive field


def test_log_prob_is_the_exact_categorical_likelihood(model):
    x, y = digits(limit=6, with_labels=True)
    logits = numpy(model((x, y)))
    shifted = logits - logits.max(-1, keepdims=True)
    log_softmax = shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))
    levels = np.round(x[..., 0].astype(np.float64) * 255).astype(int)
    expected = np.take_along_axis(log_softmax, levels[..., None], -1).sum(axis=(1, 2, 3))
    np.testing.assert_allclose(model.log_prob(x, labels=y, batch_size=4), expected, rtol=1e-5)
    np.testing.assert_allclose(model.bits_per_dim(x, labels=y, batch_size=4), -expected / (64 * math.log(2)), rtol=1e-5)
    # The labels condition the likelihood.
    assert not np.allclose(model.log_prob(x, labels=(y + 1) % 10, batch_size=4), expected)


def test_greedy_sampling_follows_the_logits(model):
    labels = np.array([3, 7])
    samples = model.generate(2, labels=labels, sampler=GreedySampler(), seed=0)
    assert samples.shape == (2, 8, 8, 1) and samples.dtype == np.float32
    levels = np.round(samples * 255)
    np.testing.assert_allclose(levels, samples * 255, atol=1e-4)
    # Each greedy pixel is the argmax of the logits given the pixels drawn before it.
    np.testing.assert_array_equal(levels[..., 0], numpy(model((samples, labels))).argmax(-1))


def test_bad_input_gets_clear_errors(model):
    x, y = digits(limit=4, with_labels=True)
    with pytest.raises(ValueError, match=r"PixelCNN.log_prob: `labels` is required"):
        model.log_prob(x)
    with pytest.raises(ValueError, match=r"`x` must lie in \[0.0, 1.0\]"):
        model.log_prob(x * 2, labels=y)
    with pytest.raises(ValueError, match=r"TopKSampler `k` must be at most the number of categories \(256\)"):
        model.generate(1, labels=[0], sampler=TopKSampler(k=300))
    with pytest.raises(ValueError, match=r"`input_shape` must be \(height, width, 1\)"):
        PixelCNNConfig(input_shape=(8, 8, 3))
    with pytest.raises(ValueError, match=r"`kernel_size` must be an odd int of at least 3, got 4"):
        PixelCNNConfig(kernel_size=4)


@pytest.mark.slow
def test_pixelcnn_model_checks(tmp_path):
    check_config_round_trip(PixelCNN, TINY)
    run_model_checks(
        PixelCNN,
        TINY,
        digits(with_labels=True),
        generate_kwargs={"labels": np.arange(5)},
        tmp_path=tmp_path,
        value_range=(0.0, 1.0),
        epochs=3,
    )
    assert "pixelcnn" in ak.list_models()
