"""Training checks: the loss falls, or every phase moves its own variables and nothing else."""

import keras
import numpy as np

from tests.checks.data import fit_arguments


def numpy_values(variables):
    return [np.array(keras.ops.convert_to_numpy(v)) for v in variables]


def check_loss_falls(model, train_data, epochs=8, learning_rate=3e-3, batch_size=64):
    """`fit` lowers the evaluated loss on tiny data (likelihood-based families)."""
    x, y = fit_arguments(train_data)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate))
    before = model.evaluate(x, y, batch_size=batch_size, verbose=0, return_dict=True)["loss"]
    model.fit(x, y, epochs=epochs, batch_size=batch_size, verbose=0)
    after = model.evaluate(x, y, batch_size=batch_size, verbose=0, return_dict=True)["loss"]
    assert np.isfinite(after) and after < before, (before, after)
    return before, after


def check_phases_update_their_variables(model, train_data, learning_rate=1e-2):
    """One step with SGD per phase: every phase changes its own variables, and no variable outside its phase.

    For adversarial and contrastive families, whose losses need not fall.
    Each phase runs alone (the others' learning rates zero) so a variable
    that a wrong phase updates is caught; then all phases together move every
    phase's variables, and variables in no phase never move.
    """
    x, y = fit_arguments(train_data)
    batch = (x[:32], None if y is None else y[:32])
    phases = model.training_phases()
    names = [phase.name for phase in phases]
    initial = model.get_weights()
    in_a_phase = {id(v) for phase in phases for v in phase.variables}
    for active in [*names, None]:
        model.set_weights(initial)
        rates = {name: learning_rate if active in (None, name) else 0.0 for name in names}
        model.compile(optimizer={name: keras.optimizers.SGD(rate) for name, rate in rates.items()})
        before = {id(v): value for v, value in zip(model.trainable_variables, numpy_values(model.trainable_variables))}
        model.train_on_batch(*batch)
        for phase in phases:
            moved = [not np.array_equal(before[id(v)], keras.ops.convert_to_numpy(v)) for v in phase.variables]
            if active in (None, phase.name):
                assert any(moved), f"phase {phase.name!r} changed none of its variables"
            else:
                assert not any(moved), f"phase {active!r} changed variables of phase {phase.name!r}"
        for variable in model.trainable_variables:
            if id(variable) not in in_a_phase:
                assert np.array_equal(before[id(variable)], keras.ops.convert_to_numpy(variable)), variable.path
    model.set_weights(initial)
