"""Phases: how a family declares its update, independent of the backend."""

import dataclasses
from collections.abc import Callable
from collections.abc import Sequence


@dataclasses.dataclass(frozen=True)
class Phase:
    """One gradient update within a training step.

    Args:
        name: label of the phase (for example "discriminator").
        loss_fn: `loss_fn(data, training)` returning `(loss, logs)`: a scalar
            tensor and a dict of scalar tensors to report.
        variables: the trainable variables this phase updates.
        optimizer: the optimizer that applies this phase's gradients.

    Example:
    ```python
    Phase("model", self.compute_phase_loss, self.trainable_variables, self.optimizer)
    ```
    """

    name: str
    loss_fn: Callable
    variables: Sequence
    optimizer: object
