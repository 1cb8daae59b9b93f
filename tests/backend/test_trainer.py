"""The phase trainer: phases bound to their optimizers, one per phase, with the same semantics on every backend."""

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
from tests.checks import check_phases_update_their_variables
from tests.checks import digits

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _data(n=64):
    return np.random.RandomState(1).normal(size=(n, 4)).astype("float32")


def _numpy(value):
    return np.array(keras.ops.convert_to_numpy(value))


def test_each_phase_updates_only_its_own_variables():
    check_phases_update_their_variables(TwoPhaseModel(), _data())


def test_compile_builds_one_optimizer_per_phase():
    model = TwoPhaseModel()
    model.compile()
    assert isinstance(model.optimizer, keras.optimizers.MultiOptimizer)
    optimizers = model.phase_optimizers
    assert list(optimizers) == ["critic", "generator"]
    assert all(isinstance(opt, keras.optimizers.Adam) for opt in optimizers.values())
    model.train_on_batch(_data())
    # Each phase's optimizer stepped once, and so did the model-level counter.
    assert [int(opt.iterations) for opt in optimizers.values()] == [1, 1]
    assert int(model.optimizer.iterations) == 1
    # Each optimizer holds slots for its own phase's variables only.
    for phase in model.training_phases():
        assert len(optimizers[phase.name]._trainable_variables) == len(phase.variables)


def test_compile_takes_a_dict_by_phase_name_and_keeps_defaults_for_the_rest():
    model = TwoPhaseModel()
    model.compile(optimizer={"generator": keras.optimizers.SGD(0.5)})
    assert isinstance(model.phase_optimizers["generator"], keras.optimizers.SGD)
    assert isinstance(model.phase_optimizers["critic"], keras.optimizers.Adam)
    model.compile(optimizer={"critic": "rmsprop", "generator": {"class_name": "SGD", "config": {"learning_rate": 0.1}}})
    assert isinstance(model.phase_optimizers["critic"], keras.optimizers.RMSprop)
    assert float(model.phase_optimizers["generator"].learning_rate) == pytest.approx(0.1)


def test_one_optimizer_is_copied_for_each_phase():
    model = TwoPhaseModel()
    shared = keras.optimizers.Adam(2e-4, beta_1=0.5)
    model.compile(optimizer=shared)
    critic, generator = model.phase_optimizers.values()
    assert critic is not generator
    assert critic.get_config() == generator.get_config() == shared.get_config()
    model.compile(optimizer={"critic": shared, "generator": shared})
    critic, generator = model.phase_optimizers.values()
    assert critic is not generator


@pytest.mark.parametrize(
    "optimizer, message",
    [
        ({"discriminator": "adam"}, r"TwoPhaseModel.compile: `optimizer` keys must be phase names of "
                                    r"TwoPhaseModel \(critic, generator\), got 'discriminator'"),
        ("adamm", "TwoPhaseModel.compile: `optimizer` must be an optimizer, its name or its config, got 'adamm'"),
        (3, "`optimizer` must be an optimizer, its name or its config, got 3"),
    ],
)
def test_compile_errors_name_the_argument(optimizer, message):
    with pytest.raises(ValueError, match=message):
        TwoPhaseModel().compile(optimizer=optimizer)


def test_compile_rejects_a_multi_optimizer_and_a_loss():
    model = TwoPhaseModel()
    multi = phase_optimizer([(model.critic.trainable_variables, keras.optimizers.SGD())])
    with pytest.raises(ValueError, match="pass a dict of optimizers keyed by phase name, not a MultiOptimizer"):
        model.compile(optimizer=multi)
    with pytest.raises(ValueError, match="`loss` is defined by the model family"):
        VAE(input_shape=(8, 8, 1)).compile(loss="mse")


def test_default_optimizers_must_cover_the_phases():
    class Forgetful(TwoPhaseModel):
        def default_optimizers(self):
            return {"critic": keras.optimizers.Adam()}

    with pytest.raises(ValueError, match=r"Forgetful.default_optimizers\(\) must return one optimizer per phase"):
        Forgetful().compile()


def test_generator_phase_sees_the_updated_critic():
    # The logged generator loss is computed after the critic's update: recompute it from the
    # updated critic and the generator as it was before its own update.
    model = TwoPhaseModel()
    model.compile(optimizer={"critic": keras.optimizers.SGD(0.5), "generator": keras.optimizers.SGD(0.5)})
    x = _data(16)
    old_generator = [_numpy(v) for v in model.generator.trainable_variables]
    old_critic = [_numpy(v) for v in model.critic.trainable_variables]
    logged = model.train_on_batch(x, return_dict=True)["generator_loss"]

    check = TwoPhaseModel()
    for variable, value in zip(check.critic.trainable_variables, model.critic.trainable_variables):
        variable.assign(_numpy(value))
    for variable, value in zip(check.generator.trainable_variables, old_generator):
        variable.assign(value)
    expected = _numpy(check.generator_loss(x)[0])
    np.testing.assert_allclose(logged, expected, rtol=1e-5)
    for variable, value in zip(check.critic.trainable_variables, old_critic):
        variable.assign(value)
    stale = _numpy(check.generator_loss(x)[0])
    assert abs(stale - expected) > 1e-3, "the critic's update does not change the generator loss: test is blind"


def test_fit_threads_metrics_and_seed_state_through_epochs():
    model = VAE(input_shape=(8, 8, 1), latent_dim=2, hidden_dims=(16,), seed=3)
    model.compile()
    state_before = _numpy(model.seed_generator.state)
    history = model.fit(digits(128), epochs=2, batch_size=32, verbose=0)
    assert len(history.history["loss"]) == 2
    # 4 steps per epoch, one normal draw each: the state's counter moved by 8.
    np.testing.assert_array_equal(_numpy(model.seed_generator.state) - state_before, [0, 8])


def test_mixed_precision_scales_the_loss():
    policy = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_float16")
    try:
        model = VAE(input_shape=(8, 8, 1), latent_dim=2, hidden_dims=(16,), likelihood="gaussian", seed=3)
        model.compile()
        optimizer = model.optimizer
        assert isinstance(optimizer, keras.optimizers.LossScaleOptimizer)
        assert model.phase_optimizers == {"model": optimizer}
        x = digits(64)
        weights = model.get_weights()
        # 1e5 overflows float16 activations: the scaled gradients are not finite, so the step is
        # skipped and the scale halves.
        model.train_on_batch(np.full_like(x[:32], 1e5))
        assert float(optimizer.dynamic_scale) == 2.0**14
        for old, new in zip(weights, model.get_weights()):
            np.testing.assert_array_equal(old, new)
        # A finite step keeps the scale, counts a good step and moves the weights.
        model.train_on_batch(x[:32])
        assert float(optimizer.dynamic_scale) == 2.0**14 and int(optimizer.step_counter) == 1
        assert not np.array_equal(weights[0], model.get_weights()[0])
        history = model.fit(x, epochs=3, batch_size=32, verbose=0)
        assert np.all(np.isfinite(history.history["loss"]))
        with pytest.raises(ValueError, match="the 'mixed_float16' policy scales one optimizer's loss"):
            TwoPhaseModel().compile()
    finally:
        keras.config.set_dtype_policy(policy)


def test_input_gradient_matches_closed_form():
    x = keras.ops.convert_to_tensor(np.array([[1.0, -2.0, 0.5]], "float32"))
    grad = input_gradient(lambda t: t**3, x)
    np.testing.assert_allclose(_numpy(grad), 3 * np.array([[1.0, 4.0, 0.25]]), rtol=1e-6)


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


def _installed(module):
    return importlib.util.find_spec(module) is not None


@pytest.mark.cross_backend
def test_three_sgd_steps_match_across_backends(tmp_path):
    """Weights, optimizer variables, seed states and non-trainable state after three SGD steps, on each backend."""
    backends = [backend for backend in ("jax", "tensorflow", "torch") if _installed(backend)]
    assert len(backends) == 3, f"all three backends must be installed for this check, found {backends}"
    results = {}
    for backend in backends:
        out = tmp_path / f"{backend}.npz"
        env = {**os.environ, "KERAS_BACKEND": backend, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
        subprocess.run([sys.executable, "-m", "tests.backend.one_step", str(out)], cwd=ROOT, env=env, check=True)
        results[backend] = dict(np.load(out))
    reference = results["jax"]
    assert any(key.startswith("vqvae_ema/non_trainable") for key in reference)
    assert any(key.startswith("vae/seed") for key in reference)
    for backend in backends[1:]:
        assert results[backend].keys() == reference.keys()
        for key, value in reference.items():
            np.testing.assert_allclose(results[backend][key], value, rtol=1e-5, atol=1e-5, err_msg=f"{backend}: {key}")


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="XLA compilation of the TensorFlow step")
def test_tensorflow_step_compiles_with_xla():
    model = TwoPhaseModel()
    model.compile(jit_compile=True)
    assert model.jit_compile
    logs = model.train_on_batch(_data(), return_dict=True)
    assert all(np.isfinite(v) for v in logs.values())
