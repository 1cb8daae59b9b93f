"""Model families. Each model is a `keras.Model` with presets and its own training phases.

Families load on first use (`artifex_keras.models.VAE` imports the VAE family
only), and each registers its models when its package is imported.
"""

import importlib

from artifex_keras.models.base import GenerativeModel

# Every family package; a family's `__all__` lists the names it exports here.
FAMILY_PACKAGES = (
    "artifex_keras.models.vae",
    "artifex_keras.models.classifier",
    "artifex_keras.models.flows",
    "artifex_keras.models.diffusion",
    "artifex_keras.models.ebm",
    "artifex_keras.models.gan",
    "artifex_keras.models.autoregressive",
)


def __getattr__(name):
    for package in FAMILY_PACKAGES:
        module = importlib.import_module(package)
        if name in module.__all__:
            return getattr(module, name)
    raise AttributeError(f"module 'artifex_keras.models' has no attribute {name!r}")


def __dir__():
    names = [name for package in FAMILY_PACKAGES for name in importlib.import_module(package).__all__]
    return sorted([*globals(), *names])


__all__ = ["GenerativeModel"]
