"""Shipped VAE-family presets load on every backend and still reach their recorded test ELBO."""

import numpy as np
import pytest

import artifex_keras as ak
from artifex_keras.evaluation import available_metrics
from tests.checks.presets import check_preset_metric
from tests.checks.presets import check_shipped_preset

VAE_PRESETS = ak.list_presets(family="vae")


def test_the_vae_family_ships_its_presets():
    for name in ("vae_fashion_mnist", "beta_vae_fashion_mnist", "cvae_fashion_mnist", "vqvae_fashion_mnist"):
        assert name in VAE_PRESETS


@pytest.mark.parametrize("name", VAE_PRESETS)
def test_preset_reproduces_its_recorded_test_elbo(name):
    # The full 10,000-image test split, as recorded: within 0.1% (the one-sample ELBO's noise
    # on 10,000 images is about 0.02%, and differs between backends' random streams).
    model = check_shipped_preset(name)
    x, y = ak.data.load("fashion_mnist", split="test")
    labels = {"labels": y} if model.label_spec() is not None else {}
    neg_elbo = -model.elbo(x, **labels).mean()
    check_preset_metric(name, neg_elbo, "neg_elbo_nats", rtol=1e-3)
    samples = model.generate(4, seed=0, **model.example_conditions(4))
    assert samples.shape == (4, 28, 28, 1) and np.all(np.isfinite(samples))


@pytest.mark.slow
@pytest.mark.parametrize("name", VAE_PRESETS)
def test_preset_reproduces_its_recorded_evaluation(name):
    """The whole recorded protocol again: IWAE bound and the sample metrics of 10,000 samples (minutes each)."""
    metadata = ak.preset_metadata(name)
    recorded = metadata["evaluation"]["metrics"]
    model = ak.from_preset(name)
    capabilities = [key for key in ("nll", "generate") if key in available_metrics(model)]
    iwae = metadata["metrics"].get("iwae_num_samples")
    result = ak.evaluate_model(model, data="fashion_mnist", iwae_samples=iwae, capabilities=capabilities)
    if "nll" in capabilities:
        check_preset_metric(name, result["iwae_nll_nats"], "iwae_nll_nats", rtol=2e-3)
    # Random streams differ between backends: the sample metrics agree to their sampling noise. Measured
    # on vae_fashion_mnist over seeds 0-3 (JAX): FD 5.55-5.63, precision 0.68-0.69, density 0.56,
    # coverage 0.34-0.35, but recall 0.125-0.161 (a k-NN radius estimate over the samples, heavy-tailed).
    np.testing.assert_allclose(result["fd"], recorded["fd"], rtol=0.05)
    np.testing.assert_allclose(result["kid"], recorded["kid"], atol=5 * recorded["kid_std_error"])
    for key, tolerance in (("precision", 0.02), ("recall", 0.05), ("density", 0.02), ("coverage", 0.02)):
        np.testing.assert_allclose(result[key], recorded[key], atol=tolerance, err_msg=key)
