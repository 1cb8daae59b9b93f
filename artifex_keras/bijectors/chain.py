"""`Chain`: bijectors applied one after another."""

import keras
from keras import ops

from artifex_keras.bijectors.base import Bijector


@keras.saving.register_keras_serializable(package="artifex_keras")
class Chain(Bijector):
    """The composition of bijectors: `forward` applies them in order, `inverse` in reverse order.

    The log-determinants add up (chain rule). Every bijector gets the same
    context.

    Args:
        bijectors: a list of `Bijector`s (or their serialised configs).

    Example:
    ```python
    flow = Chain([ActNorm(), InvertibleLinear(), Coupling(mask="half")])
    ```
    """

    def __init__(self, bijectors, **kwargs):
        bijectors = [
            keras.saving.deserialize_keras_object(b) if isinstance(b, dict) else b for b in list(bijectors)
        ]
        bad = [b for b in bijectors if not isinstance(b, Bijector)]
        if not bijectors or bad:
            got = type(bad[0]).__name__ if bad else "an empty list"
            raise ValueError(f"Chain: `bijectors` must be a non-empty list of Bijector objects, got {got}")
        kwargs.setdefault("context_dim", max(b.context_dim for b in bijectors))
        super().__init__(**kwargs)
        self.bijectors = bijectors

    def build(self, input_shape):
        super().build(input_shape)
        shape = tuple(input_shape[1:])
        for bijector in self.bijectors:
            bijector.build_for(shape)
            shape = bijector.output_event_shape(shape)

    def output_event_shape(self, event_shape):
        for bijector in self.bijectors:
            event_shape = bijector.output_event_shape(event_shape)
        return tuple(event_shape)

    def input_event_shape(self, event_shape):
        for bijector in reversed(self.bijectors):
            event_shape = bijector.input_event_shape(event_shape)
        return tuple(event_shape)

    def forward(self, x, context=None):
        x, context = self._prepare(x, context)
        total = ops.zeros((ops.shape(x)[0],), dtype=x.dtype)
        for bijector in self.bijectors:
            x, log_det = bijector.forward(x, context if bijector.context_dim else None)
            total = total + log_det
        return x, total

    def inverse(self, y, context=None):
        y, context = self._prepare(y, context, inverse=True)
        total = ops.zeros((ops.shape(y)[0],), dtype=y.dtype)
        for bijector in reversed(self.bijectors):
            y, log_det = bijector.inverse(y, context if bijector.context_dim else None)
            total = total + log_det
        return y, total

    def get_config(self):
        config = super().get_config()
        config.pop("context_dim")
        return {**config, "bijectors": [keras.saving.serialize_keras_object(b) for b in self.bijectors]}
