"""DDPM on sequences: a 1-D UNet, trained on sine waves and sampled with every diffusion sampler."""

import keras
import numpy as np
import pytest

from artifex_keras.layers import UNet1D
from artifex_keras.models import DDPM
from artifex_keras.samplers import DDIMSampler
from artifex_keras.samplers import DDPMSampler
from artifex_keras.samplers import DPMSolverSampler
from artifex_keras.samplers import EulerSampler
from artifex_keras.samplers import HeunSampler
from tests.checks.saving import check_keras_round_trip

LENGTH = 32
# One UNet level (attention in its middle) keeps the compiled steps small; the layer tests cover deeper UNets.
WAVES = dict(
    input_shape=(LENGTH, 1),
    channels=(8,),
    num_res_blocks=1,
    attention_levels=(0,),
    head_dim=8,
    num_groups=4,
    num_timesteps=50,
    ema_decay=None,
    sampling_steps=3,
    rescale=False,
    seed=0,
)


def sine_waves(count, seed=0):
    """`sin(2 pi k / 16 + phase)` over 32 steps, a random phase per wave: `(count, 32, 1)` in [-1, 1]."""
    phase = np.random.default_rng(seed).uniform(0.0, 2.0 * np.pi, (count, 1))
    return np.sin(2.0 * np.pi * np.arange(LENGTH) / 16.0 + phase)[..., None].astype("float32")


@pytest.fixture(scope="module")
def waves():
    model = DDPM(**WAVES)
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    history = model.fit(sine_waves(64), epochs=3, batch_size=32, verbose=0).history["loss"]
    assert np.all(np.isfinite(history)) and history[-1] < history[0], history
    return model


def test_sequences_get_a_1d_unet(waves):
    assert isinstance(waves.denoiser, UNet1D) and waves.data_shape == (LENGTH, 1)


SAMPLERS = [DDIMSampler(steps=3), DDPMSampler(steps=3), DPMSolverSampler(steps=3), EulerSampler(steps=2),
            HeunSampler(steps=2)]  # fmt: skip


@pytest.mark.parametrize("sampler", SAMPLERS, ids=lambda sampler: type(sampler).__name__)
def test_every_sampler_draws_sequences(waves, sampler):
    samples = waves.generate(3, seed=1, sampler=sampler)
    assert samples.shape == (3, LENGTH, 1) and samples.dtype == np.float32 and np.all(np.isfinite(samples))
    np.testing.assert_array_equal(waves.generate(3, seed=1, sampler=sampler), samples)
    if isinstance(sampler, (DDIMSampler, DDPMSampler)):
        assert not np.array_equal(waves.generate(3, seed=2, sampler=sampler), samples)


def test_trajectory_and_keras_file(waves, tmp_path):
    samples, trajectory = waves.generate(2, seed=3, return_trajectory=True)
    assert trajectory.shape == (4, 2, LENGTH, 1)
    np.testing.assert_allclose(trajectory[-1], samples, atol=1e-6)
    loaded = check_keras_round_trip(waves, sine_waves(4), tmp_path)
    assert isinstance(loaded.denoiser, UNet1D)


def test_sequence_shapes_are_checked():
    with pytest.raises(ValueError, match=r"DDPMConfig: `input_shape` must be a shape whose length is divisible by "
                                         r"2 \*\* \(len\(channels\) - 1\) = 4, got \(30, 1\)"):  # fmt: skip
        DDPM(**dict(WAVES, input_shape=(30, 1), channels=(8, 8, 8)))
    with pytest.raises(ValueError, match=r"DDPMConfig: `input_shape` must be \(height, width, channels\) of images or "
                                         r"\(length, channels\) of sequences, got \(32,\)"):  # fmt: skip
        DDPM(**dict(WAVES, input_shape=(32,)))
    model = DDPM(**WAVES)
    with pytest.raises(ValueError, match=r"DDPM.fit: `x` must have shape \(batch, 32, 1\), got shape \(4, 32\)"):
        model.fit(np.zeros((4, LENGTH), "float32"), epochs=1, verbose=0)
