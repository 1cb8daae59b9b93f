"""TensorFlow trainer: one `GradientTape` per phase; works under `jit_compile`."""

import tensorflow as tf

from artifex_keras.backend.common import CompiledFunction
from artifex_keras.backend.common import run_evaluation_phases
from artifex_keras.backend.common import run_training_phases


def _phase_gradients(phase, data):
    variables = list(phase.variables)
    with tf.GradientTape() as tape:
        loss, logs = phase.loss_fn(data, training=True)
        scaled = phase.optimizer.scale_loss(loss)
    grads = tape.gradient(scaled, variables)
    # Gathers (embeddings, codebooks) give IndexedSlices with repeated rows,
    # which Keras' TensorFlow optimizers mis-apply; dense gradients are exact.
    grads = [tf.convert_to_tensor(g) if isinstance(g, tf.IndexedSlices) else g for g in grads]
    return loss, logs, grads


class TensorFlowPhaseTrainer:
    """Mixin giving a `keras.Model` the phase-based `train_step` on TensorFlow."""

    def train_step(self, data):
        return run_training_phases(self, data, _phase_gradients)

    def test_step(self, data):
        return run_evaluation_phases(self, data)


class TensorFlowCompiledFunction(CompiledFunction):
    """A `tf.function` of the pure function, the variables' values passed in as tensors."""

    def __init__(self, fn):
        super().__init__(fn)
        self._variables = []
        self._traced = tf.function(
            lambda values, seed_state, args: self.pure(self._variables, values, seed_state, args)
        )

    def __call__(self, variables, seed_generator, *args):
        self._variables = list(variables)
        values = [tf.convert_to_tensor(variable.value) for variable in self._variables]
        seed_state = tf.convert_to_tensor(seed_generator.state.value)
        outputs, seed_state, assigned = self._traced(values, seed_state, args)
        self.write_back(self._variables, seed_generator, seed_state, assigned)
        return outputs


def input_gradient(fn, x):
    """Gradient of `sum(fn(x))` with respect to `x`, differentiable again."""
    x = tf.convert_to_tensor(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        total = tf.reduce_sum(fn(x))
    return tape.gradient(total, x)


def value_and_input_gradient(fn, x):
    """`(fn(x), gradient of sum(fn(x)) with respect to x)` from one forward pass."""
    x = tf.convert_to_tensor(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        values = fn(x)
        total = tf.reduce_sum(values)
    return values, tape.gradient(total, x)


def device_name():
    """`"cpu"`, or the name of the first GPU TensorFlow sees."""
    gpus = tf.config.list_physical_devices("GPU")
    return tf.config.experimental.get_device_details(gpus[0]).get("device_name", "gpu") if gpus else "cpu"
