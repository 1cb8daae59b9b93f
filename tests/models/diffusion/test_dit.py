"""DiT: the DDPM objective on a Transformer backbone; zero start, training, EMA, guidance, saving, errors."""

import keras
import numpy as np
import pytest

import artifex_keras as ak
from artifex_keras.layers import DiTBackbone
from artifex_keras.models import DDPM
from artifex_keras.models import DiT
from artifex_keras.models import DiTConfig
from artifex_keras.samplers import DDIMSampler
from tests.checks import check_config_round_trip
from tests.checks import check_keras_round_trip
from tests.checks import digits
from tests.checks import run_model_checks

TINY = dict(
    input_shape=(8, 8, 1),
    patch_size=2,
    hidden_size=32,
    depth=2,
    num_heads=4,
    num_timesteps=50,
    ema_decay=None,
    sampling_steps=3,
    seed=0,
)


def numpy(tensor):
    return np.array(keras.ops.convert_to_numpy(tensor))


def values(variables):
    return [numpy(v) for v in variables]


@pytest.mark.slow
def test_dit_model_checks(tmp_path):
    run_model_checks(DiT, TINY, digits(), tmp_path=tmp_path, value_range=(0.0, 1.0))


def test_config_registry_and_a_zero_network_at_initialisation():
    model = check_config_round_trip(DiT, dict(TINY, mlp_ratio=2.0, prediction="v", schedule="cosine"))
    assert "dit" in ak.list_models() and ak.models.DiT is DiT and isinstance(model, DDPM)
    assert isinstance(model.denoiser, DiTBackbone) and model.sampling_network is model.denoiser
    assert model.default_sampler() == DDIMSampler(steps=3, eta=0.0)
    assert DiTConfig().to_dict()["hidden_size"] == 384 and DiTConfig().input_shape == (32, 32, 4)
    x = digits(4)
    # adaLN-Zero: exactly zero before training, whatever the timestep.
    for t in (None, np.array([0.0, 10.0, 25.0, 49.0], "float32")):
        assert np.all(numpy(model(2.0 * x - 1.0, timesteps=t)) == 0)


@pytest.fixture(scope="module")
def trained():
    """Three SGD steps of a model with a moving average, and what was measured along the way."""
    decay = 0.75
    model = DiT(**dict(TINY, ema_decay=decay))
    batch = digits(32)
    generator = model.seed_generator
    start = numpy(generator.state).copy()

    def loss_of_the_same_draws():
        # The same timesteps and noise as the step: the seed generator is wound back first.
        generator.state.assign(start)
        return float(numpy(model.compute_generative_loss(batch, training=False)[0]))

    record = dict(model=model, decay=decay, initial=values(model.denoiser.trainable_variables))
    record["before"] = loss_of_the_same_draws()
    generator.state.assign(start)
    model.compile(optimizer=keras.optimizers.SGD(0.1))
    record["step_loss"] = float(model.train_on_batch(batch, return_dict=True)["loss"])
    record["after"] = loss_of_the_same_draws()
    record["one_step"] = values(model.denoiser.trainable_variables)
    record["one_step_average"] = values(model.ema_denoiser.weights)
    for _ in range(2):
        model.train_on_batch(batch)
    return record


def test_one_training_step_lowers_the_loss_of_its_draws_and_three_move_every_weight(trained):
    np.testing.assert_allclose(trained["step_loss"], trained["before"], rtol=1e-5)
    assert trained["after"] < trained["before"] - 1e-4, (trained["before"], trained["after"])
    model = trained["model"]
    online = model.denoiser.trainable_variables
    # At initialisation only the final linear layer has a gradient (all behind it is multiplied by zero); the
    # second step reaches the modulations (the blocks' gates), the third everything inside the blocks.
    moved_once = [
        v.path for v, a, b in zip(online, trained["initial"], trained["one_step"]) if not np.array_equal(a, b)
    ]
    assert moved_once == [v.path for v in model.denoiser.final_layer.linear.trainable_variables], moved_once
    frozen = [v.path for v, old in zip(online, trained["initial"]) if np.array_equal(numpy(v), old)]
    assert not frozen, frozen


def test_ema_is_what_generate_uses_and_what_keras_files_save(trained, tmp_path):
    model, decay = trained["model"], trained["decay"]
    online, shadow = model.denoiser.trainable_variables, model.ema_denoiser.weights
    assert all(not v.trainable for v in shadow) and len(shadow) == len(online)
    # One step from equal weights: shadow = d * before + (1 - d) * after, d warmed up at the first step.
    decay = min(decay, 2.0 / 11.0)
    for start, after, average in zip(trained["initial"], trained["one_step"], trained["one_step_average"]):
        np.testing.assert_allclose(average, decay * start + (1 - decay) * after, atol=1e-6)
    samples = model.generate(5, seed=1)
    weights = values(online)
    for variable in online:
        variable.assign(numpy(variable) * 3.0 + 0.1)
    np.testing.assert_array_equal(model.generate(5, seed=1), samples)
    for variable, value in zip(online, weights):
        variable.assign(value)
    path = str(tmp_path / "ema.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded) is DiT and loaded.sampling_network is loaded.ema_denoiser
    for got, want in zip(loaded.ema_denoiser.weights, shadow):
        np.testing.assert_array_equal(numpy(got), numpy(want))
    for variable in shadow:
        variable.assign(numpy(variable) * 0.5)
    assert not np.allclose(model.generate(5, seed=1), samples)


@pytest.fixture(scope="module")
def conditional():
    x, y = digits(with_labels=True)
    model = DiT(**dict(TINY, num_classes=10, class_dropout=0.2))
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    history = model.fit(x, y, epochs=3, batch_size=64, verbose=0).history["loss"]
    assert np.all(np.isfinite(history)) and history[-1] < history[0], history
    return model


def test_guidance_scale_one_is_the_conditional_model(conditional):
    labels = np.arange(5)
    plain = conditional.generate(5, seed=2, labels=labels)
    np.testing.assert_allclose(conditional.generate(5, seed=2, labels=labels, guidance_scale=1.0), plain, atol=2e-5)
    assert not np.allclose(conditional.generate(5, seed=2, labels=labels, guidance_scale=4.0), plain, atol=1e-3)
    assert not np.allclose(conditional.generate(5, seed=2, labels=labels + 1), plain, atol=1e-3)


def test_guidance_combines_the_conditional_and_no_label_predictions(conditional):
    network = conditional.sampling_network
    guided = conditional.denoiser_function(keras.ops.convert_to_tensor([1, 4, 7]), guidance_scale=2.5)

    def predictions(generator, x, t, labels):
        return network(x, t, labels), network(x, t), guided(x, t)

    run = conditional.compiled_function(("dit_guidance_check",), predictions)
    x = np.random.default_rng(0).standard_normal((3, 8, 8, 1)).astype("float32")
    outputs = run(keras.random.SeedGenerator(0), x, np.array([3.0, 20.0, 45.0], "float32"), np.array([1, 4, 7]))
    labelled, unlabelled, combined = (numpy(output) for output in outputs)
    assert np.abs(labelled - unlabelled).max() > 1e-4
    np.testing.assert_allclose(combined, unlabelled + 2.5 * (labelled - unlabelled), atol=1e-5)


def test_keras_file_gives_identical_samples(conditional, tmp_path):
    x, y = digits(16, with_labels=True)
    check_keras_round_trip(conditional, (2.0 * x - 1.0, y), tmp_path, dict(labels=np.arange(5)))


def test_bad_inputs_raise_clear_errors(conditional):
    with pytest.raises(ValueError, match=r"DiTConfig: `patch_size` must be a divisor of the height and width of "
                                         r"input_shape \(10x10\), got 4"):  # fmt: skip
        DiT(**dict(TINY, input_shape=(10, 10, 1), patch_size=4))
    with pytest.raises(ValueError, match=r"DiTConfig: `num_heads` must be a divisor of hidden_size \(32\), got 5"):
        DiT(**dict(TINY, num_heads=5))
    with pytest.raises(ValueError, match=r"DiTConfig: `hidden_size` must be a multiple of 4"):
        DiT(**dict(TINY, hidden_size=30, num_heads=5))
    with pytest.raises(ValueError, match=r"DiTConfig: `mlp_ratio` must be a finite number in \(0.0, inf\], got -1"):
        DiT(**dict(TINY, mlp_ratio=-1.0))
    with pytest.raises(ValueError, match=r"DiTConfig: `sampling_steps` must be an int of at most num_timesteps"):
        DiT(**dict(TINY, sampling_steps=80))
    with pytest.raises(ValueError, match=r"DiT: unknown argument 'channels'"):
        DiT(**dict(TINY, channels=(8,)))
    with pytest.raises(ValueError, match=r"`guidance_scale` needs a class-conditional DiT"):
        DiT(**TINY).generate(2, guidance_scale=2.0)
    with pytest.raises(ValueError, match=r"DiT.generate: `labels` must lie in \[0, 9\], got values in \[0, 10\]"):
        conditional.generate(2, labels=np.array([0, 10]))
    with pytest.raises(ValueError, match=r"DiT.fit: `y` \(class labels\) is required"):
        conditional.fit(digits(64), epochs=1, verbose=0)
