"""`DCGAN`: the deep convolutional GAN of Radford et al."""

import dataclasses

from artifex_keras.models.gan.gan import GAN
from artifex_keras.models.gan.gan import GANConfig
from artifex_keras.models.registration import register_model


@dataclasses.dataclass(frozen=True)
class DCGANConfig(GANConfig):
    """Configuration of a `DCGAN`: a `GANConfig` with the non-saturating loss and the conv architecture.

    Args:
        (the fields of `GANConfig`)
    """


@register_model("dcgan")
class DCGAN(GAN):
    """Deep convolutional GAN: transposed-convolution generator with batch norm, LeakyReLU conv discriminator.

    Trained with the non-saturating loss and Adam(2e-4, beta_1=0.5) per phase.

    Args:
        config: a `DCGANConfig`, or pass its fields as keyword arguments.

    Example:
    ```python
    x, _ = artifex_keras.data.load("digits")               # (n, 8, 8, 1) in [0, 1]
    gan = DCGAN(input_shape=(8, 8, 1), latent_dim=16, generator_dims=(32, 16), discriminator_dims=(16, 32))
    gan.compile()
    gan.fit(x, epochs=2, batch_size=64)
    images = gan.generate(16, seed=0)
    ```

    Reference:
        Radford, Metz & Chintala, "Unsupervised Representation Learning with Deep
        Convolutional Generative Adversarial Networks", ICLR 2016.
    """

    config_class = DCGANConfig
