"""Run by tests/test_distribution.py in a fresh process with 8 JAX CPU devices."""

import contextlib
import os

os.environ["KERAS_BACKEND"] = "jax"
os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=8"

import keras  # noqa: E402
import numpy as np  # noqa: E402

import artifex_keras as ak  # noqa: E402

TINY = {"input_shape": (8, 8, 1), "latent_dim": 2, "hidden_dims": (16,), "seed": 0}
x = ak.data.load("digits", split="train", limit=64, with_labels=False)


template = ak.models.VAE(**TINY)
initial = template.get_weights()


def one_step(distribution=None):
    """A model after one training step on `x`, from the template's weights, built under `distribution`."""
    with distribution.scope() if distribution else contextlib.nullcontext():
        model = ak.models.VAE(**TINY)
        model.set_weights(initial)
        model.compile()
        model.train_on_batch(x)
    return model


def weights(model):
    return [keras.ops.convert_to_numpy(v) for v in model.trainable_variables]


assert len(ak.distribution.list_devices()) == 8, ak.distribution.list_devices()

# Data parallel: the same step as on one device (the batch is split, the gradients are all-reduced).
single = weights(one_step())
for got, want in zip(weights(one_step(ak.distribution.data_parallel())), single):
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)

# Model parallel: kernels whose last axis divides by 4 are sharded, the others replicated; the step is the same.
distribution = ak.distribution.model_parallel(template, model_axis_size=4)
model = one_step(distribution)
specs = {v.path: tuple(v.value.sharding.spec) for v in model.trainable_variables}
kernel = next(path for path, v in zip(specs, model.trainable_variables) if v.shape == (64, 16))
bias = next(path for path, v in zip(specs, model.trainable_variables) if v.shape == (16,))
assert specs[kernel][-1] == "model", specs
assert all(axis is None for axis in specs[bias]), specs
slot = next(v for v in model.optimizer.variables if tuple(v.shape) == (64, 16))
assert tuple(slot.value.sharding.spec)[-1] == "model", "optimizer slots follow their weight's layout"
for got, want in zip(weights(model), single):
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)

# Fit, generate and likelihoods inside the scope; shipped presets load sharded.
with distribution.scope():
    history = model.fit(x, epochs=2, batch_size=32, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    assert model.generate(5, seed=0).shape == (5, 8, 8, 1)
    assert np.all(np.isfinite(model.nll(x[:8], num_samples=4)))
with ak.distribution.data_parallel().scope():
    preset = ak.from_preset("vae_fashion_mnist")
    assert preset.generate(8, seed=0).shape == (8, 28, 28, 1)

# Clear errors.
data_parallel = ak.distribution.data_parallel()
with data_parallel.scope():
    small = ak.models.VAE(**TINY)
for call, message in (
    (lambda: small.fit(x[:60], batch_size=32, verbose=0), "pass x[:32] (and the same slice of y) or another"),
    (lambda: small.fit(x, batch_size=12, verbose=0), "`batch_size` must be a multiple of 8 (the devices"),
    (lambda: ak.distribution.model_parallel(model_axis_size=3), "`model_axis_size` must be a positive int that"),
    (lambda: ak.distribution.data_parallel(devices=["tpu:9"]), "`devices` must be a non-empty list of names"),
):
    try:
        with data_parallel.scope():
            call()
    except ValueError as error:
        assert message in str(error), str(error)
    else:
        raise AssertionError(f"no error for {message}")
print("distributed checks passed")
