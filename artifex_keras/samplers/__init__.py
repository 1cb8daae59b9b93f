"""Sampler objects: how a model draws samples, swappable and serialisable.

`model.generate(n, sampler=...)` takes a `Sampler`, a registered name or a
config dict; a model accepts the kinds of sampler it can run and rejects
others with a clear error.

Example:
```python
import artifex_keras as ak
ak.samplers.list_samplers()                   # ['greedy', 'random', 'top_k', 'top_p']
vqvae = ak.from_preset("vqvae_fashion_mnist")
vqvae.generate(16, sampler=ak.samplers.TopKSampler(k=8), seed=0)
vqvae.generate(16, sampler="greedy")
```
"""

from artifex_keras.samplers.base import Sampler
from artifex_keras.samplers.base import deserialize
from artifex_keras.samplers.base import draw_with_state
from artifex_keras.samplers.base import get
from artifex_keras.samplers.base import list_samplers
from artifex_keras.samplers.base import loop_seed_state
from artifex_keras.samplers.base import register_sampler
from artifex_keras.samplers.base import serialize
from artifex_keras.samplers.beam import BeamSampler
from artifex_keras.samplers.consistency import ConsistencySampler
from artifex_keras.samplers.diffusion import DDIMSampler
from artifex_keras.samplers.diffusion import DDPMSampler
from artifex_keras.samplers.diffusion import DiffusionSampler
from artifex_keras.samplers.diffusion import DPMSolverSampler
from artifex_keras.samplers.diffusion import EulerSampler
from artifex_keras.samplers.diffusion import HeunSampler
from artifex_keras.samplers.mcmc import HMCSampler
from artifex_keras.samplers.mcmc import LangevinSampler
from artifex_keras.samplers.mcmc import MALASampler
from artifex_keras.samplers.mcmc import MCMCSampler
from artifex_keras.samplers.ode import ODEEulerSampler
from artifex_keras.samplers.ode import ODEHeunSampler
from artifex_keras.samplers.ode import ODEMidpointSampler
from artifex_keras.samplers.ode import ODERK4Sampler
from artifex_keras.samplers.ode import ODESampler
from artifex_keras.samplers.schedules import CosineSchedule
from artifex_keras.samplers.schedules import LinearSchedule
from artifex_keras.samplers.schedules import NoiseSchedule
from artifex_keras.samplers.schedules import SigmoidSchedule
from artifex_keras.samplers.sde import SDE
from artifex_keras.samplers.sde import VESDE
from artifex_keras.samplers.sde import VPSDE
from artifex_keras.samplers.sde import EulerMaruyamaSampler
from artifex_keras.samplers.sde import PredictorCorrectorSampler
from artifex_keras.samplers.sde import ProbabilityFlowSampler
from artifex_keras.samplers.sde import ReverseDiffusionSampler
from artifex_keras.samplers.sde import SDESampler
from artifex_keras.samplers.sde import SubVPSDE
from artifex_keras.samplers.tokens import GreedySampler
from artifex_keras.samplers.tokens import RandomSampler
from artifex_keras.samplers.tokens import TokenSampler
from artifex_keras.samplers.tokens import TopKSampler
from artifex_keras.samplers.tokens import TopPSampler

__all__ = [
    "BeamSampler",
    "ConsistencySampler",
    "CosineSchedule",
    "DDIMSampler",
    "DDPMSampler",
    "DPMSolverSampler",
    "DiffusionSampler",
    "EulerMaruyamaSampler",
    "EulerSampler",
    "HeunSampler",
    "LinearSchedule",
    "NoiseSchedule",
    "SigmoidSchedule",
    "SubVPSDE",
    "VESDE",
    "VPSDE",
    "GreedySampler",
    "HMCSampler",
    "LangevinSampler",
    "MALASampler",
    "MCMCSampler",
    "ODEEulerSampler",
    "ODEHeunSampler",
    "ODEMidpointSampler",
    "ODERK4Sampler",
    "ODESampler",
    "PredictorCorrectorSampler",
    "ProbabilityFlowSampler",
    "RandomSampler",
    "ReverseDiffusionSampler",
    "SDE",
    "SDESampler",
    "Sampler",
    "TokenSampler",
    "TopKSampler",
    "TopPSampler",
    "deserialize",
    "draw_with_state",
    "get",
    "list_samplers",
    "loop_seed_state",
    "register_sampler",
    "serialize",
]
