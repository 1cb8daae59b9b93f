"""Dequantisation, uniform or variational: turn 8-bit pixel values into continuous ones a density can be fitted to."""

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

    def dequantize_with_log_q(self, x, seed_generator=None, noise=None):
        """`(y, log q(u | k))` per example: the dequantised values and the log-density of their noise (0 here)."""
        y = self.dequantize(x, seed_generator, noise=noise)
        return y, ops.zeros(ops.shape(x)[:1], dtype=y.dtype)

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


@keras.saving.register_keras_serializable(package="artifex_keras")
class VariationalDequantization(UniformDequantization):
    """Learned dequantisation noise: `u = sigmoid(mu(k) + sigma(k) * eps)`, `eps ~ N(0, I)`, per pixel.

    A small CNN reads the image of pixel levels `k` and gives each pixel's
    `mu` and `log sigma` (its last convolution starts at zero: `u` starts as
    `sigmoid(eps)`). With `log q(u | k) = sum(log N(eps) - log sigma -
    log(u (1 - u)))`, a flow maximising `E_q[log p((k + u) / B) - log q(u | k)]
    - D log B` maximises a bound on `log P(k)` that is tight when `q` matches
    the flow's density inside each bin; uniform dequantisation is `q = 1`
    (Ho et al., 2019, Flow++, section 3.1).

    Args:
        num_bins: quantisation levels (256 for 8-bit images).
        filters: channels of the two hidden 3x3 convolutions.

    Example:
    ```python
    dequantizer = VariationalDequantization(filters=16)
    y, log_q = dequantizer.dequantize_with_log_q(x, seed_generator)   # x: (N, H, W, C) in [0, 1]
    ```
    """

    def __init__(self, num_bins=256, filters=16, **kwargs):
        super().__init__(num_bins, **kwargs)
        if isinstance(filters, bool) or not isinstance(filters, int) or filters < 1:
            raise ValueError(f"VariationalDequantization: `filters` must be a positive int, got {filters!r}")
        self.filters = filters

    def build(self, input_shape):
        channels = input_shape[-1]
        self.hidden = [
            keras.layers.Conv2D(self.filters, 3, padding="same", activation="relu", name=f"hidden_{i}")
            for i in range(2)
        ]
        self.head = keras.layers.Conv2D(2 * channels, 3, padding="same", kernel_initializer="zeros", name="head")
        shape = tuple(input_shape)
        for layer in self.hidden:
            layer.build(shape)
            shape = (*shape[:-1], self.filters)
        self.head.build(shape)

    def noise_parameters(self, x):
        """`(mu, log_sigma)` of the logistic-normal noise of each pixel, from the image of levels."""
        if not self.built:
            self.build(ops.shape(x))
        h = self.levels(x) / (self.num_bins - 1) - 0.5
        for layer in self.hidden:
            h = layer(h)
        mu, log_sigma = ops.split(self.head(h), 2, axis=-1)
        return mu, log_sigma

    def dequantize_with_log_q(self, x, seed_generator=None, noise=None):
        """`(y, log q(u | k))`; `eps` from `seed_generator`, or the standard normal quantile of `noise` in (0, 1)."""
        if noise is None:
            eps = keras.random.normal(ops.shape(x), seed=seed_generator)
        else:
            eps = math.sqrt(2.0) * ops.erfinv(2.0 * ops.convert_to_tensor(noise, "float32") - 1.0) * ops.ones_like(x)
        mu, log_sigma = self.noise_parameters(x)
        logits = mu + ops.exp(log_sigma) * eps
        # log(u (1 - u)) = -softplus(-l) - softplus(l) for u = sigmoid(l), stable at both ends.
        log_jacobian = -ops.softplus(-logits) - ops.softplus(logits)
        log_normal = -0.5 * ops.square(eps) - 0.5 * math.log(2.0 * math.pi)
        per_pixel = log_normal - log_sigma - log_jacobian
        log_q = ops.sum(ops.reshape(per_pixel, (ops.shape(x)[0], -1)), axis=-1)
        u = ops.clip(ops.sigmoid(logits), 0.0, 1.0 - 1e-6)
        return (self.levels(x) + u) / self.num_bins, log_q

    def dequantize(self, x, seed_generator=None, noise=None):
        return self.dequantize_with_log_q(x, seed_generator, noise=noise)[0]

    def get_config(self):
        return {**super().get_config(), "filters": self.filters}
