"""Log-likelihoods and divergences used across families (per example, in nats)."""

import math

from keras import ops

LOG_2PI = math.log(2.0 * math.pi)


def _sum_per_example(values):
    return ops.sum(ops.reshape(values, (ops.shape(values)[0], -1)), axis=-1)


def bernoulli_log_likelihood(x, logits):
    """`log p(x | logits)` summed over all but the batch axis; `x` in [0, 1].

    Example:
    ```python
    bernoulli_log_likelihood(x, decoder(z))  # (batch,)
    ```
    """
    # log sigmoid(l) * x + log(1 - sigmoid(l)) * (1 - x), written stably.
    values = x * logits - ops.softplus(logits)
    return _sum_per_example(values)


def gaussian_log_likelihood(x, mean, log_scale):
    """Diagonal Gaussian `log N(x; mean, exp(log_scale)^2)` summed per example."""
    values = -0.5 * LOG_2PI - log_scale - 0.5 * ops.square((x - mean) * ops.exp(-log_scale))
    return _sum_per_example(values)


def standard_normal_log_prob(z):
    """`log N(z; 0, I)` summed per example."""
    return _sum_per_example(-0.5 * LOG_2PI - 0.5 * ops.square(z))


def diagonal_normal_log_prob(z, mean, log_var):
    """`log N(z; mean, diag(exp(log_var)))` summed per example."""
    values = -0.5 * (LOG_2PI + log_var + ops.square(z - mean) * ops.exp(-log_var))
    return _sum_per_example(values)


def gaussian_kl_to_standard_normal(mean, log_var):
    """Closed-form `KL(N(mean, exp(log_var)) || N(0, I))` per example."""
    values = -0.5 * (1.0 + log_var - ops.square(mean) - ops.exp(log_var))
    return _sum_per_example(values)
