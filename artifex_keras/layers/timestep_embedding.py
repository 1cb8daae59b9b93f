"""Timestep embeddings of diffusion networks: sinusoidal features, then a two-layer MLP."""

import math

import keras
from keras import ops

from artifex_keras import validation


def sinusoidal_embedding(timesteps, dim, max_period=10000.0):
    """`(batch, dim)` features `[cos(t w_k), sin(t w_k)]`, `w_k = max_period^(-k / (dim / 2))`.

    `timesteps` `(batch,)` may be fractional. An odd `dim` gets a zero last
    feature.

    Reference:
        Vaswani et al., "Attention Is All You Need", NeurIPS 2017 (section 3.5).
    """
    half = dim // 2
    frequencies = ops.exp(ops.arange(half, dtype="float32") * (-math.log(max_period) / half))
    angles = ops.cast(ops.reshape(timesteps, (-1, 1)), "float32") * frequencies[None, :]
    features = ops.concatenate([ops.cos(angles), ops.sin(angles)], axis=-1)
    if dim % 2:
        features = ops.pad(features, ((0, 0), (0, 1)))
    return features


@keras.saving.register_keras_serializable(package="artifex_keras")
class TimestepEmbedding(keras.layers.Layer):
    """Sinusoidal features of the timestep, then `Dense(units) -> SiLU -> Dense(units)`.

    Args:
        units: size of the embedding (4x the UNet's first channel count in DDPM).
        frequency_dim: number of sinusoidal features.
        max_period: longest period of the sinusoids.

    Example:
    ```python
    embed = TimestepEmbedding(512, frequency_dim=128)
    embed(ops.convert_to_tensor([0.0, 10.5, 999.0])).shape     # (3, 512)
    ```

    Reference:
        Ho, Jain & Abbeel, "Denoising Diffusion Probabilistic Models", NeurIPS 2020 (appendix B).
    """

    def __init__(self, units, frequency_dim=128, max_period=10000.0, **kwargs):
        super().__init__(**kwargs)
        owner = type(self).__name__
        self.units = validation.check_positive_int(owner, "units", units)
        self.frequency_dim = validation.check_positive_int(owner, "frequency_dim", frequency_dim)
        self.max_period = float(max_period)
        self.hidden = keras.layers.Dense(self.units, activation="silu", name="linear_1")
        self.output_dense = keras.layers.Dense(self.units, name="linear_2")

    def build(self, input_shape=None):
        self.hidden.build((None, self.frequency_dim))
        self.output_dense.build((None, self.units))

    def call(self, timesteps):
        features = sinusoidal_embedding(timesteps, self.frequency_dim, self.max_period)
        return self.output_dense(self.hidden(ops.cast(features, self.compute_dtype)))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.units)

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "frequency_dim": self.frequency_dim,
            "max_period": self.max_period,
        }
