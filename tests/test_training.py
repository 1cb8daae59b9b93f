"""`train_preset`: the Python function behind `artifex-keras train`, and the provenance it records."""

import json

import keras
import numpy as np
import pytest

from artifex_keras import presets
from artifex_keras.callbacks import TimeLimit
from artifex_keras.training import invocation
from artifex_keras.training import optimizers_with_learning_rates
from artifex_keras.training import train_preset
from tests.backend.two_phase_model import TwoPhaseModel

TINY = {"latent_dim": 2, "hidden_dims": (16,)}


def test_train_preset_writes_the_preset_and_its_provenance(tmp_path):
    run = train_preset(
        "vae", tmp_path / "vae", data="digits", epochs=2, batch_size=32, limit=64, overrides=TINY,
        learning_rate=2e-3, iwae_samples=2, verbose=0,
    )  # fmt: skip
    assert run.directory == tmp_path / "vae"
    for name in ("config.json", "metadata.json", "model.weights.h5", "samples.png", "metrics.json"):
        assert (run.directory / name).is_file(), name
    metadata = json.loads((run.directory / "metadata.json").read_text())
    assert metadata == run.metadata
    assert metadata["command"] == invocation()
    assert metadata["training"] == {
        "data": "digits", "epochs": 2, "batch_size": 32, "learning_rates": {"model": 0.002}, "seed": 0, "limit": 64,
    }  # fmt: skip
    assert metadata["backend"] == keras.backend.backend() and metadata["trained_on"]
    assert metadata["parameters"] == run.model.count_params()
    assert run.metrics["iwae_num_samples"] == 2 and np.isfinite(run.metrics["neg_elbo_nats"])
    assert metadata["metrics"] == run.metrics
    assert float(run.model.phase_optimizers["model"].learning_rate) == pytest.approx(2e-3)
    assert int(run.model.optimizer.iterations) == 4
    reloaded = presets.load_preset(run.directory)
    np.testing.assert_array_equal(reloaded.generate(3, seed=1), run.model.generate(3, seed=1))


def test_a_time_limit_stops_at_an_epoch_boundary_and_records_the_epochs_trained(tmp_path):
    # Any positive limit ends training after the first epoch here: that epoch outlasts a microsecond.
    run = train_preset("vae", tmp_path / "vae", data="digits", epochs=50, batch_size=32, limit=64, overrides=TINY,
                       time_limit=1e-6, verbose=0)  # fmt: skip
    assert int(run.model.optimizer.iterations) == 2  # one epoch of 64 examples in batches of 32
    assert run.metadata["training"]["epochs"] == 1 and run.metadata["training"]["time_limit"] == 1e-6
    assert run.metadata["seconds_per_epoch"] == run.metadata["train_seconds"]


def test_time_limit_callback_lets_training_run_while_time_is_left():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    limit = TimeLimit(3600)
    history = model.fit(np.zeros((4, 2)), np.zeros((4, 1)), epochs=3, verbose=0, callbacks=[limit])
    assert len(history.epoch) == 3 and limit.epochs_run == 3 and not limit.stopped
    short = TimeLimit(1e-9)
    history = model.fit(np.zeros((4, 2)), np.zeros((4, 1)), epochs=3, verbose=0, callbacks=[short])
    assert len(history.epoch) == 1 and short.epochs_run == 1 and short.stopped
    with pytest.raises(ValueError, match="TimeLimit: `seconds` must be a positive number"):
        TimeLimit(0)


def test_learning_rates_by_phase_keep_the_family_optimizers():
    model = TwoPhaseModel()
    optimizers = optimizers_with_learning_rates(model, {"generator": 1e-4})
    assert float(optimizers["generator"].learning_rate) == pytest.approx(1e-4)
    assert float(optimizers["critic"].learning_rate) == pytest.approx(1e-2)
    everywhere = optimizers_with_learning_rates(model, 3e-4)
    assert [float(opt.learning_rate) for opt in everywhere.values()] == pytest.approx([3e-4, 3e-4])
    with pytest.raises(ValueError, match=r"`learning_rate` keys must be phase names of TwoPhaseModel \(critic, gen"):
        optimizers_with_learning_rates(model, {"discriminator": 1e-4})
    with pytest.raises(ValueError, match="the learning rate of phase 'critic' must be a positive number, got -1"):
        optimizers_with_learning_rates(model, {"critic": -1})


@pytest.mark.parametrize(
    "argv, command",
    [
        (["/usr/bin/artifex-keras", "train", "vae", "--set", "hidden_dims=[16, 8]"],
         "artifex-keras train vae --set 'hidden_dims=[16, 8]'"),
        (["/x/site-packages/artifex_keras/__main__.py", "sample", "p"], "python -m artifex_keras sample p"),
        (["benchmarks/quality_table.py", "--refresh", "vae_fashion_mnist"],
         "python benchmarks/quality_table.py --refresh vae_fashion_mnist"),
    ],
)
def test_invocation_is_the_command_as_typed(argv, command, monkeypatch):
    monkeypatch.delenv("KERAS_BACKEND", raising=False)
    assert invocation(argv) == command
    monkeypatch.setenv("KERAS_BACKEND", "torch")
    assert invocation(argv) == "KERAS_BACKEND=torch " + command


def test_mistakes_name_the_argument(tmp_path):
    with pytest.raises(ValueError, match="unknown preset or model 'vea'. Did you mean 'vae'"):
        train_preset("vea", tmp_path, data="digits")
    with pytest.raises(ValueError, match="train_preset: `epochs` must be a positive int, got 0"):
        train_preset("vae", tmp_path, data="digits", epochs=0)
    with pytest.raises(ValueError, match="train_preset: `resume` needs a preset with trained weights"):
        train_preset("vae", tmp_path, data="digits", resume=True)
    with pytest.raises(ValueError, match="train_preset: `teacher` is for models that distill a trained model"):
        train_preset("vae", tmp_path, data="digits", teacher="vae_fashion_mnist", overrides=TINY)
    with pytest.raises(ValueError, match="train_preset: `time_limit` must be a positive number, got 0"):
        train_preset("vae", tmp_path, data="digits", time_limit=0, overrides=TINY)
