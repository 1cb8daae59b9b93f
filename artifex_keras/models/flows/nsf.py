"""Neural spline flow: rational-quadratic spline transformers, coupling or autoregressive."""

import dataclasses

from artifex_keras.bijectors import Chain
from artifex_keras.bijectors import Coupling
from artifex_keras.models.flows.autoregressive import ORDERINGS
from artifex_keras.models.flows.flow import Flow
from artifex_keras.models.flows.flow import FlowConfig
from artifex_keras.models.flows.maf import autoregressive_layers
from artifex_keras.models.registration import register_model


@dataclasses.dataclass(frozen=True)
class NeuralSplineFlowConfig(FlowConfig):
    """Configuration of a `NeuralSplineFlow` (see `FlowConfig` for the shared fields).

    Args:
        variant: ``"autoregressive"`` (MADE conditioners) or ``"coupling"``.
        num_transforms: spline layers.
        hidden_units: units of each conditioner's hidden layers.
        num_bins: spline bins.
        bound: the splines act on `[-bound, bound]`, identity outside.
        ordering: orderings of the autoregressive variant (see `AutoregressiveFlowConfig`).
    """

    variant: str = "autoregressive"
    num_transforms: int = 4
    hidden_units: tuple = (64, 64)
    num_bins: int = 8
    bound: float = 5.0
    ordering: str = "alternate"

    def validate(self):
        super().validate()
        self.check_choice("variant", ("autoregressive", "coupling"))
        self.check_positive_int("num_transforms")
        self.check_int_tuple("hidden_units")
        self.check_positive_int("num_bins")
        if self.num_bins < 2:
            self._fail("num_bins", "at least 2", self.num_bins)
        self.check_number("bound", low=0.0, low_inclusive=False)
        self.check_choice("ordering", ORDERINGS)
        if len(self.input_shape) != 1:
            self._fail("input_shape", "a vector shape (D,) (flatten images first)", self.input_shape)


@register_model("neural_spline_flow")
class NeuralSplineFlow(Flow):
    """Neural spline flow: monotonic rational-quadratic splines whose knots a network predicts.

    Args:
        config: a `NeuralSplineFlowConfig`, or its fields as keyword arguments.

    Example:
    ```python
    flow = NeuralSplineFlow(input_shape=(2,), num_transforms=4, hidden_units=(64, 64))
    flow.fit(artifex_keras.data.eight_gaussians(51200), epochs=50, batch_size=512)
    ```

    Reference:
        Durkan, Bekasov, Murray & Papamakarios, "Neural Spline Flows", NeurIPS 2019.
    """

    config_class = NeuralSplineFlowConfig

    def build_bijector(self, event_shape, context_dim):
        config = self.config
        if config.variant == "autoregressive":
            return Chain(autoregressive_layers(config, context_dim, "spline", config.num_bins, config.bound))
        return Chain([
            Coupling("half", parity=index % 2 == 1, hidden_units=config.hidden_units, transformer="spline",
                     num_bins=config.num_bins, bound=config.bound, context_dim=context_dim)
            for index in range(config.num_transforms)
        ])  # fmt: skip
