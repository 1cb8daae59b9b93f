"""Image-to-image networks: the pix2pix U-Net, the CycleGAN ResNet, and the config both translation models share."""

import dataclasses

import keras
from keras import layers
from keras import ops

from artifex_keras.config import Config
from artifex_keras.models.gan import losses
from artifex_keras.models.gan.patchgan import NORMS
from artifex_keras.models.gan.patchgan import build_patch_discriminator
from artifex_keras.models.gan.patchgan import check_patch_shape
from artifex_keras.models.gan.patchgan import normalization

GENERATORS = ("unet", "resnet")
# The pix2pix U-Net applies dropout in its innermost decoder blocks only.
DROPOUT_BLOCKS = 3


@keras.saving.register_keras_serializable(package="artifex_keras")
class ReflectionPadding2D(keras.layers.Layer):
    """Pad height and width by mirroring the image at its border (no repeated edge pixel).

    Args:
        padding: pixels added on each side.

    Example:
    ```python
    ReflectionPadding2D(3)(images)      # (b, h + 6, w + 6, c)
    ```
    """

    def __init__(self, padding=1, **kwargs):
        super().__init__(**kwargs)
        if isinstance(padding, bool) or not isinstance(padding, int) or padding < 1:
            raise ValueError(f"ReflectionPadding2D: `padding` must be a positive int, got {padding!r}")
        self.padding = padding

    def call(self, inputs):
        pad = self.padding
        return ops.pad(inputs, ((0, 0), (pad, pad), (pad, pad), (0, 0)), mode="reflect")

    def compute_output_shape(self, input_shape):
        grow = [None if d is None else d + 2 * self.padding for d in input_shape[1:3]]
        return (input_shape[0], *grow, input_shape[3])

    def get_config(self):
        return {**super().get_config(), "padding": self.padding}


def check_translation_shape(owner, input_shape, generator, depth):
    """Raise a clear error for image sizes the generator cannot halve `depth` times and restore.

    Example:
    ```python
    check_translation_shape("Pix2Pix", (28, 28, 1), "unet", 2)   # fine: 28 -> 14 -> 7
    ```
    """
    if len(input_shape) != 3:
        raise ValueError(f"{owner}: `input_shape` must be (height, width, channels), got {tuple(input_shape)}")
    factor = 2**depth
    height, width = input_shape[0], input_shape[1]
    if height % factor or width % factor:
        deepest = 0
        while height % 2 ** (deepest + 1) == 0 and width % 2 ** (deepest + 1) == 0:
            deepest += 1
        hint = f"use generator_depth <= {deepest}" if deepest else "use even height and width"
        raise ValueError(
            f"{owner}: `input_shape` height and width must be divisible by {factor} (2 ** generator_depth, one "
            f"halving per level) for the {generator} generator, got {tuple(input_shape)}; {hint}"
        )
    if generator == "resnet" and min(height, width) // factor < 2:
        raise ValueError(
            f"{owner}: the resnet generator's residual blocks need at least 2x2 pixels after {depth} halvings, "
            f"got {tuple(input_shape)}; use a smaller generator_depth"
        )


def _normalized(x, norm, name):
    layer = normalization(norm, name)
    return x if layer is None else layer(x)


def build_unet_generator(
    input_shape, output_channels, filters, depth, dropout, norm, output_activation, name, seed=None
):
    """The pix2pix U-Net: `depth` stride-2 4x4 convolutions down, transposed ones up, skips between mirrored levels.

    Encoder level `i` has `filters * 2^i` filters (capped at 8x) and
    LeakyReLU(0.2); decoder levels have ReLU, dropout `dropout` in the
    innermost `DROPOUT_BLOCKS` of them, and concatenate the encoder's
    output of the same resolution. The outermost and innermost encoder
    levels are not normalised (one pixel has no instance statistics).
    Layer names start with `name`, so two generators of one model keep
    distinct variable paths.
    """
    inputs = keras.Input(shape=input_shape, name=f"{name}_source")
    x = inputs
    skips = []
    for level in range(depth):
        width = filters * min(2**level, 8)
        x = layers.Conv2D(width, 4, strides=2, padding="same", name=f"{name}_down_{level}")(x)
        if 0 < level < depth - 1:
            x = _normalized(x, norm, f"{name}_down_norm_{level}")
        x = layers.LeakyReLU(0.2, name=f"{name}_down_act_{level}")(x)
        skips.append(x)
    for block, level in enumerate(reversed(range(depth - 1))):
        width = filters * min(2**level, 8)
        x = layers.Conv2DTranspose(width, 4, strides=2, padding="same", name=f"{name}_up_{level}")(x)
        x = _normalized(x, norm, f"{name}_up_norm_{level}")
        if dropout and block < DROPOUT_BLOCKS:
            layer_seed = None if seed is None else seed + level
            x = layers.Dropout(dropout, seed=layer_seed, name=f"{name}_up_dropout_{level}")(x)
        x = layers.ReLU(name=f"{name}_up_act_{level}")(x)
        x = layers.Concatenate(name=f"{name}_skip_{level}")([x, skips[level]])
    outputs = layers.Conv2DTranspose(
        output_channels, 4, strides=2, padding="same", activation=output_activation, name=f"{name}_output"
    )(x)
    return keras.Model(inputs, outputs, name=name)


def build_resnet_generator(
    input_shape, output_channels, filters, depth, residual_blocks, norm, output_activation, name
):
    """The CycleGAN ResNet: c7s1-f, `depth` stride-2 3x3 halvings, residual blocks, `depth` doublings, c7s1 out.

    Convolutions of the stem, the residual blocks and the output pad by
    reflection; every hidden convolution is followed by `norm` and ReLU.
    Layer names start with `name`.
    """
    inputs = keras.Input(shape=input_shape, name=f"{name}_source")
    x = ReflectionPadding2D(3, name=f"{name}_stem_pad")(inputs)
    x = layers.Conv2D(filters, 7, name=f"{name}_stem")(x)
    x = layers.ReLU(name=f"{name}_stem_act")(_normalized(x, norm, f"{name}_stem_norm"))
    for level in range(1, depth + 1):
        x = layers.Conv2D(filters * 2**level, 3, strides=2, padding="same", name=f"{name}_down_{level}")(x)
        x = layers.ReLU(name=f"{name}_down_act_{level}")(_normalized(x, norm, f"{name}_down_norm_{level}"))
    width = filters * 2**depth
    for block in range(residual_blocks):
        y = ReflectionPadding2D(1, name=f"{name}_res_{block}_pad_a")(x)
        y = layers.Conv2D(width, 3, name=f"{name}_res_{block}_conv_a")(y)
        y = layers.ReLU(name=f"{name}_res_{block}_act")(_normalized(y, norm, f"{name}_res_{block}_norm_a"))
        y = ReflectionPadding2D(1, name=f"{name}_res_{block}_pad_b")(y)
        y = layers.Conv2D(width, 3, name=f"{name}_res_{block}_conv_b")(y)
        y = _normalized(y, norm, f"{name}_res_{block}_norm_b")
        x = layers.Add(name=f"{name}_res_{block}")([x, y])
    for level in reversed(range(depth)):
        x = layers.Conv2DTranspose(filters * 2**level, 3, strides=2, padding="same", name=f"{name}_up_{level}")(x)
        x = layers.ReLU(name=f"{name}_up_act_{level}")(_normalized(x, norm, f"{name}_up_norm_{level}"))
    x = ReflectionPadding2D(3, name=f"{name}_output_pad")(x)
    outputs = layers.Conv2D(output_channels, 7, activation=output_activation, name=f"{name}_output")(x)
    return keras.Model(inputs, outputs, name=name)


# Output activation -> the range images lie in.
OUTPUT_RANGES = {"sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0)}


@dataclasses.dataclass(frozen=True)
class TranslationConfig(Config):
    """Fields shared by the image-to-image models: image shape, generator, PatchGAN discriminator, loss.

    Args:
        input_shape: shape of one source image `(height, width, channels)`.
        generator: `"unet"` (skip connections, pix2pix) or `"resnet"`
            (residual blocks, CycleGAN).
        generator_filters: filters of the generator's first level.
        generator_depth: stride-2 halvings of the generator; height and width
            must be divisible by `2 ** generator_depth`.
        residual_blocks: residual blocks of the resnet generator.
        dropout: dropout rate of the U-Net's innermost decoder blocks while training.
        discriminator_filters: filters of the PatchGAN's first convolution.
        discriminator_layers: stride-2 convolutions of the PatchGAN (3: the
            70x70 patches of pix2pix; fewer for small images).
        num_scales: PatchGAN resolutions (1: one discriminator; more: the
            multi-scale discriminator, losses averaged over scales).
        norm: normalisation of both networks: `"instance"`, `"batch"` or `"none"`.
        spectral_norm: wrap the discriminator's convolutions in `SpectralNormalization`.
        loss: adversarial loss, one of `losses.LOSSES`.
        output_activation: `"sigmoid"` (images in [0, 1]) or `"tanh"` (in [-1, 1]).
        seed: seed of the model's random draws.
    """

    input_shape: tuple = (28, 28, 1)
    generator: str = "unet"
    generator_filters: int = 32
    generator_depth: int = 2
    residual_blocks: int = 6
    dropout: float = 0.5
    discriminator_filters: int = 32
    discriminator_layers: int = 2
    num_scales: int = 1
    norm: str = "batch"
    spectral_norm: bool = False
    loss: str = "non_saturating"
    output_activation: str = "sigmoid"
    seed: int | None = None

    def validate(self):
        owner = type(self).__name__
        self.check_int_tuple("input_shape", length=3)
        self.check_choice("generator", GENERATORS)
        self.check_positive_int("generator_filters")
        self.check_positive_int("generator_depth")
        self.check_positive_int("residual_blocks")
        self.check_number("dropout", low=0.0, high=1.0, high_inclusive=False)
        self.check_positive_int("discriminator_filters")
        self.check_positive_int("discriminator_layers")
        self.check_positive_int("num_scales")
        self.check_choice("norm", NORMS)
        self.check_choice("spectral_norm", (True, False))
        self.check_choice("loss", losses.LOSSES)
        self.check_choice("output_activation", tuple(OUTPUT_RANGES))
        if self.seed is not None:
            self.check_non_negative_int("seed")
        check_translation_shape(owner, self.input_shape, self.generator, self.generator_depth)
        check_patch_shape(owner, self.input_shape, self.discriminator_layers, self.num_scales)

    def make_generator(self, output_channels, name):
        """A generator of this config's kind and size, mapping `input_shape` images to `output_channels`."""
        shared = (self.input_shape, output_channels, self.generator_filters, self.generator_depth)
        if self.generator == "unet":
            return build_unet_generator(
                *shared, self.dropout, self.norm, self.output_activation, name, seed=self.seed
            )
        return build_resnet_generator(*shared, self.residual_blocks, self.norm, self.output_activation, name)

    def make_discriminator(self, name):
        """An unbuilt PatchGAN discriminator (multi-scale when `num_scales` > 1) of this config."""
        return build_patch_discriminator(
            self.num_scales,
            self.discriminator_filters,
            self.discriminator_layers,
            self.norm,
            self.spectral_norm,
            name,
        )
