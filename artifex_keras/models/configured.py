"""`ConfiguredModel`: a `keras.Model` built from a frozen config, serialised and shipped as a preset."""

import keras

from artifex_keras import presets
from artifex_keras.backend import StateRecovery
from artifex_keras.config import Config
from artifex_keras.config import unknown_key_message
from artifex_keras.distribution import check_batches_split_evenly


class ConfiguredModel(StateRecovery, keras.Model):
    """Config resolution, `get_config`/`from_config` and presets, shared by every model we ship.

    A subclass sets `config_class` (a `Config` dataclass) and calls
    `self._resolve_config(config, kwargs)` first in `__init__`; its Keras
    config is then its own fields plus `name`, `trainable` and `dtype`.

    Example:
    ```python
    model = artifex_keras.models.VAE(latent_dim=8, input_shape=(8, 8, 1))
    clone = type(model).from_config(model.get_config())
    model.save_to_preset("my_vae/")
    ```
    """

    config_class = Config

    @classmethod
    def _resolve_config(cls, config, kwargs):
        """The config from a `config_class` instance or dict, with `kwargs` overriding its fields."""
        owner = cls.__name__
        if config is None:
            unknown = sorted(set(kwargs) - set(cls.config_class.field_names()))
            if unknown:
                raise ValueError(unknown_key_message(owner, unknown[0], cls.config_class.field_names()))
            return cls.config_class(**kwargs)
        if isinstance(config, dict):
            return cls.config_class.from_dict({**config, **kwargs})
        if not isinstance(config, cls.config_class):
            raise ValueError(
                f"{owner}: `config` must be a {cls.config_class.__name__} or a dict, got {type(config).__name__}"
            )
        return config.replace(**kwargs) if kwargs else config

    # Training ---------------------------------------------------------------
    def fit(self, x=None, y=None, batch_size=None, **kwargs):
        """`keras.Model.fit` after checking the data; compiles with defaults if needed."""
        self._prepare("fit", x, y, batch_size)
        return super().fit(x, y, batch_size=batch_size, **kwargs)

    def evaluate(self, x=None, y=None, batch_size=None, **kwargs):
        """`keras.Model.evaluate` after checking the data; compiles with defaults if needed."""
        self._prepare("evaluate", x, y, batch_size)
        return super().evaluate(x, y, batch_size=batch_size, **kwargs)

    def _prepare(self, method, x, y, batch_size):
        self.check_training_data(x, y, method)
        check_batches_split_evenly(f"{type(self).__name__}.{method}", x, batch_size)
        if not self.compiled:
            self.compile()

    def check_training_data(self, x, y, method):
        """Raise a clear error for data `fit` or `evaluate` cannot use (subclasses check what they need)."""

    def get_layout_map(self, mesh):
        """Layouts of the weights to shard over `mesh` (a `keras.distribution.DeviceMesh`).

        Empty here: `artifex_keras.distribution.model_parallel` then shards
        every weight whose last axis divides by the `"model"` axis and
        replicates the rest. Large models override this to name their own
        layouts by variable path regex.
        """
        return keras.distribution.LayoutMap(mesh)

    def compile_from_config(self, config):
        """Restore the compile state saved in a `.keras` file."""
        self.compile(**keras.saving.deserialize_keras_object(config))

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "dtype": keras.dtype_policies.serialize(self.dtype_policy),
            **self.config.to_dict(),
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    @classmethod
    def from_preset(cls, preset, load_weights=True, **overrides):
        """Build a model from a shipped preset name, a directory or a hub handle.

        On a concrete class the preset must hold that class; on a base class
        without its own config (e.g. `GenerativeModel`) any model is accepted.
        """
        expected = None if cls.config_class is Config else cls
        return presets.load_preset(preset, expected_class=expected, load_weights=load_weights, **overrides)

    def save_to_preset(self, directory, metadata=None):
        """Write config, metadata and weights to `directory`."""
        return presets.save_preset(self, directory, metadata=metadata)
