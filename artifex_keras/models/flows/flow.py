"""`Flow`: the base of every normalizing flow: exact log-likelihood, sampling, dequantised images."""

import dataclasses
import math

import keras
import numpy as np
from keras import ops

from artifex_keras import validation
from artifex_keras.bijectors import Chain
from artifex_keras.bijectors import ConditionalDiagonalGaussian
from artifex_keras.bijectors import DiagonalGaussian
from artifex_keras.bijectors import Logit
from artifex_keras.bijectors import UniformDequantization
from artifex_keras.bijectors import VariationalDequantization
from artifex_keras.bijectors import data_initialization
from artifex_keras.bijectors.actnorm import ActNorm
from artifex_keras.conditioning import ClassLabels
from artifex_keras.conditioning import ContextVector
from artifex_keras.config import Config
from artifex_keras.metrics.likelihood import bits_per_dim as nats_to_bits
from artifex_keras.models.base import GenerativeModel

# Training examples ActNorm layers initialise themselves on (a seeded random subset).
INITIALIZATION_EXAMPLES = 512
DEQUANTIZATIONS = ("uniform", "variational")


@dataclasses.dataclass(frozen=True)
class FlowConfig(Config):
    """Fields every flow has.

    Args:
        input_shape: shape of one example: `(D,)` vectors, or `(H, W, C)`
            images with values in [0, 1] (8-bit pixels over 255), which are
            dequantised and logit-transformed.
        num_classes: condition on class labels in `[0, num_classes)` (0: no labels).
        context_dim: condition on context vectors of this width (0: no context).
        pixel_levels: quantisation levels of image data (256 for 8-bit).
        dequantization: noise added to image pixels, "uniform" or
            "variational" (learned, `VariationalDequantization`).
        dequantization_filters: channels of the variational dequantiser's CNN.
        logit_alpha: margin of the logit transform of images.
        seed: seed of the model's random draws.
    """

    input_shape: tuple = (2,)
    num_classes: int = 0
    context_dim: int = 0
    pixel_levels: int = 256
    dequantization: str = "uniform"
    dequantization_filters: int = 16
    logit_alpha: float = 0.05
    seed: int | None = None

    def validate(self):
        self.check_int_tuple("input_shape")
        if len(self.input_shape) not in (1, 3):
            self._fail("input_shape", "a vector shape (D,) or an image shape (H, W, C)", self.input_shape)
        self.check_non_negative_int("num_classes")
        self.check_non_negative_int("context_dim")
        if self.num_classes and self.context_dim:
            self._fail("context_dim", "0 when `num_classes` is set (one kind of condition)", self.context_dim)
        self.check_positive_int("pixel_levels")
        if self.pixel_levels < 2:
            self._fail("pixel_levels", "at least 2", self.pixel_levels)
        self.check_choice("dequantization", DEQUANTIZATIONS)
        if self.dequantization != "uniform" and len(self.input_shape) != 3:
            self._fail("dequantization", '"uniform" for vector data (it dequantises image pixels)', self.dequantization)
        self.check_positive_int("dequantization_filters")
        self.check_number("logit_alpha", low=0.0, high=0.5, low_inclusive=False, high_inclusive=False)
        if self.seed is not None:
            self.check_non_negative_int("seed")


class Flow(GenerativeModel):
    """A normalizing flow: a bijector from data to a Gaussian base, trained by exact maximum likelihood.

    `log p(x) = log N(f(x)) + log |det df/dx|`. The loss is the negative
    log-likelihood in nats per example. Images `(H, W, C)` in [0, 1] are
    uniformly dequantised (`(k + u) / 256`) and mapped to the real line by a
    logit; their `log_prob` is the density of the dequantised values, so
    `bits_per_dim` is the usual dequantisation bound. Conditional flows
    (`num_classes` or `context_dim`) give every bijector and the base the
    condition. Subclasses build their bijector in `build_bijector`.
    """

    config_class = FlowConfig
    family = "flows"
    metric_names = ("loss",)

    # Structure ------------------------------------------------------------------
    def build_bijector(self, event_shape, context_dim):
        """The flow's bijector from data (after the logit, for images) to the base space."""
        raise NotImplementedError(f"{type(self).__name__} must implement build_bijector()")

    @property
    def is_image(self):
        return len(self.data_shape) == 3

    @property
    def condition_dim(self):
        return self.config.num_classes or self.config.context_dim

    def build_networks(self):
        config = self.config
        body = self.build_bijector(self.data_shape, self.condition_dim)
        if self.is_image:
            if config.dequantization == "variational":
                self.dequantizer = VariationalDequantization(config.pixel_levels, config.dequantization_filters)
                self.dequantizer.build((None, *self.data_shape))
            else:
                self.dequantizer = UniformDequantization(config.pixel_levels)
            body = Chain([Logit(config.logit_alpha), body])
        self.transform = body.build_for(self.data_shape)
        latent_shape = self.transform.output_event_shape(self.data_shape)
        if self.condition_dim:
            self.base = ConditionalDiagonalGaussian(latent_shape, self.condition_dim)
        else:
            self.base = DiagonalGaussian(latent_shape)

    @property
    def data_range(self):
        return (0.0, 1.0) if self.is_image else None

    @property
    def dequantization_scale(self):
        """How the density's inputs relate to 8-bit data (`metrics.bits_per_dim`'s `data_scale`); None for vectors."""
        return "unit" if self.is_image else None

    def condition_spec(self):
        if self.config.num_classes:
            return ClassLabels(self.config.num_classes)
        if self.config.context_dim:
            return ContextVector((self.config.context_dim,))
        return None

    def label_spec(self):
        return ClassLabels(self.config.num_classes) if self.config.num_classes else None

    # Tensors ----------------------------------------------------------------------
    def context_tensor(self, condition):
        """The bijectors' context from labels (one-hot) or context vectors; None for unconditional flows."""
        if not self.condition_dim:
            return None
        if condition is None:
            raise ValueError(
                f"{type(self).__name__}: the conditional flow needs its `{self.condition_spec().argument}`, got None"
            )
        if self.config.num_classes:
            return ops.one_hot(ops.reshape(ops.cast(condition, "int32"), (-1,)), self.config.num_classes)
        return ops.cast(condition, "float32")

    def unpack_batch(self, data):
        x, y, _ = keras.utils.unpack_x_y_sample_weight(data)
        if self.condition_dim and y is None:
            raise ValueError(
                f"{type(self).__name__}: batches must be (x, {self.condition_spec().argument}) pairs, got x alone"
            )
        return ops.cast(x, "float32"), self.context_tensor(y)

    def continuous(self, x, seed_generator=None, noise=None):
        """`(y, log q)`: the values the density is defined on (dequantised images, or the vectors themselves)
        and the log-density of the dequantisation noise per example (0 for vectors and uniform noise)."""
        if not self.is_image:
            return x, ops.zeros(ops.shape(x)[:1], dtype=x.dtype)
        return self.dequantizer.dequantize_with_log_q(x, seed_generator, noise=noise)

    def dequantized_log_density(self, x, context=None, seed_generator=None, noise=None):
        """`log p(y) - log q(u | x)` per example: the flow's log-density of dequantised data, less the noise's."""
        y, log_q = self.continuous(x, seed_generator, noise=noise)
        return self.log_density(y, context) - log_q

    def log_density(self, y, context=None):
        """`log p(y)` per example of continuous inputs `y`, in nats."""
        z, log_det = self.transform.forward(y, context)
        return self.base.log_prob(z, context) + log_det

    def compute_generative_loss(self, data, training=True):
        x, context = self.unpack_batch(data)
        loss = -ops.mean(self.dequantized_log_density(x, context, self.seed_generator))
        return loss, {"loss": loss}

    def call(self, inputs, training=False):
        x, context = self.unpack_batch(inputs)
        return self.dequantized_log_density(x, context, noise=0.5)

    def sample_continuous(self, num_samples, seed_generator, context=None):
        """`(y, log p(y))` for `num_samples` draws: continuous values and their log-density."""
        z = self.base.sample(num_samples, seed_generator, context)
        y, log_det = self.transform.inverse(z, context)
        return y, self.base.log_prob(z, context) - log_det

    def sample(self, num_samples, seed_generator, sampler=None, **conditions):
        context = self.context_tensor(next(iter(conditions.values()), None)) if self.condition_dim else None
        z = self.base.sample(num_samples, seed_generator, context)
        y, _ = self.transform.inverse(z, context)
        return self.dequantizer.to_data(y) if self.is_image else y

    # Data-dependent initialisation ------------------------------------------------------
    def needs_initialization(self):
        """Whether an ActNorm layer still waits for its data-dependent initialisation."""
        return any(isinstance(layer, ActNorm) and not layer.is_initialized for layer in self._flatten_layers())

    def initialize_from_data(self, x, y=None):
        """Initialise the ActNorm layers on a seeded random subset of `x` (arrays) or the first batch (datasets)."""
        if not self.needs_initialization():
            return
        if validation.is_array_like(x):
            rng = np.random.default_rng(self.config.seed or 0)
            count = min(len(x), INITIALIZATION_EXAMPLES)
            index = np.sort(rng.choice(len(x), size=count, replace=False))
            x_batch = np.asarray(x)[index]
            y_batch = None if y is None else np.asarray(y)[index]
        else:
            first = next(iter(x))
            x_batch, y_batch, _ = keras.utils.unpack_x_y_sample_weight(first if isinstance(first, tuple) else (first,))
        values, _ = self.continuous(ops.cast(ops.convert_to_tensor(x_batch), "float32"), noise=0.5)
        context = self.context_tensor(None if y_batch is None else ops.convert_to_tensor(y_batch))
        with data_initialization(self.transform):
            self.transform.forward(values, context)

    def fit(self, x=None, y=None, batch_size=None, **kwargs):
        """`keras.Model.fit`, after initialising ActNorm layers from the data on the first call."""
        if self.needs_initialization():
            self.check_training_data(x, y, "fit")
            self.initialize_from_data(x, y)
        return super().fit(x, y, batch_size=batch_size, **kwargs)

    def check_training_data(self, x, y, method):
        super().check_training_data(x, y, method)  # class labels are checked there
        spec = self.condition_spec()
        if spec is None or isinstance(spec, ClassLabels):
            return
        owner = f"{type(self).__name__}.{method}"
        if validation.is_array_like(x) and y is None:
            raise ValueError(
                f"{owner}: `y` (context vectors of width {self.condition_dim}) is required for a conditional flow, "
                "got None"
            )
        validation.check_batch(owner, "y", y, spec.shape)

    # Public NumPy API ---------------------------------------------------------------
    def _conditions(self, method, labels, condition, num_examples):
        owner = f"{type(self).__name__}.{method}"
        checked = self.check_conditions(owner, {"labels": labels, "condition": condition}, num_examples)
        return next(iter(checked.values()), None)

    def log_prob(self, x, labels=None, condition=None, batch_size=1024, seed=0):
        """Log-likelihood of each example in nats, as NumPy `(N,)`.

        Exact for vectors. For images it is the log-density of the
        dequantised pixels (one uniform draw per pixel from `seed`), whose
        expectation bounds the discrete log-likelihood; see `bits_per_dim`.

        Example:
        ```python
        nll = -flow.log_prob(x_test).mean()
        ```
        """
        owner = f"{type(self).__name__}.log_prob"
        validation.check_batch(owner, "x", x, self.data_shape, self.data_range)
        batch_size = validation.check_positive_int(owner, "batch_size", batch_size)
        condition = self._conditions("log_prob", labels, condition, len(x))
        generator = keras.random.SeedGenerator(validation.check_seed(owner, seed))

        def log_prob(generator, xb, cb):
            xb = ops.cast(xb, "float32")
            return self.dequantized_log_density(xb, self.context_tensor(cb), generator)

        return self.map_compiled("log_prob", log_prob, batch_size, np.asarray(x, "float32"), condition,
                                 seed_generator=generator)  # fmt: skip

    def bits_per_dim(self, x, labels=None, condition=None, batch_size=1024, seed=0):
        """Bits per dimension of 8-bit images: `(-log p(y) + D log 256) / (D log 2)` per example, NumPy `(N,)`."""
        owner = f"{type(self).__name__}.bits_per_dim"
        if not self.is_image:
            raise ValueError(
                f"{owner}: bits/dim needs an image flow with dequantised 8-bit pixels, got input_shape "
                f"{self.data_shape}; use -log_prob(x) (nats) for continuous data"
            )
        nats = -self.log_prob(x, labels=labels, condition=condition, batch_size=batch_size, seed=seed)
        return nats_to_bits(nats, math.prod(self.data_shape), num_bins=self.config.pixel_levels, data_scale="unit")

    def sample_and_log_prob(self, num_samples, seed=None, **conditions):
        """`(samples, log_prob)` of `num_samples` draws in one pass, as NumPy.

        The samples are continuous (for images: the dequantised values in
        [0, 1) before rounding to pixel levels) and `log_prob` is their
        density, equal to `log_prob` of the same vectors.

        Example:
        ```python
        x, log_p = flow.sample_and_log_prob(1000, seed=0)
        ```
        """
        owner = f"{type(self).__name__}.sample_and_log_prob"
        num_samples = validation.check_positive_int(owner, "num_samples", num_samples)
        seed = validation.check_seed(owner, seed)
        checked = self.check_conditions(owner, conditions, num_samples)
        generator = self.seed_generator if seed is None else keras.random.SeedGenerator(seed)
        names = sorted(checked)

        def draw(generator, *values):
            context = self.context_tensor(values[0]) if values else None
            return self.sample_continuous(num_samples, generator, context)

        run = self.compiled_function(("sample_and_log_prob", num_samples, tuple(names)), draw)
        samples, log_p = run(generator, *[checked[name] for name in names])
        return ops.convert_to_numpy(samples), ops.convert_to_numpy(log_p)
