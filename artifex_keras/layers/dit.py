"""The Diffusion Transformer (DiT): image patches as tokens, conditioned on the timestep and class by adaLN-Zero.

`patchify`/`unpatchify` cut images into non-overlapping `p x p` patches and
put them back; `PatchEmbedding` projects each patch to a token (a strided
convolution) and adds fixed 2-D sin-cos positions; `DiTBlock` is one
Transformer block whose layer norms are shifted, scaled and whose residual
branches are gated by a regression from the conditioning vector, initialised
to zero so that every block starts as the identity; `DiTFinalLayer` maps the
tokens back to patch values (zero at initialisation); `DiTBackbone` is the
whole network `(x_t, t, labels) -> prediction`.
"""

import keras
import numpy as np
from keras import ops

from artifex_keras import validation
from artifex_keras.layers.timestep_embedding import TimestepEmbedding


def _check_divisible(owner, argument, shape, patch_size):
    height, width = shape[0], shape[1]
    if height is None or width is None:
        raise ValueError(f"{owner}: the height and width of `{argument}` must be known, got {height}x{width}")
    if height % patch_size or width % patch_size:
        raise ValueError(
            f"{owner}: the height and width of `{argument}` must be divisible by `patch_size` ({patch_size}), "
            f"got {height}x{width}"
        )


def patchify(images, patch_size):
    """`(batch, tokens, p * p * channels)` patches of `(batch, height, width, channels)` images.

    Tokens run over the patches row by row; each holds its patch's values in
    the order (row in the patch, column in the patch, channel), the order of
    a flattened `Conv2D` kernel `(p, p, channels, units)`.

    Example:
    ```python
    patchify(keras.random.normal((2, 8, 8, 3)), 2).shape     # (2, 16, 12)
    ```
    """
    patch_size = validation.check_positive_int("patchify", "patch_size", patch_size)
    _check_divisible("patchify", "images", tuple(images.shape[1:3]), patch_size)
    height, width, channels = images.shape[1:]
    rows, columns = height // patch_size, width // patch_size
    x = ops.reshape(images, (-1, rows, patch_size, columns, patch_size, channels))
    x = ops.transpose(x, (0, 1, 3, 2, 4, 5))
    return ops.reshape(x, (-1, rows * columns, patch_size * patch_size * channels))


def unpatchify(tokens, patch_size, height, width):
    """The `(batch, height, width, channels)` images whose `patchify` is `tokens` `(batch, tokens, p * p * channels)`.

    Example:
    ```python
    images = keras.random.normal((2, 8, 4, 3))
    unpatchify(patchify(images, 2), 2, 8, 4)     # equals `images`
    ```
    """
    owner = "unpatchify"
    patch_size = validation.check_positive_int(owner, "patch_size", patch_size)
    _check_divisible(owner, "height x width", (height, width), patch_size)
    rows, columns = height // patch_size, width // patch_size
    length, features = tokens.shape[1], tokens.shape[2]
    if (length is not None and length != rows * columns) or features % (patch_size * patch_size):
        raise ValueError(
            f"{owner}: `tokens` must have shape (batch, {rows * columns}, p * p * channels) for {height}x{width} "
            f"images and `patch_size` {patch_size}, got {tuple(tokens.shape)}"
        )
    channels = features // (patch_size * patch_size)
    x = ops.reshape(tokens, (-1, rows, columns, patch_size, patch_size, channels))
    x = ops.transpose(x, (0, 1, 3, 2, 4, 5))
    return ops.reshape(x, (-1, height, width, channels))


def sincos_position_embedding(rows, columns, dim):
    """NumPy float32 `(rows * columns, dim)`: fixed 2-D sin-cos features of a grid's positions, row by row.

    The first half of the features encodes the column `j`, the second the
    row `i`, each as `[sin(pos w_k), cos(pos w_k)]` with
    `w_k = 10000 ** (-k / (dim / 4))`, `k < dim / 4` (the layout of DiT's
    and MAE's reference code); `dim` must be divisible by 4.
    """
    if dim % 4:
        raise ValueError(f"sincos_position_embedding: `dim` must be divisible by 4, got {dim}")
    quarter = dim // 4
    frequencies = 1.0 / 10000.0 ** (np.arange(quarter, dtype="float64") / quarter)
    row, column = np.meshgrid(np.arange(rows, dtype="float64"), np.arange(columns, dtype="float64"), indexing="ij")

    def encode(positions):
        angles = positions.reshape(-1)[:, None] * frequencies[None, :]
        return np.concatenate([np.sin(angles), np.cos(angles)], axis=1)

    return np.concatenate([encode(column), encode(row)], axis=1).astype("float32")


def modulate(x, shift, scale):
    """`x (1 + scale) + shift`: the adaptive layer norm's affine map, per example."""
    return x * (1.0 + scale) + shift


def _normalization(epsilon, name):
    # The affine part of adaLN comes from the conditioning, so the norms have none of their own.
    return keras.layers.LayerNormalization(epsilon=epsilon, center=False, scale=False, name=name)


def _zeros_dense(units, name):
    return keras.layers.Dense(units, kernel_initializer="zeros", bias_initializer="zeros", name=name)


@keras.saving.register_keras_serializable(package="artifex_keras")
class PatchEmbedding(keras.layers.Layer):
    """Images `(batch, height, width, channels)` to tokens `(batch, tokens, hidden_size)`, with fixed positions.

    A `Conv2D` with kernel and stride `patch_size` projects each patch (it
    equals a `Dense` layer on `patchify(images, patch_size)`); the fixed 2-D
    sin-cos embedding of the patch's row and column is added. The positions
    are no weights: they follow from the image size the layer is built for.

    Args:
        patch_size: side of the square patches; the images' height and width must divide by it.
        hidden_size: size of the tokens (divisible by 4, for the sin-cos positions).

    Example:
    ```python
    embed = PatchEmbedding(patch_size=2, hidden_size=32)
    embed(keras.random.normal((4, 8, 8, 1))).shape     # (4, 16, 32)
    ```

    Reference:
        Dosovitskiy et al., "An Image is Worth 16x16 Words", ICLR 2021;
        Peebles & Xie, "Scalable Diffusion Models with Transformers", ICCV 2023 (section 3.2).
    """

    def __init__(self, patch_size, hidden_size, **kwargs):
        super().__init__(**kwargs)
        owner = type(self).__name__
        self.patch_size = validation.check_positive_int(owner, "patch_size", patch_size)
        self.hidden_size = validation.check_positive_int(owner, "hidden_size", hidden_size)
        if self.hidden_size % 4:
            raise ValueError(
                f"{owner}: `hidden_size` must be divisible by 4 (2-D sin-cos positions), got {self.hidden_size}"
            )
        self.projection = keras.layers.Conv2D(
            self.hidden_size, self.patch_size, strides=self.patch_size, padding="valid", name="projection"
        )
        self.grid = None
        self.position_embedding = None

    def build(self, input_shape):
        _check_divisible(type(self).__name__, "images", tuple(input_shape[1:3]), self.patch_size)
        self.projection.build(input_shape)
        self.grid = (input_shape[1] // self.patch_size, input_shape[2] // self.patch_size)
        self.position_embedding = sincos_position_embedding(*self.grid, self.hidden_size)

    def call(self, images):
        owner = type(self).__name__
        if tuple(images.shape[1:3]) != tuple(p * self.patch_size for p in self.grid):
            raise ValueError(
                f"{owner}: built for {self.grid[0] * self.patch_size}x{self.grid[1] * self.patch_size} images, "
                f"got {images.shape[1]}x{images.shape[2]}"
            )
        tokens = self.projection(images)
        tokens = ops.reshape(tokens, (-1, self.grid[0] * self.grid[1], self.hidden_size))
        return tokens + ops.convert_to_tensor(self.position_embedding, dtype=tokens.dtype)[None]

    def compute_output_shape(self, input_shape):
        tokens = (input_shape[1] // self.patch_size) * (input_shape[2] // self.patch_size)
        return (input_shape[0], tokens, self.hidden_size)

    def get_config(self):
        return {**super().get_config(), "patch_size": self.patch_size, "hidden_size": self.hidden_size}


@keras.saving.register_keras_serializable(package="artifex_keras")
class DiTBlock(keras.layers.Layer):
    """A Transformer block conditioned by adaLN-Zero: `call(tokens, conditioning) -> tokens`.

    With `(shift_a, scale_a, gate_a, shift_m, scale_m, gate_m) = Dense(SiLU(c))`,

        x = x + gate_a * Attention(LN(x) (1 + scale_a) + shift_a)
        x = x + gate_m * MLP(LN(x) (1 + scale_m) + shift_m)

    where `LN` has no affine parameters, the attention is multi-head
    self-attention (one `qkv` projection, `keras.ops.dot_product_attention`,
    an output projection) and the MLP is `Dense -> GELU (tanh) -> Dense`.
    The modulation `Dense` starts at zero, so every gate is zero and the
    block is the identity at initialisation.

    Args:
        hidden_size: size of the tokens.
        num_heads: attention heads (`hidden_size` must divide by it).
        mlp_ratio: hidden units of the MLP per token feature.
        epsilon: of the layer norms.

    Example:
    ```python
    block = DiTBlock(hidden_size=32, num_heads=4)
    block(keras.random.normal((2, 16, 32)), keras.random.normal((2, 32))).shape     # (2, 16, 32)
    ```

    Reference:
        Peebles & Xie, "Scalable Diffusion Models with Transformers", ICCV 2023 (section 3.2, figure 3).
    """

    def __init__(self, hidden_size, num_heads, mlp_ratio=4.0, epsilon=1e-6, **kwargs):
        super().__init__(**kwargs)
        owner = type(self).__name__
        self.hidden_size = validation.check_positive_int(owner, "hidden_size", hidden_size)
        self.num_heads = validation.check_positive_int(owner, "num_heads", num_heads)
        if self.hidden_size % self.num_heads:
            raise ValueError(
                f"{owner}: `num_heads` must divide `hidden_size` ({self.hidden_size}), got {self.num_heads}"
            )
        self.mlp_ratio = validation.check_positive_number(owner, "mlp_ratio", mlp_ratio)
        self.mlp_units = int(self.hidden_size * self.mlp_ratio)
        if self.mlp_units < 1:
            raise ValueError(f"{owner}: `mlp_ratio` * `hidden_size` must be at least 1, got {mlp_ratio!r}")
        self.epsilon = validation.check_positive_number(owner, "epsilon", epsilon)
        self.head_dim = self.hidden_size // self.num_heads
        self.attention_norm = _normalization(self.epsilon, "attention_norm")
        self.qkv = keras.layers.Dense(3 * self.hidden_size, name="qkv")
        self.attention_output = keras.layers.Dense(self.hidden_size, name="attention_output")
        self.mlp_norm = _normalization(self.epsilon, "mlp_norm")
        self.mlp_hidden = keras.layers.Dense(self.mlp_units, name="mlp_hidden")
        self.mlp_output = keras.layers.Dense(self.hidden_size, name="mlp_output")
        self.modulation = _zeros_dense(6 * self.hidden_size, "adaln_modulation")

    def build(self, x_shape, conditioning_shape):
        owner = type(self).__name__
        if x_shape[-1] != self.hidden_size:
            raise ValueError(f"{owner}: the tokens must have {self.hidden_size} features, got shape {x_shape}")
        tokens = (None, None, self.hidden_size)
        for layer in (self.attention_norm, self.qkv, self.attention_output, self.mlp_norm, self.mlp_hidden):
            layer.build(tokens)
        self.mlp_output.build((None, None, self.mlp_units))
        self.modulation.build((None, conditioning_shape[-1]))

    def attention(self, h):
        """Multi-head self-attention of the tokens `h` `(batch, tokens, hidden_size)`, with the output projection."""
        qkv = ops.reshape(self.qkv(h), (ops.shape(h)[0], -1, 3, self.num_heads, self.head_dim))
        attended = ops.dot_product_attention(qkv[:, :, 0], qkv[:, :, 1], qkv[:, :, 2])
        return self.attention_output(ops.reshape(attended, (ops.shape(h)[0], -1, self.hidden_size)))

    def mlp(self, h):
        return self.mlp_output(ops.gelu(self.mlp_hidden(h), approximate=True))

    def call(self, x, conditioning):
        modulation = self.modulation(ops.silu(conditioning))[:, None, :]
        shift_a, scale_a, gate_a, shift_m, scale_m, gate_m = ops.split(modulation, 6, axis=-1)
        x = x + gate_a * self.attention(modulate(self.attention_norm(x), shift_a, scale_a))
        return x + gate_m * self.mlp(modulate(self.mlp_norm(x), shift_m, scale_m))

    def compute_output_shape(self, x_shape, conditioning_shape):
        return x_shape

    def get_config(self):
        return {
            **super().get_config(),
            "hidden_size": self.hidden_size,
            "num_heads": self.num_heads,
            "mlp_ratio": self.mlp_ratio,
            "epsilon": self.epsilon,
        }


@keras.saving.register_keras_serializable(package="artifex_keras")
class DiTFinalLayer(keras.layers.Layer):
    """Tokens to patch values: `Dense(LN(x) (1 + scale) + shift)`, `(shift, scale) = Dense(SiLU(c))`, all zero at first.

    Both `Dense` layers start at zero, so the network's output is zero at
    initialisation.

    Args:
        patch_size: side of the patches.
        out_channels: channels of the output image.
        epsilon: of the layer norm.

    Example:
    ```python
    final = DiTFinalLayer(patch_size=2, out_channels=3)
    final(keras.random.normal((2, 16, 32)), keras.random.normal((2, 32))).shape     # (2, 16, 12)
    ```

    Reference:
        Peebles & Xie, "Scalable Diffusion Models with Transformers", ICCV 2023 (section 3.2).
    """

    def __init__(self, patch_size, out_channels, epsilon=1e-6, **kwargs):
        super().__init__(**kwargs)
        owner = type(self).__name__
        self.patch_size = validation.check_positive_int(owner, "patch_size", patch_size)
        self.out_channels = validation.check_positive_int(owner, "out_channels", out_channels)
        self.epsilon = validation.check_positive_number(owner, "epsilon", epsilon)
        self.norm = _normalization(self.epsilon, "norm")
        self.modulation = None
        self.linear = _zeros_dense(self.patch_size * self.patch_size * self.out_channels, "linear")

    def build(self, x_shape, conditioning_shape):
        hidden_size = x_shape[-1]
        self.modulation = _zeros_dense(2 * hidden_size, "adaln_modulation")
        self.norm.build((None, None, hidden_size))
        self.linear.build((None, None, hidden_size))
        self.modulation.build((None, conditioning_shape[-1]))

    def call(self, x, conditioning):
        shift, scale = ops.split(self.modulation(ops.silu(conditioning))[:, None, :], 2, axis=-1)
        return self.linear(modulate(self.norm(x), shift, scale))

    def compute_output_shape(self, x_shape, conditioning_shape):
        return (*x_shape[:-1], self.patch_size * self.patch_size * self.out_channels)

    def get_config(self):
        return {
            **super().get_config(),
            "patch_size": self.patch_size,
            "out_channels": self.out_channels,
            "epsilon": self.epsilon,
        }


@keras.saving.register_keras_serializable(package="artifex_keras")
class DiTBackbone(keras.layers.Layer):
    """The DiT network: maps `(x_t, t[, labels])` to a map of `out_channels` channels the size of `x_t`.

    `x_t` is cut into `patch_size` patches, embedded as tokens with fixed
    sin-cos positions, passed through `depth` `DiTBlock`s conditioned on
    `c = TimestepEmbedding(t) + ClassEmbedding(labels)`, mapped back to patch
    values by `DiTFinalLayer` and reassembled. With `num_classes`, the class
    table has one more row, id `num_classes`: "no label", the unconditional
    model of classifier-free guidance, used when `labels` is None. The output
    is exactly zero at initialisation (adaLN-Zero). With `patch_size=2`,
    `hidden_size=384`, `depth=12`, `num_heads=6` on 32x32x4 latents and 1000
    classes this is DiT-S/2 (about 33M parameters; 32,858,896 here, which
    predicts no variance).

    Args:
        out_channels: channels of the output (the data's channels for an epsilon, x0 or v prediction).
        patch_size: side of the square patches; inputs' height and width must divide by it.
        hidden_size: size of the tokens (divisible by 4 and by `num_heads`).
        depth: number of `DiTBlock`s.
        num_heads: attention heads per block.
        mlp_ratio: MLP hidden units per token feature.
        num_classes: number of class labels (None: unconditional); the table gets one "no label" row more.
        frequency_dim: sinusoidal features of the timestep embedding.

    Example:
    ```python
    dit = DiTBackbone(out_channels=1, patch_size=2, hidden_size=32, depth=2, num_heads=4, num_classes=10)
    dit(keras.random.normal((3, 8, 8, 1)), ops.convert_to_tensor([0.0, 10.0, 999.0]), ops.convert_to_tensor([0, 3, 10]))
    # (3, 8, 8, 1), zero until trained
    ```

    Reference:
        Peebles & Xie, "Scalable Diffusion Models with Transformers", ICCV 2023.
    """

    def __init__(
        self,
        out_channels,
        patch_size=2,
        hidden_size=384,
        depth=12,
        num_heads=6,
        mlp_ratio=4.0,
        num_classes=None,
        frequency_dim=256,
        **kwargs,
    ):
        super().__init__(**kwargs)
        owner = type(self).__name__
        self.out_channels = validation.check_positive_int(owner, "out_channels", out_channels)
        self.patch_size = validation.check_positive_int(owner, "patch_size", patch_size)
        self.hidden_size = validation.check_positive_int(owner, "hidden_size", hidden_size)
        self.depth = validation.check_positive_int(owner, "depth", depth)
        self.num_heads = validation.check_positive_int(owner, "num_heads", num_heads)
        self.mlp_ratio = validation.check_positive_number(owner, "mlp_ratio", mlp_ratio)
        self.num_classes = (
            None if num_classes is None else validation.check_positive_int(owner, "num_classes", num_classes)
        )
        self.frequency_dim = validation.check_positive_int(owner, "frequency_dim", frequency_dim)
        self.patch_embedding = PatchEmbedding(self.patch_size, self.hidden_size, name="patch_embedding")
        self.time_embedding = TimestepEmbedding(
            self.hidden_size, frequency_dim=self.frequency_dim, name="time_embedding"
        )
        self.label_embedding = (
            keras.layers.Embedding(
                self.num_classes + 1,
                self.hidden_size,
                embeddings_initializer=keras.initializers.RandomNormal(stddev=0.02),
                name="class_embedding",
            )
            if self.num_classes is not None
            else None
        )
        self.blocks = [
            DiTBlock(self.hidden_size, self.num_heads, self.mlp_ratio, name=f"block_{index}")
            for index in range(self.depth)
        ]
        self.final_layer = DiTFinalLayer(self.patch_size, self.out_channels, name="final_layer")

    @property
    def null_label(self):
        """The class id of "no label" (None for an unconditional backbone)."""
        return self.num_classes

    def build(self, x_shape, timesteps_shape=None, labels_shape=None):
        self.patch_embedding.build(x_shape)
        self.time_embedding.build(timesteps_shape)
        if self.label_embedding is not None:
            self.label_embedding.build((None,))
        tokens, conditioning = (None, None, self.hidden_size), (None, self.hidden_size)
        for block in self.blocks:
            block.build(tokens, conditioning)
        self.final_layer.build(tokens, conditioning)

    def embed_conditioning(self, timesteps, labels=None):
        """`c` `(batch, hidden_size)`: the timestep embedding plus the class embedding (the "no label" row for None)."""
        conditioning = self.time_embedding(timesteps)
        if self.label_embedding is None:
            if labels is not None:
                raise ValueError(f"{type(self).__name__}: `labels` need `num_classes`, which is None")
            return conditioning
        if labels is None:
            labels = ops.full((ops.shape(conditioning)[0],), self.null_label, dtype="int32")
        labels = ops.cast(ops.reshape(labels, (-1,)), "int32")
        return conditioning + ops.cast(self.label_embedding(labels), conditioning.dtype)

    def call(self, x, timesteps, labels=None, training=False):
        tokens = self.patch_embedding(x)
        conditioning = self.embed_conditioning(timesteps, labels)
        for block in self.blocks:
            tokens = block(tokens, conditioning)
        patches = self.final_layer(tokens, conditioning)
        return unpatchify(patches, self.patch_size, x.shape[1], x.shape[2])

    def compute_output_shape(self, x_shape, timesteps_shape=None, labels_shape=None):
        return (*x_shape[:-1], self.out_channels)

    def get_config(self):
        return {
            **super().get_config(),
            "out_channels": self.out_channels,
            "patch_size": self.patch_size,
            "hidden_size": self.hidden_size,
            "depth": self.depth,
            "num_heads": self.num_heads,
            "mlp_ratio": self.mlp_ratio,
            "num_classes": self.num_classes,
            "frequency_dim": self.frequency_dim,
        }
