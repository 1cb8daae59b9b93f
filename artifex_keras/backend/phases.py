"""Phases: how a family declares its update, independent of the backend."""

import dataclasses
from collections.abc import Callable
from collections.abc import Sequence


@dataclasses.dataclass(frozen=True)
class Phase:
    """One gradient update within a training step.

    A family declares its phases without optimizers (`training_phases()`);
    the model binds each to the optimizer compiled for its name.

    Args:
        name: label of the phase (for example "discriminator"); the key of
            its optimizer in `compile(optimizer={...})` and `default_optimizers()`.
        loss_fn: `loss_fn(data, training)` returning `(loss, logs)`: a scalar
            tensor and a dict of scalar tensors to report.
        variables: the trainable variables this phase updates.
        optimizer: the optimizer that applies this phase's gradients (set by
            the model when it binds the phase).

    Example:
    ```python
    Phase("discriminator", self.discriminator_loss, self.discriminator.trainable_variables)
    ```
    """

    name: str
    loss_fn: Callable
    variables: Sequence
    optimizer: object = None
