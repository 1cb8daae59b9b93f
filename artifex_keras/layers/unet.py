"""The 2-D UNet of DDPM: residual blocks with a timestep embedding, self-attention at chosen resolutions."""

import keras
from keras import ops

from artifex_keras import validation
from artifex_keras.layers.attention import SpatialSelfAttention
from artifex_keras.layers.timestep_embedding import TimestepEmbedding


@keras.saving.register_keras_serializable(package="artifex_keras")
class ResidualBlock(keras.layers.Layer):
    """`x + conv(SiLU(GN(conv(SiLU(GN(x))) + Dense(SiLU(emb)))))`: the residual block of the DDPM UNet.

    The shortcut is a 1x1 convolution when the channel count changes.

    Args:
        in_channels: channels of the input.
        out_channels: channels of the output.
        num_groups: groups of the two group normalisations.
        dropout: dropout rate before the second convolution.
        epsilon: of the normalisations.

    Example:
    ```python
    block = ResidualBlock(64, 128, num_groups=8)
    block(keras.random.normal((2, 8, 8, 64)), keras.random.normal((2, 256))).shape    # (2, 8, 8, 128)
    ```

    Reference:
        Ho, Jain & Abbeel, "Denoising Diffusion Probabilistic Models", NeurIPS 2020 (appendix B).
    """

    def __init__(self, in_channels, out_channels, num_groups=32, dropout=0.0, epsilon=1e-6, **kwargs):
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
        self.norm1 = keras.layers.GroupNormalization(num_groups, epsilon=epsilon, name="norm1")
        self.conv1 = keras.layers.Conv2D(out_channels, 3, padding="same", name="conv1")
        self.time_projection = keras.layers.Dense(out_channels, name="time_emb_proj")
        self.norm2 = keras.layers.GroupNormalization(num_groups, epsilon=epsilon, name="norm2")
        self.dropout_layer = keras.layers.Dropout(self.dropout) if self.dropout else None
        self.conv2 = keras.layers.Conv2D(out_channels, 3, padding="same", name="conv2")
        self.shortcut = (
            keras.layers.Conv2D(out_channels, 1, name="conv_shortcut") if in_channels != out_channels else None
        )

    def build(self, x_shape, embedding_shape):
        self.norm1.build((None, None, None, self.in_channels))
        self.conv1.build((None, None, None, self.in_channels))
        self.time_projection.build((None, embedding_shape[-1]))
        self.norm2.build((None, None, None, self.out_channels))
        self.conv2.build((None, None, None, self.out_channels))
        if self.shortcut is not None:
            self.shortcut.build((None, None, None, self.in_channels))

    def call(self, x, embedding, training=False):
        h = self.conv1(ops.silu(self.norm1(x)))
        h = h + self.time_projection(ops.silu(embedding))[:, None, None, :]
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
        }


@keras.saving.register_keras_serializable(package="artifex_keras")
class UNet2D(keras.layers.Layer):
    """The DDPM UNet: maps `(x_t, t[, labels])` to a map of `out_channels` channels the size of `x_t`.

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

    Args:
        out_channels: channels of the output (the data's channels for an epsilon, x0 or v prediction).
        channels: channels per level; inputs must have a height and width divisible by `2 ** (len(channels) - 1)`.
        num_res_blocks: residual blocks per level on the way down.
        attention_levels: indices of the levels with self-attention.
        head_dim: channels per attention head.
        num_groups: groups of every group normalisation.
        dropout: dropout rate in the residual blocks.
        num_classes: size of the class-label embedding table (None: unconditional).
        embedding_dim: size of the timestep embedding (default `4 * channels[0]`).
        mid_attention: self-attention in the middle block.

    Example:
    ```python
    unet = UNet2D(out_channels=1, channels=(16, 32), attention_levels=(1,), num_groups=8)
    unet(keras.random.normal((4, 8, 8, 1)), ops.convert_to_tensor([0.0, 10.0, 500.0, 999.0])).shape
    # (4, 8, 8, 1)
    ```

    Reference:
        Ho, Jain & Abbeel, "Denoising Diffusion Probabilistic Models", NeurIPS 2020 (appendix B);
        Ronneberger, Fischer & Brox, "U-Net", MICCAI 2015.
    """

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

        def block(in_channels, out_channels, name):
            return ResidualBlock(in_channels, out_channels, num_groups, self.dropout, name=name)

        def attention(name):
            return SpatialSelfAttention(head_dim, num_groups, name=name)

        self.time_embedding = TimestepEmbedding(
            self.embedding_dim, frequency_dim=self.channels[0], name="time_embedding"
        )
        self.label_embedding = (
            keras.layers.Embedding(self.num_classes, self.embedding_dim, name="class_embedding")
            if self.num_classes is not None
            else None
        )
        self.conv_in = keras.layers.Conv2D(self.channels[0], 3, padding="same", name="conv_in")
        # Down path; `skips` tracks the channels of every saved skip connection.
        self.down_blocks, self.down_attentions, self.downsamplers = [], [], []
        skips = [self.channels[0]]
        current = self.channels[0]
        for level, width in enumerate(self.channels):
            for index in range(self.num_res_blocks):
                self.down_blocks.append(block(current, width, f"down_{level}_res_{index}"))
                has_attention = level in self.attention_levels
                self.down_attentions.append(attention(f"down_{level}_attn_{index}") if has_attention else None)
                current = width
                skips.append(current)
            if level < levels - 1:
                self.downsamplers.append(
                    keras.layers.Conv2D(current, 3, strides=2, padding="same", name=f"down_{level}")
                )
                skips.append(current)
        self.mid_block_1 = block(current, current, "mid_res_0")
        self.mid_attention_layer = attention("mid_attn") if self.mid_attention else None
        self.mid_block_2 = block(current, current, "mid_res_1")
        self.up_blocks, self.up_attentions, self.upsamplers = [], [], []
        for level in reversed(range(levels)):
            width = self.channels[level]
            for index in range(self.num_res_blocks + 1):
                skip = skips.pop()
                self.up_blocks.append(block(current + skip, width, f"up_{level}_res_{index}"))
                has_attention = level in self.attention_levels
                self.up_attentions.append(attention(f"up_{level}_attn_{index}") if has_attention else None)
                current = width
            if level > 0:
                self.upsamplers.append(keras.layers.Conv2D(current, 3, padding="same", name=f"up_{level}"))
        self.norm_out = keras.layers.GroupNormalization(num_groups, epsilon=1e-6, name="norm_out")
        self.conv_out = keras.layers.Conv2D(self.out_channels, 3, padding="same", name="conv_out")

    @property
    def size_multiple(self):
        """Height and width of the inputs must be multiples of this: `2 ** (len(channels) - 1)`."""
        return 2 ** (len(self.channels) - 1)

    def check_image_shape(self, owner, argument, shape):
        """Raise a clear error naming `argument` when `shape` `(height, width, ...)` cannot pass the UNet."""
        multiple = self.size_multiple
        height, width = shape[0], shape[1]
        if any(size is not None and size % multiple for size in (height, width)):
            raise ValueError(
                f"{owner}: the height and width of `{argument}` must be divisible by 2 ** (levels - 1) = "
                f"{multiple} for a UNet with {len(self.channels)} levels, got {height}x{width}"
            )

    def build(self, x_shape, timesteps_shape=None, labels_shape=None):
        self.check_image_shape(type(self).__name__, "x", tuple(x_shape[1:3]))
        embedding = (None, self.embedding_dim)
        self.time_embedding.build(timesteps_shape)
        if self.label_embedding is not None:
            self.label_embedding.build((None,))
        self.conv_in.build((None, None, None, x_shape[-1]))
        for block, attention in zip(self.down_blocks, self.down_attentions):
            block.build((None, None, None, block.in_channels), embedding)
            if attention is not None:
                attention.build((None, None, None, block.out_channels))
        for conv, width in zip(self.downsamplers, self.channels):
            conv.build((None, None, None, width))
        top = self.channels[-1]
        for block in (self.mid_block_1, self.mid_block_2):
            block.build((None, None, None, top), embedding)
        if self.mid_attention_layer is not None:
            self.mid_attention_layer.build((None, None, None, top))
        for block, attention in zip(self.up_blocks, self.up_attentions):
            block.build((None, None, None, block.in_channels), embedding)
            if attention is not None:
                attention.build((None, None, None, block.out_channels))
        for conv, level in zip(self.upsamplers, reversed(range(1, len(self.channels)))):
            conv.build((None, None, None, self.channels[level]))
        self.norm_out.build((None, None, None, self.channels[0]))
        self.conv_out.build((None, None, None, self.channels[0]))

    def call(self, x, timesteps, labels=None, training=False):
        self.check_image_shape(type(self).__name__, "x", tuple(x.shape[1:3]))
        embedding = self.time_embedding(timesteps)
        if labels is not None:
            if self.label_embedding is None:
                raise ValueError(f"{type(self).__name__}: `labels` need `num_classes`, which is None")
            embedding = embedding + self.label_embedding(ops.cast(ops.reshape(labels, (-1,)), "int32"))
        h = self.conv_in(x)
        skips = [h]
        blocks = iter(zip(self.down_blocks, self.down_attentions))
        for level in range(len(self.channels)):
            for _ in range(self.num_res_blocks):
                block, attention = next(blocks)
                h = block(h, embedding, training=training)
                if attention is not None:
                    h = attention(h)
                skips.append(h)
            if level < len(self.channels) - 1:
                h = self.downsamplers[level](h)
                skips.append(h)
        h = self.mid_block_1(h, embedding, training=training)
        if self.mid_attention_layer is not None:
            h = self.mid_attention_layer(h)
        h = self.mid_block_2(h, embedding, training=training)
        blocks = iter(zip(self.up_blocks, self.up_attentions))
        upsamplers = iter(self.upsamplers)
        for level in reversed(range(len(self.channels))):
            for _ in range(self.num_res_blocks + 1):
                block, attention = next(blocks)
                h = block(ops.concatenate([h, skips.pop()], axis=-1), embedding, training=training)
                if attention is not None:
                    h = attention(h)
            if level > 0:
                h = next(upsamplers)(ops.repeat(ops.repeat(h, 2, axis=1), 2, axis=2))
        return self.conv_out(ops.silu(self.norm_out(h)))

    def compute_output_shape(self, x_shape, timesteps_shape=None, labels_shape=None):
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
        }
