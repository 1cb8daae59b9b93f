"""Gated PixelCNN: an exact-likelihood autoregressive model of 8-bit images, optionally class-conditional."""

import dataclasses
import math

import keras
import numpy as np
from keras import ops

from artifex_keras import validation
from artifex_keras.conditioning import ClassLabels
from artifex_keras.config import Config
from artifex_keras.layers import GatedPixelCNN
from artifex_keras.models.base import GenerativeModel
from artifex_keras.models.registration import register_model
from artifex_keras.samplers import RandomSampler
from artifex_keras.samplers import TokenSampler
from artifex_keras.samplers import draw_with_state
from artifex_keras.samplers import loop_seed_state

LEVELS = 256


@dataclasses.dataclass(frozen=True)
class PixelCNNConfig(Config):
    """Configuration of a `PixelCNN`.

    Args:
        input_shape: `(height, width, 1)`: one channel of 8-bit intensities.
        filters: channels of both stacks.
        num_layers: gated layers (the first one hides the current pixel).
        kernel_size: odd width of every layer's receptive field (>= 3).
        num_classes: None for an unconditional model, else the number of
            class labels it conditions on (`generate(n, labels=...)`).
        seed: seed of the model's random draws.
    """

    input_shape: tuple = (28, 28, 1)
    filters: int = 64
    num_layers: int = 6
    kernel_size: int = 5
    num_classes: int | None = None
    seed: int | None = None

    def validate(self):
        self.check_int_tuple("input_shape", length=3)
        if self.input_shape[-1] != 1:
            self._fail("input_shape", "(height, width, 1): one channel of 8-bit intensities", self.input_shape)
        self.check_positive_int("filters")
        self.check_positive_int("num_layers")
        self.check_positive_int("kernel_size")
        if self.kernel_size < 3 or self.kernel_size % 2 == 0:
            self._fail("kernel_size", "an odd int of at least 3", self.kernel_size)
        self.check_positive_int("num_classes", allow_none=True)
        if self.seed is not None:
            self.check_non_negative_int("seed")


@register_model("pixelcnn")
class PixelCNN(GenerativeModel):
    """Gated PixelCNN over 8-bit intensities: `p(x) = prod_i p(x_i | x_<i)`, each a 256-way softmax.

    Images in [0, 1] are read as levels `round(255 x)`; the model predicts
    each pixel's level from the pixels before it in raster order through
    gated vertical and horizontal stacks (no blind spot), optionally
    conditioned on a class label. The log-likelihood is exact:
    `log_prob(x)` in nats of the discrete levels, `bits_per_dim(x)` its
    negative in bits per pixel. Sampling draws the pixels one by one in one
    compiled loop with any `TokenSampler`.

    Args:
        config: a `PixelCNNConfig`, or pass its fields as keyword arguments.

    Example:
    ```python
    x, y = artifex_keras.data.load("digits")
    model = PixelCNN(input_shape=(8, 8, 1), filters=16, num_layers=3, kernel_size=3, num_classes=10)
    model.fit(x, y, epochs=1, batch_size=64)
    model.bits_per_dim(x[:100], labels=y[:100]).mean()
    samples = model.generate(10, labels=np.arange(10), seed=0)   # (10, 8, 8, 1) in [0, 1]
    ```

    Reference:
        van den Oord et al., "Conditional Image Generation with PixelCNN
        Decoders", NeurIPS 2016.
    """

    config_class = PixelCNNConfig
    family = "autoregressive"
    metric_names = ("loss", "bits_per_dim")
    accepted_samplers = (TokenSampler,)

    def build_networks(self):
        config = self.config
        self.network = GatedPixelCNN(
            LEVELS, config.filters, config.num_layers, config.kernel_size, config.num_classes, name="network"
        )
        self.network.build((None, *config.input_shape))

    @property
    def data_range(self):
        return (0.0, 1.0)

    @property
    def num_pixels(self):
        height, width, channels = self.config.input_shape
        return height * width * channels

    def condition_spec(self):
        return None if self.config.num_classes is None else ClassLabels(self.config.num_classes)

    # Network (backend tensors) --------------------------------------------------
    def levels(self, x):
        """Intensity levels `round(255 x)` as int32."""
        return ops.cast(ops.round(ops.clip(ops.cast(x, "float32"), 0.0, 1.0) * (LEVELS - 1)), "int32")

    def logits(self, x, labels=None):
        """Logits `(batch, height, width, 256)` of each pixel's level given the pixels before it."""
        inputs = ops.cast(self.levels(x), "float32") / (LEVELS - 1) * 2.0 - 1.0
        condition = None
        if self.config.num_classes is not None:
            condition = ops.one_hot(ops.reshape(ops.cast(labels, "int32"), (-1,)), self.config.num_classes)
        return ops.cast(self.network(inputs, condition), "float32")

    def pixel_log_probs(self, x, labels=None):
        """`log p(x_i | x_<i)` per pixel, `(batch, height, width)`."""
        log_probs = ops.log_softmax(self.logits(x, labels), axis=-1)
        return ops.take_along_axis(log_probs, self.levels(x)[..., :1], axis=-1)[..., 0]

    def call(self, inputs, training=False):
        x, labels = (inputs, None) if self.config.num_classes is None else inputs
        return self.logits(x, labels)

    def compute_generative_loss(self, data, training=True):
        x, y, _ = keras.utils.unpack_x_y_sample_weight(data)
        nll = -ops.mean(ops.sum(self.pixel_log_probs(x, y), axis=(1, 2)))
        return nll, {"loss": nll, "bits_per_dim": nll / (self.num_pixels * math.log(2.0))}

    # Sampling ---------------------------------------------------------------------
    def default_sampler(self):
        return RandomSampler()

    def check_sampler(self, owner, sampler):
        sampler.check_categories(owner, LEVELS)

    def sample(self, num_samples, seed_generator, sampler=None, labels=None):
        sampler = sampler or self.default_sampler()
        height, width, _ = self.config.input_shape
        order = ops.reshape(ops.arange(height * width, dtype="int32"), (1, height, width, 1))

        def step(position, carry):
            images, state = carry
            # Causal stacks: the logits at `position` depend only on the pixels drawn before it.
            logits = ops.reshape(self.logits(images, labels), (num_samples, height * width, LEVELS))
            logits = ops.take(logits, position, axis=1)
            levels, state = draw_with_state(seed_generator, state, lambda: sampler.next_token(logits, seed_generator))
            drawn = ops.cast(levels, "float32")[:, None, None, None] / (LEVELS - 1)
            return ops.where(order == position, drawn, images), state

        start = (ops.zeros((num_samples, height, width, 1), dtype="float32"), loop_seed_state(seed_generator))
        images, _ = ops.fori_loop(0, height * width, step, start)
        return images

    # Likelihoods (NumPy) ----------------------------------------------------------
    def log_prob(self, x, labels=None, batch_size=256):
        """Exact `log p(x)` in nats of the 8-bit levels `round(255 x)`, per image (float32 NumPy)."""
        owner = f"{type(self).__name__}.log_prob"
        validation.check_batch(owner, "x", x, self.data_shape, self.data_range)
        conditions = self.check_conditions(owner, {"labels": labels}, len(x))
        label_array = conditions.get("labels")

        def log_prob(generator, xb, yb):
            return ops.sum(self.pixel_log_probs(xb, yb), axis=(1, 2))

        return self.map_compiled("log_prob", log_prob, batch_size, np.asarray(x), label_array)

    def bits_per_dim(self, x, labels=None, batch_size=256):
        """Negative log-likelihood in bits per pixel, per image."""
        return -self.log_prob(x, labels, batch_size) / (self.num_pixels * math.log(2.0))
