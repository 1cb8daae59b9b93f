"""Model registry: look up model classes by name.

Each family registers its models (`models.registration.register_model`) when
its package is imported; listing or looking up by name imports the families.

Example:
```python
import artifex_keras as ak
ak.list_models()                                  # ['beta_vae', 'conditional_vae', ...]
model = ak.create_model("vae", latent_dim=8, input_shape=(8, 8, 1))
```
"""

import difflib
import importlib

from artifex_keras.models import FAMILY_PACKAGES
from artifex_keras.models.registration import REGISTERED_MODELS


def _load_families():
    for package in FAMILY_PACKAGES:
        importlib.import_module(package)


def list_models():
    """Sorted names of every registered model."""
    _load_families()
    return sorted(REGISTERED_MODELS)


def get_model_class(name):
    """The class registered under `name` (a registry name or a class name)."""
    _load_families()
    if name in REGISTERED_MODELS:
        return REGISTERED_MODELS[name]
    by_class = {cls.__name__: cls for cls in REGISTERED_MODELS.values()}
    if name in by_class:
        return by_class[name]
    close = difflib.get_close_matches(name, list(REGISTERED_MODELS) + list(by_class), n=3)
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    raise ValueError(f"create_model: unknown model {name!r}.{hint} Available: {', '.join(list_models())}")


def create_model(name, config=None, **kwargs):
    """Build a registered model from a config object or keyword arguments."""
    return get_model_class(name)(config, **kwargs)
