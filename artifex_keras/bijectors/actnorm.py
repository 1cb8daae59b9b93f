"""`ActNorm`: a per-channel affine map initialised from the first batch (Glow)."""

import contextlib

import keras
import numpy as np
from keras import ops

from artifex_keras.bijectors.base import Bijector


@keras.saving.register_keras_serializable(package="artifex_keras")
class ActNorm(Bijector):
    """`y = (x + bias) * exp(log_scale)` per channel (last axis), with data-dependent initialisation.

    Inside `data_initialization(model)`, the first `forward` of an
    uninitialised ActNorm sets `bias` and `log_scale` so that its outputs on
    that batch have zero mean and unit variance per channel, then marks it
    initialised (a saved variable, so loaded models are not re-initialised).
    Flow models run this on a batch of their training data at the start of
    `fit`. The log-determinant counts `sum(log_scale)` once per position.

    Args:
        epsilon: added to the standard deviation at initialisation.

    Example:
    ```python
    norm = ActNorm()
    with data_initialization(norm):
        norm.forward(first_batch)
    ```

    Reference:
        Kingma & Dhariwal, "Glow: Generative Flow with Invertible 1x1 Convolutions", NeurIPS 2018.
    """

    def __init__(self, epsilon=1e-6, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = float(epsilon)
        self.initializing = False

    def build(self, input_shape):
        super().build(input_shape)
        channels = int(input_shape[-1])
        self.bias = self.add_weight(shape=(channels,), initializer="zeros", name="bias")
        self.log_scale = self.add_weight(shape=(channels,), initializer="zeros", name="log_scale")
        self.initialized = self.add_weight(shape=(), initializer="zeros", trainable=False, name="initialized")

    @property
    def is_initialized(self):
        return bool(np.asarray(ops.convert_to_numpy(self.initialized)) > 0)

    def initialize(self, x):
        """Set the parameters from batch `x` (eager): its outputs get zero mean and unit variance per channel."""
        x = ops.reshape(ops.convert_to_tensor(x, "float32"), (-1, self.event_shape[-1]))
        mean = ops.mean(x, axis=0)
        std = ops.sqrt(ops.mean(ops.square(x - mean), axis=0))
        self.bias.assign(-mean)
        self.log_scale.assign(-ops.log(std + self.epsilon))
        self.initialized.assign(1.0)

    def _positions(self, x):
        return float(np.prod(x.shape[1:-1])) if len(x.shape) > 2 else 1.0

    def forward(self, x, context=None):
        x, _ = self._prepare(x, context)
        if self.initializing and not self.is_initialized:
            self.initialize(x)
        log_scale = ops.convert_to_tensor(self.log_scale)
        y = (x + ops.convert_to_tensor(self.bias)) * ops.exp(log_scale)
        return y, ops.broadcast_to(ops.sum(log_scale) * self._positions(x), (ops.shape(x)[0],))

    def inverse(self, y, context=None):
        y, _ = self._prepare(y, context, inverse=True)
        log_scale = ops.convert_to_tensor(self.log_scale)
        x = y * ops.exp(-log_scale) - ops.convert_to_tensor(self.bias)
        return x, ops.broadcast_to(-ops.sum(log_scale) * self._positions(y), (ops.shape(y)[0],))

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon}


@contextlib.contextmanager
def data_initialization(layer):
    """Within the block, every uninitialised `ActNorm` in `layer` initialises itself on its first eager `forward`."""
    norms = [sub for sub in _all_layers(layer) if isinstance(sub, ActNorm)]
    for norm in norms:
        norm.initializing = True
    try:
        yield norms
    finally:
        for norm in norms:
            norm.initializing = False


def _all_layers(layer):
    found = [layer]
    for sub in getattr(layer, "_flatten_layers", lambda **kwargs: [])(include_self=False, recursive=True):
        found.append(sub)
    return found
