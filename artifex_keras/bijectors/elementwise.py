"""Learned elementwise bijectors: `Affine` (scale and shift) and `RationalQuadraticSpline`."""

import keras
import numpy as np
from keras import ops

from artifex_keras.bijectors.base import Bijector
from artifex_keras.bijectors.base import sum_except_batch
from artifex_keras.bijectors.transformers import make_transformer


class _Elementwise(Bijector):
    """One learned elementwise transformer per value of the event (the parameters do not depend on `x`)."""

    def __init__(self, transformer, num_bins=8, bound=5.0, **kwargs):
        super().__init__(**kwargs)
        self.transformer = make_transformer(type(self).__name__, transformer, num_bins, bound)

    def build(self, input_shape):
        super().build(input_shape)
        shape = (*self.event_shape, self.transformer.num_params)
        identity = np.broadcast_to(np.asarray(self.transformer.identity_parameters(), "float32"), shape).copy()
        self.params = self.add_weight(shape=shape, initializer=keras.initializers.Constant(identity), name="params")

    def _params(self, value):
        return ops.broadcast_to(ops.convert_to_tensor(self.params), (ops.shape(value)[0], *self.params.shape))

    def forward(self, x, context=None):
        x, _ = self._prepare(x, context)
        y, log_det = self.transformer.forward(x, self._params(x))
        return y, sum_except_batch(log_det)

    def inverse(self, y, context=None):
        y, _ = self._prepare(y, context, inverse=True)
        x, log_det = self.transformer.inverse(y, self._params(y))
        return x, sum_except_batch(log_det)


@keras.saving.register_keras_serializable(package="artifex_keras")
class Affine(_Elementwise):
    """`y = x * exp(s) + t` with a learned shift `t` and bounded log-scale `s` per value; starts as the identity.

    Example:
    ```python
    Affine().build_for((2,)).forward(x)
    ```
    """

    def __init__(self, **kwargs):
        super().__init__("affine", **kwargs)


@keras.saving.register_keras_serializable(package="artifex_keras")
class RationalQuadraticSpline(_Elementwise):
    """A learned monotonic rational-quadratic spline per value, identity outside `[-bound, bound]`.

    Args:
        num_bins: bins of each spline.
        bound: the spline acts on `[-bound, bound]`; linear (identity) tails outside.

    Example:
    ```python
    RationalQuadraticSpline(num_bins=8, bound=4.0).build_for((2,))
    ```

    Reference:
        Durkan et al., "Neural Spline Flows", NeurIPS 2019.
    """

    def __init__(self, num_bins=8, bound=5.0, **kwargs):
        super().__init__("spline", num_bins=num_bins, bound=bound, **kwargs)
        self.num_bins = num_bins
        self.bound = bound

    def get_config(self):
        return {**super().get_config(), "num_bins": self.num_bins, "bound": self.bound}
