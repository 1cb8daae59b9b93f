"""The GAN family: `GAN`, `DCGAN`, `WGANGP`, `LSGAN`, the projection-discriminator `ConditionalGAN`,
and the image-to-image `Pix2Pix` and `CycleGAN` with their PatchGAN discriminators."""

from artifex_keras.models.gan.conditional_gan import ConditionalGAN
from artifex_keras.models.gan.conditional_gan import ConditionalGANConfig
from artifex_keras.models.gan.cyclegan import CycleGAN
from artifex_keras.models.gan.cyclegan import CycleGANConfig
from artifex_keras.models.gan.dcgan import DCGAN
from artifex_keras.models.gan.dcgan import DCGANConfig
from artifex_keras.models.gan.gan import GAN
from artifex_keras.models.gan.gan import GANConfig
from artifex_keras.models.gan.lsgan import LSGAN
from artifex_keras.models.gan.lsgan import LSGANConfig
from artifex_keras.models.gan.patchgan import MultiScalePatchGANDiscriminator
from artifex_keras.models.gan.patchgan import PatchGANDiscriminator
from artifex_keras.models.gan.pix2pix import Pix2Pix
from artifex_keras.models.gan.pix2pix import Pix2PixConfig
from artifex_keras.models.gan.stylegan2 import StyleGAN2
from artifex_keras.models.gan.stylegan2 import StyleGAN2Config
from artifex_keras.models.gan.wgan_gp import WGANGP
from artifex_keras.models.gan.wgan_gp import WGANGPConfig

__all__ = [
    "ConditionalGAN",
    "ConditionalGANConfig",
    "CycleGAN",
    "CycleGANConfig",
    "DCGAN",
    "DCGANConfig",
    "GAN",
    "GANConfig",
    "LSGAN",
    "LSGANConfig",
    "MultiScalePatchGANDiscriminator",
    "PatchGANDiscriminator",
    "Pix2Pix",
    "Pix2PixConfig",
    "StyleGAN2",
    "StyleGAN2Config",
    "WGANGP",
    "WGANGPConfig",
]
