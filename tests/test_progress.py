"""`generate(..., progress=True)`: a bar step per sampling step on PyTorch, per batch on JAX and TensorFlow."""

import re

import numpy as np
import pytest

from artifex_keras.backend import LOOPS_RUN_IN_PYTHON
from artifex_keras.models import DDPM
from artifex_keras.models import VAE
from artifex_keras.samplers import DDIMSampler
from tests.checks.diffusion import TINY_UNET

DIFFUSION = dict(TINY_UNET, num_timesteps=50, ema_decay=None, seed=0)


def bar_counts(text):
    """The `(current, target)` pairs a `keras.utils.Progbar` printed, in order."""
    return [(int(current), int(target)) for current, target in re.findall(r"(\d+)/(\d+)", text)]


def test_the_bar_counts_sampling_steps_where_the_loop_steps_in_python(capsys):
    model = DDPM(**DIFFUSION)
    sampler = DDIMSampler(steps=4)
    quiet = model.generate(5, seed=0, batch_size=3, sampler=sampler)
    assert bar_counts(capsys.readouterr().out) == []
    shown = model.generate(5, seed=0, batch_size=3, sampler=sampler, progress=True)
    np.testing.assert_array_equal(shown, quiet)
    # Two batches (3 + 2 samples) of 4 DDIM steps.
    expected = [(step, 8) for step in range(1, 9)] if LOOPS_RUN_IN_PYTHON else [(1, 2), (2, 2)]
    assert bar_counts(capsys.readouterr().out) == expected
    labelled = DDPM(**dict(DIFFUSION, num_classes=3))
    labels = np.array([0, 1, 2, 0])
    quiet = labelled.generate(4, seed=1, sampler=sampler, labels=labels, guidance_scale=2.0)
    shown = labelled.generate(4, seed=1, sampler=sampler, labels=labels, guidance_scale=2.0, progress=True)
    np.testing.assert_array_equal(shown, quiet)
    assert bar_counts(capsys.readouterr().out) == ([(step, 4) for step in range(1, 5)] if LOOPS_RUN_IN_PYTHON
                                                   else [(1, 1)])  # fmt: skip


def test_a_model_without_a_sampling_loop_counts_batches(capsys):
    model = VAE(input_shape=(8, 8, 1), latent_dim=3, hidden_dims=(8,), seed=0)
    quiet = model.generate(7, seed=0, batch_size=3)
    shown = model.generate(7, seed=0, batch_size=3, progress=True)
    np.testing.assert_array_equal(shown, quiet)
    assert bar_counts(capsys.readouterr().out) == [(1, 3), (2, 3), (3, 3)]


def test_progress_must_be_a_bool():
    with pytest.raises(ValueError, match=r"DDPM.generate: `progress` must be a bool, got 'yes'"):
        DDPM(**DIFFUSION).generate(2, progress="yes")
    with pytest.raises(ValueError, match=r"VAE.generate: `progress` must be a bool, got 1"):
        VAE(input_shape=(8, 8, 1), latent_dim=3, hidden_dims=(8,)).generate(2, progress=1)
