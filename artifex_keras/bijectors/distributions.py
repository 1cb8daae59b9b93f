"""Base distributions of flows: a diagonal Gaussian (fixed or learnable) and one conditioned on a context."""

import math

import keras
from keras import ops

from artifex_keras.bijectors.base import sum_except_batch


@keras.saving.register_keras_serializable(package="artifex_keras")
class DiagonalGaussian(keras.layers.Layer):
    """`N(mean, diag(exp(log_scale))^2)` over events of `event_shape`: standard normal unless learnable.

    Args:
        event_shape: shape of one sample.
        learnable: learn the mean and log-scale (they start at 0).

    Example:
    ```python
    base = DiagonalGaussian((2,))
    z = base.sample(16, seed_generator)
    log_p = base.log_prob(z)           # (16,)
    ```
    """

    def __init__(self, event_shape, learnable=False, **kwargs):
        super().__init__(**kwargs)
        self.event_shape = tuple(int(d) for d in event_shape)
        self.learnable = bool(learnable)
        self.context_dim = 0
        if self.learnable:
            self.mean = self.add_weight(shape=self.event_shape, initializer="zeros", name="mean")
            self.log_scale = self.add_weight(shape=self.event_shape, initializer="zeros", name="log_scale")
        self.built = True

    def parameters_for(self, batch, context=None):
        """`(mean, log_scale)` broadcastable to `(batch, *event_shape)`."""
        if not self.learnable:
            return 0.0, 0.0
        return ops.convert_to_tensor(self.mean)[None], ops.convert_to_tensor(self.log_scale)[None]

    def log_prob(self, z, context=None):
        """Log-density of each example of `z` `(batch, *event_shape)`, in nats."""
        mean, log_scale = self.parameters_for(ops.shape(z)[0], context)
        standardized = (z - mean) * ops.exp(-log_scale) if self.learnable else z
        values = -0.5 * ops.square(standardized) - log_scale - 0.5 * math.log(2.0 * math.pi)
        return sum_except_batch(values)

    def sample(self, num_samples, seed_generator, context=None):
        """`num_samples` draws `(num_samples, *event_shape)` from `seed_generator`."""
        noise = keras.random.normal((num_samples, *self.event_shape), seed=seed_generator)
        mean, log_scale = self.parameters_for(num_samples, context)
        return mean + ops.exp(log_scale) * noise if self.learnable else noise

    def call(self, z, context=None):
        return self.log_prob(z, context)

    def get_config(self):
        return {**super().get_config(), "event_shape": list(self.event_shape), "learnable": self.learnable}


@keras.saving.register_keras_serializable(package="artifex_keras")
class ConditionalDiagonalGaussian(DiagonalGaussian):
    """A diagonal Gaussian whose mean and log-scale are an MLP of a context vector (zero at initialisation).

    Args:
        event_shape: shape of one sample.
        context_dim: width of the context vector.
        hidden_units: hidden layers of the MLP (empty: a linear map).

    Example:
    ```python
    base = ConditionalDiagonalGaussian((2,), context_dim=8)
    log_p = base.log_prob(z, context=one_hot_labels)
    ```
    """

    def __init__(self, event_shape, context_dim, hidden_units=(), **kwargs):
        kwargs.pop("learnable", None)
        super().__init__(event_shape, learnable=False, **kwargs)
        if isinstance(context_dim, bool) or not isinstance(context_dim, int) or context_dim < 1:
            raise ValueError(f"ConditionalDiagonalGaussian: `context_dim` must be a positive int, got {context_dim!r}")
        self.context_dim = context_dim
        self.hidden_units = tuple(int(u) for u in hidden_units)
        size = math.prod(self.event_shape)
        self.network = [keras.layers.Dense(u, activation="relu") for u in self.hidden_units]
        self.network.append(keras.layers.Dense(2 * size, kernel_initializer="zeros"))
        width = context_dim
        for layer in self.network:
            layer.build((None, width))
            width = layer.units

    def parameters_for(self, batch, context=None):
        if context is None:
            raise ValueError(
                f"ConditionalDiagonalGaussian: `context` is required (shape (batch, {self.context_dim})), got None"
            )
        h = context
        for layer in self.network:
            h = layer(h)
        mean, log_scale = ops.split(h, 2, axis=-1)
        shape = (ops.shape(h)[0], *self.event_shape)
        return ops.reshape(mean, shape), ops.reshape(log_scale, shape)

    def log_prob(self, z, context=None):
        mean, log_scale = self.parameters_for(ops.shape(z)[0], context)
        values = -0.5 * ops.square((z - mean) * ops.exp(-log_scale)) - log_scale - 0.5 * math.log(2.0 * math.pi)
        return sum_except_batch(values)

    def sample(self, num_samples, seed_generator, context=None):
        mean, log_scale = self.parameters_for(num_samples, context)
        return mean + ops.exp(log_scale) * keras.random.normal((num_samples, *self.event_shape), seed=seed_generator)

    def get_config(self):
        config = super().get_config()
        config.pop("learnable")
        return {**config, "context_dim": self.context_dim, "hidden_units": list(self.hidden_units)}
