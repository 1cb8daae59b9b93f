"""The DDPM UNet over images (`UNet2D`), and what it shares with the sequence UNet: residual blocks and levels.

`ResidualBlock` takes the rank of its convolutions; `UNetBase` is the whole
network written once for any rank, with `UNet2D` (here) and `UNet1D`
(`unet1d.py`) fixing it.
"""

import keras
from keras import ops

from artifex_keras import validation
from artifex_keras.layers.attention import CrossAttention
from artifex_keras.layers.attention import SpatialSelfAttention
from artifex_keras.layers.timestep_embedding import TimestepEmbedding

CONVOLUTIONS = {1: keras.layers.Conv1D, 2: keras.layers.Conv2D}


def convolution(rank, filters, kernel_size, name, strides=1):
    """A "same"-padded `Conv1D` (`rank=1`) or `Conv2D` (`rank=2`)."""
    return CONVOLUTIONS[rank](filters, kernel_size, strides=strides, padding="same", name=name)


def map_shape(rank, channels):
    """The build shape `(None, ..., channels)` of a batch of `rank`-dimensional maps."""
    return (None,) * (rank + 1) + (channels,)


def check_rank(owner, rank):
    if isinstance(rank, bool) or rank not in CONVOLUTIONS:
        raise ValueError(f"{owner}: `rank` must be 1 (sequences) or 2 (images), got {rank!r}")
    return int(rank)


@keras.saving.register_keras_serializable(package="artifex_keras")
class ResidualBlock(keras.layers.Layer):
    """`x + conv(SiLU(GN(conv(SiLU(GN(x))) + Dense(SiLU(emb)))))`: the residual block of the DDPM UNet.

    The convolutions have kernel 3 along each of the `rank` axes; the
    shortcut is a kernel-1 convolution when the channel count changes.

    Args:
        in_channels: channels of the input.
        out_channels: channels of the output.
        num_groups: groups of the two group normalisations.
        dropout: dropout rate before the second convolution.
        epsilon: of the normalisations.
        rank: 2 for images `(batch, height, width, channels)`, 1 for sequences `(batch, length, channels)`.

    Example:
    ```python
    block = ResidualBlock(64, 128, num_groups=8)
    block(keras.random.normal((2, 8, 8, 64)), keras.random.normal((2, 256))).shape    # (2, 8, 8, 128)
    ResidualBlock(64, 128, num_groups=8, rank=1)(keras.random.normal((2, 32, 64)), keras.random.normal((2, 256)))
    ```

    Reference:
        Ho, Jain & Abbeel, "Denoising Diffusion Probabilistic Models", NeurIPS 2020 (appendix B).
    """

    def __init__(self, in_channels, out_channels, num_groups=32, dropout=0.0, epsilon=1e-6, rank=2, **kwargs):
        super().__init__(**kwargs)
        owner = type(self).__name__
        self.in_channels = validation.check_positive_int(owner, "in_channels", in_channels)
        self.out_channels = validation.check_positive_int(owner, "out_channels", out_channels)
        self.num_groups = validation.check_positive_int(owner, "num_groups", num_groups)
        for name, channels in (("in_channels", self.in_channels), ("out_channels", self.out_channels)):
            if channels % self.num_groups:
                raise ValueError(
                    f"{owner}: `{name}` must be divisible by `num_groups` ({self.num_groups}), got {channels}"
                )
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"{owner}: `dropout` must be a number in [0, 1), got {dropout!r}")
        self.dropout = float(dropout)
        self.epsilon = float(epsilon)
        self.rank = check_rank(owner, rank)
        self.norm1 = keras.layers.GroupNormalization(num_groups, epsilon=epsilon, name="norm1")
        self.conv1 = convolution(self.rank, out_channels, 3, "conv1")
        self.time_projection = keras.layers.Dense(out_channels, name="time_emb_proj")
        self.norm2 = keras.layers.GroupNormalization(num_groups, epsilon=epsilon, name="norm2")
        self.dropout_layer = keras.layers.Dropout(self.dropout) if self.dropout else None
        self.conv2 = convolution(self.rank, out_channels, 3, "conv2")
        self.shortcut = (
            convolution(self.rank, out_channels, 1, "conv_shortcut") if in_channels != out_channels else None
        )

    def build(self, x_shape, embedding_shape):
        inputs, outputs = map_shape(self.rank, self.in_channels), map_shape(self.rank, self.out_channels)
        self.norm1.build(inputs)
        self.conv1.build(inputs)
        self.time_projection.build((None, embedding_shape[-1]))
        self.norm2.build(outputs)
        self.conv2.build(outputs)
        if self.shortcut is not None:
            self.shortcut.build(inputs)

    def call(self, x, embedding, training=False):
        h = self.conv1(ops.silu(self.norm1(x)))
        projected = self.time_projection(ops.silu(embedding))
        h = h + ops.reshape(projected, (-1,) + (1,) * self.rank + (self.out_channels,))
        h = ops.silu(self.norm2(h))
        if self.dropout_layer is not None:
            h = self.dropout_layer(h, training=training)
        h = self.conv2(h)
        return h + (x if self.shortcut is None else self.shortcut(x))

    def compute_output_shape(self, x_shape, embedding_shape):
        return (*x_shape[:-1], self.out_channels)

    def get_config(self):
        return {
            **super().get_config(),
            "in_channels": self.in_channels,
            "out_channels": self.out_channels,
            "num_groups": self.num_groups,
            "dropout": self.dropout,
            "epsilon": self.epsilon,
            "rank": self.rank,
        }


class UNetBase(keras.layers.Layer):
    """The DDPM UNet for maps of any rank: `UNet2D` and `UNet1D` set `rank`; see `UNet2D` for the design.

    Subclasses set `rank` (the number of spatial axes) and `spatial_axes`
    (their names, for error messages).

    Args:
        out_channels: channels of the output (the data's channels for an epsilon, x0 or v prediction).
        channels: channels per level; inputs must have spatial sizes divisible by `2 ** (len(channels) - 1)`.
        num_res_blocks: residual blocks per level on the way down.
        attention_levels: indices of the levels with self-attention.
        head_dim: channels per attention head.
        num_groups: groups of every group normalisation.
        dropout: dropout rate in the residual blocks.
        num_classes: size of the class-label embedding table (None: unconditional).
        embedding_dim: size of the timestep embedding (default `4 * channels[0]`).
        mid_attention: self-attention in the middle block.
        context_dim: features per context token; None: no cross-attention.
    """

    rank = None
    spatial_axes = None

    def __init__(
        self,
        out_channels,
        channels=(128, 256, 256, 256),
        num_res_blocks=2,
        attention_levels=(1,),
        head_dim=8,
        num_groups=32,
        dropout=0.0,
        num_classes=None,
        embedding_dim=None,
        mid_attention=True,
        context_dim=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        owner = type(self).__name__
        self.out_channels = validation.check_positive_int(owner, "out_channels", out_channels)
        if not isinstance(channels, (tuple, list)) or not channels:
            raise ValueError(f"{owner}: `channels` must be a non-empty tuple of positive ints, got {channels!r}")
        self.channels = tuple(validation.check_positive_int(owner, "channels", c) for c in channels)
        self.num_res_blocks = validation.check_positive_int(owner, "num_res_blocks", num_res_blocks)
        levels = len(self.channels)
        attention_levels = tuple(attention_levels)
        if any(isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < levels for i in attention_levels):
            raise ValueError(
                f"{owner}: `attention_levels` must hold level indices in [0, {levels - 1}], got {attention_levels!r}"
            )
        self.attention_levels = tuple(sorted(set(attention_levels)))
        self.head_dim = validation.check_positive_int(owner, "head_dim", head_dim)
        self.num_groups = validation.check_positive_int(owner, "num_groups", num_groups)
        self.dropout = float(dropout)
        self.num_classes = (
            None if num_classes is None else validation.check_positive_int(owner, "num_classes", num_classes)
        )
        self.embedding_dim = validation.check_positive_int(
            owner, "embedding_dim", 4 * self.channels[0] if embedding_dim is None else embedding_dim
        )
        self.mid_attention = bool(mid_attention)
        self.context_dim = (
            None if context_dim is None else validation.check_positive_int(owner, "context_dim", context_dim)
        )
        if self.context_dim is not None and not (self.attention_levels or self.mid_attention):
            raise ValueError(
                f"{owner}: `context_dim` needs attention layers to attend from (`attention_levels` or "
                f"`mid_attention`), got attention_levels=() and mid_attention=False"
            )
        rank = self.rank

        def block(in_channels, out_channels, name):
            return ResidualBlock(in_channels, out_channels, num_groups, self.dropout, rank=rank, name=name)

        def attention(name):
            return SpatialSelfAttention(head_dim, num_groups, name=name)

        def cross_attention(name):
            return CrossAttention(head_dim, num_groups, name=name) if self.context_dim is not None else None

        self.time_embedding = TimestepEmbedding(
            self.embedding_dim, frequency_dim=self.channels[0], name="time_embedding"
        )
        self.label_embedding = (
            keras.layers.Embedding(self.num_classes, self.embedding_dim, name="class_embedding")
            if self.num_classes is not None
            else None
        )
        self.conv_in = convolution(rank, self.channels[0], 3, "conv_in")
        # Down path; `skips` tracks the channels of every saved skip connection.
        self.down_blocks, self.down_attentions, self.downsamplers = [], [], []
        self.down_cross_attentions = []
        skips = [self.channels[0]]
        current = self.channels[0]
        for level, width in enumerate(self.channels):
            for index in range(self.num_res_blocks):
                self.down_blocks.append(block(current, width, f"down_{level}_res_{index}"))
                has_attention = level in self.attention_levels
                self.down_attentions.append(attention(f"down_{level}_attn_{index}") if has_attention else None)
                self.down_cross_attentions.append(
                    cross_attention(f"down_{level}_cross_attn_{index}") if has_attention else None
                )
                current = width
                skips.append(current)
            if level < levels - 1:
                self.downsamplers.append(convolution(rank, current, 3, f"down_{level}", strides=2))
                skips.append(current)
        self.mid_block_1 = block(current, current, "mid_res_0")
        self.mid_attention_layer = attention("mid_attn") if self.mid_attention else None
        self.mid_cross_attention = cross_attention("mid_cross_attn") if self.mid_attention else None
        self.mid_block_2 = block(current, current, "mid_res_1")
        self.up_blocks, self.up_attentions, self.upsamplers = [], [], []
        self.up_cross_attentions = []
        for level in reversed(range(levels)):
            width = self.channels[level]
            for index in range(self.num_res_blocks + 1):
                skip = skips.pop()
                self.up_blocks.append(block(current + skip, width, f"up_{level}_res_{index}"))
                has_attention = level in self.attention_levels
                self.up_attentions.append(attention(f"up_{level}_attn_{index}") if has_attention else None)
                self.up_cross_attentions.append(
                    cross_attention(f"up_{level}_cross_attn_{index}") if has_attention else None
                )
                current = width
            if level > 0:
                self.upsamplers.append(convolution(rank, current, 3, f"up_{level}"))
        self.norm_out = keras.layers.GroupNormalization(num_groups, epsilon=1e-6, name="norm_out")
        self.conv_out = convolution(rank, self.out_channels, 3, "conv_out")

    @property
    def size_multiple(self):
        """The inputs' sizes along the spatial axes must be multiples of this: `2 ** (len(channels) - 1)`."""
        return 2 ** (len(self.channels) - 1)

    def check_input_shape(self, owner, argument, shape):
        """Raise a clear error naming `argument` when `shape` `(batch, *spatial, channels)` cannot pass the UNet."""
        shape = tuple(shape)
        if len(shape) != self.rank + 2:
            axes = ", ".join(("batch", *self.spatial_axes, "channels"))
            raise ValueError(f"{owner}: `{argument}` must have shape ({axes}), got {shape}")
        sizes = shape[1:-1]
        multiple = self.size_multiple
        if any(size is not None and size % multiple for size in sizes):
            raise ValueError(
                f"{owner}: the {' and '.join(self.spatial_axes)} of `{argument}` must be divisible by "
                f"2 ** (levels - 1) = {multiple} for a UNet with {len(self.channels)} levels, "
                f"got {'x'.join(str(size) for size in sizes)}"
            )

    def check_context(self, owner, context):
        """Raise a clear error when `context` does not fit `context_dim` (or is given without it)."""
        if self.context_dim is None:
            if context is not None:
                raise ValueError(f"{owner}: `context` needs `context_dim`, which is None")
            return
        if context is None:
            raise ValueError(
                f"{owner}: `context` of shape (batch, tokens, {self.context_dim}) is required (`context_dim` is "
                f"{self.context_dim}), got None"
            )
        if len(context.shape) != 3 or context.shape[-1] != self.context_dim:
            raise ValueError(
                f"{owner}: `context` must have shape (batch, tokens, {self.context_dim}), got {tuple(context.shape)}"
            )

    def build(self, x_shape, timesteps_shape=None, labels_shape=None, context_shape=None, context_mask_shape=None):
        self.check_input_shape(type(self).__name__, "x", x_shape)
        rank = self.rank
        embedding = (None, self.embedding_dim)
        context = (None, None, self.context_dim)
        self.time_embedding.build(timesteps_shape)
        if self.label_embedding is not None:
            self.label_embedding.build((None,))
        self.conv_in.build(map_shape(rank, x_shape[-1]))
        for block, attention, cross in zip(self.down_blocks, self.down_attentions, self.down_cross_attentions):
            block.build(map_shape(rank, block.in_channels), embedding)
            if attention is not None:
                attention.build(map_shape(rank, block.out_channels))
            if cross is not None:
                cross.build(map_shape(rank, block.out_channels), context)
        for conv, width in zip(self.downsamplers, self.channels):
            conv.build(map_shape(rank, width))
        top = self.channels[-1]
        for block in (self.mid_block_1, self.mid_block_2):
            block.build(map_shape(rank, top), embedding)
        if self.mid_attention_layer is not None:
            self.mid_attention_layer.build(map_shape(rank, top))
        if self.mid_cross_attention is not None:
            self.mid_cross_attention.build(map_shape(rank, top), context)
        for block, attention, cross in zip(self.up_blocks, self.up_attentions, self.up_cross_attentions):
            block.build(map_shape(rank, block.in_channels), embedding)
            if attention is not None:
                attention.build(map_shape(rank, block.out_channels))
            if cross is not None:
                cross.build(map_shape(rank, block.out_channels), context)
        for conv, level in zip(self.upsamplers, reversed(range(1, len(self.channels)))):
            conv.build(map_shape(rank, self.channels[level]))
        self.norm_out.build(map_shape(rank, self.channels[0]))
        self.conv_out.build(map_shape(rank, self.channels[0]))

    def call(self, x, timesteps, labels=None, context=None, context_mask=None, training=False):
        owner = type(self).__name__
        self.check_input_shape(owner, "x", x.shape)
        self.check_context(owner, context)
        embedding = self.time_embedding(timesteps)
        if labels is not None:
            if self.label_embedding is None:
                raise ValueError(f"{owner}: `labels` need `num_classes`, which is None")
            embedding = embedding + self.label_embedding(ops.cast(ops.reshape(labels, (-1,)), "int32"))

        def attend(h, attention, cross):
            if attention is not None:
                h = attention(h)
            if cross is not None:
                h = cross(h, context, context_mask=context_mask)
            return h

        h = self.conv_in(x)
        skips = [h]
        blocks = iter(zip(self.down_blocks, self.down_attentions, self.down_cross_attentions))
        for level in range(len(self.channels)):
            for _ in range(self.num_res_blocks):
                block, attention, cross = next(blocks)
                h = attend(block(h, embedding, training=training), attention, cross)
                skips.append(h)
            if level < len(self.channels) - 1:
                h = self.downsamplers[level](h)
                skips.append(h)
        h = self.mid_block_1(h, embedding, training=training)
        h = attend(h, self.mid_attention_layer, self.mid_cross_attention)
        h = self.mid_block_2(h, embedding, training=training)
        blocks = iter(zip(self.up_blocks, self.up_attentions, self.up_cross_attentions))
        upsamplers = iter(self.upsamplers)
        for level in reversed(range(len(self.channels))):
            for _ in range(self.num_res_blocks + 1):
                block, attention, cross = next(blocks)
                h = block(ops.concatenate([h, skips.pop()], axis=-1), embedding, training=training)
                h = attend(h, attention, cross)
            if level > 0:
                # Nearest-neighbour upsampling: every value repeated along each spatial axis.
                for axis in range(1, self.rank + 1):
                    h = ops.repeat(h, 2, axis=axis)
                h = next(upsamplers)(h)
        return self.conv_out(ops.silu(self.norm_out(h)))

    def compute_output_shape(
        self, x_shape, timesteps_shape=None, labels_shape=None, context_shape=None, context_mask_shape=None
    ):
        return (*x_shape[:-1], self.out_channels)

    def get_config(self):
        return {
            **super().get_config(),
            "out_channels": self.out_channels,
            "channels": self.channels,
            "num_res_blocks": self.num_res_blocks,
            "attention_levels": self.attention_levels,
            "head_dim": self.head_dim,
            "num_groups": self.num_groups,
            "dropout": self.dropout,
            "num_classes": self.num_classes,
            "embedding_dim": self.embedding_dim,
            "mid_attention": self.mid_attention,
            "context_dim": self.context_dim,
        }


@keras.saving.register_keras_serializable(package="artifex_keras")
class UNet2D(UNetBase):
    """The DDPM UNet: maps `(x_t, t[, labels][, context])` to a map of `out_channels` channels the size of `x_t`.

    Levels of `channels[i]` channels, each with `num_res_blocks` residual
    blocks (self-attention after each at `attention_levels`) and a stride-2
    convolution between levels; a middle of residual block, attention,
    residual block; then the mirrored path up, `num_res_blocks + 1` blocks
    per level, each fed the matching skip connection, with nearest-neighbour
    upsampling and a convolution between levels. The timestep enters every
    residual block through a sinusoidal embedding and an MLP; class labels,
    when `num_classes` is set, add a learned embedding to it. With
    `channels=(128, 256, 256, 256)`, `num_res_blocks=2`, `attention_levels=(1,)`
    (16x16 for 32x32 inputs) and 3 channels in and out, this is the CIFAR-10
    network of DDPM: 35,746,307 parameters, as diffusers' `UNet2DModel` in
    that configuration.

    With `context_dim`, a `CrossAttention` to the context `(batch, tokens,
    context_dim)` follows every self-attention (at `attention_levels` and in
    the middle): each attention site is self-attention then cross-attention,
    each with its own normalisation and residual. Stable Diffusion's
    transformer block also has a feed-forward layer there; here the residual
    block that follows each site does that per-position mixing. `context_mask`
    `(batch, tokens)` leaves out padding tokens.

    Args: those of `UNetBase`.

    Example:
    ```python
    unet = UNet2D(out_channels=1, channels=(16, 32), attention_levels=(1,), num_groups=8)
    unet(keras.random.normal((4, 8, 8, 1)), ops.convert_to_tensor([0.0, 10.0, 500.0, 999.0])).shape
    # (4, 8, 8, 1)
    text = UNet2D(out_channels=1, channels=(16, 32), attention_levels=(1,), num_groups=8, context_dim=12)
    text(keras.random.normal((4, 8, 8, 1)), ops.ones((4,)), context=keras.random.normal((4, 5, 12)))
    ```

    Reference:
        Ho, Jain & Abbeel, "Denoising Diffusion Probabilistic Models", NeurIPS 2020 (appendix B);
        Ronneberger, Fischer & Brox, "U-Net", MICCAI 2015; cross-attention: Rombach et al.,
        "High-Resolution Image Synthesis with Latent Diffusion Models", CVPR 2022.
    """

    rank = 2
    spatial_axes = ("height", "width")
