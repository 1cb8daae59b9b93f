"""RealNVP: affine coupling layers with checkerboard and channel masks, multi-scale for images."""

import dataclasses

from artifex_keras.bijectors import Chain
from artifex_keras.bijectors import Coupling
from artifex_keras.bijectors import Split
from artifex_keras.bijectors import Squeeze
from artifex_keras.models.flows.flow import Flow
from artifex_keras.models.flows.flow import FlowConfig
from artifex_keras.models.registration import register_model


@dataclasses.dataclass(frozen=True)
class RealNVPConfig(FlowConfig):
    """Configuration of a `RealNVP` (see `FlowConfig` for the shared fields).

    Args:
        num_transforms: coupling layers per stage (vectors: in total).
        hidden_units: units (vectors) or filters (images) of each conditioner.
        num_scales: image scales; every scale but the last ends with a
            squeeze, channel-mask couplings and a split of half the channels.
    """

    num_transforms: int = 4
    hidden_units: tuple = (64, 64)
    num_scales: int = 2

    def validate(self):
        super().validate()
        self.check_positive_int("num_transforms")
        self.check_int_tuple("hidden_units")
        self.check_positive_int("num_scales")
        if len(self.input_shape) == 3:
            factor = 2 ** (self.num_scales - 1)
            height, width, _ = self.input_shape
            if height % factor or width % factor:
                self._fail("input_shape", f"height and width divisible by 2^(num_scales - 1) = {factor}",
                           self.input_shape)  # fmt: skip


@register_model("realnvp")
class RealNVP(Flow):
    """Real-valued non-volume preserving flow: alternating affine couplings.

    Vectors get couplings on alternating halves of the features. Images get,
    per scale, checkerboard couplings, then (except at the last scale) a
    squeeze, channel couplings and a split that factors out half the
    channels, as in the paper's multi-scale architecture.

    Args:
        config: a `RealNVPConfig`, or its fields as keyword arguments.

    Example:
    ```python
    flow = RealNVP(input_shape=(2,), num_transforms=6, hidden_units=(64, 64))
    flow.fit(artifex_keras.data.eight_gaussians(10000), epochs=5, batch_size=256)
    nll = -flow.log_prob(artifex_keras.data.eight_gaussians(1000, seed=1)).mean()
    ```

    Reference:
        Dinh, Sohl-Dickstein & Bengio, "Density estimation using Real NVP", ICLR 2017.
    """

    config_class = RealNVPConfig

    def _couplings(self, mask, context_dim):
        config = self.config
        return [
            Coupling(mask, parity=index % 2 == 1, hidden_units=config.hidden_units, context_dim=context_dim)
            for index in range(config.num_transforms)
        ]

    def build_bijector(self, event_shape, context_dim):
        if len(event_shape) == 1:
            return Chain(self._couplings("half", context_dim))
        return self._scale(0, context_dim)

    def _scale(self, index, context_dim):
        parts = self._couplings("checkerboard", context_dim)
        if index == self.config.num_scales - 1:
            return Chain(parts)
        parts += [Squeeze(), *self._couplings("channel", context_dim), Split(self._scale(index + 1, context_dim))]
        return Chain(parts)
