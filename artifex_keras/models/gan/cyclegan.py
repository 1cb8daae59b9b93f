"""`CycleGAN`: unpaired image-to-image translation with two generators, two PatchGANs and cycle consistency."""

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
from artifex_keras.models.gan.image_pool import ImagePool
from artifex_keras.models.gan.patchgan import logit_maps
from artifex_keras.models.gan.patchgan import mean_over_scales
from artifex_keras.models.gan.translation_networks import OUTPUT_RANGES
from artifex_keras.models.gan.translation_networks import TranslationConfig
from artifex_keras.models.registration import register_model

DIRECTIONS = ("a_to_b", "b_to_a")


@dataclasses.dataclass(frozen=True)
class CycleGANConfig(TranslationConfig):
    """Configuration of a `CycleGAN`: the paper's ResNet generators, instance norm and least-squares loss.

    Args:
        lambda_cycle: weight of the cycle-consistency losses `|F(G(a)) - a|` and `|G(F(b)) - b|`.
        lambda_identity: weight of the identity losses `|G(b) - b|` and `|F(a) - a|`
            (the paper's 0.5 * lambda_cycle; 0 disables them).
        pool_size: generated images per domain kept in an `ImagePool` that
            the discriminators also train on (the paper's 50; 0 disables it).
        (other fields as in `TranslationConfig`; both domains have images of `input_shape`)
    """

    generator: str = "resnet"
    residual_blocks: int = 4
    dropout: float = 0.0
    norm: str = "instance"
    loss: str = "least_squares"
    lambda_cycle: float = 10.0
    lambda_identity: float = 5.0
    pool_size: int = 50

    def validate(self):
        super().validate()
        self.check_number("lambda_cycle", low=0.0)
        self.check_number("lambda_identity", low=0.0)
        self.check_non_negative_int("pool_size")


@register_model("cyclegan")
class CycleGAN(ImagePairData, GenerativeModel):
    """Unpaired translation between domains A and B: generators `G: A -> B`, `F: B -> A`, a PatchGAN per domain.

    Train on `fit(a_images, b_images)`: each batch pairs A images with
    unrelated B images (the same count of each). Each step updates both
    discriminators (phase `"discriminator"`: `D_B` on real B vs `G(a)`,
    `D_A` on real A vs `F(b)`, the fakes drawn through an `ImagePool` of
    earlier translations when `pool_size > 0`), then both generators (phase `"generator"`)
    on the adversarial losses plus `lambda_cycle * (|F(G(a)) - a| + |G(F(b))
    - b|)` plus `lambda_identity * (|G(b) - b| + |F(a) - a|)` (mean absolute
    errors); one Adam(2e-4, beta_1=0.5) per phase. `translate(x,
    direction="a_to_b" | "b_to_a")` returns NumPy images;
    `generate(n, source=a_images)` translates A to B. Calling the model
    returns `G(a)`.

    Args:
        config: a `CycleGANConfig`, or pass its fields as keyword arguments.

    Example:
    ```python
    a, b = artifex_keras.data.load_translation("fashion_mnist_sneakers_boots", limit=256)
    model = CycleGAN(input_shape=(28, 28, 1), generator_filters=8, residual_blocks=2, discriminator_filters=8)
    model.fit(a, b, epochs=1, batch_size=32)
    boots = model.translate(a[:8])                          # A -> B
    sneakers = model.translate(b[:8], direction="b_to_a")   # B -> A
    ```

    Reference:
        Zhu et al., "Unpaired Image-to-Image Translation using Cycle-Consistent Adversarial Networks", ICCV 2017.
    """

    config_class = CycleGANConfig
    pair_words = PairWords(
        "domain-A image", "domain-B images", "(a_images, b_images) pairs",
        "so every batch has both domains; subsample or repeat one domain", "domain A alone",
    )
    family = "gan"

    @property
    def metric_names(self):
        names = ("discriminator_loss", "generator_loss", "adversarial_loss", "cycle_loss")
        return names + ("identity_loss",) if self.config.lambda_identity else names

    def build_networks(self):
        config = self.config
        channels = self.data_shape[-1]
        self.generator_ab = config.make_generator(channels, "generator_ab")
        self.generator_ba = config.make_generator(channels, "generator_ba")
        self.discriminator_a = config.make_discriminator("discriminator_a")
        self.discriminator_b = config.make_discriminator("discriminator_b")
        for discriminator in (self.discriminator_a, self.discriminator_b):
            discriminator.build((None, *self.data_shape))
        self.pools = None
        if config.pool_size:
            self.pools = {name: ImagePool(self, config.pool_size, self.data_shape, f"pool_{name}") for name in "ab"}

    @property
    def data_range(self):
        return OUTPUT_RANGES[self.config.output_activation]

    def condition_spec(self):
        return SourceImages(self.data_shape, self.data_range)

    def generator_variables(self):
        """The trainable variables of the generator phase: both generators."""
        return self.generator_ab.trainable_variables + self.generator_ba.trainable_variables

    def discriminator_variables(self):
        """The trainable variables of the discriminator phase: both discriminators."""
        return self.discriminator_a.trainable_variables + self.discriminator_b.trainable_variables

    # Losses (backend tensors) --------------------------------------------------------
    def translate_tensor(self, images, direction="a_to_b", training=False):
        """`G(images)` (`"a_to_b"`) or `F(images)` (`"b_to_a"`) in float32."""
        generator = self.generator_ab if direction == "a_to_b" else self.generator_ba
        return ops.cast(generator(images, training=training), "float32")

    def cycle_loss(self, a, b, fake_b, fake_a, training=False):
        """`|F(G(a)) - a| + |G(F(b)) - b|` (means over pixels) for `fake_b = G(a)`, `fake_a = F(b)`."""
        cycled_a = self.translate_tensor(fake_b, "b_to_a", training)
        cycled_b = self.translate_tensor(fake_a, "a_to_b", training)
        return ops.mean(ops.abs(cycled_a - a)) + ops.mean(ops.abs(cycled_b - b))

    def identity_loss(self, a, b, training=False):
        """`|G(b) - b| + |F(a) - a|` (means over pixels): each generator leaves its own output domain alone."""
        same_b = self.translate_tensor(b, "a_to_b", training)
        same_a = self.translate_tensor(a, "b_to_a", training)
        return ops.mean(ops.abs(same_b - b)) + ops.mean(ops.abs(same_a - a))

    def training_phases(self):
        return [
            Phase("discriminator", self.discriminator_loss, self.discriminator_variables()),
            Phase("generator", self.generator_loss, self.generator_variables()),
        ]

    def default_optimizers(self):
        return {
            "discriminator": keras.optimizers.Adam(2e-4, beta_1=0.5),
            "generator": keras.optimizers.Adam(2e-4, beta_1=0.5),
        }

    def _adversarial(self, discriminator, real, fake, training):
        batch = ops.shape(real)[0]
        # One call on real and fake images: spectral normalisation steps its power iteration once.
        maps = logit_maps(discriminator, ops.concatenate([real, fake], axis=0), training=training)
        return mean_over_scales(
            lambda logits: losses.discriminator_loss(self.config.loss, logits[:batch], logits[batch:]), maps
        )

    def discriminator_loss(self, data, training=True):
        a, b = self.unpack_batch(data)
        fake_b = ops.stop_gradient(self.translate_tensor(a, "a_to_b", training))
        fake_a = ops.stop_gradient(self.translate_tensor(b, "b_to_a", training))
        if training and self.pools:
            fake_b = self.pools["b"].query(fake_b, self.seed_generator)
            fake_a = self.pools["a"].query(fake_a, self.seed_generator)
        loss = self._adversarial(self.discriminator_b, b, fake_b, training) + self._adversarial(
            self.discriminator_a, a, fake_a, training
        )
        return loss, {"discriminator_loss": loss}

    def generator_loss(self, data, training=True):
        config = self.config
        a, b = self.unpack_batch(data)
        fake_b = self.translate_tensor(a, "a_to_b", training)
        fake_a = self.translate_tensor(b, "b_to_a", training)

        def fooled(discriminator, fake):
            maps = logit_maps(discriminator, fake, training=training)
            return mean_over_scales(lambda logits: losses.generator_loss(config.loss, logits), maps)

        adversarial = fooled(self.discriminator_b, fake_b) + fooled(self.discriminator_a, fake_a)
        cycle = self.cycle_loss(a, b, fake_b, fake_a, training)
        loss = adversarial + config.lambda_cycle * cycle
        logs = {"adversarial_loss": adversarial, "cycle_loss": cycle}
        if config.lambda_identity:
            identity = self.identity_loss(a, b, training)
            loss = loss + config.lambda_identity * identity
            logs["identity_loss"] = identity
        logs["generator_loss"] = loss
        return loss, logs

    def call(self, inputs, training=False):
        a = inputs[0] if isinstance(inputs, (tuple, list)) else inputs
        return self.translate_tensor(ops.cast(a, "float32"), "a_to_b", training=training)

    # Translation ------------------------------------------------------------------
    def sample(self, num_samples, seed_generator, sampler=None, source=None):
        return self.translate_tensor(ops.cast(source, "float32"), "a_to_b")

    def translate(self, x, direction="a_to_b", batch_size=256):
        """Translated images of NumPy images `x` `(n, *input_shape)`: A to B (`G`) or B to A (`F`), NumPy out.

        Example:
        ```python
        boots = model.translate(sneakers)                       # G: A -> B
        sneakers_again = model.translate(boots, direction="b_to_a")
        ```
        """
        owner = f"{type(self).__name__}.translate"
        if direction not in DIRECTIONS:
            raise ValueError(
                f"{owner}: `direction` must be 'a_to_b' (G: A -> B) or 'b_to_a' (F: B -> A), got {direction!r}"
            )
        batch_size = validation.check_positive_int(owner, "batch_size", batch_size)
        x = np.asarray(x)
        validation.check_batch(owner, "x", x, self.data_shape, self.data_range)
        if not len(x):
            raise ValueError(f"{owner}: `x` must hold at least one image, got shape {x.shape}")

        def run(seed_generator, images):
            return self.translate_tensor(images, direction)

        return self.map_compiled(("translate", direction), run, batch_size, x.astype("float32"))
