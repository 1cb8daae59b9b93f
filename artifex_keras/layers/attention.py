"""Self-attention over the positions of a feature map, through `keras.ops.dot_product_attention`."""

import keras
from keras import ops

from artifex_keras import validation


@keras.saving.register_keras_serializable(package="artifex_keras")
class SpatialSelfAttention(keras.layers.Layer):
    """Multi-head self-attention over the positions of a `(batch, height, width, channels)` map, with a residual.

    `x + W_o attention(W_q h, W_k h, W_v h)`, `h = GroupNorm(x)`, each head of
    size `head_dim`; the attention runs through `keras.ops.dot_product_attention`,
    so each backend's fused kernel is used where it has one.

    Args:
        head_dim: channels per head (channels must divide by it).
        num_groups: groups of the normalisation (channels must divide by it).
        epsilon: of the normalisation.

    Example:
    ```python
    attention = SpatialSelfAttention(head_dim=8, num_groups=8)
    attention(keras.random.normal((2, 16, 16, 64))).shape     # (2, 16, 16, 64)
    ```

    Reference:
        Vaswani et al., "Attention Is All You Need", NeurIPS 2017; as placed in the UNet of
        Ho, Jain & Abbeel, "Denoising Diffusion Probabilistic Models", NeurIPS 2020.
    """

    def __init__(self, head_dim=8, num_groups=32, epsilon=1e-6, **kwargs):
        super().__init__(**kwargs)
        owner = type(self).__name__
        self.head_dim = validation.check_positive_int(owner, "head_dim", head_dim)
        self.num_groups = validation.check_positive_int(owner, "num_groups", num_groups)
        self.epsilon = float(epsilon)
        self.norm = keras.layers.GroupNormalization(self.num_groups, epsilon=self.epsilon, name="group_norm")

    def build(self, input_shape):
        channels = input_shape[-1]
        owner = type(self).__name__
        if channels % self.head_dim or channels % self.num_groups:
            raise ValueError(
                f"{owner}: the channels of the input must be divisible by `head_dim` ({self.head_dim}) and "
                f"`num_groups` ({self.num_groups}), got {channels}"
            )
        self.norm.build((None, None, None, channels))
        # The projections' sizes follow the input's channels, known here.
        self.query = keras.layers.Dense(channels, name="to_q")
        self.key = keras.layers.Dense(channels, name="to_k")
        self.value = keras.layers.Dense(channels, name="to_v")
        self.output_dense = keras.layers.Dense(channels, name="to_out")
        for dense in (self.query, self.key, self.value, self.output_dense):
            dense.build((None, channels))

    def call(self, inputs):
        batch, height, width, channels = ops.shape(inputs)
        heads = channels // self.head_dim
        h = ops.reshape(self.norm(inputs), (batch, height * width, channels))

        def split(tensor):
            return ops.reshape(tensor, (batch, height * width, heads, self.head_dim))

        attended = ops.dot_product_attention(split(self.query(h)), split(self.key(h)), split(self.value(h)))
        out = self.output_dense(ops.reshape(attended, (batch, height * width, channels)))
        return inputs + ops.reshape(out, (batch, height, width, channels))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "head_dim": self.head_dim,
            "num_groups": self.num_groups,
            "epsilon": self.epsilon,
        }
