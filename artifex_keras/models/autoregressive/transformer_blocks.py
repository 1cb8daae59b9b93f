"""Decoder blocks of a causal Transformer: rotary positions, pre-norm attention and MLP, with a key/value cache."""

from keras import layers
from keras import ops


def rotate(x, positions, max_wavelength=10000.0):
    """Rotary position embedding of `x` `(batch, length, heads, head_dim)` at integer `positions` `(length,)`.

    Pairs `(x[..., j], x[..., j + head_dim / 2])` rotate by the angle
    `position * max_wavelength ** (-2 j / head_dim)` (Su et al., eq. 34), so
    a query-key product depends only on the distance between the positions.
    """
    half = x.shape[-1] // 2
    exponents = ops.arange(half, dtype="float32") * (2.0 / x.shape[-1])
    inverse_frequencies = ops.power(ops.cast(max_wavelength, "float32"), -exponents)
    angles = ops.cast(positions, "float32")[:, None] * inverse_frequencies[None, :]
    cos = ops.cast(ops.cos(angles), x.dtype)[None, :, None, :]
    sin = ops.cast(ops.sin(angles), x.dtype)[None, :, None, :]
    first, second = x[..., :half], x[..., half:]
    return ops.concatenate([first * cos - second * sin, first * sin + second * cos], axis=-1)


class DecoderBlock(layers.Layer):
    """Pre-norm causal self-attention (rotary positions) then a GELU MLP, each added to the residual stream.

    `call(x, positions, cache=None)` returns `(y, cache)`: without a cache the
    block attends causally within `x`; with a cache `(2, batch, max_length,
    heads, head_dim)` it writes the keys and values of `x` at `positions`
    and attends to every cached position up to each query's own.
    """

    def __init__(self, embedding_dim, num_heads, head_dim, hidden_dim, dropout=0.0, max_wavelength=10000.0, **kwargs):
        super().__init__(**kwargs)
        self.embedding_dim = embedding_dim
        self.num_heads = num_heads
        self.head_dim = head_dim
        self.hidden_dim = hidden_dim
        self.dropout = dropout
        self.max_wavelength = max_wavelength
        width = num_heads * head_dim
        self.attention_norm = layers.LayerNormalization(epsilon=1e-5, name="attention_norm")
        self.query = layers.Dense(width, use_bias=False, name="query")
        self.key = layers.Dense(width, use_bias=False, name="key")
        self.value = layers.Dense(width, use_bias=False, name="value")
        self.attention_output = layers.Dense(embedding_dim, name="attention_output")
        self.mlp_norm = layers.LayerNormalization(epsilon=1e-5, name="mlp_norm")
        self.mlp_hidden = layers.Dense(hidden_dim, activation="gelu", name="mlp_hidden")
        self.mlp_output = layers.Dense(embedding_dim, name="mlp_output")
        self.attention_dropout = layers.Dropout(dropout)
        self.mlp_dropout = layers.Dropout(dropout)

    def build(self, input_shape):
        width = self.num_heads * self.head_dim
        for layer in (self.attention_norm, self.mlp_norm):
            layer.build(input_shape)
        for layer in (self.query, self.key, self.value, self.mlp_hidden):
            layer.build(input_shape)
        self.attention_output.build((*input_shape[:-1], width))
        self.mlp_output.build((*input_shape[:-1], self.hidden_dim))

    def call(self, x, positions, cache=None, training=False):
        batch, length = ops.shape(x)[0], x.shape[1]
        heads = (batch, length, self.num_heads, self.head_dim)
        h = self.attention_norm(x)
        query = rotate(ops.reshape(self.query(h), heads), positions, self.max_wavelength)
        key = rotate(ops.reshape(self.key(h), heads), positions, self.max_wavelength)
        value = ops.reshape(self.value(h), heads)
        if cache is None:
            keys, values = key, value
            key_positions = positions
        else:
            keys, values = _write(cache[0], key, positions), _write(cache[1], value, positions)
            cache = ops.stack([keys, values])
            key_positions = ops.arange(cache.shape[2], dtype="int32")
        mask = key_positions[None, :] <= ops.cast(positions, "int32")[:, None]
        attended = ops.dot_product_attention(query, keys, values, mask=mask[None, None])
        attended = ops.reshape(attended, (batch, length, self.num_heads * self.head_dim))
        x = x + self.attention_dropout(self.attention_output(attended), training=training)
        x = x + self.mlp_dropout(self.mlp_output(self.mlp_hidden(self.mlp_norm(x))), training=training)
        return x, cache

    def get_config(self):
        return {
            **super().get_config(),
            "embedding_dim": self.embedding_dim,
            "num_heads": self.num_heads,
            "head_dim": self.head_dim,
            "hidden_dim": self.hidden_dim,
            "dropout": self.dropout,
            "max_wavelength": self.max_wavelength,
        }


def _write(cache, update, positions):
    """`cache` `(batch, max_length, heads, head_dim)` with `update` written at `positions` (consecutive)."""
    length, max_length = update.shape[1], cache.shape[1]
    if length == 1:
        # One new token at a traced position: select it where the position matches.
        hit = ops.arange(max_length, dtype="int32") == ops.cast(positions[0], "int32")
        return ops.where(hit[None, :, None, None], ops.cast(update, cache.dtype), cache)
    # A prompt of static length, written from position 0 (the cache is empty before it).
    padding = ops.zeros((ops.shape(update)[0], max_length - length, *update.shape[2:]), dtype=cache.dtype)
    return ops.concatenate([ops.cast(update, cache.dtype), padding], axis=1)
