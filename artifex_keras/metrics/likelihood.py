"""Likelihood bookkeeping: nats to bits per dimension, dequantisation, IWAE and ELBO estimates.

A continuous density `p` fitted to discrete data (say 8-bit pixels `x` in
`{0, ..., 255}`) is compared with discrete models through uniform
dequantisation: the model sees `z = (x + u) / s` with `u ~ U[0, 1)^D`, and
`-log P(x) <= E_u[-log p(z)] + D log s` (Theis et al., 2016). The `D log s`
term is the change of variables from `z` back to the unit-width bins of
`x`. So a density on `(x + u) / 256`, in [0, 1), gains `log 256` nats per
dimension, one on `(x + u) / 255` gains `log 255`, and one on
`(x + u) / 128 - 1`, in [-1, 1), gains `log 128`.

Example:
```python
from artifex_keras.metrics import bits_per_dim

bits_per_dim(flow_nll_nats, num_dims=28 * 28, data_scale="unit")   # flow on (x + u) / 256
bits_per_dim(pixelcnn_nll_nats, num_dims=28 * 28)                   # already a discrete NLL
```
"""

import math
import numbers

import numpy as np

from artifex_keras.metrics import _checks

DATA_SCALES = ("unit", "symmetric")


def nats_to_bits_per_dim(nats, num_dims):
    """`nats / (num_dims * ln 2)`: a per-example NLL in nats as bits per dimension.

    Example:
    ```python
    nats_to_bits_per_dim(784 * math.log(2.0), 784)   # 1.0
    ```
    """
    owner = "nats_to_bits_per_dim"
    num_dims = _checks.positive_int(owner, "num_dims", num_dims)
    return _result(_checks.float_array(owner, "nats", nats) / (num_dims * math.log(2.0)))


def bits_per_dim(nll_nats, num_dims, num_bins=256, data_scale=None):
    """Bits per dimension of discrete data from a per-example NLL in nats, with the dequantisation correction.

    Adds `num_dims * log(s)` nats to a density evaluated on `(x + u) / s`
    (see the module docstring), then divides by `num_dims * ln 2`.

    Args:
        nll_nats: `-log p` per example (a number or an array), in nats.
        num_dims: values per example `D`, e.g. `28 * 28 * 1`.
        num_bins: quantisation levels per value (256 for 8-bit data); sets `s`
            for the named `data_scale`s.
        data_scale: how the density's inputs relate to the integer data
            `x` in `{0, ..., num_bins - 1}` and the noise `u ~ U[0, 1)`:
            - None: `nll_nats` already is a discrete NLL (categorical or
              discretised-logistic likelihoods), no correction;
            - `"unit"`: `(x + u) / num_bins`, in [0, 1); adds `log(num_bins)` per dimension;
            - `"symmetric"`: `2 (x + u) / num_bins - 1`, in [-1, 1); adds `log(num_bins / 2)`;
            - a number `s`: `(x + u) / s` plus any shift; adds `log(s)`. Data from
              `artifex_keras.data.load(scale="unit")` is `x / 255`, so a density
              on `(x + u) / 255` needs `data_scale=255`, not `"unit"`.

    Returns:
        bits per dimension, a float or an array shaped like `nll_nats`.

    Example:
    ```python
    # A uniform density on [0, 1)^D puts 1/256 on every bin: 8 bits per dimension.
    bits_per_dim(0.0, num_dims=784, data_scale="unit")   # 8.0
    ```

    Reference:
        Theis et al., "A note on the evaluation of generative models", ICLR 2016.
    """
    owner = "bits_per_dim"
    num_dims = _checks.positive_int(owner, "num_dims", num_dims)
    num_bins = _checks.positive_int(owner, "num_bins", num_bins)
    nll = _checks.float_array(owner, "nll_nats", nll_nats)
    if data_scale is None:
        scale = 1.0
    elif isinstance(data_scale, str):
        if data_scale not in DATA_SCALES:
            raise ValueError(
                f"{owner}: `data_scale` must be None, {', '.join(map(repr, DATA_SCALES))} or a positive number, "
                f"got {data_scale!r}"
            )
        scale = num_bins if data_scale == "unit" else num_bins / 2.0
    else:
        scale = _checks.positive_number(owner, "data_scale", data_scale)
    return nats_to_bits_per_dim(nll + num_dims * math.log(scale), num_dims)


def importance_weighted_nll(log_weights, axis=-1):
    """`-log mean_k exp(log_weights_k)`: the IWAE bound on `-log p(x)`, computed stably.

    Args:
        log_weights: `log p(x, z_k) - log q(z_k | x)` for `K` samples `z_k ~ q(z | x)`,
            e.g. shaped `(N, K)`.
        axis: the samples axis.

    Returns:
        the bound per example (the samples axis removed), in nats; a float for a 1-D input.

    Example:
    ```python
    importance_weighted_nll(np.log([[1.0, 3.0]]))   # array([-log 2]) = array([-0.693...])
    ```

    Reference:
        Burda et al., "Importance Weighted Autoencoders", ICLR 2016.
    """
    from scipy import special

    owner = "importance_weighted_nll"
    weights = _checks.float_array(owner, "log_weights", log_weights)
    if weights.ndim == 0 or not isinstance(axis, numbers.Integral) or not -weights.ndim <= axis < weights.ndim:
        raise ValueError(
            f"{owner}: `axis` must name an axis of `log_weights` (shape {weights.shape}), got {axis!r}"
        )
    count = weights.shape[axis]
    if count == 0:
        raise ValueError(
            f"{owner}: `log_weights` must hold at least one sample along axis {axis}, got shape {weights.shape}"
        )
    # logsumexp subtracts the maximum first, so large log-weights do not overflow.
    return _result(math.log(count) - special.logsumexp(weights, axis=axis))


def elbo_from_terms(log_likelihood, kl):
    """The evidence lower bound `E_q[log p(x | z)] - KL(q(z | x) || p(z))` per example, in nats.

    Example:
    ```python
    elbo_from_terms(np.array([-90.0, -100.0]), np.array([10.0, 5.0]))   # array([-100., -105.])
    ```

    Reference:
        Kingma and Welling, "Auto-Encoding Variational Bayes", ICLR 2014.
    """
    owner = "elbo_from_terms"
    log_likelihood = _checks.float_array(owner, "log_likelihood", log_likelihood)
    kl = _checks.float_array(owner, "kl", kl)
    if log_likelihood.shape != kl.shape:
        raise ValueError(
            f"{owner}: `log_likelihood` and `kl` must have the same shape, got {log_likelihood.shape} and {kl.shape}"
        )
    return _result(log_likelihood - kl)


def _result(values):
    return float(values) if np.ndim(values) == 0 else values
