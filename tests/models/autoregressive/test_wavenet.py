"""WaveNet: the fast path equals the full network step for step, causality, exact likelihood, mu-law, errors."""

import numpy as np
import pytest
from keras import ops

from artifex_keras.data import audio_windows
from artifex_keras.data import load
from artifex_keras.models import WaveNet
from artifex_keras.models.autoregressive.mu_law import mu_law_decode
from artifex_keras.models.autoregressive.mu_law import mu_law_encode
from artifex_keras.samplers import GreedySampler
from artifex_keras.samplers import RandomSampler
from artifex_keras.samplers import TopKSampler
from tests.checks import run_model_checks

LENGTH = 24
TINY = dict(input_shape=(LENGTH,), residual_channels=8, skip_channels=8, dilations=(1, 2, 4), quantization_channels=16,
            seed=0)  # fmt: skip


def speech(count=64, length=LENGTH):
    """Real speech: short windows of the test split's first window, scaled up to use the codes."""
    waveform = load("speech", split="test", with_labels=False, limit=1)[0]
    return np.clip(audio_windows(waveform, length)[:count] * 4.0, -1.0, 1.0)


def numpy(value):
    return np.asarray(ops.convert_to_numpy(value))


@pytest.mark.slow
def test_wavenet_model_checks(tmp_path):
    run_model_checks(WaveNet, TINY, speech(), tmp_path=tmp_path, value_range=(-1.0, 1.0), learning_rate=1e-2)


@pytest.mark.parametrize("kernel_size, dilations", [(2, (1, 2, 4)), (3, (1, 3, 2))])
def test_fast_step_equals_the_full_network(kernel_size, dilations):
    model = WaveNet(**dict(TINY, kernel_size=kernel_size, dilations=dilations))
    inputs = np.random.default_rng(0).integers(0, 16, size=(3, LENGTH)).astype("int32")
    full = numpy(model.logits(inputs))
    queues, steps = model.empty_queues(3), []
    for t in range(LENGTH):
        logits, queues = model.fast_logits(ops.convert_to_tensor(inputs[:, t]), queues, model._label_vectors(None))
        steps.append(numpy(logits))
    np.testing.assert_allclose(np.stack(steps, axis=1), full, rtol=0, atol=1e-5)


@pytest.mark.parametrize("sampler", [GreedySampler(), RandomSampler(temperature=1.0)], ids=["greedy", "random"])
def test_cached_generation_draws_the_same_samples_as_the_slow_path(sampler):
    model = WaveNet(**dict(TINY, num_classes=3))
    labels = np.array([0, 1, 2, 2])
    fast = model.generate(4, seed=5, sampler=sampler, labels=labels)
    slow = model.generate(4, seed=5, sampler=sampler, labels=labels, use_cache=False)
    np.testing.assert_array_equal(fast, slow)
    if isinstance(sampler, RandomSampler):
        assert len(np.unique(fast)) > 4


def test_receptive_field_and_causality():
    model = WaveNet(**TINY)
    field = model.receptive_field
    assert field == (2 - 1) * (1 + 1 + 2 + 4) + 1
    inputs = np.random.default_rng(1).integers(0, 16, size=(1, LENGTH)).astype("int32")
    base = numpy(model.logits(inputs))[0]
    t = LENGTH - 4
    for position, changes in ((t + 1, False), (t - field, False), (t - field + 1, True), (t, True)):
        edited = inputs.copy()
        edited[0, position] = (edited[0, position] + 5) % 16
        moved = np.abs(numpy(model.logits(edited))[0, t] - base[t]).max() > 1e-6
        assert moved == changes, (position, moved)


def test_log_prob_is_the_sum_of_the_next_code_log_softmax():
    model = WaveNet(**TINY)
    x = speech(5)
    inputs, targets = (numpy(v) for v in model.shifted_codes(x))
    logits = numpy(model.logits(inputs)).astype(np.float64)
    log_softmax = logits - np.log(np.exp(logits).sum(axis=-1, keepdims=True))
    expected = np.take_along_axis(log_softmax, targets[..., None], axis=-1)[..., 0].sum(axis=1)
    np.testing.assert_allclose(model.log_prob(x, batch_size=2), expected, rtol=1e-5)
    loss, _ = model.compute_generative_loss(ops.convert_to_tensor(x))
    np.testing.assert_allclose(float(numpy(loss)), -expected.mean() / LENGTH, rtol=1e-5)


def test_mu_law_against_the_formula():
    x = np.array([-1.0, -0.5, -0.01, 0.0, 0.002, 0.3, 1.0, 1.5])
    mu = 255.0
    compressed = np.sign(x) * np.log1p(mu * np.minimum(np.abs(x), 1.0)) / np.log1p(mu)
    expected = np.floor((compressed + 1) / 2 * mu + 0.5).astype(np.int32)
    codes = numpy(mu_law_encode(x))
    np.testing.assert_array_equal(codes, expected)
    assert codes[3] == 128 and codes[0] == 0 and codes[-1] == 255
    decoded = numpy(mu_law_decode(codes))
    # Decoding inverts the companding at each code's centre: re-encoding gives the same codes.
    np.testing.assert_array_equal(numpy(mu_law_encode(decoded)), codes)
    np.testing.assert_allclose(decoded[[0, -1]], [-1.0, 1.0], atol=1e-6)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda m: m.generate(2, use_cache="yes"), "`use_cache` must be a bool, got 'yes'"),
        (lambda m: m.generate(2, sampler=TopKSampler(k=32)), "TopKSampler"),
        (lambda m: m.log_prob(np.full((2, LENGTH), 2.0, "float32")), "`x` must lie in \\[-1.0, 1.0\\]"),
        (lambda m: m.log_prob(np.zeros((2, LENGTH + 1), "float32")), "`x` must have shape \\(batch, 24\\)"),
        (lambda m: m.log_prob(np.zeros((2, LENGTH), "float32"), labels=[0, 1]), "unexpected argument `labels`"),
        (lambda m: WaveNet(input_shape=(8, 8)), "`input_shape` must be a tuple of 1 positive ints"),
    ],
)
def test_bad_input_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call(WaveNet(**TINY))


def test_label_out_of_range():
    with pytest.raises(ValueError, match="labels"):
        WaveNet(**dict(TINY, num_classes=2)).generate(2, labels=[0, 2])
