"""The VAE family: VAE, BetaVAE, ConditionalVAE, VQVAE."""

from artifex_keras.models.vae.beta_vae import BetaVAE
from artifex_keras.models.vae.beta_vae import BetaVAEConfig
from artifex_keras.models.vae.conditional_vae import ConditionalVAE
from artifex_keras.models.vae.conditional_vae import ConditionalVAEConfig
from artifex_keras.models.vae.vae import VAE
from artifex_keras.models.vae.vae import VAEConfig
from artifex_keras.models.vae.vqvae import VQVAE
from artifex_keras.models.vae.vqvae import VQVAEConfig

__all__ = [
    "BetaVAE",
    "BetaVAEConfig",
    "ConditionalVAE",
    "ConditionalVAEConfig",
    "VAE",
    "VAEConfig",
    "VQVAE",
    "VQVAEConfig",
]
