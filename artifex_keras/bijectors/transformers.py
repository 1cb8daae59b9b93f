"""Elementwise invertible maps with external parameters: the transformers of coupling and autoregressive layers."""

import math

from keras import ops

from artifex_keras.bijectors.splines import identity_spline_parameters
from artifex_keras.bijectors.splines import rational_quadratic_spline
from artifex_keras.bijectors.splines import spline_parameter_count

TRANSFORMERS = ("affine", "spline")


class AffineTransformer:
    """`y = x * exp(s) + t` with `s = clamp * tanh(raw / clamp)` (bounded scales keep training stable).

    Parameters per dimension: `(t, raw)`.
    """

    num_params = 2

    def __init__(self, log_scale_clamp=3.0):
        self.log_scale_clamp = float(log_scale_clamp)

    def _split(self, params):
        shift, raw = params[..., 0], params[..., 1]
        return shift, self.log_scale_clamp * ops.tanh(raw / self.log_scale_clamp)

    def forward(self, x, params):
        shift, log_scale = self._split(params)
        return x * ops.exp(log_scale) + shift, log_scale

    def inverse(self, y, params):
        shift, log_scale = self._split(params)
        return (y - shift) * ops.exp(-log_scale), -log_scale

    def identity_parameters(self):
        return [0.0, 0.0]


class SplineTransformer:
    """Monotonic rational-quadratic spline on `[-bound, bound]`, identity outside; `3 K - 1` parameters."""

    def __init__(self, num_bins=8, bound=5.0):
        self.num_bins = int(num_bins)
        self.bound = float(bound)
        self.num_params = spline_parameter_count(self.num_bins)

    def forward(self, x, params):
        return rational_quadratic_spline(x, params, self.bound)

    def inverse(self, y, params):
        return rational_quadratic_spline(y, params, self.bound, inverse=True)

    def identity_parameters(self):
        return identity_spline_parameters(self.num_bins)


def make_transformer(owner, name, num_bins, bound):
    """The transformer called `name` (`"affine"` or `"spline"`), checking its settings."""
    if name not in TRANSFORMERS:
        raise ValueError(f"{owner}: `transformer` must be one of {', '.join(map(repr, TRANSFORMERS))}, got {name!r}")
    if name == "affine":
        return AffineTransformer()
    if isinstance(num_bins, bool) or not isinstance(num_bins, int) or num_bins < 2:
        raise ValueError(f"{owner}: `num_bins` must be an int of at least 2, got {num_bins!r}")
    if not (isinstance(bound, (int, float)) and math.isfinite(bound) and bound > 0):
        raise ValueError(f"{owner}: `bound` must be a positive number, got {bound!r}")
    return SplineTransformer(num_bins, bound)
