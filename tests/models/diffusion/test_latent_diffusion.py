import keras
import numpy as np
import pytest

import artifex_keras as ak
from artifex_keras.models import VAE
from artifex_keras.models import LatentDiffusion
from artifex_keras.samplers import DDIMSampler
from tests.checks import check_compiled_sampling
from tests.checks import check_config_round_trip
from tests.checks import check_keras_round_trip
from tests.checks import check_preset_round_trip
from tests.checks import check_sampling
from tests.checks import digits
from tests.checks.diffusion import TINY_UNET

# 8x8 digits -> a 4x4x2 latent; one UNet level keeps the compiled steps small.
AUTOENCODER = dict(input_shape=(8, 8, 1), architecture="conv", hidden_dims=(8,), latent_channels=2, seed=0)
# The UNet takes the autoencoder's latent shape: everything of TINY_UNET but its input shape.
TINY = dict(
    {key: value for key, value in TINY_UNET.items() if key != "input_shape"},
    num_timesteps=50,
    ema_decay=None,
    sampling_steps=3,
    num_classes=10,
    seed=0,
)
LABELS = {"labels": np.arange(5) % 10}


def numpy(tensor):
    return np.array(keras.ops.convert_to_numpy(tensor))


@pytest.fixture(scope="module")
def autoencoder(tmp_path_factory):
    """A preset directory holding an (untrained) VAE with a spatial latent."""
    directory = tmp_path_factory.mktemp("autoencoder") / "vae"
    VAE(**AUTOENCODER).save_to_preset(directory)
    return str(directory)


@pytest.fixture(scope="module")
def trained(autoencoder):
    """`(model, first batch, weights before fit)`: a conditional model fitted one epoch, scale estimated."""
    x, y = digits(128, with_labels=True)
    model = LatentDiffusion(autoencoder=autoencoder, **TINY)
    before = {
        "autoencoder": [numpy(v) for v in model.autoencoder.weights],
        "denoiser": [numpy(v) for v in model.denoiser.weights],
    }
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    model.fit(x, y, epochs=1, batch_size=64, shuffle=False, verbose=0)
    return model, x[:64], before


def test_config_round_trip_and_latent_shapes(autoencoder):
    model = check_config_round_trip(LatentDiffusion, dict(TINY, autoencoder=autoencoder))
    assert "latent_diffusion" in ak.list_models()
    assert model.data_shape == (8, 8, 1) and model.config.input_shape == (8, 8, 1)
    assert model.diffusion_shape == model.autoencoder.latent_shape == (4, 4, 2)
    assert model.default_sampler() == DDIMSampler(steps=3, eta=0.0)


def test_fit_trains_the_unet_and_leaves_the_autoencoder_alone(trained):
    model, _, before = trained
    autoencoder_ids = {id(v) for v in model.autoencoder.weights}
    assert not any(id(v) in autoencoder_ids for v in model.trainable_variables)
    assert model.autoencoder.trainable_variables == [] and not model.autoencoder.trainable
    assert {id(v) for v in model.trainable_variables} == {id(v) for v in model.denoiser.trainable_variables}
    for start, variable in zip(before["autoencoder"], model.autoencoder.weights):
        np.testing.assert_array_equal(numpy(variable), start, err_msg=variable.path)
    moved = [not np.array_equal(numpy(v), start) for start, v in zip(before["denoiser"], model.denoiser.weights)]
    assert sum(moved) > len(moved) // 2, moved


def test_estimated_scale_is_one_over_the_std_of_the_first_batch(trained, tmp_path):
    model, first_batch, _ = trained
    mean, _ = model.autoencoder.encode(first_batch)
    assert mean.shape == (64, 4, 4, 2)
    expected = 1.0 / np.std(mean.astype("float64"))
    np.testing.assert_allclose(numpy(model.latent_scale), expected, rtol=1e-5)
    assert not model.latent_scale.trainable
    # The diffused latents are the posterior means times that scale.
    diffused = model.map_compiled("diffused", lambda g, xb: model.to_model_space(xb), 64, first_batch)
    np.testing.assert_allclose(diffused, mean * numpy(model.latent_scale), rtol=1e-5, atol=1e-6)
    latents = np.random.default_rng(1).standard_normal((4, 4, 4, 2)).astype("float32")
    loaded = check_keras_round_trip(model, (latents, np.arange(4)), tmp_path, LABELS)
    restored = check_preset_round_trip(model, tmp_path, LABELS)
    for other in (loaded, restored):
        assert numpy(other.latent_scale) == numpy(model.latent_scale)
        assert other.config.latent_scale is None


def test_generate_decodes_the_sampled_latents(trained):
    model, _, _ = trained
    images = check_sampling(model, LABELS, value_range=(0.0, 1.0))
    same, trajectory = model.generate(5, seed=7, return_trajectory=True, **LABELS)
    np.testing.assert_array_equal(same, images)
    assert trajectory.shape == (4, 5, 4, 4, 2)
    # The trajectory is in latent space: the images are its end, decoded through the autoencoder.
    decoded = model.autoencoder.decode(trajectory[-1] / numpy(model.latent_scale))
    np.testing.assert_allclose(images, np.clip(decoded, 0.0, 1.0), atol=1e-5)
    # The default sampler (deterministic DDIM) run by hand from the same noise ends at the same latents.

    def by_hand(generator, noise, labels):
        return DDIMSampler(steps=3).sample(model.denoiser_function(labels), model.schedule, noise, generator)

    run = model.compiled_function(("by_hand",), by_hand)
    latents = numpy(run(keras.random.SeedGenerator(0), trajectory[0], LABELS["labels"]))
    np.testing.assert_allclose(latents, trajectory[-1], atol=1e-5)


def test_guidance_and_compiled_sampling(trained):
    model, _, _ = trained
    labels = np.arange(4)
    plain = model.generate(4, seed=2, labels=labels)
    np.testing.assert_allclose(model.generate(4, seed=2, labels=labels, guidance_scale=1.0), plain, atol=2e-5)
    assert not np.allclose(model.generate(4, seed=2, labels=labels, guidance_scale=4.0), plain, atol=1e-4)
    check_compiled_sampling(model, LABELS)


def test_a_given_scale_is_used_and_kept(autoencoder):
    model = LatentDiffusion(autoencoder=autoencoder, **dict(TINY, latent_scale=0.5))
    assert numpy(model.latent_scale) == 0.5
    x = digits(64)
    mean, _ = model.autoencoder.encode(x)
    diffused = model.map_compiled("diffused", lambda g, xb: model.to_model_space(xb), 64, x)
    np.testing.assert_allclose(diffused, 0.5 * mean, rtol=1e-6, atol=1e-7)
    assert numpy(model.latent_scale) == 0.5


def test_bad_inputs_raise_clear_errors(autoencoder, tmp_path):
    message = r"LatentDiffusionConfig: `autoencoder` must be a preset \(name or directory\) of an unconditional VAE"
    with pytest.raises(ValueError, match=message + r".*got None"):
        LatentDiffusion(**TINY)
    with pytest.raises(ValueError, match=message + r".*unknown preset 'no_such_vae'"):
        LatentDiffusion(autoencoder="no_such_vae", **TINY)
    with pytest.raises(ValueError, match=message + r".*not a VAE with a latent vector, got 'vae_fashion_mnist'"):
        LatentDiffusion(autoencoder="vae_fashion_mnist", **TINY)
    with pytest.raises(ValueError, match=message + r".*not a VQVAE, got 'vqvae_fashion_mnist'"):
        LatentDiffusion(autoencoder="vqvae_fashion_mnist", **TINY)
    with pytest.raises(ValueError, match=message + r".*not a FlowMatching"):
        LatentDiffusion(autoencoder="flow_matching_fashion_mnist", **TINY)
    conditional = tmp_path / "cvae"
    ak.models.ConditionalVAE(**AUTOENCODER, num_classes=10).save_to_preset(conditional)
    with pytest.raises(ValueError, match=message + r".*not a ConditionalVAE"):
        LatentDiffusion(autoencoder=conditional, **TINY)
    with pytest.raises(ValueError, match=r"`input_shape` must be None or the autoencoder's input shape \(8, 8, 1\)"):
        LatentDiffusion(autoencoder=autoencoder, input_shape=(16, 16, 1), **TINY)
    with pytest.raises(ValueError, match=r"LatentDiffusionConfig: `channels` must be levels that fit the latent "
                                         r"\(4, 4, 2\): its height and width must be divisible by "
                                         r"2 \*\* \(len\(channels\) - 1\) = 8, got \(8, 8, 8, 8\)"):  # fmt: skip
        LatentDiffusion(autoencoder=autoencoder, **dict(TINY, channels=(8, 8, 8, 8)))
    with pytest.raises(ValueError, match=r"LatentDiffusionConfig: `latent_scale` must be a finite number in \(0.0"):
        LatentDiffusion(autoencoder=autoencoder, **dict(TINY, latent_scale=-1.0))
    untrained = LatentDiffusion(autoencoder=autoencoder, **TINY)
    with pytest.raises(ValueError, match=r"LatentDiffusion.generate: `latent_scale` is estimated on the first "
                                         r"training batch; fit the model first or set `latent_scale`"):  # fmt: skip
        untrained.generate(2, labels=[0, 1])
    with pytest.raises(ValueError, match=r"LatentDiffusion.fit: `x` must have shape \(batch, 8, 8, 1\)"):
        untrained.fit(np.zeros((4, 4, 4, 2), "float32"), np.zeros(4, int), epochs=1, verbose=0)
    # A latent model cannot teach a consistency model that works on the images themselves.
    student = ak.models.ConsistencyModel(input_shape=(8, 8, 1), channels=(8,), num_res_blocks=1, attention_levels=(),
                                         head_dim=8, num_groups=4, num_classes=10)  # fmt: skip
    with pytest.raises(ValueError, match=r"ConsistencyModel.set_teacher: `teacher` must diffuse the data itself, got "
                                         r"a LatentDiffusion that diffuses latents of shape \(4, 4, 2\)"):  # fmt: skip
        student.set_teacher(untrained)
