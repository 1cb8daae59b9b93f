import numpy as np
import pytest

from artifex_keras.models import VAE
from artifex_keras.models import VAEConfig
from tests.checks import digits
from tests.checks import run_model_checks

TINY = dict(input_shape=(8, 8, 1), latent_dim=3, hidden_dims=(32,), seed=0)


@pytest.mark.parametrize("architecture", ["mlp", "conv"])
def test_vae_model_checks(architecture, tmp_path):
    kwargs = dict(TINY, architecture=architecture, hidden_dims=(8, 16) if architecture == "conv" else (32,))
    run_model_checks(VAE, kwargs, digits(), tmp_path=tmp_path)


def test_gaussian_likelihood_trains():
    run_model_checks(VAE, dict(TINY, likelihood="gaussian"), digits())


def test_encode_decode_reconstruct_interpolate_shapes():
    x = digits(32)
    model = VAE(**TINY)
    mean, log_var = model.encode(x)
    assert mean.shape == log_var.shape == (32, 3)
    assert model.decode(mean).shape == (32, 8, 8, 1)
    assert model.reconstruct(x).shape == (32, 8, 8, 1)
    path = model.interpolate(x[0], x[1], steps=5)
    assert path.shape == (5, 8, 8, 1)
    np.testing.assert_allclose(path[0], model.reconstruct(x[:1])[0], atol=1e-5)


def test_iwae_bound_is_tighter_than_elbo():
    x = digits(64)
    model = VAE(**TINY)
    model.compile()
    model.fit(x, epochs=3, batch_size=32, verbose=0)
    neg_elbo = -model.elbo(x).mean()
    iwae = model.nll(x, num_samples=64).mean()
    assert model.nll(x, num_samples=64).shape == (64,)
    assert iwae < neg_elbo
    assert iwae > 0


def test_iwae_bound_is_exact_when_the_latent_is_ignored():
    # Posterior = prior and a decoder that ignores z: every importance weight is p(x), so the bound is
    # exactly -log p(x) for any k, also when k does not divide into the chunks of samples per pass
    # (4,000 examples per batch leave chunks of 4 samples: 10 = 4 + 4 + 2, the last chunk padded).
    model = VAE(**TINY)
    for layer in (model.posterior_head.layers[-1], model.decoder.layers[-2]):
        layer.kernel.assign(np.zeros(layer.kernel.shape, "float32"))
    bias = np.random.default_rng(0).normal(size=64).astype("float32")
    model.posterior_head.layers[-1].bias.assign(np.zeros(6, "float32"))
    model.decoder.layers[-2].bias.assign(bias)
    x = np.resize(digits(256), (4000, 8, 8, 1))
    logits = np.float64(bias)
    exact = -(x.reshape(len(x), -1) * logits - np.logaddexp(0.0, logits)).sum(axis=1)
    np.testing.assert_allclose(model.nll(x, num_samples=10, batch_size=4000), exact, rtol=1e-5)
    np.testing.assert_allclose(-model.elbo(x[:100]), exact[:100], rtol=1e-5)


def test_kl_warmup_changes_objective():
    x = digits(64)
    model = VAE(**dict(TINY, kl_warmup_steps=1000))
    model.compile()
    logs = model.evaluate(x, verbose=0, return_dict=True)
    # At step 0 the KL weight is 1/1000, so the loss is about the reconstruction.
    assert abs(logs["loss"] - logs["reconstruction"]) < 0.01 * logs["kl"] + 1e-3


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("latent_dim", -3, "`latent_dim` must be a positive int, got -3"),
        ("architecture", "rnn", "`architecture` must be one of 'mlp', 'conv', got 'rnn'"),
        ("likelihood", "poisson", "`likelihood` must be one of"),
        ("beta", -1.0, "`beta` must be a finite number in [0"),
    ],
)
def test_bad_config_values_name_the_field(field, value, message):
    with pytest.raises(ValueError, match="VAEConfig: " + message.replace("[", r"\[").replace("(", r"\(")):
        VAE(**dict(TINY, **{field: value}))


def test_conv_shape_must_divide():
    with pytest.raises(ValueError, match="divisible by 4"):
        VAEConfig(input_shape=(10, 10, 1), architecture="conv", hidden_dims=(8, 16))


def test_unknown_argument_suggests_close_match():
    with pytest.raises(ValueError, match="Did you mean 'latent_dim'"):
        VAE(latent_dims=4)


def test_bad_training_data_is_reported():
    model = VAE(**TINY)
    x = digits(16)
    with pytest.raises(ValueError, match=r"VAE.fit: `x` must have shape \(batch, 8, 8, 1\), got shape \(16, 64\)"):
        model.fit(x.reshape(16, 64), epochs=1, verbose=0)
    with pytest.raises(ValueError, match="VAE.fit: `x` must be a floating-point array .*got dtype uint8"):
        model.fit((x * 255).astype("uint8"), epochs=1, verbose=0)
    bad = x.copy()
    bad[0, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="VAE.fit: `x` must be finite, got 1 NaN"):
        model.fit(bad, epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"VAE.fit: `x` must lie in \[0.0, 1.0\]"):
        model.fit(x * 255.0, epochs=1, verbose=0)


def test_generate_rejects_bad_arguments():
    model = VAE(**TINY)
    with pytest.raises(ValueError, match="VAE.generate: `num_samples` must be a positive int, got 0"):
        model.generate(0)
    with pytest.raises(ValueError, match="VAE.generate: unexpected argument `labels`; VAE is unconditional"):
        model.generate(2, labels=np.array([1, 2]))
    with pytest.raises(ValueError, match="VAE.generate: `seed` must be a non-negative int or None, got 'a'"):
        model.generate(4, seed="a")
    with pytest.raises(ValueError, match="VAE.generate: VAE draws its samples directly and takes no `sampler`"):
        model.generate(4, sampler="greedy")
    with pytest.raises(ValueError, match="VAE.nll: `seed` must be a non-negative int or None, got -1"):
        model.nll(digits(4), num_samples=2, seed=-1)


def test_fit_on_an_empty_array_names_the_argument():
    model = VAE(**TINY)
    with pytest.raises(ValueError, match=r"VAE.fit: `x` must hold at least one example, got shape \(0, 8, 8, 1\)"):
        model.fit(np.zeros((0, 8, 8, 1), "float32"), epochs=1, verbose=0)
