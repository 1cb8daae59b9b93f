import importlib.util
import os
import pathlib
import subprocess
import sys

import keras
import numpy as np
import pytest

from artifex_keras.backend import input_gradient
from artifex_keras.models import VAE
from artifex_keras.optimizers import phase_optimizer
from tests.backend.two_phase_model import TwoPhaseModel
from tests.helpers import digits

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _data(n=64):
    return np.random.RandomState(1).normal(size=(n, 4)).astype("float32")


def test_two_phases_update_only_their_own_variables():
    model = TwoPhaseModel()
    model.compile()
    critic = [keras.ops.convert_to_numpy(v) for v in model.critic.trainable_variables]
    generator = [keras.ops.convert_to_numpy(v) for v in model.generator.trainable_variables]
    logs = model.train_on_batch(_data(), return_dict=True)
    assert set(logs) == {"critic_loss", "generator_loss", "penalty"}
    assert all(np.isfinite(v) for v in logs.values())
    # Every kernel moved (the critic's output bias cancels out of its loss).
    for old, new in zip(critic + generator, model.critic.trainable_variables + model.generator.trainable_variables):
        if new.path.endswith("kernel"):
            assert not np.allclose(old, keras.ops.convert_to_numpy(new)), new.path
    # Each sub-optimizer stepped once, and so did the model-level counter.
    assert int(model.critic_optimizer.iterations) == 1
    assert int(model.generator_optimizer.iterations) == 1
    assert int(model.optimizer.iterations) == 1


def test_generator_phase_sees_the_updated_critic():
    # Run the critic phase by hand, then the generator loss must use the new critic.
    model = TwoPhaseModel()
    model.compile(keras.optimizers.SGD(0.5), keras.optimizers.SGD(0.0))
    x = _data(16)
    model.train_on_batch(x)
    expected, _ = model.generator_loss(x)
    fresh = TwoPhaseModel()
    fresh.set_weights(model.get_weights())
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(fresh.generator_loss(x)[0]), keras.ops.convert_to_numpy(expected), rtol=1e-5
    )
    # With a zero learning rate the generator did not move.
    fresh_gen = TwoPhaseModel()
    assert fresh_gen.get_config() == model.get_config()


def test_fit_threads_metrics_and_seed_state_through_epochs():
    model = VAE(input_shape=(8, 8, 1), latent_dim=2, hidden_dims=(16,), seed=3)
    model.compile()
    state_before = keras.ops.convert_to_numpy(model.seed_generator.state)
    history = model.fit(digits(128), epochs=2, batch_size=32, verbose=0)
    assert len(history.history["loss"]) == 2
    assert not np.array_equal(state_before, keras.ops.convert_to_numpy(model.seed_generator.state))


def test_mixed_precision_uses_loss_scaling():
    policy = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_float16")
    try:
        model = VAE(input_shape=(8, 8, 1), latent_dim=2, hidden_dims=(16,), seed=3)
        model.compile()
        assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
        history = model.fit(digits(128), epochs=3, batch_size=32, verbose=0)
    finally:
        keras.config.set_dtype_policy(policy)
    losses = history.history["loss"]
    assert all(np.isfinite(losses)) and losses[-1] < losses[0]


def test_input_gradient_matches_closed_form():
    x = keras.ops.convert_to_tensor(np.array([[1.0, -2.0, 0.5]], "float32"))
    grad = input_gradient(lambda t: t**3, x)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(grad), 3 * np.array([[1.0, 4.0, 0.25]]), rtol=1e-6)


def test_gradient_penalty_trains_on_every_backend():
    model = TwoPhaseModel(penalty_weight=10.0)
    model.compile()
    history = model.fit(_data(256), epochs=5, batch_size=64, verbose=0)
    penalties = history.history["penalty"]
    assert all(np.isfinite(penalties)) and penalties[-1] < penalties[0]


def test_phase_optimizer_rejects_shared_variables():
    model = TwoPhaseModel()
    variables = model.critic.trainable_variables
    with pytest.raises(ValueError, match="each variable must belong to one phase"):
        phase_optimizer([(variables, keras.optimizers.SGD()), (variables, keras.optimizers.SGD())])


def test_compile_rejects_a_loss():
    with pytest.raises(ValueError, match="`loss` is defined by the model family"):
        VAE(input_shape=(8, 8, 1)).compile(loss="mse")


def _installed(module):
    return importlib.util.find_spec(module) is not None


@pytest.mark.cross_backend
def test_one_step_matches_across_backends(tmp_path):
    backends = [backend for backend in ("jax", "tensorflow", "torch") if _installed(backend)]
    assert len(backends) == 3, f"all three backends must be installed for this check, found {backends}"
    results = {}
    for backend in backends:
        out = tmp_path / f"{backend}.npz"
        env = {**os.environ, "KERAS_BACKEND": backend, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
        subprocess.run([sys.executable, "-m", "tests.backend.one_step", str(out)], cwd=ROOT, env=env, check=True)
        results[backend] = dict(np.load(out))
    reference = results["jax"]
    for backend in backends[1:]:
        assert results[backend].keys() == reference.keys()
        for key, value in reference.items():
            np.testing.assert_allclose(results[backend][key], value, atol=1e-4, err_msg=f"{backend}: {key}")


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="XLA compilation of the TensorFlow step")
def test_tensorflow_step_compiles_with_xla():
    model = TwoPhaseModel()
    model.compile(jit_compile=True)
    assert model.jit_compile
    logs = model.train_on_batch(_data(), return_dict=True)
    assert all(np.isfinite(v) for v in logs.values())
