import math

import keras
import numpy as np
import pytest

import artifex_keras as ak
from artifex_keras.models import ScoreSDE
from artifex_keras.samplers import VESDE
from artifex_keras.samplers import VPSDE
from artifex_keras.samplers import DDIMSampler
from artifex_keras.samplers import EulerMaruyamaSampler
from artifex_keras.samplers import PredictorCorrectorSampler
from artifex_keras.samplers import ProbabilityFlowSampler
from artifex_keras.samplers import ReverseDiffusionSampler
from artifex_keras.samplers import SubVPSDE
from tests.checks import check_config_round_trip
from tests.checks import check_keras_round_trip
from tests.checks import digits
from tests.checks import run_model_checks
from tests.checks.diffusion import TINY_UNET

TINY = dict(
    TINY_UNET,
    ema_decay=None,
    sampling_steps=3,
    seed=0,
)
# 4x4 images: the exact divergence takes 16 passes.
SMALL = dict(TINY, input_shape=(4, 4, 1))


def numpy(tensor):
    return keras.ops.convert_to_numpy(tensor).astype(np.float64)


def closed_form(sde, t):
    """`(m(t), s(t), g(t))` in float64 from the paper's formulas."""
    if sde == "ve":
        sigma = 0.01 * 5000.0**t
        return np.ones_like(t), np.sqrt(sigma**2 - 0.01**2), sigma * np.sqrt(2 * np.log(5000.0))
    beta = 0.1 + t * 19.9
    mean = np.exp(-0.25 * t**2 * 19.9 - 0.05 * t)
    if sde == "vp":
        return mean, np.sqrt(1 - mean**2), np.sqrt(beta)
    return mean, 1 - mean**2, np.sqrt(beta * (1 - mean**4))


@pytest.mark.slow
def test_score_sde_model_checks(tmp_path):
    model = run_model_checks(ScoreSDE, TINY, digits(), tmp_path=tmp_path, value_range=(0.0, 1.0))
    assert model.default_sampler() == PredictorCorrectorSampler(steps=3, corrector_steps=1, snr=0.16)


@pytest.mark.parametrize("kind, sde", [("vp", VPSDE()), ("ve", VESDE()), ("subvp", SubVPSDE(beta_max=10.0))])
def test_config_builds_the_sde(kind, sde):
    kwargs = dict(TINY, sde=kind, beta_max=10.0) if kind == "subvp" else dict(TINY, sde=kind)
    model = check_config_round_trip(ScoreSDE, kwargs)
    assert model.sde == sde
    assert "score_sde" in ak.list_models()
    assert ScoreSDE(**dict(TINY, eps=1e-2)).sde.eps == 1e-2


@pytest.mark.parametrize("kind, weighting", [("vp", "sigma2"), ("ve", "likelihood"), ("subvp", "likelihood")])
def test_loss_equals_a_recomputation(kind, weighting):
    model = ScoreSDE(**dict(SMALL, sde=kind, loss_weighting=weighting))
    x = digits(8)[:, :4, :4]
    state = numpy(model.seed_generator.state).astype("int64")
    loss, _ = model.compute_generative_loss(x, training=False)
    # Replay the step's draws: the times, then the noise.
    model.seed_generator.state.assign(keras.ops.cast(state, model.seed_generator.state.dtype))
    eps = model.sde.eps
    t = eps + (1 - eps) * numpy(keras.random.uniform((8,), seed=model.seed_generator))
    noise = numpy(keras.random.normal((8, 4, 4, 1), seed=model.seed_generator))
    mean, std, g = closed_form(kind, t)
    x0 = 2.0 * x - 1.0
    x_t = mean[:, None, None, None] * x0 + std[:, None, None, None] * noise
    output = numpy(model.score_network(x_t.astype("float32"), (999.0 * t).astype("float32")))
    weight = (g / std) ** 2 if weighting == "likelihood" else np.ones(8)
    expected = np.mean(weight * np.mean((output - noise) ** 2, axis=(1, 2, 3)))
    np.testing.assert_allclose(numpy(loss), expected, rtol=2e-4)
    # `call` is the score: minus the predicted noise over s(t).
    score = numpy(model(x_t.astype("float32"), t=t.astype("float32")))
    np.testing.assert_allclose(score, -output / std[:, None, None, None], rtol=2e-4, atol=1e-5)


@pytest.mark.slow
def test_ema_is_what_generate_uses_and_what_keras_files_save(tmp_path):
    decay = 0.75
    model = ScoreSDE(**dict(SMALL, ema_decay=decay))
    fast = {"sampler": EulerMaruyamaSampler(steps=2)}
    online = model.score_network.trainable_variables
    before = [numpy(v).copy() for v in online]
    model.compile(optimizer=keras.optimizers.SGD(0.5))
    model.train_on_batch(digits(32)[:, :4, :4])
    moved = 0.0
    for variable, start, average in zip(online, before, model.ema_score_network.trainable_weights or
                                        model.ema_score_network.weights):  # fmt: skip
        after = numpy(variable)
        np.testing.assert_allclose(numpy(average), decay * start + (1 - decay) * after, rtol=1e-5, atol=1e-6)
        moved = max(moved, np.abs(after - start).max())
    assert moved > 1e-3
    samples = model.generate(4, seed=1, **fast)
    for variable in online:
        variable.assign(numpy(variable) * 3.0 + 0.1)
    np.testing.assert_array_equal(model.generate(4, seed=1, **fast), samples)
    # `.keras` files keep the averaged weights, so generate is identical.
    loaded = check_keras_round_trip(model, digits(4)[:, :4, :4], tmp_path, generate_kwargs=fast)
    assert loaded.sampling_network is loaded.ema_score_network
    for variable in model.ema_score_network.weights:
        variable.assign(numpy(variable) * 0.5)
    assert not np.allclose(model.generate(4, seed=1, **fast), samples)


@pytest.mark.parametrize(
    "sampler",
    [
        PredictorCorrectorSampler(steps=2, corrector_steps=2, snr=0.1),
        pytest.param(EulerMaruyamaSampler(steps=3), marks=pytest.mark.slow),
        pytest.param(ReverseDiffusionSampler(steps=3), marks=pytest.mark.slow),
        ProbabilityFlowSampler(steps=3, solver="heun"),
    ],
    ids=["pc", "euler_maruyama", "reverse_diffusion", "probability_flow"],
)
def test_generate_with_each_sampler(sampler):
    model = ScoreSDE(**dict(SMALL, sde="ve"))
    samples, trajectory = model.generate(5, seed=4, sampler=sampler, batch_size=3, return_trajectory=True)
    assert samples.shape == (5, 4, 4, 1) and samples.min() >= 0.0 and samples.max() <= 1.0
    assert trajectory.shape == (sampler.steps + 1, 5, 4, 4, 1) and np.all(np.isfinite(trajectory))
    np.testing.assert_allclose(np.clip(trajectory[-1], 0.0, 1.0), samples, atol=1e-6)
    # The trajectory starts from the VE prior N(0, 50^2), seen in data space: (x + 1) / 2.
    assert 15.0 < trajectory[0].std() < 35.0
    again = model.generate(5, seed=4, sampler=sampler, batch_size=3, return_trajectory=True)[0]
    np.testing.assert_array_equal(again, samples)
    assert not np.array_equal(model.generate(5, seed=5, sampler=sampler, batch_size=3, return_trajectory=True)[0],
                              samples)  # fmt: skip


@pytest.mark.slow
def test_hutchinson_log_prob_averages_to_the_exact_divergence():
    model = ScoreSDE(**dict(SMALL, rescale=False))
    x = np.random.default_rng(0).uniform(-1, 1, (3, 4, 4, 1)).astype("float32")
    sampler = ProbabilityFlowSampler(steps=2, solver="heun")
    exact = model.log_prob(x, sampler=sampler, estimator="exact")
    assert exact.shape == (3,) and np.all(np.isfinite(exact))
    # Hutchinson's estimate is unbiased: many probes average to the exact divergence.
    repeated = np.repeat(x[:1], 48, axis=0)
    estimates = model.log_prob(repeated, sampler=sampler, num_probes=4, seed=1)
    assert estimates.std() > 0
    assert abs(estimates.mean() - exact[0]) < 4 * estimates.std() / np.sqrt(48) + 1e-4
    np.testing.assert_array_equal(model.log_prob(repeated, sampler=sampler, num_probes=4, seed=1), estimates)


def test_bits_per_dim_dequantises_and_rescales():
    model = ScoreSDE(**SMALL)
    raw = ScoreSDE(**dict(SMALL, rescale=False))
    raw.set_weights(model.get_weights())
    x = np.round(np.random.default_rng(1).uniform(0, 1, (3, 4, 4, 1)) * 255).astype("float32") / 255
    sampler = ProbabilityFlowSampler(steps=1, solver="euler")
    log_prob = model.log_prob(x, sampler=sampler, estimator="exact", seed=5)
    # The same uniform draws: (k + u) / 256, then y = 2 x - 1 with log 2 per dimension.
    u = numpy(keras.random.uniform(x.shape, seed=keras.random.SeedGenerator(5)))
    dequantised = (np.round(x * 255) + u) / 256
    expected = raw.log_prob((2 * dequantised - 1).astype("float32"), sampler=sampler, estimator="exact")
    np.testing.assert_allclose(log_prob, expected + 16 * math.log(2.0), rtol=1e-5)
    bits = model.bits_per_dim(x, sampler=sampler, estimator="exact", seed=5)
    np.testing.assert_allclose(bits, (-log_prob + 16 * math.log(256.0)) / (16 * math.log(2.0)), rtol=1e-5)
    assert model.dequantization_scale == "unit" and raw.dequantization_scale is None


def test_classifier_free_guidance_combines_the_scores():
    model = ScoreSDE(**dict(SMALL, num_classes=3, rescale=False))
    labels = keras.ops.convert_to_tensor(np.array([0, 2]))
    x = np.random.default_rng(2).standard_normal((2, 4, 4, 1)).astype("float32")
    t = np.array([0.3, 0.8], "float32")
    conditional = numpy(model.score_function(labels)(x, t))
    unconditional = numpy(model.score_function(keras.ops.full((2,), 3, dtype="int32"))(x, t))
    guided = numpy(model.score_function(labels, guidance_scale=2.5)(x, t))
    np.testing.assert_allclose(guided, unconditional + 2.5 * (conditional - unconditional), rtol=1e-4, atol=1e-4)


@pytest.mark.slow
def test_conditional_log_prob_follows_the_labels():
    model = ScoreSDE(**dict(SMALL, num_classes=3, rescale=False))
    labels = keras.ops.convert_to_tensor(np.array([0, 2]))
    x = np.random.default_rng(2).standard_normal((2, 4, 4, 1)).astype("float32")
    # log p(x | y): the labels follow the examples through the probes' copies of the batch.
    sampler = ProbabilityFlowSampler(steps=1, solver="euler")
    log_p = model.log_prob(x, labels=np.array([0, 2]), sampler=sampler, num_probes=2)
    direct = sampler.log_prob(
        lambda y, t: model.score_function(keras.ops.tile(labels, (2,)))(y, t),
        model.sde,
        x,
        keras.random.SeedGenerator(0),
        num_probes=2,
    )
    np.testing.assert_allclose(log_p, numpy(direct), rtol=1e-5)


def test_bad_inputs_raise_clear_errors():
    model = ScoreSDE(**SMALL)
    x = digits(2)[:, :4, :4]
    with pytest.raises(ValueError, match=r"ScoreSDE.generate: `sampler` must be a SDESampler for ScoreSDE, got DDIM"):
        model.generate(2, sampler=DDIMSampler(steps=3))
    with pytest.raises(ValueError, match=r"ScoreSDE.log_prob: `sampler` must be a ProbabilityFlowSampler"):
        model.log_prob(x, sampler=EulerMaruyamaSampler(steps=3))
    with pytest.raises(ValueError, match=r"PredictorCorrectorSampler: `steps` must be a positive int, got 0"):
        model.generate(2, sampler={"class_name": "pc", "config": {"steps": 0}})
    with pytest.raises(ValueError, match=r"PredictorCorrectorSampler: `snr` must be a positive number, got -1"):
        model.generate(2, sampler={"class_name": "pc", "config": {"snr": -1}})
    with pytest.raises(ValueError, match=r"ScoreSDE.log_prob: `estimator` must be one of .*got 'hutch'"):
        model.log_prob(x, estimator="hutch")
    with pytest.raises(ValueError, match=r"ScoreSDE.log_prob: `num_probes` must be a positive int, got 0"):
        model.log_prob(x, num_probes=0)
    with pytest.raises(ValueError, match=r"bits/dim needs 8-bit image data in \[0, 1\] \(rescale=True\)"):
        ScoreSDE(**dict(SMALL, rescale=False)).bits_per_dim(x)
    with pytest.raises(ValueError, match=r"ScoreSDEConfig: `sde` must be one of 'vp', 've', 'subvp', got 'vpp'"):
        ScoreSDE(**dict(SMALL, sde="vpp"))
    with pytest.raises(ValueError, match=r"ScoreSDEConfig: `loss_weighting` must be one of 'sigma2', 'likelihood'"):
        ScoreSDE(**dict(SMALL, loss_weighting="snr"))
    with pytest.raises(ValueError, match=r"ScoreSDEConfig: `sampling_steps` must be a positive int, got 0"):
        ScoreSDE(**dict(SMALL, sampling_steps=0))
    with pytest.raises(ValueError, match=r"ScoreSDEConfig: `snr` must be a finite number in \(0.0, "):
        ScoreSDE(**dict(SMALL, snr=0.0))
    with pytest.raises(ValueError, match=r"ScoreSDEConfig: `sigma_max` must be a number above sigma_min \(0.01\)"):
        ScoreSDE(**dict(SMALL, sde="ve", sigma_max=0.001))
    with pytest.raises(ValueError, match=r"`guidance_scale` needs a class-conditional ScoreSDE"):
        model.generate(2, guidance_scale=2.0)
