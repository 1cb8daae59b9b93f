"""`LSGAN`: the least-squares GAN of Mao et al."""

import dataclasses

from artifex_keras.models.gan.gan import GAN
from artifex_keras.models.gan.gan import GANConfig
from artifex_keras.models.registration import register_model


@dataclasses.dataclass(frozen=True)
class LSGANConfig(GANConfig):
    """Configuration of an `LSGAN`: a `GANConfig` whose loss defaults to `"least_squares"`.

    Args:
        (the fields of `GANConfig`)
    """

    loss: str = "least_squares"


@register_model("lsgan")
class LSGAN(GAN):
    """Least-squares GAN: the discriminator regresses real to 1 and fake to 0; the generator pulls fakes to 1.

    Args:
        config: an `LSGANConfig`, or pass its fields as keyword arguments.

    Example:
    ```python
    x, _ = artifex_keras.data.load("digits")
    gan = LSGAN(input_shape=(8, 8, 1), latent_dim=16, generator_dims=(32, 16), discriminator_dims=(16, 32))
    gan.fit(x, epochs=2, batch_size=64)
    images = gan.generate(16, seed=0)
    ```

    Reference:
        Mao et al., "Least Squares Generative Adversarial Networks", ICCV 2017.
    """

    config_class = LSGANConfig
