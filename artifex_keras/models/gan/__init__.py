"""The GAN family: `GAN`, `DCGAN`, `WGANGP`, `LSGAN` and the projection-discriminator `ConditionalGAN`."""

from artifex_keras.models.gan.conditional_gan import ConditionalGAN
from artifex_keras.models.gan.conditional_gan import ConditionalGANConfig
from artifex_keras.models.gan.dcgan import DCGAN
from artifex_keras.models.gan.dcgan import DCGANConfig
from artifex_keras.models.gan.gan import GAN
from artifex_keras.models.gan.gan import GANConfig
from artifex_keras.models.gan.lsgan import LSGAN
from artifex_keras.models.gan.lsgan import LSGANConfig
from artifex_keras.models.gan.wgan_gp import WGANGP
from artifex_keras.models.gan.wgan_gp import WGANGPConfig

__all__ = [
    "ConditionalGAN",
    "ConditionalGANConfig",
    "DCGAN",
    "DCGANConfig",
    "GAN",
    "GANConfig",
    "LSGAN",
    "LSGANConfig",
    "WGANGP",
    "WGANGPConfig",
]
