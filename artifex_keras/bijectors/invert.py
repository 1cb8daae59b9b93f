"""`Invert`: a bijector run backwards."""

import keras

from artifex_keras.bijectors.base import Bijector


@keras.saving.register_keras_serializable(package="artifex_keras")
class Invert(Bijector):
    """The inverse of a bijector: its `forward` is the wrapped `inverse` and the other way round.

    Turns a masked autoregressive transform (fast density, sequential
    sampling) into an inverse autoregressive one (sequential density, fast
    sampling).

    Args:
        bijector: the bijector to invert.

    Example:
    ```python
    iaf_step = Invert(MaskedAutoregressive(hidden_units=(32,)))
    ```
    """

    def __init__(self, bijector, **kwargs):
        if isinstance(bijector, dict):
            bijector = keras.saving.deserialize_keras_object(bijector)
        if not isinstance(bijector, Bijector):
            raise ValueError(f"Invert: `bijector` must be a Bijector, got {type(bijector).__name__}")
        kwargs.setdefault("context_dim", bijector.context_dim)
        super().__init__(**kwargs)
        self.bijector = bijector

    def build(self, input_shape):
        super().build(input_shape)
        self.bijector.build_for(self.bijector.input_event_shape(tuple(input_shape[1:])))

    def output_event_shape(self, event_shape):
        return self.bijector.input_event_shape(event_shape)

    def input_event_shape(self, event_shape):
        return self.bijector.output_event_shape(event_shape)

    def forward(self, x, context=None):
        x, context = self._prepare(x, context)
        return self.bijector.inverse(x, context)

    def inverse(self, y, context=None):
        y, context = self._prepare(y, context, inverse=True)
        return self.bijector.forward(y, context)

    def get_config(self):
        config = super().get_config()
        config.pop("context_dim")
        return {**config, "bijector": keras.saving.serialize_keras_object(self.bijector)}
