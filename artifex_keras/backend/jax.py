"""JAX trainer: one pure, jittable step over the whole model state.

All state (weights, non-trainable state such as seed generators and batch-norm
statistics, every optimizer's variables and the metric variables) is mapped in
one outer `keras.StatelessScope`. Each phase differentiates a function that
opens an inner scope where that phase's variables are replaced by the values
being differentiated; the state updates it makes (random seeds, EMA codebooks)
are carried back to the outer scope, so the next phase sees them.
"""

import functools

import jax
import keras

from artifex_keras.backend.common import CompiledFunction
from artifex_keras.backend.common import run_evaluation_phases
from artifex_keras.backend.common import run_training_phases


def _phase_gradients(outer, phase, data):
    variables = list(phase.variables)
    ids = [id(v) for v in variables]
    id_set = set(ids)

    def scaled_loss(values):
        inner = keras.StatelessScope()
        inner.state_mapping = dict(outer.state_mapping)
        inner.state_mapping.update(zip(ids, values))
        with inner:
            loss, logs = phase.loss_fn(data, training=True)
            scaled = phase.optimizer.scale_loss(loss)
        updates = {
            key: value
            for key, value in inner.state_mapping.items()
            if key not in id_set and outer.state_mapping.get(key) is not value
        }
        return scaled, (loss, logs, updates)

    values = [outer.state_mapping[i] for i in ids]
    (_, (loss, logs, updates)), grads = jax.value_and_grad(scaled_loss, has_aux=True)(values)
    outer.state_mapping.update(updates)
    return loss, logs, grads


def _stateless_apply(outer, optimizer, grads, variables):
    """Apply one optimizer with its stateless API, reading and writing `outer`.

    `stateless_apply` (not `apply` inside the scope) keeps the loss-scale
    optimizer's conditional updates pure under `jit`.
    """
    built_on = getattr(optimizer, "inner_optimizer", optimizer)._trainable_variables
    grad_of = {id(v): g for v, g in zip(variables, grads)}
    if set(grad_of) != {id(v) for v in built_on}:
        raise ValueError(
            f"Phase optimizer {optimizer.name!r} was built on other variables than its phase updates; "
            "build each phase's optimizer on exactly that phase's variables"
        )
    state = outer.state_mapping
    new_values, new_optimizer_values = optimizer.stateless_apply(
        [state[id(v)] for v in optimizer.variables],
        [grad_of[id(v)] for v in built_on],
        [state[id(v)] for v in built_on],
    )
    state.update(zip(map(id, built_on), new_values))
    state.update(zip(map(id, optimizer.variables), new_optimizer_values))


def _collect(scope, variables, previous):
    values = []
    for variable, old in zip(variables, previous):
        new = scope.get_current_value(variable)
        values.append(old if new is None else new)
    return values


class JAXStateRecovery:
    """Keep a model usable after a training, evaluation or prediction step fails.

    Keras' JAX loops detach the weights from the variables while they run and
    reattach the latest state at the end, even on error; but when the very
    first step fails (a bad batch, caught while tracing) no state has been
    recorded yet and the variables stay empty. This records the detached
    state up front, so the model is left exactly as it was.
    """

    def _get_jax_state(
        self,
        trainable_variables=False,
        non_trainable_variables=False,
        optimizer_variables=False,
        metrics_variables=False,
        purge_model_variables=False,
    ):
        flags = {
            "trainable_variables": trainable_variables,
            "non_trainable_variables": non_trainable_variables,
            "optimizer_variables": optimizer_variables,
            "metrics_variables": metrics_variables,
        }
        state = super()._get_jax_state(**flags, purge_model_variables=purge_model_variables)
        if purge_model_variables:
            self._jax_state = dict(zip([name for name, wanted in flags.items() if wanted], state))
        return state


class JAXPhaseTrainer:
    """Mixin giving a `keras.Model` the phase-based `train_step` on JAX."""

    def train_step(self, state, data):
        trainable, non_trainable, optimizer_values, metric_values = state
        groups = (
            (self.trainable_variables, trainable),
            (self.non_trainable_variables, non_trainable),
            (self.optimizer.variables, optimizer_values),
            (self.metrics_variables, metric_values),
        )
        mapping = [pair for variables, values in groups for pair in zip(variables, values)]
        with keras.StatelessScope(state_mapping=mapping) as scope:
            logs = run_training_phases(
                self,
                data,
                functools.partial(_phase_gradients, scope),
                apply=functools.partial(_stateless_apply, scope),
            )
        new_state = tuple(_collect(scope, variables, values) for variables, values in groups)
        return logs, new_state

    def test_step(self, state, data):
        trainable, non_trainable, metric_values = state
        groups = (
            (self.trainable_variables, trainable),
            (self.non_trainable_variables, non_trainable),
            (self.metrics_variables, metric_values),
        )
        mapping = [pair for variables, values in groups for pair in zip(variables, values)]
        with keras.StatelessScope(state_mapping=mapping) as scope:
            logs = run_evaluation_phases(self, data)
        new_state = tuple(_collect(scope, variables, values) for variables, values in groups)
        return logs, new_state


class JAXCompiledFunction(CompiledFunction):
    """`jax.jit` of the pure function: the variables' values are inputs, never constants."""

    def __init__(self, fn):
        super().__init__(fn)
        self._variables = []
        self._jitted = jax.jit(lambda values, seed_state, args: self.pure(self._variables, values, seed_state, args))

    def __call__(self, variables, seed_generator, *args):
        self._variables = list(variables)
        values = [variable.value for variable in self._variables]
        outputs, seed_state, assigned = self._jitted(values, seed_generator.state.value, args)
        self.write_back(self._variables, seed_generator, seed_state, assigned)
        return outputs


def input_gradient(fn, x):
    """Gradient of `sum(fn(x))` with respect to `x`, differentiable again.

    `fn` must not update state (no random draws, no batch-norm in training mode).
    """
    return jax.grad(lambda inputs: jax.numpy.sum(fn(inputs)))(x)


def value_and_input_gradient(fn, x):
    """`(fn(x), gradient of sum(fn(x)) with respect to x)` from one forward pass."""
    values, pullback = jax.vjp(fn, x)
    (grad,) = pullback(jax.numpy.ones_like(values))
    return values, grad


def device_name():
    """`"cpu"`, or the kind of accelerator JAX computes on."""
    device = jax.devices()[0]
    return "cpu" if device.platform == "cpu" else device.device_kind
