import keras
import numpy as np
import pytest
from keras import ops

import artifex_keras as ak
from artifex_keras.models.gan import StyleGAN2
from tests.checks import digits
from tests.checks import run_model_checks
from tests.checks.sampling import check_sampling
from tests.checks.saving import check_keras_round_trip
from tests.checks.training import check_phases_update_their_variables
from tests.checks.training import numpy_values

# 8x8 grayscale, 4 channels: the model's logic at a fraction of the cost of 32x32 images.
TINY = dict(
    input_shape=(8, 8, 1),
    latent_dim=4,
    w_dim=4,
    mapping_layers=1,
    generator_channels=(4, 4),
    discriminator_channels=(4, 4),
    mbstd_group_size=2,
    r1_weight=0.0,
    ema_decay=0.0,
    seed=0,
)
X = digits(32)


def numpy(tensor):
    return np.array(ops.convert_to_numpy(tensor))


@pytest.fixture(scope="module")
def trained():
    """A model after three training steps with R1 every second step."""
    model = StyleGAN2(**{**TINY, "r1_weight": 1.0, "r1_interval": 2})
    model.compile()
    logs = [model.train_on_batch(X, return_dict=True) for _ in range(3)]
    return model, logs


def test_lazy_r1_runs_every_interval_and_training_tracks_the_average_w(trained):
    model, logs = trained
    assert [log["r1_penalty"] > 0 for log in logs] == [True, False, True]
    assert all(np.isfinite(log["discriminator_loss"]) and np.isfinite(log["generator_loss"]) for log in logs)
    assert int(numpy(model.optimizer.iterations)) == 3
    # The average w moved off its zero start in the generator phases.
    assert np.all(numpy(model.w_avg) != 0)


@pytest.mark.slow
def test_lazy_path_length_regularisation_runs_every_interval():
    model = StyleGAN2(**TINY, path_length_weight=1.0, path_length_interval=2, path_length_decay=0.5)
    model.compile()
    penalties, means = [], []
    for step in range(3):
        model.optimizer.iterations.assign(step)
        loss, logs = model.generator_loss(X[:4])
        penalties.append(float(numpy(logs["path_length_penalty"])))
        means.append(float(numpy(model.path_length_mean)))
    assert [p > 0 for p in penalties] == [True, False, True]
    # The running mean moves on regularised steps only.
    assert means[0] > 0 and means[1] == means[0] and means[2] != means[1]
    # Outside training, no state moves.
    model.generator_loss(X[:4], training=False)
    assert float(numpy(model.path_length_mean)) == means[2]


def test_lazy_regularisation_corrects_the_adam_settings():
    model = StyleGAN2(**{**TINY, "r1_weight": 1.0, "r1_interval": 16})
    optimizers = model.default_optimizers()
    d, g = optimizers["discriminator"], optimizers["generator"]
    ratio = 16 / 17
    assert float(numpy(d.learning_rate)) == pytest.approx(0.002 * ratio)
    assert d.beta_1 == 0.0 and d.beta_2 == pytest.approx(0.99**ratio)
    assert float(numpy(g.learning_rate)) == pytest.approx(0.002) and g.beta_1 == 0.0 and g.beta_2 == 0.99


def test_each_phase_updates_only_its_own_networks():
    # Without R1 here (its compiled double backward is slow on JAX); the lazy-R1 test trains with it.
    model = StyleGAN2(**TINY)
    phases = {phase.name: phase for phase in model.training_phases()}
    assert {id(v) for v in phases["discriminator"].variables} == {
        id(v) for v in model.discriminator.trainable_variables
    }
    generator = model.mapping.trainable_variables + model.synthesis.trainable_variables
    assert {id(v) for v in phases["generator"].variables} == {id(v) for v in generator}
    check_phases_update_their_variables(model, X)


def test_keras_round_trip_keeps_the_average_w_and_the_samples(trained, tmp_path):
    model, _ = trained
    average = np.random.default_rng(0).standard_normal(model.w_avg.shape).astype("float32")
    model.w_avg.assign(average)
    kwargs = {"truncation_psi": 0.5}
    loaded = check_keras_round_trip(model, X[:16], tmp_path, generate_kwargs=kwargs)
    np.testing.assert_array_equal(numpy(loaded.w_avg), average)
    # The samples compared above depend on the average w: a round trip that lost it would fail.
    assert not np.allclose(loaded.generate(5, seed=7, **kwargs), loaded.generate(5, seed=7))


def test_truncation_psi_zero_gives_the_average_w_image_and_psi_one_none():
    model = StyleGAN2(**TINY)
    average = np.random.default_rng(0).standard_normal(model.w_avg.shape).astype("float32")
    model.w_avg.assign(average)
    quiet = {"noise_mode": "none"}
    center = model.generate(5, seed=0, truncation_psi=0.0, **quiet)
    ws = ops.repeat(ops.convert_to_tensor(average)[None, None], model.num_ws, axis=1)
    expected = numpy(model.to_data(model.synthesis(ws, noise=model.synthesis.zero_noise(1))))
    for image in center:
        np.testing.assert_allclose(image, expected[0], rtol=1e-5, atol=1e-6)
    # psi = 1: exactly the untruncated generator, whatever the average.
    z = keras.random.normal((5, 4), seed=keras.random.SeedGenerator(0))
    direct = numpy(model.to_data(model.synthesis(model.broadcast_styles(model.mapping(z)),
                                                 noise=model.synthesis.zero_noise(5))))  # fmt: skip
    untruncated = model.generate(5, seed=0, truncation_psi=1.0, **quiet)
    np.testing.assert_allclose(untruncated, direct, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(model.generate(5, seed=0, **quiet), untruncated)
    half = model.generate(5, seed=0, truncation_psi=0.5, **quiet)
    model.w_avg.assign(-average)
    np.testing.assert_array_equal(model.generate(5, seed=0, truncation_psi=1.0, **quiet), untruncated)
    assert not np.allclose(model.generate(5, seed=0, truncation_psi=0.5, **quiet), half)
    # With noise, the same truncated w still differs from image to image, but only through the noise.
    for layer in model.synthesis.noises:
        layer.strength.assign(np.full(layer.strength.shape, 0.5, "float32"))
    noisy = model.generate(5, seed=0, truncation_psi=0.0)
    assert not np.allclose(noisy[0], noisy[1])
    check_sampling(model, {"truncation_psi": 0.7}, value_range=(0.0, 1.0))
    with pytest.raises(ValueError, match="`truncation_psi` must be a finite number"):
        model.generate(2, truncation_psi="high")
    with pytest.raises(ValueError, match="`noise_mode` must be one of"):
        model.generate(2, noise_mode="const")


def test_style_mixing_switches_styles_at_the_crossover_layer():
    model = StyleGAN2(**TINY)
    rng = np.random.default_rng(0)
    first, second = (ops.convert_to_tensor(rng.standard_normal((2, 4)).astype("float32")) for _ in range(2))
    noise = model.synthesis.zero_noise(2)

    def run(ws):
        image, features = model.synthesis(ws, noise=noise, return_features=True)
        return numpy(image), [numpy(f) for f in features]

    image_1, features_1 = run(model.broadcast_styles(first))
    image_2, features_2 = run(model.broadcast_styles(second))
    assert model.num_ws == 4
    for crossover in range(1, model.num_ws):
        ws = numpy(model.mix_styles(first, second, crossover))
        np.testing.assert_array_equal(ws[:, :crossover], np.repeat(numpy(first)[:, None], crossover, axis=1))
        np.testing.assert_array_equal(ws[:, crossover:], np.repeat(numpy(second)[:, None], 4 - crossover, axis=1))
        image, features = run(ops.convert_to_tensor(ws))
        # Layer i reads ws[:, i]: the layers before the crossover compute exactly what w_first alone gives.
        for index in range(crossover):
            np.testing.assert_array_equal(features[index], features_1[index])
        if crossover < len(features):
            assert not np.allclose(features[crossover], features_1[crossover])
        assert not np.allclose(image, image_1) and not np.allclose(image, image_2)
    # The public helper: crossover 0 is z_fine alone, crossover num_ws is z_coarse alone.
    z = rng.standard_normal((2, 4)).astype("float32")
    coarse = model.style_mix(z[:1], z[1:], crossover=model.num_ws)
    fine = model.style_mix(z[:1], z[1:], crossover=0)
    np.testing.assert_allclose(coarse, model.style_mix(z[:1], z[:1], crossover=2), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(fine, model.style_mix(z[1:], z[1:], crossover=2), rtol=1e-6, atol=1e-6)
    with pytest.raises(ValueError, match="`crossover` must be an int in \\[0, 4\\]"):
        model.style_mix(z[:1], z[1:], crossover=5)


def test_training_draws_mix_styles_with_the_configured_probability():
    model = StyleGAN2(**TINY)
    generator = keras.random.SeedGenerator(0)
    crossovers = []
    for _ in range(6):
        w, ws = model.draw_styles(3, generator, mixing_probability=1.0)
        ws, w = numpy(ws), numpy(w)
        same = np.all(np.isclose(ws, w[:, None]), axis=(0, 2))
        crossover = int(np.argmin(same))
        # A prefix of layers reads w, the rest one other w.
        assert 1 <= crossover < model.num_ws and same[:crossover].all() and not same[crossover:].any()
        np.testing.assert_array_equal(ws[:, crossover:], np.repeat(ws[:, crossover : crossover + 1], 4 - crossover, 1))
        crossovers.append(crossover)
    assert len(set(crossovers)) > 1
    w, ws = model.draw_styles(3, generator, mixing_probability=0.0)
    np.testing.assert_array_equal(numpy(ws), np.repeat(numpy(w)[:, None], model.num_ws, axis=1))


def test_path_length_penalty_matches_finite_differences():
    model = StyleGAN2(**TINY, path_length_weight=1.0, path_length_decay=0.5)
    rng = np.random.default_rng(0)
    ws = rng.standard_normal((2, model.num_ws, 4)).astype("float32")
    noise = model.synthesis.zero_noise(2)
    directions = rng.standard_normal((2, 8, 8, 1)).astype("float32") / 8.0
    previous = 0.3
    model.path_length_mean.assign(previous)
    penalty, mean = model.path_length_penalty(ops.convert_to_tensor(ws), noise, ops.convert_to_tensor(directions))

    def projected(points):
        images = numpy(model.synthesis(ops.convert_to_tensor(points.astype("float32")), noise=noise))
        return np.sum(images.astype("float64") * directions, axis=(1, 2, 3))

    # Leaky ReLU kinks limit central differences in float32 to about 0.3% at this step.
    step = 1e-3
    grads = np.zeros(ws.shape)
    for index in np.ndindex(ws.shape[1:]):
        shift = np.zeros(ws.shape, "float32")
        shift[(slice(None), *index)] = step
        grads[(slice(None), *index)] = (projected(ws + shift) - projected(ws - shift)) / (2 * step)
    lengths = np.sqrt(np.mean(np.sum(grads**2, axis=-1), axis=-1))
    expected_mean = previous + 0.5 * (lengths.mean() - previous)
    np.testing.assert_allclose(numpy(mean), expected_mean, rtol=5e-3)
    np.testing.assert_allclose(numpy(penalty), np.mean((lengths - expected_mean) ** 2), rtol=3e-2)


def test_generate_samples_from_the_generator_ema():
    model = StyleGAN2(**{**TINY, "ema_decay": 0.5})
    online = numpy_values(model.synthesis.weights)
    for shadow, weight in zip(numpy_values(model.synthesis_ema.weights), online):
        np.testing.assert_array_equal(shadow, weight)
    assert not model.synthesis_ema.trainable_weights and not model.mapping_ema.trainable_weights
    for variable in model.synthesis.trainable_variables:
        variable.assign(variable + 1.0)
    before = model.generate(3, seed=0, noise_mode="none")
    model.after_training_step()
    for shadow, old, new in zip(model.synthesis_ema.weights, online, numpy_values(model.synthesis.weights)):
        np.testing.assert_allclose(numpy(shadow), 0.5 * old + 0.5 * new, rtol=1e-6, atol=1e-6)
    assert not np.allclose(model.generate(3, seed=0, noise_mode="none"), before)


def test_images_of_other_sizes_train_at_the_next_power_of_two():
    # 6x6 images: the networks work at 8x8, real images get a black border of 1 pixel, samples are cropped.
    model = StyleGAN2(**{**TINY, "input_shape": (6, 6, 1)})
    assert model.config.resolution == 8 and model.synthesis.num_ws == StyleGAN2(**TINY).synthesis.num_ws
    x = X[:4, 1:7, 1:7]
    padded = numpy(model.real_images(x))
    expected = np.full((4, 8, 8, 1), -1.0, "float32")
    expected[:, 1:7, 1:7] = x * 2.0 - 1.0
    np.testing.assert_array_equal(padded, expected)
    np.testing.assert_allclose(numpy(model.to_data(padded)), x, atol=1e-7)
    assert model.generate(3, seed=0, noise_mode="none").shape == (3, 6, 6, 1)
    ws = model.broadcast_styles(model.mapping(keras.random.normal((2, 4), seed=0)))
    full = numpy(model.synthesis(ws, noise=model.synthesis.zero_noise(2)))
    np.testing.assert_allclose(numpy(model.to_data(full)), np.clip((full[:, 1:7, 1:7] + 1.0) / 2.0, 0, 1), atol=1e-7)
    model.compile()
    logs = model.train_on_batch(x, return_dict=True)
    assert np.isfinite(logs["discriminator_loss"]) and np.isfinite(logs["generator_loss"])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(input_shape=(8, 16, 1)), "`input_shape` must be \\(size, size, channels\\)"),
        (dict(input_shape=(3, 3, 1)), "`input_shape` must be \\(size, size, channels\\) with size >= 4"),
        (dict(input_shape=(8, 8, 2)), "`input_shape` must be"),
        (dict(generator_channels=(4, 4, 4)), "`generator_channels` must be a tuple of 2 positive ints"),
        (dict(discriminator_channels=(4,)), "`discriminator_channels` must be a tuple of 2 positive ints"),
        (dict(latent_dim=0), "`latent_dim` must be a positive int"),
        (dict(w_dim=-1), "`w_dim` must be a positive int"),
        (dict(mbstd_group_size=-1), "`mbstd_group_size` must be a non-negative int"),
        (dict(r1_weight=-1.0), "`r1_weight` must be a finite number"),
        (dict(r1_interval=0), "`r1_interval` must be a positive int"),
        (dict(style_mixing_probability=1.5), "`style_mixing_probability` must be a finite number in \\[0.0, 1.0\\]"),
        (dict(path_length_decay=0.0), "`path_length_decay`"),
        (dict(ema_decay=1.0), "`ema_decay`"),
        (dict(learning_rate=0.0), "`learning_rate`"),
    ],
)
def test_bad_config_names_the_argument(kwargs, message):
    with pytest.raises(ValueError, match="StyleGAN2Config: " + message):
        StyleGAN2(**{**TINY, **kwargs})


def test_default_config_is_32x32_rgb_and_the_model_is_registered():
    assert "stylegan2" in ak.list_models() and ak.models.StyleGAN2 is StyleGAN2
    config = StyleGAN2.config_class()
    assert config.input_shape == (32, 32, 3) and config.path_length_weight == 0.0
    assert len(config.generator_channels) == 4


@pytest.mark.slow
def test_stylegan2_model_checks(tmp_path):
    run_model_checks(StyleGAN2, dict(TINY, r1_weight=1.0, r1_interval=2), digits(128), tmp_path=tmp_path,
                     adversarial=True, value_range=(0.0, 1.0))  # fmt: skip


@pytest.mark.slow
def test_stylegan2_trains_at_32x32_rgb():
    x = np.random.default_rng(0).uniform(0, 1, (64, 32, 32, 3)).astype("float32")
    model = StyleGAN2(latent_dim=16, w_dim=16, mapping_layers=2, generator_channels=(16, 16, 8, 8),
                      discriminator_channels=(8, 8, 16, 16), path_length_weight=2.0, seed=0)  # fmt: skip
    history = model.fit(x, epochs=1, batch_size=16, verbose=0)
    assert all(np.isfinite(values[-1]) for values in history.history.values())
    images = model.generate(4, seed=0, truncation_psi=0.7)
    assert images.shape == (4, 32, 32, 3) and images.min() >= 0.0 and images.max() <= 1.0
