import keras
import numpy as np
import pytest

import artifex_keras as ak
from artifex_keras.data import two_domains
from artifex_keras.models.gan import CycleGAN
from artifex_keras.models.gan.translation_networks import ReflectionPadding2D
from artifex_keras.models.gan.translation_networks import build_resnet_generator
from tests.checks import check_config_round_trip
from tests.checks import check_keras_round_trip
from tests.checks import check_phases_update_their_variables
from tests.checks import digits
from tests.checks.layers import check_layer

TINY = dict(
    input_shape=(8, 8, 1),
    generator_filters=4,
    generator_depth=1,
    residual_blocks=1,
    discriminator_filters=4,
    discriminator_layers=1,
    seed=0,
)
# Unpaired domains: the digits 0 and 1.
A, B = two_domains(*digits(400, with_labels=True), classes_a=(0,), classes_b=(1,))
A, B = A[:32], B[:32]


def _numpy(value):
    return np.array(keras.ops.convert_to_numpy(value))


def test_registered_and_config_round_trip():
    assert "cyclegan" in ak.list_models() and ak.models.CycleGAN is CycleGAN
    model = check_config_round_trip(CycleGAN, {**TINY, "lambda_cycle": 3.0, "lambda_identity": 0.0})
    defaults = CycleGAN.config_class()
    assert (defaults.generator, defaults.norm, defaults.loss) == ("resnet", "instance", "least_squares")
    assert model.data_shape == (8, 8, 1)
    phases = {phase.name: phase.variables for phase in model.training_phases()}
    networks = {"discriminator": (model.discriminator_a, model.discriminator_b),
                "generator": (model.generator_ab, model.generator_ba)}  # fmt: skip
    for name, (first, second) in networks.items():
        assert [id(v) for v in phases[name]] == [id(v) for v in first.trainable_variables + second.trainable_variables]


def test_losses_equal_a_numpy_recomputation():
    model = CycleGAN(**{**TINY, "lambda_cycle": 10.0, "lambda_identity": 2.5})

    def g(x):
        return _numpy(model.generator_ab(x))

    def f(x):
        return _numpy(model.generator_ba(x))

    a, b = A[:6], B[:6]
    fake_b, fake_a = g(a), f(b)
    cycle = np.mean(np.abs(f(fake_b) - a)) + np.mean(np.abs(g(fake_a) - b))
    identity = np.mean(np.abs(g(b) - b)) + np.mean(np.abs(f(a) - a))
    # Least squares (Mao et al.): the generators pull D(fake) to 1, the discriminators real to 1 and fake to 0.
    d_a, d_b = (lambda x: _numpy(model.discriminator_a(x))), (lambda x: _numpy(model.discriminator_b(x)))
    adversarial = 0.5 * np.mean((d_b(fake_b) - 1.0) ** 2) + 0.5 * np.mean((d_a(fake_a) - 1.0) ** 2)
    discriminator = (0.5 * np.mean((d_b(b) - 1.0) ** 2) + 0.5 * np.mean(d_b(fake_b) ** 2)
                     + 0.5 * np.mean((d_a(a) - 1.0) ** 2) + 0.5 * np.mean(d_a(fake_a) ** 2))  # fmt: skip
    loss, logs = model.generator_loss((a, b), training=False)
    np.testing.assert_allclose(_numpy(logs["cycle_loss"]), cycle, rtol=1e-5)
    np.testing.assert_allclose(_numpy(logs["identity_loss"]), identity, rtol=1e-5)
    np.testing.assert_allclose(_numpy(logs["adversarial_loss"]), adversarial, rtol=1e-5)
    np.testing.assert_allclose(_numpy(loss), adversarial + 10.0 * cycle + 2.5 * identity, rtol=1e-5)
    np.testing.assert_allclose(_numpy(model.discriminator_loss((a, b), training=False)[0]), discriminator, rtol=1e-5)
    without_identity = CycleGAN(**{**TINY, "lambda_identity": 0.0})
    assert "identity_loss" not in without_identity.generator_loss((a, b), training=False)[1]
    assert "identity_loss" not in without_identity.metric_names and "identity_loss" in model.metric_names


@pytest.mark.slow
def test_each_phase_updates_only_its_networks_and_a_keras_file_translates_identically(tmp_path):
    model = CycleGAN(**TINY)
    check_phases_update_their_variables(model, (A, B))  # leaves it compiled with one SGD per phase
    loaded = check_keras_round_trip(model, A[:8], tmp_path, {"source": A[:5]})
    for direction, images in (("a_to_b", A[:5]), ("b_to_a", B[:5])):
        translated = model.translate(images, direction=direction)
        assert translated.shape == (5, 8, 8, 1) and 0.0 <= translated.min() and translated.max() <= 1.0
        np.testing.assert_array_equal(loaded.translate(images, direction=direction), translated)
        generator = model.generator_ab if direction == "a_to_b" else model.generator_ba
        np.testing.assert_allclose(translated, _numpy(generator(images)), rtol=1e-5, atol=1e-6)
    assert not np.allclose(model.translate(A[:5]), model.translate(A[:5], direction="b_to_a"))
    np.testing.assert_allclose(model.generate(5, source=A[:5]), model.translate(A[:5]), rtol=1e-6, atol=1e-7)


@pytest.mark.slow
def test_fit_lowers_the_cycle_loss():
    model = CycleGAN(**TINY)
    model.compile(optimizer=keras.optimizers.Adam(3e-3, beta_1=0.5))
    before = model.evaluate(A, B, batch_size=16, verbose=0, return_dict=True)["cycle_loss"]
    model.fit(A, B, epochs=5, batch_size=8, verbose=0)
    after = model.evaluate(A, B, batch_size=16, verbose=0, return_dict=True)["cycle_loss"]
    assert np.isfinite(after) and after < 0.9 * before, (before, after)


def test_resnet_generator_and_reflection_padding():
    generator = build_resnet_generator((28, 28, 1), 3, 4, 2, 2, "instance", "sigmoid", "resnet")
    assert generator.output_shape == (None, 28, 28, 3)
    assert tuple(generator.get_layer("resnet_res_0").output.shape[1:]) == (7, 7, 16)
    assert generator.count_params() > 0 and build_resnet_generator((32, 32, 1), 1, 4, 2, 1, "none", None, "g")
    images = np.random.default_rng(0).normal(size=(2, 5, 6, 3)).astype("float32")
    layer = ReflectionPadding2D(2)
    expected = np.pad(images, ((0, 0), (2, 2), (2, 2), (0, 0)), mode="reflect")
    np.testing.assert_array_equal(_numpy(layer(images)), expected)
    check_layer(layer, images, expected_output_shape=(2, 9, 10, 3))
    with pytest.raises(ValueError, match="`padding` must be a positive int"):
        ReflectionPadding2D(0)


def test_bad_inputs_raise_clear_errors():
    model = CycleGAN(**TINY)
    with pytest.raises(ValueError, match="`direction` must be 'a_to_b' .* or 'b_to_a' .*, got 'a_to_c'"):
        model.translate(A[:2], direction="a_to_c")
    with pytest.raises(ValueError, match=r"`y` \(domain-B images\) is required"):
        model.fit(A, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="must hold the same number of images.*got 32 and 31"):
        model.fit(A, B[:31], epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"`y` must have shape \(batch, 8, 8, 1\), got shape \(32, 4, 4, 1\)"):
        model.fit(A, B[:, :4, :4], epochs=1, verbose=0)
    with pytest.raises(ValueError, match="batches must be \\(a_images, b_images\\) pairs, got domain A alone"):
        model.compile()
        model.train_on_batch(A[:4])
    with pytest.raises(ValueError, match=r"CycleGAN.translate: `x` must lie in \[0.0, 1.0\]"):
        model.translate(A[:2] * 255.0)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(input_shape=(10, 10, 1), generator_depth=2), r"divisible by 4 \(2 \*\* generator_depth.*depth <= 1"),
        (dict(input_shape=(9, 9, 1)), "divisible by 2 .* use even height and width"),
        (dict(input_shape=(8, 8, 1), generator_depth=3), "need at least 2x2 pixels after 3 halvings"),
        (dict(lambda_cycle=-1.0), "`lambda_cycle` must be a finite number"),
        (dict(lambda_identity=float("nan")), "`lambda_identity` must be a finite number"),
    ],
)
def test_bad_config(kwargs, message):
    with pytest.raises(ValueError, match=message):
        CycleGAN(**{**TINY, **kwargs})
