"""The diffusion family: DDPM, DiT and latent diffusion with swappable samplers, flow matching, and their objectives."""

from artifex_keras.models.diffusion import objectives  # noqa: F401
from artifex_keras.models.diffusion.consistency import ConsistencyConfig
from artifex_keras.models.diffusion.consistency import ConsistencyModel
from artifex_keras.models.diffusion.ddpm import DDPM
from artifex_keras.models.diffusion.ddpm import DDPMConfig
from artifex_keras.models.diffusion.ddpm import DiffusionConfig
from artifex_keras.models.diffusion.dit import DiT
from artifex_keras.models.diffusion.dit import DiTConfig
from artifex_keras.models.diffusion.flow_matching import FlowMatching
from artifex_keras.models.diffusion.flow_matching import FlowMatchingConfig
from artifex_keras.models.diffusion.latent_diffusion import LatentDiffusion
from artifex_keras.models.diffusion.latent_diffusion import LatentDiffusionConfig
from artifex_keras.models.diffusion.score_sde import ScoreSDE
from artifex_keras.models.diffusion.score_sde import ScoreSDEConfig

__all__ = [
    "ConsistencyConfig",
    "ConsistencyModel",
    "DDPM",
    "DDPMConfig",
    "DiffusionConfig",
    "DiT",
    "DiTConfig",
    "FlowMatching",
    "FlowMatchingConfig",
    "LatentDiffusion",
    "LatentDiffusionConfig",
    "ScoreSDE",
    "ScoreSDEConfig",
]
