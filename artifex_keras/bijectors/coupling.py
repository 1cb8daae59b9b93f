"""`Coupling`: transform part of the input, with parameters computed from the rest (RealNVP, Glow, NSF)."""

import keras
import numpy as np
from keras import ops

from artifex_keras.bijectors.base import Bijector
from artifex_keras.bijectors.base import sum_except_batch
from artifex_keras.bijectors.transformers import make_transformer

VECTOR_MASKS = ("half", "alternate")
IMAGE_MASKS = ("checkerboard", "channel")


def coupling_mask(owner, kind, event_shape, parity=False):
    """0/1 float32 mask of the values a coupling keeps (1) and transforms (0); `parity` swaps them."""
    if len(event_shape) == 1:
        if kind not in VECTOR_MASKS:
            raise ValueError(f"{owner}: `mask` for vectors must be one of {', '.join(map(repr, VECTOR_MASKS))}, "
                             f"got {kind!r}")  # fmt: skip
        index = np.arange(event_shape[0])
        mask = index < (event_shape[0] + 1) // 2 if kind == "half" else index % 2 == 0
    elif len(event_shape) == 3:
        if kind not in IMAGE_MASKS:
            raise ValueError(f"{owner}: `mask` for images must be one of {', '.join(map(repr, IMAGE_MASKS))}, "
                             f"got {kind!r}")  # fmt: skip
        height, width, channels = event_shape
        if kind == "checkerboard":
            board = (np.arange(height)[:, None] + np.arange(width)[None, :]) % 2 == 0
            mask = np.broadcast_to(board[:, :, None], event_shape)
        else:
            if channels < 2:
                raise ValueError(f"{owner}: a 'channel' mask needs at least 2 channels, got {channels}")
            mask = np.broadcast_to(np.arange(channels) < channels // 2, event_shape)
    else:
        raise ValueError(f"{owner}: inputs must be vectors (batch, D) or images (batch, H, W, C), got event shape "
                         f"{tuple(event_shape)}")  # fmt: skip
    if mask.all() or not mask.any():
        raise ValueError(f"{owner}: mask {kind!r} on event shape {tuple(event_shape)} keeps all or no values")
    mask = np.asarray(mask, "float32")
    return 1.0 - mask if parity else mask


@keras.saving.register_keras_serializable(package="artifex_keras")
class Coupling(Bijector):
    """Keep the values under a mask, transform the others elementwise with parameters computed from the kept ones.

    The inverse is exact and as cheap as the forward: the kept values pass
    through unchanged, so the parameters can be recomputed from the output.
    The conditioner is an MLP for vectors and a small CNN (3x3 convolutions)
    for images; its last layer starts at zero, so the coupling starts as the
    identity.

    Args:
        mask: ``"half"`` or ``"alternate"`` for vectors, ``"checkerboard"``
            or ``"channel"`` for images.
        parity: swap the kept and transformed values.
        hidden_units: units (vectors) or filters (images) of the hidden layers.
        transformer: ``"affine"`` (RealNVP, Glow) or ``"spline"`` (NSF).
        num_bins, bound: the spline's bins and half-width.
        activation: of the hidden layers.
        context_dim: width of a context vector the conditioner also sees
            (broadcast over the pixels of images).

    Example:
    ```python
    layer = Coupling(mask="checkerboard", hidden_units=(32,), transformer="affine")
    y, log_det = layer.forward(images)
    ```

    Reference:
        Dinh, Sohl-Dickstein & Bengio, "Density estimation using Real NVP", ICLR 2017.
    """

    def __init__(self, mask="half", parity=False, hidden_units=(64, 64), transformer="affine", num_bins=8,
                 bound=5.0, activation="relu", **kwargs):  # fmt: skip
        super().__init__(**kwargs)
        owner = type(self).__name__
        if mask not in VECTOR_MASKS + IMAGE_MASKS:
            raise ValueError(
                f"{owner}: `mask` must be one of {', '.join(map(repr, VECTOR_MASKS + IMAGE_MASKS))}, got {mask!r}"
            )
        self.mask_kind = mask
        self.parity = bool(parity)
        self.hidden_units = tuple(int(u) for u in hidden_units)
        if any(u < 1 for u in self.hidden_units):
            raise ValueError(f"{owner}: `hidden_units` must be positive ints, got {hidden_units!r}")
        self.transformer_name = transformer
        self.transformer = make_transformer(owner, transformer, num_bins, bound)
        self.num_bins = num_bins
        self.bound = bound
        self.activation = activation

    def build(self, input_shape):
        super().build(input_shape)
        owner = type(self).__name__
        self.kept = coupling_mask(owner, self.mask_kind, self.event_shape, self.parity)
        num_params = self.transformer.num_params
        identity = np.tile(np.asarray(self.transformer.identity_parameters(), "float32"), self.event_shape[-1])
        image = len(self.event_shape) == 3
        if image:
            hidden = [keras.layers.Conv2D(u, 3, padding="same", activation=self.activation) for u in self.hidden_units]
            output = keras.layers.Conv2D(
                self.event_shape[-1] * num_params, 3, padding="same", kernel_initializer="zeros",
                bias_initializer=keras.initializers.Constant(identity),
            )  # fmt: skip
        else:
            hidden = [keras.layers.Dense(u, activation=self.activation) for u in self.hidden_units]
            output = keras.layers.Dense(
                self.event_shape[-1] * num_params, kernel_initializer="zeros",
                bias_initializer=keras.initializers.Constant(identity),
            )  # fmt: skip
        self.conditioner = [*hidden, output]
        shape = (None, *self.event_shape[:-1], self.event_shape[-1] + self.context_dim)
        for layer in self.conditioner:
            layer.build(shape)
            shape = layer.compute_output_shape(shape)

    def transform_parameters(self, kept, context=None):
        """Transformer parameters `(batch, *event_shape, P)` from the kept values (the others zeroed)."""
        h = kept
        if context is not None:
            if len(self.event_shape) == 3:
                context = ops.broadcast_to(context[:, None, None, :], (*ops.shape(kept)[:3], self.context_dim))
            h = ops.concatenate([h, context], axis=-1)
        for layer in self.conditioner:
            h = layer(h)
        return ops.reshape(h, (ops.shape(kept)[0], *self.event_shape, self.transformer.num_params))

    def _apply(self, value, context, inverse):
        mask = ops.convert_to_tensor(self.kept, value.dtype)
        params = self.transform_parameters(value * mask, context)
        method = self.transformer.inverse if inverse else self.transformer.forward
        out, log_det = method(value, params)
        out = ops.where(mask > 0, value, out)
        return out, sum_except_batch(log_det * (1.0 - mask))

    def forward(self, x, context=None):
        x, context = self._prepare(x, context)
        return self._apply(x, context, inverse=False)

    def inverse(self, y, context=None):
        y, context = self._prepare(y, context, inverse=True)
        return self._apply(y, context, inverse=True)

    def get_config(self):
        return {
            **super().get_config(),
            "mask": self.mask_kind,
            "parity": self.parity,
            "hidden_units": list(self.hidden_units),
            "transformer": self.transformer_name,
            "num_bins": self.num_bins,
            "bound": self.bound,
            "activation": self.activation,
        }
