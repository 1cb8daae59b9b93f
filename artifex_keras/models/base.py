"""`GenerativeModel`: the base of every family."""

import re

import keras
import numpy as np

from artifex_keras import validation
from artifex_keras.backend import Phase
from artifex_keras.backend import PhaseTrainer
from artifex_keras.models.configured import ConfiguredModel


class GenerativeModel(PhaseTrainer, ConfiguredModel):
    """Base class of every generative model: config, phases, presets, sampling.

    A family sets `config_class`, `family` and `metric_names`, builds its
    networks in `build_networks()`, and declares its update either with
    `compute_generative_loss(data, training)` (one optimizer) or by overriding
    `training_phases()` (several phases and optimizers). It never writes a
    `train_step`: the backend trainer runs the phases.

    Example:
    ```python
    model = artifex_keras.models.VAE(latent_dim=8, input_shape=(8, 8, 1))
    model.compile()
    model.fit(x, epochs=1)
    samples = model.generate(16, seed=0)
    ```
    """

    family = None
    metric_names = ("loss",)
    is_conditional = False

    def __init__(self, config=None, *, name=None, dtype=None, trainable=True, **kwargs):
        config = self._resolve_config(config, kwargs)
        super().__init__(name=name or _snake_case(type(self).__name__), dtype=dtype, trainable=trainable)
        self.config = config
        self.seed_generator = keras.random.SeedGenerator(getattr(config, "seed", None))
        self.trackers = [keras.metrics.Mean(name=metric) for metric in self.metric_names]
        self.build_networks()
        self.built = True

    def build_networks(self):
        """Create the family's layers (called once from `__init__`)."""
        raise NotImplementedError(f"{type(self).__name__} must implement build_networks()")

    # Training ---------------------------------------------------------------
    def default_optimizer(self):
        """The optimizer `compile()` uses when none is given."""
        return keras.optimizers.Adam(learning_rate=1e-3)

    def compile(self, optimizer=None, loss=None, **kwargs):
        """Compile with the family's objective; `optimizer` defaults to `default_optimizer()`."""
        if loss is not None:
            raise ValueError(
                f"{type(self).__name__}.compile: `loss` is defined by the model family and must be None, got {loss!r}"
            )
        if optimizer is None:
            optimizer = self.default_optimizer()
        super().compile(optimizer=optimizer, **kwargs)
        # The trackers declared by the family report the loss; drop Keras' own.
        self._loss_tracker = None
        # Build now: an optimizer built lazily inside a JAX trace loses its state.
        self.optimizer.build(self.trainable_variables)

    def training_phases(self):
        """The phases of one training step; one phase by default."""
        return [Phase("model", self.compute_generative_loss, self.trainable_variables, self.optimizer)]

    def compute_generative_loss(self, data, training=True):
        """`(loss, logs)` for one batch; single-optimizer families implement this."""
        raise NotImplementedError(f"{type(self).__name__} must implement compute_generative_loss()")

    def record_logs(self, logs):
        """Update the metric trackers from a dict of scalars; return their results."""
        known = {tracker.name: tracker for tracker in self.trackers}
        for key, value in logs.items():
            if key not in known:
                raise KeyError(f"{type(self).__name__}: log {key!r} is not in metric_names {self.metric_names}")
            known[key].update_state(value)
        return {tracker.name: tracker.result() for tracker in self.trackers}

    def check_training_data(self, x, y, method):
        """Raise a clear error for arrays of the wrong shape, dtype or with NaN, and for unusable loaders."""
        owner = f"{type(self).__name__}.{method}"
        validation.check_data_loader(owner, "x", x)
        validation.check_batch(owner, "x", x, self.data_shape, self.data_range)

    def check_batch_spec(self, data, method):
        """Raise a clear error for a batch of the wrong shape or dtype that arrives inside a step.

        Batches from datasets and generators are checked here, once per trace;
        arrays passed to `fit` are checked in full (values too) beforehand.
        """
        x, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        validation.check_batch_spec(f"{type(self).__name__}.{method}", "x", x, self.data_shape)

    @property
    def data_shape(self):
        """Shape of one example (no batch axis)."""
        return tuple(self.config.input_shape)

    @property
    def data_range(self):
        """Range the inputs must lie in, or None when unrestricted."""
        return None

    # Sampling ---------------------------------------------------------------
    def generate(self, num_samples, seed=None, batch_size=1024, **kwargs):
        """Draw `num_samples` samples; returns a NumPy array `(num_samples, *data_shape)`.

        `seed` (an int) makes the draw reproducible; without it the model's own
        seed generator advances.
        """
        owner = f"{type(self).__name__}.generate"
        num_samples = validation.check_positive_int(owner, "num_samples", num_samples)
        batch_size = validation.check_positive_int(owner, "batch_size", batch_size)
        generator = self.seed_generator if seed is None else keras.random.SeedGenerator(int(seed))
        chunks = []
        for start in range(0, num_samples, batch_size):
            count = min(batch_size, num_samples - start)
            sliced = {k: v[start : start + count] if _is_per_sample(v, num_samples) else v for k, v in kwargs.items()}
            chunks.append(keras.ops.convert_to_numpy(self.sample(count, generator, **sliced)))
        return np.concatenate(chunks, axis=0)

    def sample(self, num_samples, seed_generator, **kwargs):
        """Backend tensor of `num_samples` samples (families implement this)."""
        raise NotImplementedError(f"{type(self).__name__} must implement sample()")


def _snake_case(name):
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def _is_per_sample(value, num_samples):
    return hasattr(value, "shape") and len(value.shape) > 0 and value.shape[0] == num_samples
