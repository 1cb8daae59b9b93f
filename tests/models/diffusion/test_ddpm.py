import keras
import numpy as np
import pytest

import artifex_keras as ak
from artifex_keras.models import DDPM
from artifex_keras.samplers import DDIMSampler
from artifex_keras.samplers import DDPMSampler
from artifex_keras.samplers import TopKSampler
from tests.checks import digits
from tests.checks import run_model_checks
from tests.checks.diffusion import TINY_UNET

TINY = dict(TINY_UNET, num_timesteps=50, ema_decay=None, sampling_steps=3, seed=0)
FAST = {}


def numpy(tensor):
    return keras.ops.convert_to_numpy(tensor)


@pytest.mark.slow
def test_ddpm_model_checks(tmp_path):
    model = run_model_checks(DDPM, TINY, digits(), tmp_path=tmp_path, value_range=(0.0, 1.0))
    assert "ddpm" in ak.list_models()
    assert model.default_sampler() == DDIMSampler(steps=3, eta=0.0)
    assert model.ema_denoiser is None and model.sampling_network is model.denoiser


def test_ema_is_what_generate_uses_and_what_keras_files_save(tmp_path):
    decay = 0.75
    model = DDPM(**dict(TINY, ema_decay=decay))
    online, shadow = model.denoiser.trainable_variables, model.ema_denoiser.weights
    assert all(not v.trainable for v in shadow) and not any(v is w for v in online for w in shadow)
    for source, target in zip(model.denoiser.weights, shadow):
        np.testing.assert_array_equal(numpy(source), numpy(target))
    before = [numpy(v).copy() for v in online]
    model.compile(optimizer=keras.optimizers.SGD(0.5))
    model.train_on_batch(digits(32))
    # One step from equal weights: shadow = d * before + (1 - d) * after, d warmed up at the first step.
    decay = min(decay, 2.0 / 11.0)
    moved = 0.0
    for variable, start, average in zip(online, before, model.ema_denoiser.trainable_weights or shadow):
        after = numpy(variable)
        np.testing.assert_allclose(numpy(average), decay * start + (1 - decay) * after, rtol=1e-5, atol=1e-6)
        moved = max(moved, np.abs(after - start).max())
    assert moved > 1e-3
    samples = model.generate(4, seed=1, **FAST)
    # The trained weights do not enter `generate`; the averaged ones do.
    for variable in online:
        variable.assign(numpy(variable) * 3.0 + 0.1)
    np.testing.assert_array_equal(model.generate(4, seed=1, **FAST), samples)
    path = str(tmp_path / "ema.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    for got, want in zip(loaded.ema_denoiser.weights, model.ema_denoiser.weights):
        np.testing.assert_array_equal(numpy(got), numpy(want))
    assert loaded.sampling_network is loaded.ema_denoiser
    for variable in model.ema_denoiser.weights:
        variable.assign(numpy(variable) * 0.5)
    assert not np.allclose(model.generate(4, seed=1, **FAST), samples)


@pytest.fixture(scope="module")
def conditional():
    x, y = digits(with_labels=True)
    model = DDPM(
        **dict(TINY, num_classes=10, class_dropout=0.2, prediction="v", loss_weighting="min_snr"),
        timestep_sampling="logit_normal",
        schedule="cosine",
    )
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    history = model.fit(x, y, epochs=3, batch_size=64, verbose=0).history["loss"]
    assert np.all(np.isfinite(history)) and history[-1] < history[0], history
    return model


def test_guidance_scale_one_is_the_conditional_model(conditional):
    labels = np.arange(6) % 10
    plain = conditional.generate(6, seed=2, labels=labels, **FAST)
    guided = conditional.generate(6, seed=2, labels=labels, guidance_scale=1.0, **FAST)
    np.testing.assert_allclose(guided, plain, atol=2e-5)
    assert not np.allclose(conditional.generate(6, seed=2, labels=labels, guidance_scale=4.0, **FAST), plain, atol=1e-3)
    # Labels steer the samples.
    assert not np.allclose(conditional.generate(6, seed=2, labels=(labels + 1) % 10, **FAST), plain, atol=1e-3)


def test_guidance_combines_the_two_predictions(conditional):
    network = conditional.sampling_network
    guided = conditional.denoiser_function(keras.ops.convert_to_tensor([1, 4, 7]), guidance_scale=2.5)

    def predictions(generator, x, t, labels):
        return network(x, t, labels), network(x, t, keras.ops.full((3,), 10, dtype="int32")), guided(x, t)

    run = conditional.compiled_function(("guidance_check",), predictions)
    x = np.random.default_rng(0).standard_normal((3, 8, 8, 1)).astype("float32")
    outputs = run(keras.random.SeedGenerator(0), x, np.array([3.0, 20.0, 45.0], "float32"), np.array([1, 4, 7]))
    labelled, unlabelled, combined = (numpy(output) for output in outputs)
    np.testing.assert_allclose(combined, unlabelled + 2.5 * (labelled - unlabelled), atol=1e-5)


def test_conditional_errors(conditional):
    with pytest.raises(ValueError, match=r"DDPM.generate: `labels` must lie in \[0, 9\], got values in \[0, 10\]"):
        conditional.generate(2, labels=np.array([0, 10]), **FAST)
    with pytest.raises(ValueError, match=r"DDPM.generate: `labels` is required"):
        conditional.generate(2, **FAST)
    with pytest.raises(ValueError, match=r"`guidance_scale` must be a finite number or None, got inf"):
        conditional.generate(2, labels=0, guidance_scale=float("inf"), **FAST)
    with pytest.raises(ValueError, match=r"DDPM.fit: `y` \(class labels\) is required"):
        conditional.fit(digits(64), epochs=1, verbose=0)


def test_trajectories_come_back():
    model = DDPM(**TINY)
    samples, trajectory = model.generate(5, seed=4, sampler=DDPMSampler(steps=3), batch_size=3, return_trajectory=True)
    assert trajectory.shape == (4, 5, 8, 8, 1)
    np.testing.assert_allclose(np.clip(trajectory[-1], 0.0, 1.0), samples, atol=1e-6)
    assert np.all(np.isfinite(trajectory))


def test_clip_x0_keeps_every_state_in_the_data_range():
    clipped = DDPM(**dict(TINY, clip_x0=1.0))
    assert clipped.default_sampler() == DDIMSampler(steps=3, eta=0.0, clip_x0=1.0)
    _, trajectory = clipped.generate(8, seed=1, return_trajectory=True)
    # The untrained network's x0 predictions leave [-1, 1] by far; clipped, the last state is in [0, 1].
    assert trajectory[-1].min() >= -1e-6 and trajectory[-1].max() <= 1 + 1e-6
    _, free = DDPM(**TINY).generate(8, seed=1, return_trajectory=True)
    assert free[-1].min() < -0.5 or free[-1].max() > 1.5


def test_bad_inputs_raise_clear_errors():
    model = DDPM(**TINY)
    with pytest.raises(ValueError, match=r"DDPM.generate: `sampler` must be a DiffusionSampler for DDPM, got TopK"):
        model.generate(2, sampler=TopKSampler(k=3))
    with pytest.raises(ValueError, match=r"DDIMSampler `steps` must be at most the schedule's num_timesteps \(50\)"):
        model.generate(2, sampler=DDIMSampler(steps=80))
    with pytest.raises(ValueError, match=r"DDIMSampler: `steps` must be a positive int, got 0"):
        model.generate(2, sampler={"class_name": "ddim", "config": {"steps": 0}})
    with pytest.raises(ValueError, match=r"`guidance_scale` needs a class-conditional DDPM"):
        model.generate(2, guidance_scale=2.0)
    with pytest.raises(ValueError, match=r"DDPMConfig: `input_shape` must be a shape whose height and width are "
                                         r"divisible by 2 \*\* \(len\(channels\) - 1\) = 4"):  # fmt: skip
        DDPM(**dict(TINY, input_shape=(10, 10, 1), channels=(8, 8, 8)))
    with pytest.raises(ValueError, match=r"DDPMConfig: `prediction` must be one of 'epsilon', 'x0', 'v', got 'score'"):
        DDPM(**dict(TINY, prediction="score"))
    with pytest.raises(ValueError, match=r"DDPMConfig: `ema_decay` must be a finite number in \[0.0, 1.0\)"):
        DDPM(**dict(TINY, ema_decay=1.0))
    with pytest.raises(ValueError, match=r"DDPMConfig: `clip_x0` must be a finite number in \(0.0, inf\], got -1.0"):
        DDPM(**dict(TINY, clip_x0=-1.0))
