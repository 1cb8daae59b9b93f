"""The only package that branches on the Keras backend.

`PhaseTrainer` is the trainer mixin for the active backend; `StateRecovery`
keeps a model usable when a step fails (JAX); `CompiledFunction` turns a
function of a model's state into one compiled call (sampling, likelihoods,
encoders); `input_gradient`
is the nested-gradient helper (gradient penalties, score matching);
`value_and_input_gradient` also returns the values (MCMC samplers);
`device_name()` names the accelerator the backend computes on;
`LOOPS_RUN_IN_PYTHON` says whether a compiled call's loops step in Python.

Example:
```python
from artifex_keras.backend import input_gradient
grad = input_gradient(lambda x: critic(x), interpolated)  # differentiable again
```
"""

import keras

from artifex_keras.backend.common import seed_everything
from artifex_keras.backend.phases import Phase

_BACKEND = keras.backend.backend()

if _BACKEND == "jax":
    from artifex_keras.backend.jax import JAXCompiledFunction as CompiledFunction
    from artifex_keras.backend.jax import JAXPhaseTrainer as PhaseTrainer
    from artifex_keras.backend.jax import JAXStateRecovery as StateRecovery
    from artifex_keras.backend.jax import device_name
    from artifex_keras.backend.jax import input_gradient
    from artifex_keras.backend.jax import value_and_input_gradient
elif _BACKEND == "tensorflow":
    from artifex_keras.backend.tensorflow import TensorFlowCompiledFunction as CompiledFunction
    from artifex_keras.backend.tensorflow import TensorFlowPhaseTrainer as PhaseTrainer
    from artifex_keras.backend.tensorflow import device_name
    from artifex_keras.backend.tensorflow import input_gradient
    from artifex_keras.backend.tensorflow import value_and_input_gradient
elif _BACKEND == "torch":
    from artifex_keras.backend.torch import TorchCompiledFunction as CompiledFunction
    from artifex_keras.backend.torch import TorchPhaseTrainer as PhaseTrainer
    from artifex_keras.backend.torch import device_name
    from artifex_keras.backend.torch import input_gradient
    from artifex_keras.backend.torch import value_and_input_gradient
else:
    raise ImportError(
        f"artifex_keras supports the 'jax', 'tensorflow' and 'torch' Keras backends, got {_BACKEND!r}"
    )

if _BACKEND != "jax":

    class StateRecovery:
        """Nothing to do: TensorFlow and PyTorch keep the weights in the variables during `fit`."""


# Keras implements `keras.distribution` on JAX only.
DISTRIBUTION_SUPPORTED = _BACKEND == "jax"

# PyTorch runs `ops.fori_loop` as a Python loop, step by step, inside a compiled call;
# JAX and TensorFlow compile the whole loop into that call.
LOOPS_RUN_IN_PYTHON = _BACKEND == "torch"

__all__ = [
    "CompiledFunction",
    "DISTRIBUTION_SUPPORTED",
    "LOOPS_RUN_IN_PYTHON",
    "Phase",
    "PhaseTrainer",
    "StateRecovery",
    "device_name",
    "input_gradient",
    "seed_everything",
    "value_and_input_gradient",
]
