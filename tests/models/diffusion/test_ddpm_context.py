"""DDPM conditioned on a context sequence through cross-attention, with classifier-free guidance."""

import keras
import numpy as np
import pytest

from artifex_keras.conditioning import ContextSequence
from artifex_keras.models import DDPM
from tests.checks import digits
from tests.checks.saving import check_keras_round_trip
from tests.models.diffusion.test_ddpm import TINY

TOKENS, WIDTH = 3, 5
# One UNet level: the context enters through the cross-attention after the middle self-attention.
TEXT = dict(TINY, context_shape=(TOKENS, WIDTH), context_dropout=0.2)


def numpy(tensor):
    return keras.ops.convert_to_numpy(tensor)


def contexts(labels):
    """A fixed random embedding of each label, as `TOKENS` tokens of `WIDTH` features."""
    table = np.random.default_rng(0).standard_normal((10, TOKENS, WIDTH)).astype("float32")
    return table[labels]


@pytest.fixture(scope="module")
def text():
    x, y = digits(with_labels=True, limit=128)
    model = DDPM(**TEXT)
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    history = model.fit({"x": x, "context": contexts(y)}, epochs=2, batch_size=64, verbose=0).history["loss"]
    # The contexts may also come as `y`.
    loss = model.evaluate(x, contexts(y), batch_size=64, verbose=0)
    assert np.all(np.isfinite(history + [loss])), (history, loss)
    return model


def test_the_context_is_what_generate_conditions_on(text):
    assert text.condition_spec() == ContextSequence((TOKENS, WIDTH))
    assert text.example_conditions(4)["context"].shape == (4, TOKENS, WIDTH)
    context = contexts(np.arange(4))
    plain = text.generate(4, seed=2, context=context)
    assert plain.shape == (4, 8, 8, 1) and np.all((plain >= 0.0) & (plain <= 1.0))
    guided = text.generate(4, seed=2, context=context, guidance_scale=1.0)
    np.testing.assert_allclose(guided, plain, atol=2e-5)
    assert not np.allclose(text.generate(4, seed=2, context=context, guidance_scale=4.0), plain, atol=1e-3)
    assert not np.allclose(text.generate(4, seed=2, context=contexts(np.arange(4) + 5)), plain, atol=1e-3)


def test_guidance_is_against_the_zero_context(text):
    network = text.sampling_network
    context = contexts(np.array([1, 4, 7]))
    guided = text.denoiser_function(keras.ops.convert_to_tensor(context), guidance_scale=2.5)

    def predictions(generator, x, t, c):
        return network(x, t, context=c), network(x, t, context=keras.ops.zeros_like(c)), guided(x, t)

    run = text.compiled_function(("context_guidance_check",), predictions)
    x = np.random.default_rng(0).standard_normal((3, 8, 8, 1)).astype("float32")
    outputs = run(keras.random.SeedGenerator(0), x, np.array([3.0, 20.0, 45.0], "float32"), context)
    conditional, unconditional, combined = (numpy(output) for output in outputs)
    assert not np.allclose(conditional, unconditional, atol=1e-4)
    np.testing.assert_allclose(combined, unconditional + 2.5 * (conditional - unconditional), atol=1e-5)


def test_context_dropout_replaces_whole_contexts_by_zeros():
    model = DDPM(**dict(TEXT, context_dropout=0.5))
    dropped = numpy(model.drop_condition(keras.ops.ones((2000, TOKENS, WIDTH))))
    kept = dropped.reshape(2000, -1).max(axis=1)
    assert set(np.unique(dropped)) == {0.0, 1.0} and np.array_equal(kept, dropped.reshape(2000, -1).min(axis=1))
    assert abs(1.0 - kept.mean() - 0.5) < 0.05


def test_keras_file_keeps_the_context_model(text, tmp_path):
    x, y = digits(with_labels=True, limit=4)
    loaded = check_keras_round_trip(text, (x, contexts(y)), tmp_path, {"context": contexts(np.arange(5))})
    assert loaded.config.context_shape == (TOKENS, WIDTH) and loaded.denoiser.context_dim == WIDTH


def test_context_errors_name_the_argument(text):
    x, y = digits(with_labels=True, limit=8)
    with pytest.raises(ValueError, match=r"DDPM.generate: `context` must have shape \(batch, 3, 5\), got shape "
                                         r"\(2, 3, 4\)"):  # fmt: skip
        text.generate(2, context=np.zeros((2, TOKENS, 4), "float32"))
    with pytest.raises(ValueError, match=r"DDPM.generate: `context` must hold 2 vectors, got 3"):
        text.generate(2, context=np.zeros((3, TOKENS, WIDTH), "float32"))
    with pytest.raises(ValueError, match=r"DDPM.generate: `context` is required by the conditional DDPM"):
        text.generate(2)
    with pytest.raises(ValueError, match=r"DDPM.generate: unexpected argument `labels`; DDPM takes `context`"):
        text.generate(2, labels=np.zeros(2, int))
    with pytest.raises(ValueError, match=r"DDPM.fit: `x\['context'\]` must have shape \(batch, 3, 5\)"):
        text.fit({"x": x, "context": np.zeros((8, 2, WIDTH), "float32")}, verbose=0)
    with pytest.raises(ValueError, match=r"DDPM.fit: `y` must hold one context per example of `x` \(8\), got 4"):
        text.fit(x, contexts(y[:4]), verbose=0)
    with pytest.raises(ValueError, match=r"DDPM.fit: `y` \(contexts of shape \(3, 5\)\) is required"):
        text.fit(x, verbose=0)
    with pytest.raises(ValueError, match=r"DDPM.fit: a dict `x` must have the keys 'x' and 'context'"):
        text.fit({"images": x, "context": contexts(y)}, verbose=0)
    with pytest.raises(ValueError, match=r"DDPMConfig: `context_shape` must be a tuple of 2 positive ints, got \(5,\)"):
        DDPM(**dict(TEXT, context_shape=(5,)))
    with pytest.raises(ValueError, match=r"DDPMConfig: `context_shape` must be None for a class-conditional model"):
        DDPM(**dict(TEXT, num_classes=10))
    with pytest.raises(ValueError, match=r"DDPMConfig: `context_dropout` must be a finite number in \[0.0, 1.0\)"):
        DDPM(**dict(TEXT, context_dropout=1.0))
    unconditional = DDPM(**dict(TEXT, context_shape=None))
    with pytest.raises(ValueError, match=r"DDPM.fit: a dict `x` .* is for a context-conditional model"):
        unconditional.fit({"x": x, "context": contexts(y)}, verbose=0)
    with pytest.raises(ValueError, match=r"`guidance_scale` needs a class-conditional DDPM \(num_classes set\) or a "
                                         r"context-conditional one \(context_shape set\), got 2.0"):  # fmt: skip
        unconditional.generate(2, guidance_scale=2.0)
