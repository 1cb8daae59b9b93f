"""`Pix2Pix`: paired image-to-image translation with a conditional PatchGAN and an L1 term."""

import dataclasses

import keras
import numpy as np
from keras import ops

from artifex_keras import validation
from artifex_keras.backend import Phase
from artifex_keras.conditioning import SourceImages
from artifex_keras.models.base import GenerativeModel
from artifex_keras.models.gan import losses
from artifex_keras.models.gan.image_pairs import ImagePairData
from artifex_keras.models.gan.image_pairs import PairWords
from artifex_keras.models.gan.patchgan import logit_maps
from artifex_keras.models.gan.patchgan import mean_over_scales
from artifex_keras.models.gan.translation_networks import OUTPUT_RANGES
from artifex_keras.models.gan.translation_networks import TranslationConfig
from artifex_keras.models.registration import register_model


@dataclasses.dataclass(frozen=True)
class Pix2PixConfig(TranslationConfig):
    """Configuration of a `Pix2Pix`.

    Args:
        output_channels: channels of the target images.
        lambda_l1: weight of the L1 distance to the target in the generator's loss.
        (other fields as in `TranslationConfig`)
    """

    output_channels: int = 1
    lambda_l1: float = 100.0

    def validate(self):
        super().validate()
        self.check_positive_int("output_channels")
        self.check_number("lambda_l1", low=0.0)


@register_model("pix2pix")
class Pix2Pix(ImagePairData, GenerativeModel):
    """Paired image-to-image translation: a generator `G(source)` and a PatchGAN judging (source, image) pairs.

    Train on `fit(sources, targets)`. Each step updates the discriminator
    (phase `"discriminator"`) on real `(source, target)` and fake `(source,
    G(source))` pairs, then the generator (phase `"generator"`) on
    `adversarial + lambda_l1 * mean|target - G(source)|`; one Adam(2e-4,
    beta_1=0.5) per phase. `translate(sources)` returns NumPy images;
    `generate(n, source=...)` is the same translation (the model is
    conditioned on `SourceImages`; dropout is off, so it draws nothing).
    Calling the model returns `G(source)`.

    Args:
        config: a `Pix2PixConfig`, or pass its fields as keyword arguments.

    Example:
    ```python
    sources, targets = artifex_keras.data.load_translation("fashion_mnist_edges", limit=256)
    model = Pix2Pix(input_shape=(28, 28, 1), generator_filters=8, discriminator_filters=8)
    model.fit(sources, targets, epochs=1, batch_size=32)
    images = model.translate(sources[:8])          # (8, 28, 28, 1) NumPy
    ```

    Reference:
        Isola et al., "Image-to-Image Translation with Conditional Adversarial Networks", CVPR 2017.
    """

    config_class = Pix2PixConfig
    pair_words = PairWords(
        "source image", "the target image of each source in `x`", "(source, target) pairs",
        "one target per source", "the sources alone",
    )
    family = "gan"
    metric_names = ("discriminator_loss", "generator_loss", "adversarial_loss", "l1_loss")

    def build_networks(self):
        config = self.config
        self.generator = config.make_generator(config.output_channels, "generator")
        self.discriminator = config.make_discriminator("discriminator")
        batch = (None,)
        self.discriminator.build(batch + self.data_shape, batch + self.source_shape)

    @property
    def source_shape(self):
        """Shape of one source image."""
        return tuple(self.config.input_shape)

    @property
    def x_shape(self):
        """Training `x` holds source images."""
        return self.source_shape

    @property
    def data_shape(self):
        """Shape of one translated (target) image."""
        return (*self.config.input_shape[:2], self.config.output_channels)

    @property
    def data_range(self):
        return OUTPUT_RANGES[self.config.output_activation]

    def condition_spec(self):
        return SourceImages(self.source_shape, self.data_range)

    # Networks (backend tensors) ---------------------------------------------------
    def translate_tensor(self, source, training=False):
        """`G(source)` in float32."""
        return ops.cast(self.generator(source, training=training), "float32")

    def discriminate(self, images, source, training=False):
        """The PatchGAN's logit maps (a list, one per scale) for `images` paired with `source`."""
        return logit_maps(self.discriminator, images, condition=source, training=training)

    # Training ---------------------------------------------------------------------
    def training_phases(self):
        return [
            Phase("discriminator", self.discriminator_loss, self.discriminator.trainable_variables),
            Phase("generator", self.generator_loss, self.generator.trainable_variables),
        ]

    def default_optimizers(self):
        return {
            "discriminator": keras.optimizers.Adam(2e-4, beta_1=0.5),
            "generator": keras.optimizers.Adam(2e-4, beta_1=0.5),
        }

    def discriminator_loss(self, data, training=True):
        source, target = self.unpack_batch(data)
        batch = ops.shape(source)[0]
        fake = ops.stop_gradient(self.translate_tensor(source, training))
        # One call on real and fake pairs: spectral normalisation steps its power iteration once.
        maps = self.discriminate(
            ops.concatenate([target, fake], axis=0), ops.concatenate([source, source], axis=0), training
        )
        loss = mean_over_scales(
            lambda logits: losses.discriminator_loss(self.config.loss, logits[:batch], logits[batch:]), maps
        )
        return loss, {"discriminator_loss": loss}

    def generator_loss(self, data, training=True):
        source, target = self.unpack_batch(data)
        fake = self.translate_tensor(source, training)
        adversarial = mean_over_scales(
            lambda logits: losses.generator_loss(self.config.loss, logits), self.discriminate(fake, source, training)
        )
        l1 = ops.mean(ops.abs(target - fake))
        loss = adversarial + self.config.lambda_l1 * l1
        return loss, {"generator_loss": loss, "adversarial_loss": adversarial, "l1_loss": l1}

    def call(self, inputs, training=False):
        source = inputs[0] if isinstance(inputs, (tuple, list)) else inputs
        return self.translate_tensor(ops.cast(source, "float32"), training=training)

    # Translation ------------------------------------------------------------------
    def sample(self, num_samples, seed_generator, sampler=None, source=None):
        return self.translate_tensor(ops.cast(source, "float32"))

    def translate(self, x, batch_size=256):
        """Translated images of NumPy sources `x` `(n, *input_shape)`: a NumPy array `(n, *data_shape)`.

        Example:
        ```python
        images = model.translate(edges)
        ```
        """
        owner = f"{type(self).__name__}.translate"
        batch_size = validation.check_positive_int(owner, "batch_size", batch_size)
        x = np.asarray(x)
        validation.check_batch(owner, "x", x, self.source_shape, self.data_range)
        if not len(x):
            raise ValueError(f"{owner}: `x` must hold at least one source image, got shape {x.shape}")
        return self.map_compiled("translate", self._translate_batch, batch_size, x.astype("float32"))

    def _translate_batch(self, seed_generator, source):
        return self.translate_tensor(source)
