"""Attention over the positions of a feature map, through `keras.ops.dot_product_attention`.

`SpatialSelfAttention` lets every position of a `(batch, ..., channels)` map
(an image, a sequence) attend to every other; `CrossAttention` lets them
attend to a context sequence `(batch, tokens, context_dim)` (text-encoder
states, say). Both normalise the map, project it to heads of `head_dim`
channels, and add the projected result back (a residual).
"""

import keras
from keras import ops

from artifex_keras import validation


def _unknown_sizes(shape):
    """`shape` with every size but the channels unknown: the map's layers serve any batch and size."""
    return (None,) * (len(shape) - 1) + (shape[-1],)


def _check_channels(owner, channels, head_dim, num_groups):
    if channels % head_dim or channels % num_groups:
        raise ValueError(
            f"{owner}: the channels of the input must be divisible by `head_dim` ({head_dim}) and "
            f"`num_groups` ({num_groups}), got {channels}"
        )


def _attend(query, key, value, head_dim, mask=None):
    """Multi-head attention of `(batch, positions, channels)` queries to `(batch, tokens, channels)` keys and values."""
    batch, channels = ops.shape(query)[0], query.shape[-1]
    heads = channels // head_dim

    def split(tensor):
        return ops.reshape(tensor, (batch, -1, heads, head_dim))

    attended = ops.dot_product_attention(split(query), split(key), split(value), mask=mask)
    return ops.reshape(attended, (batch, -1, channels))


class _NormalizedAttention(keras.layers.Layer):
    """What both attention layers share: the group normalisation of the map and the four projections."""

    def __init__(self, head_dim=8, num_groups=32, epsilon=1e-6, **kwargs):
        super().__init__(**kwargs)
        owner = type(self).__name__
        self.head_dim = validation.check_positive_int(owner, "head_dim", head_dim)
        self.num_groups = validation.check_positive_int(owner, "num_groups", num_groups)
        self.epsilon = float(epsilon)
        self.norm = keras.layers.GroupNormalization(self.num_groups, epsilon=self.epsilon, name="group_norm")

    def _build_projections(self, map_shape, source_channels):
        """Check the channels; build the normalisation and projections (keys and values from `source_channels`)."""
        channels = map_shape[-1]
        _check_channels(type(self).__name__, channels, self.head_dim, self.num_groups)
        self.norm.build(_unknown_sizes(map_shape))
        # The projections' sizes follow the input's channels, known here.
        self.query = keras.layers.Dense(channels, name="to_q")
        self.key = keras.layers.Dense(channels, name="to_k")
        self.value = keras.layers.Dense(channels, name="to_v")
        self.output_dense = keras.layers.Dense(channels, name="to_out")
        for dense in (self.query, self.output_dense):
            dense.build((None, channels))
        for dense in (self.key, self.value):
            dense.build((None, source_channels))

    def get_config(self):
        return {
            **super().get_config(),
            "head_dim": self.head_dim,
            "num_groups": self.num_groups,
            "epsilon": self.epsilon,
        }


@keras.saving.register_keras_serializable(package="artifex_keras")
class SpatialSelfAttention(_NormalizedAttention):
    """Multi-head self-attention over the positions of a `(batch, ..., channels)` map, with a residual.

    `x + W_o attention(W_q h, W_k h, W_v h)`, `h = GroupNorm(x)`, each head of
    size `head_dim`, over all positions of the map (the pixels of an image,
    the steps of a sequence); the attention runs through
    `keras.ops.dot_product_attention`, so each backend's fused kernel is used
    where it has one.

    Args:
        head_dim: channels per head (channels must divide by it).
        num_groups: groups of the normalisation (channels must divide by it).
        epsilon: of the normalisation.

    Example:
    ```python
    attention = SpatialSelfAttention(head_dim=8, num_groups=8)
    attention(keras.random.normal((2, 16, 16, 64))).shape     # (2, 16, 16, 64)
    attention(keras.random.normal((2, 32, 64))).shape         # (2, 32, 64): a sequence
    ```

    Reference:
        Vaswani et al., "Attention Is All You Need", NeurIPS 2017; as placed in the UNet of
        Ho, Jain & Abbeel, "Denoising Diffusion Probabilistic Models", NeurIPS 2020.
    """


    def build(self, input_shape):
        self._build_projections(input_shape, input_shape[-1])

    def call(self, inputs):
        shape = ops.shape(inputs)
        h = ops.reshape(self.norm(inputs), (shape[0], -1, inputs.shape[-1]))
        attended = _attend(self.query(h), self.key(h), self.value(h), self.head_dim)
        return inputs + ops.reshape(self.output_dense(attended), shape)

    def compute_output_shape(self, input_shape):
        return input_shape


@keras.saving.register_keras_serializable(package="artifex_keras")
class CrossAttention(_NormalizedAttention):
    """Multi-head attention from the positions of a `(batch, ..., channels)` map to a context, with a residual.

    `x + W_o attention(W_q GroupNorm(x), W_k c, W_v c)`: queries from the
    normalised map, keys and values from the context `c` `(batch, tokens,
    context_dim)`, each head of size `head_dim`, through
    `keras.ops.dot_product_attention`. `context_mask` `(batch, tokens)`
    (True: attend) leaves out padding tokens; an example whose tokens are all
    masked out gets no update (the layer is the identity for it), so a fully
    masked context conditions on nothing. Pass the mask by keyword; without
    one, the context's Keras mask is used (an `Embedding(mask_zero=True)`'s).

    Args:
        head_dim: channels per head (the map's channels must divide by it).
        num_groups: groups of the map's normalisation (the channels must divide by it).
        epsilon: of the normalisation.

    Example:
    ```python
    attention = CrossAttention(head_dim=8, num_groups=8)
    x, context = keras.random.normal((2, 16, 16, 64)), keras.random.normal((2, 7, 32))
    attention(x, context).shape                                    # (2, 16, 16, 64)
    attention(x, context, context_mask=ops.arange(7)[None, :] < ops.convert_to_tensor([[3], [7]]))   # padding out
    ```

    Reference:
        Vaswani et al., "Attention Is All You Need", NeurIPS 2017; as placed in the UNet of
        Rombach et al., "High-Resolution Image Synthesis with Latent Diffusion Models", CVPR 2022.
    """


    def build(self, x_shape, context_shape, context_mask_shape=None):
        if len(context_shape) != 3 or context_shape[-1] is None:
            raise ValueError(
                f"{type(self).__name__}: `context` must have shape (batch, tokens, context_dim), "
                f"got {tuple(context_shape)}"
            )
        self._build_projections(x_shape, context_shape[-1])

    def call(self, x, context, context_mask=None):
        shape = ops.shape(x)
        h = ops.reshape(self.norm(x), (shape[0], -1, x.shape[-1]))
        context = ops.cast(context, self.compute_dtype)
        query, key, value = self.query(h), self.key(context), self.value(context)
        if context_mask is None:
            return x + ops.reshape(self.output_dense(_attend(query, key, value, self.head_dim)), shape)
        visible = ops.cast(context_mask, "bool")
        any_visible = ops.any(visible, axis=-1, keepdims=True)
        # An example with no visible token attends to all of them (no 0/0), and its update is then dropped.
        mask = ops.logical_or(visible, ops.logical_not(any_visible))[:, None, None, :]
        update = self.output_dense(_attend(query, key, value, self.head_dim, mask=mask))
        update = update * ops.cast(any_visible, update.dtype)[:, :, None]
        return x + ops.reshape(update, shape)

    def compute_output_shape(self, x_shape, context_shape, context_mask_shape=None):
        return x_shape
