"""The shipped PixelCNN preset: it loads, and scores Fashion-MNIST test images as its metadata records."""

import numpy as np
import pytest

import artifex_keras as ak
from artifex_keras.models import PixelCNN
from tests.checks.presets import check_preset_metric
from tests.checks.presets import check_shipped_preset


def test_pixelcnn_fashion_mnist_scores_test_images_far_below_an_independent_pixel_histogram():
    model = check_shipped_preset("pixelcnn_fashion_mnist", PixelCNN)
    x = ak.data.load("fashion_mnist", split="test", with_labels=False, limit=200)
    bits = model.bits_per_dim(x)
    assert bits.shape == (200,)
    # 4.59 bits/dim: the per-pixel histograms of the training images (an independent-pixel model).
    assert float(bits.mean()) < 4.0, float(bits.mean())
    # bits/dim is the exact log-likelihood of the 8-bit levels, per pixel.
    np.testing.assert_allclose(bits, -model.log_prob(x) / (784 * np.log(2)), rtol=1e-5)


@pytest.mark.slow
def test_pixelcnn_fashion_mnist_reproduces_its_test_bits_per_dim():
    model = ak.from_preset("pixelcnn_fashion_mnist")
    x = ak.data.load("fashion_mnist", split="test", with_labels=False)
    check_preset_metric("pixelcnn_fashion_mnist", float(model.bits_per_dim(x).mean()), "nll_bits_per_dim", rtol=1e-4)
