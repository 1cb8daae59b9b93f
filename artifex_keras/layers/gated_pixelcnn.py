"""Gated PixelCNN layers: causal stacks over a grid (pixels of an image, codes of a VQ-VAE)."""

import keras
from keras import layers
from keras import ops

from artifex_keras.layers.masked_conv import MaskedConv2D


@keras.saving.register_keras_serializable(package="artifex_keras")
class GatedLayer(layers.Layer):
    """One gated PixelCNN layer: a vertical stack (rows above) and a horizontal stack (the row to the left).

    The vertical convolution sees rows `i - k//2 .. i` and reaches the
    horizontal stack only shifted down one row, so `(i, j)` sees every pixel
    of the rows above within the kernel's width: no blind spot. The
    horizontal convolution (a `MaskedConv2D` one row high) sees columns
    `j - k//2 .. j - 1` in the first layer (mask A) and up to `j` after (mask
    B). Both use gated units `tanh(a) * sigmoid(b)`, with a class embedding
    added to `a` and `b` when conditional (van den Oord et al., 2016, eq. 4-5).
    """

    def __init__(self, filters, kernel_size, first, num_classes=None, **kwargs):
        super().__init__(**kwargs)
        self.filters = filters
        self.kernel_size = kernel_size
        self.first = first
        self.num_classes = num_classes
        half = kernel_size // 2
        self.vertical = layers.Conv2D(2 * filters, (half + 1, kernel_size), padding="valid", name="vertical")
        self.vertical_to_horizontal = layers.Conv2D(2 * filters, 1, name="vertical_to_horizontal")
        self.horizontal = MaskedConv2D(
            2 * filters, (1, kernel_size), mask_type="A" if first else "B", name="horizontal"
        )
        self.horizontal_output = layers.Conv2D(filters, 1, name="horizontal_output")
        self.condition = None if num_classes is None else layers.Dense(4 * filters, use_bias=False, name="condition")

    def build(self, input_shape):
        channels = input_shape[-1]
        self.vertical.build((None, None, None, channels))
        self.vertical_to_horizontal.build((None, None, None, 2 * self.filters))
        self.horizontal.build((None, None, None, channels))
        self.horizontal_output.build((None, None, None, self.filters))
        if self.condition is not None:
            self.condition.build((None, self.num_classes))

    def call(self, vertical, horizontal, condition=None):
        half = self.kernel_size // 2
        padded = ops.pad(vertical, ((0, 0), (half, 0), (half, half), (0, 0)))
        v = self.vertical(padded)
        # Shift down one row: the horizontal stack at row i sees the vertical stack of rows < i only.
        shifted = ops.pad(v, ((0, 0), (1, 0), (0, 0), (0, 0)))[:, :-1]
        h = self.horizontal(horizontal) + self.vertical_to_horizontal(shifted)
        if condition is not None:
            bias = self.condition(condition)[:, None, None, :]
            v = v + bias[..., : 2 * self.filters]
            h = h + bias[..., 2 * self.filters :]
        v_out = _gate(v)
        h_out = self.horizontal_output(_gate(h))
        # The first layer's input is the image itself: no residual connection there.
        return v_out, h_out if self.first else horizontal + h_out

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "first": self.first,
            "num_classes": self.num_classes,
        }


def _gate(x):
    a, b = ops.split(x, 2, axis=-1)
    return ops.tanh(a) * ops.sigmoid(b)


@keras.saving.register_keras_serializable(package="artifex_keras")
class GatedPixelCNN(layers.Layer):
    """A causal gated PixelCNN: features of a grid `(batch, H, W, C)` -> logits `(batch, H, W, categories)`.

    The logits at `(i, j)` depend only on the inputs at positions before it
    in raster order (rows above, and the row to the left), so
    `p(x) = prod_i softmax(logits_i)[x_i]` is an exact autoregressive model.
    `GatedLayer`s are followed by a 1x1 ReLU layer and the 1x1 logits. The
    `PixelCNN` model (256 intensity levels) and the `VQVAE` prior (code ids)
    both use it.

    Args:
        categories: values each position takes (the logits' last axis).
        filters: channels of both stacks.
        num_layers: gated layers (the first one hides the current position).
        kernel_size: odd width of every layer's receptive field.
        num_classes: class labels it conditions on (one-hot `condition`), or None.

    Example:
    ```python
    network = GatedPixelCNN(categories=32, filters=64, num_layers=4, kernel_size=3)
    logits = network(codes_embedded)            # (batch, 7, 7, 32)
    ```
    """

    def __init__(self, categories, filters, num_layers, kernel_size, num_classes=None, **kwargs):
        super().__init__(**kwargs)
        self.categories = categories
        self.filters = filters
        self.num_layers = num_layers
        self.kernel_size = kernel_size
        self.num_classes = num_classes
        self.gated_layers = [
            GatedLayer(filters, kernel_size, first=index == 0, num_classes=num_classes, name=f"gated_{index}")
            for index in range(num_layers)
        ]
        self.output_hidden = layers.Conv2D(filters, 1, activation="relu", name="output_hidden")
        self.output_logits = layers.Conv2D(categories, 1, name="output_logits")

    def build(self, input_shape):
        for index, layer in enumerate(self.gated_layers):
            layer.build((None, None, None, input_shape[-1] if index == 0 else self.filters))
        self.output_hidden.build((None, None, None, self.filters))
        self.output_logits.build((None, None, None, self.filters))

    def call(self, inputs, condition=None):
        vertical, horizontal = inputs, inputs
        for layer in self.gated_layers:
            vertical, horizontal = layer(vertical, horizontal, condition)
        return self.output_logits(self.output_hidden(horizontal))

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.categories)

    def get_config(self):
        return {
            **super().get_config(),
            "categories": self.categories,
            "filters": self.filters,
            "num_layers": self.num_layers,
            "kernel_size": self.kernel_size,
            "num_classes": self.num_classes,
        }
