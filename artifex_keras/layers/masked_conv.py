"""Masked convolution of PixelCNN."""

import keras
import numpy as np
from keras import ops

from artifex_keras import validation


@keras.saving.register_keras_serializable(package="artifex_keras")
class MaskedConv2D(keras.layers.Layer):
    """2-D convolution that only sees earlier positions in raster order.

    The kernel is multiplied by a fixed mask that zeroes every tap below the
    centre row and every tap right of the centre in the centre row. Mask
    `"A"` also zeroes the centre tap, so output `(i, j)` depends only on
    inputs strictly before `(i, j)` (the first layer of an autoregressive
    stack); mask `"B"` keeps it, for the layers that follow. Padding is
    always "same", so the output grid matches the input grid. The mask is
    spatial: all channels at one position are revealed together, which suits
    code grids and single-channel images (no per-colour-channel grouping).

    Args:
        filters: number of output channels.
        kernel_size: odd int or pair of odd ints.
        mask_type: `"A"` (excludes the centre) or `"B"` (includes it).
        activation: activation applied to the output (name or callable).
        use_bias: add a learned bias.

    Example:
    ```python
    layer = MaskedConv2D(32, 5, mask_type="A", activation="relu")
    layer(keras.random.normal((4, 7, 7, 8))).shape   # (4, 7, 7, 32)
    ```

    Reference:
        van den Oord et al., "Pixel Recurrent Neural Networks", ICML 2016
        (section 3.5, masked convolutions); van den Oord et al., "Conditional
        Image Generation with PixelCNN Decoders", NeurIPS 2016.
    """

    def __init__(self, filters, kernel_size, mask_type="B", activation=None, use_bias=True, **kwargs):
        super().__init__(**kwargs)
        owner = type(self).__name__
        self.filters = validation.check_positive_int(owner, "filters", filters)
        sizes = (kernel_size, kernel_size) if not isinstance(kernel_size, (tuple, list)) else tuple(kernel_size)
        if len(sizes) != 2 or not all(
            not isinstance(s, bool) and isinstance(s, (int, np.integer)) and s > 0 and s % 2 == 1 for s in sizes
        ):
            raise ValueError(
                f"{owner}: `kernel_size` must be an odd positive int or a pair of them, got {kernel_size!r}"
            )
        self.kernel_size = tuple(int(s) for s in sizes)
        if mask_type not in ("A", "B"):
            raise ValueError(f"{owner}: `mask_type` must be one of 'A', 'B', got {mask_type!r}")
        self.mask_type = mask_type
        self.activation = keras.activations.get(activation)
        self.use_bias = bool(use_bias)
        self.mask = _raster_mask(self.kernel_size, include_centre=mask_type == "B")

    def build(self, input_shape):
        self.kernel = self.add_weight(
            shape=(*self.kernel_size, input_shape[-1], self.filters),
            initializer="glorot_uniform",
            name="kernel",
        )
        self.bias = self.add_weight(shape=(self.filters,), initializer="zeros", name="bias") if self.use_bias else None

    def call(self, inputs):
        kernel = ops.convert_to_tensor(self.kernel)
        kernel = kernel * ops.cast(self.mask, kernel.dtype)
        outputs = ops.conv(inputs, kernel, strides=1, padding="same")
        if self.bias is not None:
            outputs = outputs + self.bias
        return self.activation(outputs)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.filters)

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "mask_type": self.mask_type,
            "activation": keras.activations.serialize(self.activation),
            "use_bias": self.use_bias,
        }


def _raster_mask(kernel_size, include_centre):
    """`(kh, kw, 1, 1)` mask of the taps at or before the centre in raster order."""
    height, width = kernel_size
    mask = np.zeros((height, width, 1, 1), dtype="float32")
    mask[: height // 2] = 1.0
    mask[height // 2, : width // 2 + (1 if include_centre else 0)] = 1.0
    return mask
