"""`register_model`: how a model class joins the registry, by name, when its family package is imported.

Example:
```python
from artifex_keras.models.registration import register_model

@register_model("my_vae")
class MyVAE(artifex_keras.models.VAE):
    ...
```
"""

import keras

# Registered name -> class, filled as family packages are imported.
REGISTERED_MODELS = {}


def register_model(name):
    """Class decorator: registers a model class under `name`, and with Keras for `.keras` files and presets."""

    def decorator(cls):
        if name in REGISTERED_MODELS and REGISTERED_MODELS[name] is not cls:
            raise ValueError(f"register_model: name {name!r} is already taken by {REGISTERED_MODELS[name].__name__}")
        REGISTERED_MODELS[name] = cls
        return keras.saving.register_keras_serializable(package="artifex_keras")(cls)

    return decorator
