"""Monotonic rational-quadratic splines with linear tails (Durkan et al., 2019), elementwise."""

import math

from keras import ops

MIN_BIN_WIDTH = 1e-3
MIN_BIN_HEIGHT = 1e-3
MIN_DERIVATIVE = 1e-3


def spline_parameter_count(num_bins):
    """Unconstrained parameters per dimension: `K` widths, `K` heights and `K - 1` interior derivatives."""
    return 3 * num_bins - 1


def _knots(unnormalized, bound, minimum):
    num_bins = unnormalized.shape[-1]
    sizes = minimum + (1.0 - minimum * num_bins) * ops.softmax(unnormalized, axis=-1)
    cumulative = ops.cumsum(sizes, axis=-1)
    zeros = ops.zeros_like(cumulative[..., :1])
    knots = 2.0 * bound * ops.concatenate([zeros, cumulative], axis=-1) - bound
    # Pin the ends exactly: the tails must join the identity at +-bound.
    knots = ops.concatenate([zeros - bound, knots[..., 1:-1], zeros + bound], axis=-1)
    return knots, knots[..., 1:] - knots[..., :-1]


def _spline_parts(params, bound):
    num_bins = (params.shape[-1] + 1) // 3
    widths, heights, derivatives = (
        params[..., :num_bins],
        params[..., num_bins : 2 * num_bins],
        params[..., 2 * num_bins :],
    )
    x_knots, bin_widths = _knots(widths, bound, MIN_BIN_WIDTH)
    y_knots, bin_heights = _knots(heights, bound, MIN_BIN_HEIGHT)
    # The boundary derivatives are 1, matching the identity tails (softplus(log(e - 1)) = 1).
    ones = ops.ones_like(derivatives[..., :1])
    derivatives = ops.concatenate([ones, MIN_DERIVATIVE + ops.softplus(derivatives), ones], axis=-1)
    return x_knots, bin_widths, y_knots, bin_heights, derivatives


def _gather(values, index):
    return ops.squeeze(ops.take_along_axis(values, index[..., None], axis=-1), axis=-1)


def _bin_index(knots, value):
    interior = knots[..., 1:-1]
    return ops.sum(ops.cast(value[..., None] >= interior, "int32"), axis=-1)


def rational_quadratic_spline(x, params, bound=5.0, inverse=False):
    """Apply the spline with parameters `params` (`(..., 3K - 1)`) elementwise to `x` (`(...)`).

    Inside `[-bound, bound]` it is a monotonic rational-quadratic spline of
    `K` bins (eq. 4 of the paper); outside, the identity. Returns
    `(output, log |d output / d input|)` elementwise; `inverse=True` solves
    the quadratic of eq. 6-8 for the inverse (exact, no iteration).

    Reference:
        Durkan, Bekasov, Murray & Papamakarios, "Neural Spline Flows", NeurIPS 2019.
    """
    inside = ops.logical_and(x >= -bound, x <= bound)
    clipped = ops.clip(x, -bound, bound)
    x_knots, bin_widths, y_knots, bin_heights, derivatives = _spline_parts(params, bound)
    index = _bin_index(y_knots if inverse else x_knots, clipped)
    x_k, width = _gather(x_knots, index), _gather(bin_widths, index)
    y_k, height = _gather(y_knots, index), _gather(bin_heights, index)
    d_k, d_k1 = _gather(derivatives, index), _gather(derivatives[..., 1:], index)
    slope = height / width
    if inverse:
        shifted = clipped - y_k
        curvature = d_k1 + d_k - 2.0 * slope
        a = height * (slope - d_k) + shifted * curvature
        b = height * d_k - shifted * curvature
        c = -slope * shifted
        discriminant = ops.maximum(b * b - 4.0 * a * c, 0.0)
        # The stable root of eq. 6 (no cancellation); clipped to its bin against rounding.
        theta = ops.clip((2.0 * c) / (-b - ops.sqrt(discriminant)), 0.0, 1.0)
        output = x_k + theta * width
    else:
        theta = (clipped - x_k) / width
    between = theta * (1.0 - theta)
    denominator = slope + (d_k1 + d_k - 2.0 * slope) * between
    if not inverse:
        output = y_k + height * (slope * theta * theta + d_k * between) / denominator
    numerator = slope * slope * (d_k1 * theta * theta + 2.0 * slope * between + d_k * (1.0 - theta) ** 2)
    log_derivative = ops.log(numerator) - 2.0 * ops.log(denominator)
    if inverse:
        log_derivative = -log_derivative
    return ops.where(inside, output, x), ops.where(inside, log_derivative, ops.zeros_like(x))


def identity_spline_parameters(num_bins):
    """Parameters whose spline is the identity: equal bins and unit derivatives (a constant for init)."""
    return [0.0] * (2 * num_bins) + [math.log(math.expm1(1.0 - MIN_DERIVATIVE))] * (num_bins - 1)
