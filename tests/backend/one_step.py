"""Run one training step of TwoPhaseModel from fixed weights; save the result.

Usage: KERAS_BACKEND=<name> python -m tests.backend.one_step OUT.npz
"""

import sys

import keras
import numpy as np

from tests.backend.two_phase_model import TwoPhaseModel


def one_step():
    model = TwoPhaseModel()
    rng = np.random.RandomState(0)
    for variable in model.trainable_variables:
        variable.assign(rng.normal(scale=0.5, size=variable.shape).astype("float32"))
    model.compile(keras.optimizers.Adam(1e-2), keras.optimizers.SGD(1e-1))
    x = rng.normal(size=(16, 4)).astype("float32")
    logs = model.train_on_batch(x, return_dict=True)
    weights = {v.path: keras.ops.convert_to_numpy(v) for v in model.trainable_variables}
    return weights, logs


if __name__ == "__main__":
    weights, logs = one_step()
    arrays = {k.replace("/", "__"): v for k, v in weights.items()}
    np.savez(sys.argv[1], **arrays, **{f"log__{k}": v for k, v in logs.items()})
