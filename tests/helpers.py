"""Shared checks that every model's tests run (keras-hub style)."""

import h5py
import keras
import numpy as np

from artifex_keras import data


def digits(limit=256, with_labels=False):
    """Small real data for fast tests: the first `limit` 8x8 digits in [0, 1]."""
    x, y = data.load("digits", split="train", limit=limit)
    return (x, y) if with_labels else x


def fit_arguments(train_data):
    return (train_data, None) if not isinstance(train_data, tuple) else train_data


def run_model_checks(cls, init_kwargs, train_data, generate_kwargs=None, tmp_path=None, epochs=8, learning_rate=3e-3):
    """Construction, config round trip, fit lowers the loss, generate, saving, presets."""
    generate_kwargs = generate_kwargs or {}
    x, y = fit_arguments(train_data)

    # Construction from kwargs and from the config object agree.
    model = cls(**init_kwargs)
    again = cls(cls.config_class(**init_kwargs))
    assert again.config == model.config

    # get_config / from_config rebuilds the same architecture.
    config = model.get_config()
    rebuilt = cls.from_config(config)
    assert rebuilt.get_config() == config
    assert [v.shape for v in rebuilt.weights] == [v.shape for v in model.weights]

    # fit lowers the loss on tiny data.
    model.compile(optimizer=keras.optimizers.Adam(learning_rate))
    before = model.evaluate(x, y, batch_size=64, verbose=0, return_dict=True)["loss"]
    model.fit(x, y, epochs=epochs, batch_size=64, verbose=0)
    after = model.evaluate(x, y, batch_size=64, verbose=0, return_dict=True)["loss"]
    assert np.isfinite(after) and after < before, (before, after)

    # generate: NumPy, right shape and dtype, reproducible with a seed.
    samples = model.generate(5, seed=7, **generate_kwargs)
    assert isinstance(samples, np.ndarray)
    assert samples.shape == (5, *model.data_shape)
    assert samples.dtype == np.float32
    assert np.all(np.isfinite(samples))
    np.testing.assert_allclose(samples, model.generate(5, seed=7, **generate_kwargs), atol=1e-6)

    if tmp_path is not None:
        # .keras save and keras.saving.load_model give identical outputs.
        path = str(tmp_path / "model.keras")
        model.save(path)
        loaded = keras.saving.load_model(path)
        assert type(loaded) is cls
        inputs = x[:16] if y is None else (x[:16], y[:16])
        np.testing.assert_allclose(_numpy(loaded(inputs)), _numpy(model(inputs)), atol=1e-6)
        np.testing.assert_allclose(loaded.generate(5, seed=7, **generate_kwargs), samples, atol=1e-6)

        # Preset round trip.
        directory = tmp_path / "preset"
        model.save_to_preset(directory, metadata={"description": "test"})
        with h5py.File(directory / "model.weights.h5") as weights:
            assert "optimizer" not in weights, "presets store model weights only"
        restored = cls.from_preset(directory)
        assert restored.get_config() == model.get_config()
        np.testing.assert_allclose(restored.generate(5, seed=7, **generate_kwargs), samples, atol=1e-6)
    return model


def _numpy(tensor):
    return keras.ops.convert_to_numpy(tensor)
