"""The phase loop shared by every backend.

A backend supplies `gradients(phase, data) -> (loss, logs, grads)` and
`apply(optimizer, grads, variables)`; the order of phases, the step counter and
the metric bookkeeping live here, so the three backends share their semantics.
"""

from keras import ops


def apply_updates(optimizer, grads, variables):
    """Stateful optimizer update (TensorFlow and PyTorch)."""
    optimizer.apply(grads, list(variables))


def run_training_phases(model, data, gradients, apply=apply_updates):
    """Run each phase in order; each sees the updates of the phases before it."""
    model.check_batch_spec(data, "fit")
    phases = model.training_phases()
    logs = {}
    for phase in phases:
        _, phase_logs, grads = gradients(phase, data)
        grads = [ops.zeros_like(v) if g is None else g for g, v in zip(grads, phase.variables)]
        apply(phase.optimizer, grads, phase.variables)
        logs.update(phase_logs)
    if all(phase.optimizer is not model.optimizer for phase in phases):
        # Sub-optimizers of a MultiOptimizer count their own steps; keep the
        # model-level counter (used by schedules and callbacks) in step too.
        model.optimizer.iterations.assign_add(1)
    return model.record_logs(logs)


def run_evaluation_phases(model, data):
    """Evaluate every phase's loss without updating weights."""
    model.check_batch_spec(data, "evaluate")
    logs = {}
    for phase in model.training_phases():
        _, phase_logs = phase.loss_fn(data, training=False)
        logs.update(phase_logs)
    return model.record_logs(logs)
