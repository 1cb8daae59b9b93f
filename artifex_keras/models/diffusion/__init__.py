"""The diffusion family: DDPM with swappable samplers, and the objectives it trains with."""

from artifex_keras.models.diffusion import objectives  # noqa: F401
from artifex_keras.models.diffusion.ddpm import DDPM
from artifex_keras.models.diffusion.ddpm import DDPMConfig

__all__ = ["DDPM", "DDPMConfig"]
