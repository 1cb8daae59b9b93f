"""The energy-based family: EBM."""

from artifex_keras.models.ebm.ebm import EBM
from artifex_keras.models.ebm.ebm import EBMConfig

__all__ = ["EBM", "EBMConfig"]
