"""`GenerativeModel`: the base of every family."""

import collections.abc
import dataclasses
import math
import re

import keras
import numpy as np

from artifex_keras import samplers
from artifex_keras import validation
from artifex_keras.backend import Phase
from artifex_keras.backend import PhaseTrainer
from artifex_keras.conditioning import ClassLabels
from artifex_keras.models.configured import ConfiguredModel
from artifex_keras.models.configured import pad_examples
from artifex_keras.optimizers import phase_optimizer
from artifex_keras.progress import SamplingProgress


class GenerativeModel(PhaseTrainer, ConfiguredModel):
    """Base class of every generative model: config, phases, optimizers, presets, sampling.

    A family sets `config_class`, `family` and `metric_names`, builds its
    networks in `build_networks()`, and declares its update: one loss with
    `compute_generative_loss(data, training)`, or several phases with
    `training_phases()` and one optimizer per phase in `default_optimizers()`.
    It never writes a `train_step` and never builds optimizers for `compile`:
    the backend trainer runs the phases and this class binds each phase to
    its optimizer. It implements `sample(num_samples, seed_generator,
    sampler=None, **conditions)` with `keras.ops`; `generate` runs it as one
    compiled call. Conditional models return a spec from `condition_spec()`;
    models that take sampler objects list their kinds in `accepted_samplers`.

    Example:
    ```python
    model = artifex_keras.models.VAE(latent_dim=8, input_shape=(8, 8, 1))
    model.compile()                  # the family's default optimizers
    model.fit(x, epochs=1)
    samples = model.generate(16, seed=0)
    ```
    """

    family = None
    metric_names = ("loss",)
    # Kinds of `artifex_keras.samplers.Sampler` that `generate(sampler=...)` accepts.
    accepted_samplers = ()
    # Keyword options of `generate` beyond the conditions, by name with their defaults (say
    # `{"use_cache": True}`): checked by `check_generate_options`, passed on to `sample`, and
    # part of the compiled call's key (so they must be hashable).
    generate_options = {}

    def __init__(self, config=None, *, name=None, dtype=None, trainable=True, **kwargs):
        config = self._resolve_config(config, kwargs)
        super().__init__(name=name or _snake_case(type(self).__name__), dtype=dtype, trainable=trainable)
        self.config = config
        self.seed_generator = keras.random.SeedGenerator(getattr(config, "seed", None))
        self.trackers = [keras.metrics.Mean(name=metric) for metric in self.metric_names]
        self._phase_names = ()
        self.build_networks()
        self.built = True

    def build_networks(self):
        """Create the family's layers (called once from `__init__`)."""
        raise NotImplementedError(f"{type(self).__name__} must implement build_networks()")

    # Training ---------------------------------------------------------------
    def training_phases(self):
        """The phases of one training step, without optimizers; one phase `"model"` by default."""
        return [Phase("model", self.compute_generative_loss, self.trainable_variables)]

    def default_optimizers(self):
        """A fresh optimizer per phase name: what `compile()` uses where none is given."""
        return {"model": keras.optimizers.Adam(learning_rate=1e-3)}

    def after_training_step(self):
        """Run after every training step's phases, inside the compiled step (an EMA update, say)."""

    def compute_generative_loss(self, data, training=True):
        """`(loss, logs)` for one batch; single-phase families implement this."""
        raise NotImplementedError(f"{type(self).__name__} must implement compute_generative_loss()")

    def compile(self, optimizer=None, loss=None, **kwargs):
        """Compile with the family's objective and one optimizer per phase.

        Args:
            optimizer: None (the family's `default_optimizers()`), one
                optimizer (a name, config or instance; copied for each phase
                of a several-phase model), or a dict keyed by phase name
                (phases left out keep their default).
            loss: must be None: the family defines its losses.
            **kwargs: other `keras.Model.compile` arguments.

        Example:
        ```python
        gan.compile(optimizer={"discriminator": keras.optimizers.Adam(2e-4, beta_1=0.5)})
        ```
        """
        owner = f"{type(self).__name__}.compile"
        if loss is not None:
            raise ValueError(f"{owner}: `loss` is defined by the model family and must be None, got {loss!r}")
        phases = self.training_phases()
        optimizers = self._phase_optimizer_choice(owner, optimizer, [phase.name for phase in phases])
        optimizers = self.adjust_phase_optimizers(owner, optimizers)
        if len(phases) == 1:
            combined = optimizers[phases[0].name]
        else:
            combined = phase_optimizer([(phase.variables, optimizers[phase.name]) for phase in phases])
        super().compile(optimizer=combined, **kwargs)
        if len(phases) > 1 and isinstance(self.optimizer, keras.optimizers.LossScaleOptimizer):
            raise ValueError(
                f"{owner}: the 'mixed_float16' policy scales one optimizer's loss, but {type(self).__name__} has "
                f"{len(phases)} phases; use the 'mixed_bfloat16' policy, which needs no loss scaling"
            )
        self._phase_names = tuple(phase.name for phase in phases)
        # `.keras` files store the optimizers by phase name; loading compiles with the same mapping.
        self._compile_config.config["optimizer"] = optimizers
        # The trackers declared by the family report the loss; drop Keras' own.
        self._loss_tracker = None
        # Build now: an optimizer built lazily inside a JAX trace loses its state.
        self.optimizer.build([v for phase in phases for v in phase.variables])

    def adjust_phase_optimizers(self, owner, optimizers):
        """The optimizers `compile` chose, by phase name, as the family wants them (unchanged by default).

        A family overrides this to fix a setting on the user's optimizers too,
        e.g. gradient accumulation for a generator that steps every `n_critic` batches.
        """
        return optimizers

    def _phase_optimizer_choice(self, owner, optimizer, names):
        defaults = self.default_optimizers()
        if sorted(defaults) != sorted(names):
            raise ValueError(
                f"{type(self).__name__}.default_optimizers() must return one optimizer per phase "
                f"({', '.join(names)}), got keys {', '.join(defaults)}"
            )
        if optimizer is None:
            chosen = defaults
        elif isinstance(optimizer, collections.abc.Mapping) and "class_name" not in optimizer:
            unknown = sorted(set(optimizer) - set(names))
            if unknown:
                raise ValueError(
                    f"{owner}: `optimizer` keys must be phase names of {type(self).__name__} "
                    f"({', '.join(names)}), got {unknown[0]!r}"
                )
            chosen = {
                name: _optimizer(owner, optimizer[name]) if name in optimizer else defaults[name] for name in names
            }
        else:
            single = _optimizer(owner, optimizer)
            chosen = {name: single if index == 0 else _copy(single) for index, name in enumerate(names)}
        # One instance per phase: each keeps its own slots and step counter.
        seen = set()
        for name in names:
            if id(chosen[name]) in seen:
                chosen[name] = _copy(chosen[name])
            seen.add(id(chosen[name]))
        return {name: chosen[name] for name in names}

    @property
    def phase_optimizers(self):
        """The optimizer of each phase, by phase name (empty before `compile`)."""
        if self.optimizer is None or not self._phase_names:
            return {}
        if isinstance(self.optimizer, keras.optimizers.MultiOptimizer):
            return dict(zip(self._phase_names, self.optimizer.optimizers))
        return {self._phase_names[0]: self.optimizer}

    def bound_training_phases(self):
        """`training_phases()`, each bound to its compiled optimizer (what the backend trainer runs)."""
        optimizers = self.phase_optimizers
        return [dataclasses.replace(phase, optimizer=optimizers[phase.name]) for phase in self.training_phases()]

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
        if validation.is_array_like(x) and not len(x):
            raise ValueError(f"{owner}: `x` must hold at least one example, got shape {tuple(x.shape)}")
        spec = self.label_spec()
        if spec is not None:
            if validation.is_array_like(x) and y is None:
                raise ValueError(f"{owner}: `y` (class labels) is required for a conditional model, got None")
            batch_size = len(x) if validation.is_array_like(x) else None
            validation.check_labels(owner, "y", y, spec.num_classes, batch_size=batch_size)

    def check_batch_spec(self, data, method):
        """Raise a clear error for a batch of the wrong shape or dtype that arrives inside a step.

        Batches from datasets and generators are checked here, once per trace;
        arrays passed to `fit` are checked in full (values too) beforehand.
        """
        x, y, _ = keras.utils.unpack_x_y_sample_weight(data)
        validation.check_batch_spec(f"{type(self).__name__}.{method}", "x", x, self.data_shape)
        if self.label_spec() is not None:
            validation.check_label_spec(f"{type(self).__name__}.{method}", "y", y)

    @property
    def data_shape(self):
        """Shape of one example (no batch axis)."""
        return tuple(self.config.input_shape)

    @property
    def data_range(self):
        """Range the inputs must lie in, or None when unrestricted."""
        return None

    # Conditioning -----------------------------------------------------------
    def condition_spec(self):
        """What `generate` conditions on (`artifex_keras.conditioning`), or None for unconditional models."""
        return None

    def label_spec(self):
        """Class-conditional models train on `(x, labels)`: their labels are the `y` of `fit`."""
        spec = self.condition_spec()
        return spec if isinstance(spec, ClassLabels) else None

    def example_conditions(self, num_samples):
        """Keyword arguments of `generate` for `num_samples` samples (`{}` when unconditional).

        Example:
        ```python
        model.generate(8, **model.example_conditions(8))
        ```
        """
        spec = self.condition_spec()
        return {} if spec is None else {spec.argument: spec.examples(num_samples)}

    def check_conditions(self, owner, conditions, num_samples):
        """The conditions of a call, checked against `condition_spec()` and converted to arrays."""
        spec = self.condition_spec()
        accepted = () if spec is None else (spec.argument,)
        for name, value in conditions.items():
            if name not in accepted and value is not None:
                takes = f"takes `{spec.argument}`" if spec is not None else "is unconditional and takes no conditions"
                raise ValueError(f"{owner}: unexpected argument `{name}`; {type(self).__name__} {takes}")
        if spec is None:
            return {}
        if conditions.get(spec.argument) is None:
            raise ValueError(
                f"{owner}: `{spec.argument}` is required by the conditional {type(self).__name__} "
                f"({_describe(spec)}), got None"
            )
        return {spec.argument: spec.check(owner, conditions[spec.argument], num_samples)}

    # Sampling ---------------------------------------------------------------
    def default_sampler(self):
        """The sampler `generate` uses when none is given (None: the model draws directly)."""
        return None

    def resolve_sampler(self, owner, sampler):
        """`sampler` (a name, config dict or instance) as a `Sampler` this model accepts, or the default."""
        try:
            sampler = samplers.get(sampler)
        except ValueError as error:
            raise ValueError(f"{owner}: `sampler` is not a sampler: {error}") from None
        if sampler is None:
            return self.default_sampler()
        if not self.accepted_samplers:
            raise ValueError(
                f"{owner}: {type(self).__name__} draws its samples directly and takes no `sampler`, got {sampler!r}"
            )
        if not isinstance(sampler, self.accepted_samplers):
            kinds = " or ".join(kind.__name__ for kind in self.accepted_samplers)
            raise ValueError(f"{owner}: `sampler` must be a {kinds} for {type(self).__name__}, got {sampler!r}")
        self.check_sampler(owner, sampler)
        return sampler

    def check_sampler(self, owner, sampler):
        """Raise a clear error when an accepted kind of sampler cannot run with this model's settings."""

    def generate(self, num_samples, seed=None, batch_size=1024, sampler=None, progress=False, **conditions):
        """Draw `num_samples` samples; returns a NumPy array `(num_samples, *data_shape)`.

        Args:
            num_samples: how many samples.
            seed: an int makes the draw reproducible; None advances the
                model's own seed generator.
            batch_size: most samples per compiled call.
            sampler: a `Sampler`, its name or config, for models that take one.
            progress: show a `keras.utils.Progbar`. On PyTorch a sampler's
                loop steps in Python and the bar moves once per sampling step
                (of every batch); on JAX and TensorFlow the loop is one
                compiled call per batch, and the bar moves once per batch.
                The samples are the same either way.
            **conditions: what a conditional model conditions on (see
                `condition_spec()`), e.g. `labels=`, and the model's own
                `generate_options` (e.g. `use_cache=`).

        Example:
        ```python
        model.generate(16, seed=0)
        cvae.generate(10, labels=np.arange(10))
        ```
        """
        owner = f"{type(self).__name__}.generate"
        num_samples = validation.check_positive_int(owner, "num_samples", num_samples)
        batch_size = validation.check_positive_int(owner, "batch_size", batch_size)
        seed = validation.check_seed(owner, seed)
        sampler = self.resolve_sampler(owner, sampler)
        options = {name: conditions.pop(name, default) for name, default in self.generate_options.items()}
        options = self.check_generate_options(owner, options)
        conditions = self.check_conditions(owner, conditions, num_samples)
        if not isinstance(progress, bool):
            raise ValueError(f"{owner}: `progress` must be a bool, got {progress!r}")
        generator = self.seed_generator if seed is None else keras.random.SeedGenerator(seed)
        size = chunk_size(num_samples, batch_size)
        names = sorted(conditions)
        key = ("sample", size, None if sampler is None else sampler.cache_key(), tuple(names), tuple(options.items()))

        def draw(g, *values):
            return self.sample(size, g, sampler=sampler, **options, **dict(zip(names, values)))

        chunks = self.draw_in_chunks(key, draw, num_samples, size, generator, conditions, progress)
        return np.concatenate([keras.ops.convert_to_numpy(result)[:count] for result, count in chunks], axis=0)

    def draw_in_chunks(self, key, draw, num_samples, size, seed_generator, conditions, progress, extra=()):
        """Yield `(result, count)` of the compiled `draw(seed_generator, *conditions, *extra)` on chunks of `size`.

        The conditions (by sorted name) are cut into chunks of `size`, the last
        one padded, so one compiled call (cached under `key`) serves them all;
        `count` is how many of a chunk's results are real. `extra` values go
        to every call as they are; a progress bar moves once per chunk.
        """
        names = sorted(conditions)
        run = self.compiled_function(key, draw)
        with SamplingProgress(math.ceil(num_samples / size), enabled=progress) as bar:
            for start in range(0, num_samples, size):
                count = min(size, num_samples - start)
                values = [pad_examples(conditions[name][start : start + count], size) for name in names]
                yield run(seed_generator, *values, *extra), count
                bar.batch_done()

    def check_generate_options(self, owner, options):
        """The `generate_options` of one call, checked (families with options override this)."""
        return options

    def sample(self, num_samples, seed_generator, sampler=None, **conditions):
        """Backend tensor of `num_samples` samples, drawn with `keras.ops` (families implement this)."""
        raise NotImplementedError(f"{type(self).__name__} must implement sample()")


def chunk_size(num_samples, batch_size):
    """The size of equal chunks of at most `batch_size` that cover `num_samples` (one compiled call serves all)."""
    return math.ceil(num_samples / math.ceil(num_samples / batch_size))


def _optimizer(owner, identifier):
    if isinstance(identifier, keras.optimizers.MultiOptimizer):
        raise ValueError(f"{owner}: pass a dict of optimizers keyed by phase name, not a MultiOptimizer")
    try:
        return keras.optimizers.get(identifier)
    except ValueError:
        raise ValueError(
            f"{owner}: `optimizer` must be an optimizer, its name or its config, got {identifier!r}"
        ) from None


def _copy(optimizer):
    return type(optimizer).from_config(optimizer.get_config())


def _describe(spec):
    if isinstance(spec, ClassLabels):
        return f"ints in [0, {spec.num_classes - 1}]"
    return type(spec).__name__


def _snake_case(name):
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()
