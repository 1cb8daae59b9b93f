"""`Squeeze`: trade space for channels, `(H, W, C) -> (H/2, W/2, 4C)`, for multi-scale image flows."""

import keras
from keras import ops

from artifex_keras.bijectors.base import Bijector


@keras.saving.register_keras_serializable(package="artifex_keras")
class Squeeze(Bijector):
    """Move each 2x2 block of pixels into the channels: `(H, W, C) -> (H/2, W/2, 4C)`; log-determinant 0.

    Example:
    ```python
    y, _ = Squeeze().forward(np.zeros((1, 8, 8, 1)))   # y.shape == (1, 4, 4, 4)
    ```

    Reference:
        Dinh et al., "Density estimation using Real NVP", ICLR 2017 (section 3.6).
    """

    def build(self, input_shape):
        super().build(input_shape)
        self.output_event_shape(self.event_shape)

    def output_event_shape(self, event_shape):
        if len(event_shape) != 3 or event_shape[0] % 2 or event_shape[1] % 2:
            raise ValueError(
                f"Squeeze: inputs must be images (batch, height, width, channels) with even height and width, "
                f"got event shape {tuple(event_shape)}"
            )
        height, width, channels = event_shape
        return (height // 2, width // 2, 4 * channels)

    def input_event_shape(self, event_shape):
        if len(event_shape) != 3 or event_shape[2] % 4:
            raise ValueError(f"Squeeze: inverse inputs need 4k channels, got event shape {tuple(event_shape)}")
        height, width, channels = event_shape
        return (2 * height, 2 * width, channels // 4)

    def forward(self, x, context=None):
        x, _ = self._prepare(x, context)
        height, width, channels = self.event_shape
        y = ops.reshape(x, (-1, height // 2, 2, width // 2, 2, channels))
        y = ops.transpose(y, (0, 1, 3, 2, 4, 5))
        return ops.reshape(y, (-1, height // 2, width // 2, 4 * channels)), ops.zeros((ops.shape(x)[0],), x.dtype)

    def inverse(self, y, context=None):
        y, _ = self._prepare(y, context, inverse=True)
        height, width, channels = self.event_shape
        x = ops.reshape(y, (-1, height // 2, width // 2, 2, 2, channels))
        x = ops.transpose(x, (0, 1, 3, 2, 4, 5))
        return ops.reshape(x, (-1, height, width, channels)), ops.zeros((ops.shape(y)[0],), y.dtype)
