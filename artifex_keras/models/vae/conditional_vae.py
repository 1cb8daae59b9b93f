"""Conditional VAE: encoder and decoder both see the class label."""

import dataclasses

import keras
from keras import ops

from artifex_keras.conditioning import ClassLabels
from artifex_keras.models.registration import register_model
from artifex_keras.models.vae.vae import VAE
from artifex_keras.models.vae.vae import VAEConfig


@dataclasses.dataclass(frozen=True)
class ConditionalVAEConfig(VAEConfig):
    """Configuration of a `ConditionalVAE`.

    Args:
        num_classes: number of class labels (labels are ints in `[0, num_classes)`).
        (other fields as in `VAEConfig`)
    """

    num_classes: int = 10

    def validate(self):
        super().validate()
        self.check_positive_int("num_classes")


@register_model("conditional_vae")
class ConditionalVAE(VAE):
    """Conditional VAE: `q(z | x, y)` and `p(x | z, y)` with one-hot labels `y`.

    Train on `(x, y)` pairs; generate images of chosen classes.

    Args:
        config: a `ConditionalVAEConfig`, or pass its fields as keyword arguments.

    Example:
    ```python
    x, y = artifex_keras.data.load("digits")
    model = ConditionalVAE(input_shape=(8, 8, 1), num_classes=10, latent_dim=4)
    model.compile()
    model.fit(x, y, epochs=1)
    sevens = model.generate(8, labels=np.full(8, 7), seed=0)
    ```

    Reference:
        Sohn, Lee & Yan, "Learning Structured Output Representation using Deep
        Conditional Generative Models", NeurIPS 2015.
    """

    config_class = ConditionalVAEConfig

    @property
    def condition_dim(self):
        return self.config.num_classes

    def unpack_batch(self, data):
        x, y, _ = keras.utils.unpack_x_y_sample_weight(data)
        if y is None:
            raise ValueError(f"{type(self).__name__}: batches must be (x, labels) pairs, got x alone")
        return ops.cast(x, "float32"), self.condition_vector(y)

    def condition_spec(self):
        return ClassLabels(self.config.num_classes)

    def condition_vector(self, labels):
        if labels is None:
            return None
        return ops.one_hot(ops.reshape(ops.cast(labels, "int32"), (-1,)), self.config.num_classes)
