"""Saving and resuming loses nothing: optimizers per phase, slots, counters, seeds and EMA state, on every backend."""

import json

import h5py
import keras
import numpy as np

import artifex_keras as ak
from artifex_keras.models import VAE
from artifex_keras.models import VQVAE
from tests.backend.two_phase_model import TwoPhaseModel
from tests.checks import check_backup_and_restore
from tests.checks import check_keras_round_trip
from tests.checks import check_resume
from tests.checks import digits

VAE_KWARGS = dict(input_shape=(8, 8, 1), latent_dim=2, hidden_dims=(16,), seed=3, kl_warmup_steps=5)
VQVAE_KWARGS = dict(
    input_shape=(8, 8, 1), hidden_dims=(8, 16), num_embeddings=8, embedding_dim=4, prior_filters=8,
    prior_layers=2, ema=True, seed=0,
)  # fmt: skip


def _points(n=64):
    return np.random.RandomState(0).normal(size=(n, 4)).astype("float32")


def test_resume_vae(tmp_path):
    check_resume(lambda: VAE(**VAE_KWARGS), digits(64), tmp_path)


def test_resume_vqvae_with_ema_codebook(tmp_path):
    check_resume(lambda: VQVAE(**VQVAE_KWARGS), digits(64), tmp_path)


def test_resume_two_phase_model(tmp_path):
    check_resume(TwoPhaseModel, _points(), tmp_path)


def test_backup_and_restore_vae(tmp_path):
    check_backup_and_restore(lambda: VAE(**VAE_KWARGS), digits(64), tmp_path)


def test_backup_and_restore_two_phase_model(tmp_path):
    check_backup_and_restore(TwoPhaseModel, _points(), tmp_path)


def test_load_model_keeps_both_optimizers(tmp_path):
    model = TwoPhaseModel()
    model.compile(
        optimizer={"critic": keras.optimizers.Adam(2e-4, beta_1=0.5), "generator": keras.optimizers.RMSprop(1e-3)}
    )
    model.fit(_points(), epochs=1, batch_size=32, verbose=0)
    loaded = check_keras_round_trip(model, _points(16), tmp_path)
    assert [type(opt).__name__ for opt in loaded.phase_optimizers.values()] == ["Adam", "RMSprop"]
    assert loaded.phase_optimizers["critic"].get_config()["beta_1"] == 0.5
    assert [int(opt.iterations) for opt in loaded.phase_optimizers.values()] == [2, 2]


def test_seed_generator_state_is_saved(tmp_path):
    model = VAE(**VAE_KWARGS)
    model.generate(3)  # advances the model's own seed generator
    path = str(tmp_path / "vae.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(loaded.seed_generator.state), keras.ops.convert_to_numpy(model.seed_generator.state)
    )
    np.testing.assert_array_equal(loaded.generate(3), model.generate(3))


def test_presets_of_a_compiled_two_phase_model_hold_weights_only(tmp_path):
    model = TwoPhaseModel()
    model.compile()
    model.fit(_points(), epochs=1, batch_size=32, verbose=0)
    model.save_to_preset(tmp_path / "preset")
    with h5py.File(tmp_path / "preset" / "model.weights.h5") as weights:
        assert "optimizer" not in weights
    restored = TwoPhaseModel.from_preset(tmp_path / "preset")
    for got, want in zip(restored.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(got, want)
    restored.compile(optimizer={"generator": keras.optimizers.SGD(0.1)})
    assert isinstance(restored.phase_optimizers["generator"], keras.optimizers.SGD)
    assert int(restored.optimizer.iterations) == 0


def test_preset_config_names_the_module_and_the_keras_registered_class():
    spec = json.loads((ak.presets.resolve_preset("vae_fashion_mnist") / ak.presets.CONFIG_FILE).read_text())
    assert (spec["module"], spec["class_name"], spec["registered_name"]) == (
        "artifex_keras.models.vae.vae", "VAE", "artifex_keras>VAE",
    )  # fmt: skip
    assert keras.saving.get_registered_object(spec["registered_name"]) is VAE
