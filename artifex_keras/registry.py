"""Model registry: look up model classes by name.

Example:
```python
import artifex_keras as ak
ak.list_models()                                  # ['beta_vae', 'conditional_vae', ...]
model = ak.create_model("vae", latent_dim=8, input_shape=(8, 8, 1))
```
"""

import difflib
import importlib

import keras

_MODELS = {}


def register_model(name):
    """Class decorator: registers a model class under `name` and for `.keras` saving."""

    def decorator(cls):
        if name in _MODELS and _MODELS[name] is not cls:
            raise ValueError(f"register_model: name {name!r} is already taken by {_MODELS[name].__name__}")
        _MODELS[name] = cls
        return keras.saving.register_keras_serializable(package="artifex_keras")(cls)

    return decorator


def _load_families():
    # Importing the models package runs every family's `register_model`.
    importlib.import_module("artifex_keras.models")


def list_models():
    """Sorted names of every registered model."""
    _load_families()
    return sorted(_MODELS)


def get_model_class(name):
    """The class registered under `name` (a registry name or a class name)."""
    _load_families()
    if name in _MODELS:
        return _MODELS[name]
    by_class = {cls.__name__: cls for cls in _MODELS.values()}
    if name in by_class:
        return by_class[name]
    close = difflib.get_close_matches(name, list(_MODELS) + list(by_class), n=3)
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    raise ValueError(
        f"create_model: unknown model {name!r}.{hint} Available: {', '.join(list_models())}"
    )


def create_model(name, config=None, **kwargs):
    """Build a registered model from a config object or keyword arguments."""
    return get_model_class(name)(config, **kwargs)
