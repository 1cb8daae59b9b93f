"""The normalizing-flow family: RealNVP, Glow, MAF, IAF, NeuralSplineFlow (each conditional on request)."""

from artifex_keras.models.flows.flow import Flow
from artifex_keras.models.flows.flow import FlowConfig
from artifex_keras.models.flows.glow import Glow
from artifex_keras.models.flows.glow import GlowConfig
from artifex_keras.models.flows.iaf import IAF
from artifex_keras.models.flows.iaf import IAFConfig
from artifex_keras.models.flows.maf import MAF
from artifex_keras.models.flows.maf import MAFConfig
from artifex_keras.models.flows.nsf import NeuralSplineFlow
from artifex_keras.models.flows.nsf import NeuralSplineFlowConfig
from artifex_keras.models.flows.realnvp import RealNVP
from artifex_keras.models.flows.realnvp import RealNVPConfig

__all__ = [
    "Flow",
    "FlowConfig",
    "Glow",
    "GlowConfig",
    "IAF",
    "IAFConfig",
    "MAF",
    "MAFConfig",
    "NeuralSplineFlow",
    "NeuralSplineFlowConfig",
    "RealNVP",
    "RealNVPConfig",
]
