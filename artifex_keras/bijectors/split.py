"""`Split`: factor out half of the channels and send the rest through an inner flow (multi-scale)."""

import math

import keras
from keras import ops

from artifex_keras.bijectors.base import Bijector


@keras.saving.register_keras_serializable(package="artifex_keras")
class Split(Bijector):
    """Keep the first half of the channels as latents; transform the other half with `bijector`.

    The output is flat: the factored-out values followed by the inner
    flow's output, `(batch, H * W * C)`, so nested `Split`s build the
    multi-scale architecture of RealNVP and Glow with one Gaussian base.
    The log-determinant is the inner flow's.

    Args:
        bijector: the flow applied to the remaining channels (e.g. a `Chain`
            starting with `Squeeze`).

    Example:
    ```python
    level = Chain([Squeeze(), Coupling(mask="channel"), Split(Chain([Squeeze(), Coupling(mask="channel")]))])
    ```

    Reference:
        Dinh et al., "Density estimation using Real NVP", ICLR 2017 (section 3.6).
    """

    def __init__(self, bijector, **kwargs):
        if isinstance(bijector, dict):
            bijector = keras.saving.deserialize_keras_object(bijector)
        if not isinstance(bijector, Bijector):
            raise ValueError(f"Split: `bijector` must be a Bijector, got {type(bijector).__name__}")
        kwargs.setdefault("context_dim", bijector.context_dim)
        super().__init__(**kwargs)
        self.bijector = bijector

    def _halves(self, event_shape):
        if len(event_shape) != 3 or event_shape[-1] < 2:
            raise ValueError(
                f"Split: inputs must be images (batch, height, width, channels) with at least 2 channels, "
                f"got event shape {tuple(event_shape)}"
            )
        height, width, channels = event_shape
        kept = (height, width, channels // 2)
        return kept, (height, width, channels - channels // 2)

    def build(self, input_shape):
        super().build(input_shape)
        _, rest = self._halves(self.event_shape)
        self.bijector.build_for(rest)

    def output_event_shape(self, event_shape):
        return (math.prod(event_shape),)

    def input_event_shape(self, event_shape):
        if self.event_shape is None:
            raise ValueError("Split: call build_for(event_shape) or forward before inverse: the image shape is unknown")
        return self.event_shape

    def forward(self, x, context=None):
        x, context = self._prepare(x, context)
        kept_shape, _ = self._halves(self.event_shape)
        kept, rest = x[..., : kept_shape[-1]], x[..., kept_shape[-1] :]
        z, log_det = self.bijector.forward(rest, context if self.bijector.context_dim else None)
        batch = ops.shape(x)[0]
        return ops.concatenate([ops.reshape(kept, (batch, -1)), ops.reshape(z, (batch, -1))], axis=-1), log_det

    def inverse(self, y, context=None):
        y, context = self._prepare(y, context, inverse=True)
        kept_shape, rest_shape = self._halves(self.event_shape)
        size = math.prod(kept_shape)
        batch = ops.shape(y)[0]
        kept = ops.reshape(y[:, :size], (batch, *kept_shape))
        z = ops.reshape(y[:, size:], (batch, *self.bijector.output_event_shape(rest_shape)))
        rest, log_det = self.bijector.inverse(z, context if self.bijector.context_dim else None)
        return ops.concatenate([kept, rest], axis=-1), log_det

    def get_config(self):
        config = super().get_config()
        config.pop("context_dim")
        return {**config, "bijector": keras.saving.serialize_keras_object(self.bijector)}
