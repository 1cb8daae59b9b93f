"""Model families. Each model is a `keras.Model` with presets and its own training phases."""

from artifex_keras.models.base import GenerativeModel
from artifex_keras.models.classifier import ImageClassifier
from artifex_keras.models.vae import *  # noqa: F401,F403
from artifex_keras.models.vae import __all__ as _vae_all

__all__ = ["GenerativeModel", "ImageClassifier", *_vae_all]
