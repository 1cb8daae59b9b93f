"""Sampling checks: what `generate` returns, its seeds, and the compiled call behind it."""

import keras
import numpy as np

from tests.checks.training import numpy_values


def check_sampling(model, generate_kwargs=None, value_range=None, num_samples=5):
    """NumPy float32 samples of the data's shape, in range, reproducible by seed; the model's own seed advances."""
    kwargs = generate_kwargs or {}
    samples = model.generate(num_samples, seed=7, **kwargs)
    assert isinstance(samples, np.ndarray) and samples.dtype == np.float32
    assert samples.shape == (num_samples, *model.data_shape)
    assert np.all(np.isfinite(samples))
    if value_range is not None:
        assert samples.min() >= value_range[0] - 1e-6 and samples.max() <= value_range[1] + 1e-6
    np.testing.assert_array_equal(model.generate(num_samples, seed=7, **kwargs), samples)
    assert not np.array_equal(model.generate(num_samples, seed=8, **kwargs), samples)
    state = keras.ops.convert_to_numpy(model.seed_generator.state).copy()
    first = model.generate(num_samples, **kwargs)
    assert not np.array_equal(keras.ops.convert_to_numpy(model.seed_generator.state), state)
    assert not np.array_equal(model.generate(num_samples, **kwargs), first)
    return samples


def check_compiled_sampling(model, generate_kwargs=None):
    """The compiled sampling call reads the current weights: new weights change the samples without a new trace.

    The samples after the change equal those of a fresh model built with
    the new weights, so no weight was baked in as a constant. On PyTorch the
    call runs under `no_grad`: its output carries no autograd graph.
    """
    kwargs = generate_kwargs or {}
    initial = model.get_weights()
    before = model.generate(5, seed=3, **kwargs)
    traces = model.compiled_trace_counts()
    for variable, value in zip(model.trainable_variables, numpy_values(model.trainable_variables)):
        variable.assign(value * 1.5 + 0.05)
    after = model.generate(5, seed=3, **kwargs)
    assert not np.allclose(before, after), "new weights did not change the samples"
    assert model.compiled_trace_counts() == traces, "new weights retraced the compiled sampling call"
    fresh = type(model).from_config(model.get_config())
    fresh.set_weights(model.get_weights())
    np.testing.assert_allclose(fresh.generate(5, seed=3, **kwargs), after, rtol=1e-5, atol=1e-6)
    if keras.backend.backend() == "torch":
        arguments = dict(kwargs)
        sampler = model.resolve_sampler("check", arguments.pop("sampler", None))
        options = {name: arguments.pop(name, default) for name, default in model.generate_options.items()}
        conditions = model.check_conditions("check", arguments, 5)
        run = model.compiled_function(
            ("check_no_grad",), lambda g: model.sample(5, g, sampler=sampler, **options, **conditions)
        )
        assert not run(keras.random.SeedGenerator(0)).requires_grad
    model.set_weights(initial)
