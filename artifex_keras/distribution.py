"""Scale training out over several accelerators with `keras.distribution`.

`data_parallel()` replicates the weights and splits each batch across
devices; `model_parallel(model)` also shards the weights over a `"model"`
mesh axis, from the model's `get_layout_map(mesh)` plus a default rule for
every weight it does not name (the last axis is sharded when it divides
evenly, anything else is replicated). Create (or load) the model, compile
and fit inside the distribution's scope; `generate` and the likelihoods work
there too. Keras implements `keras.distribution` on the JAX backend only;
on TensorFlow and PyTorch these functions raise a clear error.

Example:
```python
import artifex_keras as ak

with ak.distribution.data_parallel().scope():
    model = ak.from_preset("vae_fashion_mnist")
    model.compile()
    model.fit(x, epochs=10, batch_size=1024)     # the global batch, split over devices

template = ak.models.VAE(latent_dim=32, input_shape=(28, 28, 1))
with ak.distribution.model_parallel(template, model_axis_size=4).scope():
    model = ak.models.VAE(latent_dim=32, input_shape=(28, 28, 1))
    model.fit(x, epochs=10, batch_size=1024)
```
"""

import keras

from artifex_keras import validation
from artifex_keras.backend import DISTRIBUTION_SUPPORTED

BATCH_AXIS = "batch"
MODEL_AXIS = "model"


def list_devices():
    """The devices a distribution spreads over, e.g. `['cpu:0', ..., 'cpu:7']` or `['gpu:0', 'gpu:1']`."""
    _check_backend("list_devices")
    return keras.distribution.list_devices()


def data_parallel(devices=None):
    """A `keras.distribution.DataParallel` over `devices` (default: all): replicated weights, split batches.

    Example:
    ```python
    with artifex_keras.distribution.data_parallel().scope():
        model = artifex_keras.models.VAE(latent_dim=8, input_shape=(8, 8, 1))
        model.fit(x, batch_size=256)
    ```
    """
    _check_backend("data_parallel")
    return keras.distribution.DataParallel(devices=_devices("data_parallel", devices))


def model_parallel(model=None, model_axis_size=None, devices=None):
    """A model-parallel distribution on a `("batch", "model")` device mesh.

    Args:
        model: a model whose `get_layout_map(mesh)` names the layouts of
            some of its weights (by variable path regex), or None. Weights it
            does not name follow `ShardedModelParallel`'s default rule.
        model_axis_size: devices along the `"model"` axis; must divide the
            number of devices (default: all of them, so no data parallelism).
        devices: device names (default: all, see `list_devices()`).

    Returns:
        a `ShardedModelParallel`; build the model inside its `scope()`.

    Example:
    ```python
    distribution = artifex_keras.distribution.model_parallel(model_axis_size=2)
    with distribution.scope():
        model = artifex_keras.models.VAE(latent_dim=8, input_shape=(8, 8, 1), hidden_dims=(512, 256))
    model.trainable_variables[0].value.sharding    # kernel (64, 512) split in two along its last axis
    ```
    """
    owner = "model_parallel"
    _check_backend(owner)
    devices = _devices(owner, devices)
    size = len(devices) if model_axis_size is None else model_axis_size
    if isinstance(size, bool) or not isinstance(size, int) or size <= 0 or len(devices) % size:
        raise ValueError(
            f"{owner}: `model_axis_size` must be a positive int that divides the number of devices "
            f"({len(devices)}), got {model_axis_size!r}"
        )
    mesh = keras.distribution.DeviceMesh((len(devices) // size, size), (BATCH_AXIS, MODEL_AXIS), devices)
    layout_map = keras.distribution.LayoutMap(mesh) if model is None else model.get_layout_map(mesh)
    if not isinstance(layout_map, keras.distribution.LayoutMap):
        raise ValueError(
            f"{owner}: {type(model).__name__}.get_layout_map(mesh) must return a keras.distribution.LayoutMap, "
            f"got {type(layout_map).__name__}"
        )
    return ShardedModelParallel(layout_map=layout_map, batch_dim_name=BATCH_AXIS)


class ShardedModelParallel(keras.distribution.ModelParallel):
    """`keras.distribution.ModelParallel` with a default layout for the weights the layout map leaves out.

    A weight of rank 2 or more (dense and conv kernels, embeddings, codebooks)
    is sharded along its last axis over the `"model"` mesh axis when that
    axis divides evenly; every other weight (biases, norms, small or odd
    shapes) is replicated. Optimizer slots follow their weight's layout.
    """

    def get_variable_layout(self, variable):
        layout = getattr(variable, "_layout", None) or self._layout_map[variable.path]
        if layout is not None:
            return layout
        shape = tuple(variable.shape)
        model_size = _axis_size(self.device_mesh, MODEL_AXIS)
        axes = [None] * len(shape)
        if len(shape) >= 2 and model_size > 1 and shape[-1] % model_size == 0:
            axes[-1] = MODEL_AXIS
        return keras.distribution.TensorLayout(axes, self.device_mesh)


def batch_shards():
    """Into how many pieces the active distribution splits each batch (1 without one)."""
    distribution = keras.distribution.distribution() if DISTRIBUTION_SUPPORTED else None
    return 1 if distribution is None else _axis_size(distribution.device_mesh, distribution.batch_dim_name)


def check_batches_split_evenly(owner, x, batch_size):
    """Under a distribution, every batch `fit` cuts from arrays must split evenly over the batch axis.

    Keras does not drop a short last batch, and JAX cannot shard one whose
    size the device count does not divide; this names the fix up front.
    """
    shards = batch_shards()
    if shards == 1 or not validation.is_array_like(x):
        return
    batch_size = 32 if batch_size is None else batch_size
    if batch_size % shards:
        raise ValueError(
            f"{owner}: `batch_size` must be a multiple of {shards} (the devices on the distribution's batch "
            f"axis), got {batch_size}"
        )
    if len(x) % batch_size:
        usable = len(x) - len(x) % batch_size
        raise ValueError(
            f"{owner}: under a distribution every batch must split over {shards} devices, so the number of "
            f"examples must be a multiple of `batch_size` ({batch_size}), got {len(x)}; "
            f"pass x[:{usable}] (and the same slice of y) or another batch size"
        )


def _axis_size(mesh, name):
    return mesh.shape[list(mesh.axis_names).index(name)]


def _devices(owner, devices):
    available = keras.distribution.list_devices()
    if devices is None:
        return available
    devices = list(devices)
    unknown = [device for device in devices if device not in available]
    if not devices or unknown:
        raise ValueError(
            f"{owner}: `devices` must be a non-empty list of names from list_devices() ({', '.join(available)}), "
            f"got {devices!r}"
        )
    return devices


def _check_backend(owner):
    if not DISTRIBUTION_SUPPORTED:
        raise RuntimeError(
            f"artifex_keras.distribution.{owner}: keras.distribution runs on the JAX backend only "
            f"(Keras {keras.__version__}), got KERAS_BACKEND={keras.backend.backend()!r}; "
            "set KERAS_BACKEND=jax to train on several devices"
        )
