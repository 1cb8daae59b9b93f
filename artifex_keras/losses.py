"""Log-likelihoods and divergences used across families (per example, in nats)."""

import math

from keras import ops

LOG_2PI = math.log(2.0 * math.pi)


def _flat(tensor, batch_axes):
    """`tensor` with its event axes (all after the first `batch_axes`) flattened into one.

    Broadcast batches, such as `(samples, batch, ...)` against `(1, batch, ...)`,
    keep 2 batch axes. Flattening before the arithmetic gives XLA one
    contiguous reduction, which it compiles into a much faster loop than a
    reduction over several axes.
    """
    return ops.reshape(tensor, (*ops.shape(tensor)[:batch_axes], -1))


def _sum_per_example(values, batch_axes):
    return ops.sum(_flat(values, batch_axes), axis=-1)


def bernoulli_log_likelihood(x, logits, batch_axes=1):
    """`log p(x | logits)` summed over all but the batch axes; `x` in [0, 1].

    Example:
    ```python
    bernoulli_log_likelihood(x, decoder(z))  # (batch,)
    ```
    """
    # log sigmoid(l) * x + log(1 - sigmoid(l)) * (1 - x), written stably.
    x, logits = _flat(x, batch_axes), _flat(logits, batch_axes)
    return ops.sum(x * logits - ops.softplus(logits), axis=-1)


def gaussian_log_likelihood(x, mean, log_scale, batch_axes=1):
    """Diagonal Gaussian `log N(x; mean, exp(log_scale)^2)` summed per example.

    `log_scale` is a scalar or has the shape of one example.
    """
    x, mean = _flat(x, batch_axes), _flat(mean, batch_axes)
    log_scale = ops.reshape(log_scale, (-1,))
    values = -0.5 * LOG_2PI - log_scale - 0.5 * ops.square((x - mean) * ops.exp(-log_scale))
    return ops.sum(values, axis=-1)


def standard_normal_log_prob(z, batch_axes=1):
    """`log N(z; 0, I)` summed per example."""
    return _sum_per_example(-0.5 * LOG_2PI - 0.5 * ops.square(z), batch_axes)


def diagonal_normal_log_prob(z, mean, log_var, batch_axes=1):
    """`log N(z; mean, diag(exp(log_var)))` summed per example."""
    values = -0.5 * (LOG_2PI + log_var + ops.square(z - mean) * ops.exp(-log_var))
    return _sum_per_example(values, batch_axes)


def gaussian_kl_to_standard_normal(mean, log_var):
    """Closed-form `KL(N(mean, exp(log_var)) || N(0, I))` per example."""
    values = -0.5 * (1.0 + log_var - ops.square(mean) - ops.exp(log_var))
    return _sum_per_example(values, 1)
