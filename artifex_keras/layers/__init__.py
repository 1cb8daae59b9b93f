"""Reusable layers shared across families."""

from artifex_keras.layers.masked_conv import MaskedConv2D
from artifex_keras.layers.vector_quantizer import VectorQuantizer

__all__ = ["MaskedConv2D", "VectorQuantizer"]
