import math

import keras
import numpy as np
import pytest
from keras import ops

import artifex_keras as ak
from artifex_keras.models import FlowMatching
from artifex_keras.models.diffusion import FlowMatchingConfig
from artifex_keras.models.diffusion.flow_matching import TIME_SCALE
from artifex_keras.models.diffusion.flow_matching import minibatch_ot_permutation
from artifex_keras.samplers import DDIMSampler
from artifex_keras.samplers import ODEEulerSampler
from artifex_keras.samplers import ODEHeunSampler
from artifex_keras.samplers import ODEMidpointSampler
from artifex_keras.samplers import ODERK4Sampler
from tests.checks import digits
from tests.checks import run_model_checks
from tests.checks.diffusion import TINY_UNET

VECTOR = dict(input_shape=(2,), hidden_dims=(32, 32), ema_decay=None, sampling_steps=3, seed=0)
IMAGE = dict(
    TINY_UNET,
    ema_decay=None,
    rescale=True,
    sampling_steps=3,
    seed=0,
)


def numpy(tensor):
    return np.asarray(ops.convert_to_numpy(tensor), dtype=np.float64)


def toy(count, seed=0, with_labels=False):
    x, y = ak.data.toy.sample("eight_gaussians", count, seed=seed, with_labels=True)
    return (x, y) if with_labels else x


def numpy_velocity(model, x, t, labels=None):
    """The MLP velocity network in float64 NumPy, from its weights: an independent forward pass."""
    network = model.velocity_network

    def dense(layer, h):
        kernel, bias = (numpy(w) for w in layer.weights)
        return h @ kernel + bias

    def silu(h):
        return h / (1.0 + np.exp(-h))

    half = 32  # frequency_dim 64 of the MLP's time embedding
    frequencies = np.exp(-math.log(10000.0) * np.arange(half) / half)
    angles = (TIME_SCALE * t)[:, None] * frequencies[None, :]
    features = np.concatenate([np.cos(angles), np.sin(angles)], axis=1)
    embedding = dense(network.time_embedding.output_dense, silu(dense(network.time_embedding.hidden, features)))
    h = dense(network.input_dense, x) + embedding
    if labels is not None:
        h = h + numpy(network.label_embedding.embeddings)[labels]
    h = silu(h)
    for layer in network.hidden:
        h = silu(dense(layer, h))
    return dense(network.output_dense, h)


@pytest.mark.slow
def test_flow_matching_model_checks(tmp_path):
    model = run_model_checks(FlowMatching, VECTOR, toy(256), tmp_path=tmp_path)
    assert "flow_matching" in ak.list_models()
    assert model.default_sampler() == ODEEulerSampler(steps=3)
    assert model.ema_velocity_network is None and model.sampling_network is model.velocity_network


@pytest.mark.slow
def test_flow_matching_image_model_checks(tmp_path):
    model = run_model_checks(FlowMatching, IMAGE, digits(), tmp_path=tmp_path, value_range=(0.0, 1.0))
    assert model.generate(3, seed=0, sampler=ODEMidpointSampler(steps=2)).shape == (3, 8, 8, 1)


def test_loss_equals_a_numpy_recomputation():
    sigma_min = 0.1
    model = FlowMatching(**dict(VECTOR, hidden_dims=(16, 8), sigma_min=sigma_min))
    rng = np.random.default_rng(0)
    noise, data = rng.standard_normal((2, 6, 2)).astype("float32")
    t = np.array([0.0, 0.1, 0.35, 0.5, 0.9, 1.0], "float32")
    x_t = (1 - (1 - sigma_min) * t[:, None]) * noise + t[:, None] * data
    target = data - (1 - sigma_min) * noise
    expected = np.mean((numpy_velocity(model, x_t.astype(np.float64), t.astype(np.float64)) - target) ** 2)
    assert expected > 0.1
    np.testing.assert_allclose(numpy(model.flow_matching_loss(noise, data, t)), expected, rtol=1e-5)
    # `call` is the same velocity, at times in [0, 1] (float32 sinusoids of 1000 t: about 1e-6 off).
    np.testing.assert_allclose(numpy(model(x_t, t=t)), numpy_velocity(model, x_t, t.astype(np.float64)), atol=1e-5)


@pytest.mark.parametrize("coupling", ["independent", "minibatch_ot"])
def test_training_loss_pairs_as_configured(coupling):
    model = FlowMatching(**dict(VECTOR, coupling=coupling, timestep_sampling="logit_normal", logit_mean=0.5))
    data = toy(16)
    state = numpy(model.seed_generator.state).astype("int64")
    loss, logs = model.compute_generative_loss(data, training=False)
    # Replay the step's draws: the noise, its pairing, then the times.
    model.seed_generator.state.assign(ops.cast(state, model.seed_generator.state.dtype))
    noise = keras.random.normal((16, 2), seed=model.seed_generator)
    if coupling == "minibatch_ot":
        noise = ops.take(noise, minibatch_ot_permutation(noise, data), axis=0)
    normal = keras.random.normal((16,), seed=model.seed_generator)
    t = 1.0 / (1.0 + np.exp(-(0.5 + numpy(normal))))
    np.testing.assert_allclose(numpy(loss), numpy(model.flow_matching_loss(noise, data, t)), rtol=1e-6)
    # Given pairs are used as they are, whatever the coupling: only the times are drawn.
    pairs = {"data": data, "noise": np.flip(data, axis=0).copy()}
    model.seed_generator.state.assign(ops.cast(state, model.seed_generator.state.dtype))
    paired, _ = model.compute_generative_loss(pairs, training=False)
    model.seed_generator.state.assign(ops.cast(state, model.seed_generator.state.dtype))
    t = model.sample_times(16)
    np.testing.assert_allclose(numpy(paired), numpy(model.flow_matching_loss(pairs["noise"], data, t)), rtol=1e-6)


def test_ot_coupling_undoes_a_permutation():
    rng = np.random.default_rng(3)
    data = (rng.standard_normal((24, 3)) * 2.0).astype("float32")
    shuffle = rng.permutation(24)
    noise = data[shuffle] + 1e-3 * rng.standard_normal((24, 3)).astype("float32")
    permutation = ops.convert_to_numpy(minibatch_ot_permutation(noise, data))
    # noise[p] is data again: p inverts the shuffle.
    np.testing.assert_array_equal(shuffle[permutation], np.arange(24))


def test_ot_coupling_shortens_the_pairs():
    from scipy.optimize import linear_sum_assignment

    data = toy(128, seed=1)
    noise = np.random.default_rng(4).standard_normal((128, 2)).astype("float32")
    permutation = ops.convert_to_numpy(minibatch_ot_permutation(noise, data))
    assert sorted(permutation.tolist()) == list(range(128))
    cost = ((noise[:, None] - data[None]) ** 2).sum(-1)
    independent = cost.diagonal().mean()
    coupled = cost[permutation, np.arange(128)].mean()
    rows, columns = linear_sum_assignment(cost)
    exact = cost[rows, columns].mean()
    # Independent pairs: E|x0 - x1|^2 = 2 + 8 + 0.25 (about 11); the assignment cuts it by 4x, near the optimum.
    assert coupled < 0.35 * independent, (coupled, independent)
    assert coupled < 1.05 * exact, (coupled, exact)


@pytest.fixture(scope="module")
def conditional():
    x, y = toy(256, with_labels=True)
    model = FlowMatching(**dict(VECTOR, num_classes=8, class_dropout=0.2, sigma_min=0.01))
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    history = model.fit(x, y, epochs=2, batch_size=64, verbose=0).history["loss"]
    assert np.all(np.isfinite(history)) and history[-1] < history[0], history
    return model


def test_guidance_scale_one_is_the_conditional_model(conditional):
    labels = np.arange(6) % 8
    plain = conditional.generate(6, seed=2, labels=labels)
    np.testing.assert_allclose(conditional.generate(6, seed=2, labels=labels, guidance_scale=1.0), plain, atol=2e-5)
    assert not np.allclose(conditional.generate(6, seed=2, labels=labels, guidance_scale=4.0), plain, atol=1e-3)
    assert not np.allclose(conditional.generate(6, seed=2, labels=(labels + 1) % 8), plain, atol=1e-3)
    x = np.random.default_rng(0).standard_normal((3, 2)).astype("float32")
    t = np.array([0.1, 0.5, 0.9], "float32")
    given = np.array([1, 4, 7])
    guided = numpy(conditional.velocity_function(ops.convert_to_tensor(given), guidance_scale=2.5)(x, t))
    labelled = numpy_velocity(conditional, x, t.astype(np.float64), given)
    unlabelled = numpy_velocity(conditional, x, t.astype(np.float64), np.full(3, 8))
    np.testing.assert_allclose(guided, unlabelled + 2.5 * (labelled - unlabelled), atol=2e-5)


def test_conditional_reflow_and_errors(conditional):
    pairs = conditional.reflow_pairs(8, seed=0, labels=np.arange(8))
    np.testing.assert_allclose(pairs["data"], conditional.transport(pairs["noise"], labels=np.arange(8)), atol=1e-6)
    with pytest.raises(ValueError, match=r"FlowMatching.generate: `labels` must lie in \[0, 7\], got values in \[0, 8"):
        conditional.generate(2, labels=np.array([0, 8]))
    with pytest.raises(ValueError, match=r"FlowMatching.reflow_pairs: `labels` is required"):
        conditional.reflow_pairs(2)
    with pytest.raises(ValueError, match=r"FlowMatching.fit: `y` \(class labels\) is required"):
        conditional.fit(toy(64), epochs=1, verbose=0)


def test_ema_is_what_generate_uses_and_what_keras_files_save(tmp_path):
    decay = 0.75
    model = FlowMatching(**dict(VECTOR, ema_decay=decay))
    online, shadow = model.velocity_network.trainable_variables, model.ema_velocity_network.weights
    assert all(not v.trainable for v in shadow) and not any(v is w for v in online for w in shadow)
    before = [numpy(v).copy() for v in online]
    model.compile(optimizer=keras.optimizers.SGD(0.5))
    model.train_on_batch(toy(32))
    # One step: shadow = d * before + (1 - d) * after, d warmed up at the first step.
    decay = min(decay, 2.0 / 11.0)
    moved = 0.0
    for variable, start, average in zip(online, before, shadow):
        after = numpy(variable)
        np.testing.assert_allclose(numpy(average), decay * start + (1 - decay) * after, rtol=1e-5, atol=1e-6)
        moved = max(moved, np.abs(after - start).max())
    assert moved > 1e-3
    samples = model.generate(4, seed=1)
    for variable in online:
        variable.assign(numpy(variable) * 3.0 + 0.1)
    np.testing.assert_array_equal(model.generate(4, seed=1), samples)
    path = str(tmp_path / "ema.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    for got, want in zip(loaded.ema_velocity_network.weights, model.ema_velocity_network.weights):
        np.testing.assert_array_equal(numpy(got), numpy(want))
    assert loaded.sampling_network is loaded.ema_velocity_network
    np.testing.assert_array_equal(loaded.generate(4, seed=1), samples)
    for variable in model.ema_velocity_network.weights:
        variable.assign(numpy(variable) * 0.5)
    assert not np.allclose(model.generate(4, seed=1), samples)


def test_reflow_pairs_are_deterministic_ode_endpoints():
    model = FlowMatching(**VECTOR)
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    model.fit(toy(256), epochs=1, batch_size=64, verbose=0)
    sampler = ODEEulerSampler(steps=4)
    pairs = model.reflow_pairs(10, seed=3, sampler=sampler, batch_size=4)
    again = model.reflow_pairs(10, seed=3, sampler=sampler)
    np.testing.assert_array_equal(pairs["noise"], again["noise"])
    np.testing.assert_allclose(pairs["data"], again["data"], atol=1e-6)
    # Euler's steps through the network, in float64 NumPy.
    x = pairs["noise"].astype(np.float64)
    for k in range(4):
        x = x + 0.25 * numpy_velocity(model, x, np.full(10, k / 4))
    np.testing.assert_allclose(pairs["data"], x, atol=2e-5)
    # `generate` draws the same noise from the same seed.
    np.testing.assert_allclose(model.generate(10, seed=3, sampler=sampler), pairs["data"], atol=1e-5)
    # The pairs train the model as they are (2-rectified flow).
    weights = [numpy(v) for v in model.trainable_variables]
    history = model.fit(model.reflow_pairs(128, seed=4), epochs=1, batch_size=64, verbose=0).history["loss"]
    assert np.isfinite(history[0]) and history[0] < 0.5, history
    assert any(not np.allclose(numpy(v), w) for v, w in zip(model.trainable_variables, weights))


def test_trajectories_come_back():
    model = FlowMatching(**IMAGE)
    samples, trajectory = model.generate(5, seed=4, sampler=ODEHeunSampler(steps=2), batch_size=3,
                                         return_trajectory=True)  # fmt: skip
    assert trajectory.shape == (3, 5, 8, 8, 1)
    np.testing.assert_allclose(np.clip(trajectory[-1], 0.0, 1.0), samples, atol=1e-6)
    assert samples.min() >= 0.0 and samples.max() <= 1.0
    # The first state is the standard normal noise, mapped to data space: (z + 1) / 2.
    assert abs(trajectory[0].mean() - 0.5) < 0.1 and 0.35 < trajectory[0].std() < 0.65


@pytest.mark.slow
def test_training_moves_samples_to_the_toy_density():
    data = toy(8192, seed=0)
    reference = toy(1024, seed=1)
    model = FlowMatching(input_shape=(2,), hidden_dims=(64, 64), coupling="minibatch_ot", ema_decay=0.99, seed=0)
    sampler = ODERK4Sampler(steps=10)
    before = ak.metrics.energy_distance(model.generate(1024, seed=0, sampler=sampler), reference)
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    model.fit(data, epochs=10, batch_size=256, verbose=0)  # 320 steps
    after = ak.metrics.energy_distance(model.generate(1024, seed=0, sampler=sampler), reference)
    assert after < 0.05 * before and after < 0.1, (before, after)
    # Reflow straightens the flow: one Euler step lands closer to the many-step endpoints than before.
    noise = np.random.default_rng(5).standard_normal((512, 2)).astype("float32")

    def one_step_gap():
        return np.mean(np.sum((model.transport(noise, ODEEulerSampler(1)) - model.transport(noise, sampler)) ** 2, 1))

    first = one_step_gap()
    model.fit(model.reflow_pairs(8192, seed=1, sampler=sampler), epochs=10, batch_size=256, verbose=0)
    assert one_step_gap() < 0.5 * first, (first, one_step_gap())


def test_bad_inputs_raise_clear_errors():
    model = FlowMatching(**VECTOR)
    with pytest.raises(ValueError, match=r"FlowMatching.generate: `sampler` must be a ODESampler for FlowMatching"):
        model.generate(2, sampler=DDIMSampler(steps=3))
    with pytest.raises(ValueError, match=r"ODERK4Sampler: `steps` must be a positive int, got 0"):
        model.generate(2, sampler={"class_name": "ode_rk4", "config": {"steps": 0}})
    with pytest.raises(ValueError, match=r"FlowMatchingConfig: `coupling` must be one of 'independent', "
                                         r"'minibatch_ot', got 'sinkhorn'"):  # fmt: skip
        FlowMatching(**dict(VECTOR, coupling="sinkhorn"))
    with pytest.raises(ValueError, match=r"FlowMatchingConfig: `input_shape` must be \(features,\) or \(height, "):
        FlowMatching(**dict(VECTOR, input_shape=(4, 4)))
    with pytest.raises(ValueError, match=r"FlowMatchingConfig: `sigma_min` must be a finite number in \[0.0, 1.0\)"):
        FlowMatching(**dict(VECTOR, sigma_min=1.0))
    with pytest.raises(ValueError, match=r"FlowMatchingConfig: `input_shape` must be a shape whose height and width"):
        FlowMatching(**dict(IMAGE, input_shape=(10, 10, 1), channels=(8, 8, 8)))
    with pytest.raises(ValueError, match=r"`guidance_scale` needs a class-conditional FlowMatching"):
        model.generate(2, guidance_scale=2.0)
    with pytest.raises(ValueError, match=r"FlowMatching.fit: paired batches must be a dict with keys 'data' and "
                                         r"'noise' \(see reflow_pairs\), got keys \['data', 'x0'\]"):  # fmt: skip
        model.fit({"data": toy(8), "x0": toy(8)}, verbose=0)
    with pytest.raises(ValueError, match=r"FlowMatching.fit: x\['noise'\] and x\['data'\] must hold as many"):
        model.fit({"data": toy(8), "noise": toy(6)}, verbose=0)
    with pytest.raises(ValueError, match=r"FlowMatching.transport: `noise` must have shape \(batch, 2\), got shape"):
        model.transport(np.zeros((3, 3), "float32"))
    with pytest.raises(ValueError, match=r"ODEEulerSampler: `steps` must be a positive int, got -1"):
        ODEEulerSampler(steps=-1)


def test_images_are_rescaled_by_default_and_vectors_are_not():
    images, points = FlowMatchingConfig(input_shape=(8, 8, 1)), FlowMatchingConfig(input_shape=(2,))
    assert (images.rescale, points.rescale) == (True, False)
    assert FlowMatchingConfig(input_shape=(8, 8, 1), rescale=False).rescale is False
    assert FlowMatchingConfig.from_dict(images.to_dict()) == images
    # Rescaled images go through the flow in [-1, 1] and come back clipped to [0, 1].
    model = FlowMatching(input_shape=(8, 8, 1), channels=(8, 8), num_res_blocks=1, attention_levels=(), num_groups=4,
                         head_dim=8)
    assert model.data_range == (0.0, 1.0)
    samples = model.generate(4, seed=0, sampler=ODEEulerSampler(steps=2))
    assert samples.min() >= 0.0 and samples.max() <= 1.0
