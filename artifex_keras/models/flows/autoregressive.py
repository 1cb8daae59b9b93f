"""Shared settings of the autoregressive flows (MAF, IAF, autoregressive NSF)."""

import dataclasses

from artifex_keras.models.flows.flow import FlowConfig

ORDERINGS = ("alternate", "natural", "reversed", "random")


@dataclasses.dataclass(frozen=True)
class AutoregressiveFlowConfig(FlowConfig):
    """Fields of the masked-autoregressive flows (see `FlowConfig` for the shared ones).

    Args:
        num_transforms: autoregressive layers.
        hidden_units: units of each MADE's hidden layers.
        ordering: ``"alternate"`` (natural, reversed, natural, ...),
            ``"natural"``, ``"reversed"`` or ``"random"`` (a different seeded
            random order per layer).
    """

    num_transforms: int = 4
    hidden_units: tuple = (64, 64)
    ordering: str = "alternate"

    def validate(self):
        super().validate()
        self.check_positive_int("num_transforms")
        self.check_int_tuple("hidden_units")
        self.check_choice("ordering", ORDERINGS)
        if len(self.input_shape) != 1:
            self._fail("input_shape", "a vector shape (D,) (flatten images first)", self.input_shape)


def layer_ordering(ordering, index):
    """The `MaskedAutoregressive` ordering of layer `index` under a flow-level `ordering`."""
    if ordering == "alternate":
        return "natural" if index % 2 == 0 else "reversed"
    return ordering
