"""DDPM: a UNet denoiser trained on a noise schedule, sampled with any diffusion sampler."""

import dataclasses

import keras
from keras import ops

from artifex_keras import validation
from artifex_keras.conditioning import ContextSequence
from artifex_keras.models.base import GenerativeModel
from artifex_keras.models.diffusion import objectives
from artifex_keras.models.diffusion.shared import ClassifierFreeGuidance
from artifex_keras.models.diffusion.shared import GuidedDiffusionFields
from artifex_keras.models.diffusion.shared import RescaleAndEMA
from artifex_keras.models.diffusion.shared import UNetFields
from artifex_keras.models.diffusion.shared import build_unet
from artifex_keras.models.diffusion.shared import validate_unet
from artifex_keras.models.registration import register_model
from artifex_keras.samplers import schedules
from artifex_keras.samplers.diffusion import DDIMSampler
from artifex_keras.samplers.diffusion import DiffusionSampler

SCHEDULES = ("linear", "cosine", "sigmoid")
# The keys of a training batch `{"x": ..., "context": ...}` of a context-conditional DDPM.
CONTEXT_BATCH_KEYS = ("context", "x")


@dataclasses.dataclass(frozen=True)
class DiffusionConfig(GuidedDiffusionFields):
    """The fields of every model trained and sampled like `DDPM`, whatever its denoising network.

    Args:
        input_shape: `(height, width, channels)` of the images.
        schedule: noise schedule, "linear", "cosine" or "sigmoid".
        num_timesteps: diffusion steps `T` of the schedule.
        prediction: network target, "epsilon", "x0" or "v".
        loss_weighting: "uniform", "snr", "min_snr" or "edm" (see `objectives`).
        min_snr_gamma: clip of the "min_snr" weighting.
        sigma_data: data standard deviation of the "edm" weighting.
        timestep_sampling: "uniform" (integer timesteps) or "logit_normal".
        logit_mean: mean of the logit-normal timestep distribution.
        logit_std: standard deviation of the logit-normal timestep distribution.
        sampling_steps: steps of the default sampler, `DDIMSampler(eta=0)`
            (at most `num_timesteps`).
        clip_x0: the default sampler clips its x0 predictions to
            `[-clip_x0, clip_x0]` (1.0 for images rescaled to [-1, 1]), or None.
        (other fields as in `GuidedDiffusionFields`)
    """

    input_shape: tuple = (32, 32, 3)
    schedule: str = "linear"
    num_timesteps: int = 1000
    prediction: str = "epsilon"
    loss_weighting: str = "uniform"
    min_snr_gamma: float = 5.0
    sigma_data: float = 0.5
    timestep_sampling: str = "uniform"
    logit_mean: float = 0.0
    logit_std: float = 1.0
    clip_x0: float | None = None

    def validate(self):
        self.validate_input_shape()
        self.check_choice("schedule", SCHEDULES)
        self.check_positive_int("num_timesteps", minimum=2)
        self.check_choice("prediction", schedules.PREDICTIONS)
        self.check_choice("loss_weighting", objectives.WEIGHTINGS)
        self.check_number("min_snr_gamma", low=0.0, low_inclusive=False)
        self.check_number("sigma_data", low=0.0, low_inclusive=False)
        self.check_choice("timestep_sampling", objectives.TIMESTEP_SAMPLINGS)
        self.check_number("logit_mean")
        self.check_number("logit_std", low=0.0, low_inclusive=False)
        if self.clip_x0 is not None:
            self.check_number("clip_x0", low=0.0, low_inclusive=False)
        super().validate()
        if self.sampling_steps > self.num_timesteps:
            self._fail("sampling_steps", f"an int of at most num_timesteps ({self.num_timesteps})", self.sampling_steps)

    def validate_input_shape(self):
        """Check `input_shape`: `(height, width, channels)` images."""
        self.check_int_tuple("input_shape", length=3)


@dataclasses.dataclass(frozen=True)
class DDPMConfig(UNetFields, DiffusionConfig):
    """Configuration of a `DDPM`: a UNet (`UNetFields`) trained as `DiffusionConfig` says, with an optional context.

    Args:
        input_shape: `(height, width, channels)` of images, or `(length,
            channels)` of sequences (a `UNet1D`); the height and width, or the
            length, must be divisible by `2 ** (len(channels) - 1)`.
        context_shape: `(tokens, context_dim)` of the context a
            context-conditional model trains on (`fit({"x": x, "context": c})`
            or `fit(x, c)`) and generates from (`generate(n, context=c)`),
            through cross-attention after every UNet self-attention; None:
            no context. Not with `num_classes`.
        context_dropout: probability that a training context is replaced by
            zeros, the null context of classifier-free guidance.
        (other fields as in `UNetFields` and `DiffusionConfig`)
    """

    context_shape: tuple | None = None
    context_dropout: float = 0.1

    def validate(self):
        super().validate()
        validate_unet(self)
        self.validate_context()

    def validate_input_shape(self):
        """Check `input_shape`: `(height, width, channels)` images or `(length, channels)` sequences."""
        self.check_int_tuple("input_shape")
        if len(self.input_shape) not in (2, 3):
            expected = "(height, width, channels) of images or (length, channels) of sequences"
            self._fail("input_shape", expected, self.input_shape)

    def validate_context(self):
        """Check `context_shape` and `context_dropout`."""
        if self.context_shape is not None:
            self.check_int_tuple("context_shape", length=2)
            if self.num_classes is not None:
                self._fail(
                    "context_shape",
                    f"None for a class-conditional model (num_classes={self.num_classes}): one condition per model",
                    self.context_shape,
                )
        self.check_number("context_dropout", low=0.0, high=1.0, high_inclusive=False)


@register_model("ddpm")
class DDPM(RescaleAndEMA, ClassifierFreeGuidance, GenerativeModel):
    """Denoising diffusion probabilistic model with a UNet denoiser and swappable samplers.

    Training draws a timestep `t` per image (uniform or logit-normal), noises
    the image with the schedule (`x_t = alpha_t x0 + sigma_t eps`) and
    regresses the configured target (epsilon, x0 or v) with the configured
    weighting. A moving average of the weights (`ema_decay`) is updated after
    every training step, saved with the model, and is what `generate` samples
    with. Sampling takes any `DiffusionSampler`: DDPM ancestral, DDIM,
    DPM-Solver++(2M), Euler or Heun, all reading the model's schedule.
    With `num_classes`, the model is class-conditional: it trains on
    `(x, labels)`, drops labels with probability `class_dropout`, and
    `generate(n, labels=..., guidance_scale=w)` applies classifier-free
    guidance `eps_u + w (eps_c - eps_u)`. With `context_shape`, the UNet
    cross-attends to a context sequence (text-encoder states, say): the model
    trains on `{"x": x, "context": c}` or `(x, c)`, replaces contexts by zeros
    with probability `context_dropout`, and `generate(n, context=c,
    guidance_scale=w)` guides against the zero context. Sequences
    `input_shape=(length, channels)` get a 1-D UNet; every sampler runs on them.

    Args:
        config: a `DDPMConfig`, or pass its fields as keyword arguments.

    Example:
    ```python
    x, _ = artifex_keras.data.load("digits")
    model = DDPM(input_shape=(8, 8, 1), channels=(16, 32), num_groups=8, head_dim=8, num_timesteps=100)
    model.compile()
    model.fit(x, epochs=2, batch_size=64)
    samples = model.generate(16, seed=0, sampler=artifex_keras.samplers.DDIMSampler(steps=20))
    samples, trajectory = model.generate(4, return_trajectory=True)   # trajectory: (steps + 1, 4, 8, 8, 1)
    waves = DDPM(input_shape=(32, 1), channels=(16, 32), num_groups=8, head_dim=8, rescale=False)
    text = DDPM(input_shape=(8, 8, 1), channels=(16, 32), num_groups=8, head_dim=8, context_shape=(6, 24))
    text.fit({"x": x, "context": embeddings}, epochs=2)       # embeddings: (len(x), 6, 24)
    text.generate(4, context=embeddings[:4], guidance_scale=3.0)
    ```

    Reference:
        Ho, Jain & Abbeel, "Denoising Diffusion Probabilistic Models", NeurIPS 2020;
        Ho & Salimans, "Classifier-Free Diffusion Guidance", 2022; cross-attention
        conditioning: Rombach et al., "High-Resolution Image Synthesis with Latent
        Diffusion Models", CVPR 2022.
    """

    config_class = DDPMConfig
    family = "diffusion"
    metric_names = ("loss",)
    accepted_samplers = (DiffusionSampler,)
    guidance_requirement = (
        "a class-conditional {name} (num_classes set) or a context-conditional one (context_shape set)"
    )

    def build_networks(self):
        config = self.config
        self.schedule = schedules.get(
            {"class_name": config.schedule, "config": {"num_timesteps": config.num_timesteps}}
        )
        self.denoiser = self.build_denoiser("denoiser")
        self.ema_denoiser = self.moving_average(self.denoiser, self.build_denoiser, "ema_denoiser")

    def build_denoiser(self, name):
        """The built network `denoiser(x_t, t, labels=None, context=None)`: a UNet from the config.

        Subclasses swap in another.
        """
        context_shape = self.context_shape
        return build_unet(self.config, name, self.diffusion_shape, None if context_shape is None else context_shape[-1])

    @property
    def diffusion_shape(self):
        """Shape of one example of what is diffused: the data's here, a latent's in a latent model."""
        return self.data_shape

    @property
    def sampling_network(self):
        """The network `generate` samples with: the moving average when there is one."""
        return self.denoiser if self.ema_denoiser is None else self.ema_denoiser

    # Conditioning -----------------------------------------------------------------

    @property
    def context_shape(self):
        """`(tokens, context_dim)` of the context the model conditions on, or None."""
        return self.config.context_shape

    def condition_spec(self):
        if self.context_shape is not None:
            return ContextSequence(tuple(self.context_shape))
        return super().condition_spec()

    @property
    def condition_dropout(self):
        if self.context_shape is not None:
            return self.config.context_dropout
        return super().condition_dropout

    def split_context(self, owner, x, y):
        """`(x, context)` of a context-conditional model's data: `x` a `{"x", "context"}` dict, or `(x, y)`."""
        if not isinstance(x, dict):
            return x, y
        if self.context_shape is None:
            raise ValueError(
                f"{owner}: a dict `x` ({{'x': ..., 'context': ...}}) is for a context-conditional model "
                f"(context_shape set), got keys {sorted(x)}"
            )
        if sorted(x) != list(CONTEXT_BATCH_KEYS):
            raise ValueError(
                f"{owner}: a dict `x` must have the keys 'x' and 'context' (the data and their contexts), "
                f"got keys {sorted(x)}"
            )
        if y is not None:
            raise ValueError(f"{owner}: pass the contexts in `x['context']` or as `y`, not both")
        return x["x"], x["context"]

    # Training ---------------------------------------------------------------------

    def check_training_data(self, x, y, method):
        owner = f"{type(self).__name__}.{method}"
        argument = "x['context']" if isinstance(x, dict) else "y"
        x, context = self.split_context(owner, x, y)
        spec = self.condition_spec()
        if not isinstance(spec, ContextSequence):
            super().check_training_data(x, context, method)
            return
        super().check_training_data(x, None, method)
        if not validation.is_array_like(x):
            return
        if context is None:
            raise ValueError(
                f"{owner}: `y` (contexts of shape {spec.shape}) is required for a context-conditional model, got None"
            )
        validation.check_batch(owner, argument, context, spec.shape)
        if len(context) != len(x):
            raise ValueError(
                f"{owner}: `{argument}` must hold one context per example of `x` ({len(x)}), got {len(context)}"
            )

    def check_batch_spec(self, data, method):
        spec = self.condition_spec()
        if not isinstance(spec, ContextSequence):
            super().check_batch_spec(data, method)
            return
        owner = f"{type(self).__name__}.{method}"
        x, y, _ = keras.utils.unpack_x_y_sample_weight(data)
        x, context = self.split_context(owner, x, y)
        validation.check_batch_spec(owner, "x", x, self.data_shape)
        if context is None:
            raise ValueError(f"{owner}: batches must be {{'x', 'context'}} dicts or (x, context) pairs, got x alone")
        validation.check_batch_spec(owner, "context", context, spec.shape)

    def unpack_batch(self, data):
        """`(x in diffusion space, condition)` from a training batch: its labels or context, or None."""
        x, y, _ = keras.utils.unpack_x_y_sample_weight(data)
        x, y = self.split_context(type(self).__name__, x, y)
        return self.to_model_space(x), self.batch_condition(y)

    def compute_generative_loss(self, data, training=True):
        config = self.config
        x0, condition = self.unpack_batch(data)
        batch = ops.shape(x0)[0]
        t = objectives.sample_timesteps(
            config.timestep_sampling,
            config.num_timesteps,
            batch,
            self.seed_generator,
            logit_mean=config.logit_mean,
            logit_std=config.logit_std,
        )
        noise = keras.random.normal(ops.shape(x0), seed=self.seed_generator)
        alpha, sigma = self.schedule.signal_and_noise(t)
        x_t = self.schedule.add_noise(x0, noise, t)
        conditions = self.network_arguments(self.drop_condition(condition))
        output = ops.cast(self.denoiser(x_t, t, training=training, **conditions), "float32")
        target = objectives.prediction_target(config.prediction, x0, noise, alpha, sigma)
        squared_error = ops.mean(ops.square(output - target), axis=tuple(range(1, len(x0.shape))))
        weight = objectives.loss_weight(
            config.loss_weighting,
            config.prediction,
            self.schedule.snr(t),
            min_snr_gamma=config.min_snr_gamma,
            sigma_data=config.sigma_data,
        )
        loss = ops.mean(ops.stop_gradient(weight) * squared_error)
        return loss, {"loss": loss}

    def call(self, inputs, timesteps=None, training=False):
        """The trained network's prediction for noisy `inputs` at `timesteps`.

        `inputs` is `x_t`, or `(x_t, labels)` / `(x_t, context)` /
        `{"x": x_t, "context": context}` for a conditional model; `timesteps`
        defaults to the middle of the schedule; `x_t` is in diffusion space
        ([-1, 1] for rescaled data).
        """
        x, condition = (inputs, None) if not isinstance(inputs, (tuple, list)) else (inputs[0], inputs[1])
        x, condition = self.split_context(type(self).__name__, x, condition)
        x = ops.cast(x, "float32")
        if timesteps is None:
            timesteps = ops.full((ops.shape(x)[0],), float(self.config.num_timesteps // 2))
        if condition is not None:
            condition = self.condition_tensor(condition)
        return self.denoiser(x, timesteps, training=training, **self.network_arguments(condition))

    # Sampling ---------------------------------------------------------------------
    def default_sampler(self):
        return DDIMSampler(steps=self.config.sampling_steps, eta=0.0, clip_x0=self.config.clip_x0)

    def check_sampler(self, owner, sampler):
        sampler.check_schedule(owner, self.schedule)

    def denoiser_function(self, condition=None, guidance_scale=None, network=None):
        """`denoiser(x, t)` for the samplers: the network's prediction, with classifier-free guidance if asked.

        Args:
            condition: class ids `(batch,)` or contexts `(batch, tokens, context_dim)` of a conditional model, or None.
            guidance_scale: None (the conditional network alone) or `w` (a
                number, or a tensor `(batch,)`) for `out_u + w (out_c - out_u)`;
                `w = 1` is the conditional model, `w = 0` the unconditional one.
            network: the UNet to call (default `sampling_network`).
        """
        return self.guided_function(network or self.sampling_network, condition, guidance_scale)

    def reverse_diffusion(
        self,
        num_samples,
        seed_generator,
        sampler=None,
        labels=None,
        guidance_scale=None,
        return_trajectory=False,
        context=None,
    ):
        """`sampler`'s samples from fresh noise, in diffusion space (`to_model_space`), with the trajectory if asked."""
        sampler = sampler or self.default_sampler()
        noise = keras.random.normal((num_samples, *self.diffusion_shape), seed=seed_generator)
        return sampler.sample(
            self.denoiser_function(labels if context is None else context, guidance_scale),
            self.schedule,
            noise,
            seed_generator,
            prediction=self.config.prediction,
            return_trajectory=return_trajectory,
        )

    def sample(
        self,
        num_samples,
        seed_generator,
        sampler=None,
        labels=None,
        guidance_scale=None,
        return_trajectory=False,
        context=None,
    ):
        result = self.reverse_diffusion(
            num_samples, seed_generator, sampler, labels, guidance_scale, return_trajectory, context
        )
        return self.samples_from_model_space(result, return_trajectory)
