"""`CompiledFunction`: one compiled call of a model's current state, on every backend."""

import keras
import numpy as np
from keras import ops

from artifex_keras.models import VAE

TINY = dict(input_shape=(4, 4, 1), latent_dim=2, hidden_dims=(8,), seed=0)


def _numpy(value):
    return np.array(keras.ops.convert_to_numpy(value))


def _decode(model):
    return model.compiled_function(("decode_test",), lambda generator, z: model.decoder(z))


def test_new_weights_need_no_new_trace():
    model = VAE(**TINY)
    decode = _decode(model)
    z = np.random.default_rng(0).normal(size=(3, 2)).astype("float32")
    first = _numpy(decode(model.seed_generator, z))
    np.testing.assert_allclose(first, _numpy(model.decoder(z)), rtol=1e-6, atol=1e-6)
    kernel = model.decoder.layers[-2].kernel
    kernel.assign(_numpy(kernel) * 2.0)
    second = _numpy(decode(model.seed_generator, z))
    np.testing.assert_allclose(second, _numpy(model.decoder(z)), rtol=1e-6, atol=1e-6)
    assert not np.allclose(first, second)
    traces = model.compiled_trace_counts()[("decode_test",)]
    assert traces == (0 if keras.backend.backend() == "torch" else 1)


def test_draws_advance_the_callers_seed_generator_and_repeat_with_its_seed():
    model = VAE(**TINY)
    draw = model.compiled_function(("draw_test",), lambda generator: keras.random.normal((4,), seed=generator))
    generator = keras.random.SeedGenerator(5)
    first, second = _numpy(draw(generator)), _numpy(draw(generator))
    assert not np.allclose(first, second)
    np.testing.assert_array_equal(_numpy(generator.state), [5, 2])
    np.testing.assert_array_equal(_numpy(draw(keras.random.SeedGenerator(5))), first)
    # The same draw outside a compiled call.
    np.testing.assert_allclose(first, _numpy(keras.random.normal((4,), seed=keras.random.SeedGenerator(5))), rtol=1e-6)


def test_assignments_inside_the_call_are_written_back():
    model = VAE(**dict(TINY, likelihood="gaussian"))
    scale = model.decoder_log_scale

    def add(generator, step):
        scale.assign(scale + step)
        return ops.sum(scale)

    bump = model.compiled_function(("bump_test",), add)
    bump(model.seed_generator, np.float32(0.5))
    bump(model.seed_generator, np.float32(0.25))
    np.testing.assert_allclose(_numpy(scale), np.full(scale.shape, 0.75), rtol=1e-6)


def test_torch_builds_no_autograd_graph():
    model = VAE(**TINY)
    out = model.compiled_function(("graph_test",), lambda generator: model.sample(2, generator))(model.seed_generator)
    if keras.backend.backend() == "torch":
        assert not out.requires_grad and out.grad_fn is None
    assert tuple(out.shape) == (2, 4, 4, 1)
