"""Permutations of the last axis: fixed, reversed and random."""

import keras
import numpy as np
from keras import ops

from artifex_keras.bijectors.base import Bijector


@keras.saving.register_keras_serializable(package="artifex_keras")
class Permutation(Bijector):
    """Reorder the features (last axis): `y[..., i] = x[..., permutation[i]]`; log-determinant 0.

    Args:
        permutation: a list holding each index of the last axis once.

    Example:
    ```python
    Permutation([2, 0, 1]).forward(x)   # features (x2, x0, x1)
    ```
    """

    def __init__(self, permutation, **kwargs):
        super().__init__(**kwargs)
        permutation = [int(i) for i in permutation]
        if sorted(permutation) != list(range(len(permutation))):
            raise ValueError(
                f"{type(self).__name__}: `permutation` must hold each of 0..{len(permutation) - 1} once, "
                f"got {permutation}"
            )
        self.permutation = permutation

    def build(self, input_shape):
        super().build(input_shape)
        if input_shape[-1] != len(self.permutation):
            raise ValueError(
                f"{type(self).__name__}: the permutation has {len(self.permutation)} entries but the inputs have "
                f"{input_shape[-1]} features (last axis)"
            )

    def forward(self, x, context=None):
        x, _ = self._prepare(x, context)
        permutation = ops.convert_to_tensor(np.array(self.permutation, "int32"))
        return ops.take(x, permutation, axis=-1), ops.zeros((ops.shape(x)[0],), x.dtype)

    def inverse(self, y, context=None):
        y, _ = self._prepare(y, context, inverse=True)
        inverse = np.argsort(np.array(self.permutation)).astype("int32")
        return ops.take(y, ops.convert_to_tensor(inverse), axis=-1), ops.zeros((ops.shape(y)[0],), y.dtype)

    def get_config(self):
        return {**super().get_config(), "permutation": list(self.permutation)}


@keras.saving.register_keras_serializable(package="artifex_keras")
class ReversePermutation(Permutation):
    """Reverse the order of the features (last axis), sized on first use.

    Example:
    ```python
    ReversePermutation().forward(x)   # x[..., ::-1]
    ```
    """

    def __init__(self, **kwargs):
        kwargs.pop("permutation", None)
        Bijector.__init__(self, **kwargs)
        self.permutation = None

    def build(self, input_shape):
        self.permutation = list(range(input_shape[-1]))[::-1]
        super().build(input_shape)

    def get_config(self):
        config = super().get_config()
        config.pop("permutation")
        return config


@keras.saving.register_keras_serializable(package="artifex_keras")
class RandomPermutation(Permutation):
    """A fixed random order of the features (last axis), drawn from `seed` on first use.

    Args:
        seed: the NumPy seed of the permutation.

    Example:
    ```python
    RandomPermutation(seed=3)
    ```
    """

    def __init__(self, seed=0, **kwargs):
        kwargs.pop("permutation", None)
        Bijector.__init__(self, **kwargs)
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ValueError(f"RandomPermutation: `seed` must be a non-negative int, got {seed!r}")
        self.seed = seed
        self.permutation = None

    def build(self, input_shape):
        self.permutation = [int(i) for i in np.random.default_rng(self.seed).permutation(input_shape[-1])]
        super().build(input_shape)

    def get_config(self):
        config = super().get_config()
        config.pop("permutation")
        return {**config, "seed": self.seed}
