"""MADE: a dense network whose output for a dimension sees only the dimensions before it in an ordering."""

import keras
import numpy as np
from keras import ops

ORDERINGS = ("natural", "reversed", "random")


def ordering_degrees(owner, ordering, size, seed=0):
    """Degree (1..size) of each input dimension: its position in the autoregressive order.

    `ordering` is ``"natural"`` (0, 1, ...), ``"reversed"``, ``"random"`` (from `seed`),
    or an explicit list of `size` distinct positions starting at 1.
    """
    if isinstance(ordering, str):
        if ordering not in ORDERINGS:
            raise ValueError(f"{owner}: `ordering` must be one of {', '.join(map(repr, ORDERINGS))} or a list, "
                             f"got {ordering!r}")  # fmt: skip
        if ordering == "natural":
            return np.arange(1, size + 1)
        if ordering == "reversed":
            return np.arange(size, 0, -1)
        return np.random.default_rng(seed).permutation(size) + 1
    degrees = np.asarray(ordering, dtype=int)
    if sorted(degrees.tolist()) != list(range(1, size + 1)):
        raise ValueError(f"{owner}: an explicit `ordering` must hold each of 1..{size} once, got {list(ordering)}")
    return degrees


@keras.saving.register_keras_serializable(package="artifex_keras")
class MaskedDense(keras.layers.Layer):
    """A dense layer whose kernel is multiplied by a fixed 0/1 mask `(inputs, units)`."""

    def __init__(self, mask, activation=None, zero_init=False, **kwargs):
        super().__init__(**kwargs)
        self.mask = np.asarray(mask, dtype="float32")
        self.units = self.mask.shape[1]
        self.activation = keras.activations.get(activation)
        self.zero_init = zero_init

    def build(self, input_shape):
        self.kernel = self.add_weight(
            shape=self.mask.shape, initializer="zeros" if self.zero_init else "glorot_uniform", name="kernel"
        )
        self.bias = self.add_weight(shape=(self.units,), initializer="zeros", name="bias")

    def call(self, x):
        kernel = ops.convert_to_tensor(self.kernel) * ops.convert_to_tensor(self.mask)
        return self.activation(ops.matmul(x, kernel) + self.bias)

    def get_config(self):
        return {
            **super().get_config(),
            "mask": self.mask.tolist(),
            "activation": keras.activations.serialize(self.activation),
            "zero_init": self.zero_init,
        }


def made_layers(degrees, hidden_units, num_params, context_dim=0, activation="relu", name="made"):
    """Masked dense layers of a MADE over inputs with `degrees`, `num_params` outputs per input dimension.

    The inputs are the `D` dimensions followed by `context_dim` context
    values (degree 0: every output may see them). Hidden unit `k` of a
    layer gets degree `k mod (D - 1) + 1`, so every degree below `D` is
    used; a unit sees units of lower or equal degree, and the outputs of
    dimension `d` (laid out `d * num_params + p`) see only units of
    degree below `degrees[d]`.

    Reference:
        Germain, Gregor, Murray & Larochelle, "MADE: Masked Autoencoder for Distribution Estimation", ICML 2015.
    """
    size = len(degrees)
    input_degrees = np.concatenate([np.asarray(degrees), np.zeros(context_dim, dtype=int)])
    layers = []
    previous = input_degrees
    for index, units in enumerate(hidden_units):
        hidden = np.arange(units) % max(1, size - 1) + 1
        mask = (hidden[None, :] >= previous[:, None]).astype("float32")
        layers.append(MaskedDense(mask, activation=activation, name=f"{name}_hidden_{index}"))
        previous = hidden
    output_degrees = np.repeat(np.asarray(degrees), num_params)
    mask = (output_degrees[None, :] > previous[:, None]).astype("float32")
    layers.append(MaskedDense(mask, zero_init=True, name=f"{name}_output"))
    return layers
