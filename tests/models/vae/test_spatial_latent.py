import numpy as np
import pytest

from artifex_keras.models import VAE
from artifex_keras.models import BetaVAE
from artifex_keras.models import ConditionalVAE
from tests.checks import digits
from tests.checks import run_model_checks

# 8x8 digits, two stride-2 levels: a 2x2 latent of 3 channels.
SPATIAL = dict(input_shape=(8, 8, 1), architecture="conv", hidden_dims=(8, 16), latent_channels=3, seed=0)


def test_spatial_vae_model_checks(tmp_path):
    run_model_checks(VAE, SPATIAL, digits(), tmp_path=tmp_path)


def test_latent_maps_have_the_downsampled_shape():
    x = digits(16)
    model = VAE(**dict(SPATIAL, hidden_dims=(8,)))
    assert model.latent_shape == model.config.latent_shape == (4, 4, 3)
    mean, log_var = model.encode(x)
    assert mean.shape == log_var.shape == (16, 4, 4, 3)
    assert model.decode(mean).shape == (16, 8, 8, 1)
    path = model.interpolate(x[0], x[1], steps=4)
    assert path.shape == (4, 8, 8, 1)
    np.testing.assert_allclose(path[0], model.decode(mean[:1])[0], atol=1e-5)
    assert VAE(**SPATIAL).latent_shape == (2, 2, 3)
    assert VAE(input_shape=(8, 8, 1), latent_dim=5).latent_shape == (5,)


def _decoder_ignoring_z(model, bias):
    """Zero the decoder's output kernel: its logits are `bias` whatever `z`, so `log p(x|z)` is known exactly."""
    out = model.decoder.layers[-1]
    out.kernel.assign(np.zeros(out.kernel.shape, "float32"))
    out.bias.assign(np.full(out.bias.shape, bias, "float32"))
    return lambda x: (x.reshape(len(x), -1) * bias - np.logaddexp(0.0, bias)).sum(axis=1)


def test_elbo_is_the_likelihood_minus_the_closed_form_kl_of_the_maps():
    x = digits(32).astype("float64")
    model = VAE(**SPATIAL)
    log_px = _decoder_ignoring_z(model, 0.3)
    mean, log_var = (value.astype("float64") for value in model.encode(x.astype("float32")))
    assert np.std(mean) > 1e-3 and np.std(log_var) > 1e-3
    # KL(N(m, e^v) || N(0, 1)) = 0.5 (e^v + m^2 - 1 - v), summed over every position and channel.
    kl = 0.5 * (np.exp(log_var) + mean**2 - 1.0 - log_var).sum(axis=(1, 2, 3))
    np.testing.assert_allclose(model.elbo(x.astype("float32")), log_px(x) - kl, rtol=1e-5)


def test_iwae_bound_is_exact_when_the_posterior_is_the_prior():
    x = digits(16)
    model = VAE(**SPATIAL)
    log_px = _decoder_ignoring_z(model, -0.4)
    head = model.posterior_head.layers[-1]
    head.kernel.assign(np.zeros(head.kernel.shape, "float32"))
    head.bias.assign(np.zeros(head.bias.shape, "float32"))
    np.testing.assert_allclose(model.nll(x, num_samples=5), -log_px(x.astype("float64")), rtol=1e-5)


def test_beta_and_conditional_vaes_take_a_spatial_latent():
    x, y = digits(64, with_labels=True)
    beta = BetaVAE(**SPATIAL, capacity_max=5.0)
    assert beta.encode(x[:2])[0].shape == (2, 2, 2, 3)
    conditional = ConditionalVAE(**SPATIAL, num_classes=10)
    z = np.zeros((2, 2, 2, 3), "float32")
    # The labels reach the decoder at every position of the latent map.
    assert not np.allclose(conditional.decode(z, labels=[0, 0]), conditional.decode(z, labels=[1, 1]))
    assert conditional.nll(x[:4], labels=y[:4], num_samples=3).shape == (4,)


def test_bad_spatial_arguments_name_the_field():
    with pytest.raises(ValueError, match=r"VAEConfig: `latent_channels` must be None with architecture='mlp' "
                                         r"\(a spatial latent needs 'conv'\), got 4"):  # fmt: skip
        VAE(input_shape=(8, 8, 1), latent_channels=4)
    with pytest.raises(ValueError, match=r"VAEConfig: `latent_channels` must be a positive int, got 0"):
        VAE(**dict(SPATIAL, latent_channels=0))
    with pytest.raises(ValueError, match=r"VAE.decode: `z` must have shape \(batch, 2, 2, 3\), got shape \(4, 3\)"):
        VAE(**SPATIAL).decode(np.zeros((4, 3), "float32"))
