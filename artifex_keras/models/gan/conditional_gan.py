"""`ConditionalGAN`: a class-conditional GAN with a projection discriminator."""

import dataclasses

import keras
from keras import ops

from artifex_keras.conditioning import ClassLabels
from artifex_keras.layers.spectral_normalization import SpectralNormalization
from artifex_keras.models.gan.gan import GAN
from artifex_keras.models.gan.gan import GANConfig
from artifex_keras.models.registration import register_model


@dataclasses.dataclass(frozen=True)
class ConditionalGANConfig(GANConfig):
    """Configuration of a `ConditionalGAN`.

    Args:
        num_classes: number of class labels (ints in `[0, num_classes)`).
        (other fields as in `GANConfig`; the hinge loss and spectral
        normalisation are the defaults, as in Miyato & Koyama)
    """

    num_classes: int = 10
    loss: str = "hinge"
    spectral_norm: bool = True

    def validate(self):
        super().validate()
        self.check_positive_int("num_classes")


@register_model("conditional_gan")
class ConditionalGAN(GAN):
    """Class-conditional GAN: the generator sees a one-hot label; the discriminator projects it.

    The discriminator's score is `psi(phi(x)) + <embed(y), phi(x)>` (the
    projection discriminator): features `phi`, a linear head `psi` and a
    learned class embedding. Train on `(x, y)` pairs; generate with
    `labels=`.

    Args:
        config: a `ConditionalGANConfig`, or pass its fields as keyword arguments.

    Example:
    ```python
    x, y = artifex_keras.data.load("digits")
    gan = ConditionalGAN(input_shape=(8, 8, 1), num_classes=10, latent_dim=16,
                         generator_dims=(32, 16), discriminator_dims=(16, 32))
    gan.fit(x, y, epochs=2, batch_size=64)
    sevens = gan.generate(8, labels=7, seed=0)
    ```

    Reference:
        Miyato & Koyama, "cGANs with Projection Discriminator", ICLR 2018.
    """

    config_class = ConditionalGANConfig

    @property
    def num_classes(self):
        return self.config.num_classes

    def build_networks(self):
        super().build_networks()
        features = self.discriminator.output_shape[-1]
        embedding = keras.layers.Embedding(self.config.num_classes, features, name="class_embedding")
        self.class_embedding = SpectralNormalization(embedding) if self.config.spectral_norm else embedding
        self.class_embedding.build((None,))

    def discriminator_variables(self):
        return super().discriminator_variables() + self.class_embedding.trainable_variables

    def condition_spec(self):
        return ClassLabels(self.config.num_classes)

    def unpack_batch(self, data):
        x, y, _ = keras.utils.unpack_x_y_sample_weight(data)
        if y is None:
            raise ValueError(f"{type(self).__name__}: batches must be (x, labels) pairs, got x alone")
        return ops.cast(x, "float32"), ops.reshape(ops.cast(y, "int32"), (-1,))

    def generator_input(self, z, labels=None):
        labels = ops.reshape(ops.cast(labels, "int32"), (-1,))
        return ops.concatenate([z, ops.one_hot(labels, self.config.num_classes, dtype=z.dtype)], axis=-1)

    def discriminate(self, x, labels=None, training=False):
        features = self.discriminator(x, training=training)
        score = ops.reshape(self.discriminator_head(features, training=training), (-1,))
        projection = ops.sum(self.class_embedding(labels, training=training) * features, axis=-1)
        return ops.cast(score + projection, "float32")
