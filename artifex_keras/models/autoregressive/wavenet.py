"""WaveNet: an autoregressive model of mu-law audio with dilated causal convolutions and fast generation."""

import dataclasses

import keras
import numpy as np
from keras import ops

from artifex_keras import validation
from artifex_keras.conditioning import ClassLabels
from artifex_keras.config import Config
from artifex_keras.models.autoregressive.mu_law import mu_law_decode
from artifex_keras.models.autoregressive.mu_law import mu_law_encode
from artifex_keras.models.base import GenerativeModel
from artifex_keras.models.registration import register_model
from artifex_keras.samplers import RandomSampler
from artifex_keras.samplers import TokenSampler
from artifex_keras.samplers import draw_with_state
from artifex_keras.samplers import loop_seed_state


@dataclasses.dataclass(frozen=True)
class WaveNetConfig(Config):
    """Configuration of a `WaveNet`.

    Args:
        input_shape: `(samples,)`: the length of the training windows and of `generate`'s output.
        residual_channels: channels of the residual stream.
        skip_channels: channels of the skip connections and the output head.
        dilations: dilation of each residual layer, in order (repeat a
            doubling run for several stacks: `(1, 2, ..., 512) * 2`).
        kernel_size: taps of every causal convolution.
        quantization_channels: mu-law codes (classes of the output softmax).
        num_classes: classes of the global conditioning (a speaker, say);
            0 for an unconditional model.
        seed: seed of the model's random draws.
    """

    input_shape: tuple = (4096,)
    residual_channels: int = 32
    skip_channels: int = 64
    dilations: tuple = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
    kernel_size: int = 2
    quantization_channels: int = 256
    num_classes: int = 0
    seed: int | None = None

    def validate(self):
        self.check_int_tuple("input_shape", length=1)
        self.check_positive_int("residual_channels")
        self.check_positive_int("skip_channels")
        self.check_int_tuple("dilations")
        self.check_positive_int("kernel_size")
        self.check_positive_int("quantization_channels")
        if self.quantization_channels < 2:
            self._fail("quantization_channels", "an int of at least 2", self.quantization_channels)
        self.check_non_negative_int("num_classes")
        if self.seed is not None:
            self.check_non_negative_int("seed")


@register_model("wavenet")
class WaveNet(GenerativeModel):
    """WaveNet: `p(x) = prod_t p(x_t | x_<t)` over mu-law codes, with gated dilated causal convolutions.

    Each residual layer computes `tanh(W_f * h) * sigmoid(W_g * h)` with a
    dilated causal convolution (plus a projection of the class for a
    conditional model), adds a 1x1 projection back to its input and sends
    another to the skip sum, which a two-layer head turns into logits over
    the codes. `log_prob` is exact (nats per window). `generate` runs the
    fast algorithm by default: each layer keeps the few past activations its
    dilation needs, so a new sample costs one step per layer instead of a
    pass over the whole sequence; `use_cache=False` runs the full network at
    every step and draws the same samples.

    Args:
        config: a `WaveNetConfig`, or pass its fields as keyword arguments.

    Example:
    ```python
    x, _ = artifex_keras.data.load("speech")                 # (93, 4096) windows at 16 kHz
    model = WaveNet(input_shape=(4096,))
    model.compile()
    model.fit(x, epochs=10, batch_size=8)
    audio = model.generate(2, seed=0)                       # (2, 4096) float32 in [-1, 1]
    nats_per_sample = -model.log_prob(x[:4]) / 4096
    ```

    Reference:
        van den Oord et al., "WaveNet: A Generative Model for Raw Audio", 2016;
        Paine et al., "Fast Wavenet Generation Algorithm", 2016.
    """

    config_class = WaveNetConfig
    family = "autoregressive"
    accepted_samplers = (TokenSampler,)
    generate_options = {"use_cache": True}

    def build_networks(self):
        config = self.config
        residual, skip, size = config.residual_channels, config.skip_channels, config.kernel_size
        self.input_conv = keras.layers.Conv1D(residual, size, padding="causal", name="input_conv")
        self.gate_convs, self.residual_convs, self.skip_convs, self.label_projections = [], [], [], []
        for index, dilation in enumerate(config.dilations):
            self.gate_convs.append(
                keras.layers.Conv1D(2 * residual, size, dilation_rate=dilation, padding="causal", name=f"gate_{index}")
            )
            self.residual_convs.append(keras.layers.Conv1D(residual, 1, name=f"residual_{index}"))
            self.skip_convs.append(keras.layers.Conv1D(skip, 1, name=f"skip_{index}"))
            if config.num_classes:
                self.label_projections.append(keras.layers.Dense(2 * residual, use_bias=False, name=f"label_{index}"))
        self.head_hidden = keras.layers.Conv1D(skip, 1, name="head_hidden")
        self.head_output = keras.layers.Conv1D(config.quantization_channels, 1, name="head_output")
        length = config.input_shape[0]
        self.logits(ops.zeros((1, length), "int32"), ops.zeros((1,), "int32") if config.num_classes else None)

    # Specs --------------------------------------------------------------------
    @property
    def data_range(self):
        return (-1.0, 1.0)

    @property
    def receptive_field(self):
        """Samples each prediction sees: `(kernel_size - 1) * (1 + sum(dilations)) + 1`."""
        return (self.config.kernel_size - 1) * (1 + sum(self.config.dilations)) + 1

    def condition_spec(self):
        return ClassLabels(self.config.num_classes) if self.config.num_classes else None

    def default_sampler(self):
        return RandomSampler()

    def check_sampler(self, owner, sampler):
        sampler.check_categories(owner, self.config.quantization_channels)

    def check_generate_options(self, owner, options):
        if not isinstance(options["use_cache"], bool):
            raise ValueError(f"{owner}: `use_cache` must be a bool, got {options['use_cache']!r}")
        return options

    @property
    def start_code(self):
        """The code before the first sample: silence."""
        return self.config.quantization_channels // 2

    # The full network ----------------------------------------------------------
    def _label_vectors(self, labels):
        if not self.config.num_classes:
            return [None] * len(self.config.dilations)
        one_hot = ops.one_hot(ops.cast(labels, "int32"), self.config.num_classes)
        return [projection(one_hot) for projection in self.label_projections]

    def _gate(self, pre_activation, label_vector):
        if label_vector is not None:
            # One class vector per example: broadcast over time in the full network.
            per_step = label_vector[:, None, :] if len(pre_activation.shape) == 3 else label_vector
            pre_activation = pre_activation + per_step
        filters, gates = ops.split(pre_activation, 2, axis=-1)
        return ops.tanh(filters) * ops.sigmoid(gates)

    def _head(self, skips):
        return self.head_output(ops.relu(self.head_hidden(ops.relu(skips))))

    def logits(self, inputs, labels=None):
        """Logits `(batch, T, quantization_channels)` of each next code, given the codes before it `(batch, T)`."""
        hidden = self.input_conv(ops.one_hot(ops.cast(inputs, "int32"), self.config.quantization_channels))
        skips = 0.0
        for gate, residual, skip, label_vector in zip(
            self.gate_convs, self.residual_convs, self.skip_convs, self._label_vectors(labels)
        ):
            activation = self._gate(gate(hidden), label_vector)
            hidden = hidden + residual(activation)
            skips = skips + skip(activation)
        return self._head(skips)

    def shifted_codes(self, x):
        """`(inputs, targets)`: the mu-law codes of `x` and the same shifted right by one behind the start code."""
        codes = mu_law_encode(x, self.config.quantization_channels)
        start = ops.full((ops.shape(codes)[0], 1), self.start_code, "int32")
        return ops.concatenate([start, codes[:, :-1]], axis=1), codes

    def log_prob_tensor(self, x, labels=None):
        """Exact `log p(codes of x)` in nats per example (backend tensor)."""
        inputs, targets = self.shifted_codes(x)
        log_probs = ops.log_softmax(self.logits(inputs, labels), axis=-1)
        picked = ops.take_along_axis(log_probs, ops.expand_dims(targets, -1), axis=-1)
        return ops.sum(ops.squeeze(picked, -1), axis=-1)

    def log_prob(self, x, labels=None, batch_size=64):
        """Exact log-likelihood of the mu-law codes of waveforms `x` `(n, T)`, nats per window.

        Example:
        ```python
        nats_per_sample = -model.log_prob(x_test).mean() / x_test.shape[1]
        ```
        """
        owner = f"{type(self).__name__}.log_prob"
        validation.check_batch(owner, "x", x, self.data_shape, value_range=self.data_range)
        x = np.asarray(x, np.float32)
        labels = self._checked_labels(owner, labels, len(x))
        return self.map_compiled(
            "log_prob", lambda _, xb, lb: self.log_prob_tensor(xb, lb), batch_size, x, labels
        )

    def _checked_labels(self, owner, labels, count):
        spec = self.condition_spec()
        if spec is None:
            if labels is not None:
                raise ValueError(f"{owner}: unexpected argument `labels`; {type(self).__name__} is unconditional")
            return None
        return np.asarray(spec.check(owner, labels, count), np.int32)

    def compute_generative_loss(self, data, training=True):
        x, labels = (data[0], data[1]) if isinstance(data, (tuple, list)) else (data, None)
        inputs, targets = self.shifted_codes(x)
        losses = keras.losses.sparse_categorical_crossentropy(targets, self.logits(inputs, labels), from_logits=True)
        loss = ops.mean(losses)
        return loss, {"loss": loss}

    def call(self, inputs, training=False):
        return self.logits(self.shifted_codes(inputs)[0])

    # Generation -----------------------------------------------------------------
    def empty_queues(self, batch_size):
        """Zeroed per-layer queues of past inputs for `fast_logits`: the state of an empty history."""
        size = self.config.kernel_size
        queues = [ops.zeros((batch_size, size, self.config.quantization_channels))]
        for dilation in self.config.dilations:
            queues.append(ops.zeros((batch_size, (size - 1) * dilation + 1, self.config.residual_channels)))
        return queues

    def _causal_step(self, conv, queue, dilation):
        """One output of a causal convolution from its queue of inputs (newest last)."""
        kernel = conv.kernel
        size = self.config.kernel_size
        last = queue.shape[1] - 1
        total = conv.bias
        for tap in range(size):
            total = total + ops.matmul(queue[:, last - (size - 1 - tap) * dilation, :], kernel[tap])
        return total

    @staticmethod
    def _push(queue, value):
        return ops.concatenate([queue[:, 1:], value[:, None, :]], axis=1)

    @staticmethod
    def _pointwise(conv, value):
        return ops.matmul(value, conv.kernel[0]) + conv.bias

    def fast_logits(self, previous, queues, label_vectors):
        """Logits `(batch, quantization_channels)` of the next code after `previous` `(batch,)`, and the new queues.

        Equal to one time step of `logits` given the same history, at the
        cost of one step per layer.
        """
        queues = list(queues)
        queues[0] = self._push(queues[0], ops.one_hot(previous, self.config.quantization_channels))
        hidden = self._causal_step(self.input_conv, queues[0], 1)
        skips = 0.0
        for index, dilation in enumerate(self.config.dilations):
            queues[index + 1] = self._push(queues[index + 1], hidden)
            pre_activation = self._causal_step(self.gate_convs[index], queues[index + 1], dilation)
            activation = self._gate(pre_activation, label_vectors[index])
            hidden = hidden + self._pointwise(self.residual_convs[index], activation)
            skips = skips + self._pointwise(self.skip_convs[index], activation)
        logits = self._pointwise(self.head_output, ops.relu(self._pointwise(self.head_hidden, ops.relu(skips))))
        return logits, queues

    def sample_codes(self, num_samples, seed_generator, sampler=None, use_cache=True, labels=None):
        """Codes `(num_samples, T)` drawn one sample at a time (backend tensor)."""
        sampler = sampler or self.default_sampler()
        length = self.config.input_shape[0]
        positions = ops.arange(length, dtype="int32")[None, :]
        codes = ops.zeros((num_samples, length), "int32")
        start = ops.full((num_samples,), self.start_code, "int32")
        label_vectors = self._label_vectors(labels)

        def draw(logits, state):
            return draw_with_state(seed_generator, state, lambda: sampler.next_token(logits, seed_generator))

        if use_cache:

            def step(index, carry):
                codes, previous, queues, state = carry
                logits, queues = self.fast_logits(previous, queues, label_vectors)
                token, state = draw(logits, state)
                return ops.where(positions == index, token[:, None], codes), token, queues, state

            carry = (codes, start, self.empty_queues(num_samples), loop_seed_state(seed_generator))
            return ops.fori_loop(0, length, step, carry)[0]

        def full_step(index, carry):
            codes, state = carry
            inputs = ops.concatenate([start[:, None], codes[:, :-1]], axis=1)
            at_index = ops.cast(positions == index, "float32")[:, :, None]
            logits = ops.sum(self.logits(inputs, labels) * at_index, axis=1)
            token, state = draw(logits, state)
            return ops.where(positions == index, token[:, None], codes), state

        return ops.fori_loop(0, length, full_step, (codes, loop_seed_state(seed_generator)))[0]

    def sample(self, num_samples, seed_generator, sampler=None, use_cache=True, labels=None):
        codes = self.sample_codes(num_samples, seed_generator, sampler, use_cache, labels)
        return mu_law_decode(codes, self.config.quantization_channels)
