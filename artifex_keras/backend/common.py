"""What every backend shares: the phase loop and the stateless call behind compiled functions.

A backend supplies `gradients(phase, data) -> (loss, logs, grads)` and
`apply(optimizer, grads, variables)`; the order of phases, the step counter and
the metric bookkeeping live here, so the three backends share their semantics.
"""

import random
import sys

import keras
import numpy as np
from keras import ops
from keras.src.backend.common import global_state
from keras.src.random import seed_generator
from keras.src.utils import rng_utils


def apply_updates(optimizer, grads, variables):
    """Stateful optimizer update (TensorFlow and PyTorch)."""
    optimizer.apply(grads, list(variables))


def run_training_phases(model, data, gradients, apply=apply_updates):
    """Run each phase in order; each sees the updates of the phases before it."""
    model.check_batch_spec(data, "fit")
    phases = model.bound_training_phases()
    logs = {}
    for phase in phases:
        _, phase_logs, grads = gradients(phase, data)
        grads = [ops.zeros_like(v) if g is None else g for g, v in zip(grads, phase.variables)]
        apply(phase.optimizer, grads, phase.variables)
        logs.update(phase_logs)
    model.after_training_step()
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


def seed_everything(seed):
    """`keras.utils.set_random_seed`, without importing TensorFlow where nothing uses it.

    Keras seeds TensorFlow whenever it is installed, which imports it (seconds,
    and start-up lines on the terminal) even on JAX or PyTorch; here it is
    seeded only on its own backend or when something already loaded it.
    """
    if keras.backend.backend() == "tensorflow" or "tensorflow" in sys.modules:
        keras.utils.set_random_seed(seed)
        return
    global_state.set_global_attribute(rng_utils.GLOBAL_RANDOM_SEED, seed)
    global_state.set_global_attribute(seed_generator.GLOBAL_SEED_GENERATOR, None)
    random.seed(seed)
    np.random.seed(seed)
    if keras.backend.backend() == "torch":
        import torch

        torch.manual_seed(seed)


def stateless_call(fn, variables, values, seed_slot, seed_state, args):
    """Call `fn(seed_slot, *args)` with `variables` holding `values` and `seed_slot` at `seed_state`.

    Returns `(outputs, new_seed_state, assigned)`, where `assigned` maps the
    index of each variable `fn` assigned to its new value. Pure: nothing is
    written to the variables, so JAX can jit it and TensorFlow can trace it
    with the weights as inputs.
    """
    mapping = list(zip(variables, values)) + [(seed_slot.state, seed_state)]
    with keras.StatelessScope(state_mapping=mapping) as scope:
        outputs = fn(seed_slot, *args)
    assigned = {}
    for index, (variable, value) in enumerate(zip(variables, values)):
        current = scope.get_current_value(variable)
        if current is not None and current is not value:
            assigned[index] = current
    return outputs, scope.get_current_value(seed_slot.state), assigned


class CompiledFunction:
    """A function of a model's state, compiled once and called with the current weights.

    `fn(seed_generator, *args)` reads the variables it is called with and
    draws its randomness from `seed_generator`. Backends override `__call__`
    (JAX: `jax.jit`, TensorFlow: `tf.function`, PyTorch: `torch.no_grad`).
    """

    def __init__(self, fn):
        self.fn = fn
        # The function always draws from this stand-in, whose state is mapped
        # to the caller's generator: a new seed needs no new trace.
        self.seed_slot = keras.random.SeedGenerator(0)
        self.traces = 0

    def pure(self, variables, values, seed_state, args):
        self.traces += 1
        return stateless_call(self.fn, variables, values, self.seed_slot, seed_state, args)

    @staticmethod
    def write_back(variables, seed_generator, seed_state, assigned):
        seed_generator.state.assign(seed_state)
        for index, value in assigned.items():
            variables[index].assign(value)
