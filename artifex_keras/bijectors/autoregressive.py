"""`MaskedAutoregressive`: an autoregressive transform whose parameters come from a MADE (MAF, IAF, NSF)."""

import keras
import numpy as np
from keras import ops

from artifex_keras.bijectors.base import Bijector
from artifex_keras.bijectors.base import sum_except_batch
from artifex_keras.bijectors.made import made_layers
from artifex_keras.bijectors.made import ordering_degrees
from artifex_keras.bijectors.transformers import make_transformer


@keras.saving.register_keras_serializable(package="artifex_keras")
class MaskedAutoregressive(Bijector):
    """`y_i = tau(x_i; theta_i(x_<i))` in an ordering, with all `theta` from one MADE pass.

    `forward` (the density direction of MAF) is one network pass. `inverse`
    is exact: it solves for the dimensions one position of the ordering at
    a time, `D` passes in an `ops.fori_loop`; after pass `k` the first `k`
    dimensions of the ordering are final, because each depends only on
    earlier ones. Wrap it in `Invert` for IAF (fast sampling).

    Args:
        hidden_units: units of the MADE's hidden layers.
        ordering: ``"natural"``, ``"reversed"``, ``"random"`` or an explicit
            list of positions 1..D (dimension `i` is the `ordering[i]`-th).
        transformer: ``"affine"`` (MAF) or ``"spline"`` (autoregressive NSF).
        num_bins, bound: the spline's bins and half-width.
        seed: seed of a ``"random"`` ordering.
        activation: of the hidden layers.
        context_dim: width of a context vector every output sees.

    Example:
    ```python
    step = MaskedAutoregressive(hidden_units=(64, 64), ordering="reversed", transformer="spline")
    z, log_det = step.forward(x)        # one pass
    x_back, _ = step.inverse(z)         # D passes, exact
    ```

    Reference:
        Papamakarios, Pavlakou & Murray, "Masked Autoregressive Flow for Density Estimation", NeurIPS 2017.
    """

    def __init__(self, hidden_units=(64, 64), ordering="natural", transformer="affine", num_bins=8, bound=5.0,
                 seed=0, activation="relu", **kwargs):  # fmt: skip
        super().__init__(**kwargs)
        owner = type(self).__name__
        self.hidden_units = tuple(int(u) for u in hidden_units)
        if any(u < 1 for u in self.hidden_units):
            raise ValueError(f"{owner}: `hidden_units` must be positive ints, got {hidden_units!r}")
        self.ordering = ordering if isinstance(ordering, str) else [int(i) for i in ordering]
        ordering_degrees(owner, ordering, len(ordering) if not isinstance(ordering, str) else 1, seed)
        self.transformer_name = transformer
        self.transformer = make_transformer(owner, transformer, num_bins, bound)
        self.num_bins = num_bins
        self.bound = bound
        self.seed = seed
        self.activation = activation

    def build(self, input_shape):
        super().build(input_shape)
        if len(self.event_shape) != 1:
            raise ValueError(
                f"{type(self).__name__}: inputs must be vectors (batch, features), got shape {tuple(input_shape)}"
            )
        self.degrees = ordering_degrees(type(self).__name__, self.ordering, self.event_shape[0], self.seed)
        self.made = made_layers(
            self.degrees, self.hidden_units, self.transformer.num_params, self.context_dim, self.activation,
            name=self.name,
        )  # fmt: skip
        width = self.event_shape[0] + self.context_dim
        for layer in self.made:
            layer.build((None, width))
            width = layer.units
        # The output layer starts at zero weights; its bias makes the transform the identity.
        identity = np.tile(np.asarray(self.transformer.identity_parameters(), "float32"), self.event_shape[0])
        self.made[-1].bias.assign(identity)

    def transform_parameters(self, x, context=None):
        """Transformer parameters `(batch, D, P)` for inputs `x`; those of dimension `i` depend on `x_<i` only."""
        h = x if context is None else ops.concatenate([x, context], axis=-1)
        for layer in self.made:
            h = layer(h)
        return ops.reshape(h, (ops.shape(x)[0], self.event_shape[0], self.transformer.num_params))

    def forward(self, x, context=None):
        x, context = self._prepare(x, context)
        y, log_det = self.transformer.forward(x, self.transform_parameters(x, context))
        return y, sum_except_batch(log_det)

    def inverse(self, y, context=None):
        y, context = self._prepare(y, context, inverse=True)

        def solve(step, x):
            return self.transformer.inverse(y, self.transform_parameters(x, context))[0]

        x = ops.fori_loop(0, self.event_shape[0], solve, ops.zeros_like(y))
        _, log_det = self.transformer.inverse(y, self.transform_parameters(x, context))
        return x, sum_except_batch(log_det)

    def get_config(self):
        return {
            **super().get_config(),
            "hidden_units": list(self.hidden_units),
            "ordering": self.ordering,
            "transformer": self.transformer_name,
            "num_bins": self.num_bins,
            "bound": self.bound,
            "seed": self.seed,
            "activation": self.activation,
        }
