"""`ConfiguredModel`: a `keras.Model` built from a frozen config, serialised and shipped as a preset."""

import keras
import numpy as np

from artifex_keras import presets
from artifex_keras.backend import CompiledFunction
from artifex_keras.backend import StateRecovery
from artifex_keras.config import Config
from artifex_keras.config import unknown_key_message
from artifex_keras.distribution import check_batches_split_evenly


class ConfiguredModel(StateRecovery, keras.Model):
    """Config resolution, `get_config`/`from_config`, presets and compiled calls, shared by every model we ship.

    A subclass sets `config_class` (a `Config` dataclass) and calls
    `self._resolve_config(config, kwargs)` first in `__init__`; its Keras
    config is then its own fields plus `name`, `trainable` and `dtype`.
    Its NumPy-facing methods run through `compiled_function`/`map_compiled`,
    and its `.keras` files and checkpoints also hold the seed generators'
    states, so a resumed run draws what an uninterrupted one would.

    Example:
    ```python
    model = artifex_keras.models.VAE(latent_dim=8, input_shape=(8, 8, 1))
    clone = type(model).from_config(model.get_config())
    model.save_to_preset("my_vae/")
    ```
    """

    config_class = Config
    # Keys under which `save_own_variables` stores the seed generators' states.
    SEED_STATE_KEY = "seed_state_{}"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # A plain object, so Keras does not track the compiled functions as state.
        self._compiled_functions = _CompiledFunctions()

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

    def label_spec(self):
        """The class labels `fit` takes as `y` (a `conditioning.ClassLabels`), or None when it takes none."""
        return None

    # Compiled calls -----------------------------------------------------------
    def compiled_function(self, key, fn):
        """`fn(seed_generator, *tensors)` as one compiled call of this model's current weights.

        The function is compiled once per `key` (a hashable of everything
        baked into `fn`: sizes, sampler settings) and called as
        `run(seed_generator, *tensors)`; it reads the weights at every call,
        so new weights need no new trace, and advances `seed_generator`.
        JAX jits it, TensorFlow traces a `tf.function`, PyTorch runs it under
        `torch.no_grad()`.

        Example:
        ```python
        run = model.compiled_function(("decode", 64), lambda generator, z: model.decoder(z))
        images = run(model.seed_generator, z)
        ```
        """
        cache = self._compiled_functions
        if key not in cache.functions:
            cache.functions[key] = CompiledFunction(fn)
        function = cache.functions[key]
        return lambda seed_generator, *args: function(self.state_variables(), seed_generator, *args)

    def compiled_trace_counts(self):
        """How many times each compiled call was traced, by key (0 on PyTorch, which runs eagerly)."""
        return {key: function.traces for key, function in self._compiled_functions.functions.items()}

    def state_variables(self):
        """Every variable a compiled call reads: weights, non-trainable state and seed-generator states."""
        return self.trainable_variables + self.non_trainable_variables

    def map_compiled(self, key, fn, batch_size, *arrays, seed_generator=None):
        """Apply a compiled `fn(seed_generator, *batches)` over NumPy `arrays` in batches; NumPy out.

        Every call sees `batch_size` examples (the last batch is padded by
        repeating its last example, and the padding dropped), so one trace
        serves any number of examples. An array may be None (passed as None).
        When `fn` returns a tuple, a tuple of arrays comes back.
        """
        length = len(next(a for a in arrays if a is not None))
        batch_size = min(batch_size, length)
        run = self.compiled_function((key, batch_size), fn)
        generator = self._compiled_functions.seed_generator() if seed_generator is None else seed_generator
        outputs = []
        for start in range(0, length, batch_size):
            count = min(batch_size, length - start)
            batches = [None if a is None else pad_examples(a[start : start + count], batch_size) for a in arrays]
            result = run(generator, *batches)
            result = result if isinstance(result, (tuple, list)) else (result,)
            outputs.append([keras.ops.convert_to_numpy(r)[:count] for r in result])
        merged = tuple(np.concatenate([o[i] for o in outputs]) for i in range(len(outputs[0])))
        return merged if len(merged) > 1 else merged[0]

    # Saving -------------------------------------------------------------------
    def seed_states(self):
        """State variables of every seed generator in the model (not among `weights`)."""
        weights = {id(v) for v in self.weights}
        return [v for v in self.variables if id(v) not in weights]

    def save_own_variables(self, store):
        """Also store the seed generators' states, so a resumed run draws what an uninterrupted one would."""
        super().save_own_variables(store)
        for index, state in enumerate(self.seed_states()):
            store[self.SEED_STATE_KEY.format(index)] = keras.ops.convert_to_numpy(state)

    def load_own_variables(self, store):
        seeds = [self.SEED_STATE_KEY.format(i) for i in range(len(self.seed_states()))]
        if all(key in store.keys() for key in seeds):
            for key, state in zip(seeds, self.seed_states()):
                state.assign(store[key])
        super().load_own_variables(_Without(store, prefix=self.SEED_STATE_KEY.format("")))

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


class _CompiledFunctions:
    """The compiled calls of one model, by key, and a seed generator for calls that draw nothing."""

    def __init__(self):
        self.functions = {}
        self._seed_generator = None

    def seed_generator(self):
        if self._seed_generator is None:
            self._seed_generator = keras.random.SeedGenerator(0)
        return self._seed_generator


class _Without:
    """A read-only view of a weights store without the keys that start with `prefix`."""

    def __init__(self, store, prefix):
        self._store = store
        self._keys = [key for key in store.keys() if not key.startswith(prefix)]

    def keys(self):
        return self._keys

    def __getitem__(self, key):
        return self._store[key]


def pad_examples(array, size):
    """`array` with its last example repeated up to `size` examples."""
    array = np.asarray(array)
    if len(array) == size:
        return array
    return np.concatenate([array, np.repeat(array[-1:], size - len(array), axis=0)])
