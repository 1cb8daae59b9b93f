"""`GAN`: a generator and a discriminator trained in alternating phases, with any adversarial loss."""

import dataclasses

import keras
from keras import ops

from artifex_keras.backend import Phase
from artifex_keras.config import Config
from artifex_keras.ema import ExponentialMovingAverage
from artifex_keras.layers.diff_augment import POLICIES
from artifex_keras.layers.diff_augment import DiffAugment
from artifex_keras.models.base import GenerativeModel
from artifex_keras.models.gan import losses
from artifex_keras.models.gan import penalties
from artifex_keras.models.gan.networks import build_discriminator_features
from artifex_keras.models.gan.networks import build_generator
from artifex_keras.models.gan.networks import build_head
from artifex_keras.models.gan.networks import check_generator_shape
from artifex_keras.models.registration import register_model

_ACTIVATIONS = {"sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0), "linear": None}


@dataclasses.dataclass(frozen=True)
class GANConfig(Config):
    """Configuration of a `GAN`.

    Args:
        input_shape: shape of one example: `(height, width, channels)`
            images, or `(features,)` vectors with the `"mlp"` architecture.
        latent_dim: size of the standard normal latent `z`.
        architecture: `"conv"` (DCGAN: transposed convolutions up, stride-2
            convolutions down) or `"mlp"` (dense layers, any data shape).
        generator_dims: units per dense layer, or filters per generator level
            (the conv generator doubles the resolution once per entry).
        discriminator_dims: units per dense layer, or filters per stride-2
            convolution of the discriminator.
        output_activation: `"sigmoid"` (data in [0, 1]), `"tanh"` (data in
            [-1, 1]) or `"linear"` (unbounded data).
        loss: adversarial loss, one of `losses.LOSSES`.
        label_smoothing: one-sided smoothing of the real targets (vanilla,
            non-saturating and least-squares losses).
        gradient_penalty_weight: weight of the WGAN-GP penalty (0 disables it).
        r1_weight: `gamma` of the R1 penalty `gamma / 2 * E||grad D(x)||^2`
            on real data (0 disables it).
        n_critic: discriminator steps per generator step. Every training
            step updates the discriminator; the generator optimizer
            accumulates its gradients and steps once every `n_critic`
            training steps (Keras' `gradient_accumulation_steps`).
        spectral_norm: wrap the discriminator's layers in `SpectralNormalization`.
        diff_augment: DiffAugment policies applied to every image the
            discriminator sees (an empty tuple disables it).
        ema_decay: decay of the exponential moving average of the
            generator's weights that `generate` samples from (0 samples from
            the trained generator itself).
        seed: seed of the model's random draws.
    """

    input_shape: tuple = (28, 28, 1)
    latent_dim: int = 64
    architecture: str = "conv"
    generator_dims: tuple = (128, 64)
    discriminator_dims: tuple = (64, 128)
    output_activation: str = "sigmoid"
    loss: str = "non_saturating"
    label_smoothing: float = 0.0
    gradient_penalty_weight: float = 0.0
    r1_weight: float = 0.0
    n_critic: int = 1
    spectral_norm: bool = False
    diff_augment: tuple = ()
    ema_decay: float = 0.999
    seed: int | None = None

    def validate(self):
        owner = type(self).__name__
        self.check_int_tuple("input_shape")
        self.check_positive_int("latent_dim")
        self.check_choice("architecture", ("mlp", "conv"))
        self.check_int_tuple("generator_dims")
        self.check_int_tuple("discriminator_dims")
        self.check_choice("output_activation", tuple(_ACTIVATIONS))
        self.check_choice("loss", losses.LOSSES)
        self.check_number("label_smoothing", low=0.0, high=1.0, high_inclusive=False)
        losses.check_loss(owner, self.loss, self.label_smoothing)
        self.check_number("gradient_penalty_weight", low=0.0)
        self.check_number("r1_weight", low=0.0)
        self.check_positive_int("n_critic")
        self.check_choice("spectral_norm", (True, False))
        if not isinstance(self.diff_augment, tuple) or any(name not in POLICIES for name in self.diff_augment):
            self._fail("diff_augment", f"a tuple of names from {POLICIES}", self.diff_augment)
        self.check_number("ema_decay", low=0.0, high=1.0, high_inclusive=False)
        if self.seed is not None:
            self.check_non_negative_int("seed")
        if self.architecture == "conv":
            check_generator_shape(owner, self.input_shape, self.generator_dims)
        if self.diff_augment and len(self.input_shape) != 3:
            self._fail("diff_augment", "() for data that are not (height, width, channels) images", self.diff_augment)


@register_model("gan")
class GAN(GenerativeModel):
    """Generative adversarial network: a generator `G(z)` and a discriminator `D(x)` in two phases.

    Each training step first updates the discriminator (phase
    `"discriminator"`) on the batch and on as many generated examples, then
    the generator (phase `"generator"`) against the updated discriminator;
    each phase has its own optimizer (`compile(optimizer={"discriminator":
    ..., "generator": ...})`). The loss, penalties, spectral normalisation,
    DiffAugment, critic steps and the generator EMA are config settings;
    `DCGAN`, `WGANGP` and `LSGAN` are this class with their papers' defaults.
    Calling the model returns the discriminator's scores.

    Args:
        config: a `GANConfig`, or pass its fields as keyword arguments.

    Example:
    ```python
    x = artifex_keras.data.eight_gaussians(4096)
    gan = GAN(input_shape=(2,), architecture="mlp", output_activation="linear",
              generator_dims=(64, 64), discriminator_dims=(64, 64), latent_dim=8)
    gan.compile()
    gan.fit(x, epochs=5, batch_size=128)
    samples = gan.generate(1000, seed=0)           # (1000, 2) NumPy
    ```

    Reference:
        Goodfellow et al., "Generative Adversarial Nets", NeurIPS 2014.
    """

    config_class = GANConfig
    family = "gan"
    # Adam settings of both phases: (learning rate, beta_1, beta_2).
    optimizer_settings = (2e-4, 0.5, 0.999)

    @property
    def metric_names(self):
        names = ["discriminator_loss", "generator_loss"]
        if self.config.gradient_penalty_weight:
            names.append("gradient_penalty")
        if self.config.r1_weight:
            names.append("r1_penalty")
        return tuple(names)

    # Networks -----------------------------------------------------------------
    @property
    def num_classes(self):
        """Number of class labels the model conditions on (0 when unconditional)."""
        return 0

    def build_networks(self):
        config = self.config
        self.generator = self._build_generator("generator")
        self.discriminator = build_discriminator_features(
            config.architecture, config.input_shape, config.discriminator_dims, config.spectral_norm, "discriminator"
        )
        features = self.discriminator.output_shape[-1]
        self.discriminator_head = build_head(features, config.spectral_norm, "discriminator_head")
        self.augment = DiffAugment(config.diff_augment, seed=config.seed) if config.diff_augment else None
        self.generator_ema = None
        if config.ema_decay:
            self.generator_ema = self._build_generator("generator_ema")
            self.ema = ExponentialMovingAverage(self.generator, self.generator_ema, decay=config.ema_decay)
            self.ema.copy()

    def _build_generator(self, name):
        config = self.config
        return build_generator(
            config.architecture,
            config.latent_dim + self.num_classes,
            config.input_shape,
            config.generator_dims,
            None if config.output_activation == "linear" else config.output_activation,
            name,
        )

    @property
    def data_range(self):
        return _ACTIVATIONS[self.config.output_activation]

    def discriminator_variables(self):
        """The trainable variables of the discriminator phase."""
        return self.discriminator.trainable_variables + self.discriminator_head.trainable_variables

    # Building blocks (backend tensors) ----------------------------------------
    def unpack_batch(self, data):
        """`(x, labels)` from a training batch; labels are None for unconditional models."""
        x, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        return ops.cast(x, "float32"), None

    def generator_input(self, z, labels=None):
        """The generator's input for latents `z` (and labels, for conditional models)."""
        return z

    def generate_from(self, z, labels=None, training=False, generator=None):
        """Generated examples (float32) for latents `z`."""
        generator = self.generator if generator is None else generator
        return ops.cast(generator(self.generator_input(z, labels), training=training), "float32")

    def draw_latents(self, num_samples, seed_generator):
        return keras.random.normal((num_samples, self.config.latent_dim), seed=seed_generator)

    def discriminate(self, x, labels=None, training=False):
        """Discriminator scores `(batch,)` of examples `x` (logits for the probabilistic losses)."""
        features = self.discriminator(x, training=training)
        return ops.cast(ops.reshape(self.discriminator_head(features, training=training), (-1,)), "float32")

    def _augmented(self, x):
        return x if self.augment is None else self.augment(x)

    # Training -----------------------------------------------------------------
    def training_phases(self):
        return [
            Phase("discriminator", self.discriminator_loss, self.discriminator_variables()),
            Phase("generator", self.generator_loss, self.generator.trainable_variables),
        ]

    def default_optimizers(self):
        rate, beta_1, beta_2 = self.optimizer_settings
        return {
            "discriminator": keras.optimizers.Adam(rate, beta_1=beta_1, beta_2=beta_2),
            "generator": keras.optimizers.Adam(rate, beta_1=beta_1, beta_2=beta_2),
        }

    def adjust_phase_optimizers(self, owner, optimizers):
        chosen = dict(optimizers)
        steps = self.config.n_critic
        if steps > 1:
            generator = chosen["generator"]
            if generator.gradient_accumulation_steps is None:
                config = {**generator.get_config(), "gradient_accumulation_steps": steps}
                chosen["generator"] = type(generator).from_config(config)
            elif generator.gradient_accumulation_steps != steps:
                raise ValueError(
                    f"{owner}: the generator optimizer's `gradient_accumulation_steps` must equal n_critic={steps} "
                    f"(or be None), got {generator.gradient_accumulation_steps}"
                )
        return chosen

    def discriminator_loss(self, data, training=True):
        config = self.config
        real, labels = self.unpack_batch(data)
        batch = ops.shape(real)[0]
        fake = ops.stop_gradient(self.generate_from(self.draw_latents(batch, self.seed_generator), labels, training))
        both_labels = None if labels is None else ops.concatenate([labels, labels], axis=0)
        # One call on real and fake together: spectral normalisation steps its power iteration once.
        scores = self.discriminate(self._augmented(ops.concatenate([real, fake], axis=0)), both_labels, training)
        real_scores, fake_scores = scores[:batch], scores[batch:]
        loss = losses.discriminator_loss(config.loss, real_scores, fake_scores, config.label_smoothing)
        logs = {}
        if config.gradient_penalty_weight:
            penalty = penalties.gradient_penalty(
                lambda points: self.discriminate(points, labels), real, fake, self.seed_generator
            )
            loss = loss + config.gradient_penalty_weight * penalty
            logs["gradient_penalty"] = penalty
        if config.r1_weight:
            penalty = penalties.r1_penalty(lambda points: self.discriminate(points, labels), real)
            loss = loss + 0.5 * config.r1_weight * penalty
            logs["r1_penalty"] = penalty
        logs["discriminator_loss"] = loss
        return loss, logs

    def generator_loss(self, data, training=True):
        real, labels = self.unpack_batch(data)
        fake = self.generate_from(self.draw_latents(ops.shape(real)[0], self.seed_generator), labels, training)
        loss = losses.generator_loss(self.config.loss, self.discriminate(self._augmented(fake), labels, training))
        return loss, {"generator_loss": loss}

    def after_training_step(self):
        if self.generator_ema is not None:
            self.ema.update()

    def call(self, inputs, training=False):
        x, labels = self.unpack_batch(inputs)
        return self.discriminate(x, labels, training=training)

    # Sampling -----------------------------------------------------------------
    def sampling_generator(self):
        """The network `generate` draws from: the EMA generator when `ema_decay` > 0."""
        return self.generator if self.generator_ema is None else self.generator_ema

    def sample(self, num_samples, seed_generator, sampler=None, labels=None):
        z = self.draw_latents(num_samples, seed_generator)
        return self.generate_from(z, labels, training=False, generator=self.sampling_generator())
