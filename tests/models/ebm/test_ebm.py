"""EBM: shared model checks, the replay buffer in training, saving and chains, learning, errors."""

import keras
import numpy as np
import pytest

from artifex_keras.models import EBM
from artifex_keras.samplers import HMCSampler
from artifex_keras.samplers import MALASampler
from artifex_keras.samplers import TopKSampler
from tests.checks import run_model_checks

TINY = dict(input_shape=(2,), hidden_dims=(16, 16), buffer_size=256, mcmc_steps=5, mcmc_step_size=0.05,
            generate_steps=5, seed=0)  # fmt: skip


def two_blobs(count=512, seed=0):
    rng = np.random.default_rng(seed)
    centres = np.array([[-2.0, 0.0], [2.0, 0.0]])[rng.integers(0, 2, count)]
    return (centres + 0.3 * rng.normal(size=(count, 2))).astype("float32")


def test_ebm_model_checks(tmp_path):
    run_model_checks(EBM, TINY, two_blobs(), tmp_path=tmp_path, adversarial=True, value_range=(-4.0, 4.0))


@pytest.mark.slow
def test_conv_energy_network_trains_on_images():
    images = np.random.default_rng(0).uniform(size=(64, 8, 8, 1)).astype("float32")
    model = EBM(input_shape=(8, 8, 1), architecture="conv", hidden_dims=(4, 8), value_range=(0.0, 1.0),
                buffer_size=64, mcmc_steps=2, generate_steps=2, seed=0)  # fmt: skip
    model.compile()
    model.fit(images, epochs=1, batch_size=32, verbose=0)
    samples = model.generate(4, seed=0)
    assert samples.shape == (4, 8, 8, 1) and samples.min() >= 0.0 and samples.max() <= 1.0


def test_training_writes_chains_into_the_replay_buffer():
    model = EBM(**dict(TINY, reinit_fraction=0.0))
    before = keras.ops.convert_to_numpy(model.replay_buffer).copy()
    model.compile()
    model.fit(two_blobs(64), epochs=1, batch_size=64, verbose=0)
    after = keras.ops.convert_to_numpy(model.replay_buffer)
    changed = np.any(after != before, axis=1)
    # One batch of 64 draws indices with repeats: between 40 and 64 distinct rows change, the rest stay.
    assert 40 <= changed.sum() <= 64
    np.testing.assert_array_equal(after[~changed], before[~changed])
    # Evaluation runs chains but leaves the buffer alone.
    model.evaluate(two_blobs(64), batch_size=64, verbose=0)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(model.replay_buffer), after)


def test_generate_from_buffer_returns_refined_buffer_states():
    model = EBM(**dict(TINY, generate_from="buffer", buffer_size=8))
    buffer = keras.ops.convert_to_numpy(model.replay_buffer)
    samples = model.generate(64, seed=0, sampler=MALASampler(steps=1, step_size=1e-8))
    # A vanishing step barely moves a chain: every sample sits on a buffer state.
    distance = np.abs(samples[:, None, :] - buffer[None]).max(axis=-1).min(axis=1)
    assert distance.max() < 1e-3


def test_learning_lowers_the_energy_of_data():
    data = two_blobs(2048)
    model = EBM(**dict(TINY, hidden_dims=(32, 32), buffer_size=2048, mcmc_steps=10, mcmc_step_size=0.05))
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    model.fit(data, epochs=3, batch_size=256, verbose=0)
    noise = np.random.default_rng(1).uniform(-4, 4, size=(512, 2)).astype("float32")
    assert model.energy(data).mean() + 3.0 < model.energy(noise).mean()
    samples, acceptance = model.run_chains(noise, sampler=MALASampler(steps=50, step_size=0.05), seed=0)
    assert 0.5 < acceptance <= 1.0
    # Chains from uniform noise move towards the blobs: within 1 of a centre lie 10% of uniform
    # draws (2 pi / 64) and 8% of chains of the untrained model; short-run training gives 35-40%.
    near = np.minimum(np.linalg.norm(samples - [-2, 0], axis=1), np.linalg.norm(samples - [2, 0], axis=1)) < 1.0
    assert near.mean() > 0.25, near.mean()


def test_run_chains_is_seeded_and_accepts_any_mcmc_sampler():
    model = EBM(**TINY)
    start = two_blobs(16)
    sampler = HMCSampler(steps=3, step_size=0.1, leapfrog_steps=2)
    first, rate = model.run_chains(start, sampler=sampler, seed=4)
    second, _ = model.run_chains(start, sampler=sampler, seed=4)
    np.testing.assert_array_equal(first, second)
    assert 0.0 <= rate <= 1.0


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda m: m.generate(2, sampler=TopKSampler(k=2)), "`sampler` must be a MCMCSampler for EBM"),
        (lambda m: m.energy(np.zeros((3, 5), "float32")), "EBM.energy"),
        (lambda m: m.energy(np.full((3, 2), np.nan, "float32")), "`x` must be finite"),
        (lambda m: EBM(value_range=(1.0, -1.0)), "`value_range` must be a tuple \\(low, high\\)"),
        (lambda m: EBM(generate_from="data"), "`generate_from` must be one of 'noise', 'buffer'"),
    ],
)
def test_bad_input_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call(EBM(**TINY))
