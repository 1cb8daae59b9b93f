"""Saving checks: `.keras` files, presets, and resuming a run without losing any state."""

import h5py
import keras
import numpy as np

from tests.checks.data import fit_arguments


def _numpy(value):
    return np.array(keras.ops.convert_to_numpy(value))


def model_state(model):
    """Everything a resumed run must restore, by group: weights, non-trainable state, seeds, optimizer."""
    state = {
        "weights": [_numpy(v) for v in model.trainable_variables],
        "non_trainable": [_numpy(v) for v in model.non_trainable_variables],
        "seed_states": [_numpy(v) for v in model.seed_states()],
    }
    if model.optimizer is not None:
        state["optimizer"] = [_numpy(v) for v in model.optimizer.variables]
    return state


def assert_same_state(actual, expected, atol):
    assert actual.keys() == expected.keys()
    for group in expected:
        assert len(actual[group]) == len(expected[group]), group
        for index, (got, want) in enumerate(zip(actual[group], expected[group])):
            np.testing.assert_allclose(got, want, atol=atol, rtol=0, err_msg=f"{group}[{index}]")


def check_keras_round_trip(model, inputs, tmp_path, generate_kwargs=None):
    """`.keras` save and `load_model`: same class, outputs, samples, and (when compiled) the same optimizers."""
    kwargs = generate_kwargs or {}
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded) is type(model)
    np.testing.assert_allclose(_numpy(loaded(inputs)), _numpy(model(inputs)), atol=1e-6)
    np.testing.assert_array_equal(loaded.generate(5, seed=7, **kwargs), model.generate(5, seed=7, **kwargs))
    if model.optimizer is not None:
        expected = model.phase_optimizers
        assert list(loaded.phase_optimizers) == list(expected)
        for name, optimizer in loaded.phase_optimizers.items():
            assert type(optimizer) is type(expected[name]), name
            assert optimizer.get_config() == expected[name].get_config(), name
        assert_same_state(model_state(loaded), model_state(model), atol=0)
    return loaded


def check_preset_round_trip(model, tmp_path, generate_kwargs=None):
    """`save_to_preset`/`from_preset`: weights only (no optimizer state), the same config and samples."""
    kwargs = generate_kwargs or {}
    directory = tmp_path / "preset"
    model.save_to_preset(directory, metadata={"description": "test"})
    with h5py.File(directory / "model.weights.h5") as weights:
        assert "optimizer" not in weights, "presets store model weights only"
    restored = type(model).from_preset(directory)
    assert restored.get_config() == model.get_config()
    np.testing.assert_array_equal(restored.generate(5, seed=7, **kwargs), model.generate(5, seed=7, **kwargs))
    return restored


def check_resume(make_model, train_data, tmp_path, batch_size=32, atol=1e-6):
    """`fit` 2 epochs equals `fit` 1 epoch, `.keras` save, `load_model`, `fit` 1 more.

    Weights, non-trainable state (EMA codebooks, batch-norm statistics),
    seed-generator states and every optimizer variable (slots, iteration
    counters) are compared.
    """
    x, y = fit_arguments(train_data)
    fit = dict(batch_size=batch_size, shuffle=False, verbose=0)
    initial, straight = _two_epochs(make_model, x, y, fit)
    first = make_model()
    first.set_weights(initial)
    first.compile()
    first.fit(x, y, epochs=1, **fit)
    path = str(tmp_path / "resume.keras")
    first.save(path)
    resumed = keras.saving.load_model(path)
    resumed.fit(x, y, epochs=1, **fit)
    assert_same_state(model_state(resumed), model_state(straight), atol)


def _two_epochs(make_model, x, y, fit):
    """`(initial weights, model)` of an uninterrupted two-epoch run: the reference of a resumed one."""
    model = make_model()
    initial = model.get_weights()
    model.compile()
    model.fit(x, y, epochs=2, **fit)
    return initial, model


class _StopAfterFirstEpoch(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        raise KeyboardInterrupt("stopped on purpose")


def check_backup_and_restore(make_model, train_data, tmp_path, batch_size=32, atol=1e-6):
    """A run stopped after its first epoch and started again with `BackupAndRestore` ends as an uninterrupted one."""
    x, y = fit_arguments(train_data)
    fit = dict(batch_size=batch_size, shuffle=False, verbose=0)
    initial, straight = _two_epochs(make_model, x, y, fit)
    backup = str(tmp_path / "backup")
    stopped = make_model()
    stopped.set_weights(initial)
    stopped.compile()
    try:
        stopped.fit(x, y, epochs=2, callbacks=[keras.callbacks.BackupAndRestore(backup), _StopAfterFirstEpoch()], **fit)
    except KeyboardInterrupt:
        pass
    restarted = make_model()
    restarted.compile()
    restarted.fit(x, y, epochs=2, callbacks=[keras.callbacks.BackupAndRestore(backup)], **fit)
    assert_same_state(model_state(restarted), model_state(straight), atol)
