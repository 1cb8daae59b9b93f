"""IAF: inverse autoregressive flow, fast sampling and sequential (exact) density."""

import dataclasses

from artifex_keras.bijectors import Chain
from artifex_keras.bijectors import Invert
from artifex_keras.models.flows.autoregressive import AutoregressiveFlowConfig
from artifex_keras.models.flows.flow import Flow
from artifex_keras.models.flows.maf import autoregressive_layers
from artifex_keras.models.registration import register_model


@dataclasses.dataclass(frozen=True)
class IAFConfig(AutoregressiveFlowConfig):
    """Configuration of an `IAF` (see `AutoregressiveFlowConfig`)."""


@register_model("iaf")
class IAF(Flow):
    """Inverse autoregressive flow: each layer is an inverted masked autoregressive transform.

    Sampling is one MADE pass per layer; `log_prob` (and so training by
    maximum likelihood) inverts each layer exactly in `D` passes.

    Args:
        config: an `IAFConfig`, or its fields as keyword arguments.

    Example:
    ```python
    flow = IAF(input_shape=(2,), num_transforms=4, hidden_units=(32, 32))
    x, log_p = flow.sample_and_log_prob(1000, seed=0)   # one pass per layer
    ```

    Reference:
        Kingma et al., "Improved Variational Inference with Inverse Autoregressive Flow", NeurIPS 2016.
    """

    config_class = IAFConfig

    def build_bijector(self, event_shape, context_dim):
        return Chain([Invert(layer) for layer in autoregressive_layers(self.config, context_dim)])
