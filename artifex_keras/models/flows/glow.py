"""Glow: multi-scale flow of ActNorm, invertible 1x1 convolutions and affine couplings."""

import dataclasses

from artifex_keras.bijectors import ActNorm
from artifex_keras.bijectors import Chain
from artifex_keras.bijectors import Coupling
from artifex_keras.bijectors import Invertible1x1Conv
from artifex_keras.bijectors import Split
from artifex_keras.bijectors import Squeeze
from artifex_keras.models.flows.flow import Flow
from artifex_keras.models.flows.flow import FlowConfig
from artifex_keras.models.registration import register_model


@dataclasses.dataclass(frozen=True)
class GlowConfig(FlowConfig):
    """Configuration of a `Glow` (see `FlowConfig` for the shared fields).

    Args:
        num_scales: levels `L`; each starts with a squeeze, and all but the
            last end by factoring out half the channels.
        num_steps: flow steps `K` per level (ActNorm, 1x1 convolution, coupling).
        hidden_units: filters of each coupling's CNN.
    """

    input_shape: tuple = (8, 8, 1)
    num_scales: int = 2
    num_steps: int = 4
    hidden_units: tuple = (64, 64)

    def validate(self):
        super().validate()
        self.check_positive_int("num_scales")
        self.check_positive_int("num_steps")
        self.check_int_tuple("hidden_units")
        if len(self.input_shape) != 3:
            self._fail("input_shape", "an image shape (height, width, channels)", self.input_shape)
        factor = 2**self.num_scales
        if self.input_shape[0] % factor or self.input_shape[1] % factor:
            self._fail("input_shape", f"height and width divisible by 2^num_scales = {factor}", self.input_shape)


@register_model("glow")
class Glow(Flow):
    """Glow: per level, a squeeze and `K` steps of ActNorm, invertible 1x1 convolution and affine coupling.

    ActNorm layers initialise themselves from the first training data
    (zero mean, unit variance per channel). Factored-out channels get the
    standard normal base.

    Args:
        config: a `GlowConfig`, or its fields as keyword arguments.

    Example:
    ```python
    x = artifex_keras.data.load("digits", with_labels=False)
    flow = Glow(input_shape=(8, 8, 1), num_scales=2, num_steps=4, hidden_units=(64,))
    flow.fit(x, epochs=10, batch_size=64)
    flow.bits_per_dim(x[:100]).mean()
    ```

    Reference:
        Kingma & Dhariwal, "Glow: Generative Flow with Invertible 1x1 Convolutions", NeurIPS 2018.
    """

    config_class = GlowConfig

    def build_bijector(self, event_shape, context_dim):
        return self._level(0, context_dim)

    def _level(self, index, context_dim):
        config = self.config
        parts = [Squeeze()]
        for step in range(config.num_steps):
            parts += [
                ActNorm(),
                Invertible1x1Conv(seed=(config.seed or 0) + 1000 * index + step),
                Coupling("channel", parity=step % 2 == 1, hidden_units=config.hidden_units, context_dim=context_dim),
            ]
        if index < config.num_scales - 1:
            parts.append(Split(self._level(index + 1, context_dim)))
        return Chain(parts)
