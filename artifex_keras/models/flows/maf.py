"""MAF: masked autoregressive flow with affine transformers."""

import dataclasses

from artifex_keras.bijectors import Chain
from artifex_keras.bijectors import MaskedAutoregressive
from artifex_keras.models.flows.autoregressive import AutoregressiveFlowConfig
from artifex_keras.models.flows.autoregressive import layer_ordering
from artifex_keras.models.flows.flow import Flow
from artifex_keras.models.registration import register_model


@dataclasses.dataclass(frozen=True)
class MAFConfig(AutoregressiveFlowConfig):
    """Configuration of a `MAF` (see `AutoregressiveFlowConfig`)."""


def autoregressive_layers(config, context_dim, transformer="affine", num_bins=8, bound=5.0):
    """One `MaskedAutoregressive` per transform, with the flow's orderings and seeds."""
    return [
        MaskedAutoregressive(
            config.hidden_units, ordering=layer_ordering(config.ordering, index), transformer=transformer,
            num_bins=num_bins, bound=bound, seed=(config.seed or 0) + index, context_dim=context_dim,
        )  # fmt: skip
        for index in range(config.num_transforms)
    ]


@register_model("maf")
class MAF(Flow):
    """Masked autoregressive flow: the density is one MADE pass per layer, sampling `D` passes (exact).

    Args:
        config: a `MAFConfig`, or its fields as keyword arguments.

    Example:
    ```python
    flow = MAF(input_shape=(2,), num_transforms=5, hidden_units=(64, 64))
    flow.fit(artifex_keras.data.checkerboard(20000), epochs=5, batch_size=256)
    ```

    Reference:
        Papamakarios, Pavlakou & Murray, "Masked Autoregressive Flow for Density Estimation", NeurIPS 2017.
    """

    config_class = MAFConfig

    def build_bijector(self, event_shape, context_dim):
        return Chain(autoregressive_layers(self.config, context_dim))
