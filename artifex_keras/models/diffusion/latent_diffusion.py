"""Latent diffusion: DDPM's training and sampling on the spatial latents of a frozen VAE."""

import dataclasses
import json
import os

import keras
from keras import ops

from artifex_keras import presets
from artifex_keras.models.diffusion.ddpm import DDPM
from artifex_keras.models.diffusion.ddpm import DDPMConfig
from artifex_keras.models.diffusion.ddpm import DiffusionConfig
from artifex_keras.models.diffusion.shared import validate_unet
from artifex_keras.models.registration import register_model
from artifex_keras.models.vae.conditional_vae import ConditionalVAE
from artifex_keras.models.vae.vae import VAE

# What `autoencoder` must name, in every error about it.
AUTOENCODER = (
    "a preset (name or directory) of an unconditional VAE with a spatial latent (architecture='conv', "
    "latent_channels set)"
)


@dataclasses.dataclass(frozen=True)
class LatentDiffusionConfig(DDPMConfig):
    """Configuration of a `LatentDiffusion`: its autoencoder and latent scale, then `DDPMConfig`'s fields.

    Args:
        autoencoder: the frozen autoencoder, a VAE-family preset name or
            directory (`save_to_preset`) holding an unconditional `VAE` with
            a spatial latent (`architecture="conv"`, `latent_channels` set).
            Stored as given: a directory must still be there when the model
            is rebuilt from its `.keras` file or preset.
        latent_scale: factor the latents are multiplied by before diffusion
            (LDM's scale factor); None estimates it at the start of training
            as `1 / std` of the first batch's latents.
        input_shape: shape of the images; None takes the autoencoder's.
        channels: UNet channels per level; the latent's height and width
            must be divisible by `2 ** (len(channels) - 1)`.
        rescale: the data lie in [0, 1] and decoded samples are clipped to
            [0, 1] (the autoencoder maps the data to its latent; nothing is
            mapped to [-1, 1]).
        (other fields as in `DDPMConfig`)
    """

    input_shape: tuple | None = None
    autoencoder: str | None = None
    latent_scale: float | None = None

    def validate(self):
        if isinstance(self.autoencoder, os.PathLike):
            object.__setattr__(self, "autoencoder", os.fspath(self.autoencoder))
        if not isinstance(self.autoencoder, str) or not self.autoencoder:
            self._fail("autoencoder", AUTOENCODER, self.autoencoder)
        image_shape, latent_shape = self.autoencoder_shapes()
        if self.input_shape is None:
            # Filled in, so that `get_config` states the shape of the images.
            object.__setattr__(self, "input_shape", image_shape)
        elif self.input_shape != image_shape:
            self._fail("input_shape", f"None or the autoencoder's input shape {image_shape}", self.input_shape)
        if self.latent_scale is not None:
            self.check_number("latent_scale", low=0.0, low_inclusive=False)
        # `DDPMConfig.validate`, with the UNet checked against the latent it runs on.
        DiffusionConfig.validate(self)
        validate_unet(self, latent_shape)
        self.validate_context()

    def autoencoder_shapes(self):
        """`(input_shape, latent_shape)` of the autoencoder, read from its preset's config without building it."""
        try:
            directory = presets.resolve_preset(self.autoencoder)
            cls = presets.preset_class(directory)
        except (ValueError, ImportError) as error:
            self._fail("autoencoder", f"{AUTOENCODER}; {error}", self.autoencoder)
        if not issubclass(cls, VAE) or issubclass(cls, ConditionalVAE):
            self._fail("autoencoder", f"{AUTOENCODER}, not a {cls.__name__}", self.autoencoder)
        fields = json.loads((directory / presets.CONFIG_FILE).read_text())["config"]
        config = cls.config_class.from_dict({k: v for k, v in fields.items() if k in cls.config_class.field_names()})
        if config.latent_channels is None:
            self._fail("autoencoder", f"{AUTOENCODER}, not a VAE with a latent vector", self.autoencoder)
        return tuple(config.input_shape), config.latent_shape


@register_model("latent_diffusion")
class LatentDiffusion(DDPM):
    """Latent diffusion model: a `DDPM` whose UNet denoises the spatial latents of a frozen VAE.

    Training encodes each batch with the autoencoder's posterior mean (not a
    sample, so the diffused latents of an image are fixed), multiplies it by
    `latent_scale` and trains the UNet on those latents exactly as `DDPM`
    trains on images: schedule, prediction target, loss weighting, moving
    average of the weights, class labels or a context sequence (through
    cross-attention, `context_shape`) and their dropout. The autoencoder
    is frozen: not trainable, not updated by `fit`, but saved with the model.
    With `latent_scale=None`, the scale is set on the first training (or
    evaluation) batch to `1 / std` of its latents (over every value,
    population std) and saved as a non-trainable variable. `generate` runs
    any `DiffusionSampler` in latent space (DDIM by default), divides by the
    scale and returns the decoder's mean: images in [0, 1]. The model's call
    `model(z_t)` takes scaled latents, like `DDPM`'s takes noisy images.

    Args:
        config: a `LatentDiffusionConfig`, or pass its fields as keyword arguments.

    Example:
    ```python
    x, y = artifex_keras.data.load("digits")
    vae = VAE(input_shape=(8, 8, 1), architecture="conv", hidden_dims=(32,), latent_channels=2)
    vae.fit(x, epochs=5, batch_size=64)
    vae.save_to_preset("digits_vae/")
    model = LatentDiffusion(autoencoder="digits_vae/", channels=(32,), num_groups=8, attention_levels=(),
                            num_timesteps=100, num_classes=10)
    model.fit(x, y, epochs=5, batch_size=64)
    images = model.generate(10, labels=np.arange(10), guidance_scale=2.0, seed=0)     # (10, 8, 8, 1)
    images, latents = model.generate(4, labels=np.zeros(4, int), return_trajectory=True)  # latents: (51, 4, 4, 4, 2)
    ```

    Reference:
        Rombach, Blattmann, Lorenz, Esser & Ommer, "High-Resolution Image
        Synthesis with Latent Diffusion Models", CVPR 2022 (section 3 and
        appendix G: the scale factor).
    """

    config_class = LatentDiffusionConfig

    def build_networks(self):
        config = self.config
        self.autoencoder = presets.load_preset(config.autoencoder)
        self.autoencoder.trainable = False
        # 0 until estimated: a scale is positive.
        self.latent_scale = self.add_weight(
            shape=(),
            initializer=keras.initializers.Constant(config.latent_scale or 0.0),
            trainable=False,
            dtype="float32",
            name="latent_scale",
        )
        super().build_networks()

    @property
    def diffusion_shape(self):
        """Shape of one latent the UNet denoises: the autoencoder's `latent_shape`."""
        return self.autoencoder.latent_shape

    # Training ---------------------------------------------------------------------

    def to_model_space(self, x):
        """The latents a training batch `x` is diffused as: the autoencoder's posterior mean times `latent_scale`.

        While `latent_scale` is not set (the first batch of training), it
        becomes `1 / std` of this batch's posterior means (LDM, appendix G).
        """
        mean, _ = self.autoencoder.posterior(ops.cast(x, "float32"))
        current = ops.convert_to_tensor(self.latent_scale)
        scale = ops.where(current > 0.0, current, 1.0 / ops.std(ops.stop_gradient(mean)))
        self.latent_scale.assign(scale)
        return mean * scale

    def from_model_space(self, x, clip=True):
        """Images decoded from diffused latents `x`: the decoder's mean at `x / latent_scale`."""
        z = x / ops.convert_to_tensor(self.latent_scale)
        images = self.autoencoder.output_mean(self.autoencoder.decoder_output(z))
        return ops.clip(images, 0.0, 1.0) if self.config.rescale and clip else images

    # Sampling ---------------------------------------------------------------------

    def generate(self, num_samples, *args, **kwargs):
        """Draw `num_samples` images; `ClassifierFreeGuidance.generate`'s arguments.

        With `return_trajectory=True` the trajectory stays in latent space:
        `(steps + 1, num_samples, *latent_shape)` diffused latents, from the
        noise to the latents the images are decoded from (divide by
        `latent_scale` for the autoencoder's latents).

        Example:
        ```python
        images = model.generate(16, seed=0, sampler=artifex_keras.samplers.DPMSolverSampler(steps=20))
        ```
        """
        if float(ops.convert_to_numpy(self.latent_scale)) <= 0.0:
            raise ValueError(
                f"{type(self).__name__}.generate: `latent_scale` is estimated on the first training batch; "
                "fit the model first or set `latent_scale`, got a model that has not trained"
            )
        return super().generate(num_samples, *args, **kwargs)

    def trajectory_from_model_space(self, trajectory):
        """The trajectory as it is: diffused latents, not decoded."""
        return trajectory
