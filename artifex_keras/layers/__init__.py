"""Reusable layers shared across families."""

from artifex_keras.layers.attention import CrossAttention
from artifex_keras.layers.attention import SpatialSelfAttention
from artifex_keras.layers.diff_augment import DiffAugment
from artifex_keras.layers.dit import DiTBackbone
from artifex_keras.layers.dit import DiTBlock
from artifex_keras.layers.dit import DiTFinalLayer
from artifex_keras.layers.dit import PatchEmbedding
from artifex_keras.layers.dit import patchify
from artifex_keras.layers.dit import unpatchify
from artifex_keras.layers.gated_pixelcnn import GatedLayer
from artifex_keras.layers.gated_pixelcnn import GatedPixelCNN
from artifex_keras.layers.masked_conv import MaskedConv2D
from artifex_keras.layers.spectral_normalization import SpectralNormalization
from artifex_keras.layers.stylegan import EqualizedConv2D
from artifex_keras.layers.stylegan import EqualizedDense
from artifex_keras.layers.stylegan import MappingNetwork
from artifex_keras.layers.stylegan import MinibatchStdDev
from artifex_keras.layers.stylegan import ModulatedConv2D
from artifex_keras.layers.stylegan import NoiseInjection
from artifex_keras.layers.stylegan import ResidualDiscriminator
from artifex_keras.layers.stylegan import SynthesisNetwork
from artifex_keras.layers.stylegan import ToRGB
from artifex_keras.layers.timestep_embedding import TimestepEmbedding
from artifex_keras.layers.timestep_embedding import sinusoidal_embedding
from artifex_keras.layers.unet import ResidualBlock
from artifex_keras.layers.unet import UNet2D
from artifex_keras.layers.unet1d import UNet1D
from artifex_keras.layers.vector_quantizer import VectorQuantizer

__all__ = [
    "CrossAttention",
    "DiTBackbone",
    "DiTBlock",
    "DiTFinalLayer",
    "DiffAugment",
    "EqualizedConv2D",
    "EqualizedDense",
    "GatedLayer",
    "GatedPixelCNN",
    "MappingNetwork",
    "MaskedConv2D",
    "MinibatchStdDev",
    "ModulatedConv2D",
    "NoiseInjection",
    "PatchEmbedding",
    "ResidualBlock",
    "ResidualDiscriminator",
    "SpatialSelfAttention",
    "SpectralNormalization",
    "SynthesisNetwork",
    "TimestepEmbedding",
    "ToRGB",
    "UNet1D",
    "UNet2D",
    "VectorQuantizer",
    "patchify",
    "sinusoidal_embedding",
    "unpatchify",
]
