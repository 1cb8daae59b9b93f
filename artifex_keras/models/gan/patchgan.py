"""PatchGAN discriminators: a map of real/fake logits, one per overlapping image patch, at one or several scales."""

import keras
from keras import layers
from keras import ops

from artifex_keras.layers.spectral_normalization import SpectralNormalization

NORMS = ("instance", "batch", "none")
# Every convolution of the discriminator: 4x4 kernels, zero padding 1 (Isola et al. 2017).
KERNEL_SIZE = 4
PADDING = 1
# Filters stop doubling at this multiple of the first layer's.
MAX_FILTER_MULTIPLE = 8


def _layer_strides(num_layers):
    """The strides of the convolutions: `num_layers` halvings, then a stride-1 block and the stride-1 logit layer."""
    return (2,) * num_layers + (1, 1)


def patch_receptive_field(num_layers):
    """Side in pixels of the input square each logit sees (70 for the 3-layer pix2pix discriminator).

    Example:
    ```python
    patch_receptive_field(3)    # 70
    ```
    """
    field = 1
    for stride in reversed(_layer_strides(num_layers)):
        field = (field - 1) * stride + KERNEL_SIZE
    return field


def patch_output_size(size, num_layers):
    """Side of the logit map for an input side `size` (0 when the input is too small).

    Example:
    ```python
    patch_output_size(256, 3)   # 30: the pix2pix 30x30 map of 70x70 patches
    ```
    """
    for stride in _layer_strides(num_layers):
        size = (size + 2 * PADDING - KERNEL_SIZE) // stride + 1
        if size < 1:
            return 0
    return size


def check_patch_shape(owner, shape, num_layers, num_scales=1, argument="input_shape"):
    """Raise a clear error when images of `shape` `(height, width, channels)` leave a scale no patch to score.

    Scale `s` sees the image halved `s` times (`MultiScalePatchGANDiscriminator`).

    Example:
    ```python
    check_patch_shape("Pix2Pix", (28, 28, 1), num_layers=2)   # fine: a 5x5 map of 34x34 patches
    ```
    """
    if len(shape) != 3:
        raise ValueError(f"{owner}: `{argument}` must be (height, width, channels), got {tuple(shape)}")
    coarsest = [None if d is None else d // 2 ** (num_scales - 1) for d in shape[:2]]
    if any(d is not None and patch_output_size(d, num_layers) < 1 for d in coarsest):
        smallest = 3 * 2**num_layers * 2 ** (num_scales - 1)
        scales = f" at {num_scales} scales" if num_scales > 1 else ""
        raise ValueError(
            f"{owner}: `{argument}` height and width must be at least {smallest} for a PatchGAN discriminator "
            f"with num_layers={num_layers}{scales}, got {tuple(shape)}; use fewer discriminator layers"
            + (" or scales" if num_scales > 1 else "")
        )


def normalization(norm, name):
    """The normalisation layer for `norm` in `NORMS` (None for `"none"`).

    `"instance"` normalises each image and channel over its pixels (a group
    normalisation with one channel per group), `"batch"` over the batch.
    """
    if norm == "instance":
        return layers.GroupNormalization(groups=-1, epsilon=1e-5, name=name)
    if norm == "batch":
        return layers.BatchNormalization(name=name)
    return None


def _check_choice(owner, name, value, choices):
    if value not in choices:
        raise ValueError(f"{owner}: `{name}` must be one of {', '.join(repr(c) for c in choices)}, got {value!r}")


def _check_positive_int(owner, name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{owner}: `{name}` must be a positive int, got {value!r}")


@keras.saving.register_keras_serializable(package="artifex_keras")
class PatchGANDiscriminator(keras.layers.Layer):
    """Discriminator that scores every overlapping patch of an image: a map of logits `(batch, h, w, 1)`.

    `num_layers` stride-2 4x4 convolutions (filters `filters * 2^i`, capped
    at 8x), a stride-1 4x4 convolution, then a stride-1 4x4 convolution to
    one logit per position; every convolution pads by 1. LeakyReLU(0.2)
    follows every hidden convolution and `norm` every one but the first.
    Each logit sees a `patch_receptive_field(num_layers)` pixel square of
    the input (70 for 3 layers, the pix2pix design) and nothing outside it
    when `norm` is `"none"` or `"batch"` at inference (instance statistics
    span the whole image). A conditioning image passed as `condition` is
    concatenated after the image's channels, as pix2pix judges
    (source, output) pairs.

    Args:
        filters: filters of the first convolution.
        num_layers: stride-2 convolutions (each halves the resolution).
        norm: `"instance"`, `"batch"` or `"none"`.
        spectral_norm: wrap every convolution in `SpectralNormalization`.
        **kwargs: `keras.layers.Layer` arguments (`name`, `dtype`).

    Example:
    ```python
    discriminator = PatchGANDiscriminator(filters=16, num_layers=2)
    logits = discriminator(images, condition=sources)   # (batch, 5, 5, 1) for 28x28 images
    ```

    Reference:
        Isola et al., "Image-to-Image Translation with Conditional Adversarial Networks", CVPR 2017.
    """

    def __init__(self, filters=64, num_layers=3, norm="batch", spectral_norm=False, **kwargs):
        super().__init__(**kwargs)
        owner = type(self).__name__
        _check_positive_int(owner, "filters", filters)
        _check_positive_int(owner, "num_layers", num_layers)
        _check_choice(owner, "norm", norm, NORMS)
        _check_choice(owner, "spectral_norm", spectral_norm, (True, False))
        self.filters = filters
        self.num_layers = num_layers
        self.norm = norm
        self.spectral_norm = spectral_norm
        self.blocks = []
        strides = _layer_strides(num_layers)
        for index, stride in enumerate(strides):
            last = index == len(strides) - 1
            width = 1 if last else filters * min(2**index, MAX_FILTER_MULTIPLE)
            conv = layers.Conv2D(width, KERNEL_SIZE, strides=stride, padding="valid", name=f"conv_{index}")
            block = [layers.ZeroPadding2D(PADDING), SpectralNormalization(conv) if spectral_norm else conv]
            if not last:
                norm_layer = None if index == 0 else normalization(norm, f"norm_{index}")
                block += ([norm_layer] if norm_layer is not None else []) + [layers.LeakyReLU(0.2)]
            self.blocks.append(block)

    @property
    def receptive_field(self):
        """Side in pixels of the input square each logit sees."""
        return patch_receptive_field(self.num_layers)

    def output_size(self, size):
        """Side of the logit map for an input side `size`."""
        return patch_output_size(size, self.num_layers)

    def check_image_shape(self, owner, shape, argument="input_shape"):
        """Raise a clear error when an image of `shape` `(height, width, channels)` leaves no patch to score."""
        check_patch_shape(owner, shape, self.num_layers, argument=argument)

    def build(self, inputs_shape, condition_shape=None):
        channels = inputs_shape[-1] + (0 if condition_shape is None else condition_shape[-1])
        shape = (*inputs_shape[:-1], channels)
        self.check_image_shape(type(self).__name__, tuple(shape[1:]), "inputs")
        for block in self.blocks:
            for layer in block:
                layer.build(shape)
                shape = layer.compute_output_shape(shape)

    def call(self, inputs, condition=None, training=False):
        x = inputs if condition is None else ops.concatenate([inputs, ops.cast(condition, inputs.dtype)], axis=-1)
        for block in self.blocks:
            for layer in block:
                x = layer(x, training=training)
        return x

    def compute_output_shape(self, inputs_shape, condition_shape=None):
        height, width = (None if d is None else self.output_size(d) for d in inputs_shape[1:3])
        return (inputs_shape[0], height, width, 1)

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "num_layers": self.num_layers,
            "norm": self.norm,
            "spectral_norm": self.spectral_norm,
        }


@keras.saving.register_keras_serializable(package="artifex_keras")
class MultiScalePatchGANDiscriminator(keras.layers.Layer):
    """PatchGAN discriminators at full, half, quarter... resolution: a list of logit maps, finest first.

    Scale `s` sees the image (and the condition) average-pooled `s` times
    by 2x2 windows and has its own weights; an adversarial loss over the
    maps is the mean of the per-scale losses (`mean_over_scales`).

    Args:
        num_scales: how many resolutions (pix2pixHD uses 3).
        filters, num_layers, norm, spectral_norm: as in `PatchGANDiscriminator`, for every scale.
        **kwargs: `keras.layers.Layer` arguments.

    Example:
    ```python
    discriminator = MultiScalePatchGANDiscriminator(num_scales=3, filters=16, num_layers=1)
    maps = discriminator(images)       # [(b, 12, 12, 1), (b, 5, 5, 1), (b, 1, 1, 1)] for 28x28
    ```

    Reference:
        Wang et al., "High-Resolution Image Synthesis and Semantic Manipulation with Conditional GANs", CVPR 2018.
    """

    def __init__(self, num_scales=3, filters=64, num_layers=3, norm="batch", spectral_norm=False, **kwargs):
        super().__init__(**kwargs)
        _check_positive_int(type(self).__name__, "num_scales", num_scales)
        self.num_scales = num_scales
        self.discriminators = [
            PatchGANDiscriminator(filters, num_layers, norm, spectral_norm, name=f"scale_{scale}")
            for scale in range(num_scales)
        ]
        self.pool = layers.AveragePooling2D(2, name="downsample")

    @property
    def filters(self):
        return self.discriminators[0].filters

    @property
    def num_layers(self):
        return self.discriminators[0].num_layers

    @property
    def norm(self):
        return self.discriminators[0].norm

    @property
    def spectral_norm(self):
        return self.discriminators[0].spectral_norm

    def scale_shapes(self, shape):
        """The `(height, width)` each scale sees for an input `(height, width, ...)`."""
        height, width = shape[0], shape[1]
        sizes = []
        for _ in range(self.num_scales):
            sizes.append((height, width))
            height, width = (None if d is None else d // 2 for d in (height, width))
        return sizes

    def check_image_shape(self, owner, shape, argument="input_shape"):
        """Raise a clear error when the coarsest scale leaves no patch to score."""
        check_patch_shape(owner, shape, self.num_layers, self.num_scales, argument)

    def build(self, inputs_shape, condition_shape=None):
        self.check_image_shape(type(self).__name__, tuple(inputs_shape[1:]), "inputs")
        for discriminator, (height, width) in zip(self.discriminators, self.scale_shapes(inputs_shape[1:])):
            condition = None if condition_shape is None else (condition_shape[0], height, width, condition_shape[-1])
            discriminator.build((inputs_shape[0], height, width, inputs_shape[-1]), condition)

    def call(self, inputs, condition=None, training=False):
        maps = []
        for scale, discriminator in enumerate(self.discriminators):
            if scale:
                inputs = self.pool(inputs)
                condition = None if condition is None else self.pool(condition)
            maps.append(discriminator(inputs, condition=condition, training=training))
        return maps

    def compute_output_shape(self, inputs_shape, condition_shape=None):
        return [
            self.discriminators[0].compute_output_shape((inputs_shape[0], height, width, inputs_shape[-1]))
            for height, width in self.scale_shapes(inputs_shape[1:])
        ]

    def get_config(self):
        return {
            **super().get_config(),
            "num_scales": self.num_scales,
            "filters": self.filters,
            "num_layers": self.num_layers,
            "norm": self.norm,
            "spectral_norm": self.spectral_norm,
        }


def build_patch_discriminator(num_scales, filters, num_layers, norm, spectral_norm, name):
    """A `PatchGANDiscriminator` for one scale, a `MultiScalePatchGANDiscriminator` for several."""
    if num_scales == 1:
        return PatchGANDiscriminator(filters, num_layers, norm, spectral_norm, name=name)
    return MultiScalePatchGANDiscriminator(num_scales, filters, num_layers, norm, spectral_norm, name=name)


def logit_maps(discriminator, images, condition=None, training=False):
    """The discriminator's logit maps as a list (one per scale), in float32."""
    maps = discriminator(images, condition=condition, training=training)
    maps = maps if isinstance(maps, (list, tuple)) else [maps]
    return [ops.cast(logits, "float32") for logits in maps]


def mean_over_scales(loss_fn, *maps):
    """`loss_fn` applied scale by scale to lists of logit maps, averaged: the multi-scale adversarial loss.

    Example:
    ```python
    loss = mean_over_scales(lambda fake: losses.generator_loss("least_squares", fake), fake_maps)
    ```
    """
    values = [loss_fn(*scale_maps) for scale_maps in zip(*maps)]
    return values[0] if len(values) == 1 else ops.mean(ops.stack(values))
