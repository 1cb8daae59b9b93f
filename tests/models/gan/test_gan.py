import keras
import numpy as np
import pytest

from artifex_keras.data.toy import eight_gaussians
from artifex_keras.data.toy import sample as toy_sample
from artifex_keras.metrics.precision_recall import precision_recall
from artifex_keras.models.gan import DCGAN
from artifex_keras.models.gan import GAN
from artifex_keras.models.gan import LSGAN
from artifex_keras.models.gan import WGANGP
from artifex_keras.models.gan import ConditionalGAN
from tests.checks import digits
from tests.checks import run_model_checks
from tests.checks.saving import check_resume
from tests.checks.training import check_phases_update_their_variables
from tests.checks.training import numpy_values

# Tiny MLPs on 2-D data: the GAN family's logic at a fraction of the cost of images.
TOY = dict(
    input_shape=(2,),
    architecture="mlp",
    output_activation="linear",
    latent_dim=4,
    generator_dims=(16,),
    discriminator_dims=(16,),
    ema_decay=0.0,
    seed=0,
)
POINTS = eight_gaussians(128, seed=0)


@pytest.mark.slow
@pytest.mark.parametrize(
    "cls, kwargs",
    [
        (WGANGP, dict(n_critic=1)),
        (LSGAN, dict(label_smoothing=0.1, spectral_norm=True)),
        (GAN, dict(loss="hinge", r1_weight=1.0)),
    ],
    ids=["wgan_gp", "lsgan", "gan_hinge_r1"],
)
def test_gan_model_checks(cls, kwargs, tmp_path):
    run_model_checks(cls, {**TOY, **kwargs}, POINTS, tmp_path=tmp_path, adversarial=True)


def test_conditional_gan_model_checks(tmp_path):
    x, y = toy_sample("eight_gaussians", 128, seed=0, with_labels=True)
    run_model_checks(
        ConditionalGAN,
        {**TOY, "num_classes": 8, "spectral_norm": False},
        (x, y),
        generate_kwargs={"labels": np.arange(5) % 8},
        tmp_path=tmp_path,
        adversarial=True,
    )


@pytest.mark.slow
def test_dcgan_model_checks_on_images(tmp_path):
    kwargs = dict(
        input_shape=(8, 8, 1),
        latent_dim=8,
        generator_dims=(16, 8),
        discriminator_dims=(8, 16),
        spectral_norm=True,
        diff_augment=("color", "translation", "cutout"),
        ema_decay=0.0,
        seed=0,
    )
    run_model_checks(DCGAN, kwargs, digits(128), tmp_path=tmp_path, adversarial=True, value_range=(0.0, 1.0))


@pytest.mark.slow
def test_dcgan_conv_step_updates_each_phase_and_samples_in_range():
    model = DCGAN(input_shape=(8, 8, 1), latent_dim=4, generator_dims=(8, 4), discriminator_dims=(4,), seed=0)
    check_phases_update_their_variables(model, digits(32))
    samples = model.generate(4, seed=0)
    assert samples.shape == (4, 8, 8, 1) and samples.min() >= 0.0 and samples.max() <= 1.0


def test_n_critic_steps_the_generator_once_per_n_critic_steps(tmp_path):
    model = WGANGP(**{**TOY, "n_critic": 3})
    model.compile()
    generator = model.generator.trainable_variables
    critic = model.discriminator_variables()
    moved = []
    for step in range(6):
        g_before, d_before = numpy_values(generator), numpy_values(critic)
        model.train_on_batch(POINTS[:32])
        g_moved = any(not np.array_equal(a, b) for a, b in zip(g_before, numpy_values(generator)))
        assert any(not np.array_equal(a, b) for a, b in zip(d_before, numpy_values(critic))), step
        moved.append(g_moved)
    assert moved == [False, False, True, False, False, True]
    assert int(keras.ops.convert_to_numpy(model.phase_optimizers["generator"].iterations)) == 2
    path = str(tmp_path / "wgan.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.phase_optimizers["generator"].gradient_accumulation_steps == 3
    assert loaded.phase_optimizers["discriminator"].gradient_accumulation_steps is None
    with pytest.raises(ValueError, match="`gradient_accumulation_steps` must equal n_critic=3"):
        model.compile(optimizer={"generator": keras.optimizers.Adam(gradient_accumulation_steps=2)})


def test_generator_ema_averages_the_weights_and_is_what_generate_samples(tmp_path):
    model = GAN(**{**TOY, "ema_decay": 0.75})
    model.compile(optimizer={"generator": keras.optimizers.SGD(0.1), "discriminator": keras.optimizers.SGD(0.1)})
    initial = numpy_values(model.generator.weights)
    for shadow, online in zip(numpy_values(model.generator_ema.weights), initial):
        np.testing.assert_array_equal(shadow, online)
    model.train_on_batch(POINTS[:32])
    online = numpy_values(model.generator.weights)
    for shadow, first, now in zip(numpy_values(model.generator_ema.weights), initial, online):
        np.testing.assert_allclose(shadow, 0.75 * first + 0.25 * now, rtol=1e-6, atol=1e-7)
    assert not model.generator_ema.trainable_weights
    before = model.generate(5, seed=1)
    for variable in model.generator.trainable_variables:
        variable.assign(variable * 2.0)
    np.testing.assert_array_equal(model.generate(5, seed=1), before)
    model.ema.copy()
    z = keras.random.normal((5, 4), seed=keras.random.SeedGenerator(1))
    direct = keras.ops.convert_to_numpy(model.generator(z))
    np.testing.assert_allclose(model.generate(5, seed=1), direct, rtol=1e-5, atol=1e-6)
    check_resume(lambda: GAN(**{**TOY, "ema_decay": 0.75}), POINTS[:64], tmp_path)


def test_recall_catches_a_generator_collapsed_to_one_mode():
    real = eight_gaussians(1000, seed=1)
    model = GAN(**TOY)
    # Collapse: the last layer ignores its input and outputs the centre of one mode.
    last = model.generator.layers[-2]
    last.kernel.assign(np.zeros(last.kernel.shape, "float32"))
    last.bias.assign(np.array([2.8284, 0.0], "float32"))
    collapsed = model.generate(1000, seed=0) + np.random.default_rng(0).normal(0, 0.35, (1000, 2)).astype("float32")
    precision, recall = precision_recall(real, collapsed, k=3)
    assert precision > 0.8 and recall < 0.2, (precision, recall)
    _, recall_of_data = precision_recall(real, eight_gaussians(1000, seed=2), k=3)
    assert recall_of_data > 0.9


@pytest.mark.slow
def test_a_trained_gan_covers_the_eight_modes():
    x = eight_gaussians(8192, seed=0)
    model = GAN(
        **{**TOY, "latent_dim": 8, "generator_dims": (64, 64), "discriminator_dims": (64, 64), "ema_decay": 0.99}
    )
    model.compile(optimizer=keras.optimizers.Adam(1e-3, beta_1=0.5))
    model.fit(x, epochs=40, batch_size=256, verbose=0)
    precision, recall = precision_recall(eight_gaussians(1000, seed=1), model.generate(1000, seed=0), k=3)
    assert recall > 0.6 and precision > 0.6, (precision, recall)


@pytest.mark.parametrize(
    "cls, kwargs, message",
    [
        (GAN, dict(loss="minimax"), "`loss` must be one of"),
        (GAN, dict(loss="wasserstein", label_smoothing=0.1), "has no targets to smooth"),
        (GAN, dict(n_critic=0), "`n_critic` must be a positive int"),
        (GAN, dict(architecture="conv", input_shape=(6, 6, 1)), "divisible by 4"),
        (GAN, dict(diff_augment=("blur",)), "`diff_augment` must be a tuple of names"),
        (GAN, dict(input_shape=(2,), architecture="mlp", diff_augment=("color",)), "`diff_augment` must be"),
        (GAN, dict(ema_decay=1.0), "`ema_decay`"),
        (WGANGP, dict(loss="hinge"), "`loss` must be 'wasserstein'"),
        (WGANGP, dict(gradient_penalty_weight=0.0), "`gradient_penalty_weight` must be a positive number"),
        (ConditionalGAN, dict(num_classes=0), "`num_classes` must be a positive int"),
    ],
)
def test_bad_config(cls, kwargs, message):
    with pytest.raises(ValueError, match=message):
        cls(**kwargs)


def test_bad_data_and_conditions():
    x, y = toy_sample("eight_gaussians", 64, seed=0, with_labels=True)
    model = ConditionalGAN(**{**TOY, "num_classes": 8})
    with pytest.raises(ValueError, match="`y` \\(class labels\\) is required"):
        model.fit(x, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="`y`"):
        model.fit(x, y + 8, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="`labels` is required"):
        model.generate(4)
    with pytest.raises(ValueError, match="`x`"):
        GAN(**TOY).fit(np.ones((8, 3), "float32"), epochs=1, verbose=0)
    with pytest.raises(ValueError, match="`x`"):
        DCGAN(input_shape=(8, 8, 1), generator_dims=(8, 4), ema_decay=0.0).fit(np.full((4, 8, 8, 1), 2.0, "float32"))
