"""`StyleGAN2`: a style-based generator with modulated convolutions, against a residual discriminator."""

import dataclasses
import math

import keras
import numpy as np
from keras import ops

from artifex_keras import validation
from artifex_keras.backend import Phase
from artifex_keras.backend import input_gradient
from artifex_keras.config import Config
from artifex_keras.ema import ExponentialMovingAverage
from artifex_keras.layers.stylegan import MappingNetwork
from artifex_keras.layers.stylegan import ResidualDiscriminator
from artifex_keras.layers.stylegan import SynthesisNetwork
from artifex_keras.models.base import GenerativeModel
from artifex_keras.models.gan import losses
from artifex_keras.models.gan import penalties
from artifex_keras.models.registration import register_model

NOISE_MODES = ("random", "none")


@dataclasses.dataclass(frozen=True)
class StyleGAN2Config(Config):
    """Configuration of a `StyleGAN2`.

    Args:
        input_shape: `(size, size, channels)` images in [0, 1], `size` at
            least 4, `channels` 1 (grayscale) or 3 (RGB). The networks work
            at `resolution`, the smallest power of 2 not below `size`: real
            images are padded with black borders on the way into the
            discriminator and generated ones are cropped back to `size`
            (28x28 Fashion-MNIST trains at 32x32).
        latent_dim: size of the standard normal latent `z`.
        w_dim: size of the intermediate latent `w` (the styles' input).
        mapping_layers: dense layers of the mapping network `z -> w`.
        mapping_lr_multiplier: learning-rate multiplier of the mapping network.
        generator_channels: synthesis channels per resolution, from 4x4 up
            to `resolution` (`log2(resolution) - 1` entries).
        discriminator_channels: discriminator channels per resolution, from
            4x4 up to `resolution`.
        mbstd_group_size: group size of the discriminator's minibatch
            standard deviation (0 disables it).
        r1_weight: `gamma` of the R1 penalty `gamma / 2 * E||grad D(x)||^2`
            on real images (0 disables it).
        r1_interval: apply R1 every this many steps, scaled by the interval
            (lazy regularisation); 1 applies it at every step.
        style_mixing_probability: probability that a training batch mixes
            the styles of two latents at a random crossover layer.
        path_length_weight: weight of the path-length regulariser of the
            generator (0 disables it).
        path_length_interval: apply the path-length regulariser every this
            many steps (lazy regularisation).
        path_length_decay: rate of the running mean of path lengths.
        w_avg_decay: decay of the tracked average `w` used by truncation.
        ema_decay: decay of the exponential moving average of the
            generator's weights that `generate` samples from (0 samples
            from the trained generator itself).
        learning_rate: Adam's learning rate of both phases (before the
            lazy-regularisation correction).
        seed: seed of the model's random draws.
    """

    input_shape: tuple = (32, 32, 3)
    latent_dim: int = 256
    w_dim: int = 256
    mapping_layers: int = 8
    mapping_lr_multiplier: float = 0.01
    generator_channels: tuple = (256, 256, 256, 256)
    discriminator_channels: tuple = (256, 256, 256, 256)
    mbstd_group_size: int = 4
    r1_weight: float = 0.01
    r1_interval: int = 16
    style_mixing_probability: float = 0.9
    path_length_weight: float = 0.0
    path_length_interval: int = 4
    path_length_decay: float = 0.01
    w_avg_decay: float = 0.995
    ema_decay: float = 0.999
    learning_rate: float = 0.002
    seed: int | None = None

    def validate(self):
        self.check_int_tuple("input_shape", length=3)
        size, width, channels = self.input_shape
        if size != width or size < 4 or channels not in (1, 3):
            self._fail("input_shape", "(size, size, channels) with size >= 4 and 1 or 3 channels", self.input_shape)
        levels = int(math.log2(self.resolution)) - 1
        self.check_positive_int("latent_dim")
        self.check_positive_int("w_dim")
        self.check_positive_int("mapping_layers")
        self.check_number("mapping_lr_multiplier", low=0.0, low_inclusive=False)
        self.check_int_tuple("generator_channels", length=levels)
        self.check_int_tuple("discriminator_channels", length=levels)
        self.check_non_negative_int("mbstd_group_size")
        self.check_number("r1_weight", low=0.0)
        self.check_positive_int("r1_interval")
        self.check_number("style_mixing_probability", low=0.0, high=1.0)
        self.check_number("path_length_weight", low=0.0)
        self.check_positive_int("path_length_interval")
        self.check_number("path_length_decay", low=0.0, high=1.0, low_inclusive=False)
        self.check_number("w_avg_decay", low=0.0, high=1.0, high_inclusive=False)
        self.check_number("ema_decay", low=0.0, high=1.0, high_inclusive=False)
        self.check_number("learning_rate", low=0.0, low_inclusive=False)
        if self.seed is not None:
            self.check_non_negative_int("seed")

    @property
    def resolution(self):
        """Side of the networks' images: the smallest power of 2 not below the images' size."""
        return 1 << (int(self.input_shape[0]) - 1).bit_length()


@register_model("stylegan2")
class StyleGAN2(GenerativeModel):
    """StyleGAN2: a mapping network `z -> w` and a style-modulated synthesis network, against a residual discriminator.

    The synthesis network grows a learned 4x4 constant to the image size
    with modulated, demodulated 3x3 convolutions, per-pixel noise and skip
    `ToRGB` outputs; every layer reads its own `w` (`num_ws` in all), so
    styles can be mixed. Each training step updates the discriminator
    (phase `"discriminator"`: non-saturating logistic loss, lazy R1 on real
    images) and then the mapping and synthesis networks (phase
    `"generator"`: non-saturating loss, style mixing, optional path-length
    regularisation), each with Adam(beta_1=0, beta_2=0.99). Training also
    tracks the average `w` for the truncation trick
    (`generate(n, truncation_psi=0.7)`) and an EMA of the generator, which
    `generate` samples from. Images are in [0, 1]; the networks work in
    [-1, 1]. Calling the model returns the discriminator's logits.

    Args:
        config: a `StyleGAN2Config`, or pass its fields as keyword arguments.

    Example:
    ```python
    x, _ = artifex_keras.data.load("digits")                     # (n, 8, 8, 1) in [0, 1]
    gan = StyleGAN2(input_shape=(8, 8, 1), latent_dim=16, w_dim=16, mapping_layers=2,
                    generator_channels=(16, 8), discriminator_channels=(16, 8))
    gan.fit(x, epochs=1, batch_size=64)
    images = gan.generate(16, seed=0, truncation_psi=0.7)
    z = np.random.default_rng(0).standard_normal((2, 16)).astype("float32")
    mixed = gan.style_mix(z[:1], z[1:], crossover=2)            # coarse styles of z[0], fine of z[1]
    ```

    Reference:
        Karras et al., "Analyzing and Improving the Image Quality of StyleGAN", CVPR 2020.
    """

    config_class = StyleGAN2Config
    family = "gan"
    generate_options = {"truncation_psi": 1.0, "noise_mode": "random"}

    @property
    def metric_names(self):
        names = ["discriminator_loss", "generator_loss"]
        if self.config.r1_weight:
            names.append("r1_penalty")
        if self.config.path_length_weight:
            names.append("path_length_penalty")
        return tuple(names)

    # Networks -----------------------------------------------------------------
    def build_networks(self):
        config = self.config
        size, channels = config.resolution, config.input_shape[-1]
        self.mapping = self._build_mapping("mapping")
        self.synthesis = self._build_synthesis("synthesis")
        self.discriminator = ResidualDiscriminator(
            size, config.discriminator_channels, config.mbstd_group_size, name="discriminator"
        )
        self.discriminator.build((None, size, size, channels))
        self.path_length_mean = self.add_weight(shape=(), initializer="zeros", trainable=False, name="path_length_mean")
        self.mapping_ema = self.synthesis_ema = None
        self.emas = []
        if config.ema_decay:
            self.mapping_ema = self._build_mapping("mapping_ema")
            self.synthesis_ema = self._build_synthesis("synthesis_ema")
            self.emas = [
                ExponentialMovingAverage(self.mapping, self.mapping_ema, decay=config.ema_decay),
                ExponentialMovingAverage(self.synthesis, self.synthesis_ema, decay=config.ema_decay),
            ]
            for ema in self.emas:
                ema.copy()

    def _build_mapping(self, name):
        config = self.config
        mapping = MappingNetwork(
            config.latent_dim,
            config.w_dim,
            config.mapping_layers,
            lr_multiplier=config.mapping_lr_multiplier,
            w_avg_decay=config.w_avg_decay,
            name=name,
        )
        mapping.build((None, config.latent_dim))
        return mapping

    def _build_synthesis(self, name):
        config = self.config
        size, channels = config.resolution, config.input_shape[-1]
        synthesis = SynthesisNetwork(
            config.w_dim, size, config.generator_channels, channels, seed=config.seed, name=name
        )
        synthesis.build((None, synthesis.num_ws, config.w_dim))
        return synthesis

    @property
    def num_ws(self):
        """How many `w`s the synthesis network reads: one per modulated convolution, plus the last ToRGB."""
        return self.synthesis.num_ws

    @property
    def data_range(self):
        return (0.0, 1.0)

    def generator_variables(self):
        """The trainable variables of the generator phase: the mapping and synthesis networks."""
        return self.mapping.trainable_variables + self.synthesis.trainable_variables

    def sampling_networks(self):
        """`(mapping, synthesis)` that `generate` draws from: the EMA copies when `ema_decay` > 0."""
        if self.mapping_ema is None:
            return self.mapping, self.synthesis
        return self.mapping_ema, self.synthesis_ema

    # Building blocks (backend tensors) ----------------------------------------
    @property
    def w_avg(self):
        """The average `w` tracked during training (a non-trainable weight, saved with the model)."""
        return self.mapping.w_avg

    def truncate(self, w, psi):
        """The truncation trick: `w_avg + psi * (w - w_avg)` with the tracked average `w`."""
        return self.mapping.truncate(w, psi)

    def mix_styles(self, w_first, w_second, crossover):
        """`ws` `(batch, num_ws, w_dim)` reading `w_first` before layer `crossover` and `w_second` from it on."""
        layer = ops.reshape(ops.arange(self.num_ws), (1, -1, 1))
        return ops.where(layer < crossover, w_first[:, None], w_second[:, None])

    def broadcast_styles(self, w):
        """The same `w` for every layer: `(batch, num_ws, w_dim)`."""
        return ops.repeat(w[:, None], self.num_ws, axis=1)

    def draw_styles(self, batch, seed_generator, mixing_probability, mapping=None):
        """`(w, ws)` for fresh latents; with probability `mixing_probability` the batch mixes two latents' styles.

        The crossover layer is uniform in `[1, num_ws)` (one per batch, as in the paper).
        """
        mapping = self.mapping if mapping is None else mapping
        z = keras.random.normal((batch, self.config.latent_dim), seed=seed_generator)
        w = mapping(z)
        if not mixing_probability:
            return w, self.broadcast_styles(w)
        other = mapping(keras.random.normal((batch, self.config.latent_dim), seed=seed_generator))
        crossover = keras.random.randint((), 1, max(self.num_ws, 2), seed=seed_generator)
        mixing = keras.random.uniform((), seed=seed_generator) < mixing_probability
        crossover = ops.where(mixing, crossover, self.num_ws)
        return w, self.mix_styles(w, other, crossover)

    def discriminate(self, images, training=False):
        """Discriminator logits `(batch,)` of images in [-1, 1]."""
        return ops.cast(ops.reshape(self.discriminator(images, training=training), (-1,)), "float32")

    def _border(self):
        """`(before, after)` pixels between the images' size and the networks' resolution, per side."""
        margin = self.config.resolution - self.config.input_shape[0]
        return margin // 2, margin - margin // 2

    def real_images(self, data):
        """The batch's images, from [0, 1] to the networks' [-1, 1], padded with black (-1) to `resolution`."""
        x, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        images = ops.cast(x, "float32") * 2.0 - 1.0
        before, after = self._border()
        if before or after:
            images = ops.pad(images, ((0, 0), (before, after), (before, after), (0, 0)), constant_values=-1.0)
        return images

    def to_data(self, images):
        """Network images in [-1, 1] as data in [0, 1] (clipped), cropped from `resolution` to the images' size."""
        before, after = self._border()
        resolution = self.config.resolution
        images = images[:, before : resolution - after, before : resolution - after]
        return ops.clip((ops.cast(images, "float32") + 1.0) * 0.5, 0.0, 1.0)

    def _training_step(self):
        return 0 if self.optimizer is None else self.optimizer.iterations

    def _lazily(self, interval, compute, skip):
        """`compute()` on every `interval`-th training step (counting from 0), else `skip()`; only one branch runs."""
        if interval == 1:
            return compute()
        step = self._training_step()
        if isinstance(step, int):
            return compute() if step % interval == 0 else skip()
        return ops.cond(ops.equal(ops.mod(step, interval), 0), compute, skip)

    # Training -----------------------------------------------------------------
    def training_phases(self):
        return [
            Phase("discriminator", self.discriminator_loss, self.discriminator.trainable_variables),
            Phase("generator", self.generator_loss, self.generator_variables()),
        ]

    def default_optimizers(self):
        config = self.config

        def adam(interval):
            # Lazy regularisation (paper, appendix B): an update every `interval` steps is
            # compensated by lr * c and beta ** c with c = interval / (interval + 1).
            ratio = interval / (interval + 1) if interval > 1 else 1.0
            return keras.optimizers.Adam(config.learning_rate * ratio, beta_1=0.0, beta_2=0.99**ratio, epsilon=1e-8)

        return {
            "discriminator": adam(config.r1_interval if config.r1_weight else 1),
            "generator": adam(config.path_length_interval if config.path_length_weight else 1),
        }

    def discriminator_loss(self, data, training=True):
        config = self.config
        real = self.real_images(data)
        batch = ops.shape(real)[0]
        _, ws = self.draw_styles(batch, self.seed_generator, config.style_mixing_probability if training else 0.0)
        noise = self.synthesis.draw_noise(batch, self.seed_generator)
        fake = ops.stop_gradient(self.synthesis(ws, noise=noise, training=training))
        # Real and fake in separate calls, so minibatch-stddev groups never mix them.
        real_logits = self.discriminate(real, training)
        fake_logits = self.discriminate(fake, training)
        loss = losses.discriminator_loss("non_saturating", real_logits, fake_logits)
        logs = {"discriminator_loss": loss}
        if config.r1_weight:
            penalty = self._lazily(
                config.r1_interval,
                lambda: penalties.r1_penalty(lambda points: self.discriminate(points), real),
                lambda: ops.zeros((), "float32"),
            )
            loss = loss + 0.5 * config.r1_weight * config.r1_interval * penalty
            logs["r1_penalty"] = penalty
        return loss, logs

    def generator_loss(self, data, training=True):
        config = self.config
        batch = ops.shape(self.real_images(data))[0]
        w, ws = self.draw_styles(batch, self.seed_generator, config.style_mixing_probability if training else 0.0)
        if training:
            self.mapping.update_w_avg(w)
        noise = self.synthesis.draw_noise(batch, self.seed_generator)
        fake = self.synthesis(ws, noise=noise, training=training)
        loss = losses.generator_loss("non_saturating", self.discriminate(fake, training))
        logs = {"generator_loss": loss}
        if config.path_length_weight:
            # The random inputs are drawn at every step, outside the lazy branch: a branch of
            # a compiled conditional must not advance the seed generator.
            size, channels = config.resolution, config.input_shape[-1]
            _, pl_ws = self.draw_styles(batch, self.seed_generator, config.style_mixing_probability)
            pl_noise = self.synthesis.draw_noise(batch, self.seed_generator)
            directions = keras.random.normal((batch, size, size, channels), seed=self.seed_generator) / float(size)
            penalty, mean = self._lazily(
                config.path_length_interval,
                lambda: self.path_length_penalty(pl_ws, pl_noise, directions),
                lambda: (ops.zeros((), "float32"), ops.convert_to_tensor(self.path_length_mean.value)),
            )
            if training:
                self.path_length_mean.assign(ops.stop_gradient(mean))
            loss = loss + config.path_length_weight * config.path_length_interval * penalty
            logs["path_length_penalty"] = penalty
        return loss, logs

    def path_length_penalty(self, ws, noise, directions):
        """`(penalty, new running mean)` of the path-length regulariser (paper eq. 4).

        The Jacobian-vector product `J_w^T y` of the synthesis network at
        styles `ws` with image-space directions `y` (drawn as
        `N(0, I) / sqrt(height * width)`) has its norm pulled towards the
        running mean of such norms, which moves by `path_length_decay`.
        """

        def projected(points):
            return ops.sum(ops.cast(self.synthesis(points, noise=noise), "float32") * directions, axis=(1, 2, 3))

        grads = ops.cast(input_gradient(projected, ws), "float32")
        lengths = ops.sqrt(ops.mean(ops.sum(ops.square(grads), axis=-1), axis=-1) + 1e-8)
        previous = ops.convert_to_tensor(self.path_length_mean.value)
        mean = previous + self.config.path_length_decay * (ops.mean(ops.stop_gradient(lengths)) - previous)
        return ops.mean(ops.square(lengths - mean)), mean

    def after_training_step(self):
        for ema in self.emas:
            ema.update()

    def call(self, inputs, training=False):
        return self.discriminate(self.real_images(inputs), training=training)

    # Sampling -----------------------------------------------------------------
    def check_generate_options(self, owner, options):
        psi = options["truncation_psi"]
        if isinstance(psi, bool) or not isinstance(psi, (int, float)) or not math.isfinite(psi):
            raise ValueError(f"{owner}: `truncation_psi` must be a finite number, got {psi!r}")
        if options["noise_mode"] not in NOISE_MODES:
            raise ValueError(f"{owner}: `noise_mode` must be one of {NOISE_MODES}, got {options['noise_mode']!r}")
        return {"truncation_psi": float(psi), "noise_mode": options["noise_mode"]}

    def _synthesize(self, ws, seed_generator, noise_mode):
        _, synthesis = self.sampling_networks()
        batch = ops.shape(ws)[0]
        noise = synthesis.draw_noise(batch, seed_generator) if noise_mode == "random" else synthesis.zero_noise(batch)
        return self.to_data(synthesis(ws, noise=noise))

    def sample(self, num_samples, seed_generator, sampler=None, truncation_psi=1.0, noise_mode="random"):
        mapping, _ = self.sampling_networks()
        z = keras.random.normal((num_samples, self.config.latent_dim), seed=seed_generator)
        w = self.truncate(mapping(z), truncation_psi)
        return self._synthesize(self.broadcast_styles(w), seed_generator, noise_mode)

    def style_mix(self, z_coarse, z_fine, crossover, truncation_psi=1.0, noise_mode="none", seed=None, batch_size=256):
        """Images whose layers before `crossover` take the styles of `z_coarse`, the rest those of `z_fine`.

        Low crossovers keep only the coarse layout of `z_coarse`; high ones
        keep all but the finest details. `crossover=0` gives the images of
        `z_fine`, `crossover=num_ws` those of `z_coarse`.

        Args:
            z_coarse: latents `(n, latent_dim)` (NumPy).
            z_fine: latents of the same shape.
            crossover: int in `[0, num_ws]`.
            truncation_psi: truncation of both latents' `w`.
            noise_mode: `"none"` (no noise: the styles alone decide) or `"random"`.
            seed: seed of the noise (with `noise_mode="random"`).
            batch_size: most images per compiled call.

        Example:
        ```python
        z = np.random.default_rng(0).standard_normal((2, gan.config.latent_dim)).astype("float32")
        mixed = gan.style_mix(z[:1], z[1:], crossover=2)     # (1, size, size, channels)
        ```
        """
        owner = f"{type(self).__name__}.style_mix"
        if isinstance(crossover, bool) or not isinstance(crossover, int) or not 0 <= crossover <= self.num_ws:
            raise ValueError(f"{owner}: `crossover` must be an int in [0, {self.num_ws}], got {crossover!r}")
        options = self.check_generate_options(owner, {"truncation_psi": truncation_psi, "noise_mode": noise_mode})
        seed = validation.check_seed(owner, seed)
        batch_size = validation.check_positive_int(owner, "batch_size", batch_size)
        z_coarse, z_fine = np.asarray(z_coarse, "float32"), np.asarray(z_fine, "float32")
        shapes = (z_coarse.shape, z_fine.shape)
        if any(len(shape) != 2 or shape[1] != self.config.latent_dim for shape in shapes) or shapes[0] != shapes[1]:
            raise ValueError(
                f"{owner}: `z_coarse` and `z_fine` must both have shape (n, {self.config.latent_dim}), "
                f"got {tuple(shapes[0])} and {tuple(shapes[1])}"
            )
        psi, noise_mode = options["truncation_psi"], options["noise_mode"]

        def mix(seed_generator, coarse, fine):
            mapping, _ = self.sampling_networks()
            first = self.truncate(mapping(ops.cast(coarse, "float32")), psi)
            second = self.truncate(mapping(ops.cast(fine, "float32")), psi)
            return self._synthesize(self.mix_styles(first, second, crossover), seed_generator, noise_mode)

        generator = self.seed_generator if seed is None else keras.random.SeedGenerator(seed)
        key = ("style_mix", crossover, psi, noise_mode)
        return self.map_compiled(key, mix, batch_size, z_coarse, z_fine, seed_generator=generator)
