"""`Logit`: map values in (0, 1) to the real line, squeezed away from 0 and 1 (RealNVP's image preprocessing)."""

import keras
from keras import ops

from artifex_keras.bijectors.base import Bijector
from artifex_keras.bijectors.base import sum_except_batch


@keras.saving.register_keras_serializable(package="artifex_keras")
class Logit(Bijector):
    """`y = logit(alpha + (1 - 2 alpha) x)` elementwise, for `x` in [0, 1].

    Args:
        alpha: margin that keeps the logit finite at 0 and 1.

    Example:
    ```python
    y, log_det = Logit(alpha=0.05).forward(dequantized_images)
    ```

    Reference:
        Dinh et al., "Density estimation using Real NVP", ICLR 2017 (section 4.1).
    """

    def __init__(self, alpha=0.05, **kwargs):
        super().__init__(**kwargs)
        if not (isinstance(alpha, (int, float)) and 0.0 < alpha < 0.5):
            raise ValueError(f"Logit: `alpha` must be a number in (0, 0.5), got {alpha!r}")
        self.alpha = float(alpha)

    def forward(self, x, context=None):
        x, _ = self._prepare(x, context)
        squeezed = self.alpha + (1.0 - 2.0 * self.alpha) * x
        y = ops.log(squeezed) - ops.log1p(-squeezed)
        log_det = ops.log(1.0 - 2.0 * self.alpha) - ops.log(squeezed) - ops.log1p(-squeezed)
        return y, sum_except_batch(log_det)

    def inverse(self, y, context=None):
        y, _ = self._prepare(y, context, inverse=True)
        squeezed = ops.sigmoid(y)
        x = (squeezed - self.alpha) / (1.0 - 2.0 * self.alpha)
        # log(s (1 - s)) = -softplus(-y) - softplus(y), stable for large |y|.
        log_det = -ops.log(1.0 - 2.0 * self.alpha) - ops.softplus(-y) - ops.softplus(y)
        return x, sum_except_batch(log_det)

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha}
