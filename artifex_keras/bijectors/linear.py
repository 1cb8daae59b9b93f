"""`InvertibleLinear`: a learned invertible matrix on the last axis, LU-parametrised (Glow's 1x1 convolution)."""

import keras
import numpy as np
from keras import ops

from artifex_keras.bijectors.base import Bijector


@keras.saving.register_keras_serializable(package="artifex_keras")
class InvertibleLinear(Bijector):
    """`y = W x` over the last axis with `W = P L (U + diag(sign * exp(log_scale)))`.

    `P` is a fixed permutation, `L` unit lower-triangular and `U` strictly
    upper-triangular, so `log |det W| = sum(log_scale)` costs `O(D)` and
    the inverse is two triangular solves. On images `(H, W, C)` it mixes
    the channels of every pixel: Glow's invertible 1x1 convolution, with
    the log-determinant counted once per pixel.

    Args:
        seed: seed of the initial permutation `P` and of the initial
            orthogonal matrix (`W` starts as a random rotation).

    Example:
    ```python
    mix = InvertibleLinear(seed=0)
    y, log_det = mix.forward(images)   # (batch, H, W, C), (batch,)
    ```

    Reference:
        Kingma & Dhariwal, "Glow: Generative Flow with Invertible 1x1 Convolutions", NeurIPS 2018.
    """

    def __init__(self, seed=0, **kwargs):
        super().__init__(**kwargs)
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ValueError(f"{type(self).__name__}: `seed` must be a non-negative int, got {seed!r}")
        self.seed = seed

    def build(self, input_shape):
        super().build(input_shape)
        size = int(input_shape[-1])
        rotation, _ = np.linalg.qr(np.random.default_rng(self.seed).standard_normal((size, size)))
        permutation, lower, upper = _lu(rotation)
        diagonal = np.diag(upper)
        self.permutation = self.add_weight(
            shape=(size, size), initializer=keras.initializers.Constant(permutation), trainable=False,
            name="permutation",
        )  # fmt: skip
        self.sign = self.add_weight(
            shape=(size,), initializer=keras.initializers.Constant(np.sign(diagonal)), trainable=False, name="sign"
        )
        self.lower = self.add_weight(
            shape=(size, size), initializer=keras.initializers.Constant(lower), name="lower"
        )
        self.upper = self.add_weight(
            shape=(size, size), initializer=keras.initializers.Constant(np.triu(upper, 1)), name="upper"
        )
        self.log_scale = self.add_weight(
            shape=(size,), initializer=keras.initializers.Constant(np.log(np.abs(diagonal))), name="log_scale"
        )
        self._strict_lower = np.tril(np.ones((size, size), "float32"), -1)
        self._identity = np.eye(size, dtype="float32")

    def _factors(self):
        strict_lower = ops.convert_to_tensor(self._strict_lower)
        lower = ops.convert_to_tensor(self.lower) * strict_lower + ops.convert_to_tensor(self._identity)
        diagonal = ops.convert_to_tensor(self.sign) * ops.exp(ops.convert_to_tensor(self.log_scale))
        upper = ops.convert_to_tensor(self.upper) * ops.transpose(strict_lower) + ops.diag(diagonal)
        return ops.convert_to_tensor(self.permutation), lower, upper

    def weight_matrix(self):
        """The current `W` as a `(D, D)` tensor."""
        permutation, lower, upper = self._factors()
        return ops.matmul(permutation, ops.matmul(lower, upper))

    def _positions(self, x):
        return float(np.prod(x.shape[1:-1])) if len(x.shape) > 2 else 1.0

    def forward(self, x, context=None):
        x, _ = self._prepare(x, context)
        y = ops.matmul(x, ops.transpose(self.weight_matrix()))
        log_det = ops.sum(ops.convert_to_tensor(self.log_scale)) * self._positions(x)
        return y, ops.broadcast_to(log_det, (ops.shape(x)[0],))

    def inverse(self, y, context=None):
        y, _ = self._prepare(y, context, inverse=True)
        permutation, lower, upper = self._factors()
        # W^-1 = U^-1 L^-1 P^T, from two triangular solves against the identity.
        inverse_lower = ops.solve_triangular(lower, ops.convert_to_tensor(self._identity), lower=True)
        inverse = ops.matmul(ops.solve_triangular(upper, inverse_lower, lower=False), ops.transpose(permutation))
        x = ops.matmul(y, ops.transpose(inverse))
        log_det = -ops.sum(ops.convert_to_tensor(self.log_scale)) * self._positions(y)
        return x, ops.broadcast_to(log_det, (ops.shape(y)[0],))

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}


@keras.saving.register_keras_serializable(package="artifex_keras")
class Invertible1x1Conv(InvertibleLinear):
    """Glow's invertible 1x1 convolution: `InvertibleLinear` over the channels of `(H, W, C)` images.

    Args:
        seed: seed of the initial random rotation.

    Example:
    ```python
    y, log_det = Invertible1x1Conv().forward(images)
    ```

    Reference:
        Kingma & Dhariwal, "Glow: Generative Flow with Invertible 1x1 Convolutions", NeurIPS 2018.
    """

    def build(self, input_shape):
        if len(input_shape) != 4:
            raise ValueError(
                f"Invertible1x1Conv: inputs must be images (batch, height, width, channels), got shape "
                f"{tuple(input_shape)}"
            )
        super().build(input_shape)


def _lu(matrix):
    """`P, L, U` with `matrix = P @ L @ U` (partial pivoting), in NumPy float64."""
    size = len(matrix)
    upper = np.array(matrix, dtype=np.float64)
    lower = np.eye(size)
    rows = np.arange(size)
    for column in range(size):
        pivot = column + int(np.argmax(np.abs(upper[column:, column])))
        if pivot != column:
            upper[[column, pivot]] = upper[[pivot, column]]
            lower[[column, pivot], :column] = lower[[pivot, column], :column]
            rows[[column, pivot]] = rows[[pivot, column]]
        for row in range(column + 1, size):
            lower[row, column] = upper[row, column] / upper[column, column]
            upper[row] -= lower[row, column] * upper[column]
    # The row swaps give eye[rows] @ matrix = L U, so matrix = eye[rows].T @ L @ U.
    permutation = np.eye(size)[rows].T
    return permutation, lower, upper
