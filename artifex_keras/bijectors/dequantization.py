"""Uniform dequantisation: turn 8-bit pixel values into continuous ones a density can be fitted to."""

import math

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="artifex_keras")
class UniformDequantization(keras.layers.Layer):
    """`y = (k + u) / num_bins` for pixel level `k = round(x * (num_bins - 1))` and `u ~ U[0, 1)`.

    Data scaled to [0, 1] (`artifex_keras.data.load(scale="unit")`, `k / 255`)
    becomes continuous values in [0, 1). A density `p` on `y` gives the
    discrete model `P(k) = integral of p over the bin`, and by Jensen
    `log P(k) >= E_u[log p(y)] - D log(num_bins)` per example (Theis et al.,
    2016), the bound every flow's bits/dim reports.

    Args:
        num_bins: quantisation levels (256 for 8-bit images).

    Example:
    ```python
    y = UniformDequantization().dequantize(x, seed_generator)
    ```
    """

    def __init__(self, num_bins=256, **kwargs):
        super().__init__(**kwargs)
        if isinstance(num_bins, bool) or not isinstance(num_bins, int) or num_bins < 2:
            raise ValueError(f"UniformDequantization: `num_bins` must be an int of at least 2, got {num_bins!r}")
        self.num_bins = num_bins

    def levels(self, x):
        """Integer pixel levels `k` (as floats) of data in [0, 1]."""
        return ops.round(ops.clip(x, 0.0, 1.0) * (self.num_bins - 1))

    def dequantize(self, x, seed_generator=None, noise=None):
        """Continuous values `(k + u) / num_bins`; `u` from `seed_generator`, or the given `noise` in [0, 1)."""
        if noise is None:
            noise = keras.random.uniform(ops.shape(x), seed=seed_generator)
        return (self.levels(x) + noise) / self.num_bins

    def to_data(self, y):
        """Back to data in [0, 1]: the level of the bin `y` falls in, over `num_bins - 1`."""
        return ops.clip(ops.floor(y * self.num_bins), 0.0, self.num_bins - 1.0) / (self.num_bins - 1)

    def log_volume(self, num_dims):
        """`-D log(num_bins)`: the log-volume of one bin, added to a density of `y` to bound `log P(k)`."""
        return -num_dims * math.log(self.num_bins)

    def call(self, x):
        return self.dequantize(x, noise=0.5)

    def get_config(self):
        return {**super().get_config(), "num_bins": self.num_bins}
