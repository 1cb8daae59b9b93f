"""PSNR, SSIM and MS-SSIM per image."""

import keras
import numpy as np
import pytest

from artifex_keras.metrics import ms_ssim
from artifex_keras.metrics import psnr
from artifex_keras.metrics import ssim


@pytest.fixture(scope="module")
def images():
    rng = np.random.default_rng(0)
    # Smooth images (a blurred random field), so SSIM has structure to compare.
    field = rng.random((3, 24, 24, 2))
    for axis in (1, 2):
        field = (field + np.roll(field, 1, axis=axis) + np.roll(field, -1, axis=axis)) / 3.0
    return field


def test_psnr(images):
    assert np.all(np.isinf(psnr(images, images)))
    np.testing.assert_allclose(psnr(images, images + 0.1), 20.0)
    np.testing.assert_allclose(psnr(images * 255, images * 255 + 25.5, max_value=255.0), 20.0)


def test_ssim_of_itself_is_one_and_noise_lowers_it(images):
    np.testing.assert_allclose(ssim(images, images), 1.0)
    noisy = images + np.random.default_rng(1).normal(0.0, 0.1, size=images.shape)
    values = ssim(images, noisy)
    assert values.shape == (3,) and np.all(values < 0.9)
    assert np.all(ssim(images, images + np.random.default_rng(2).normal(0.0, 0.01, size=images.shape)) > values)


def test_ssim_shrinks_the_window_for_small_images():
    a = np.random.default_rng(3).random((2, 5, 7, 1))
    np.testing.assert_allclose(ssim(a, a), 1.0)
    assert np.all(ssim(a, 1.0 - a) < 1.0)


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="compares with tf.image")
def test_ssim_and_ms_ssim_match_tensorflow(images):
    import tensorflow as tf

    noisy = np.clip(images + np.random.default_rng(4).normal(0.0, 0.05, size=images.shape), 0, 1)
    expected = tf.image.ssim(tf.constant(images), tf.constant(noisy), max_val=1.0).numpy()
    np.testing.assert_allclose(ssim(images, noisy), expected, rtol=1e-6)
    # 192 is divisible by 2^4, so TensorFlow's padding of odd sizes never comes into play.
    big, big_noisy = (np.repeat(np.repeat(x, 8, axis=1), 8, axis=2) for x in (images, noisy))
    expected = tf.image.ssim_multiscale(tf.constant(big), tf.constant(big_noisy), max_val=1.0).numpy()
    # TensorFlow computes in float32, which shows at the coarse scales.
    np.testing.assert_allclose(ms_ssim(big, big_noisy), expected, rtol=1e-4)


def test_ms_ssim_of_itself_is_one(images):
    big = np.repeat(np.repeat(images[:1], 8, axis=1), 8, axis=2)  # 192 x 192
    np.testing.assert_allclose(ms_ssim(big, big), 1.0)
    assert ms_ssim(big, big + np.random.default_rng(5).normal(0.0, 0.1, size=big.shape))[0] < 1.0
    np.testing.assert_allclose(ms_ssim(images, images, filter_size=5, weights=(0.5, 0.5)), 1.0)


def test_bad_inputs_name_the_argument(images):
    with pytest.raises(ValueError, match=r"ms_ssim: images of 24x24 are too small for 5 scales .* at most 2 `weights`"):
        ms_ssim(images, images)
    with pytest.raises(ValueError, match=r"ssim: `a` must be a batch of channels-last images \(N, H, W, C\)"):
        ssim(images[..., 0], images[..., 0])
    with pytest.raises(ValueError, match=r"psnr: `a` and `b` must have the same shape"):
        psnr(images, images[:2])
    with pytest.raises(ValueError, match="ssim: `filter_size` must be a positive int, got 0"):
        ssim(images, images, filter_size=0)
