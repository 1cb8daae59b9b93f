"""artifex_keras: generative models on Keras 3 for JAX, TensorFlow and PyTorch.

Submodules load on first use, so `import artifex_keras` is cheap and the
`artifex-keras` command can choose the Keras backend before Keras is imported.

Example:
```python
import artifex_keras as ak
model = ak.from_preset("vae_fashion_mnist")
samples = model.generate(16, seed=0)
```
"""

import importlib
import importlib.util
import json
import os
import sys

__version__ = "0.1.0"


def _fall_back_to_an_installed_backend():
    """Keras defaults to TensorFlow; with only `[jax]` or `[torch]` installed, use that.

    Runs before Keras is imported and never overrides `KERAS_BACKEND` or a
    `keras.json` whose backend is installed.
    """
    if "KERAS_BACKEND" in os.environ or "keras" in sys.modules:
        return
    config = os.path.join(os.environ.get("KERAS_HOME", os.path.expanduser("~/.keras")), "keras.json")
    try:
        with open(config) as file:
            configured = json.load(file).get("backend", "tensorflow")
    except (OSError, ValueError):
        configured = "tensorflow"
    if importlib.util.find_spec(configured) is not None:
        return
    for backend in ("jax", "torch", "tensorflow"):
        if importlib.util.find_spec(backend) is not None:
            os.environ["KERAS_BACKEND"] = backend
            return


_fall_back_to_an_installed_backend()

_SUBMODULES = (
    "bijectors",
    "callbacks",
    "conditioning",
    "data",
    "distribution",
    "ema",
    "layers",
    "losses",
    "metrics",
    "models",
    "optimizers",
    "presets",
    "registry",
    "samplers",
    "tokenizers",
    "training",
)
_ATTRIBUTES = {
    "Config": "artifex_keras.config",
    "GenerativeModel": "artifex_keras.models.base",
    "create_model": "artifex_keras.registry",
    "list_models": "artifex_keras.registry",
    "register_model": "artifex_keras.registry",
    "list_presets": "artifex_keras.presets",
    "preset_metadata": "artifex_keras.presets",
    "evaluate_model": "artifex_keras.evaluation",
    "train_preset": "artifex_keras.training",
    "save_image_grid": "artifex_keras.images",
}


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"artifex_keras.{name}")
    if name in _ATTRIBUTES:
        return getattr(importlib.import_module(_ATTRIBUTES[name]), name)
    raise AttributeError(f"module 'artifex_keras' has no attribute {name!r}")


def from_preset(preset, load_weights=True, **overrides):
    """Build the model a preset describes (any family), weights loaded."""
    from artifex_keras.models.base import GenerativeModel

    return GenerativeModel.from_preset(preset, load_weights=load_weights, **overrides)


def __dir__():
    return sorted([*globals(), *_SUBMODULES, *_ATTRIBUTES])


__all__ = ["from_preset", *_SUBMODULES, *_ATTRIBUTES]
