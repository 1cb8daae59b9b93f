"""Optimizers for models with several training phases."""

import collections

import keras


def phase_optimizer(assignments):
    """One `keras.optimizers.MultiOptimizer` from `[(variables, optimizer), ...]`.

    Every variable is mapped by its exact `variable.path`, so none silently
    falls back to the default optimizer. Use it as `self.optimizer` of a model
    whose phases each update their own variables with their own optimizer.

    Example:
    ```python
    optimizer = phase_optimizer([
        (model.critic.trainable_variables, keras.optimizers.Adam(1e-4)),
        (model.generator.trainable_variables, keras.optimizers.Adam(1e-4)),
    ])
    ```
    """
    if not assignments:
        raise ValueError("phase_optimizer: `assignments` must hold at least one (variables, optimizer) pair, got none")
    paths = collections.Counter(v.path for variables, _ in assignments for v in variables)
    duplicated = [path for path, count in paths.items() if count > 1]
    if duplicated:
        raise ValueError(
            f"phase_optimizer: each variable must belong to one phase, got {duplicated[0]!r} more than once"
        )
    mapping = keras.optimizers.OptimizerMap(default_optimizer=assignments[0][1])
    for variables, optimizer in assignments:
        for variable in variables:
            mapping[variable.path] = optimizer
    return keras.optimizers.MultiOptimizer(mapping)
