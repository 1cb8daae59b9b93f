"""StyleGAN2 building blocks: equalised-learning-rate layers, the mapping network, modulated convolutions.

Every weight of these layers is stored at unit scale (or `1 / lr_multiplier`)
and multiplied at run time by the He constant `lr_multiplier / sqrt(fan_in)`
(equalised learning rate, Karras et al. 2018), so Adam's per-weight step
sizes act alike on every layer. `SynthesisNetwork` and `ResidualDiscriminator`
assemble them into the two networks of `artifex_keras.models.StyleGAN2`.

Example:
```python
mapping = MappingNetwork(latent_dim=64, w_dim=64, num_layers=2)
w = mapping(z)                                          # (batch, 64)
conv = ModulatedConv2D(32, 3)
features = conv([images, w])                            # styled and demodulated
```

Reference:
    Karras et al., "Analyzing and Improving the Image Quality of StyleGAN", CVPR 2020.
"""

import math

import keras
from keras import ops

_GAIN = math.sqrt(2.0)
_ACTIVATIONS = (None, "lrelu")


def _activate(x, activation):
    # Leaky ReLU with the gain sqrt(2) that keeps the second moment of He-initialised layers.
    return x if activation is None else ops.leaky_relu(x, 0.2) * _GAIN


def _check_positive_int(owner, name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{owner}: `{name}` must be a positive int, got {value!r}")


def _check_positive_number(owner, name, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(f"{owner}: `{name}` must be a positive number, got {value!r}")


def _check_activation(owner, activation):
    if activation not in _ACTIVATIONS:
        raise ValueError(f"{owner}: `activation` must be None or 'lrelu', got {activation!r}")


def normalize_second_moment(x, epsilon=1e-8):
    """`x / sqrt(mean(x^2))` over the last axis (StyleGAN's pixel norm of latents)."""
    return x * ops.rsqrt(ops.mean(ops.square(x), axis=-1, keepdims=True) + epsilon)


@keras.saving.register_keras_serializable(package="artifex_keras")
class EqualizedDense(keras.layers.Layer):
    """Dense layer with equalised learning rate: weights scaled by `lr_multiplier / sqrt(fan_in)` at run time.

    The kernel is drawn from `N(0, 1 / lr_multiplier^2)` and the bias
    starts at `bias_init / lr_multiplier`; both are multiplied back at run
    time, so the layer starts as a He-initialised dense layer whose learning
    rate is scaled by `lr_multiplier` (0.01 in StyleGAN's mapping network).

    Args:
        units: output size.
        lr_multiplier: learning-rate multiplier of the layer.
        bias_init: the bias's effective initial value.
        use_bias: add a bias.
        activation: None or `"lrelu"` (leaky ReLU with gain sqrt(2)).

    Example:
    ```python
    dense = EqualizedDense(64, lr_multiplier=0.01, activation="lrelu")
    y = dense(x)
    ```

    Reference:
        Karras et al., "Progressive Growing of GANs", ICLR 2018, section 4.1.
    """

    def __init__(self, units, lr_multiplier=1.0, bias_init=0.0, use_bias=True, activation=None, **kwargs):
        super().__init__(**kwargs)
        _check_positive_int("EqualizedDense", "units", units)
        _check_positive_number("EqualizedDense", "lr_multiplier", lr_multiplier)
        _check_activation("EqualizedDense", activation)
        self.units = units
        self.lr_multiplier = float(lr_multiplier)
        self.bias_init = float(bias_init)
        self.use_bias = bool(use_bias)
        self.activation = activation

    def build(self, input_shape):
        fan_in = int(input_shape[-1])
        self.kernel = self.add_weight(
            shape=(fan_in, self.units),
            initializer=keras.initializers.RandomNormal(stddev=1.0 / self.lr_multiplier),
            name="kernel",
        )
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                shape=(self.units,),
                initializer=keras.initializers.Constant(self.bias_init / self.lr_multiplier),
                name="bias",
            )
        self.kernel_scale = self.lr_multiplier / math.sqrt(fan_in)
        self.built = True

    def call(self, inputs):
        y = ops.matmul(inputs, self.kernel * self.kernel_scale)
        if self.bias is not None:
            y = y + self.bias * self.lr_multiplier
        return _activate(y, self.activation)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "units": self.units,
                "lr_multiplier": self.lr_multiplier,
                "bias_init": self.bias_init,
                "use_bias": self.use_bias,
                "activation": self.activation,
            }
        )
        return config


@keras.saving.register_keras_serializable(package="artifex_keras")
class EqualizedConv2D(keras.layers.Layer):
    """Stride-1 "same" convolution with equalised learning rate: the kernel is scaled by `1 / sqrt(k * k * c_in)`.

    Args:
        filters: output channels.
        kernel_size: side of the square kernel (odd).
        use_bias: add a bias.
        activation: None or `"lrelu"` (leaky ReLU with gain sqrt(2)).

    Example:
    ```python
    conv = EqualizedConv2D(32, 3, activation="lrelu")
    y = conv(images)
    ```
    """

    def __init__(self, filters, kernel_size=3, use_bias=True, activation=None, **kwargs):
        super().__init__(**kwargs)
        _check_positive_int("EqualizedConv2D", "filters", filters)
        _check_positive_int("EqualizedConv2D", "kernel_size", kernel_size)
        if kernel_size % 2 == 0:
            raise ValueError(f"EqualizedConv2D: `kernel_size` must be odd, got {kernel_size}")
        _check_activation("EqualizedConv2D", activation)
        self.filters = filters
        self.kernel_size = kernel_size
        self.use_bias = bool(use_bias)
        self.activation = activation

    def build(self, input_shape):
        channels = int(input_shape[-1])
        k = self.kernel_size
        self.kernel = self.add_weight(
            shape=(k, k, channels, self.filters), initializer=keras.initializers.RandomNormal(stddev=1.0), name="kernel"
        )
        self.bias = self.add_weight(shape=(self.filters,), initializer="zeros", name="bias") if self.use_bias else None
        self.kernel_scale = 1.0 / math.sqrt(k * k * channels)
        self.built = True

    def call(self, inputs):
        y = ops.conv(inputs, self.kernel * self.kernel_scale, padding="same")
        if self.bias is not None:
            y = y + self.bias
        return _activate(y, self.activation)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.filters)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "filters": self.filters,
                "kernel_size": self.kernel_size,
                "use_bias": self.use_bias,
                "activation": self.activation,
            }
        )
        return config


@keras.saving.register_keras_serializable(package="artifex_keras")
class MappingNetwork(keras.layers.Layer):
    """StyleGAN's mapping network `z -> w`: second-moment normalised latents through an equalised-lr MLP.

    With `num_classes > 0` the layer takes `(z, labels)`: a learned embedding
    of the one-hot labels is normalised like `z` and concatenated to it
    (the conditional mapping of StyleGAN2-ADA). The layer also tracks the
    average `w` seen in training (`w_avg`, a non-trainable weight) for the
    truncation trick: `update_w_avg(w)` moves it towards the batch mean
    and `truncate(w, psi)` returns `w_avg + psi * (w - w_avg)`.

    Args:
        latent_dim: size of `z`.
        w_dim: size of `w` (and of the hidden layers).
        num_layers: dense layers (8 in the paper).
        num_classes: 0 for an unconditional network, else the number of labels.
        lr_multiplier: learning-rate multiplier of every dense layer (0.01 in the paper).
        w_avg_decay: weight of the old average in `update_w_avg`.

    Example:
    ```python
    mapping = MappingNetwork(latent_dim=64, w_dim=64, num_layers=4, num_classes=10)
    w = mapping(z, labels=labels)
    w = mapping.truncate(w, 0.7)
    ```

    Reference:
        Karras et al., "A Style-Based Generator Architecture for GANs", CVPR 2019, section 2.
    """

    def __init__(self, latent_dim, w_dim, num_layers=8, num_classes=0, lr_multiplier=0.01, w_avg_decay=0.995, **kwargs):
        super().__init__(**kwargs)
        _check_positive_int("MappingNetwork", "latent_dim", latent_dim)
        _check_positive_int("MappingNetwork", "w_dim", w_dim)
        _check_positive_int("MappingNetwork", "num_layers", num_layers)
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 0:
            raise ValueError(f"MappingNetwork: `num_classes` must be a non-negative int, got {num_classes!r}")
        _check_positive_number("MappingNetwork", "lr_multiplier", lr_multiplier)
        if isinstance(w_avg_decay, bool) or not isinstance(w_avg_decay, (int, float)) or not 0 <= w_avg_decay < 1:
            raise ValueError(f"MappingNetwork: `w_avg_decay` must be a number in [0, 1), got {w_avg_decay!r}")
        self.latent_dim = latent_dim
        self.w_dim = w_dim
        self.num_layers = num_layers
        self.num_classes = num_classes
        self.lr_multiplier = float(lr_multiplier)
        self.w_avg_decay = float(w_avg_decay)
        self.embed = EqualizedDense(w_dim, name="embed") if num_classes else None
        self.dense_layers = [
            EqualizedDense(w_dim, lr_multiplier=self.lr_multiplier, activation="lrelu", name=f"dense_{i}")
            for i in range(num_layers)
        ]

    def build(self, input_shape=None):
        width = self.latent_dim
        if self.embed is not None:
            self.embed.build((None, self.num_classes))
            width += self.w_dim
        for layer in self.dense_layers:
            layer.build((None, width))
            width = self.w_dim
        self.w_avg = self.add_weight(shape=(self.w_dim,), initializer="zeros", trainable=False, name="w_avg")
        self.built = True

    def call(self, z, labels=None):
        x = normalize_second_moment(ops.cast(z, self.compute_dtype))
        if self.embed is not None:
            if labels is None:
                raise ValueError(f"MappingNetwork: `labels` are required with num_classes={self.num_classes}")
            one_hot = ops.one_hot(ops.reshape(ops.cast(labels, "int32"), (-1,)), self.num_classes, dtype=x.dtype)
            x = ops.concatenate([x, normalize_second_moment(self.embed(one_hot))], axis=-1)
        for layer in self.dense_layers:
            x = layer(x)
        return x

    def update_w_avg(self, w):
        """Move `w_avg` towards the mean of the batch `w` (no gradient flows into the average)."""
        mean = ops.mean(ops.stop_gradient(ops.cast(w, "float32")), axis=0)
        self.w_avg.assign(mean + self.w_avg_decay * (self.w_avg - mean))

    def truncate(self, w, psi):
        """The truncation trick: `w_avg + psi * (w - w_avg)` (psi=1 leaves `w` unchanged)."""
        if isinstance(psi, (int, float)) and psi == 1:
            return w
        return self.w_avg + psi * (w - self.w_avg)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.w_dim)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "latent_dim": self.latent_dim,
                "w_dim": self.w_dim,
                "num_layers": self.num_layers,
                "num_classes": self.num_classes,
                "lr_multiplier": self.lr_multiplier,
                "w_avg_decay": self.w_avg_decay,
            }
        )
        return config


@keras.saving.register_keras_serializable(package="artifex_keras")
class ModulatedConv2D(keras.layers.Layer):
    """Convolution whose weights are modulated per example by a style, then optionally demodulated.

    Takes `[x, w]`: feature maps `(batch, height, width, c_in)` and latents
    `(batch, w_dim)`. A learned affine map (an `EqualizedDense` with bias
    initialised to 1) turns `w` into a style `s` of size `c_in`; the
    example's kernel is `k'[.., i, o] = g * k[.., i, o] * s[i]` with the
    equalised-lr gain `g = 1 / sqrt(kernel_size^2 * c_in)`, and with
    `demodulate` its output channels are rescaled to unit norm,
    `k''[.., o] = k'[.., o] / sqrt(sum k'[.., o]^2 + epsilon)` (paper eq. 1-3),
    so unit-variance inputs give unit-variance outputs.

    It runs in the fused form: scale the inputs by `s`, convolve with the
    shared kernel, scale the outputs by the demodulation factors; this
    equals convolving each example with its own kernel (`modulated_kernel`)
    and needs no grouped convolution, so it runs on every backend.

    Args:
        filters: output channels.
        kernel_size: side of the square kernel (odd); "same" padding.
        demodulate: rescale each output channel to unit expected variance.
        epsilon: added to the squared norms before demodulating.

    Example:
    ```python
    conv = ModulatedConv2D(64, 3)
    y = conv([x, w])
    kernels = conv.modulated_kernel(w)       # (batch, 3, 3, c_in, 64)
    ```

    Reference:
        Karras et al., "Analyzing and Improving the Image Quality of StyleGAN", CVPR 2020, section 2.2.
    """

    def __init__(self, filters, kernel_size=3, demodulate=True, epsilon=1e-8, **kwargs):
        super().__init__(**kwargs)
        _check_positive_int("ModulatedConv2D", "filters", filters)
        _check_positive_int("ModulatedConv2D", "kernel_size", kernel_size)
        if kernel_size % 2 == 0:
            raise ValueError(f"ModulatedConv2D: `kernel_size` must be odd, got {kernel_size}")
        _check_positive_number("ModulatedConv2D", "epsilon", epsilon)
        self.filters = filters
        self.kernel_size = kernel_size
        self.demodulate = bool(demodulate)
        self.epsilon = float(epsilon)

    def build(self, input_shape):
        x_shape, w_shape = input_shape
        channels = int(x_shape[-1])
        k = self.kernel_size
        self.affine = EqualizedDense(channels, bias_init=1.0, name="affine")
        self.affine.build(w_shape)
        self.kernel = self.add_weight(
            shape=(k, k, channels, self.filters), initializer=keras.initializers.RandomNormal(stddev=1.0), name="kernel"
        )
        self.kernel_scale = 1.0 / math.sqrt(k * k * channels)
        self.built = True

    def styles(self, w):
        """The per-example styles `s = A(w)`, `(batch, c_in)`."""
        return self.affine(w)

    def demodulation(self, styles):
        """`1 / sqrt(sum_{k,i} (g k[.., i, o] s[i])^2 + epsilon)` for every example and output channel."""
        weight = self.kernel * self.kernel_scale
        return ops.rsqrt(ops.matmul(ops.square(styles), ops.sum(ops.square(weight), axis=(0, 1))) + self.epsilon)

    def modulated_kernel(self, w):
        """Each example's own kernel `(batch, k, k, c_in, filters)`, modulated (and demodulated)."""
        styles = self.styles(w)
        kernel = (self.kernel * self.kernel_scale)[None] * styles[:, None, None, :, None]
        if self.demodulate:
            kernel = kernel * self.demodulation(styles)[:, None, None, None, :]
        return kernel

    def call(self, inputs):
        x, w = inputs
        styles = self.styles(w)
        y = ops.conv(x * styles[:, None, None, :], self.kernel * self.kernel_scale, padding="same")
        if self.demodulate:
            y = y * self.demodulation(styles)[:, None, None, :]
        return y

    def compute_output_shape(self, input_shape):
        x_shape, _ = input_shape
        return (*x_shape[:-1], self.filters)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "filters": self.filters,
                "kernel_size": self.kernel_size,
                "demodulate": self.demodulate,
                "epsilon": self.epsilon,
            }
        )
        return config


@keras.saving.register_keras_serializable(package="artifex_keras")
class NoiseInjection(keras.layers.Layer):
    """Add per-pixel Gaussian noise, one draw shared by all channels, times a learned per-channel strength.

    `noise` (shape `(batch, height, width, 1)`) can be passed for a
    deterministic call; otherwise it is drawn from the layer's seed
    generator. The strengths start at 0, so a new layer is the identity.

    Args:
        seed: seed of the layer's `SeedGenerator` (for calls without `noise`).

    Example:
    ```python
    noisy = NoiseInjection()(features)
    same = NoiseInjection()(features, noise=fixed_noise)
    ```

    Reference:
        Karras et al., "A Style-Based Generator Architecture for GANs", CVPR 2019, section 3.2.
    """

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def build(self, input_shape):
        self.strength = self.add_weight(shape=(int(input_shape[-1]),), initializer="zeros", name="strength")
        self.built = True

    def call(self, inputs, noise=None):
        if noise is None:
            shape = ops.shape(inputs)
            noise = keras.random.normal((shape[0], shape[1], shape[2], 1), seed=self.seed_generator)
        return inputs + self.strength * ops.cast(noise, inputs.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"seed": self.seed})
        return config


@keras.saving.register_keras_serializable(package="artifex_keras")
class ToRGB(keras.layers.Layer):
    """A modulated 1x1 convolution to image channels, without demodulation, plus a bias.

    Takes `[x, w]` like `ModulatedConv2D`. In the skip generator every
    resolution adds its `ToRGB` output to the upsampled image so far.

    Args:
        channels: image channels (1 grayscale, 3 RGB).

    Example:
    ```python
    rgb = ToRGB(3)([features, w])
    ```
    """

    def __init__(self, channels, **kwargs):
        super().__init__(**kwargs)
        _check_positive_int("ToRGB", "channels", channels)
        self.channels = channels
        self.conv = ModulatedConv2D(channels, 1, demodulate=False, name="conv")

    def build(self, input_shape):
        self.conv.build(input_shape)
        self.bias = self.add_weight(shape=(self.channels,), initializer="zeros", name="bias")
        self.built = True

    def call(self, inputs):
        return self.conv(inputs) + self.bias

    def compute_output_shape(self, input_shape):
        x_shape, _ = input_shape
        return (*x_shape[:-1], self.channels)

    def get_config(self):
        config = super().get_config()
        config.update({"channels": self.channels})
        return config


@keras.saving.register_keras_serializable(package="artifex_keras")
class MinibatchStdDev(keras.layers.Layer):
    """Append the average standard deviation of each example's group as one more feature map.

    Examples are split into consecutive groups of `group_size` (the last
    group may be smaller); for every feature the standard deviation over
    the group is taken, averaged over all features, and broadcast as an
    extra channel, so the discriminator sees the variety within a batch.
    Any batch size works, including ones not divisible by `group_size`.

    Args:
        group_size: examples per group.
        epsilon: added to the variances before the square root.

    Example:
    ```python
    features = MinibatchStdDev(4)(features)      # channels + 1
    ```

    Reference:
        Karras et al., "Progressive Growing of GANs", ICLR 2018, section 3.
    """

    def __init__(self, group_size=4, epsilon=1e-8, **kwargs):
        super().__init__(**kwargs)
        _check_positive_int("MinibatchStdDev", "group_size", group_size)
        _check_positive_number("MinibatchStdDev", "epsilon", epsilon)
        self.group_size = group_size
        self.epsilon = float(epsilon)

    def call(self, inputs):
        shape = ops.shape(inputs)
        batch = shape[0]
        flat = ops.reshape(inputs, (batch, -1))
        group = ops.floor_divide(ops.arange(batch), self.group_size)
        # same[i, j] = 1 when examples i and j share a group: group means without a batch-size-dependent reshape.
        same = ops.cast(ops.equal(group[:, None], group[None, :]), flat.dtype)
        same = same / ops.sum(same, axis=-1, keepdims=True)
        mean = ops.matmul(same, flat)
        variance = ops.matmul(same, ops.square(flat - mean))
        deviation = ops.mean(ops.sqrt(variance + self.epsilon), axis=-1)
        extra = ops.ones_like(inputs[..., :1]) * ops.reshape(deviation, (-1, 1, 1, 1))
        return ops.concatenate([inputs, extra], axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], input_shape[-1] + 1)

    def get_config(self):
        config = super().get_config()
        config.update({"group_size": self.group_size, "epsilon": self.epsilon})
        return config


def upsample(x):
    """Double height and width by bilinear interpolation."""
    return ops.image.resize(x, (x.shape[1] * 2, x.shape[2] * 2), interpolation="bilinear")


def downsample(x):
    """Halve height and width by 2x2 average pooling."""
    return ops.average_pool(x, 2, strides=2, padding="valid")


def _check_resolution(owner, resolution, channels):
    if isinstance(resolution, bool) or not isinstance(resolution, int) or resolution < 4:
        raise ValueError(f"{owner}: `resolution` must be a power of 2 of at least 4, got {resolution!r}")
    if resolution & (resolution - 1):
        raise ValueError(f"{owner}: `resolution` must be a power of 2 of at least 4, got {resolution!r}")
    levels = int(math.log2(resolution)) - 1
    channels = tuple(channels) if isinstance(channels, (list, tuple)) else channels
    if (
        not isinstance(channels, tuple)
        or len(channels) != levels
        or any(isinstance(c, bool) or not isinstance(c, int) or c <= 0 for c in channels)
    ):
        raise ValueError(
            f"{owner}: `channels` must be a tuple of {levels} positive ints (one per resolution 4 to {resolution}), "
            f"got {channels!r}"
        )
    return channels


@keras.saving.register_keras_serializable(package="artifex_keras")
class SynthesisNetwork(keras.layers.Layer):
    """StyleGAN2's synthesis network with skip ToRGB outputs: a learned 4x4 constant up to `resolution`.

    Takes `ws` of shape `(batch, num_ws, w_dim)`, one `w` per modulated
    layer (pass the same `w` everywhere for an unmixed style). Resolution 4
    has one modulated 3x3 convolution, every later resolution an upsampling
    and two; each convolution is followed by noise, a bias and a leaky ReLU.
    Each resolution's `ToRGB` output is added to the bilinearly upsampled
    image so far. `ToRGB` of a resolution reads the `w` of the next
    convolution (the last one has its own), so `num_ws = 2 log2(resolution) - 2`.

    Args:
        w_dim: size of `w`.
        resolution: output height and width (a power of 2, at least 4).
        channels: feature channels per resolution, from 4 up to `resolution`.
        image_channels: channels of the output image.
        seed: seed of the noise layers (for calls without explicit noise).

    Example:
    ```python
    synthesis = SynthesisNetwork(w_dim=64, resolution=16, channels=(64, 32, 16))
    ws = ops.repeat(w[:, None], synthesis.num_ws, axis=1)
    images = synthesis(ws, noise=synthesis.draw_noise(len(w), seed_generator))
    ```
    """

    def __init__(self, w_dim, resolution=32, channels=(256, 256, 256, 256), image_channels=3, seed=None, **kwargs):
        super().__init__(**kwargs)
        _check_positive_int("SynthesisNetwork", "w_dim", w_dim)
        _check_positive_int("SynthesisNetwork", "image_channels", image_channels)
        self.channels = _check_resolution("SynthesisNetwork", resolution, channels)
        self.w_dim = w_dim
        self.resolution = resolution
        self.image_channels = image_channels
        self.seed = seed
        self.resolutions = [4 * 2**i for i in range(len(self.channels))]
        self.convs, self.noises, self.to_rgbs = [], [], []
        for level, (size, filters) in enumerate(zip(self.resolutions, self.channels)):
            for index in range(1 if level == 0 else 2):
                self.convs.append(ModulatedConv2D(filters, 3, name=f"conv_{size}_{index}"))
                layer_seed = None if seed is None else seed + len(self.noises)
                self.noises.append(NoiseInjection(seed=layer_seed, name=f"noise_{size}_{index}"))
            self.to_rgbs.append(ToRGB(image_channels, name=f"to_rgb_{size}"))
        self.num_ws = len(self.convs) + 1

    def build(self, input_shape=None):
        self.constant = self.add_weight(
            shape=(4, 4, self.channels[0]), initializer=keras.initializers.RandomNormal(stddev=1.0), name="constant"
        )
        w_shape = (None, self.w_dim)
        index = 0
        for level, (size, filters) in enumerate(zip(self.resolutions, self.channels)):
            previous = self.channels[max(level - 1, 0)]
            for step in range(1 if level == 0 else 2):
                shape = (None, size, size, previous if step == 0 else filters)
                self.convs[index].build([shape, w_shape])
                self.noises[index].build((None, size, size, filters))
                index += 1
            self.to_rgbs[level].build([(None, size, size, filters), w_shape])
        self.biases = [
            self.add_weight(shape=(conv.filters,), initializer="zeros", name=f"bias_{i}")
            for i, conv in enumerate(self.convs)
        ]
        self.built = True

    def noise_shapes(self, batch):
        """Shapes of the noise of every modulated convolution, in order."""
        sizes = [size for level, size in enumerate(self.resolutions) for _ in range(1 if level == 0 else 2)]
        return [(batch, size, size, 1) for size in sizes]

    def draw_noise(self, batch, seed_generator):
        """Standard normal noise for every noise layer, drawn from `seed_generator`."""
        return [keras.random.normal(shape, seed=seed_generator) for shape in self.noise_shapes(batch)]

    def zero_noise(self, batch):
        """No noise: zeros for every noise layer."""
        return [ops.zeros(shape) for shape in self.noise_shapes(batch)]

    def call(self, ws, noise=None, return_features=False):
        batch = ops.shape(ws)[0]
        noise = [None] * len(self.convs) if noise is None else list(noise)
        if len(noise) != len(self.convs):
            raise ValueError(f"SynthesisNetwork: `noise` must hold {len(self.convs)} tensors, got {len(noise)}")
        x = ops.broadcast_to(ops.cast(self.constant, ws.dtype)[None], (batch, 4, 4, self.channels[0]))
        image = None
        features = []
        index = 0
        for level in range(len(self.resolutions)):
            for step in range(1 if level == 0 else 2):
                if step == 0 and level > 0:
                    x = upsample(x)
                x = self.convs[index]([x, ws[:, index]])
                x = self.noises[index](x, noise=noise[index])
                x = _activate(x + self.biases[index], "lrelu")
                features.append(x)
                index += 1
            rgb = self.to_rgbs[level]([x, ws[:, index]])
            image = rgb if image is None else upsample(image) + rgb
        return (image, features) if return_features else image

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.resolution, self.resolution, self.image_channels)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "w_dim": self.w_dim,
                "resolution": self.resolution,
                "channels": list(self.channels),
                "image_channels": self.image_channels,
                "seed": self.seed,
            }
        )
        return config


@keras.saving.register_keras_serializable(package="artifex_keras")
class ResidualDiscriminator(keras.layers.Layer):
    """StyleGAN2's residual discriminator: FromRGB, residual downsampling blocks, a 4x4 epilogue, one score.

    Each block at resolution `r > 4` runs two 3x3 convolutions and 2x2
    average pooling, plus a 1x1 shortcut of the pooled input; the sum is
    divided by sqrt(2). The 4x4 epilogue appends the minibatch standard
    deviation (unless `mbstd_group_size` is 0), then a 3x3 convolution, a
    dense layer and the linear score. All layers use equalised learning rate.

    Args:
        resolution: input height and width (a power of 2, at least 4).
        channels: feature channels per resolution, from 4 up to `resolution`.
        mbstd_group_size: group size of `MinibatchStdDev` (0 disables it).

    Example:
    ```python
    discriminator = ResidualDiscriminator(resolution=16, channels=(64, 32, 16))
    logits = discriminator(images)                  # (batch, 1)
    ```
    """

    def __init__(self, resolution=32, channels=(256, 256, 256, 256), mbstd_group_size=4, **kwargs):
        super().__init__(**kwargs)
        self.channels = _check_resolution("ResidualDiscriminator", resolution, channels)
        if isinstance(mbstd_group_size, bool) or not isinstance(mbstd_group_size, int) or mbstd_group_size < 0:
            raise ValueError(
                f"ResidualDiscriminator: `mbstd_group_size` must be a non-negative int, got {mbstd_group_size!r}"
            )
        self.resolution = resolution
        self.mbstd_group_size = mbstd_group_size
        self.from_rgb = EqualizedConv2D(self.channels[-1], 1, activation="lrelu", name="from_rgb")
        levels = range(len(self.channels) - 1, 0, -1)
        self.first_convs = [
            EqualizedConv2D(self.channels[level], 3, activation="lrelu", name=f"conv_{4 * 2**level}_0")
            for level in levels
        ]
        self.second_convs = [
            EqualizedConv2D(self.channels[level - 1], 3, activation="lrelu", name=f"conv_{4 * 2**level}_1")
            for level in levels
        ]
        self.skips = [
            EqualizedConv2D(self.channels[level - 1], 1, use_bias=False, name=f"skip_{4 * 2**level}")
            for level in levels
        ]
        self.mbstd = MinibatchStdDev(mbstd_group_size, name="mbstd") if mbstd_group_size else None
        self.epilogue_conv = EqualizedConv2D(self.channels[0], 3, activation="lrelu", name="epilogue_conv")
        self.epilogue_dense = EqualizedDense(self.channels[0], activation="lrelu", name="epilogue_dense")
        self.score = EqualizedDense(1, name="score")

    def build(self, input_shape):
        size = self.resolution
        self.from_rgb.build((None, size, size, int(input_shape[-1])))
        blocks = zip(range(len(self.channels) - 1, 0, -1), self.first_convs, self.second_convs, self.skips)
        for level, conv_0, conv_1, skip in blocks:
            conv_0.build((None, size, size, self.channels[level]))
            conv_1.build((None, size, size, self.channels[level]))
            skip.build((None, size // 2, size // 2, self.channels[level]))
            size //= 2
        extra = 1 if self.mbstd is not None else 0
        self.epilogue_conv.build((None, 4, 4, self.channels[0] + extra))
        self.epilogue_dense.build((None, 16 * self.channels[0]))
        self.score.build((None, self.channels[0]))
        self.built = True

    def call(self, images):
        x = self.from_rgb(images)
        for conv_0, conv_1, skip in zip(self.first_convs, self.second_convs, self.skips):
            shortcut = skip(downsample(x))
            x = downsample(conv_1(conv_0(x)))
            x = (x + shortcut) * (1.0 / _GAIN)
        if self.mbstd is not None:
            x = self.mbstd(x)
        x = self.epilogue_conv(x)
        x = self.epilogue_dense(ops.reshape(x, (ops.shape(x)[0], -1)))
        return self.score(x)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], 1)

    def get_config(self):
        config = super().get_config()
        config.update(
            {"resolution": self.resolution, "channels": list(self.channels), "mbstd_group_size": self.mbstd_group_size}
        )
        return config
